"""Downloader and spider middlewares: the WARC recorder (archive first, then everything else), replay of what
this run already archived, and the order in which the frontier walks a site."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes

from archive.warc import WarcLocation, WarcWriter, iter_entries, read_capture

logger = logging.getLogger(__name__)


def header_pairs(headers: Any) -> list[tuple[str, str]]:
    """Scrapy's multi-valued bytes headers as (name, value) text pairs, as WARC records and captures hold them."""
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, values in headers.items() for v in values]


class WarcRecorderMiddleware:
    """Writes each request/response pair to the source's WARC files, flushed, before the response moves
    on. The response's place in the archive travels in `request.meta["warc"]`."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.writer: WarcWriter | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcRecorderMiddleware:
        mw = cls(crawler)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    def spider_opened(self, spider: Any) -> None:
        settings = self.crawler.settings
        source = spider.source
        self.writer = WarcWriter(
            settings["SAMIZDAT_WARC_DIR"],
            prefix=source.name,
            max_bytes=settings.getint("SAMIZDAT_WARC_MAX_BYTES"),
            info={
                "samizdat-source": source.to_dict(),
                "samizdat-run": settings.getint("SAMIZDAT_RUN_ID"),
                "operator": "samizdat crawl",
            },
        )
        spider.warc = self.writer

    def spider_closed(self, spider: Any) -> None:
        if self.writer is not None:
            self.writer.close()
            if self.crawler.stats:
                self.crawler.stats.set_value("samizdat/warc_files", list(self.writer.files))

    def process_response(self, request: Request, response: Response) -> Response:
        assert self.writer is not None
        if not response.url.startswith(("http://", "https://")) or request.meta.get("replayed"):
            return response  # the spider's own data, or already in the archive
        status = response.status
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        location = self.writer.write_exchange(
            url=response.url,
            method=request.method,
            request_headers=header_pairs(request.headers),
            status=status,
            reason=reason,
            response_headers=header_pairs(response.headers),
            body=response.body,
            protocol=response.protocol or "HTTP/1.1",
            ip_address=str(response.ip_address) if response.ip_address else None,
        )
        request.meta["warc"] = location
        if self.crawler.stats:
            self.crawler.stats.inc_value("samizdat/archived_responses")
            self.crawler.stats.inc_value("samizdat/archived_bytes", len(response.body))
            if len(self.writer.files) != len(self.crawler.stats.get_value("samizdat/warc_files", [])):
                self.crawler.stats.set_value("samizdat/warc_files", list(self.writer.files))
        return response


class ReplayMiddleware:
    """A resumed run never fetches again what it already archived: requests it had in flight when it was
    killed (or the whole walk, when its job state had to be rebuilt) are answered from its WARC files."""

    def __init__(self, crawler: Crawler, root: Path, files: list[str]) -> None:
        self.crawler = crawler
        self.root = root
        self.archived: dict[str, tuple[str, int]] = {}
        for name in files:
            for entry in iter_entries(root / name, name):
                if entry.type == "response" and entry.capture is not None:
                    self.archived[entry.capture.url] = (name, entry.offset)
        logger.info(
            "resuming: %d responses of this run can be replayed from %d WARC files", len(self.archived), len(files)
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReplayMiddleware:
        files = crawler.settings.getlist("SAMIZDAT_REPLAY_FILES")
        if not files:
            raise NotConfigured
        return cls(crawler, Path(crawler.settings["SAMIZDAT_DATA_DIR"]), files)

    def process_request(self, request: Request) -> Response | None:
        place = self.archived.get(request.url)
        if place is None or request.meta.get("replayed"):
            return None
        capture = read_capture(self.root, *place)
        # The archive holds the payload decoded: the response must not claim an encoding any more.
        headers = Headers(
            [(k, v) for k, v in capture.headers if k.lower() not in ("content-encoding", "content-length")]
        )
        cls = responsetypes.from_args(headers=headers, url=capture.url, body=capture.payload)
        request.meta["replayed"] = True
        request.meta["warc"] = WarcLocation(place[0], place[1], capture.digest, capture.fetched_at)
        if self.crawler.stats:
            self.crawler.stats.inc_value("samizdat/replayed")
        return cls(url=capture.url, status=capture.status, headers=headers, body=capture.payload, request=request)


# Where each kind of request goes in the queue: higher first. Within a kind, nearer the start first.
STEP_PRIORITY = {"start": 3000, "discovery": 2000, "listed": 1000}


class DistanceMiddleware:
    """Scrapy's DepthMiddleware, reordered: what the site lists for us (sitemaps, feeds, APIs and what they
    list, the start page's links) comes first, then breadth-first by link distance. The next page of a
    listing is no step further from the start, so depth_limit never cuts a long "Older posts" chain; what
    depth_limit does cut is counted (samizdat/skipped/depth)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.limit = crawler.settings.getint("DEPTH_LIMIT")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DistanceMiddleware:
        return cls(crawler)

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        depth = response.meta.get("depth", 0) if response is not None else 0
        for item in result:
            if not isinstance(item, Request) or self.place(item, depth):
                yield item

    async def process_spider_output_async(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        depth = response.meta.get("depth", 0) if response is not None else 0
        async for item in result:
            if not isinstance(item, Request) or self.place(item, depth):
                yield item

    def place(self, request: Request, parent: int) -> bool:
        step = request.meta.get("step", "link")
        depth = {"start": 0, "listed": 1, "discovery": parent, "next_page": parent}.get(step, parent + 1)
        if self.limit and depth > self.limit:
            if self.crawler.stats:
                self.crawler.stats.inc_value("samizdat/skipped/depth")
            return False
        request.meta["depth"] = depth
        request.priority = STEP_PRIORITY.get(step, 0) - depth
        return True
