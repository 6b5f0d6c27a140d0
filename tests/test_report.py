"""Crawl QA: quality figures per crawl, drop flags, `samizdat sources` and `samizdat report NAME`."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from samizdat import report
from samizdat.archive.config import Source, load_config
from samizdat.archive.datadir import DataDir
from samizdat.archive.document import Document
from samizdat.archive.store import Store
from tests.conftest import export_records, run_cli

SHARE_NAMES = ("date", "author", "labels", "text")


def one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def summary_block(out: str, name: str) -> list[str]:
    """The row of one source in a crawl's printed summary, with its indented lines."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{name} "))
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("    "):
            break
        block.append(line.strip())
    return block


def printed_skips(block: list[str]) -> dict[str, int]:
    line = next((x for x in block if x.startswith("skipped: ")), "skipped: ")
    return {k: int(v) for k, v in re.findall(r"(\S+) x(\d+)", line.removeprefix("skipped: "))}


def expected_quality(records: list[dict], own_labels: set[str]) -> dict[str, int]:
    """The figures, computed here from the exported records rather than by the store's SQL."""
    return {
        "articles": len(records),
        "date": sum(bool(r["published"]) for r in records),
        "author": sum(bool((r["author"] or "").strip()) for r in records),
        "labels": sum(bool(set(r["labels"]) - own_labels) for r in records),
        "text": sum(len(r["text"]) >= report.TEXT_MIN_CHARS for r in records),
    }


def percent(count: int, total: int) -> str:
    return f"{count * 100 // total}%"


# -- on the session's real crawl of the sample sites --------------------------------------------------


def test_the_crawl_summary_has_a_quality_line_per_source_matching_the_articles(crawl):
    config = load_config(crawl.config)
    records = export_records(crawl.data)
    for source in config.sources:
        block = summary_block(crawl.result.stdout, source.name)
        mine = [r for r in records if r["source"] == source.name]
        want = expected_quality(mine, set(source.labels))
        assert want["articles"] >= 10
        shares = ", ".join(f"{name} {percent(want[name], want['articles'])}" for name in SHARE_NAMES)
        assert f"quality: {want['articles']} articles; {shares}" in block, block
        assert not any(line.startswith("WARNING") for line in block), block  # a first crawl has nothing to drop from
    names = [source.name for source in config.sources]
    with Store(crawl.data / "store.sqlite") as store:
        recorded = store.last_crawls()
    assert {name: recorded[name]["quality"]["articles"] for name in names} == {
        name: sum(r["source"] == name for r in records) for name in names
    }
    assert all(recorded[name]["flag"] is None for name in names)


def test_sources_shows_kind_articles_shares_and_last_crawl(crawl):
    result = run_cli("sources", "--config", crawl.config, "--data", crawl.data)
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["source", "kind", "articles", "date", "author", "labels", "text", "last", "crawl"]
    config = {s.name: s for s in load_config(crawl.config).sources}
    assert [row.split()[0] for row in rows] == list(config) and len(config) >= 3
    records = export_records(crawl.data)
    for row in rows:
        name = row.split()[0]
        kind = config[name].kind
        want = expected_quality([r for r in records if r["source"] == name], set(config[name].labels))
        shares = [percent(want[n], want["articles"]) for n in SHARE_NAMES]
        assert row.split()[1:7] == [kind, str(want["articles"]), *shares], row
        assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$", row), row
    # the columns line up: each number ends where its header does
    for column in ("articles", "date", "author", "labels", "text"):
        end = header.index(column) + len(column)
        assert all(row[end - 1] != " " and (len(row) == end or row[end] == " ") for row in rows), (column, rows)

    as_json = run_cli("sources", "--config", crawl.config, "--data", crawl.data, "--json")
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)["sources"]
    assert [d["source"] for d in data] == list(config)
    for d in data:
        assert d["kind"] == config[d["source"]].kind and d["kind_detected"] is False
        assert d["articles"] == d["archived"] == sum(r["source"] == d["source"] for r in records)
        want = expected_quality([r for r in records if r["source"] == d["source"]], set(config[d["source"]].labels))
        assert {n: d["quality"][f"with_{n}"] for n in SHARE_NAMES} == {n: want[n] for n in SHARE_NAMES}
        assert d["quality"]["shares"] == {n: round(want[n] / want["articles"], 4) for n in SHARE_NAMES}
        assert d["flagged"] is False and d["flag"] is None and d["last_crawl"]


