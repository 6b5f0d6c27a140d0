"""Crawl QA: what each crawl of a source found, how complete its articles are, and whether it collapsed.

The figures of a crawl are the articles it found (documents captured during it) and the share of them with
a date, an author, labels of the site's own (beyond the source's sources.toml labels) and a text of at
least TEXT_MIN_CHARS characters. They are recorded in the crawl's summary, so every crawl keeps its own.

A crawl is flagged when its source failed, or when its figures fell sharply from the previous crawl that
did not fail: a template change the extraction no longer reads, or a site that is dying.
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from archive.config import Config, Source
from archive.store import Store

TEXT_MIN_CHARS = 500  # shorter texts are teasers, captions or extraction failures
ARTICLES_DROP = Fraction(30, 100)  # flag when articles found fall by more than this...
ARTICLES_DROP_MIN = 3  # ...and by at least this many (5 -> 3 is no alarm)
SHARE_DROP = Fraction(20, 100)  # flag when a share falls by more than 20 points
PAGES_DROP = Fraction(50, 100)  # flag when pages fetched fall by more than this
HISTORY_CRAWLS = 10

# (key in the quality figures, how the flag message names it)
SHARES = (
    ("date", "with a date"),
    ("author", "with an author"),
    ("labels", "with labels"),
    ("text", "with a full text"),
)


def measure(store: Store, source: Source, started_at: str) -> dict[str, Any]:
    """The quality figures of the articles captured since `started_at` (a crawl's start)."""
    return store.quality(source.name, source.labels, seen_since=_utc_second(started_at), min_text_chars=TEXT_MIN_CHARS)


def assess(store: Store, source: Source, summary: dict[str, Any]) -> dict[str, Any]:
    """Add `quality` and `flag` to a crawl summary, before `Store.record_crawl` keeps it."""
    summary["quality"] = measure(store, source, summary["started_at"])
    summary["flag"] = flag(summary, store.previous_crawl(source.name))
    return summary


def flag(current: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any] | None:
    """None, or why this crawl needs a look: {"reason": one line, "compared_with": start of the previous
    crawl or None, "drops": [{"figure", "before", "after", "text"}, ...]}."""
    drops = find_drops(current, previous) if previous else []
    parts = []
    if current.get("failed"):
        parts.append(f"the crawl failed ({current.get('failure') or 'no page could be fetched'})")
    if drops:
        since = _day(previous["started_at"]) if previous else "?"
        parts.append(f"figures dropped since the crawl of {since}: " + ", ".join(d["text"] for d in drops))
    if not parts:
        return None
    question = "a dead site or a wrong address?" if current.get("failed") else "a template change or a dead site?"
    return {
        "reason": "; ".join([*parts, question]),
        "compared_with": previous["started_at"] if previous else None,
        "drops": drops,
    }


def find_drops(current: dict[str, Any], previous: dict[str, Any]) -> list[dict[str, Any]]:
    """The figures that fell sharply from `previous` to `current` (two crawl summaries)."""
    drops: list[dict[str, Any]] = []
    now, before = current.get("quality"), previous.get("quality")
    if now and before:
        fall = before["articles"] - now["articles"]
        if fall >= ARTICLES_DROP_MIN and fall > ARTICLES_DROP * before["articles"]:
            drops.append(_drop("articles", before["articles"], now["articles"], "articles {} -> {}"))
        if now["articles"] and before["articles"]:
            for name, what in SHARES:
                old = Fraction(before[f"with_{name}"], before["articles"])
                new = Fraction(now[f"with_{name}"], now["articles"])
                if old - new > SHARE_DROP:
                    text = f"share {what} {_percent(before, name)} -> {_percent(now, name)}"
                    drops.append(_drop(name, before["shares"][name], now["shares"][name], text))
    pages_before, pages_now = int(previous.get("pages", 0)), int(current.get("pages", 0))
    if pages_now < (1 - PAGES_DROP) * pages_before:
        drops.append(_drop("pages", pages_before, pages_now, "pages fetched {} -> {}"))
    return drops


def _drop(figure: str, before: Any, after: Any, text: str) -> dict[str, Any]:
    return {"figure": figure, "before": before, "after": after, "text": text.format(before, after)}


# -- the printed crawl summary ------------------------------------------------------------------------


def quality_line(summary: dict[str, Any]) -> str | None:
    """`quality: 47 articles; date 100%, author 96%, labels 100%, text 100%`, or None when not measured."""
    quality = summary.get("quality")
    if not quality:
        return None
    line = f"quality: {quality['articles']} articles"
    if quality["articles"]:
        line += "; " + ", ".join(f"{name} {_percent(quality, name)}" for name, _ in SHARES)
    return line


def warning_line(summary: dict[str, Any]) -> str | None:
    return f"WARNING: {summary['flag']['reason']}" if summary.get("flag") else None


# -- `samizdat sources` ---------------------------------------------------------------------------------


def source_rows(config: Config, store: Store | None) -> list[dict[str, Any]]:
    """One row per source of sources.toml: kind, last crawl's figures, flag. `store` None: never crawled."""
    last = store.last_crawls() if store else {}
    rows = []
    for source in config.sources:
        crawl = last.get(source.name)
        quality = crawl_quality(store, source, crawl) if store and crawl else None
        rows.append(
            {
                "source": source.name,
                **_kind(source, crawl),
                "articles": quality["articles"] if quality else None,
                "quality": quality,
                "archived": store.count(source.name) if store else 0,
                "last_crawl": crawl["finished_at"] if crawl else None,
                "flagged": bool(crawl and crawl.get("flag")),
                "flag": crawl["flag"]["reason"] if crawl and crawl.get("flag") else None,
            }
        )
    return rows


def format_sources(rows: list[dict[str, Any]]) -> str:
    header = ["source", "kind", "articles", "date", "author", "labels", "text", "last crawl", ""]
    table = [header]
    for row in rows:
        table.append(
            [
                row["source"],
                _kind_text(row, given=""),
                "-" if row["articles"] is None else str(row["articles"]),
                *(_percent(row["quality"], name) for name, _ in SHARES),
                _minute(row["last_crawl"]) if row["last_crawl"] else "never crawled",
                "FLAGGED" if row["flagged"] else "",
            ]
        )
    right = {2, 3, 4, 5, 6}  # numbers align right
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = [
        "  ".join(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(line))
        for line in table
    ]
    text = "\n".join(line.rstrip() for line in lines)
    if any(row["flagged"] for row in rows):
        text += "\nFLAGGED: the last crawl failed or its figures dropped sharply; `samizdat report NAME` says why"
    return text


# -- `samizdat report NAME` -----------------------------------------------------------------------------


def source_report(source: Source, store: Store | None) -> dict[str, Any]:
    """Everything about one source's crawls, as a plain dict (printed as text or JSON)."""
    history = store.crawl_history(source.name, HISTORY_CRAWLS) if store else []
    last = history[0] if history else None
    quality = crawl_quality(store, source, last) if store and last else None
    report: dict[str, Any] = {
        "source": source.name,
        **_kind(source, last),
        "schedule": source.schedule,
        "start_urls": list(source.start_urls),
        "labels": list(source.labels),
        "archived": store.count(source.name) if store else 0,
        "last_crawl": None,
        "quality": quality,
        "flag": last.get("flag") if last else None,
        "history": [
            {
                "started_at": crawl["started_at"],
                "finished_at": crawl["finished_at"],
                "pages": crawl.get("pages", 0),
                "articles": crawl["quality"]["articles"] if crawl.get("quality") else None,
                "failed": bool(crawl.get("failed")),
                "flag": crawl["flag"]["reason"] if crawl.get("flag") else None,
            }
            for crawl in history
        ],
    }
    if last:
        report["last_crawl"] = {
            "started_at": last["started_at"],
            "finished_at": last["finished_at"],
            "duration_seconds": _seconds(last["started_at"], last["finished_at"]),
            "pages": last.get("pages", 0),
            "pages_per_second": last.get("pages_per_second", 0.0),
            "finish_reason": last.get("finish_reason"),
            "failed": bool(last.get("failed")),
            "failure": last.get("failure"),
            "articles": last.get("articles", {}),
            "errors": _by_count(last.get("errors", {})),
            "skipped": _by_count(last.get("skipped", {})),
            "log_file": last.get("log_file"),
        }
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = [
        report["source"],
        f"  kind        {_kind_text(report, given=' (given)')}",
        f"  schedule    {report['schedule'] or 'none'}",
        f"  start urls  {', '.join(report['start_urls'])}",
    ]
    crawl = report["last_crawl"]
    if crawl is None:
        lines.append(f"  last crawl  never crawled; {report['archived']} articles in the archive")
        return "\n".join(lines)
    outcome = f"FAILED: {crawl['failure']}" if crawl["failed"] else crawl["finish_reason"]
    a = crawl["articles"]
    lines += [
        f"  last crawl  {_second(crawl['started_at'])} -> {_second(crawl['finished_at'])} "
        f"({crawl['duration_seconds']} s): {crawl['pages']} pages, {crawl['pages_per_second']} pages/s, {outcome}",
        f"  articles    {a.get('new', 0)} new, {a.get('changed', 0)} changed, {a.get('unchanged', 0)} unchanged; "
        f"{report['archived']} in the archive",
        f"  errors      {_counts(crawl['errors'])}",
        f"  skipped     {_counts(crawl['skipped'])}",
    ]
    quality = quality_line({"quality": report["quality"]})
    lines.append(f"  quality     {quality.removeprefix('quality: ') if quality else 'not measured'}")
    lines.append(f"  flag        {'WARNING: ' + report['flag']['reason'] if report['flag'] else 'none'}")
    lines.append(f"  log         {crawl['log_file'] or '-'}")
    lines.append(f"  history     last {len(report['history'])} crawl(s), newest first")
    for past in report["history"]:
        articles = "-" if past["articles"] is None else str(past["articles"])
        mark = "FAILED" if past["failed"] else ("FLAGGED" if past["flag"] else "")
        line = f"    {_minute(past['started_at'])}  {past['pages']:>6} pages  {articles:>6} articles  {mark}"
        lines.append(line.rstrip())
    return "\n".join(lines)


# -- shared -------------------------------------------------------------------------------------------


def crawl_quality(store: Store, source: Source, crawl: dict[str, Any]) -> dict[str, Any]:
    """The figures recorded with a crawl; measured now for crawls recorded before they were kept."""
    return crawl.get("quality") or measure(store, source, crawl["started_at"])


def _kind(source: Source, crawl: dict[str, Any] | None) -> dict[str, Any]:
    if source.kind:
        return {"kind": source.kind, "kind_detected": False}
    return {"kind": crawl.get("kind", "generic") if crawl else None, "kind_detected": True}


def _kind_text(row: dict[str, Any], given: str) -> str:
    """`magazine` + given, `magazine (detected)`, or a note that no crawl has detected it yet."""
    if row["kind"] is None:
        return "(detected at the first crawl)"
    return f"{row['kind']}{given if not row['kind_detected'] else ' (detected)'}"


def _by_count(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} x{v}" for k, v in counts.items()) or "none"


def _percent(quality: dict[str, Any] | None, name: str) -> str:
    """From the counts, rounded down: 100% means every article, never 199 of 200."""
    if not quality or not quality["articles"]:
        return "-"
    return f"{quality[f'with_{name}'] * 100 // quality['articles']}%"


def _utc(timestamp: str) -> datetime:
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _utc_second(timestamp: str) -> str:
    """A crawl's start as capture times are written, to the second and without a zone, so that text
    comparison holds ("...:48" <= "...:48.13Z")."""
    return _utc(timestamp).strftime("%Y-%m-%dT%H:%M:%S")


def _day(timestamp: str) -> str:
    return _utc(timestamp).strftime("%Y-%m-%d")


def _minute(timestamp: str) -> str:
    return _utc(timestamp).strftime("%Y-%m-%d %H:%M UTC")


def _second(timestamp: str) -> str:
    return _utc(timestamp).strftime("%Y-%m-%d %H:%M:%S UTC")


def _seconds(start: str, finish: str) -> int:
    return max(0, round((_utc(finish) - _utc(start)).total_seconds()))
