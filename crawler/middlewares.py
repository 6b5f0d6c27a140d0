"""The WARC recorder: archive first, then everything else."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response

from archive.warc import WarcWriter


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
            info={"samizdat-source": source.to_dict(), "operator": "samizdat crawl"},
        )
        spider.warc = self.writer

    def spider_closed(self, spider: Any) -> None:
        if self.writer is not None:
            self.writer.close()
            if self.crawler.stats:
                self.crawler.stats.set_value("samizdat/warc_files", list(self.writer.files))

    def process_response(self, request: Request, response: Response) -> Response:
        assert self.writer is not None
        if not response.url.startswith(("http://", "https://")):
            return response  # the spider's own data: requests are bookkeeping, not the site
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
        return response