def test_report_shows_the_last_crawl_with_skips_by_reason_quality_and_history(crawl):
    for name in [source.name for source in load_config(crawl.config).sources]:
        result = run_cli("report", name, "--config", crawl.config, "--data", crawl.data, "--json")
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        block = summary_block(crawl.result.stdout, name)
        last = data["last_crawl"]
        # the report says what the crawl printed: pages, new articles, skip reasons with their counts
        assert block[0].split()[:4] == [name, data["kind"], str(last["pages"]), str(last["articles"]["new"])]
        assert last["skipped"] == printed_skips(block)
        assert list(last["skipped"].values()) == sorted(last["skipped"].values(), reverse=True)
        assert data["quality"]["articles"] == data["archived"] >= 10
        assert data["flag"] is None and last["failed"] is False
        assert len(data["history"]) == 1 and data["history"][0]["articles"] == data["quality"]["articles"]
        assert last["duration_seconds"] >= 0 and last["pages_per_second"] > 0
    wordpress, magazine = (
        json.loads(run_cli("report", name, "--config", crawl.config, "--data", crawl.data, "--json").stdout)
        for name in ("tenants-voice", "red-lantern")
    )
    assert wordpress["last_crawl"]["skipped"].get("trap:calendar", 0) >= 1  # the endless events calendar
    assert "trap:calendar" not in magazine["last_crawl"]["skipped"]
    # Pages not taken for articles, by type and the strongest evidence against them.
    generic = json.loads(
        run_cli("report", "field-notes", "--config", crawl.config, "--data", crawl.data, "--json").stdout
    )
    left_out = generic["last_crawl"]["not_articles"]
    assert left_out.get("listing: listing path", 0) >= 2 and "listing: N entries of like size" in left_out, left_out
    assert all(key.startswith(("listing: ", "page: ")) and not re.search(r"[\d/?()]", key) for key in left_out)

    text = run_cli("report", "tenants-voice", "--config", crawl.config, "--data", crawl.data)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "tenants-voice"
    fields = {line[2:14].strip(): line[14:] for line in lines[1:] if line.startswith("  ") and line[2] != " "}
    assert fields["kind"] == "wordpress (given)"
    assert fields["schedule"] == "none"
    assert re.fullmatch(
        r"\S+ \S+ UTC -> \S+ \S+ UTC \(\d+ s\): \d+ pages, [\d.]+ pages/s, finished", fields["last crawl"]
    ), fields
    assert re.search(r"trap:calendar x\d+", fields["skipped"]), fields
    assert fields["other pages"] == "none" or re.search(r"(listing|page): .+ x\d+", fields["other pages"]), fields
    assert re.fullmatch(r"\d+ articles; date \d+%, author \d+%, labels \d+%, text \d+%", fields["quality"])
    assert fields["flag"] == "none"
    assert fields["history"] == "last 1 crawl(s), newest first"
    assert re.fullmatch(r"    \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC +\d+ pages +\d+ articles", lines[-1]), lines[-1]


def test_report_of_an_unknown_source_is_one_line_with_a_suggestion(crawl):
    result = run_cli("report", "tenant-voice", "--config", crawl.config, "--data", crawl.data)
    one_line_error(result, "no source named 'tenant-voice'", "tenants-voice")


