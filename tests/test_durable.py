"""The crawl as a durable job: killed with SIGKILL at several points, stopped with Ctrl-C, its job state damaged,
it resumes and ends with exactly what an uninterrupted crawl exports; its runs are history."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from samizdat.archive.warc import verify_warc
from tests.conftest import export_records, run_cli, write_config

# Scrapy's CONCURRENT_REQUESTS: each source's downloader holds at most this many requests at once, from
# sending them until their response has passed the WARC recorder. Only those can be lost by a kill.
CONCURRENCY = 16


def start_crawl(config: Path, data: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "samizdat", "crawl", "--config", str(config), "--data", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the kill takes its workers too, as a reboot would
    )


def crawl_until(sample_sites, tmp_path: Path, requests: int) -> tuple[Path, Path, subprocess.Popen]:
    """Start a crawl of the sample sites; return (config, data, process) once they served `requests` more."""
    config = write_config(tmp_path / "sources.toml", sample_sites)
    data = tmp_path / "data"
    before = len(sample_sites.requests())
    process = start_crawl(config, data)
    wait_for(lambda: len(sample_sites.requests()) - before >= requests or process.poll() is not None)
    return config, data, process


def wait_for(condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def comparable(records: list[dict]) -> dict[str, tuple]:
    """What an export says of each article, without where and when it was captured."""
    assert len(records) == len({r["id"] for r in records}), "duplicate ids"
    return {
        r["id"]: (r["url"], r["title"], r["published"], r["author"], tuple(r["labels"]), r["text"]) for r in records
    }


def search_total(data: Path) -> int:
    result = run_cli("search", "--json", "--data", data)
    assert result.returncode == 0, result.stderr
    return int(json.loads(result.stdout)["total"])


def runs(data: Path) -> list[dict]:
    result = run_cli("runs", "--json", "--data", data)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["runs"]


def check_archive(data: Path) -> None:
    warcs = sorted((data / "warc").iterdir())
    assert warcs and not [p for p in warcs if p.name.endswith(".open")]
    for path in warcs:
        assert verify_warc(path) > 0  # every record reads to its end
        check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", str(path)], capture_output=True)
        assert check.returncode == 0, check.stdout + check.stderr


@pytest.fixture(scope="module")
def reference(crawl) -> dict[str, tuple]:
    """The export of the session's uninterrupted crawl of the same sites."""
    return comparable(export_records(crawl.data))


@pytest.fixture(scope="module")
def reference_skips(crawl) -> dict[str, dict[str, int]]:
    """What the uninterrupted crawl left out, by source and reason (each URL once)."""
    return {r["source"]: r["skipped"] for r in runs(crawl.data)}


@pytest.mark.parametrize(
    ("when", "delay"),
    [
        pytest.param(lambda log, data: len(log()) >= 8, 0, id="early"),
        pytest.param(lambda log, data: len(log()) >= 90, 0, id="mid-crawl"),
        pytest.param(lambda log, data: any("aquifer-map" in r["path"] for r in log()), 0, id="multi-megabyte-record"),
        # The index first catches up at the first checkpoint (5 s): a delay keeps the crawl going past it.
        pytest.param(lambda log, data: (data / "index" / "watermark.json").exists(), 0.15, id="index-commit"),
    ],
)
def test_a_killed_crawl_resumes_and_ends_as_an_uninterrupted_one(
    sample_sites, tmp_path, reference, reference_skips, when, delay
):
    config = write_config(tmp_path / "sources.toml", sample_sites)
    config.write_text(config.read_text(encoding="utf-8").replace("delay = 0\n", f"delay = {delay}\n"), "utf-8")
    data = tmp_path / "data"
    before = len(sample_sites.requests())

    def log() -> list[dict]:
        return sample_sites.requests()[before:]

    process = start_crawl(config, data)
    wait_for(lambda: when(log, data) or process.poll() is not None)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    first = {(r["site"], r["path"]) for r in log() if not r["path"].endswith("robots.txt")}

    middle = len(sample_sites.requests())
    result = run_cli("crawl", "--config", config, "--data", data)
    assert result.returncode == 0, result.stdout + result.stderr
    second = {(r["site"], r["path"]) for r in sample_sites.requests()[middle:] if not r["path"].endswith("robots.txt")}

    check_archive(data)
    exported = comparable(export_records(data))
    assert exported == reference
    assert search_total(data) == len(exported)
    refetched = first & second
    for site in sample_sites.urls:
        again = sorted(path for name, path in refetched if name == site)
        assert len(again) <= CONCURRENCY, (site, again)
    latest = {r["source"]: r for r in reversed(runs(data))}
    assert {r["status"] for r in latest.values()} == {"finished"}
    assert {r["sessions"] for r in latest.values()} == {2}  # resumed, not a new run
    # Pages read again after the resume count no left-out URL twice.
    assert {name: r["skipped"] for name, r in latest.items()} == reference_skips


