"""Politeness as the server sees it: a real site on 127.0.0.1 logs when each request arrives, a real Scrapy
crawl (crawler/settings.py, in a subprocess: Twisted's reactor runs once per process) walks it."""

from __future__ import annotations

import email.utils
import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from samizdat.crawler.politeness import RECOVER_AFTER, retry_after_seconds

PAGES = 20

CRAWL_SCRIPT = textwrap.dedent(
    """
    import json
    import sys

    import scrapy
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings


    class Walker(scrapy.Spider):
        name = "walker"

        def parse(self, response):
            yield from response.follow_all(css="a")


    config = json.loads(sys.argv[1])
    base = Settings()
    base.setmodule("samizdat.crawler.settings", priority="project")
    # samizdat's own components want a data directory and a Source; politeness lives in DOWNLOAD_HANDLERS.
    for name in ("DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "ITEM_PIPELINES", "EXTENSIONS"):
        components = {k: (None if k.startswith("samizdat.crawler.") else v) for k, v in base.getdict(name).items()}
        base.set(name, components, priority="cmdline")
    if base["SCHEDULER"].startswith("samizdat.crawler."):
        base.set("SCHEDULER", "scrapy.core.scheduler.Scheduler", priority="cmdline")
    process = CrawlerProcess(base)
    crawlers = []
    for spec in config["crawlers"]:
        crawler = process.create_crawler(Walker)
        settings = base.copy()  # as crawler/run.py gives each source its own settings
        settings.update({"SAMIZDAT_DELAY": spec["delay"], "USER_AGENT": spec["user_agent"]}, priority="spider")
        crawler.settings = settings
        process.crawl(crawler, name=spec["user_agent"], start_urls=[config["start"]])
        crawlers.append(crawler)
    process.start()
    print(json.dumps([crawler.stats.get_stats() for crawler in crawlers], default=str))
    """
)


@dataclass
class Hit:
    path: str
    user_agent: str
    arrived: float  # time.monotonic() once the request line and headers were read
    answering: float = float("inf")  # just before the response body is written


