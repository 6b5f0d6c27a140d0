"""Run the crawl of several sources in one Scrapy process, as durable runs: each source's run is recorded when it
starts, resumed after a kill or a stop, and summarized when it ends.

A run's job directory (`jobs/<source>-<run id>/`) holds its frontier and spider state (crawler.frontier,
crawler.jobstate); the WARC files are the record of what it fetched. A run that finishes removes its job
directory; one that is stopped (Ctrl-C, SIGTERM, its time limit) or killed keeps it, and the next
`samizdat crawl` of the source resumes it.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings as ScrapySettings
from scrapy.utils.ossignal import install_shutdown_handlers
from twisted.internet import task

from samizdat.archive.config import Settings, Source, redact_proxy
from samizdat.archive.datadir import DataDir
from samizdat.archive.store import FAILED, FINISHED, INTERRUPTED, WATCH, Store
from samizdat.archive.warc import iter_entries
from samizdat.crawler.browser import scrapy_browser_settings, source_browser_settings
from samizdat.crawler.diskfull import quiet_when_full, stopping_when_full
from samizdat.crawler.extraction import running_pool
from samizdat.crawler.frontier import QUEUED_STAT
from samizdat.crawler.jobstate import SkippedUrls, load_state
from samizdat.crawler.proxy import proxy_settings
from samizdat.crawler.spiders import spider_for

logger = logging.getLogger(__name__)

FAILED_SOURCE_MIN_OK = 1  # a source with no successful response at all has failed
CHECKPOINT_SECONDS = 5.0  # how often a run's figures are saved and the index is caught up while crawling
# Scrapy's finish reasons that mean the walk is complete.
COMPLETE_REASONS = ("finished",)


@dataclass
class Run:
    """One source's run in this process: its record, its job and its crawler."""

    source: Source
    id: int
    job: Path
    started_at: str
    resumed: bool
    kind: str | None
    previous: dict[str, Any] = field(default_factory=dict)  # figures of the earlier sessions of this run
    watch: bool = False  # only what the feeds and sitemaps list as new or changed (never resumed)
    crawler: Crawler | None = None
    log_file: str = ""  # this session's log, relative to the data directory
    stop_reason: str | None = None  # why it was stopped before the end: "interrupted (SIGINT)", "time limit"


def scrapy_settings(settings: Settings, datadir: DataDir, log_file: str | None) -> ScrapySettings:
    """Scrapy's settings from ours: the one place the two meet."""
    import samizdat.crawler.settings as defaults

    base = ScrapySettings()
    base.setmodule(defaults, priority="project")
    base.update(
        {
            "USER_AGENT": settings.user_agent,
            "DOWNLOAD_TIMEOUT": settings.timeout_seconds,
            "DOWNLOAD_MAXSIZE": settings.max_page_bytes,
            "DOWNLOAD_WARNSIZE": 0,
            "RETRY_TIMES": settings.retry_times,
            "CONCURRENT_REQUESTS_PER_DOMAIN": settings.concurrency_per_host,
            "DEPTH_LIMIT": settings.depth_limit,
            "SAMIZDAT_MAX_REQUISITES_PER_PAGE": settings.max_requisites_per_page,
            "SAMIZDAT_MAX_REQUISITE_BYTES": settings.max_requisite_bytes,
            "SAMIZDAT_DATA_DIR": str(datadir.root),
            "SAMIZDAT_WARC_DIR": str(datadir.warc_dir),
            "SAMIZDAT_WARC_MAX_BYTES": settings.warc_max_bytes,
            "SAMIZDAT_STORE_PATH": str(datadir.store_path),
            "SAMIZDAT_PROGRESS_SECONDS": settings.progress_seconds,
            "LOG_FILE": log_file,
            "LOG_FILE_APPEND": False,
            **scrapy_browser_settings(settings),
        },
        priority="cmdline",
    )
    return base


def source_settings(base: ScrapySettings, run: Run, replay_files: list[str]) -> ScrapySettings:
    source = run.source
    settings = base.copy()
    settings.update(
        {
            "SAMIZDAT_DELAY": source.delay,  # kept by crawler.politeness for every request to the host
            "ROBOTSTXT_OBEY": source.obey_robots,
            "JOBDIR": str(run.job),
            "SAMIZDAT_RUN_ID": run.id,
            "SAMIZDAT_WATCH": run.watch,
            "SAMIZDAT_REPLAY_FILES": replay_files,
            **proxy_settings(source.proxy),
            **source_browser_settings(source, base),  # capture = "browser": the pages load in Chromium
        },
        priority="spider",
    )
    return settings


