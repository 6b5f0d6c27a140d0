"""Serve the sample sites over real HTTP on 127.0.0.1: one ThreadingHTTPServer per site, port 0.

Page requisites (requisites.py): the four default sites' pages link stylesheets (a CSS @import chain
a.css -> b.css -> c.css), a web font, images (srcset, <picture>), a favicon and CSS background images,
all on their own host; the Hugo blog's pages also link a stylesheet on the CDN, a separate server on
its own port addressed as http://localhost:PORT (another host name than the sites' 127.0.0.1), whose
robots.txt disallows /private/ (the stylesheet's header background, /private/pixel.png). Its requests
are logged like the sites' (site "cdn"); `SampleServer.cdn_url` is its base URL, and the JSON line of
addresses `main` prints carries it under the key "cdn" beside the sites.

One page is built by JavaScript: the WordPress site's /live/rent-strike-diary/ (linked from its menu)
is an empty <main id="live-diary"> and a script (/wp-content/themes/twentytwenty/assets/js/live.js)
that fetches /wp-json/tenants-voice/v1/live-diary (data/live-diary.toml: title, author, published,
paragraphs) and builds the article from it, then sets data-rendered="yes" on <html>. Fetched as HTML
it holds no article text; rendered in a browser it is a full article.

Every request is recorded in `SampleServer.requests` (and, given a log path, appended to it as a JSON
line) so tests can check what a crawler actually asked for: robots.txt first, nothing disallowed,
no endless calendar walk, the gaps between requests to one host, conditional requests on a recrawl.
A record:

    site               the site's name ("blogger", ..., "campaign")
    method, path       "GET", "/2023/05/slug.html?m=1" (the request target as sent)
    status             the status answered (304 for a conditional request that matched)
    user_agent         the User-Agent header, "" when absent
    time               time.time() when the request arrived (its header had been read)
    port               the site's port (each site has its own)
    client_port        the client's port: one per connection, so it shows keep-alive reuse
    if_none_match      the If-None-Match header sent, or None
    if_modified_since  the If-Modified-Since header sent, or None
    bytes              the length of the body answered (0 for HEAD and 304)

Every 200 answer with a body carries a strong ETag (a hash of the body) unless the site set its own;
If-None-Match with it gets a 304, and so does If-Modified-Since on pages that have a Last-Modified
(the magazine's pages, the campaign site's articles); with `--ignore-conditional` every request is
answered whole, as by the many servers that ignore validators.

Articles can be edited, published, withheld and deleted while served, for recrawl and watch tests:
`SampleServer.edit(site, path, append)`, `.publish(site, path)`, `.withhold(site, path)` and
`.delete(site, path, status=410)` in the same process, or over the control endpoint (`serve_control()`;
`--control-port-file` on the command line), which the crawled sites know nothing of and which is never
in the request log. A withheld or deleted article is in no listing of its site (home page and its
pages, feeds, sitemaps, archives, label/tag/category/author pages, the WordPress REST API, the
magazine's contents) and its URL answers 404 (withheld) or the status it was deleted with (410 or 404);
a published one is listed in its place by its own date and answers 200 (see sites.Site):

    POST /edit      {"site": "wordpress", "path": "/2023/05/14/slug/", "append": "<p>...</p>"}
                    -> 200 {"site": ..., "path": ..., "edits": 1}
    POST /publish   {"site": ..., "path": ...} -> 200 {"site": ..., "path": ..., "state": "published", "status": 200}
    POST /withhold  {"site": ..., "path": ...} -> 200 {..., "state": "withheld", "status": 404}
    POST /delete    {"site": ..., "path": ..., "status": 410 (the default) or 404}
                    -> 200 {..., "state": "deleted", "status": 410}
    POST /reset     -> 200 {"undone": 3}: back to the start (every edit undone, deleted and published
                    articles as they were, those withheld at the start withheld again); the count is
                    the edits plus the articles not in their starting state
    GET  /          -> 200 {"sites": {name: base URL}, "edits": {site: {path: count}},
                            "withheld": {site: [path, ...]}, "deleted": {site: {path: status}}}

A bad request (unknown site or article path, a status other than 404 or 410, malformed JSON) gets
400 {"error": ...}. `--withhold SITE:PATH` (repeatable) starts the server with those articles withheld,
ready to be published (`SampleServer(withheld={site: [path, ...]})` in the same process).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from samizdat.sample_sites.requisites import CdnSite, serve_requisite
from samizdat.sample_sites.sites import DEFAULT_SITES, SITES, Response, Site

# Headers a 304 repeats from the 200 it stands for (RFC 9110 15.4.5).
NOT_MODIFIED_HEADERS = ("ETag", "Last-Modified", "Cache-Control", "Expires", "Vary", "Content-Location")


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True  # a crawler's keep-alive connection must not hold up stop()
    site: Site
    record: Any
    conditional = True  # False: answer every request whole, as many servers do (a recrawl then gets 200s)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up while its request is read (a crawler cancelling a download it finds too
        # large) is no fault of ours; anything else is printed, as socketserver does.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def body_etag(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest()[:20] + '"'


def etag_matches(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison: W/ prefixes are ignored; "*" matches any."""
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or etag.removeprefix("W/") in {t.removeprefix("W/") for t in tags}


