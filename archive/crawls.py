"""The figures of a source's crawls: what each found, how complete its articles are, whether it collapsed.

The figures of a crawl are the articles it found (documents captured during it) and the share of them with
a date, an author, labels of the site's own (beyond the source's sources.toml labels) and a text of at
least TEXT_MIN_CHARS characters. They are recorded in the crawl's summary, so every crawl keeps its own.

A crawl is flagged when its source failed, or when its figures fell sharply from the previous crawl that
did not fail: a template change the extraction no longer reads, or a site that is dying.

Everything here is plain dicts, so that `samizdat sources`/`samizdat report` (samizdat/report.py) and the
web's source pages (webui/sources.py) show the same figures and differ only in how they format them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from samizdat.archive.config import Source
from samizdat.archive.store import Store

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


# -- measuring and flagging a crawl as it ends -----------------------------------------------------------


def measure(store: Store, name: str, labels: Iterable[str], started_at: str) -> dict[str, Any]:
    """The quality figures of the articles captured since `started_at` (a crawl's start)."""
    return store.quality(name, labels, seen_since=_utc_second(started_at), min_text_chars=TEXT_MIN_CHARS)


def assess(store: Store, source: Source, summary: dict[str, Any]) -> dict[str, Any]:
    """Add `quality` and `flag` to a crawl summary, before `Store.record_crawl` keeps it."""
    summary["quality"] = measure(store, source.name, source.labels, summary["started_at"])
    summary["flag"] = flag(summary, store.previous_crawl(source.name))
    return summary


def flag(current: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any] | None:
    """None, or why this crawl needs a look: {"reason": one line, "compared_with": start of the previous
    crawl or None, "drops": [{"figure", "before", "after", "text"}, ...]}."""
    drops = find_drops(current, previous) if previous else []
    parts = []
    challenges = int((current.get("other_pages") or {}).get("challenge", 0))
    if challenges:
        # A protection service answered instead of the site (archive.extract.challenge).
        parts.append(f"blocked: {challenges} bot-check page{'s' if challenges > 1 else ''} instead of the site's")
    if current.get("failed"):
        parts.append(f"the crawl failed ({current.get('failure') or 'no page could be fetched'})")
    if drops:
        since = _day(previous["started_at"]) if previous else "?"
        parts.append(f"figures dropped since the crawl of {since}: " + ", ".join(d["text"] for d in drops))
    if not parts:
        return None
    if challenges:
        question = "the site's bot protection is refusing the crawler: a longer delay, or a proxy, may help"
    elif current.get("failed"):
        question = "a dead site or a wrong address?"
    else:
        question = "a template change or a dead site?"
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
                    text = f"share {what} {format_percent(before, name)} -> {format_percent(now, name)}"
                    drops.append(_drop(name, before["shares"][name], now["shares"][name], text))
    pages_before, pages_now = int(previous.get("pages", 0)), int(current.get("pages", 0))
    if pages_now < (1 - PAGES_DROP) * pages_before:
        drops.append(_drop("pages", pages_before, pages_now, "pages fetched {} -> {}"))
    return drops


def _drop(figure: str, before: Any, after: Any, text: str) -> dict[str, Any]:
    return {"figure": figure, "before": before, "after": after, "text": text.format(before, after)}


# -- reading recorded crawls -----------------------------------------------------------------------------


def read_quality(store: Store, name: str, labels: Iterable[str], crawl: dict[str, Any]) -> dict[str, Any]:
    """The figures recorded with a crawl; measured now for crawls recorded before they were kept."""
    recorded = crawl.get("quality")
    return dict(recorded) if recorded else measure(store, name, labels, crawl["started_at"])


def describe_kind(source: Source | None, crawl: dict[str, Any] | None) -> dict[str, Any]:
    """{"kind", "kind_detected"}: the kind the definition gives, else the one the crawl used and recorded
    as given or detected; kind None before the first crawl."""
    if source is not None and source.kind:
        return {"kind": source.kind, "kind_detected": False}
    if crawl is None:
        return {"kind": None, "kind_detected": True}
    return {"kind": crawl.get("kind", "generic"), "kind_detected": bool(crawl.get("kind_detected", True))}


def describe_crawl(crawl: dict[str, Any]) -> dict[str, Any]:
    """A crawl in full: timing, pages, outcome, articles, and what else it met, most frequent first."""
    return {
        "started_at": crawl["started_at"],
        "finished_at": crawl["finished_at"],
        "duration_seconds": count_seconds(crawl["started_at"], crawl["finished_at"]),
        "pages": crawl.get("pages", 0),
        "pages_per_second": crawl.get("pages_per_second", 0.0),
        "finish_reason": crawl.get("finish_reason"),
        "failed": bool(crawl.get("failed")),
        "failure": crawl.get("failure"),
        "articles": crawl.get("articles", {}),
        "other_pages": sort_by_count(crawl.get("other_pages", {})),
        "errors": sort_by_count(crawl.get("errors", {})),
        "skipped": sort_by_count(crawl.get("skipped", {})),
        "not_articles": sort_by_count(crawl.get("not_articles", {})),
        "requisites": crawl.get("requisites") or {},  # what its pages needed to render, counted apart
        "log_file": crawl.get("log_file"),
    }


def summarize_crawl(crawl: dict[str, Any]) -> dict[str, Any]:
    """A crawl as one row of a source's history."""
    quality = crawl.get("quality")
    return {
        "started_at": crawl["started_at"],
        "finished_at": crawl["finished_at"],
        "pages": crawl.get("pages", 0),
        "articles": quality["articles"] if quality else None,
        "new": (crawl.get("articles") or {}).get("new"),
        "changed": (crawl.get("articles") or {}).get("changed"),
        "errors": sum((crawl.get("errors") or {}).values()),
        "failed": bool(crawl.get("failed")),
        "flag": explain_flag(crawl),
    }


def describe_run(run: dict[str, Any]) -> dict[str, Any]:
    """A run as `samizdat runs --json` and the web show it: its record and its figures so far (a running or
    interrupted run shows what it has done until now)."""
    finished = run.get("finished_at")
    return {
        "id": run["id"],
        "source": run["source"],
        "status": run["status"],
        "interrupted_by": run.get("interrupted_by") if run["status"] == "interrupted" else None,
        "started_at": run["started_at"],
        "finished_at": finished,
        "duration_seconds": count_seconds(run["started_at"], finished) if finished else None,
        "sessions": run.get("sessions", 0),
        "kind": run.get("kind"),
        "pages": run.get("pages", 0),
        "pages_per_second": run.get("pages_per_second", 0.0),
        "queued": run.get("queued", 0),
        "bytes_archived": run.get("bytes_archived", 0),
        "not_modified": run.get("not_modified", 0),
        "revisits": run.get("revisits", 0),
        "gone": run.get("gone", 0),
        "requisites": run.get("requisites") or {},  # stylesheets, images, fonts: counted apart from pages
        "mode": run.get("mode", "crawl"),
        "articles": {k: (run.get("articles") or {}).get(k, 0) for k in ("new", "changed", "unchanged")},
        "skipped": sort_by_count(run.get("skipped", {})),
        "errors": sort_by_count(run.get("errors", {})),
        "warc_files": run.get("warc_files", []),
        "flag": explain_flag(run),
    }


def explain_flag(crawl: dict[str, Any] | None) -> str | None:
    """Why the crawl was flagged, or None."""
    return crawl["flag"]["reason"] if crawl and crawl.get("flag") else None


def sort_by_count(counts: dict[str, int]) -> dict[str, int]:
    """Most frequent first, ties by name: the reason most URLs were skipped or failed leads."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def share_percent(quality: dict[str, Any] | None, name: str) -> int | None:
    """From the counts, rounded down: 100 means every article, never 199 of 200. None without articles."""
    if not quality or not quality["articles"]:
        return None
    count: int = quality[f"with_{name}"]
    articles: int = quality["articles"]
    return count * 100 // articles


def format_percent(quality: dict[str, Any] | None, name: str) -> str:
    """`96%`, or `-` without articles; drop messages and the printed tables both use it."""
    percent = share_percent(quality, name)
    return "-" if percent is None else f"{percent}%"


# -- time ------------------------------------------------------------------------------------------------


def parse_utc(timestamp: str) -> datetime:
    """A recorded timestamp in UTC; one without a zone was written in UTC."""
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def count_seconds(start: str, finish: str) -> int:
    """Whole seconds from start to finish; 0 when a recorded timestamp does not parse, so that one bad
    record cannot break a report or a page."""
    try:
        return max(0, round((parse_utc(finish) - parse_utc(start)).total_seconds()))
    except ValueError:
        return 0


def _utc_second(timestamp: str) -> str:
    """A crawl's start as capture times are written, to the second and without a zone, so that text
    comparison holds ("...:48" <= "...:48.13Z")."""
    return parse_utc(timestamp).strftime("%Y-%m-%dT%H:%M:%S")


def _day(timestamp: str) -> str:
    return parse_utc(timestamp).strftime("%Y-%m-%d")
