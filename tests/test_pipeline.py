"""The whole ingest path over real HTTP: crawl -> WARC -> extract -> store -> index -> search/export."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import closing
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from samizdat.archive.config import Source, load_config
from samizdat.archive.document import EXPORT_FIELDS
from samizdat.archive.urls import url_key
from samizdat.archive.warc import Capture, iter_entries, read_capture, seal_leftovers
from samizdat.crawler.extraction import running_pool
from samizdat.sample_sites import expected_articles
from tests.conftest import export_records, run_cli, write_config
from tests.quality import robots_violations

FIELD_TYPES = {
    "id": str,
    "url": str,
    "source": str,
    "kind": str,
    "title": str,
    "author": (str, type(None)),
    "published": (str, type(None)),
    "labels": list,
    "text": str,
    "language": (str, type(None)),
    "fetched_at": str,
    "warc_file": str,
    "warc_offset": int,
    "digest": str,
}


def test_the_crawl_completes_with_a_summary_per_source(crawl):
    out = crawl.result.stdout
    for name in ("steppe-notes", "tenants-voice", "red-lantern"):
        assert re.search(rf"^{name}\s+\w+\s+\d+\s+\d+", out, re.MULTILINE), out
    # the endless calendar was cut by the trap rules, not by a page cap
    assert "trap:calendar" in out
    assert "http_404_not_found" in out  # the broken link is reported, not fatal
    with_counts = re.findall(r"^(\S+)\s+\S+\s+(\d+)\s+(\d+)", out, re.MULTILINE)
    assert all(int(new) > 0 for _name, _pages, new in with_counts[1:]), out


def test_every_warc_file_passes_warcio_check(crawl):
    files = sorted((crawl.data / "warc").glob("*.warc.gz"))
    assert files
    for path in files:
        result = subprocess.run(["warcio", "check", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_export_records_have_the_contract_fields_and_point_into_the_warc(crawl):
    records = export_records(crawl.data)
    assert len(records) >= 40
    for record in records:
        assert list(record) == list(EXPORT_FIELDS)
        for name, types in FIELD_TYPES.items():
            assert isinstance(record[name], types), (name, record[name])
        assert record["published"] is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", record["published"])
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", record["fetched_at"])
        capture = read_capture(crawl.data, record["warc_file"], record["warc_offset"])
        assert capture.status == 200 and capture.digest == record["digest"]
        assert url_key(capture.url) == url_key(record["url"]) or record["url"] in capture.payload.decode(
            "utf-8", "replace"
        ), (capture.url, record["url"])
        assert "\n\n" in record["text"] or len(record["text"]) < 400


def test_an_article_is_exported_once_whatever_variants_were_seen(crawl):
    records = export_records(crawl.data)
    keys = [url_key(r["url"]) for r in records]
    assert len(keys) == len(set(keys))
    assert len({r["id"] for r in records}) == len(records)
    variants = [r["path"] for r in crawl.requests if re.search(r"[?&](m=1|utm_|replytocom=|share=)", r["path"])]
    assert not variants, f"requests spent on URL variants: {variants[:5]}"


def test_no_robots_disallowed_url_is_requested(crawl):
    assert any(r["path"] == "/robots.txt" for r in crawl.requests)
    assert robots_violations(crawl.requests, crawl.sites.urls) == []


def test_json_search_has_the_api_shape(crawl):
    result = run_cli("search", "strike", "--json", "--data", crawl.data)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"total", "page", "per_page", "hits", "facets"} <= set(data)
    assert data["total"] >= 1 and data["page"] == 1
    assert set(data["hits"][0]) >= {"id", "url", "title", "published", "labels", "source", "author", "snippet"}
    assert {"labels", "sources", "authors", "years"} <= set(data["facets"])
    assert all(set(v) == {"value", "count"} for v in data["facets"]["years"])


def test_search_filters_and_readable_output(crawl):
    result = run_cli("search", "--source", "red-lantern", "--sort", "oldest", "--limit", "3", "--data", crawl.data)
    assert result.returncode == 0, result.stderr
    assert re.match(r"\d+ article\(s\)", result.stdout)
    assert result.stdout.count("red-lantern") == 3


def test_csv_and_warc_exports_hold_the_same_articles(crawl, tmp_path):
    records = export_records(crawl.data)
    result = run_cli("export", "--format", "csv", "--data", crawl.data)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["id"] for r in rows] == [r["id"] for r in records]
    assert rows[0]["labels"] == "; ".join(records[0]["labels"])
    out = tmp_path / "articles.warc.gz"
    result = run_cli("export", "--format", "warc", "-o", out, "--data", crawl.data)
    assert result.returncode == 0, result.stderr
    assert subprocess.run(["warcio", "check", str(out)], capture_output=True).returncode == 0
    with open(out, "rb") as fh:
        types = [(rec.rec_type, rec.rec_headers.get_header("WARC-Resource-Type")) for rec in ArchiveIterator(fh)]
    assert types[0][0] == "warcinfo"
    # the articles' own records; their requisites' (marked with their kind) come with them
    pages = [t for t, kind in types if kind in (None, "document")]
    assert pages.count("response") == len(records) == pages.count("request")


def test_reindex_from_the_warc_files_alone_gives_the_same_export(crawl, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copytree(crawl.data / "warc", copy / "warc")
    shutil.copy(crawl.data / "samizdat.json", copy / "samizdat.json")
    result = run_cli("reindex", "--data", copy)
    assert result.returncode == 0, result.stderr
    assert "reindex: " in result.stderr  # progress
    assert export_records(copy) == export_records(crawl.data)


def test_a_second_crawl_of_unchanged_sites_adds_nothing(crawl, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(crawl.data, data)
    before = export_records(data)
    result = run_cli("crawl", "--config", crawl.config, "--data", data)
    assert result.returncode == 0, result.stderr
    rows = re.findall(r"^(\S+)\s+\S+\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", result.stdout, re.MULTILINE)
    assert len(rows) == 4 and all(new == "0" and changed == "0" for _, _, new, changed, _ in rows), result.stdout
    after = export_records(data)
    assert [r["id"] for r in after] == [r["id"] for r in before]


def test_an_unreachable_host_fails_its_source_while_the_others_complete(sample_sites, tmp_path):
    extra = '\n[[source]]\nname = "gone"\nstart_urls = ["http://127.0.0.1:9/"]\ndelay = 0\n'
    config = write_config(tmp_path / "sources.toml", sample_sites, extra=extra)
    result = run_cli("crawl", "red-lantern", "gone", "--config", config, "--data", tmp_path / "data")
    assert result.returncode == 1
    assert "gone" in result.stderr and "Traceback" not in result.stderr
    assert re.search(r"^gone .*connection_refused", result.stdout, re.MULTILINE), result.stdout
    assert len(export_records(tmp_path / "data", "--source", "red-lantern")) >= 10


def test_a_host_that_does_not_resolve_fails_its_source_as_a_dns_lookup(tmp_path):
    # .invalid never resolves (RFC 2606): the resolver answers at once, offline too
    config = tmp_path / "sources.toml"
    config.write_text(
        '[[source]]\nname = "lapsed"\nstart_urls = ["http://samizdat-test.invalid/"]\ndelay = 0\n'
        "\n[settings]\nretry_times = 0\nprogress_seconds = 0\n",
        encoding="utf-8",
    )
    result = run_cli("crawl", "--config", config, "--data", tmp_path / "data")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert re.search(r"^\s+FAILED: dns_lookup_failed x\d", result.stdout, re.MULTILINE), result.stdout


def one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_bad_input_gets_one_clear_line(crawl, tmp_path):
    bad = tmp_path / "sources.toml"
    bad.write_text('[[source]]\nname = "x"\nstart_url = ["http://a.example/"]\n', encoding="utf-8")
    one_line_error(run_cli("crawl", "--config", bad, "--data", tmp_path / "d"), "sources.toml:3", "start_urls")
    assert not (tmp_path / "d").exists()  # nothing crawled, nothing created
    one_line_error(run_cli("crawl", "nope", "--config", crawl.config, "--data", tmp_path / "d"), "no source named")
    one_line_error(run_cli("search", "x", "--from", "2024-02-30", "--data", crawl.data), "--from", "YYYY-MM-DD")
    one_line_error(run_cli("search", "x", "--sort", "best", "--data", crawl.data), "--sort: 'best'", "newest")
    one_line_error(run_cli("search", "x", "--limit", "500", "--data", crawl.data), "--limit: 500")
    one_line_error(run_cli("search", "x", "--data", tmp_path / "missing"), "does not exist")
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine", encoding="utf-8")
    one_line_error(run_cli("search", "x", "--data", stranger), "not a samizdat data directory")
    one_line_error(run_cli("crawl", "--config", crawl.config, "--data", stranger), "not a samizdat data directory")
    one_line_error(run_cli("export", "--format", "jsonl", "--to", "last year", "--data", crawl.data), "--to")


def test_the_demo_archives_the_sample_sites_and_its_examples_find_something(tmp_path):
    result = run_cli("demo", "--no-serve", "--data", tmp_path / "demo")
    assert result.returncode == 0, result.stdout + result.stderr
    examples = re.findall(r"^  samizdat search .*# .*: (\d+) article", result.stdout, re.MULTILINE)
    assert len(examples) == 4 and all(int(n) > 0 for n in examples), result.stdout
    assert re.search(r"steppe-notes: \d+ pages \([\d.]+/s\), \d+ articles", result.stderr), result.stderr
    assert Path(tmp_path / "demo" / "warc").is_dir()


def stored_documents(path: Path) -> int:
    """How many documents a running crawl has stored so far (0 before the store exists)."""
    if not path.exists():
        return 0
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
        try:
            return db.execute("SELECT count(*) FROM documents").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def test_a_killed_crawl_loses_no_archived_response_and_a_second_writer_is_refused(sample_sites, tmp_path):
    config = write_config(tmp_path / "sources.toml", sample_sites)
    config.write_text(config.read_text(encoding="utf-8").replace("delay = 0", "delay = 0.3"), encoding="utf-8")
    data = tmp_path / "data"
    command = [sys.executable, "-m", "samizdat", "crawl", "--config", str(config), "--data", str(data)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Discovery (robots, sitemaps, feeds) comes first: wait until articles are stored, not for a byte count.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and stored_documents(data / "store.sqlite") < 5:
            time.sleep(0.2)
        one_line_error(run_cli("crawl", "--config", config, "--data", data), "is busy", "samizdat crawl")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert list(data.glob("warc/*.warc.gz.open")), "the killed crawl's files say they are unfinished"
    sealed = seal_leftovers(data / "warc")
    assert {r["action"] for r in sealed} <= {"sealed", "removed"} and any(r["action"] == "sealed" for r in sealed)
    assert not list(data.glob("warc/*.open"))
    files = sorted(data.glob("warc/*.warc.gz"))
    responses = [e.capture for f in files for e in iter_entries(f, f.name) if e.type == "response"]
    assert len(responses) >= 10
    result = run_cli("reindex", "--data", data)
    assert result.returncode == 0, result.stderr
    assert len(export_records(data)) >= 1


def test_sources_lists_each_source_with_its_last_crawl(crawl):
    result = run_cli("sources", "--config", crawl.config, "--data", crawl.data)
    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    assert header.split()[:3] == ["source", "kind", "articles"]
    assert [line.split()[0] for line in lines] == [s.name for s in load_config(crawl.config).sources]
    assert all(re.search(r"\s\d+(\s+\d+%){4}\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$", line) for line in lines), lines


def test_redirects_errors_and_retried_responses_are_archived_too(crawl):
    statuses: dict[int, list[str]] = {}
    for path in sorted((crawl.data / "warc").glob("*.warc.gz")):
        for entry in iter_entries(path, path.name):
            if entry.type == "response":
                statuses.setdefault(entry.capture.status, []).append(entry.capture.url)
    assert any(url.endswith("/events/") for url in statuses.get(302, [])), "the calendar's redirect"
    assert any(url.endswith("/issues/157/") for url in statuses.get(404, [])), "the missing issue"
    assert any("appeal-court-sends-it-back" in url for url in statuses.get(500, [])), "the 500 before its retry"
    assert any("appeal-court-sends-it-back" in url for url in statuses.get(200, [])), "the retry"
    assert any(url.endswith("/robots.txt") for url in statuses.get(200, []))
    # the magazine's PDF editions are archived, never exported as articles
    pdfs = [url for url in statuses.get(200, []) if url.endswith(".pdf")]
    assert pdfs and not {url_key(u) for u in pdfs} & {url_key(r["url"]) for r in export_records(crawl.data)}


def test_a_shortlink_start_url_is_followed_to_its_article(sample_sites, tmp_path):
    base = sample_sites.urls["wordpress"]
    truth = [t for t in expected_articles(sample_sites.urls) if t["site"] == "wordpress"]
    with urllib.request.urlopen(truth[0]["url"]) as response:
        shortlink = re.search(r"rel='shortlink' href='([^']+)'", response.read().decode("utf-8")).group(1)
    assert shortlink.startswith(base + "/?p=")
    config = tmp_path / "sources.toml"
    config.write_text(
        f'[[source]]\nname = "short"\nstart_urls = ["{shortlink}"]\ndelay = 0\nmax_pages = 5\n'
        "[settings]\nprogress_seconds = 0\n",
        encoding="utf-8",
    )
    result = run_cli("crawl", "--config", config, "--data", tmp_path / "data")
    assert result.returncode == 0, result.stdout + result.stderr
    assert truth[0]["url"] in [r["url"] for r in export_records(tmp_path / "data")]


def test_download_size_is_bounded(sample_sites, tmp_path):
    config = write_config(tmp_path / "sources.toml", sample_sites)
    result = run_cli(
        "crawl",
        "steppe-notes",
        "--config",
        config,
        "--data",
        tmp_path / "data",
        env={"SAMIZDAT_MAX_PAGE_BYTES": "1000000"},
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"^steppe-notes .*too_large x\d", result.stdout, re.MULTILINE), result.stdout
    urls = [r["url"] for r in export_records(tmp_path / "data")]
    assert not any("aquifer-map" in url for url in urls) and len(urls) >= 10


def test_a_page_whose_extraction_raises_is_counted_and_the_rest_go_on(tmp_path):
    # A real pool of worker processes; the first capture points into a WARC file that is not there (a
    # purge ran meanwhile, a disk went away): its worker raises, and a reindex or crawl must carry on.
    source = Source.from_dict({"name": "zine", "start_urls": ["http://zine.test/"]})
    words = " ".join(["The print shop kept its own hours and its own counsel."] * 12)
    page = f"<html><head><title>Hours</title></head><body><article><h1>Hours</h1><p>{words}</p></article></body></html>"
    fine = Capture(
        url="http://zine.test/2024/03/hours.html",
        status=200,
        headers=[("Content-Type", "text/html; charset=utf-8")],
        payload=page.encode(),
        fetched_at="2024-03-03T00:00:00Z",
        warc_file="",
        warc_offset=0,
        digest="",
    )
    missing = (str(tmp_path), "gone.warc.gz", 0)
    with running_pool(1, 30) as pool:
        results = list(pool.map_extract([missing, fine], source, "generic", {}))  # type: ignore[list-item]
    assert [(r.page_type, r.reason) for r in results[:1]] == [("error", "extract_failed")]
    assert results[1].page_type == "article" and results[1].document.title == "Hours"