class _Handler(BaseHTTPRequestHandler):
    server: _SiteServer
    protocol_version = "HTTP/1.1"
    arrived = 0.0

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no small write waits for an ACK

    def parse_request(self) -> bool:
        self.arrived = time.time()  # the request line is in; this is as early as a request is known
        return super().parse_request()

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def do_POST(self) -> None:
        self._reply(Response(405, b"Method Not Allowed", "text/plain; charset=UTF-8", {"Allow": "GET, HEAD"}), True)

    def _answer(self, send_body: bool) -> None:
        try:
            site = self.server.site
            response = serve_requisite(site.name, self.path.partition("?")[0]) or site.serve(self.path)
        except Exception:
            traceback.print_exc()  # a bug in the sample sites, not a planned fault: make it loud
            response = Response(500, b"Internal Server Error", "text/plain; charset=UTF-8")
        if response.status == 200 and response.body and "ETag" not in response.headers:
            response.headers = {**response.headers, "ETag": body_etag(response.body)}
        self._reply(self._maybe_not_modified(response) if self.server.conditional else response, send_body)

    def _maybe_not_modified(self, response: Response) -> Response:
        """304 for If-None-Match naming the page's ETag, or, when no If-None-Match was sent (RFC 9110
        13.2.2), for If-Modified-Since no older than its Last-Modified."""
        if response.status != 200:
            return response
        repeated = {k: v for k, v in response.headers.items() if k in NOT_MODIFIED_HEADERS}
        match, etag = self.headers.get("If-None-Match"), response.headers.get("ETag")
        if match is not None:
            return Response(304, b"", None, repeated) if etag and etag_matches(match, etag) else response
        since, modified = self.headers.get("If-Modified-Since"), response.headers.get("Last-Modified")
        if not since or not modified:
            return response
        try:
            if parsedate_to_datetime(modified) <= parsedate_to_datetime(since):
                return Response(304, b"", None, repeated)
        except (TypeError, ValueError):
            pass
        return response

    def _reply(self, response: Response, send_body: bool) -> None:
        sends_body = send_body and response.status != 304
        self.server.record(
            {
                "site": self.server.site.name,
                "method": self.command,
                "path": self.path,
                "status": response.status,
                "user_agent": self.headers.get("User-Agent", ""),
                "time": self.arrived,
                "port": self.server.server_port,
                "client_port": self.client_address[1],
                "if_none_match": self.headers.get("If-None-Match"),
                "if_modified_since": self.headers.get("If-Modified-Since"),
                "bytes": len(response.body) if sends_body else 0,
            }
        )
        try:
            self.send_response(response.status)
            if response.content_type:
                self.send_header("Content-Type", response.content_type)
            if response.status != 304:
                self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            # Head and body in one write, as a real server sends them: written apart, Nagle's algorithm
            # holds the body back until the client's delayed ACK of the head, 40 ms per keep-alive request.
            self._headers_buffer.append(b"\r\n")
            if sends_body:
                self._headers_buffer.append(response.body)
            self.flush_headers()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout on the slow post, say)

    def version_string(self) -> str:
        return self.server.site.server_header

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the request list is the log


