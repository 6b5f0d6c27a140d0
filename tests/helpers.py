"""Helpers shared by the tests (import them from here, not from conftest.py).

The sample sites in a process of their own, with an access log and the control endpoint:

    with serve_sample_sites(tmp_path, "--sites", "campaign", "--campaign-articles", "40") as sites:
        sites.urls["campaign"]                       # "http://127.0.0.1:PORT"
        sites.edit("campaign", path, "<p>A late correction.</p>")
        sites.requests()                             # the access log, one dict per request
        request_gaps(sites.requests(), "campaign")   # seconds between arrivals at that site

    with serve_sample_sites(tmp_path, "--withhold", "hugo:/posts/slug/") as sites:   # for watch tests
        sites.publish("hugo", "/posts/slug/")        # a new post: listed everywhere, 200
        sites.delete("hugo", "/posts/slug/")         # gone from every listing, 410 (status=404 for 404)
        sites.withhold("hugo", path); sites.reset()  # unpublished (404); back to the start

`edit_page` / `publish_page` / `withhold_page` / `delete_page` / `reset_pages` do the same against any
control URL (see samizdat/sample_sites/server.py for the endpoint and the fields of a request record).
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class HttpResult:
    status: int
    headers: Message  # case-insensitive: headers["etag"] == headers["ETag"]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(self.headers.get_content_charset() or "utf-8", "replace")


def http_get(url: str, headers: dict[str, str] | None = None, method: str = "GET", timeout: float = 30) -> HttpResult:
    """One request with urllib; 3xx (no redirect followed), 4xx and 5xx are answers, not exceptions."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    request = urllib.request.Request(url, headers=headers or {}, method=method)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return HttpResult(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return HttpResult(error.code, error.headers, error.read())


def read_requests(log: Path) -> list[dict[str, Any]]:
    """A sample-site access log (--log FILE): one dict per request, in the order they were answered."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]


def request_gaps(requests: Iterable[dict[str, Any]], site: str | None = None) -> list[float]:
    """Seconds between consecutive request arrivals ("time") at one site (all requests when site is
    None), in arrival order: what a politeness test compares with the delay it expects."""
    times = sorted(r["time"] for r in requests if site is None or r["site"] == site)
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def control_url(port_file: Path, timeout: float = 30) -> str:
    """The control endpoint's base URL, from the file --control-port-file named (waits for it)."""
    deadline = time.monotonic() + timeout
    while not port_file.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"no control port written to {port_file}")
        time.sleep(0.05)
    return f"http://127.0.0.1:{int(port_file.read_text(encoding='utf-8'))}"