def test_robots_txt_skips_are_reported_and_a_collapsed_recrawl_is_flagged(sample_sites, tmp_path):
    """The generic spider meets Blogger's robots.txt (its own trap rules do not pre-empt it); then a
    page cap makes the second crawl collapse, as a dying site would."""
    config = tmp_path / "sources.toml"
    table = (
        f'[[source]]\nname = "steppe"\nkind = "generic"\nstart_urls = ["{sample_sites.urls["blogger"]}/"]\n'
        'labels = ["Kazakhstan"]\ndelay = 0\n'
    )
    settings = "[settings]\ntimeout_seconds = 10\nprogress_seconds = 0\n"
    config.write_text(table + settings, encoding="utf-8")
    data = tmp_path / "data"
    first = run_cli("crawl", "--config", config, "--data", data)
    assert first.returncode == 0, first.stdout + first.stderr
    assert printed_skips(summary_block(first.stdout, "steppe")).get("robots.txt", 0) >= 1, first.stdout
    before = json.loads(run_cli("report", "steppe", "--config", config, "--data", data, "--json").stdout)
    assert before["last_crawl"]["skipped"]["robots.txt"] >= 1 and before["flag"] is None

    config.write_text(table + "max_pages = 5\n" + settings, encoding="utf-8")
    second = run_cli("crawl", "--config", config, "--data", data)
    assert second.returncode == 0, second.stdout + second.stderr
    block = summary_block(second.stdout, "steppe")
    warning = next(line for line in block if line.startswith("WARNING: "))
    found = re.search(r"figures dropped since the crawl of \d{4}-\d{2}-\d{2}: articles (\d+) -> (\d+)", warning)
    assert found and int(found[1]) == before["quality"]["articles"] and int(found[2]) < int(found[1]), warning
    assert warning.endswith("; a template change or a dead site?")

    after = json.loads(run_cli("report", "steppe", "--config", config, "--data", data, "--json").stdout)
    assert after["flag"]["reason"] == warning.removeprefix("WARNING: ")
    assert after["flag"]["compared_with"] == before["last_crawl"]["started_at"]
    assert [bool(h["flag"]) for h in after["history"]] == [True, False]
    listing = run_cli("sources", "--config", config, "--data", data)
    assert listing.stdout.splitlines()[1].endswith("FLAGGED") and "samizdat report NAME" in listing.stdout


# -- drop detection on stores built by hand ------------------------------------------------------------

ZINE = Source(name="zine", start_urls=("http://zine.example/",), labels=("Zine",))
LONG = "A paragraph of the article, long enough to count. " * 12  # 612 characters


def capture(i: int, fetched_at: str, **changes: object) -> Document:
    fields: dict = {
        "url": f"http://zine.example/2026/11/story-{i}/",
        "source": "zine",
        "kind": "generic",
        "title": f"Story {i}",
        "text": LONG,
        "author": "A. Writer",
        "published": "2026-11-01",
        "labels": ["Housing", "Zine"],
        "fetched_at": fetched_at,
    }
    return Document(**{**fields, **changes})


def crawl_summary(started_at: str, pages: int, failure: str | None = None) -> dict:
    """A summary shaped as crawler.run.summarize makes it."""
    summary = {
        "source": "zine",
        "kind": "generic",
        "kind_detected": False,
        "pages": pages,
        "pages_per_second": 2.0,
        "articles": {"new": 0, "changed": 0, "unchanged": 0},
        "other_pages": {},
        "errors": {"connection_refused": 3} if failure else {},
        "skipped": {"robots.txt": 4, "trap:calendar": 9, "offsite": 20},
        "warc_files": [],
        "finish_reason": "finished",
        "failed": failure is not None,
        "started_at": started_at,
        "finished_at": started_at.replace("T03:00:00", "T03:10:00"),
        "log_file": "logs/crawl.log",
    }
    if failure:
        summary["failure"] = failure
    return summary


def record(store: Store, summary: dict) -> dict:
    """What stages.crawl does after a run: assess, then keep."""
    report.assess(store, ZINE, summary)
    store.record_crawl(summary["source"], summary["started_at"], summary["finished_at"], summary)
    return summary


@pytest.fixture
def datadir(tmp_path: Path) -> DataDir:
    return DataDir.create(tmp_path / "data")


