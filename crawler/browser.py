"""capture = "browser": a source's pages loaded in headless Chromium (Debian's package, driven through
scrapy-playwright), as Browsertrix captures them.

Only the pages go through the browser (requests for the spider's `parse_page`); robots.txt, sitemaps, feeds
and documents such as PDFs are plain HTTP, as for any source: they are not rendered, and the browser would
only turn them into downloads. A page is one request to the server as before (it passes the host's
politeness gate), but the browser then loads what the page needs (stylesheets, scripts, the JSON its scripts
fetch, images, fonts), and all of it is archived:

- the document, as the server sent it, as the page's response record (the WARC recorder writes it as it
  writes any response: revisits, validators and figures unchanged). Playwright hands the body over decoded,
  so it is archived decoded, without its Content-Encoding;
- the page as the browser rendered it (its DOM once loaded, `page.content()`), right after, as a
  `conversion` record referring to that response: never as a response, the server did not send it.
  Extraction reads it, in the crawl and in `samizdat reindex` (archive.warc.rendered_capture);
- every other response the browser received, once per URL and crawl, as request/response pairs marked
  `WARC-Resource-Type: <the browser's resource type>` (stylesheet, script, fetch, xhr, image, font, ...),
  so that nothing reads them as pages. At most `max_requisites_per_page` per page, each within
  `max_requisite_bytes`; the rest are counted (samizdat/browser/...).

The browser reaches only the source's scope and its `requisite_hosts`: every other request is aborted before
it leaves (page.route), as is what the host's robots.txt forbids (read once per host through Scrapy's
robots.txt middleware). A page gets `browser_timeout_seconds` for loading and settling; one that hangs the
browser (a script that never ends, a load that never finishes) is closed, counted as errors/browser_timeout
and skipped, and the crawl goes on. Pages load one at a time per source: Chromium runs the pages of one site
in one renderer process, so a second page beside a hanging one would hang with it. The browser's memory is
bounded twice: V8's heap per page (--max-old-space-size, half the bound), and the browser as a whole,
restarted between pages once its processes hold more than `browser_max_memory_mb` (proportional set size,
so that what they share is counted once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Response
from scrapy.utils.misc import build_from_crawler, load_object
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler
from scrapy_playwright.page import PageMethod

from samizdat.archive.config import Settings, Source, in_scope
from samizdat.archive.errors import ConfigError
from samizdat.archive.warc import Capture, Original, WarcLocation, rendered_capture
from samizdat.crawler.diskfull import stopping_when_full
from samizdat.crawler.politeness import PoliteDownloadHandler, gate_for
from samizdat.crawler.proxy import Proxy, proxy_settings

logger = logging.getLogger(__name__)

BROWSER_META = "samizdat_browser"  # request.meta: what the browser fetched for the page (a BrowserPage)
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
HTML_TYPES = ("text/html", "application/xhtml+xml")
# A page's last requests (its script's fetch of the article's JSON) have this long to come back once the page
# has loaded; then what has arrived is archived and the DOM taken as it is. The page has settled when no
# request has been out for QUIET_SECONDS (time for a script to use what came back and ask for more).
SETTLE_SECONDS = 2.0
QUIET_SECONDS = 0.2
CLOSE_SECONDS = 5.0  # closing a page whose script never ends; past this the browser is restarted
LAUNCH_SECONDS = 60.0  # starting Chromium (2-4 s on a busy machine): not part of any page's time
# Chromium's own traffic (component updates, Google sign-in's account list, safe browsing, metrics) would
# leave the machine beside the pages: what flags cannot turn off is sent to a name that never resolves
# (RFC 2606 .invalid). Debian's wrapper also loads extensions.
NOWHERE = "http://invalid.invalid"
QUIET_BROWSER_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-client-side-phishing-detection",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
    "--no-pings",
    f"--google-base-url={NOWHERE}",
    f"--gaia-url={NOWHERE}",
    f"--lso-url={NOWHERE}",
    f"--component-updater=url-source={NOWHERE}",
    "--disable-dev-shm-usage",
    "--mute-audio",
]
# What the browser already fetched this crawl is answered from memory, not asked of the site again (each page's
# stylesheets, fonts and scripts were ~6 more requests per page on the sample WordPress site), up to this much.
MAX_REUSE_BYTES = 64 * 1024 * 1024
HEADERS_NOT_KEPT = {"content-encoding", "content-length", "transfer-encoding"}  # the body is kept decoded


def chromium_path() -> str:
    """Debian's chromium (a browser download cannot work here), or one on the PATH."""
    for path in CHROMIUM_PATHS:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    raise ConfigError('capture = "browser" needs Chromium: install it (apt-get install chromium)')


