"""`samizdat sources` and `samizdat report NAME`: the figures of each source's crawls, as the CLI prints them.

The figures and the drop flags come from archive/crawls.py, which the web's source pages share; this module
takes the sources from sources.toml and formats their figures as text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from samizdat.archive.config import Config, Source
from samizdat.archive.crawls import (
    HISTORY_CRAWLS,
    SHARES,
    describe_crawl,
    describe_kind,
    describe_run,
    explain_flag,
    format_percent,
    parse_utc,
    read_quality,
    summarize_crawl,
)

# Re-exported: the CLI lists runs through this module.
__all__ = ["describe_run"]
# Re-exported: stages.py assesses each crawl through this module, and the tests read them here.
from samizdat.archive.crawls import TEXT_MIN_CHARS as TEXT_MIN_CHARS
from samizdat.archive.crawls import assess as assess
from samizdat.archive.crawls import flag as flag
from samizdat.archive.schedule import last_slot, next_run
from samizdat.archive.store import Store

# Fields only the web pages show; `samizdat report --json` keeps the shape it always had.
WEB_ONLY_CRAWL_FIELDS = frozenset({"other_pages"})
WEB_ONLY_HISTORY_FIELDS = frozenset({"new", "changed", "errors"})


# -- the printed crawl summary ------------------------------------------------------------------------


def quality_line(summary: dict[str, Any]) -> str | None:
    """`quality: 47 articles; date 100%, author 96%, labels 100%, text 100%`, or None when not measured."""
    quality = summary.get("quality")
    if not quality:
        return None
    line = f"quality: {quality['articles']} articles"
    if quality["articles"]:
        line += "; " + ", ".join(f"{name} {format_percent(quality, name)}" for name, _ in SHARES)
    return line


def requisites_line(summary: dict[str, Any]) -> str | None:
    """`requisites: 31 fetched (0.1 MB), 2 unchanged, 1 failed (http_404_not_found x1); skipped: offsite x4`,
    or None when the run fetched none and left none out (a source with `requisites = false`)."""
    figures = summary.get("requisites") or {}
    if not figures or not (figures.get("fetched") or figures.get("skipped") or figures.get("failed")):
        return None
    failed = figures.get("failed") or {}
    line = f"requisites: {figures.get('fetched', 0)} fetched ({figures.get('bytes', 0) / 1e6:.1f} MB)"
    unchanged = int(figures.get("not_modified", 0)) + int(figures.get("revisits", 0))
    if unchanged:
        line += f", {unchanged} unchanged"
    if failed:
        line += f", {sum(failed.values())} failed ({_counts(failed)})"
    if figures.get("skipped"):
        line += f"; skipped: {_counts(figures['skipped'])}"
    return line


def warning_line(summary: dict[str, Any]) -> str | None:
    return f"WARNING: {summary['flag']['reason']}" if summary.get("flag") else None


# -- `samizdat sources` ---------------------------------------------------------------------------------


def source_rows(
    config: Config, store: Store | None, last_slots: dict[str, str] | None = None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """One row per source of sources.toml: kind, last crawl's figures, flag, schedule, next and last run.
    `store` None: never crawled. `last_slots`: the scheduler's record of the slots crawled (schedule.json)."""
    last = store.last_crawls() if store else {}
    now = now or datetime.now(UTC)
    rows = []
    for source in config.sources:
        crawl = last.get(source.name)
        quality = read_quality(store, source.name, source.labels, crawl) if store and crawl else None
        newest = store.runs(source.name, limit=1) if store else []
        upcoming = next_run(source, config.settings.timezone, last_slot(last_slots or {}, source.name, store), now)
        rows.append(
            {
                "source": source.name,
                **_describe_kind_by_config(source, crawl),
                "articles": quality["articles"] if quality else None,
                "quality": quality,
                "archived": store.count(source.name) if store else 0,
                "last_crawl": crawl["finished_at"] if crawl else None,
                "flagged": bool(crawl and crawl.get("flag")),
                "flag": explain_flag(crawl),
                "schedule": source.schedule,
                "enabled": source.enabled,
                "timezone": config.settings.timezone,
                "next_run": upcoming.isoformat(timespec="seconds") if upcoming else None,
                "last_run": (
                    {k: newest[0][k] for k in ("id", "status", "started_at", "finished_at")} if newest else None
                ),
            }
        )
    return rows