def good_crawl(store: Store) -> dict:
    for i in range(47):
        store.upsert(capture(i, "2026-11-20T03:00:05.5Z"))
    return record(store, crawl_summary("2026-11-20T03:00:00+00:00", pages=120))


def test_the_store_measures_what_a_crawl_found(datadir):
    with Store(datadir.store_path) as store:
        store.upsert(capture(1, "2026-11-20T03:00:05Z"))
        store.upsert(capture(2, "2026-11-20T03:00:06Z", labels=["Zine"], author="  ", text="x" * 499))
        store.upsert(capture(3, "2026-11-20T03:00:07Z", published=None, author=None, labels=[], text="y" * 500))
        store.upsert(capture(4, "2026-11-27T03:00:01Z"))
        everything = store.quality("zine", {"Zine"})
        assert everything == {
            "articles": 4,
            "with_date": 3,
            "with_author": 2,
            "with_labels": 2,  # story 2 has only the source's own label
            "with_text": 3,  # 499 characters is not enough, 500 is
            "shares": {"date": 0.75, "author": 0.5, "labels": 0.5, "text": 0.75},
        }
        assert store.quality("zine", ())["with_labels"] == 3
        assert store.quality("zine", {"Zine"}, seen_since="2026-11-27T03:00:00")["articles"] == 1
        assert store.quality("other", ())["shares"] == {name: None for name in SHARE_NAMES}


def test_a_collapsed_crawl_is_flagged_with_what_dropped_from_what(datadir):
    with Store(datadir.store_path) as store:
        first = good_crawl(store)
        assert first["flag"] is None
        assert first["quality"]["articles"] == 47 and first["quality"]["shares"]["date"] == 1.0
        for i in range(10):  # a template change: 10 articles still found, 6 of them without a date
            store.upsert(capture(i, "2026-11-27T03:00:05Z", published=None if i < 6 else "2026-11-01"))
        second = record(store, crawl_summary("2026-11-27T03:00:00+00:00", pages=30))
    assert second["flag"]["reason"] == (
        "figures dropped since the crawl of 2026-11-20: articles 47 -> 10, share with a date 100% -> 40%, "
        "pages fetched 120 -> 30; a template change or a dead site?"
    )
    assert second["flag"]["compared_with"] == "2026-11-20T03:00:00+00:00"
    assert [d["figure"] for d in second["flag"]["drops"]] == ["articles", "date", "pages"]
    assert report.warning_line(second) == "WARNING: " + second["flag"]["reason"]
    assert report.quality_line(second) == "quality: 10 articles; date 40%, author 100%, labels 100%, text 100%"


def test_a_failed_crawl_is_flagged_and_is_no_baseline_for_the_next(datadir, tmp_path):
    with Store(datadir.store_path) as store:
        good_crawl(store)
        failed = record(store, crawl_summary("2026-11-24T03:00:00+00:00", pages=0, failure="connection_refused x3"))
        for i in range(30):
            store.upsert(capture(i, "2026-11-27T03:00:05Z"))
        third = record(store, crawl_summary("2026-11-27T03:00:00+00:00", pages=100))
    assert failed["flag"]["reason"] == (
        "the crawl failed (connection_refused x3); figures dropped since the crawl of 2026-11-20: "
        "articles 47 -> 0, pages fetched 120 -> 0; a dead site or a wrong address?"
    )
    # compared with the good crawl of the 20th, not with the failed one of the 24th
    assert third["flag"]["compared_with"] == "2026-11-20T03:00:00+00:00"
    assert third["flag"]["reason"].startswith("figures dropped since the crawl of 2026-11-20: articles 47 -> 30;")

    config = tmp_path / "sources.toml"
    zine = '[[source]]\nname = "zine"\nstart_urls = ["http://zine.example/"]\nlabels = ["Zine"]\n'
    config.write_text(zine, encoding="utf-8")
    text = run_cli("report", "zine", "--config", config, "--data", datadir.root)
    assert text.returncode == 0, text.stderr
    assert "  kind        generic (detected)" in text.stdout
    assert "  flag        WARNING: figures dropped since the crawl of 2026-11-20: articles 47 -> 30;" in text.stdout
    assert "  skipped     offsite x20, trap:calendar x9, robots.txt x4" in text.stdout
    history = text.stdout.splitlines()[-3:]
    assert [line.split()[:3] for line in history] == [
        ["2026-11-27", "03:00", "UTC"],
        ["2026-11-24", "03:00", "UTC"],
        ["2026-11-20", "03:00", "UTC"],
    ]
    assert [line.split()[-1] for line in history] == ["FLAGGED", "FAILED", "articles"]
    assert re.search(r"\b30 articles\s+FLAGGED$", history[0]) and re.search(r"\b47 articles$", history[2])

    listing = run_cli("sources", "--config", config, "--data", datadir.root, "--json")
    (row,) = json.loads(listing.stdout)["sources"]
    assert row["flagged"] is True and row["flag"] == third["flag"]["reason"] and row["articles"] == 30


