"""The generic spider: the site's structured ways in first (robots.txt sitemaps, feeds), then links.

Platform spiders subclass it and add their own discovery and trap rules.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from functools import partial
from http import HTTPStatus
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy import Request, Spider, signals
from scrapy.exceptions import DontCloseSpider, DownloadCancelledError, IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy.linkextractors import IGNORED_EXTENSIONS
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gunzip
from scrapy.utils.job import job_dir
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots
from twisted.python.failure import Failure

from samizdat.archive.config import Source, in_scope
from samizdat.archive.crawls import parse_utc
from samizdat.archive.datadir import DataDir
from samizdat.archive.document import document_id
from samizdat.archive.extract import Extraction, Facts, merge_facts, parse, reader_for
from samizdat.archive.extract.challenge import CHALLENGE_STATUSES
from samizdat.archive.requisites import Requisite
from samizdat.archive.store import Store
from samizdat.archive.takedowns import purged_documents
from samizdat.archive.urls import host_port, normalize_url, url_key
from samizdat.archive.warc import Capture, WarcWriter
from samizdat.crawler.diskfull import DiskFull, guard_writer, stop_crawl, stopping_when_full
from samizdat.crawler.extraction import WarcPointer, extract_detached, requisites_detached, shared_pool
from samizdat.crawler.frontier import counts_as_page
from samizdat.crawler.jobstate import SkippedUrls, save_state
from samizdat.crawler.middlewares import REQUISITE_META, header_pairs, requisite_host_allowed
from samizdat.crawler.traps import Trap, find_trap

logger = logging.getLogger(__name__)

GONE = (404, 410)  # an archived article that answers these is recorded as deleted on the site
MAX_CHALLENGE_BYTES = 256_000  # parsed here, in the reactor: a challenge page is a few kilobytes
PARSED = ("article", "listing", "page")  # page types of captures that parsed as HTML (they have links)
# Documents are archived (a campaign's leaflets are PDFs); images, media and assets are not followed.
KEEP_EXTENSIONS = {"pdf", "doc", "docx", "odt", "rtf", "epub"}
SKIP_EXTENSION = re.compile(r"\.(" + "|".join(sorted(set(IGNORED_EXTENSIONS) - KEEP_EXTENSIONS)) + r")$", re.IGNORECASE)


def evidence(reason: str) -> str:
    """The strongest evidence of a decision's reason, without its weight, address and numbers, so that pages
    left out for the same cause add up in the run's figures ("N entries of like size", "listing path")."""
    strongest = re.sub(r"\s*\(-?[\d.]+\)$", "", reason.split(";")[0].strip())  # its weight
    strongest = re.split(r" (?=[/?])", strongest, maxsplit=1)[0]  # its address: "listing path", not each path
    return re.sub(r"\d+", "N", strongest)[:100]


