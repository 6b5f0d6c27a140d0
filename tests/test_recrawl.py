"""Recrawls that cost little: conditional requests from the last capture, 304s archived as such, unchanged
payloads written as revisit records, a changed article as exactly one new version; reindex, export and a
resumed run resolve revisits and 304s to the payload they stand for."""

from __future__ import annotations

import os
import signal
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from samizdat.archive.warc import REVISIT_PROFILE, iter_entries
from samizdat.sample_sites import sources_toml
from tests.conftest import export_records, run_cli
from tests.helpers import serve_sample_sites
from tests.test_durable import CONCURRENCY, check_archive, runs, search_total, start_crawl, wait_for
from tests.test_sample_sites import one_article_per_site

EDIT = "<p>Correction: the tenants' assembly moved to the Zwingli hall on Thursday.</p>"


def configure(root: Path, urls: dict[str, str]) -> Path:
    config = root / "sources.toml"
    config.write_text(
        sources_toml(urls) + "\n[settings]\ntimeout_seconds = 10\nprogress_seconds = 0\n", encoding="utf-8"
    )
    return config


def crawl(config: Path, data: Path) -> None:
    result = run_cli("crawl", "--config", config, "--data", data)
    assert result.returncode == 0, result.stdout + result.stderr


def warc_bytes(data: Path, files: set[Path]) -> int:
    return sum(p.stat().st_size for p in files)


def warc_files(data: Path) -> set[Path]:
    return set((data / "warc").glob("*.warc.gz"))


def version_counts(data: Path) -> dict[str, int]:
    with closing(sqlite3.connect(data / "store.sqlite")) as db:
        return dict(db.execute("SELECT doc_id, COUNT(*) FROM versions GROUP BY doc_id"))


def by_id(records: list[dict]) -> dict[str, dict]:
    assert len(records) == len({r["id"] for r in records}), "duplicate ids"
    return {r["id"]: r for r in records}


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    with serve_sample_sites(tmp_path_factory.mktemp("recrawl-server")) as served:
        yield served


def test_a_recrawl_sends_validators_archives_little_and_only_a_changed_article_gets_a_version(sites, tmp_path):
    config, data = configure(tmp_path, sites.urls), tmp_path / "data"
    crawl(config, data)
    first_files, first = warc_files(data), by_id(export_records(data))
    versions = version_counts(data)
    served_whole = {(r["site"], r["path"]) for r in sites.requests() if r["status"] == 200}

    # Unchanged sites: every page fetched whole before is asked for with its ETag and answered 304.
    before = len(sites.requests())
    crawl(config, data)
    again = sites.requests()[before:]
    second_files = warc_files(data) - first_files
    assert second_files and len(again) >= len(served_whole)
    asked = [r for r in again if (r["site"], r["path"]) in served_whole]
    assert asked and all(r["if_none_match"] for r in asked), [r["path"] for r in asked if not r["if_none_match"]]
    assert all(r["status"] == 304 for r in asked), [r["path"] for r in asked if r["status"] != 304]
    first_size, second_size = warc_bytes(data, first_files), warc_bytes(data, second_files)
    assert second_size * 20 < first_size, (first_size, second_size)
    assert version_counts(data) == versions
    assert by_id(export_records(data)) == first  # same records: still pointing at the full captures
    assert search_total(data) == len(first)
    recrawl = runs(data)[: len(sites.urls)]
    assert {r["status"] for r in recrawl} == {"finished"}
    assert all(r["not_modified"] > 0 and r["articles"]["new"] == r["articles"]["changed"] == 0 for r in recrawl)
    assert sum(r["articles"]["unchanged"] for r in recrawl) == len(first)
    # Only what has no validators is archived whole again (404 pages, redirects); a 304 has no payload.
    first_runs = runs(data)[len(sites.urls) : 2 * len(sites.urls)]
    assert sum(r["bytes_archived"] for r in recrawl) * 50 < sum(r["bytes_archived"] for r in first_runs)
    for path in second_files:  # each 304 is archived as such, with the validators that were sent
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "response" and record.http_headers.get_statuscode() == "304":
                    break
            else:
                pytest.fail(f"{path.name} archived no 304")

    # One article edited: exactly one new version, which search and export show.
    site = "wordpress"
    article = one_article_per_site({**sites.urls, "campaign": "http://campaign.invalid"})[site]
    sites.edit(site, article, EDIT)
    try:
        crawl(config, data)
    finally:
        sites.reset()
    after = by_id(export_records(data))
    grown = {i: n for i, n in version_counts(data).items() if n != versions.get(i)}
    assert list(grown.values()) == [2], grown
    (changed,) = grown
    assert after[changed]["url"] == sites.urls[site] + article and "Zwingli hall" in after[changed]["text"]
    assert after[changed]["warc_file"] != first[changed]["warc_file"]
    assert {i: r for i, r in after.items() if i != changed} == {i: r for i, r in first.items() if i != changed}
    found = run_cli("search", "Zwingli", "--json", "--data", data)
    assert found.returncode == 0 and '"total": 1' in found.stdout, found.stdout
    assert [r["articles"]["changed"] for r in runs(data)[: len(sites.urls)] if r["source"] == "tenants-voice"] == [1]

    # Reindex from the WARC files alone: the 304s stand for the captures they refer to.
    check_archive(data)
    result = run_cli("reindex", "--data", data)
    assert result.returncode == 0, result.stderr
    assert by_id(export_records(data)) == after
    assert version_counts(data) == {**versions, changed: 2}