def _post(url: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    body = json.dumps(data or {}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            raise AssertionError(f"{url}: {error.code} {error.read().decode()}") from None


def edit_page(control: str, site: str, path: str, append: str) -> dict[str, Any]:
    """Append HTML to the body of an article while it is served: {"site", "path", "edits": count}.
    The page's bytes, ETag and (the magazine's, the campaign site's) Last-Modified change; an
    AssertionError carries the server's message when the site or the article path is unknown."""
    return _post(control.rstrip("/") + "/edit", {"site": site, "path": path, "append": append})


def publish_page(control: str, site: str, path: str) -> dict[str, Any]:
    """Publish an article (withheld with --withhold, or withheld or deleted since): it is listed again
    wherever it belongs, in its place by its own date, and answers 200. Returns {"site", "path",
    "state": "published", "status": 200}; an AssertionError carries the server's message for an unknown
    site or article path."""
    return _post(control.rstrip("/") + "/publish", {"site": site, "path": path})


def withhold_page(control: str, site: str, path: str) -> dict[str, Any]:
    """Unpublish an article: it leaves every listing (home page and its pages, feeds, sitemaps, archives,
    label/tag/category/author pages, the REST API) and answers 404. {..., "state": "withheld", "status": 404}."""
    return _post(control.rstrip("/") + "/withhold", {"site": site, "path": path})


def delete_page(control: str, site: str, path: str, status: int = 410) -> dict[str, Any]:
    """Delete an article: it leaves every listing and answers `status` (410 Gone, or 404).
    {..., "state": "deleted", "status": status}."""
    return _post(control.rstrip("/") + "/delete", {"site": site, "path": path, "status": status})


def reset_pages(control: str) -> dict[str, Any]:
    """Every site back to how it started (edits undone, deleted and published articles as they were,
    those withheld at the start withheld again): {"undone": the edits + the articles that had changed}."""
    return _post(control.rstrip("/") + "/reset")


def sample_state(control: str) -> dict[str, Any]:
    """The control endpoint's GET /: {"sites", "edits", "withheld": {site: [path, ...]},
    "deleted": {site: {path: status}}}."""
    with urllib.request.urlopen(control.rstrip("/") + "/", timeout=30) as response:
        return json.load(response)


@dataclass
class SampleSitesProcess:
    """`python -m samizdat.sample_sites` running with an access log and the control endpoint."""

    urls: dict[str, str]
    log: Path
    control: str
    process: subprocess.Popen
    cdn: str = ""  # the sample CDN's base URL, http://localhost:PORT

    def requests(self) -> list[dict[str, Any]]:
        return read_requests(self.log)

    def edit(self, site: str, path: str, append: str) -> dict[str, Any]:
        """Append HTML to an article's body (see edit_page)."""
        return edit_page(self.control, site, path, append)

    def publish(self, site: str, path: str) -> dict[str, Any]:
        """Publish an article: listed wherever it belongs, 200 (see publish_page)."""
        return publish_page(self.control, site, path)

    def withhold(self, site: str, path: str) -> dict[str, Any]:
        """Unpublish an article: in no listing, 404 (see withhold_page)."""
        return withhold_page(self.control, site, path)

    def delete(self, site: str, path: str, status: int = 410) -> dict[str, Any]:
        """Delete an article: in no listing, answers `status`, 410 or 404 (see delete_page)."""
        return delete_page(self.control, site, path, status)

    def reset(self) -> dict[str, Any]:
        """Back to the start: {"undone": count} (see reset_pages)."""
        return reset_pages(self.control)

    def state(self) -> dict[str, Any]:
        """The edits, withheld and deleted articles of every site (see sample_state)."""
        return sample_state(self.control)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        code = self.process.wait(timeout=10)
        if self.process.stdout:
            self.process.stdout.close()
        return code

    def __enter__(self) -> SampleSitesProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_sample_sites(directory: Path, *options: str) -> SampleSitesProcess:
    """Start the sample sites in a process of their own, logging to directory/requests.jsonl, with the
    control endpoint; `options` are the server's (--sites, --campaign-articles N, --campaign-crawl-delay
    S, --withhold SITE:PATH, ...: python -m samizdat.sample_sites --help). Stop it with .stop() or a
    with block."""
    directory.mkdir(parents=True, exist_ok=True)
    log, port_file = directory / "requests.jsonl", directory / "control.port"
    port_file.unlink(missing_ok=True)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "samizdat.sample_sites",
            "--log",
            str(log),
            "--control-port-file",
            str(port_file),
            *options,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=10)
        raise AssertionError(f"the sample site server printed no address (exit status {process.returncode})")
    urls = json.loads(line)
    cdn = urls.pop("cdn")
    return SampleSitesProcess(urls, log, control_url(port_file), process, cdn)


_MEASURED = """
import resource, subprocess, sys
result = subprocess.run([sys.executable, "-m", "samizdat", *sys.argv[1:]], capture_output=True, text=True)
sys.stdout.write(result.stdout)
sys.stderr.write(result.stderr)
print(f"PEAK {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}")
sys.exit(result.returncode)
"""


def run_measured(*args: object, timeout: float = 600) -> tuple[subprocess.CompletedProcess[str], int]:
    """`samizdat ARGS` in a process of its own, with the peak memory (bytes) of the largest of its processes
    (the crawl and its extraction workers alike: RUSAGE_CHILDREN covers every descendant waited for)."""
    result = subprocess.run(
        [sys.executable, "-c", _MEASURED, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=timeout,
    )
    peak = int(result.stdout.rsplit("PEAK ", 1)[1])
    return result, peak


def own_peak_bytes() -> int:
    """The peak resident memory of this process since it was started (VmHWM). Not ru_maxrss: a process
    forked from pytest inherits pytest's figure, which is hundreds of MiB late in a full run."""
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))


HTML_HEADERS = [("Content-Type", "text/html; charset=utf-8")]


@contextmanager
def serve_pages(pages: dict[str, tuple[list[tuple[str, str]], bytes]]) -> Iterator[str]:
    """`pages` (path -> response headers, body) served on 127.0.0.1 over HTTP/1.1 with keep-alive, 200 each
    and 404 for any other path (the query string is ignored); yields the base URL, "http://127.0.0.1:PORT/"."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            headers, body = pages.get(path, ([("Content-Type", "text/plain")], b"not here"))
            self.send_response(200 if path in pages else 404)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
