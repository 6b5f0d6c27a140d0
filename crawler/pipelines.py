"""Articles into the document store: one short transaction each, so a killed crawl keeps what it had."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from archive.document import Document
from archive.store import Store


class StorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.store: Store | None = None

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
            outcome = self.store.upsert(item)
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(f"samizdat/articles/{outcome}")
        return item