def scrapy_browser_settings(settings: Settings) -> dict[str, Any]:
    """The bounds of browser capture, for every source's crawler (crawler.run.scrapy_settings)."""
    return {
        "SAMIZDAT_BROWSER_TIMEOUT": settings.browser_timeout_seconds,
        "SAMIZDAT_BROWSER_MAX_MEMORY_MB": settings.browser_max_memory_mb,
        "SAMIZDAT_BROWSER_MAX_REQUISITE_BYTES": settings.max_requisite_bytes,
        "SAMIZDAT_BROWSER_MAX_REQUISITES": settings.max_requisites_per_page,
    }


def source_browser_settings(source: Source, base: Any) -> dict[str, Any]:
    """A source's crawler settings for capture = "browser" (none for "http"): the browser's download handler."""
    if source.capture != "browser":
        return {}
    heap_mb = max(64, int(base.getint("SAMIZDAT_BROWSER_MAX_MEMORY_MB") // 2))
    args = [f"--js-flags=--max-old-space-size={heap_mb}", *QUIET_BROWSER_ARGS]
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to run its sandbox as root
    timeout_ms = float(base.getfloat("SAMIZDAT_BROWSER_TIMEOUT")) * 1000
    launch: dict[str, Any] = {"executable_path": chromium_path(), "args": args, "headless": True}
    if source.proxy:
        launch["proxy"] = browser_proxy(source)
    return {
        "DOWNLOAD_HANDLERS": {
            "http": f"{__name__}.BrowserDownloadHandler",
            "https": f"{__name__}.BrowserDownloadHandler",
        },
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": launch,
        # What is not loaded in the browser goes where it would for any source: through a SOCKS5 proxy's
        # handler when the source names one (crawler.proxy), else the host gate's.
        "SAMIZDAT_BROWSER_HTTP_HANDLER": proxy_settings(source.proxy)
        .get("DOWNLOAD_HANDLERS", {})
        .get("http", "samizdat.crawler.politeness.PoliteDownloadHandler"),
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": timeout_ms,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 1,  # one page at a time (BrowserDownloadHandler.download_request)
        # The browser sends its own headers (Scrapy's would make it look like no browser); our user agent
        # is set on its context (BrowserDownloadHandler.load), so that sites and their robots.txt see who we are.
        "PLAYWRIGHT_PROCESS_REQUEST_HEADERS": None,
    }


def browser_proxy(source: Source) -> dict[str, str]:
    """The source's proxy as Chromium takes it, for every request the browser makes, to our own machine too
    (Chromium would otherwise go to loopback addresses directly). Chromium resolves names through a SOCKS5
    proxy itself (socks5h), and cannot give one a user name and password."""
    assert source.proxy
    proxy = Proxy.parse(source.proxy)
    if proxy.socks and proxy.username is not None:
        raise ConfigError(
            f'source "{source.name}": capture = "browser" cannot use a SOCKS5 proxy with a user name and password '
            f"(Chromium does not support it): use an HTTP proxy, or one without a password"
        )
    scheme = "socks5" if proxy.socks else proxy.scheme
    settings = {"server": f"{scheme}://{proxy.address.split('://', 1)[1]}", "bypass": "<-loopback>"}
    if proxy.username is not None:
        settings.update(username=proxy.username, password=proxy.password or "")
    return settings


@dataclass
class Exchange:
    """One response the browser received, with its request: what a pair of WARC records holds."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    resource_type: str
    ip_address: str | None = None


@dataclass
class BrowserPage:
    """What the browser fetched for one page and what it made of it. Plain data: it rides in request.meta."""

    rendered: bytes
    encoding: str
    exchanges: list[Exchange] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)  # what was not archived, by reason


class BrowserDownloadHandler(ScrapyPlaywrightDownloadHandler):
    """scrapy-playwright's handler for the pages; everything else goes to our usual HTTP handler (the host
    gate, robots.txt Crawl-delay)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.crawler = crawler
        handler = load_object(crawler.settings.get("SAMIZDAT_BROWSER_HTTP_HANDLER") or PoliteDownloadHandler)
        self.http: PoliteDownloadHandler = build_from_crawler(handler, crawler)
        settings = crawler.settings
        self.timeout = settings.getfloat("SAMIZDAT_BROWSER_TIMEOUT", 30.0)
        self.max_memory = settings.getint("SAMIZDAT_BROWSER_MAX_MEMORY_MB", 1024) * 1024 * 1024
        self.max_page_bytes = settings.getint("DOWNLOAD_MAXSIZE")
        self.max_requisite_bytes = settings.getint("SAMIZDAT_BROWSER_MAX_REQUISITE_BYTES", 5 * 1024 * 1024)
        self.max_requisites = settings.getint("SAMIZDAT_BROWSER_MAX_REQUISITES", 100)
        self.user_agent = settings.get("USER_AGENT")
        self.loads: dict[Any, PageLoad] = {}  # open pages -> what is being gathered for them
        self.starting: dict[int, PageLoad] = {}  # id(request) -> its load, until its page exists
        self.one_page = asyncio.Lock()
        self.fetched: dict[str, tuple[int, list[tuple[str, str]], bytes]] = {}  # url -> status, headers, body
        self.fetched_bytes = 0
        self.abort_request = self.refuse

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BrowserDownloadHandler:
        return cls(crawler)

    async def close(self) -> None:  # type: ignore[override]
        await self.http.close()
        await super().close()

    @property
    def source(self) -> Source:
        spider = self.crawler.spider
        source = getattr(spider, "source", None)
        if source is None:
            raise NotConfigured("capture in a browser needs a samizdat source spider")
        return source  # type: ignore[no-any-return]

    def in_browser(self, request: Request) -> bool:
        """The spider's pages, except documents a browser would only download (PDFs and the like)."""
        if getattr(request.callback, "__name__", "") != "parse_page" or request.method != "GET":
            return False
        from samizdat.crawler.spiders.generic import KEEP_EXTENSIONS

        path = urlsplit(request.url).path.lower()
        return not any(path.endswith(f".{ext}") for ext in KEEP_EXTENSIONS)

    async def download_request(self, request: Request) -> Response:  # type: ignore[override]
        if not self.in_browser(request):
            return await self.http.download_request(request)
        # One page at a time: Chromium runs the pages of one site in one renderer process, where a script that
        # never ends would stop every other page too; and the memory bound is checked between pages.
        async with self.one_page:
            gate = gate_for(request.url)
            gate.source_delay = max(gate.source_delay, self.http.delay)
            await gate.enter(False)
            stopping = self.http.stopping()
            if stopping is not None:
                gate.leave(False, sent=False)
                stopping.keep(request)
                raise IgnoreRequest("kept for the next run: the crawl is stopping")
            try:
                return await self.load(request)
            finally:
                gate.leave(False)

    async def load(self, request: Request) -> Response:
        """The page loaded in the browser within the time allowed: the document as the server sent it, with
        the rendered page and everything else the browser fetched in request.meta[BROWSER_META]."""
        # Validators are for our HTTP client: a browser that did not ask for them cannot read a 304.
        for header in ("If-None-Match", "If-Modified-Since"):
            request.headers.pop(header, None)
        request.meta["playwright"] = True
        load = PageLoad(self, request)
        # Run by scrapy-playwright after the load event, before it reads the DOM.
        request.meta["playwright_page_methods"] = [PageMethod(load.settle)]
        # Created with the first page (no startup context: the http and https handlers would each launch a
        # browser). Service workers would fetch past page.route.
        request.meta["playwright_context_kwargs"] = {"user_agent": self.user_agent, "service_workers": "block"}
        self.starting[id(request)] = load
        try:
            async with asyncio.timeout(LAUNCH_SECONDS):
                await self._maybe_launch_browser()
            async with asyncio.timeout(self.timeout):
                response = await self._download_request(request, self.crawler.spider)
                page = await load.finish(response)
        except TimeoutError:
            self.count("errors/browser_timeout")
            logger.warning("%s: the browser did not finish loading it in %g s; skipped", request.url, self.timeout)
            await self.discard(load)
            raise IgnoreRequest(f"browser_timeout: {request.url} did not load in {self.timeout:g} s") from None
        except IgnoreRequest:
            await self.discard(load)
            raise
        except Exception as exc:  # Playwright's errors: a crashed page, a refused navigation
            kind = "browser_crashed" if "crash" in str(exc).lower() else "browser_failed"
            self.count(f"errors/{kind}")
            logger.warning("%s: the browser could not load it (%s); skipped", request.url, str(exc).splitlines()[0])
            await self.discard(load)
            raise IgnoreRequest(f"{kind}: {request.url}") from None
        finally:
            request.meta.pop("playwright_page_methods", None)  # not kept with a request queued again
            self.starting.pop(id(request), None)
            self.loads.pop(load.page, None)
            await self.check_memory()
        return page

    async def discard(self, load: PageLoad) -> None:
        """Close the page of a failed load; a browser that cannot even do that is restarted."""
        page = load.page
        if page is None or page.is_closed():
            return
        try:
            async with asyncio.timeout(CLOSE_SECONDS):
                await page.close(run_before_unload=False)
        except Exception:  # a hung or dead browser: start afresh
            await self.restart("a page could not be closed")

    async def _create_page(self, request: Request, spider: Any) -> Any:
        page = await super()._create_page(request, spider)
        load = self.starting[id(request)]
        load.page = page
        self.loads[page] = load
        page.on("response", load.on_response)
        page.on("request", load.on_request)
        page.on("requestfinished", load.on_request_done)
        page.on("requestfailed", load.on_request_done)
        return page

    def _make_request_handler(self, *args: Any, **kwargs: Any) -> Any:
        """scrapy-playwright's route handler, behind one that answers what this crawl already fetched."""
        handler = super()._make_request_handler(*args, **kwargs)

        async def route_request(route: Any, playwright_request: Any) -> None:
            known = self.fetched.get(playwright_request.url) if playwright_request.method == "GET" else None
            if known is not None and not playwright_request.is_navigation_request():
                status, headers, body = known
                self.count("browser/reused")
                await route.fulfill(status=status, headers=dict(headers), body=body)
                return
            await handler(route, playwright_request)

        return route_request

    def remember(self, exchange: Exchange) -> None:
        if exchange.status != 200 or exchange.method != "GET" or exchange.url in self.fetched:
            return
        if self.fetched_bytes + len(exchange.body) > MAX_REUSE_BYTES:
            return
        self.fetched[exchange.url] = (exchange.status, exchange.headers, exchange.body)
        self.fetched_bytes += len(exchange.body)

    async def refuse(self, playwright_request: Any) -> bool:
        """Whether the browser must not send this request (scrapy-playwright aborts it): out of the source's
        scope and its requisite hosts, or forbidden by the host's robots.txt (read first, once per host, as
        Scrapy reads it for any request)."""
        url = playwright_request.url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return False  # data:, blob: never leave the browser
        source = self.source
        reason = None
        if not in_scope(parts.netloc, source.scope) and not requisite_host(parts.hostname or "", source):
            reason = "offsite"
        elif not await self.robots_allow(url):
            reason = "robots.txt"
        if reason is None:
            return False
        skip = getattr(self.crawler.spider, "skip", None)
        if skip is not None:
            skip(url, f"requisite_{reason}")  # counted once per URL with the requisites, not the pages
        else:
            self.count(f"requisites/skipped/{reason}")
        return True

    async def robots_allow(self, url: str) -> bool:
        """Whether the host's robots.txt lets us fetch `url`, through Scrapy's robots.txt middleware (which
        reads each host's file once per crawl); True when robots.txt is not obeyed or cannot be read."""
        from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware

        engine = self.crawler.engine
        middlewares = engine.downloader.middleware.middlewares if engine is not None else ()
        robots = next((m for m in middlewares if isinstance(m, RobotsTxtMiddleware)), None)
        if robots is None:
            return True
        probe = Request(url, meta={"dont_obey_robotstxt": True})
        try:
            parser = await robots.robot_parser(probe)
        except Exception:  # an unreadable robots.txt allows everything, as Scrapy has it
            return True
        if parser is None:
            return True
        agent = self.crawler.settings.get("ROBOTSTXT_USER_AGENT") or self.user_agent
        return bool(parser.allowed(url, agent))

    async def check_memory(self) -> None:
        """Between pages: a browser grown past its bound is closed, and the next page starts a new one."""
        used = browser_memory()
        if self.crawler.stats is not None and used:
            self.crawler.stats.max_value("samizdat/browser/max_memory_mb", used // (1024 * 1024))
        if used > self.max_memory:
            await self.restart(f"it held {used // (1024 * 1024)} MB, more than browser_max_memory_mb")

    async def restart(self, why: str) -> None:
        browser = getattr(self, "browser", None)
        if browser is None:
            return
        logger.warning("restarting the browser: %s", why)
        self.count("browser/restarts")
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_SECONDS * 2):
                await browser.close()
        # scrapy-playwright launches a new browser for the next page once the old one is gone.
        self.context_wrappers.clear()
        if hasattr(self, "browser") and self.browser is browser:
            del self.browser

    def count(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"samizdat/{key}")


def requisite_host(host: str, source: Source) -> bool:
    """A host the source allows requisites from (`requisite_hosts`; "*" any; subdomains of a named host)."""
    host = host.lower()
    for allowed in source.requisite_hosts:
        allowed = allowed.lower()
        if allowed == "*" or host == allowed or host.endswith("." + allowed):
            return True
    return False


class PageLoad:
    """What one page load gathers: every response the browser received, read as it arrives."""

    def __init__(self, handler: BrowserDownloadHandler, request: Request) -> None:
        self.handler = handler
        self.request = request
        self.page: Any = None
        self.reads: list[asyncio.Task[Exchange | None]] = []
        self.refused: dict[str, int] = {}
        self.in_flight = 0

    def on_request(self, _request: Any) -> None:
        self.in_flight += 1

    def on_request_done(self, _request: Any) -> None:
        self.in_flight = max(0, self.in_flight - 1)

    async def settle(self, _page: Any) -> None:
        """Once loaded, until nothing has been out for a moment (or SETTLE_SECONDS have passed): a script's
        fetch of the page's content, and what it does with it, end up in the DOM that is read."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_SECONDS
        while loop.time() < deadline:
            quiet = self.in_flight == 0
            await asyncio.sleep(QUIET_SECONDS if quiet else 0.05)
            if quiet and self.in_flight == 0:
                return

    def on_response(self, response: Any) -> None:
        self.reads.append(asyncio.ensure_future(self.read(response)))

    async def read(self, response: Any) -> Exchange | None:
        request = response.request
        navigation = request.is_navigation_request() and request.frame == self.page.main_frame
        if not navigation and response.url in self.handler.fetched:
            return None  # answered from what this crawl fetched and archived before
        kind = request.resource_type or "other"
        if kind == "document" and not navigation:
            kind = "iframe"  # a frame's document is a requisite of the page, not a page of the crawl
        limit = self.handler.max_page_bytes if navigation else self.handler.max_requisite_bytes
        headers = await response.headers_array()
        pairs = [(h["name"], h["value"]) for h in headers]
        length = next((v for k, v in pairs if k.lower() == "content-length"), "")
        body = b""
        if 300 <= response.status < 400 or response.status in (204, 304):
            pass  # no body to read: a redirect hop, or nothing
        elif length.isdigit() and limit and int(length) > limit:
            return self.too_large(response.url, navigation)
        else:
            try:
                body = await response.body()
            except Exception:  # the page moved on, or the browser dropped the body
                self.refused["no_body"] = self.refused.get("no_body", 0) + 1
                return None
            if limit and len(body) > limit:
                return self.too_large(response.url, navigation)
        address = None
        with contextlib.suppress(Exception):
            server = await response.server_addr()
            address = server["ipAddress"] if server else None
        try:
            reason = response.status_text or HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        exchange = Exchange(
            url=response.url,
            method=request.method,
            request_headers=[(h["name"], h["value"]) for h in await request.headers_array()],
            status=response.status,
            reason=reason,
            headers=[(k, v) for k, v in pairs if k.lower() not in HEADERS_NOT_KEPT],
            body=body,
            resource_type="document" if navigation else kind,
            ip_address=address,
        )
        if not navigation:
            self.handler.remember(exchange)
        return exchange

    def too_large(self, url: str, navigation: bool) -> None:
        self.refused["too_large"] = self.refused.get("too_large", 0) + 1
        if navigation:
            self.refused["document_too_large"] = 1
        logger.info("%s: larger than the browser capture's limit; not archived", url)

    async def finish(self, response: Response) -> Response:
        """Once the page has loaded: what is still coming back gets a moment, then the page is read."""
        if "playwright" not in response.flags or self.page is None:
            return response
        if "playwright_suggested_filename" in self.request.meta:
            return response  # a download, not a page: archived as it came
        rendered = response.body  # the DOM once settled (PageLoad.settle)
        if self.reads:
            _done, pending = await asyncio.wait(self.reads, timeout=SETTLE_SECONDS)
            for task in pending:
                task.cancel()
        exchanges = [t.result() for t in self.reads if t.done() and not t.cancelled() and t.exception() is None]
        found = [e for e in exchanges if e is not None]
        if self.refused.get("document_too_large") or len(rendered) > self.handler.max_page_bytes:
            self.handler.count("errors/too_large")
            raise IgnoreRequest(f"too_large: {response.url} is larger than max_page_bytes")
        # The main frame's last navigation answered with content (earlier ones were its redirect hops).
        navigations = [e for e in found if e.resource_type == "document" and not 300 <= e.status < 400]
        document = next((e for e in navigations if e.url == response.url), navigations[-1] if navigations else None)
        if document is None:
            self.handler.count("errors/browser_failed")
            raise IgnoreRequest(f"browser_failed: the browser kept no document for {response.url}")
        content_type = next((v for k, v in document.headers if k.lower() == "content-type"), "")
        if content_type.split(";")[0].strip().lower() not in HTML_TYPES:
            rendered = b""  # an image, a JSON file: the browser's view of it is no page
        others = [e for e in found if e is not document]
        page = BrowserPage(rendered, response.encoding if rendered else "", others, dict(self.refused))
        self.request.meta[BROWSER_META] = page
        return HtmlResponse(
            url=document.url,
            status=document.status,
            headers=document.headers,
            body=document.body,
            request=self.request,
            flags=["browser"],
            ip_address=None,
        )


def browser_memory() -> int:
    """Memory the browser's processes (Chromium's, among this process's descendants) hold, in bytes."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, _, rest = stat.partition("(")[2].rpartition(")")
        pid = int(entry.name)
        names[pid] = name
        children.setdefault(int(rest.split()[1]), []).append(pid)
    total, todo = 0, list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        if not names.get(pid, "").startswith("chrom"):
            continue
        try:  # proportional set size: the libraries and memory Chromium's processes share are counted once
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            continue
    return total


def archive_browser_page(
    writer: Any, crawler: Crawler, request: Request, response: Response, location: WarcLocation
) -> Response:
    """After the recorder archived the document's response at `location`: the rendered page (a conversion
    record) and what else the browser fetched (marked requisites), each URL once per crawl. Returns the
    response the spider reads: the rendered page, as `samizdat reindex` reads it back."""
    page: BrowserPage | None = request.meta.pop(BROWSER_META, None)
    if page is None:
        return response
    stats = crawler.stats
    spider = crawler.spider
    store = getattr(spider, "store", None)
    seen: set[str] = crawler.__dict__.setdefault("samizdat_browser_archived", set())
    limit = crawler.settings.getint("SAMIZDAT_BROWSER_MAX_REQUISITES", 100)
    archived = 0
    result = response
    if page.rendered:
        content_type = f"text/html; charset={page.encoding or 'utf-8'}"
        writer.write_rendered(location, response.url, page.rendered, content_type)
        document = Capture(response.url, response.status, header_list(response), b"", location.date)
        capture = rendered_capture(
            document, Capture(response.url, 200, [("Content-Type", content_type)], page.rendered, "")
        )
        result = response.replace(body=capture.payload, headers=capture.headers, encoding=page.encoding or "utf-8")
    for exchange in page.exchanges:
        if exchange.url in seen or exchange.url == response.url:
            continue
        if archived >= limit:
            if hasattr(spider, "skip"):
                spider.skip(exchange.url, "requisite_limit")
            continue
        seen.add(exchange.url)
        archived += 1
        # Unchanged since the last crawl: a revisit record, as for a requisite fetched over HTTP.
        previous = store.last_capture(exchange.url) if store is not None and exchange.status == 200 else None
        written = writer.write_exchange(
            url=exchange.url,
            method=exchange.method,
            request_headers=exchange.request_headers,
            status=exchange.status,
            reason=exchange.reason,
            response_headers=exchange.headers,
            body=exchange.body,
            ip_address=exchange.ip_address,
            # The main frame's redirect hops are the page's, as Scrapy's own hops are: no resource type.
            resource_type=None if exchange.resource_type == "document" else exchange.resource_type,
            same_as=previous,
        )
        if store is not None and exchange.status == 200 and not written.revisit:
            with stopping_when_full(crawler):
                store.record_capture(
                    Original(exchange.url, written.date, written.digest, written.warc_file, written.offset)
                )
        if stats is not None:  # the same figures as the requisites fetched over HTTP (crawler.run)
            stats.inc_value("samizdat/requisites/archived_responses")
            if written.revisit:
                stats.inc_value("samizdat/requisites/revisits")
            else:
                stats.inc_value("samizdat/requisites/archived_bytes", len(exchange.body))
    if stats is not None:
        stats.inc_value("samizdat/browser/pages")
        for reason, count in page.refused.items():
            stats.inc_value(f"samizdat/requisites/failed/{reason}", count)
    return result


def header_list(response: Response) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, values in response.headers.items() for v in values]