@dataclass
class Site:
    """A small site: robots.txt, an index linking PAGES pages, a redirect, a disallowed page."""

    crawl_delay: float | None
    slow_seconds: float = 0.0
    pages: int = PAGES
    # path -> the answers it gives first, in order: (status, Retry-After header or None); then its page
    throttled: dict[str, list[tuple[int, str | None]]] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def body(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if self.throttled.get(path):
            status, retry_after = self.throttled[path].pop(0)
            if retry_after and retry_after.startswith("date+"):  # an HTTP date that many seconds from now
                moment = datetime.now(UTC) + timedelta(seconds=int(retry_after[5:]))
                retry_after = email.utils.format_datetime(moment, usegmt=True)
            headers = {"Content-Type": "text/plain", **({"Retry-After": retry_after} if retry_after else {})}
            return status, headers, b"slow down"
        if path == "/robots.txt":
            lines = ["User-agent: *", "Disallow: /private/"]
            if self.crawl_delay is not None:
                lines.append(f"Crawl-delay: {self.crawl_delay}")
            return 200, {"Content-Type": "text/plain"}, "\n".join(lines).encode()
        if path == "/old":
            return 301, {"Location": "/moved", "Content-Type": "text/plain"}, b"moved to /moved"
        if path == "/":
            links = [f"/page/{i}" for i in range(self.pages)] + ["/old", "/private/secret"]
        elif path == "/moved" or path.startswith("/page/"):
            links = ["/moved", f"/page/{self.pages - 1}"]  # already seen: the start URL would be fetched again
        else:
            return 404, {"Content-Type": "text/plain"}, b"no such page"
        anchors = "".join(f'<a href="{link}">{link}</a> ' for link in links)
        html = f"<html><head><title>{path}</title></head><body><p>A page at {path}.</p>{anchors}</body></html>"
        return 200, {"Content-Type": "text/html; charset=utf-8"}, html.encode()


def make_handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers and Scrapy's connection pool use it

        def do_GET(self) -> None:
            hit = Hit(self.path, self.headers.get("User-Agent", ""), time.monotonic())
            with site.lock:
                site.hits.append(hit)
            status, headers, body = site.body(self.path)
            if site.slow_seconds and status == 200:
                time.sleep(site.slow_seconds)
            self.send_response(status)
            for name, value in [*headers.items(), ("Content-Length", str(len(body)))]:
                self.send_header(name, value)
            self.end_headers()
            # Taken before the body goes out, so the client cannot have the whole response earlier.
            hit.answering = time.monotonic()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def start(site: Site) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(site))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def crawl(tmp_path: Path, start: str, crawlers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run the crawl in a subprocess; returns each crawler's Scrapy stats."""
    script = tmp_path / "crawl.py"
    script.write_text(CRAWL_SCRIPT)
    config = json.dumps({"start": start, "crawlers": crawlers})
    result = subprocess.run(
        [sys.executable, str(script), config],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    stats: list[dict[str, Any]] = json.loads(result.stdout.strip().splitlines()[-1])
    return stats


def expected_paths(pages: int = PAGES) -> set[str]:
    return {"/robots.txt", "/", "/old", "/moved", *(f"/page/{i}" for i in range(pages))}


def assert_spaced(hits: list[Hit], delay: float) -> None:
    """One request at a time, each sent at least `delay` after the previous response went out (exact)."""
    hits = sorted(hits, key=lambda h: h.arrived)
    for before, after in pairwise(hits):
        gap = after.arrived - before.answering
        assert gap >= delay, f"{after.path} arrived {gap:.4f} s after {before.path} was answered; delay {delay}"


@pytest.mark.parametrize(
    ("source_delay", "crawl_delay"),
    [(0.04, 0.1), (0.1, 0.04)],
    ids=["crawl-delay-wins", "source-delay-wins"],
)
def test_requests_to_a_host_are_spaced_by_the_larger_delay(serve, tmp_path, source_delay, crawl_delay):
    site = Site(crawl_delay=crawl_delay, slow_seconds=0.03)
    stats = crawl(tmp_path, serve(site), [{"user_agent": "samizdat-test", "delay": source_delay}])

    hits = sorted(site.hits, key=lambda h: h.arrived)
    assert hits[0].path == "/robots.txt"
    paths = [h.path for h in hits]
    assert set(paths) == expected_paths(), "the whole site is walked, /private/ never"
    assert len(paths) == len(set(paths))
    assert_spaced(hits, max(source_delay, crawl_delay))
    # the redirect hop passes the gate as well
    old, moved = paths.index("/old"), paths.index("/moved")
    assert old < moved
    assert hits[moved].arrived - hits[old].answering >= max(source_delay, crawl_delay)
    assert stats[0]["samizdat/politeness/waits"] > 0
    assert stats[0]["samizdat/politeness/max_wait_seconds"] >= max(source_delay, crawl_delay) / 2


def test_without_any_delay_requests_overlap(serve, tmp_path):
    site = Site(crawl_delay=None, slow_seconds=0.2)
    stats = crawl(tmp_path, serve(site), [{"user_agent": "samizdat-test", "delay": 0.0}])

    hits = sorted(site.hits, key=lambda h: h.arrived)
    assert hits[0].path == "/robots.txt"
    assert {h.path for h in hits} == expected_paths()
    most_at_once = max(sum(1 for o in hits if o.arrived <= h.arrived < o.answering) for h in hits)
    assert most_at_once >= 2, "Scrapy's concurrency is kept when no delay applies"
    assert "samizdat/politeness/waits" not in stats[0]


@pytest.mark.parametrize(
    ("delays", "crawl_delay"),
    [((0.02, 0.08), None), ((0.0, 0.0), 0.08)],
    ids=["larger-source-delay", "crawl-delay-for-both"],
)
def test_two_sources_on_one_host_share_one_gate(serve, tmp_path, delays, crawl_delay):
    site = Site(crawl_delay=crawl_delay, slow_seconds=0.01)
    specs = [{"user_agent": f"samizdat-test-{i}", "delay": delay} for i, delay in enumerate(delays)]
    crawl(tmp_path, serve(site), specs)

    hits = sorted(site.hits, key=lambda h: h.arrived)
    assert hits[0].path == "/robots.txt"
    for spec in specs:
        own = [h.path for h in hits if h.user_agent == spec["user_agent"]]
        assert own[0] == "/robots.txt"
        assert set(own) == expected_paths(), spec
    assert_spaced(hits, max(*delays, crawl_delay or 0.0))


def test_a_429_or_503_holds_the_host_until_its_retry_after_and_slows_it_down(serve, tmp_path):
    # Each asked for again after its Retry-After (seconds, then an HTTP date), by Scrapy's RetryMiddleware.
    site = Site(crawl_delay=None, pages=3, throttled={"/page/0": [(429, "2")], "/page/1": [(503, "date+3")]})
    # A small delay: one request at a time, so none is already on its way when the 429 comes.
    stats = crawl(tmp_path, serve(site), [{"user_agent": "samizdat-test", "delay": 0.05}])

    hits = sorted(site.hits, key=lambda h: h.arrived)
    paths = [h.path for h in hits]
    assert set(paths) == expected_paths(3) and paths.count("/page/0") == 2 and paths.count("/page/1") == 2
    refused = {path: next(h for h in hits if h.path == path) for path in ("/page/0", "/page/1")}
    # An HTTP date counts whole seconds: 3 s ahead is 2 s and a fraction by the time it is read.
    for path, seconds in (("/page/0", 2.0), ("/page/1", 2.0)):
        after = [h for h in hits if h.arrived > refused[path].answering]
        assert after and after[0].arrived - refused[path].answering >= seconds, (path, "the host was not held")
    # From the first 429 on, one request at a time, spaced by the backoff (1 s, then 2 s).
    assert_spaced([h for h in hits if h.arrived >= refused["/page/0"].arrived], 1.0)
    assert stats[0]["samizdat/politeness/slowed_down"] == 2
    assert stats[0]["retry/count"] == 2


def test_a_slowed_host_recovers_its_pace_after_answering_well(serve, tmp_path):
    site = Site(crawl_delay=None, pages=24, throttled={"/page/23": [(429, "1")]})  # the first page asked for
    crawl(tmp_path, serve(site), [{"user_agent": "samizdat-test", "delay": 0.05}])
    hits = sorted(site.hits, key=lambda h: h.arrived)
    refused = next(i for i, h in enumerate(hits) if h.path == "/page/23")
    gaps = [later.arrived - earlier.arrived for earlier, later in pairwise(hits[refused:])]
    # the backoff of 1 s holds for RECOVER_AFTER answers, then ends: the source's own 0.05 s again
    seen = [(h.path, round(h.arrived - hits[0].arrived, 2)) for h in hits]
    assert len(gaps) > RECOVER_AFTER + 3, seen
    assert min(gaps[:RECOVER_AFTER]) >= 0.95, seen
    assert max(gaps[RECOVER_AFTER + 1 :]) < 0.9, seen


def test_retry_after_is_read_as_seconds_or_an_http_date():
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC).timestamp()
    assert retry_after_seconds(b"120", now) == 120.0
    assert retry_after_seconds("Wed, 02 Dec 2026 12:01:30 GMT", now) == 90.0
    assert retry_after_seconds("Wed, 02 Dec 2026 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds(b"soon", now) is None and retry_after_seconds(None, now) is None
