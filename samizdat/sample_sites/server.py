"""Serve the sample sites over real HTTP on 127.0.0.1: one ThreadingHTTPServer per site, port 0.

Every request is recorded in `SampleServer.requests` (and, given a log path, appended to it as a JSON
line) so tests can check what a crawler actually asked for: robots.txt first, nothing disallowed,
no endless calendar walk...
"""

from __future__ import annotations

import json
import sys
import threading
import traceback
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from samizdat.sample_sites.sites import SITES, Response, Site


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True  # a crawler's keep-alive connection must not hold up stop()
    site: Site
    record: Any


class _Handler(BaseHTTPRequestHandler):
    server: _SiteServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def do_POST(self) -> None:
        self._reply(Response(405, b"Method Not Allowed", "text/plain; charset=UTF-8", {"Allow": "GET, HEAD"}), True)

    def _answer(self, send_body: bool) -> None:
        try:
            response = self.server.site.handle(self.path)
        except Exception:
            traceback.print_exc()  # a bug in the sample sites, not a planned fault: make it loud
            response = Response(500, b"Internal Server Error", "text/plain; charset=UTF-8")
        self._reply(self._maybe_not_modified(response), send_body)

    def _maybe_not_modified(self, response: Response) -> Response:
        """Answer If-Modified-Since with 304 where the page has a Last-Modified (the magazine)."""
        since, modified = self.headers.get("If-Modified-Since"), response.headers.get("Last-Modified")
        if response.status != 200 or not since or not modified:
            return response
        try:
            if parsedate_to_datetime(modified) <= parsedate_to_datetime(since):
                return Response(304, b"", None, {"Last-Modified": modified})
        except (TypeError, ValueError):
            pass
        return response

    def _reply(self, response: Response, send_body: bool) -> None:
        self.server.record(
            {
                "site": self.server.site.name,
                "method": self.command,
                "path": self.path,
                "status": response.status,
                "user_agent": self.headers.get("User-Agent", ""),
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
            self.end_headers()
            if send_body and response.status != 304:
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout on the slow post, say)

    def version_string(self) -> str:
        return self.server.site.server_header

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the request list is the log


class SampleServer:
    """The four sample sites, each on its own port of 127.0.0.1."""

    def __init__(self, log_path: str | None = None, slow_seconds: float = 1.5) -> None:
        self.urls: dict[str, str] = {}
        self.requests: list[dict[str, Any]] = []  # appended under a lock; read a copy with list(...)
        self._lock = threading.Lock()
        self._log = open(log_path, "a", encoding="utf-8") if log_path else None  # noqa: SIM115 (closed in stop)
        self._servers: list[_SiteServer] = []
        self._threads: list[threading.Thread] = []
        for name, site_class in SITES.items():
            server = _SiteServer(("127.0.0.1", 0), _Handler)
            base = f"http://127.0.0.1:{server.server_port}"
            server.site = site_class(base, slow_seconds=slow_seconds)
            server.record = self._record
            self.urls[name] = base
            self._servers.append(server)

    def start(self) -> SampleServer:
        for server in self._servers:
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.1},
                daemon=True,
                name=f"sample-{server.site.name}",
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
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


def start(log_path: str | None = None, slow_seconds: float = 1.5) -> SampleServer:
    """Start the four sites in daemon threads; `.urls` holds their base URLs, `.stop()` ends them."""
    return SampleServer(log_path, slow_seconds).start()


def main(argv: list[str] | None = None) -> int:
    """python -m samizdat.sample_sites [--log FILE] [--slow SECONDS]: print the URLs as one JSON line,
    then serve until SIGTERM or SIGINT."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(prog="python -m samizdat.sample_sites", description=main.__doc__)
    parser.add_argument("--log", help="append every request as a JSON line to this file")
    parser.add_argument("--slow", type=float, default=1.5, help="seconds the slow post waits (default 1.5)")
    args = parser.parse_args(argv)
    server = start(args.log, args.slow)
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    print(json.dumps(server.urls), flush=True)
    while not done.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
