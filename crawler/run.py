"""Run the crawl of several sources in one Scrapy process and summarize each."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings as ScrapySettings

from archive.config import Settings, Source
from archive.datadir import DataDir
from crawler.spiders import spider_for

FAILED_SOURCE_MIN_OK = 1  # a source with no successful response at all has failed


def scrapy_settings(settings: Settings, datadir: DataDir, log_file: str | None) -> ScrapySettings:
    """Scrapy's settings from ours: the one place the two meet."""
    import crawler.settings as defaults

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
            "SAMIZDAT_WARC_DIR": str(datadir.warc_dir),
            "SAMIZDAT_WARC_MAX_BYTES": settings.warc_max_bytes,
            "SAMIZDAT_STORE_PATH": str(datadir.store_path),
            "SAMIZDAT_PROGRESS_SECONDS": settings.progress_seconds,
            "LOG_FILE": log_file,
            "LOG_FILE_APPEND": False,
        },
        priority="cmdline",
    )
    return base


def source_settings(base: ScrapySettings, source: Source) -> ScrapySettings:
    settings = base.copy()
    settings.update(
        {
            "DOWNLOAD_DELAY": source.delay,
            "ROBOTSTXT_OBEY": source.obey_robots,
            "CLOSESPIDER_PAGECOUNT": source.max_pages or 0,
        },
        priority="spider",
    )
    return settings


def run_crawl(datadir: DataDir, sources: list[Source], settings: Settings) -> list[dict[str, Any]]:
    """Crawl the sources side by side; returns one summary per source, in the order given."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log_file = str(datadir.logs_dir / f"crawl-{stamp}.log")
    base = scrapy_settings(settings, datadir, log_file)
    process = CrawlerProcess(base)
    crawlers: list[tuple[Source, Crawler]] = []
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.monotonic()
    for source in sources:
        crawler = process.create_crawler(spider_for(source.kind))
        crawler.settings = source_settings(base, source)  # before crawl(): settings freeze there
        crawlers.append((source, crawler))
        process.crawl(crawler, source=source)
    process.start()
    logging.getLogger("scrapy").handlers.clear()
    elapsed = time.monotonic() - t0
    finished = datetime.now(UTC).isoformat(timespec="seconds")
    summaries = [summarize(source, crawler, elapsed) for source, crawler in crawlers]
    for summary in summaries:
        summary["started_at"], summary["finished_at"] = started, finished
        summary["log_file"] = f"logs/{log_file.rsplit('/', 1)[-1]}"
    return summaries


def summarize(source: Source, crawler: Crawler, elapsed: float) -> dict[str, Any]:
    stats: dict[str, Any] = crawler.stats.get_stats() if crawler.stats else {}

    def grouped(prefix: str) -> dict[str, int]:
        return {k[len(prefix) :]: int(v) for k, v in sorted(stats.items()) if k.startswith(prefix)}

    skipped = grouped("samizdat/skipped/")
    robots = int(stats.get("robotstxt/forbidden", 0))
    if robots:
        skipped["robots.txt"] = robots
    errors = grouped("samizdat/errors/")
    ok = int(stats.get("downloader/response_status_count/200", 0))
    pages = int(stats.get("response_received_count", 0))
    summary = {
        "source": source.name,
        "kind": stats.get("samizdat/kind_detected") or source.kind or "generic",
        "kind_detected": source.kind is None,
        "pages": pages,
        "pages_per_second": round(pages / elapsed, 1) if elapsed else 0.0,
        "articles": {k: int(stats.get(f"samizdat/articles/{k}", 0)) for k in ("new", "changed", "unchanged")},
        "other_pages": grouped("samizdat/pages/"),
        "errors": errors,
        "skipped": skipped,
        "warc_files": stats.get("samizdat/warc_files", []),
        "finish_reason": stats.get("finish_reason", "not started"),
        "failed": ok < FAILED_SOURCE_MIN_OK,
    }
    if summary["failed"]:
        summary["failure"] = ", ".join(f"{k} x{v}" for k, v in errors.items()) or "no page could be fetched"
    return summary