class _ControlServer(ThreadingHTTPServer):
    daemon_threads = True
    sample: SampleServer


CONTROL_ROUTES = "POST /edit, /publish, /withhold, /delete or /reset, GET /"
# The JSON each POST wants, for the error message of a request without it.
CONTROL_BODIES = {
    "/edit": '{"site": ..., "path": ..., "append": "<p>...</p>"}',
    "/publish": '{"site": ..., "path": ...}',
    "/withhold": '{"site": ..., "path": ...}',
    "/delete": '{"site": ..., "path": ..., "status": 410 or 404}',
}
STATES = {"/publish": "published", "/withhold": "withheld", "/delete": "deleted"}


class _ControlHandler(BaseHTTPRequestHandler):
    """The edit/publish/withhold/delete/reset endpoint: on its own port, never linked from any site,
    never logged."""

    server: _ControlServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path != "/":
            return self._json(404, {"error": f"no {self.path}: {CONTROL_ROUTES}"})
        sample = self.server.sample
        state = {"edits": sample.edits(), "withheld": sample.withheld(), "deleted": sample.deleted()}
        self._json(200, {"sites": sample.urls, **state})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        sample = self.server.sample
        if self.path == "/reset":
            return self._json(200, {"undone": sample.reset()})
        if self.path not in CONTROL_BODIES:
            return self._json(404, {"error": f"no {self.path}: {CONTROL_ROUTES}"})
        try:
            request = json.loads(raw or b"null")
            if not isinstance(request, dict) or not all(isinstance(request.get(k), str) for k in ("site", "path")):
                raise ValueError(f"send {CONTROL_BODIES[self.path]}")
            site, path = request["site"], request["path"]
            if self.path == "/edit":
                count = sample.edit(site, path, str(request.get("append") or ""))
                return self._json(200, {"site": site, "path": path, "edits": count})
            if self.path == "/publish":
                status = sample.publish(site, path)
            elif self.path == "/withhold":
                status = sample.withhold(site, path)
            else:
                status = sample.delete(site, path, request.get("status", 410))
        except ValueError as error:  # json.JSONDecodeError is a ValueError too
            return self._json(400, {"error": str(error)})
        self._json(200, {"site": site, "path": path, "state": STATES[self.path], "status": status})

    def _json(self, status: int, data: Any) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class SampleServer:
    """The sample sites, each on its own port of 127.0.0.1.

    By default the four sites the default crawl knows (DEFAULT_SITES); `campaign` (CampaignSite's
    options: articles, per_page, dead_links, crawl_delay; {} for its defaults) adds the campaign site,
    and `sites` names exactly which to serve. `withheld` ({site: [article path, ...]}) names articles
    not published yet when the server starts (and again after a reset)."""

    def __init__(
        self,
        log_path: str | os.PathLike[str] | None = None,
        slow_seconds: float = 1.5,
        sites: Iterable[str] | None = None,
        campaign: Mapping[str, Any] | None = None,
        conditional: bool = True,
        withheld: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        names = list(sites) if sites is not None else [*DEFAULT_SITES, *(["campaign"] if campaign is not None else [])]
        unknown = [n for n in names if n not in SITES]
        if unknown:
            raise ValueError(f"no sample site named {unknown[0]!r}; the sites are {', '.join(SITES)}")
        self.urls: dict[str, str] = {}
        self.sites: dict[str, Site] = {}
        self.requests: list[dict[str, Any]] = []  # appended under a lock; read a copy with list(...)
        self.control_url: str | None = None
        self._lock = threading.Lock()
        self._log = open(log_path, "a", encoding="utf-8") if log_path else None  # noqa: SIM115 (closed in stop)
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []
        self._running: list[ThreadingHTTPServer] = []
        # The CDN: its own port, addressed as localhost so that it is another host than the sites.
        cdn = _SiteServer(("127.0.0.1", 0), _Handler)
        self.cdn_url = f"http://localhost:{cdn.server_port}"
        cdn.site = CdnSite(self.cdn_url)
        cdn.record = self._record
        cdn.conditional = conditional
        self._servers.append(cdn)
        for name in names:
            server = _SiteServer(("127.0.0.1", 0), _Handler)
            base = f"http://127.0.0.1:{server.server_port}"
            options = dict(campaign or {}) if name == "campaign" else {}
            server.site = SITES[name](base, slow_seconds=slow_seconds, **options)
            server.site.cdn = self.cdn_url
            server.record = self._record
            server.conditional = conditional
            self.urls[name] = base
            self.sites[name] = server.site
            self._servers.append(server)
        for name, paths in (withheld or {}).items():
            try:
                self._site(name).withhold_from_start(paths)
            except ValueError:
                self._close()  # nothing serves yet: just free the ports
                raise

    def _close(self) -> None:
        for server in self._servers:
            server.server_close()

    def start(self) -> SampleServer:
        for server in self._servers:
            self._run(server)
        return self

    def _run(self, server: ThreadingHTTPServer) -> None:
        name = server.site.name if isinstance(server, _SiteServer) else "control"
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name=f"sample-{name}"
        )
        thread.start()
        self._threads.append(thread)
        self._running.append(server)

    def serve_control(self) -> str:
        """Serve the edit/reset endpoint on another port of 127.0.0.1; returns its base URL."""
        if self.control_url is None:
            server = _ControlServer(("127.0.0.1", 0), _ControlHandler)
            server.sample = self
            self._servers.append(server)
            self._run(server)
            self.control_url = f"http://127.0.0.1:{server.server_port}"
        return self.control_url

    def edit(self, site: str, path: str, append: str) -> int:
        """Append `append` (HTML) to the body of the article at `path` of `site`; returns the number
        of edits that article now has. Its bytes, ETag and (where it has one) Last-Modified change.
        ValueError for an unknown site or a path that is not an article."""
        return self._site(site).edit(path, append)

    def publish(self, site: str, path: str) -> int:
        """Publish the article at `path` of `site` (withheld or deleted before): it is listed wherever it
        belongs and answers 200 (returned). ValueError for an unknown site or a path that is not an article."""
        return self._site(site).publish(path)

    def withhold(self, site: str, path: str) -> int:
        """Unpublish the article at `path` of `site`: it is in no listing and answers 404 (returned)."""
        return self._site(site).withhold(path)

    def delete(self, site: str, path: str, status: int = 410) -> int:
        """Delete the article at `path` of `site`: it is in no listing and answers `status` (410 or 404;
        returned). ValueError for any other status."""
        return self._site(site).delete(path, status)

    def reset(self) -> int:
        """Every site back to the state it started in (edits undone, deleted and published articles as
        they were, the articles withheld at the start withheld again); returns how many changes were
        undone: the edits, plus the articles that were not in their starting state."""
        return sum(site.reset() for site in self.sites.values())

    def edits(self) -> dict[str, dict[str, int]]:
        """{site: {path: number of edits}} for every edited article."""
        return {name: counts for name, site in self.sites.items() if (counts := site.edit_counts())}

    def withheld(self) -> dict[str, list[str]]:
        """{site: [paths of its withheld articles]} for every site with any."""
        return {name: paths for name, site in self.sites.items() if (paths := site.withheld_paths())}

    def deleted(self) -> dict[str, dict[str, int]]:
        """{site: {path of a deleted article: the status it answers}} for every site with any."""
        return {name: paths for name, site in self.sites.items() if (paths := site.deleted_paths())}

    def _site(self, site: str) -> Site:
        if site not in self.sites:
            raise ValueError(f"no sample site {site!r} is served here; these are: {', '.join(self.sites)}")
        return self.sites[site]

    def stop(self) -> None:
        for server in self._servers:
            if server in self._running:
                server.shutdown()  # waits for serve_forever to return: only for servers that run
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        with self._lock:
            if self._log:
                self._log.close()
                self._log = None

    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)
            if self._log:
                self._log.write(json.dumps(entry) + "\n")
                self._log.flush()

    def __enter__(self) -> SampleServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(
    log_path: str | os.PathLike[str] | None = None,
    slow_seconds: float = 1.5,
    sites: Iterable[str] | None = None,
    campaign: Mapping[str, Any] | None = None,
    conditional: bool = True,
    withheld: Mapping[str, Iterable[str]] | None = None,
) -> SampleServer:
    """Start the sites in daemon threads (the four default ones unless told otherwise: see
    SampleServer); `.urls` holds their base URLs, `.stop()` ends them."""
    return SampleServer(log_path, slow_seconds, sites, campaign, conditional, withheld).start()