def test_a_refusal_by_robots_txt_is_kept_at_once_and_counted_once_after_a_kill(sample_sites, tmp_path, reference_skips):
    """Scrapy's robots.txt refusal is written to the job directory when it happens: a kill straight after it,
    long before the run's figures are next saved, loses nothing, and the resumed run counts it once."""
    config = write_config(tmp_path / "sources.toml", sample_sites)
    data = tmp_path / "data"

    def refused() -> int:
        for path in (data / "jobs").glob("field-notes-*/skipped.sqlite"):
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
                try:
                    return db.execute("SELECT COUNT(*) FROM skipped WHERE reason = 'robots.txt'").fetchone()[0]
                except sqlite3.OperationalError:
                    return 0  # the table is being created
        return 0

    process = start_crawl(config, data)
    wait_for(lambda: refused() or process.poll() is not None)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert refused() == 1, "the refusal was not on disk while the crawl ran"

    result = run_cli("crawl", "--config", config, "--data", data)
    assert result.returncode == 0, result.stdout + result.stderr
    latest = {r["source"]: r for r in reversed(runs(data))}
    assert latest["field-notes"]["sessions"] == 2
    assert latest["field-notes"]["skipped"] == reference_skips["field-notes"]
    assert reference_skips["field-notes"]["robots.txt"] == 1


def test_ctrl_c_stops_gracefully_and_the_next_crawl_completes(sample_sites, tmp_path, reference):
    config, data, process = crawl_until(sample_sites, tmp_path, 40)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, out + err
    assert "interrupted" in out
    interrupted = [r for r in runs(data) if r["status"] == "interrupted"]
    assert interrupted and all("SIGINT" in r["interrupted_by"] for r in interrupted)
    # What was stored before the stop is searchable, and no WARC file was left open.
    stored = len(export_records(data))
    assert stored > 0 and search_total(data) == stored
    assert not list((data / "warc").glob("*.open"))

    result = run_cli("crawl", "--config", config, "--data", data)
    assert result.returncode == 0, result.stdout + result.stderr
    assert comparable(export_records(data)) == reference
    # The interrupted runs were resumed (same run ids), not started again, and none is a QA baseline.
    finished = runs(data)
    assert {r["id"] for r in interrupted} <= {r["id"] for r in finished if r["status"] == "finished"}
    assert all(r["sessions"] >= 2 for r in finished if r["id"] in {i["id"] for i in interrupted})


def test_damaged_job_state_and_index_are_rebuilt(sample_sites, tmp_path, reference):
    config, data, process = crawl_until(sample_sites, tmp_path, 60)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    for frontier in (data / "jobs").glob("*/frontier.sqlite"):
        with open(frontier, "r+b") as fh:  # a truncated queue file
            fh.truncate(max(0, frontier.stat().st_size // 3))
    for toc in (data / "index").glob("_MAIN_*.toc"):
        toc.unlink()  # a missing index table of contents

    result = run_cli("crawl", "--config", config, "--data", data)
    assert result.returncode == 0, result.stdout + result.stderr
    check_archive(data)
    exported = comparable(export_records(data))
    assert exported == reference
    assert search_total(data) == len(exported)


def test_runs_are_listed_with_their_figures(crawl):
    listed = runs(crawl.data)
    assert {r["source"] for r in listed} == {"steppe-notes", "tenants-voice", "red-lantern", "field-notes"}
    for run in listed:
        assert run["status"] == "finished" and run["finished_at"] and run["sessions"] == 1
        assert run["pages"] > 0 and run["bytes_archived"] > 0 and run["warc_files"]
        assert set(run["articles"]) == {"new", "changed", "unchanged"}
    text = run_cli("runs", "tenants-voice", "--data", crawl.data)
    assert text.returncode == 0 and "tenants-voice" in text.stdout and "steppe-notes" not in text.stdout


def test_crawls_of_different_sources_run_side_by_side_and_one_source_never_twice(sample_sites, tmp_path, reference):
    config = write_config(tmp_path / "sources.toml", sample_sites)
    slow = config.read_text(encoding="utf-8").replace("delay = 0\n", "delay = 0.2\n", 2)  # the first two sources
    config.write_text(slow, encoding="utf-8")
    data = tmp_path / "data"
    command = [sys.executable, "-m", "samizdat", "crawl", "steppe-notes", "tenants-voice"]
    first = subprocess.Popen(
        [*command, "--config", config, "--data", data],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: len(list((data / "warc").glob("*.open"))) >= 2 or first.poll() is not None)
        assert first.poll() is None, "the first crawl ended too early to test beside it"
        # The same source twice, or a reindex, is refused while it runs.
        again = run_cli("crawl", "tenants-voice", "--config", config, "--data", data)
        assert again.returncode != 0 and "source tenants-voice is being crawled by samizdat crawl" in again.stderr
        rebuild = run_cli("reindex", "--data", data)
        assert rebuild.returncode != 0 and "is busy" in rebuild.stderr and "Traceback" not in rebuild.stderr
        # Another source's crawl runs beside it, and leaves its open WARC files alone (sealing them would
        # make the first crawl fail when it seals them itself).
        second = run_cli("crawl", "red-lantern", "field-notes", "--config", config, "--data", data)
        assert second.returncode == 0, second.stdout + second.stderr
        out, err = first.communicate(timeout=300)
        assert first.returncode == 0, out + err
    finally:
        if first.poll() is None:
            first.kill()
    check_archive(data)
    assert comparable(export_records(data)) == reference
    assert {r["status"] for r in runs(data)} == {"finished"} and len(runs(data)) == 4