@pytest.fixture(scope="module")
def careless(tmp_path_factory):
    """The sample sites behind a server that ignores If-None-Match and If-Modified-Since."""
    with serve_sample_sites(tmp_path_factory.mktemp("careless-server"), "--ignore-conditional") as served:
        yield served


def test_an_unchanged_payload_served_whole_is_written_as_a_revisit_record(careless, tmp_path):
    config, data = configure(tmp_path, careless.urls), tmp_path / "data"
    crawl(config, data)
    first_files, first = warc_files(data), by_id(export_records(data))
    versions = version_counts(data)
    crawl(config, data)
    second_files = warc_files(data) - first_files
    assert warc_bytes(data, second_files) * 20 < warc_bytes(data, first_files)
    revisits = 0
    for path in second_files:
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "revisit":
                    revisits += 1
                    headers = record.rec_headers
                    assert headers.get_header("WARC-Profile") == REVISIT_PROFILE
                    assert headers.get_header("WARC-Refers-To-Target-URI") == headers.get_header("WARC-Target-URI")
                    assert headers.get_header("WARC-Refers-To-Date") and headers.get_header("WARC-Payload-Digest")
    recrawl = runs(data)[: len(careless.urls)]
    # Requisites unchanged since the first crawl are revisits too, counted with them (not as pages).
    assert revisits == sum(r["revisits"] + r["requisites"]["revisits"] for r in recrawl) and revisits >= len(first)
    assert version_counts(data) == versions
    assert by_id(export_records(data)) == first
    check_archive(data)

    # The WARC export holds each article's full response, never a revisit without its payload.
    exported = tmp_path / "export.warc.gz"
    result = run_cli("export", "--format", "warc", "--output", exported, "--data", data)
    assert result.returncode == 0, result.stderr
    with open(exported, "rb") as fh:
        records = [(r.rec_type, r.rec_headers.get_header("WARC-Resource-Type")) for r in ArchiveIterator(fh)]
    types = [t for t, kind in records if kind in (None, "document")]  # the articles' own, not their requisites'
    assert "revisit" not in types and types.count("response") == len(first)

    result = run_cli("reindex", "--data", data)
    assert result.returncode == 0, result.stderr
    assert by_id(export_records(data)) == first and version_counts(data) == versions


def test_a_killed_recrawl_resumes_from_its_revisit_records(careless, tmp_path):
    config, data = configure(tmp_path, careless.urls), tmp_path / "data"
    crawl(config, data)
    first = by_id(export_records(data))
    before = len(careless.requests())
    process = start_crawl(config, data)
    wait_for(lambda: len(careless.requests()) - before >= 120 or process.poll() is not None)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    killed = {(r["site"], r["path"]) for r in careless.requests()[before:] if not r["path"].endswith("robots.txt")}
    assert any(e.type == "revisit" for p in (data / "warc").glob("*.warc.gz*") for e in iter_entries(p, p.name))

    middle = len(careless.requests())
    crawl(config, data)
    resumed = {(r["site"], r["path"]) for r in careless.requests()[middle:] if not r["path"].endswith("robots.txt")}
    for site in careless.urls:
        refetched = sorted(path for name, path in killed & resumed if name == site)
        assert len(refetched) <= CONCURRENCY, (site, refetched)
    assert by_id(export_records(data)) == first
    latest = runs(data)[: len(careless.urls)]
    assert {r["status"] for r in latest} == {"finished"}
    assert [r["sessions"] for r in latest] == [2] * len(latest)  # resumed, not started again
    check_archive(data)


def test_a_304_whose_archived_copy_is_gone_is_fetched_whole_again(sites, tmp_path):
    config, data = tmp_path / "sources.toml", tmp_path / "data"
    config.write_text(sources_toml(sites.urls, sites=("hugo",)) + "\n[settings]\nprogress_seconds = 0\n", "utf-8")
    crawl(config, data)
    first = by_id(export_records(data))
    for path in warc_files(data):
        path.unlink()  # the archive of record lost: what the store points at is gone
    before = len(sites.requests())
    crawl(config, data)
    log = sites.requests()[before:]
    not_modified = {r["path"] for r in log if r["status"] == 304}
    whole_again = {r["path"] for r in log if r["status"] == 200 and not r["if_none_match"]}
    assert not_modified and not_modified <= whole_again
    # The store still points at the lost files; a reindex rebuilds it from the WARC files there are.
    assert run_cli("reindex", "--data", data).returncode == 0
    after = by_id(export_records(data))
    assert set(after) == set(first) and all(r["warc_file"] != first[i]["warc_file"] for i, r in after.items())
    exported = tmp_path / "export.warc.gz"
    assert run_cli("export", "--format", "warc", "--output", exported, "--data", data).returncode == 0
    with open(exported, "rb") as fh:
        kinds = [(r.rec_type, r.rec_headers.get_header("WARC-Resource-Type")) for r in ArchiveIterator(fh)]
    pages = [t for t, kind in kinds if kind in (None, "document")]
    assert pages.count("response") == len(first)