def main(argv: list[str] | None = None) -> int:
    """python -m samizdat.sample_sites [options]: print the sites' URLs as one JSON line
    ({"blogger": "http://127.0.0.1:PORT", ...}), then serve until SIGTERM or SIGINT.
    The campaign site is served when --campaign, any --campaign-* option or --sites names it.
    --withhold SITE:PATH (repeatable) starts with that article unpublished: in no listing, its URL
    answering 404, until the control endpoint's POST /publish (see --control-port-file)."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(prog="python -m samizdat.sample_sites", description=main.__doc__)
    parser.add_argument("--log", help="append every request as a JSON line to this file")
    parser.add_argument("--slow", type=float, default=1.5, help="seconds the slow post waits (default 1.5)")
    parser.add_argument("--sites", help=f"comma-separated sites to serve (default: {','.join(DEFAULT_SITES)})")
    parser.add_argument("--campaign", action="store_true", help="serve the campaign site too")
    parser.add_argument("--campaign-articles", type=int, help="articles on the campaign site (default 400)")
    parser.add_argument("--campaign-per-page", type=int, help="teasers per listing page (default 2)")
    parser.add_argument("--campaign-dead-links", type=int, help="links to missing pages per article (default 4)")
    parser.add_argument("--campaign-crawl-delay", type=float, help="robots.txt Crawl-delay seconds (default none)")
    parser.add_argument(
        "--ignore-conditional",
        action="store_true",
        help="answer If-None-Match / If-Modified-Since requests whole (200), as many servers do",
    )
    parser.add_argument(
        "--control-port-file",
        help="serve the control endpoint (edit, publish, withhold, delete, reset) and write its port to this "
        "file (before the URLs are printed)",
    )
    parser.add_argument(
        "--withhold",
        action="append",
        default=[],
        metavar="SITE:PATH",
        help="start with this article withheld (not yet published: listed nowhere, 404) until POST /publish; "
        "repeatable, e.g. --withhold hugo:/posts/slug/",
    )
    args = parser.parse_args(argv)
    options = {
        key: value
        for key, value in (
            ("articles", args.campaign_articles),
            ("per_page", args.campaign_per_page),
            ("dead_links", args.campaign_dead_links),
            ("crawl_delay", args.campaign_crawl_delay),
        )
        if value is not None
    }
    campaign = options if (options or args.campaign) else None
    sites = [s.strip() for s in args.sites.split(",") if s.strip()] if args.sites else None
    if campaign is not None and sites is not None and "campaign" not in sites:
        parser.error("--campaign options given, but --sites does not name the campaign site")
    withheld: dict[str, list[str]] = {}
    for item in args.withhold:
        site, sep, path = item.partition(":")
        if not sep or not site or not path.startswith("/"):
            parser.error(f"--withhold wants SITE:PATH (like hugo:/posts/slug/), not {item!r}")
        withheld.setdefault(site, []).append(path)
    try:
        server = start(args.log, args.slow, sites, campaign, not args.ignore_conditional, withheld)
    except ValueError as error:
        parser.error(str(error))
    if args.control_port_file:
        port = server.serve_control().rsplit(":", 1)[1]
        partial = f"{args.control_port_file}.tmp"
        with open(partial, "w", encoding="utf-8") as f:
            f.write(port + "\n")
        os.replace(partial, args.control_port_file)  # a reader never sees half a number
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    print(json.dumps({**server.urls, "cdn": server.cdn_url}), flush=True)
    while not done.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