class DurableCrawlerProcess(CrawlerProcess):
    """Scrapy's process with a gentler first Ctrl-C / SIGTERM: instead of closing the spiders (which drops
    what is in flight), each frontier stops handing out requests; in-flight responses finish, are archived,
    extracted and stored, and each spider closes when idle. A second signal stops at once (Scrapy's own)."""

    def __init__(self, settings: ScrapySettings, runs: list[Run]) -> None:
        super().__init__(settings)
        self.runs = runs
        self.signal_received: int | None = None

    def _signal_shutdown(self, signum: int, _: Any) -> None:
        from twisted.internet import reactor

        self.signal_received = signum
        install_shutdown_handlers(self._signal_kill)
        reactor.callFromThread(self._log_shutdown, signum)
        name = signal.Signals(signum).name
        for run in self.runs:
            reactor.callFromThread(stop_run, run, f"interrupted ({name})")


def stop_run(run: Run, reason: str) -> None:
    """Wind the run down: nothing new is fetched, what is in flight is finished."""
    if run.crawler is None or run.crawler.engine is None:
        return
    run.stop_reason = run.stop_reason or reason
    scheduler = getattr(getattr(run.crawler.engine, "_slot", None), "scheduler", None)
    if scheduler is not None and hasattr(scheduler, "drain"):
        scheduler.drain(reason)
        run.crawler.engine._slot.nextcall.schedule()  # type: ignore[union-attr]  # so that idleness is noticed


def run_crawl(
    datadir: DataDir,
    sources: list[Source],
    settings: Settings,
    background: Callable[[], Any] | None = None,
    watch: bool = False,
) -> tuple[list[dict[str, Any]], int | None]:
    """Crawl the sources side by side, each as a run (resumed when its last run was interrupted).

    `background` (a picklable callable, e.g. catching the search index up) runs in the worker pool every few
    seconds while the crawl goes on. Returns one summary per source, in the order given, and the signal that
    stopped the crawl, if one did."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log_file = str(datadir.logs_dir / f"crawl-{stamp}-{os.getpid()}.log")  # crawls may run side by side
    base = scrapy_settings(settings, datadir, log_file)
    for source in sources:
        source_browser_settings(source, base)  # a source the browser cannot capture is refused before any run opens
    with Store(datadir.store_path) as store:
        runs = [open_run(store, datadir, source, watch) for source in sources]
    for run in runs:
        run.log_file = f"logs/{Path(log_file).name}"
    t0 = time.monotonic()
    with running_pool(settings.workers, settings.extract_timeout_seconds) as pool:
        process = DurableCrawlerProcess(base, runs)
        for run in runs:
            replay = run_warc_files(datadir, run) if run.resumed else []
            run.crawler = process.create_crawler(spider_for(run.kind))
            run.crawler.settings = source_settings(base, run, replay)  # before crawl(): settings freeze there
            process.crawl(run.crawler, source=run.source, kind=run.kind)
        for handler in logging.getLogger().handlers:  # Scrapy's, writing LOG_FILE (installed by crawl())
            quiet_when_full(handler)
        with Store(datadir.store_path) as store:
            checkpoint = task.LoopingCall(Checkpoint(store, runs, t0, pool, background))
            checkpoint.start(CHECKPOINT_SECONDS, now=False)
            limits = arm_time_limits(runs)
            handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
            try:
                process.start()
            finally:
                # Scrapy's handlers would outlive the crawl and swallow the next Ctrl-C (the demo serves after it).
                for signum, handler in handlers.items():
                    signal.signal(signum, handler)
            for call in limits:
                if call.active():
                    call.cancel()
            if checkpoint.running:
                checkpoint.stop()
            logging.getLogger("scrapy").handlers.clear()
            summaries = [finish_run(store, datadir, run, t0) for run in runs]
    return summaries, process.signal_received


def open_run(store: Store, datadir: DataDir, source: Source, watch: bool = False) -> Run:
    """Resume the source's interrupted run, or start a new one (always, for a watch run)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    last = None if watch else store.resumable_run(source.name)
    if last is not None and last.get("job"):
        job = datadir.root / last["job"]
        kind = source.kind or load_state(job).get("kind") or last.get("detected_kind")
        previous = {k: v for k, v in last.items() if k not in ("id", "source", "status", "job", "pid")}
        # The session is counted now: a kill before the first checkpoint must not lose it.
        opened = {**previous, "sessions": int(previous.get("sessions", 0)) + 1}
        store.update_run(last["id"], status="running", pid=os.getpid(), summary=opened)
        return Run(source, last["id"], job, last["started_at"], True, kind, previous)
    # A new run of a source whose kind was detected before starts as that kind's spider.
    detected = next((r.get("detected_kind") for r in store.runs(source.name, limit=20) if r.get("detected_kind")), None)
    run_id = store.start_run(source.name, now, job="")
    job = datadir.jobs_dir / f"{source.name}-{run_id}"
    mode = WATCH if watch else "crawl"
    store.update_run(run_id, job=str(job.relative_to(datadir.root)), summary={"sessions": 1, "mode": mode})
    return Run(source, run_id, job, now, False, source.kind or detected, watch=watch)


