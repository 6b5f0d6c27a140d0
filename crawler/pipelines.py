"""Articles into the document store: one short transaction each, so a killed crawl keeps what it had.

A store that cannot be written for want of room ("database or disk is full", or the "disk I/O error" of a
write past the file size limit) ends the crawl as a full disk does while archiving (crawler.diskfull): one
line naming the file, the free space and what to do, and the run interrupted. Nothing is lost: the page is
in the WARC file, and its request is kept in flight for the next run, which answers it from the archive and
stores the document then.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler

from archive.document import Document
from archive.store import Store
from crawler.diskfull import DiskFull, store_full

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
            except sqlite3.OperationalError as exc:
                full = store_full(exc, Path(self.crawler.settings["SAMIZDAT_STORE_PATH"]))
                if full is None:
                    raise
                self.stop(full)
                logger.warning("%s: not stored (the store is full); the next run stores it", item.url)
                return item
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(f"samizdat/articles/{outcome}")
        return item

    def stop(self, full: DiskFull) -> None:
        """End the crawl as a full disk while archiving does: the spider holds what is in flight for the next
        run and hands out nothing more; the run ends interrupted, with `full` as its last line."""
        self.full = full
        logger.error("%s", full)
        on_full = getattr(self.crawler.spider, "on_disk_full", None)
        if on_full is not None:
            on_full(full)
        elif self.crawler.stats is not None:  # a spider of someone else's: at least the run says why
            self.crawler.stats.set_value("samizdat/disk_full", str(full))