@pytest.mark.parametrize(
    ("before", "after", "flagged"),
    [
        ((47, 47, 120), (33, 33, 120), False),  # 14 fewer articles: 29.8%, not more than 30%
        ((47, 47, 120), (32, 32, 120), True),  # 15 fewer: 31.9%
        ((5, 5, 10), (3, 3, 10), False),  # 40% fewer, but only 2 articles
        ((10, 10, 10), (10, 8, 10), False),  # a share 100% -> 80%: 20 points, not more
        ((10, 10, 10), (10, 7, 10), True),  # 100% -> 70%
        ((10, 10, 120), (10, 10, 60), False),  # half the pages: not more than 50% fewer
        ((10, 10, 120), (10, 10, 59), True),
        ((10, 10, 120), (60, 60, 400), False),  # growth is never a drop
    ],
)
def test_drop_thresholds(before, after, flagged):
    def summary(articles: int, dated: int, pages: int) -> dict:
        counts = {"articles": articles, "with_date": dated, "with_author": articles}
        counts |= {"with_labels": articles, "with_text": articles}
        shares = {n: counts[f"with_{n}"] / articles for n in SHARE_NAMES}
        return {"started_at": "2026-11-20T03:00:00+00:00", "pages": pages, "quality": {**counts, "shares": shares}}

    assert (report.flag(summary(*after), summary(*before)) is not None) is flagged


def test_sources_and_report_work_before_anything_was_crawled(tmp_path):
    config = tmp_path / "sources.toml"
    config.write_text(
        '[[source]]\nname = "zine"\nstart_urls = ["http://zine.example/"]\n\n'
        '[[source]]\nname = "mag"\nkind = "magazine"\nstart_urls = ["http://mag.example/"]\nschedule = "0 3 * * 1"\n',
        encoding="utf-8",
    )
    data = tmp_path / "never"
    result = run_cli("sources", "--config", config, "--data", data)
    assert result.returncode == 0, result.stderr
    zine, mag = result.stdout.splitlines()[1:]
    # A source has a schedule: the newest run, the next run (never crawled: due now) and the schedule follow.
    assert zine.startswith("zine    (detected at the first crawl)         -     -       -       -     -  never crawled")
    assert zine.split()[-3:] == ["-", "-", "-"]
    assert mag.startswith("mag     magazine                              -     -       -       -     -  never crawled")
    assert re.search(r"never crawled +- +\d{4}-\d\d-\d\d \d\d:\d\d UTC +0 3 \* \* 1 \(UTC\)$", mag), mag
    one = run_cli("report", "mag", "--config", config, "--data", data, "--json")
    assert one.returncode == 0, one.stderr
    data_json = json.loads(one.stdout)
    assert data_json["last_crawl"] is None and data_json["history"] == [] and data_json["schedule"] == "0 3 * * 1"
    text = run_cli("report", "zine", "--config", config, "--data", data)
    assert text.stdout.splitlines()[1] == "  kind        (detected at the first crawl)"
    assert text.stdout.splitlines()[-1] == "  last crawl  never crawled; 0 articles in the archive"
    assert not data.exists()  # reading never creates the data directory