def run_warc_files(datadir: DataDir, run: Run) -> list[str]:
    """The WARC files this run wrote (their warcinfo names it), relative to the data directory."""
    files = []
    for path in datadir.warc_files():
        if not path.name.startswith(f"{run.source.name}-"):
            continue
        for entry in iter_entries(path, path.name, responses=False):
            if entry.type == "warcinfo" and str(entry.info.get("samizdat-run")) == str(run.id):
                files.append(str(path.relative_to(datadir.root)))
            break
    return files


def arm_time_limits(runs: list[Run]) -> list[Any]:
    from twisted.internet import reactor

    return [
        reactor.callLater(run.source.max_minutes * 60, stop_run, run, "time limit")
        for run in runs
        if run.source.max_minutes
    ]


class Checkpoint:
    """Every few seconds while crawling: each run's figures into its record (a kill keeps them), and the
    background task (the search index catching up with the store) in the worker pool, one at a time."""

    def __init__(self, store: Store, runs: list[Run], t0: float, pool: Any, background: Callable[[], Any] | None):
        self.store, self.runs, self.t0, self.pool, self.background = store, runs, t0, pool, background
        self.pending: Any = None

    def __call__(self) -> None:
        for run in self.runs:
            if run.crawler is not None and run.crawler.stats is not None:
                with stopping_when_full(run.crawler):
                    self.store.update_run(run.id, summary=summarize(run, time.monotonic() - self.t0))
        if self.background is not None and (self.pending is None or self.pending.done()):
            self.pending = self.pool.submit(self.background, timeout=None)