class SourceSpider(Spider):
    """Walks any site; the platform spiders below add their own ways in and trap rules. A source that did
    not name its kind starts here and takes on the platform's rules once its first page shows the kind.

    What it must not forget across a kill lives in `self.state` (Scrapy's spider.state, saved in the job
    directory by crawler.jobstate): the issue facts a magazine's indexes gave, the articles waiting for them
    (as places in the archive), the kind it detected and, under max_pages, the URLs it asked for.
    """

    name = "generic"
    kind: str | None = None
    traps: tuple[Trap, ...] = ()

    def __init__(
        self, source: Source | None = None, url: str | None = None, kind: str | None = None, **kwargs: Any
    ) -> None:
        if source is None:  # `scrapy crawl generic -a url=https://...` for trying a site by hand
            if not url:
                raise ValueError("give a source, or -a url=https://...")
            source = Source(name=host_port(url).replace(":", "-"), start_urls=(url,))
        super().__init__(name=self.name, **kwargs)
        self.source = source
        # The kind named in sources.toml, else the one detected earlier (this run, or the last finished one).
        self.kind = source.kind or kind or type(self).kind
        self.scope = source.scope
        # Scrapy's offsite middleware then also stops redirects that leave the site.
        self.allowed_domains = sorted({d.split(":")[0] for d in self.scope})
        self.include = [re.compile(p) for p in source.include]
        self.exclude = [re.compile(p) for p in source.exclude]
        self.state: dict[str, Any] = {}  # replaced by the saved state when the spider opens
        self._warc: Any = None
        self.disk_full: str | None = None  # why archiving stopped, when the disk filled up
        self.skipped: SkippedUrls | None = None  # opened with the spider: it lives in the job directory
        # What the archive knows (captures, feed entries, gone articles); None when run outside samizdat.
        self.store: Store | None = None
        self.watch = False  # a watch run: only what the feeds and sitemaps list as new or changed
        self.run_id = 0
        self.purged: frozenset[str] = frozenset()  # ids of documents purged by a takedown: never fetched again

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> SourceSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.on_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider.on_closed, signal=signals.spider_closed)
        crawler.signals.connect(spider.on_response, signal=signals.response_received)
        crawler.signals.connect(spider.on_bytes, signal=signals.bytes_received)
        spider.watch = crawler.settings.getbool("SAMIZDAT_WATCH")
        spider.run_id = crawler.settings.getint("SAMIZDAT_RUN_ID")
        if crawler.settings.get("SAMIZDAT_STORE_PATH"):
            spider.store = Store(crawler.settings["SAMIZDAT_STORE_PATH"])
        if crawler.settings.get("SAMIZDAT_DATA_DIR"):
            datadir = DataDir(crawler.settings["SAMIZDAT_DATA_DIR"])
            spider.purged = purged_documents(datadir.takedowns_path, spider.source.name)
        return spider

    @property
    def warc(self) -> Any:
        """The WARC writer, set by the recorder when the spider opens."""
        return self._warc

    @warc.setter
    def warc(self, writer: Any) -> None:
        # Guarded here, where the run can be stopped: a full disk ends archiving cleanly (crawler.diskfull).
        self._warc = (
            guard_writer(writer, partial(stop_crawl, self.crawler)) if isinstance(writer, WarcWriter) else writer
        )

    def on_disk_full(self, error: DiskFull) -> None:
        """Told by crawler.diskfull.stop_crawl, which stops the frontier: nothing more is fetched, and what is
        in flight stays in it for the next run (its response may not be in the archive). The run ends as
        interrupted, to be resumed once there is room. The first write to find the disk full names it."""
        if self.disk_full:
            return
        logger.error("%s", error)
        self.disk_full = str(error)
        self.crawler.stats.set_value("samizdat/disk_full", str(error))

    def on_response(self, response: Response, request: Request) -> None:
        """Responses that are not pages of the site (robots.txt, Scrapy's fetch of it included, and the spider's
        own `data:` requests) are counted apart, so that a run's pages are what max_pages caps. So are a page's
        requisites, with their own figures."""
        if request.meta.get("replayed"):
            return
        if request.meta.get(REQUISITE_META):
            self.count("requisites/responses")
            if response.status == 200:
                self.count("requisites/ok_responses")
        elif not counts_as_page(response.url):
            self.count("uncounted_responses")

    def on_bytes(self, data: bytes, request: Request, spider: Spider) -> None:
        # Scrapy cancels a body that grows past DOWNLOAD_MAXSIZE with the same error as any other
        # cancelled download: what arrived tells them apart.
        request.meta["samizdat_received"] = request.meta.get("samizdat_received", 0) + len(data)

    def on_closed(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None
        if self.skipped is not None:
            self.skipped.close()
            self.skipped = None

    # -- what survives a kill ------------------------------------------------------------------------------

    @property
    def facts(self) -> Facts:
        return self.state.setdefault("facts", {})  # type: ignore[no-any-return]

    @property
    def pending(self) -> dict[str, list[WarcPointer]]:
        """Articles waiting for a fact (their issue's date), by the place of their capture in the archive."""
        return self.state.setdefault("pending", {})  # type: ignore[no-any-return]

    @property
    def requested(self) -> set[str]:
        """Under max_pages: the URLs asked for, which the cap counts (in-flight ones would overshoot it)."""
        return self.state.setdefault("requested", set(self.source.start_urls))  # type: ignore[no-any-return]

    def save_state(self) -> None:
        save_state(self)

    # -- discovery -------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        if self.state.get("kind") and not self.source.kind:
            self.kind = self.state["kind"]
        for url in self.source.start_urls:
            yield Request(url, callback=self.parse_page, errback=self.on_error, meta={"step": "start"})
        for robots in dict.fromkeys(urljoin(u, "/robots.txt") for u in self.source.start_urls):
            yield Request(robots, callback=self.parse_robots, errback=self.on_error, meta={"step": "discovery"})
        if self.kind:
            for request in self.platform_requests():
                yield request

    def platform_requests(self) -> Iterator[Request]:
        """The platform's structured ways in (feeds, sitemaps, APIs) at each start URL's site."""
        for base in dict.fromkeys(urljoin(u, "/") for u in self.source.start_urls):
            for path, callback in self.discovery_paths():
                yield from self.follow(urljoin(base, path), getattr(self, callback), step="discovery")

    @classmethod
    def discovery_paths(cls) -> tuple[tuple[str, str], ...]:
        """(path, callback name) pairs a platform offers beyond robots.txt's sitemaps."""
        return ()

    def parse_robots(self, response: Response) -> Iterator[Request]:
        for url in sitemap_urls_from_robots(response.body, base_url=response.url):
            yield from self.follow(url, self.parse_sitemap, step="discovery")

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        body = response.body
        if body[:2] == b"\x1f\x8b":
            body = gunzip(body, max_size=self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        try:
            sitemap = Sitemap(body)
        except Exception:  # lxml raises several kinds on a broken sitemap; it is archived either way
            self.count("discovery/bad_sitemap")
            return
        self.count(f"discovery/sitemap_{sitemap.type}")
        for entry in sitemap:
            loc = entry.get("loc", "")
            if sitemap.type == "sitemapindex":
                yield from self.follow(loc, self.parse_sitemap, step="discovery")
            else:
                yield from self.follow(loc, self.parse_page, step="listed", modified=entry.get("lastmod"))

    def parse_feed(self, response: Response) -> Iterator[Request]:
        """Atom and RSS: the entries' links, and the feed's own next page (Blogger pages its feeds)."""
        self.count("discovery/feed")
        response.selector.remove_namespaces()
        entries = [
            h.strip() for h in response.xpath("//entry/link[@rel='alternate']/@href | //item/link/text()").getall()
        ]
        if entries and self.store is not None and self.run_id:
            # What the feed lists now: an entry gone from it by the next run is looked at again then.
            with stopping_when_full(self.crawler):
                self.store.record_listed(self.source.name, [normalize_url(u) for u in entries], self.run_id)
            if not self.state.get("feeds_read"):
                self.state["feeds_read"] = True
                self.save_state()
        for href in entries:
            # A feed lists the newest posts: asked again on every watch (a 304 when unchanged), so an edit
            # made an hour after publication is caught.
            yield from self.follow(href, self.parse_page, step="listed", fresh=True)
        for href in response.xpath("/feed/link[@rel='next']/@href").getall():
            yield from self.follow(href, self.parse_feed, step="discovery")

    # -- pages ------------------------------------------------------------------------------------

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        capture = capture_of(response)
        indexed = {key for key, fact in self.facts.items() if fact.get("index")}  # known before extracting
        result = await self.read(capture)
        for request in await self.page_requisites(response, capture, result):
            yield request
        if self.kind is None and result.page_type in PARSED:
            for request in self.adopt_kind(result.detected_kind or "generic", response.url):
                yield request
            result = await self.read(capture)
        if result.page_type == "error" and result.reason.startswith("extract_"):
            self.count(f"errors/{result.reason}")
            return
        for key in merge_facts(self.facts, result.facts):
            self.save_state()
            async for document in self.read_pending(key):
                yield document
        needs = result.needs if reader_for(self.kind).offers_facts else None
        if result.page_type == "article" and needs and needs not in indexed and self.facts.get(needs, {}).get("index"):
            result = await self.read(capture)  # its issue index was read while this page was being extracted
        if result.page_type == "article" and needs and not self.facts.get(needs, {}).get("index"):
            # Its issue index has not been read: hold the article until it is, and fetch the index now.
            self.pending.setdefault(needs, []).append(self.pointer(capture))
            self.save_state()
            # The index it links to (a contents page), else its own directory's.
            directory = urljoin(response.url, ".")
            index = directory if url_key(directory) == needs else needs
            for request in self.follow(index, self.parse_page, step="discovery"):
                yield request
            result.document = None
        if result.document is not None:
            yield result.document
        elif result.page_type != "article":
            self.count(f"pages/{result.page_type}")
            if result.page_type in ("listing", "page") and result.reason:
                self.count(f"not_articles/{result.page_type}: {evidence(result.reason)}")
        if result.page_type not in PARSED:
            return
        step = "listed" if response.meta.get("step") == "start" else "link"
        for feed in result.feeds:
            for request in self.follow(feed, self.parse_feed, step="discovery"):
                yield request
        next_pages = set(result.next_pages)
        for url in result.links:
            for request in self.follow(url, self.parse_page, step="next_page" if url in next_pages else step):
                yield request

    async def read(self, capture: Capture | WarcPointer) -> Extraction:
        """archive.extract in the worker pool (in-process when the spider runs on its own)."""
        pool = shared_pool()
        if pool is None:
            return extract_detached(capture, self.source, self.kind, self.facts)
        return await pool.extract(capture, self.source, self.kind, self.facts)

    def pointer(self, capture: Capture) -> WarcPointer:
        return (self.crawler.settings.get("SAMIZDAT_DATA_DIR", ""), capture.warc_file, capture.warc_offset)

    async def read_pending(self, key: str) -> AsyncIterator[Any]:
        for pointer in self.pending.get(key, []):
            result = await self.read(pointer)
            if result.document is not None:
                yield result.document
        # Forgotten only once read: a kill before this line reads them again after the restart.
        self.pending.pop(key, None)
        self.save_state()

    def on_idle(self) -> None:
        """Before closing: articles whose issue index never came (a 404) are read with what is known, and the
        posts that vanished from the feeds since the last run are asked for (a 404 or 410 records them
        deleted on the site). Not when the crawl is being stopped: they wait in the job state."""
        if self.draining():
            return
        if self.pending:
            self.crawler.engine.crawl(Request("data:,", callback=self.flush_pending, dont_filter=True))
            raise DontCloseSpider
        if self.state.get("feeds_read") and not self.state.get("vanished_asked") and self.store is not None:
            self.state["vanished_asked"] = True
            self.save_state()
            vanished = [u for u in self.store.vanished(self.source.name, self.run_id) if self.store.last_capture(u)]
            for url in vanished:
                self.count("discovery/vanished_from_feed")
                for request in self.follow(url, self.parse_page, step="listed", fresh=True):
                    self.crawler.engine.crawl(request)
            if vanished:
                raise DontCloseSpider

    def draining(self) -> bool:
        scheduler = getattr(getattr(self.crawler.engine, "_slot", None), "scheduler", None)
        return bool(getattr(scheduler, "draining", None))

    async def flush_pending(self, response: Response) -> AsyncIterator[Any]:
        for key in list(self.pending):
            async for document in self.read_pending(key):
                yield document

    def adopt_kind(self, kind: str, url: str) -> Iterator[Request]:
        """The first HTML page decides the kind of a source that did not name one; the archive records
        it, so that a reindex reads the pages the same way, and the job state, so that a resumed run
        builds the platform's spider from the start (its queued requests name the platform's callbacks)."""
        self.kind = kind
        # The platform spiders add methods and class attributes only, never instance state, so the
        # spider can become one mid-crawl: its queue, stats and archive carry on unchanged.
        self.__class__ = SPIDERS_BY_KIND.get(kind, SourceSpider)
        self.crawler.stats.set_value("samizdat/kind_detected", kind)
        self.state["kind"] = kind
        self.save_state()
        if self.warc is not None:
            self.warc.write_metadata(url, {"samizdat-source": self.source.name, "detected-kind": kind})
        yield from self.platform_requests()

    # -- requisites: what an archived page needs to render -------------------------------------------

    async def page_requisites(self, response: Response, capture: Capture, result: Extraction) -> list[Request]:
        """Requests for what an archived HTML page loads to render (archive.requisites), when the source
        wants them; found beside the reactor, like the extraction. None for a page extraction could not read
        (a million elements, a deadline passed). A source captured in a browser has them already: the
        browser archived what it loaded."""
        if not self.source.requisites or self.source.capture == "browser" or not isinstance(response, HtmlResponse):
            return []
        if result.page_type == "not_html" or result.reason.startswith("extract_"):
            return []
        scripts = self.source.requisite_scripts
        pool = shared_pool()
        found = await pool.requisites(capture, scripts) if pool is not None else requisites_detached(capture, scripts)
        return list(self.requisite_requests(found))

    async def parse_requisite(self, response: Response) -> AsyncIterator[Request]:
        """A requisite is archived (the WARC recorder did it) and never read as a page; a stylesheet's own
        requisites (@import, fonts, background images) are asked for in turn, found beside the reactor."""
        if response.meta.get(REQUISITE_META) != "stylesheet" or response.status != 200:
            return
        # Read as CSS whatever the server called it (a stylesheet served as text/plain is still one).
        capture = capture_of(response)
        capture.headers = [
            *[h for h in capture.headers if h[0].lower() != "content-type"],
            ("Content-Type", css_type(response)),
        ]
        pool = shared_pool()
        found = await pool.requisites(capture, False) if pool is not None else requisites_detached(capture, False)
        for request in self.requisite_requests(found):
            yield request

    def requisite_requests(self, found: list[Requisite]) -> Iterator[Request]:
        """One request per requisite, up to max_requisites_per_page of them; each URL is fetched once per crawl
        (the frontier's seen set), within max_requisite_bytes. Requisites never count toward max_pages or
        depth. Those from other hosts than the source's are asked for only from its `requisite_hosts`."""
        settings = self.crawler.settings
        limit = settings.getint("SAMIZDAT_MAX_REQUISITES_PER_PAGE", 100)
        max_bytes = settings.getint("SAMIZDAT_MAX_REQUISITE_BYTES", 5 * 1024 * 1024)
        taken = 0
        for requisite in found:
            offsite = not self.in_scope(urlsplit(requisite.url).netloc)
            if offsite and not requisite_host_allowed(requisite.url, self.source.requisite_hosts):
                self.skip(requisite.url, "requisite_offsite")
                continue
            if taken >= limit:
                self.skip(requisite.url, "requisite_limit")
                continue
            taken += 1
            meta = {"step": "requisite", REQUISITE_META: requisite.kind, "download_maxsize": max_bytes}
            if offsite:
                meta["allow_offsite"] = True  # Scrapy's offsite check is for pages (redirects included)
            yield Request(requisite.url, callback=self.parse_requisite, errback=self.on_requisite_error, meta=meta)

    def on_requisite_error(self, failure: Failure) -> None:
        """A requisite that failed is counted apart from pages; an HTTP error is archived all the same (the
        WARC recorder wrote it: replay shows the 404 the site answered)."""
        if failure.check(DiskFull):
            return
        url = failure.request.url
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            reason = refusal_reason(str(failure.value))
            if reason:
                self.skip(url, f"requisite_{reason}")
                return
        kind = "too_large" if self.too_large(failure) or "DOWNLOAD_MAXSIZE" in str(failure.value) else None
        self.count(f"requisites/failed/{kind or error_kind(failure)}")

    # -- scope --------------------------------------------------------------------------------------

    def follow(
        self, url: str, callback: Any, step: str = "link", fresh: bool = False, modified: str | None = None
    ) -> Iterator[Request]:
        """A request for `url`, unless a limit leaves it out (counted by reason). `step` says how it was
        found, which decides its place in the queue (crawler.middlewares.DistanceMiddleware): `discovery`
        (sitemaps, feeds, APIs), `listed` (what those list, and the start page's links), `next_page` (the
        next page of a listing: no step further from the start) or `link`.

        A watch run follows no links and asks only for listed URLs that are new, `fresh` (a feed's newest
        posts) or `modified` (a sitemap's lastmod) since their last capture."""
        if not url.startswith(("http://", "https://")):
            return
        url = normalize_url(url)
        if self.watch and (
            step in ("link", "next_page") or (step == "listed" and not fresh and self.known(url, modified))
        ):
            return
        reason = self.skip_reason(url)
        if not reason and self.source.max_pages and url not in self.requested:
            if len(self.requested) >= self.source.max_pages:
                reason = "max_pages"
            else:
                self.requested.add(url)
        if reason:
            self.skip(url, reason)
            return
        request = Request(url, callback=callback, errback=self.on_error, meta={"step": step})
        if not self.frontier_took(request):
            yield request

    def frontier_took(self, request: Request) -> bool:
        """Whether the frontier already took this request's URL, and would refuse it again: said here, the
        hundred links every page has to the same menus and sidebars skip the middlewares and the engine. Only
        what the frontier took counts: a link a middleware dropped (too deep) may come again nearer the start."""
        scheduler = getattr(getattr(self.crawler.engine, "_slot", None), "scheduler", None)
        seen = getattr(scheduler, "seen", None)
        if not seen or request.dont_filter:
            return False
        if self.crawler.request_fingerprinter.fingerprint(request).hex() not in seen:
            return False
        self.count("frontier/duplicates")
        return True

    def known(self, url: str, modified: str | None) -> bool:
        """Whether the archive has `url` as it is: captured, and not modified (per `modified`) since."""
        capture = self.store.last_capture(url) if self.store is not None else None
        if capture is None:
            return False
        if not modified:
            return True
        try:
            return parse_utc(modified) <= parse_utc(capture.date)
        except ValueError:
            return False

    def skip_reason(self, url: str) -> str | None:
        parts = urlsplit(url)
        if not self.in_scope(parts.netloc):
            return "offsite"
        if SKIP_EXTENSION.search(parts.path):
            return "media"
        if any(p.search(url) for p in self.exclude):
            return "excluded"
        if self.include and not any(p.search(url) for p in self.include):
            return "not-included"
        trap = find_trap(url, self.traps)
        if trap:
            return f"trap:{trap}"
        return "taken-down" if self.purged and document_id(url) in self.purged else None

    def in_scope(self, netloc: str) -> bool:
        return in_scope(netloc, self.scope)

    # -- bookkeeping ------------------------------------------------------------------------------------

    def on_error(self, failure: Failure) -> None:
        if failure.check(DiskFull):
            return  # not archived: the request is held for the next run
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            # Scrapy's refusals are kept per URL in the job directory like the spider's own, at once: a
            # count in Scrapy's stats would be lost to a kill before the run's figures are next saved.
            reason = refusal_reason(str(failure.value))
            if reason:
                self.skip(failure.request.url, reason)
            elif "exceeded DOWNLOAD_MAXSIZE" in str(failure.value):
                self.count("errors/too_large")  # HttpCompressionMiddleware: it inflates past max_page_bytes
            return
        if self.is_challenge(failure):
            self.count("pages/challenge")  # archived; flagged in the crawl's report (archive.crawls.flag)
            return
        self.count(f"errors/{'too_large' if self.too_large(failure) else error_kind(failure)}")
        if failure.check(HttpError) and failure.value.response.status in GONE and self.store is not None:
            response = failure.value.response
            location = response.meta.get("warc")
            when = location.date if location else datetime.now(UTC).isoformat()
            with stopping_when_full(self.crawler):
                if self.store.mark_gone(normalize_url(response.url), when, response.status):
                    self.count("gone")  # an archived article deleted on the site: kept, and shown as gone

    def too_large(self, failure: Failure) -> bool:
        """A download Scrapy abandoned because its body passed max_page_bytes, as announced or as it came."""
        if not failure.check(DownloadCancelledError):
            return False
        # A requisite has its own limit (max_requisite_bytes), in its request's meta.
        limit = failure.request.meta.get("download_maxsize") or self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
        received = failure.request.meta.get("samizdat_received", 0)
        return "larger than download max size" in str(failure.value) or bool(limit and received > limit)

    def is_challenge(self, failure: Failure) -> bool:
        """A 403, 429 or 503 that is a protection service's challenge page (archive.extract.challenge)."""
        if not failure.check(HttpError):
            return False
        response = failure.value.response
        if response.status not in CHALLENGE_STATUSES or len(response.body) > MAX_CHALLENGE_BYTES:
            return False
        seen = parse(capture_of(response))
        return isinstance(seen, Extraction) and seen.page_type == "challenge"

    def skip(self, url: str, reason: str) -> None:
        """Count a URL left out, once per run and reason, however often it is linked and whatever is read
        again after a resume."""
        with stopping_when_full(self.crawler):
            if self.skipped is None:
                self.skipped = SkippedUrls(job_dir(self.crawler.settings))
            if self.skipped.add(reason, url):
                self.count(f"skipped/{reason}")

    def count(self, key: str) -> None:
        self.crawler.stats.inc_value(f"samizdat/{key}")


def refusal_reason(message: str) -> str | None:
    """The skip reason of a request Scrapy's RobotsTxtMiddleware or OffsiteMiddleware refused."""
    if message.startswith("Forbidden by robots.txt"):
        return "robots.txt"
    if message.startswith("Filtered offsite request"):
        return "offsite"
    return None


def error_kind(failure: Failure) -> str:
    """A short name for what went wrong, for the crawl summary's error counts."""
    if failure.check(HttpError):
        status = failure.value.response.status
        try:
            return f"http_{status}_{HTTPStatus(status).phrase.lower().replace(' ', '_')}"
        except ValueError:
            return f"http_{status}"
    # Scrapy wraps Twisted's errors in its own classes (DownloadConnectionRefusedError, ...): go by name.
    names = " ".join(cls.__name__ for cls in type(failure.value).__mro__)
    for marker, kind in (
        ("DNSLookup", "dns_lookup_failed"),
        ("CannotResolveHost", "dns_lookup_failed"),  # Scrapy 2.13+'s name for it
        ("ConnectionRefused", "connection_refused"),
        ("Timeout", "timeout"),
        ("TimedOut", "timeout"),
        ("Cancelled", "cancelled"),
    ):
        if marker in names:
            return kind
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(failure.value).__name__).lower()


def css_type(response: Response) -> str:
    """text/css with the charset the response declared, if any."""
    declared = (response.headers.get("Content-Type") or b"").decode("latin-1")
    charset = next((p.strip() for p in declared.split(";")[1:] if p.strip().lower().startswith("charset=")), None)
    return "text/css" + (f"; {charset}" if charset else "")


def capture_of(response: Response) -> Capture:
    """The response as extraction sees it, with its place in the archive (set by the WARC recorder)."""
    location = response.meta.get("warc")
    return Capture(
        url=response.url,
        status=response.status,
        headers=header_pairs(response.headers),
        payload=response.body,
        fetched_at=location.date if location else "",
        warc_file=location.warc_file if location else "",
        warc_offset=location.offset if location else 0,
        digest=location.digest if location else "",
    )


# Filled by crawler.spiders when the platform spiders are imported.
SPIDERS_BY_KIND: dict[str, type[SourceSpider]] = {}
