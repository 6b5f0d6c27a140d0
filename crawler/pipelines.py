"""Articles into the document store: one short transaction each, so a killed crawl keeps what it had.

A store that cannot be written for want of room ("database or disk is full", or the "disk I/O error" of a
write past the file size limit) ends the crawl as a full disk does while archiving (crawler.diskfull): one
line naming the file, the free space and what to do, and the run interrupted. Nothing is lost: the page is
in the WARC file, and its request is kept in flight for the next run, which answers it from the archive and
stores the document then.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler

from samizdat.archive.document import Document
from samizdat.archive.sqlitefull import DatabaseFull
from samizdat.archive.store import Store
from samizdat.crawler.diskfull import DiskFull, disk_full, stop_crawl

logger = logging.getLogger(__name__)


class StorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.store: Store | None = None
        self.full: DiskFull | None = None  # once the store could not be written: nothing more is tried

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.store = Store(self.crawler.settings["SAMIZDAT_STORE_PATH"])

    def close_spider(self) -> None:
        if self.store is not None:
            self.store.close()

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Document) and self.store is not None:
            # Not DropItem: Scrapy would log the whole item, text and all, to a disk with no room left.
            if self.full is not None:
                logger.warning("%s: not stored (the store is full); the next run stores it", item.url)
                return item
            try:
                outcome = self.store.upsert(item)
            except DatabaseFull as exc:
                self.full = disk_full(exc)
                assert self.full is not None
                stop_crawl(self.crawler, self.full)
                logger.warning("%s: not stored (the store is full); the next run stores it", item.url)
                return item
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(f"samizdat/articles/{outcome}")
        return item