def finish_run(store: Store, datadir: DataDir, run: Run, t0: float) -> dict[str, Any]:
    summary = summarize(run, time.monotonic() - t0)
    reason = summary["finish_reason"]
    disk_full = run.crawler.stats.get_value("samizdat/disk_full") if run.crawler and run.crawler.stats else None
    if disk_full:
        run.stop_reason = "disk full"
        summary["disk_full"] = disk_full  # the one line the command line ends with
    if run.stop_reason or reason not in COMPLETE_REASONS:
        summary["status"] = INTERRUPTED
        summary["interrupted_by"] = run.stop_reason or reason
    else:
        summary["status"] = FAILED if summary["failed"] else FINISHED
    summary["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    summary["started_at"] = run.started_at
    summary["run"] = run.id
    if summary["status"] != INTERRUPTED or run.watch:
        shutil.rmtree(run.job, ignore_errors=True)  # the walk is complete: its frontier is history
    return summary


def summarize(run: Run, elapsed: float) -> dict[str, Any]:
    """The run's figures: this process's counts added to those of the earlier sessions of the run."""
    assert run.crawler is not None
    stats: dict[str, Any] = run.crawler.stats.get_stats() if run.crawler.stats else {}
    before = run.previous

    def grouped(prefix: str, key: str) -> dict[str, int]:
        counts = {k[len(prefix) :]: int(v) for k, v in stats.items() if k.startswith(prefix)}
        return add(before.get(key, {}), counts)

    # What the run left out (Scrapy's robots.txt and offsite refusals too) is in the job directory, once per
    # URL over all the run's sessions. `refused` is what sessions of earlier versions counted apart.
    skipped = add(before.get("refused", {}), SkippedUrls.counts(run.job))
    # What was left out of a page's requisites ("requisite_limit", ...) is counted with them, not with pages.
    requisites_skipped = {k: v for k, v in skipped.items() if k.startswith("requisite_")}
    skipped = {k: v for k, v in skipped.items() if k not in requisites_skipped}
    errors = grouped("samizdat/errors/", "errors")
    ok = int(stats.get("downloader/response_status_count/200", 0)) + int(before.get("ok_responses", 0))
    ok -= int(stats.get("samizdat/requisites/ok_responses", 0))
    # Pages as max_pages counts them: neither robots.txt, nor requisites, nor what was replayed from the archive.
    pages = int(stats.get("response_received_count", 0)) - int(stats.get("samizdat/replayed", 0))
    pages -= int(stats.get("samizdat/uncounted_responses", 0)) + int(stats.get("samizdat/requisites/responses", 0))
    pages += int(before.get("pages", 0))
    detected = stats.get("samizdat/kind_detected") or before.get("detected_kind")
    if not run.source.kind and not detected and run.kind:
        detected = run.kind
    summary: dict[str, Any] = {
        "source": run.source.name,
        "run": run.id,
        "mode": WATCH if run.watch else "crawl",
        "kind": run.source.kind or detected or "generic",
        "kind_detected": run.source.kind is None,
        "detected_kind": detected,
        "pages": pages,
        "ok_responses": ok,
        "pages_per_second": round(pages / elapsed, 1) if elapsed else 0.0,
        "queued": int(stats.get(QUEUED_STAT, 0)),  # requests waiting in the frontier, at the last count
        "bytes_archived": int(stats.get("samizdat/archived_bytes", 0)) + int(before.get("bytes_archived", 0)),
        "articles": add(
            before.get("articles", {}),
            {k: int(stats.get(f"samizdat/articles/{k}", 0)) for k in ("new", "changed", "unchanged")},
        ),
        "other_pages": grouped("samizdat/pages/", "other_pages"),
        # Pages not taken for articles, by type and strongest evidence (see archive.extract.rules.decide).
        "not_articles": grouped("samizdat/not_articles/", "not_articles"),
        "errors": errors,
        "skipped": skipped,
        "replayed": int(stats.get("samizdat/replayed", 0)) + int(before.get("replayed", 0)),
        # A recrawl's unchanged pages: answered 304, or the same payload again (a revisit record, no copy).
        "not_modified": int(stats.get("samizdat/not_modified", 0)) + int(before.get("not_modified", 0)),
        "revisits": int(stats.get("samizdat/revisits", 0)) + int(before.get("revisits", 0)),
        # Archived articles that answered 404 or 410: deleted on the site, kept in the archive.
        "gone": int(stats.get("samizdat/gone", 0)) + int(before.get("gone", 0)),
        "requisites": requisite_figures(stats, before.get("requisites") or {}, requisites_skipped),
        "sessions": int(before.get("sessions", 0)) + 1,
        "warc_files": list(dict.fromkeys([*before.get("warc_files", []), *stats.get("samizdat/warc_files", [])])),
        "finish_reason": stats.get("finish_reason", "running"),
        **({"refused": before["refused"]} if before.get("refused") else {}),  # kept until that run ends
        "failed": ok < FAILED_SOURCE_MIN_OK,
        "started_at": run.started_at,
        "log_file": run.log_file,  # written to while the run goes on
    }
    if summary["failed"]:
        summary["failure"] = ", ".join(f"{k} x{v}" for k, v in errors.items()) or "no page could be fetched"
        if run.source.proxy:  # the proxy is the first suspect when nothing could be fetched
            summary["failure"] += f" (every request went through the proxy {redact_proxy(run.source.proxy)})"
    return summary


def requisite_figures(stats: dict[str, Any], before: dict[str, Any], skipped: dict[str, int]) -> dict[str, Any]:
    """What the run fetched for its pages to render, apart from the pages: responses archived (any status),
    their bytes, unchanged ones on a recrawl (304, revisit), failures by kind, and what was left out by reason
    (requisite_limit, requisite_offsite, requisite_robots.txt), over the run's sessions."""
    prefix = "samizdat/requisites/"
    failed = add(
        before.get("failed", {}),
        {k[len(prefix + "failed/") :]: int(v) for k, v in stats.items() if k.startswith(prefix + "failed/")},
    )
    return {
        "fetched": int(stats.get(prefix + "archived_responses", 0)) + int(before.get("fetched", 0)),
        "bytes": int(stats.get(prefix + "archived_bytes", 0)) + int(before.get("bytes", 0)),
        "not_modified": int(stats.get(prefix + "not_modified", 0)) + int(before.get("not_modified", 0)),
        "revisits": int(stats.get(prefix + "revisits", 0)) + int(before.get("revisits", 0)),
        "failed": failed,
        "skipped": {k.removeprefix("requisite_"): v for k, v in skipped.items()},
    }


def add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: int(a.get(k, 0)) + int(b.get(k, 0)) for k in sorted({*a, *b})}
