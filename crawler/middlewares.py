"""Downloader and spider middlewares: the WARC recorder (archive first, then everything else), replay of what
this run already archived, and the order in which the frontier walks a site."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes

from samizdat.archive.config import in_scope
from samizdat.archive.payload import PayloadRefused
from samizdat.archive.store import Store
from samizdat.archive.warc import (
    MAX_PAYLOAD_KEY,
    Capture,
    Original,
    WarcLocation,
    WarcWriter,
    iter_entries,
    read_capture,
    read_rendered,
    rendered_capture,
)
from samizdat.crawler.browser import BROWSER_META, archive_browser_page
from samizdat.crawler.diskfull import stopping_when_full

logger = logging.getLogger(__name__)


def header_pairs(headers: Any) -> list[tuple[str, str]]:
    """Scrapy's multi-valued bytes headers as (name, value) text pairs, as WARC records and captures hold them."""
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, values in headers.items() for v in values]


# What a recrawl sends from the last capture of a URL; removed before each attempt and set afresh, so that
# a redirect hop never carries the previous URL's validators.
VALIDATORS = (("If-None-Match", "etag"), ("If-Modified-Since", "last_modified"))


class WarcRecorderMiddleware:
    """Writes each request/response pair to the source's WARC files, flushed, before the response moves
    on. The place of the response's payload in the archive travels in `request.meta["warc"]`.

    A recrawl costs little. A GET for a URL archived before carries that capture's validators
    (If-None-Match, If-Modified-Since); a 304 is archived as such and the spider is handed the archived
    payload in its place; a 200 whose payload is the one archived before is written as a revisit record
    (no second copy of the payload). The newest full capture of each URL is kept in the store."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.root = Path(crawler.settings["SAMIZDAT_DATA_DIR"])
        self.writer: WarcWriter | None = None
        self.store: Store | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcRecorderMiddleware:
        mw = cls(crawler)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    def spider_opened(self, spider: Any) -> None:
        settings = self.crawler.settings
        source = spider.source
        self.store = Store(settings["SAMIZDAT_STORE_PATH"])
        self.writer = WarcWriter(
            settings["SAMIZDAT_WARC_DIR"],
            prefix=source.name,
            max_bytes=settings.getint("SAMIZDAT_WARC_MAX_BYTES"),
            info={
                "samizdat-source": source.to_dict(),
                "samizdat-run": settings.getint("SAMIZDAT_RUN_ID"),
                "operator": "samizdat crawl",
                # what the download handler and HttpCompressionMiddleware refuse past: reading the file
                # back applies the same limit (archive/payload.py)
                MAX_PAYLOAD_KEY: settings.getint("DOWNLOAD_MAXSIZE"),
            },
        )
        spider.warc = self.writer

    def spider_closed(self, spider: Any) -> None:
        if self.writer is not None:
            self.writer.close()
            if self.crawler.stats:
                self.crawler.stats.set_value("samizdat/warc_files", list(self.writer.files))
        if self.store is not None:
            self.store.close()

    def process_request(self, request: Request) -> None:
        request.meta.pop("previous", None)
        for header, _ in VALIDATORS:
            request.headers.pop(header, None)
        if request.method != "GET" or request.meta.get("unconditional") or self.store is None:
            return
        previous = self.store.last_capture(request.url)
        if previous is None:
            return
        request.meta["previous"] = previous
        for header, attribute in VALIDATORS:
            if value := getattr(previous, attribute):
                request.headers[header] = value

    def process_response(self, request: Request, response: Response) -> Response | Request:
        assert self.writer is not None and self.store is not None
        if not response.url.startswith(("http://", "https://")):
            return response  # the spider's own data
        if not request.meta.get("replayed"):  # else already in the archive, and meta["warc"] says where
            request.meta["warc"] = self.record(request, response)
            if BROWSER_META in request.meta:  # capture = "browser": the rendered page and what it loaded
                response = archive_browser_page(self.writer, self.crawler, request, response, request.meta["warc"])
        if response.status == 304 and request.method == "GET" and not request.meta.get("unconditional"):
            return self.not_modified(request)
        return response  # an unasked-for 304 goes on as an error

    def record(self, request: Request, response: Response) -> WarcLocation:
        assert self.writer is not None and self.store is not None
        status = response.status
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        previous = request.meta.get("previous")
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
            same_as=previous if status == 200 and response.url == request.url else None,
            resource_type=request.meta.get(REQUISITE_META),
        )
        if status == 200 and request.method == "GET" and not location.revisit:
            etag, modified = (response.headers.get(h) for h in ("ETag", "Last-Modified"))
            # Bookkeeping for the next recrawl's conditional requests; a reindex rebuilds it from the archive.
            with stopping_when_full(self.crawler):
                self.store.record_capture(
                    Original(
                        response.url,
                        location.date,
                        location.digest,
                        location.warc_file,
                        location.offset,
                        etag.decode("latin-1") if etag else None,
                        modified.decode("latin-1") if modified else None,
                    )
                )
        if self.crawler.stats:
            stats = self.crawler.stats
            # A page's requisites are counted apart from its pages in every figure.
            prefix = "samizdat/requisites/" if request.meta.get(REQUISITE_META) else "samizdat/"
            stats.inc_value(f"{prefix}archived_responses")
            if location.revisit:
                stats.inc_value(f"{prefix}revisits")
            else:
                stats.inc_value(f"{prefix}archived_bytes", len(response.body))
            if len(self.writer.files) != len(stats.get_value("samizdat/warc_files", [])):
                stats.set_value("samizdat/warc_files", list(self.writer.files))
        return location.payload_location()

    def not_modified(self, request: Request) -> Response | Request:
        """The archived capture a 304 stands for, as the response the spider reads (dated by the 304)."""
        assert self.store is not None
        previous = request.meta.get("previous") or self.store.last_capture(request.url)
        try:
            if previous is None:
                raise FileNotFoundError("no earlier capture of this URL is known")
            capture = read_capture(self.root, previous.warc_file, previous.offset)
        except (OSError, ValueError) as exc:
            # The copy it stands for is gone (a deleted WARC file): fetch the page whole.
            logger.warning(
                "%s: 304 Not Modified, but its archived copy cannot be read (%s); fetching it again", request.url, exc
            )
            retry = request.replace(dont_filter=True)
            retry.meta["unconditional"] = True
            return retry
        checked = request.meta["warc"]
        request.meta["warc"] = WarcLocation(previous.warc_file, previous.offset, previous.digest, checked.date)
        if self.crawler.stats:
            prefix = "samizdat/requisites/" if request.meta.get(REQUISITE_META) else "samizdat/"
            self.crawler.stats.inc_value(f"{prefix}not_modified")
        return response_from_capture(capture, request)


def response_from_capture(capture: Capture, request: Request) -> Response:
    """An archived capture as a Scrapy response. The archive holds the payload decoded: the response must
    not claim an encoding any more."""
    headers = Headers([(k, v) for k, v in capture.headers if k.lower() not in ("content-encoding", "content-length")])
    cls = responsetypes.from_args(headers=headers, url=capture.url, body=capture.payload)
    return cls(url=capture.url, status=capture.status, headers=headers, body=capture.payload, request=request)


class ReplayMiddleware:
    """A resumed run never fetches again what it already archived: requests it had in flight when it was
    killed (or the whole walk, when its job state had to be rebuilt) are answered from its WARC files. A
    revisit record is answered with its original's payload; a 304 is answered as a 304 (the recorder puts
    the archived copy in its place)."""

    def __init__(self, crawler: Crawler, root: Path, files: list[str]) -> None:
        self.crawler = crawler
        self.root = root
        self.archived: dict[str, WarcLocation] = {}
        # URLs whose archived payload the crawl refused (too large once decoded, not decodable): refused again
        self.refused: dict[str, str] = {}
        # Pages captured in a browser: where their rendered DOM is, which the spider read (crawler/browser.py)
        self.rendered: dict[str, tuple[str, int]] = {}
        with Store(crawler.settings["SAMIZDAT_STORE_PATH"]) as store:
            for name in files:
                for entry in iter_entries(root / name, name):
                    if entry.type == "response" and entry.capture is not None:
                        capture = entry.capture
                        self.archived[capture.url] = WarcLocation(
                            name, entry.offset, capture.digest, capture.fetched_at
                        )
                        self.refused.pop(capture.url, None)
                        self.rendered.pop(capture.url, None)
                    elif entry.type == "rendered" and entry.capture is not None:
                        self.rendered[entry.capture.url] = (name, entry.offset)
                    elif entry.type == "response" and entry.info.get("refused"):
                        self.refused[entry.info["url"]] = entry.info["message"]
                        self.archived.pop(entry.info["url"], None)
                    elif entry.type == "revisit":
                        original = store.last_capture(entry.info["url"])
                        if original is not None and original.digest == entry.info["digest"]:
                            self.archived[original.url] = WarcLocation(
                                original.warc_file, original.offset, original.digest, entry.info["date"]
                            )
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
        refused = self.refused.get(request.url)
        if refused and not request.meta.get("replayed"):
            raise IgnoreRequest(f"Ignored {request.url}: its archived response was refused ({refused})")
        location = self.archived.get(request.url)
        if location is None or request.meta.get("replayed"):
            return None
        try:
            capture = read_capture(self.root, location.warc_file, location.offset)
            if (rendered := self.rendered.get(request.url)) is not None:
                capture = rendered_capture(capture, read_rendered(self.root, *rendered))
        except PayloadRefused as exc:
            raise IgnoreRequest(f"Ignored {request.url}: its archived response was refused ({exc})") from None
        except (OSError, ValueError) as exc:
            logger.warning(
                "%s: cannot be replayed from %s (%s); fetching it again", request.url, location.warc_file, exc
            )
            return None
        request.meta["replayed"] = True
        request.meta["warc"] = location
        if self.crawler.stats:
            self.crawler.stats.inc_value("samizdat/replayed")
        return response_from_capture(capture, request)


class SafeMetaRefreshMiddleware(MetaRefreshMiddleware):
    """Scrapy's MetaRefreshMiddleware, for pages whose refresh leads nowhere a request can go. Scrapy's
    raises `ValueError: Missing scheme in request url` building a request for
    `<meta http-equiv="refresh" content="600;url=javascript:...">` (or mailto:, or a malformed address), and
    the page was dropped although it is archived, and `samizdat reindex` extracts it. Such a refresh is
    ignored, as Scrapy ignores one to any other scheme than http(s): the page goes on to the spider."""

    def process_response(self, request: Request, response: Response) -> Request | Response:
        try:
            return super().process_response(request, response)
        except ValueError as exc:
            logger.debug("%s: meta refresh ignored (%s)", response.url, exc)
            return response


# Where each kind of request goes in the queue: higher first. Within a kind, nearer the start first.
# A page's requisites come before any page still to be found by links or lists: the page and what it needs
# to render are then captured moments apart (replay takes the copy nearest in time, so a redesign during a
# long crawl cannot dress a page in the next theme), a stopped crawl leaves few pages without their look,
# and the queue never piles up thousands of images. Shared ones (a theme's CSS) are fetched once anyway.
STEP_PRIORITY = {"start": 3000, "discovery": 2000, "requisite": 1500, "listed": 1000}
# request.meta key of a page's requisite: its kind (archive.requisites.KINDS); the WARC records carry it.
REQUISITE_META = "requisite"


class DistanceMiddleware:
    """Scrapy's DepthMiddleware, reordered: what the site lists for us (sitemaps, feeds, APIs and what they
    list, the start page's links) comes first, then breadth-first by link distance. The next page of a
    listing is no step further from the start, so depth_limit never cuts a long "Older posts" chain; what
    depth_limit does cut is counted (samizdat/skipped/depth, once per URL)."""

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
        if step == "requisite":  # part of its page: no step further, and never cut by depth_limit
            request.meta["depth"] = parent
            request.priority = STEP_PRIORITY[step]
            return True
        depth = {"start": 0, "listed": 1, "discovery": parent, "next_page": parent}.get(step, parent + 1)
        if self.limit and depth > self.limit:
            skip = getattr(self.crawler.spider, "skip", None)
            if skip is not None:
                skip(request.url, "depth")  # once per URL and run
            elif self.crawler.stats:
                self.crawler.stats.inc_value("samizdat/skipped/depth")
            return False
        request.meta["depth"] = depth
        request.priority = STEP_PRIORITY.get(step, 0) - depth
        return True


class RequisiteOffsiteMiddleware(OffsiteMiddleware):
    """Scrapy's OffsiteMiddleware (pages, and redirects, stay on the source's hosts), which also lets through
    the robots.txt of the hosts a source takes requisites from (`requisite_hosts`). Scrapy's robots.txt
    middleware fetches each host's robots.txt with a request of its own, which the offsite check refused: its
    failure counts as "no robots.txt", and every file on a CDN would have been fetched, disallowed or not.
    The requisites themselves pass with `allow_offsite` (crawler.spiders.generic)."""

    def process_request(self, request: Request, spider: Any = None) -> None:
        if request.meta.get("dont_obey_robotstxt") and request.url.endswith("/robots.txt"):
            source = getattr(self.crawler.spider, "source", None)
            if source is not None and requisite_host_allowed(request.url, source.requisite_hosts):
                return
        super().process_request(request)


def requisite_host_allowed(url: str, hosts: Iterable[str]) -> bool:
    """Whether a requisite at `url` may come from its host although it is not the source's: `hosts` names it
    (or a domain above it), or is ["*"]."""
    netloc = urlsplit(url).netloc.lower()
    hosts = tuple(hosts)
    return "*" in hosts or in_scope(netloc, tuple(h.lower() for h in hosts))
