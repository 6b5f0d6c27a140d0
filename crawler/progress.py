"""Progress while a crawl runs: pages, articles and rate per source, on stderr every few seconds."""

from __future__ import annotations

import sys
import time
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task


class Progress:
    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self.started = time.monotonic()
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        interval = crawler.settings.getfloat("SAMIZDAT_PROGRESS_SECONDS")
        if interval <= 0:
            raise NotConfigured
        ext = cls(crawler, interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        self.started = time.monotonic()
        self.loop = task.LoopingCall(self.report, spider)
        self.loop.start(self.interval, now=False)

    def spider_closed(self, spider: Any) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()

    def report(self, spider: Any) -> None:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        requisites = stats.get("samizdat/requisites/responses", 0)  # counted apart from pages
        pages = stats.get("response_received_count", 0) - requisites
        articles = sum(stats.get(f"samizdat/articles/{k}", 0) for k in ("new", "changed", "unchanged"))
        rate = pages / max(time.monotonic() - self.started, 1e-6)
        queued = stats.get("scheduler/enqueued", 0) - stats.get("scheduler/dequeued", 0)
        sys.stderr.write(
            f"  {spider.source.name}: {pages} pages ({rate:.1f}/s), {articles} articles, {requisites} requisites, "
            f"{queued} queued\n"
        )
        sys.stderr.flush()
