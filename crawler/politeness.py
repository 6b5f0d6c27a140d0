"""Politeness across sources: one gate per host for the whole crawl process.

Scrapy spaces requests start-to-start, per crawler, with random jitter, and ignores robots.txt `Crawl-delay`.
samizdat runs one crawler per source in one process, so two sources on one site would each keep their own
pace, and a slow response followed by network or CPU jitter can bring two requests closer than the delay
at the server. Here every http(s) request passes a per-host gate inside the download handler, at send time:
redirect hops, retries and robots.txt fetches pass it too, and the download timeout does not count the wait.

When a host's delay is above zero, one request at a time goes to it and the next one is sent no earlier
than `delay` after the previous one completed (response or failure). That is causal, so the server sees
the same spacing whatever the load. A host's delay is the largest `SAMIZDAT_DELAY` of the crawlers that
have sent to it and its robots.txt `Crawl-delay` for our user agent, read by the handler as the file
arrives. A delay of zero means no gate at all, except that nothing else goes to a host while its
robots.txt is being fetched. A 429 or 503 answer slows the host down (a backoff that doubles with each,
from 1 s up to a minute) and holds every request to it, the retry included, until its Retry-After has
passed; the backoff halves after each RECOVER_AFTER answers in a row that did not ask to slow down, and
ends below 1 s, as a host that recovered is crawled at its own pace again.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import weakref
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.misc import build_from_crawler, load_object

logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}
SLOW_DOWN = frozenset({429, 503})  # "too many requests", "unavailable": Scrapy's RetryMiddleware asks again
MAX_BACKOFF = 60.0  # seconds between requests at most, however often a host says slow down
MAX_RETRY_AFTER = 600.0  # a longer Retry-After is cut to this: the retry still waits 10 minutes
RECOVER_AFTER = 10  # answers in a row without a 429 or 503 that halve a host's backoff


def retry_after_seconds(value: bytes | str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds from now: delay-seconds, or an HTTP date (RFC 9110 10.2.3); None if absent or
    unreadable, 0 for a date already past."""
    if not value:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    moment = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - moment)