def format_sources(rows: list[dict[str, Any]]) -> str:
    header = ["source", "kind", "articles", "date", "author", "labels", "text", "last crawl", ""]
    # When crawls are scheduled: each source's newest run, its next scheduled run and its schedule.
    scheduled = any(row.get("schedule") for row in rows)
    if scheduled:
        header += ["last run", "next run", "schedule"]
    table = [header]
    for row in rows:
        run = row.get("last_run")
        cells = [
            row["source"],
            _kind_text(row, given=""),
            "-" if row["articles"] is None else str(row["articles"]),
            *(format_percent(row["quality"], name) for name, _ in SHARES),
            _minute(row["last_crawl"]) if row["last_crawl"] else "never crawled",
            " ".join(word for word, on in (("FLAGGED", row["flagged"]), ("disabled", not row["enabled"])) if on),
        ]
        if scheduled:
            cells += [
                f"#{run['id']} {run['status']}" if run else "-",
                _minute(row["next_run"]) if row.get("next_run") else "-",
                f"{row['schedule']} ({row['timezone']})" if row.get("schedule") else "-",
            ]
        table.append(cells)
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
    quality = read_quality(store, source.name, source.labels, last) if store and last else None
    return {
        "source": source.name,
        **_describe_kind_by_config(source, last),
        "schedule": source.schedule,
        "start_urls": list(source.start_urls),
        "labels": list(source.labels),
        "archived": store.count(source.name) if store else 0,
        "last_crawl": _omit(describe_crawl(last), WEB_ONLY_CRAWL_FIELDS) if last else None,
        "quality": quality,
        "flag": last.get("flag") if last else None,
        "history": [_omit(summarize_crawl(crawl), WEB_ONLY_HISTORY_FIELDS) for crawl in history],
    }


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
        f"  other pages {_counts(crawl['not_articles'])}",
    ]
    requisites = requisites_line(crawl)
    if requisites:
        lines.append(f"  requisites  {requisites.removeprefix('requisites: ')}")
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


def _describe_kind_by_config(source: Source, crawl: dict[str, Any] | None) -> dict[str, Any]:
    """As sources.toml has it now: a kind it does not give counts as detected, whatever the crawl recorded."""
    kind = describe_kind(source, crawl)
    return kind if source.kind else {**kind, "kind_detected": True}


def _omit(figures: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    return {key: value for key, value in figures.items() if key not in fields}


def _kind_text(row: dict[str, Any], given: str) -> str:
    """`magazine` + given, `magazine (detected)`, or a note that no crawl has detected it yet."""
    if row["kind"] is None:
        return "(detected at the first crawl)"
    return f"{row['kind']}{given if not row['kind_detected'] else ' (detected)'}"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} x{v}" for k, v in counts.items()) or "none"


def _minute(timestamp: str) -> str:
    return parse_utc(timestamp).strftime("%Y-%m-%d %H:%M UTC")


def _second(timestamp: str) -> str:
    return parse_utc(timestamp).strftime("%Y-%m-%d %H:%M:%S UTC")


# -- `samizdat runs` ------------------------------------------------------------------------------------


def format_runs(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no crawl runs yet (samizdat crawl)"
    lines = [
        f"{'run':>5}  {'source':<18} {'status':<12} {'started':<20} {'time':>7} {'pages':>6} "
        f"{'MB':>7} {'new':>5} {'changed':>7} {'unchanged':>9}  errors"
    ]
    for r in rows:
        a = r["articles"]
        duration = "-" if r["duration_seconds"] is None else f"{r['duration_seconds']}s"
        errors = ", ".join(f"{k} x{v}" for k, v in r["errors"].items()) or "-"
        lines.append(
            f"{r['id']:>5}  {r['source']:<18} {r['status']:<12} {r['started_at'][:19]:<20} {duration:>7} "
            f"{r['pages']:>6} {r['bytes_archived'] / 1e6:>7.1f} {a['new']:>5} {a['changed']:>7} "
            f"{a['unchanged']:>9}  {errors}"
        )
        if r.get("mode") == "watch":
            lines.append("       a watch: only what the feeds and sitemaps list as new or changed")
        elif r["interrupted_by"]:
            lines.append(f"       {r['interrupted_by']}; the next `samizdat crawl {r['source']}` resumes it")
        if r.get("gone"):
            lines.append(f"       {r['gone']} archived article(s) answered 404 or 410: deleted on the site, kept here")
        if r["not_modified"] or r["revisits"]:
            lines.append(
                f"       unchanged since the last capture: {r['not_modified']} answered 304, "
                f"{r['revisits']} the same payload (revisit records)"
            )
        if r["skipped"]:
            lines.append("       skipped: " + ", ".join(f"{k} x{v}" for k, v in r["skipped"].items()))
        requisites = requisites_line(r)
        if requisites:
            lines.append(f"       {requisites}")
    return "\n".join(lines)