def host_key(url: str) -> str:
    """host:port, the default port spelled out, so that `http://a/` and `http://a:80/` share one gate."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or DEFAULT_PORTS.get(parts.scheme, 0)}"


class HostGate:
    """Who may send to one host, and when. Once a host is gated it stays gated; only a backoff shrinks."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.source_delay = 0.0
        self.crawl_delay = 0.0
        self.backoff = 0.0  # grown by each 429 or 503: the host asked us to slow down
        self.answered_well = 0  # answers since the last 429 or 503 or the last halving of the backoff
        self.not_before = -math.inf  # event-loop time a Retry-After asked us to wait for
        self.in_flight = 0
        self.robots_in_flight = 0
        self.last_done = -math.inf  # event-loop time the last request to the host completed
        self.turn = asyncio.Lock()  # asyncio's Lock is FIFO: waiting requests keep Scrapy's order
        self.idle = asyncio.Event()
        self.idle.set()

    @property
    def delay(self) -> float:
        return max(self.source_delay, self.crawl_delay, self.backoff)

    def gated(self) -> bool:
        # While a robots.txt is out its Crawl-delay is unknown, so nothing else goes to the host, even from
        # another source with no delay of its own.
        return self.delay > 0 or self.robots_in_flight > 0

    def raise_crawl_delay(self, seconds: float) -> None:
        if seconds > self.crawl_delay:
            self.crawl_delay = seconds
            logger.info("robots.txt Crawl-delay %.3g s applies to %s", seconds, self.host)

    def slow_down(self, status: int, retry_after: float | None) -> None:
        """A 429 or 503: from now on one request at a time, spaced by a delay that doubles with each such
        answer (1 s, 2 s, ... up to MAX_BACKOFF), and none before its Retry-After (at most MAX_RETRY_AFTER)."""
        self.backoff = min(max(self.backoff * 2, 1.0), MAX_BACKOFF)
        self.answered_well = 0
        wait = min(retry_after, MAX_RETRY_AFTER) if retry_after is not None else 0.0
        self.not_before = max(self.not_before, asyncio.get_running_loop().time() + wait)
        logger.info(
            "%s answered %d: next request in %.3g s or more, then %.3g s apart",
            self.host,
            status,
            max(wait, self.backoff),
            self.delay,
        )

    def recover(self) -> None:
        """An answer that did not ask to slow down."""
        if not self.backoff:
            return
        self.answered_well += 1
        if self.answered_well >= RECOVER_AFTER:
            self.answered_well = 0
            self.backoff = self.backoff / 2 if self.backoff >= 2 else 0.0
            logger.info("%s recovered: requests %.3g s apart", self.host, self.delay)

    async def enter(self, robots: bool) -> float:
        """Wait for this host's turn and take it; returns the seconds spent waiting (0.0 if none)."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        waited = False
        if self.gated():
            waited = self.turn.locked()
            async with self.turn:
                # Re-checked after every wake-up: requests sent before the host was gated may still be out,
                # and a robots.txt read meanwhile may have raised the delay.
                while self.gated():
                    if self.in_flight:
                        waited = True
                        await self.idle.wait()
                        continue
                    remaining = max(self.last_done + self.delay, self.not_before) - loop.time()
                    if remaining <= 0:  # asyncio may wake a timer a little early: never send on that
                        break
                    waited = True
                    await asyncio.sleep(remaining)
        self.in_flight += 1
        self.robots_in_flight += robots
        self.idle.clear()
        return loop.time() - start if waited else 0.0

    def leave(self, robots: bool, sent: bool = True) -> None:
        self.in_flight -= 1
        self.robots_in_flight -= robots
        if sent:
            self.last_done = asyncio.get_running_loop().time()
        if not self.in_flight:
            self.idle.set()


def is_robots_txt(request: Request) -> bool:
    """The robots.txt fetch, or a redirect hop of it."""
    first_url: str = (request.meta.get("redirect_urls") or [request.url])[0]
    return urlsplit(first_url).path == "/robots.txt"


# One registry per event loop, which in a crawl process is one per process (Twisted's reactor runs once);
# keying by loop keeps a gate's Lock and clock from ever meeting a different loop.
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, HostGate]] = weakref.WeakKeyDictionary()


def gate_for(url: str) -> HostGate:
    gates = _gates.setdefault(asyncio.get_running_loop(), {})
    key = host_key(url)
    if key not in gates:
        gates[key] = HostGate(key)
    return gates[key]


class PoliteDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler behind the host gate. Wants `DOWNLOAD_DELAY = 0` (Scrapy's own spacing
    would add to ours) and reads this crawler's delay from `SAMIZDAT_DELAY` (float seconds)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.delay = settings.getfloat("SAMIZDAT_DELAY")
        self.obey_robots = settings.getbool("ROBOTSTXT_OBEY")
        self.robots_user_agent: str | None = settings.get("ROBOTSTXT_USER_AGENT")
        self.default_user_agent: str = settings.get("USER_AGENT")
        self.robots_parser: type[RobotParser] = load_object(settings["ROBOTSTXT_PARSER"])

    async def download_request(self, request: Request) -> Response:
        gate = gate_for(request.url)
        gate.source_delay = max(gate.source_delay, self.delay)
        robots = is_robots_txt(request)
        self.count_wait(await gate.enter(robots))
        stopping = self.stopping()
        if stopping is not None and not robots:
            # Waiting for the host's turn when the crawl began to stop: not sent now ("nothing new is
            # fetched"), kept in the frontier for the next run.
            gate.leave(robots, sent=False)
            stopping.keep(request)
            raise IgnoreRequest("kept for the next run: the crawl is stopping")
        try:
            response = await super().download_request(request)
            # Read here, before the gate reopens, so that the very next request to the host (from any
            # crawler) already waits for it; RobotsTxtMiddleware parses the file only later.
            if robots and self.obey_robots and 200 <= response.status < 300:
                self.register_crawl_delay(request, response)
            if response.status in SLOW_DOWN:
                # Before the gate reopens: the retry, and every other request to the host, waits for it.
                gate.slow_down(response.status, retry_after_seconds(response.headers.get(b"Retry-After")))
                self.count_slow_down()
            else:
                gate.recover()
            return response
        finally:
            gate.leave(robots)

    def stopping(self) -> Any:
        """The crawl's frontier when the crawl is winding down (Ctrl-C, SIGTERM, its time limit), else None."""
        scheduler = getattr(getattr(self.crawler.engine, "_slot", None), "scheduler", None)
        return scheduler if getattr(scheduler, "draining", None) and hasattr(scheduler, "keep") else None

    def register_crawl_delay(self, request: Request, response: Response) -> None:
        parser = build_from_crawler(self.robots_parser, self.crawler, response.body)
        user_agent = self.robots_user_agent or request.headers.get(b"User-Agent") or self.default_user_agent
        seconds = parser.crawl_delay(user_agent)
        if seconds:
            # Every hop's host: after an http -> https redirect the pages are fetched where robots.txt lives.
            for url in [*request.meta.get("redirect_urls", []), request.url]:
                gate_for(url).raise_crawl_delay(seconds)

    def count_slow_down(self) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("samizdat/politeness/slowed_down")

    def count_wait(self, seconds: float) -> None:
        stats: Any = self.crawler.stats
        if seconds and stats is not None:
            stats.inc_value("samizdat/politeness/waits")
            stats.max_value("samizdat/politeness/max_wait_seconds", round(seconds, 3))
