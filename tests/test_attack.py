"""Issue 11's attack test: a running `samizdat serve` on an archive of pages full of XSS payloads
(tests/hostile_payloads.py), attacked over real HTTP and in headless Chromium.

- Every payload document is found, and no page, error page or API answer turns a stored or reflected
  payload into live markup: no script but our own, no event handler, no script or data: address, no
  srcdoc, no SVG or MathML from content, no template evaluated; every HTML page has the CSP, the captured
  view stays sandboxed, the API's JSON carries no markup character unescaped.
- Every traversal variant of every route that takes an id, a name, a number or a path, signed out and
  signed in: never a 5xx, a traceback, or a byte of a file it should not show.
- Every malformed query on `/` and `/api/search`: a 200 or a 4xx with a message, within 2 s, at most 100
  hits a page.
- In Chromium, on the search page (with its facets), the documents, their captured views (and inside the
  sandboxed frame), the captures opened alone, the reflected error pages and the admin area: no dialog,
  no request for `/pwned`, no `window.__pwned`, nothing fetched from the hostile site.

The archive is the hostile site's (tests/conftest.py `hostile`, crawled once per session); one server and
one browser for the module. `hostile_crawl` is the part to replace to attack another archive.
"""

from __future__ import annotations

import concurrent.futures
import html
import http.cookiejar
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import pytest
from playwright.sync_api import Browser, Page

from samizdat.archive.replay import timestamp_of, web_path
from samizdat.webui.security import PAGE_CSP, RAW_CSP, is_source_name
from tests.conftest import Server
from tests.helpers import HttpResult, http_get, read_requests
from tests.hostile_payloads import CANARY, DOC, MALFORMED_QUERIES, PAGES, PROBE_PRODUCT, REFLECTED, TRAVERSALS

SOURCE = "payloads"  # the source of the payload pages in the hostile archive
ARCHIVIST, PASSWORD = "mallory", "a passphrase long enough"
QUERY_SECONDS = 2.0  # the bound for any query, malformed or not


# -- the archive under attack --------------------------------------------------------------------------------


@dataclass
class CrawledArchive:
    """A data directory holding the payload pages, and the sources.toml it was crawled with."""

    data: Path
    config: Path
    site_requests: Callable[[], list[str]] = lambda: []  # paths the hostile site served so far


@dataclass
class AttackArchive:
    """The crawled archive and `samizdat serve` running on it."""

    crawl: CrawledArchive
    server: Server

    @property
    def data(self) -> Path:
        return self.crawl.data

    @property
    def url(self) -> str:
        return self.server.url.rstrip("/")

    def site_requests(self) -> list[str]:
        return self.crawl.site_requests()


@pytest.fixture(scope="module")
def hostile_crawl(hostile) -> CrawledArchive:
    """The hostile site's archive (tests/conftest.py): its `payloads` source holds the payload pages, crawled
    as a WordPress source (its reader keeps a byline as the page wrote it, where trafilatura's metadata strips
    the markup out of an author). To attack another archive, override this fixture."""
    return CrawledArchive(hostile.data, hostile.config, lambda: [r["path"] for r in read_requests(hostile.log)])


@pytest.fixture(scope="module")
def attack_archive(hostile_crawl) -> Iterator[AttackArchive]:
    """`samizdat serve` on the crawled archive, with an archivist's account for the admin area."""
    added = subprocess.run(
        [sys.executable, "-m", "samizdat", "user", "add", ARCHIVIST, "--data", str(hostile_crawl.data)],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0 or "exists" in added.stderr, added.stderr
    server = Server("serve", "--port", "0", "--data", hostile_crawl.data, "--config", hostile_crawl.config)
    try:
        yield AttackArchive(hostile_crawl, server)
    finally:
        server.stop()


# -- talking to the server -----------------------------------------------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Archivist:
    """A signed-in session: the cookie, the CSRF token and the Origin header our forms send."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect
        )
        form = self.get("/admin/sign-in").text
        signed = self.post("/admin/sign-in", {"name": ARCHIVIST, "password": PASSWORD, "next": "/admin/"}, form)
        assert signed.status in (302, 303), signed.text
        self.token = csrf_token(self.get("/admin/").text)

    def get(self, path: str) -> HttpResult:
        return self.open(urllib.request.Request(self.base + path))

    def post(self, path: str, fields: dict[str, str], form_page: str | None = None) -> HttpResult:
        token = csrf_token(form_page) if form_page is not None else self.token
        data = urlencode({"csrf_token": token, **fields}).encode()
        return self.open(urllib.request.Request(self.base + path, data=data, headers={"Origin": self.base}))

    def open(self, request: urllib.request.Request) -> HttpResult:
        try:
            with self.opener.open(request, timeout=30) as response:
                return HttpResult(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            with error:
                return HttpResult(error.code, error.headers, error.read())


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token in the page"
    return match.group(1)


def fetch_all(paths: list[str], get: Callable[[str], HttpResult]) -> list[tuple[str, HttpResult, float]]:
    """Each path fetched (four at a time: the server has eight threads), with the seconds it took."""

    def one(path: str) -> tuple[str, HttpResult, float]:
        started = time.monotonic()
        result = get(path)
        return path, result, time.monotonic() - started

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, paths))


# -- what live markup is -------------------------------------------------------------------------------------

APP_SCRIPT = "/static/app.js"  # our one script (webui/static/app.js); the CSP allows no other
URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background", "ping", "srcset",
     "codebase", "cite", "manifest", "lowsrc", "dynsrc", "longdesc", "icon", "imagesrcset"}
)  # fmt: skip
ACTIVE_SCHEMES = ("javascript:", "vbscript:", "data:")
FOREIGN = frozenset({"svg", "math", "object", "embed", "applet", "base", "frame", "frameset", "portal", "template"})
CAPTURE_FRAME = re.compile(r"^(?:/documents/[0-9a-f]{16}/raw/\d+|/web/\d{14}if_/https?:.*)$")
ARCHIVED_COPY = re.compile(r'url\("/web/\d{14}(?:cs_|im_)/[^"\\()]*"\)')  # a requisite rewritten to our server


class LiveMarkup(HTMLParser):
    """Every element, attribute and script of a page, as an HTML tokenizer sees them, checked against what
    only the app itself may put there."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {name: value or "" for name, value in attrs}
        if tag == "script":
            self.in_script = True
            if named.get("src") != APP_SCRIPT:
                self.problems.append(f"<script {attrs}>")
        if tag in FOREIGN:
            self.problems.append(f"<{tag}>")
        if tag == "iframe":
            tokens = set(named.get("sandbox", "allow-scripts allow-same-origin").split())
            if (
                not CAPTURE_FRAME.match(named.get("src", ""))
                or "allow-scripts" in tokens
                or "allow-same-origin" in tokens
            ):
                self.problems.append(f"<iframe {attrs}>")
        if (
            tag == "meta"
            and named.get("http-equiv", "").lower() == "refresh"
            and not named.get("content", "").isdigit()
        ):
            self.problems.append(f"<meta refresh {attrs}>")
        for name, value in named.items():
            bare = re.sub(r"[\x00-\x20]+", "", value).lower()
            active_url = name in URL_ATTRIBUTES and bare.startswith(ACTIVE_SCHEMES)
            if name.startswith("on") or name == "srcdoc" or active_url:
                self.problems.append(f"<{tag} {name}={value[:60]!r}>")
            elif name == "style" and (
                "javascript:" in bare or "expression(" in bare or "url(" in ARCHIVED_COPY.sub("", bare)
            ):
                self.problems.append(f"<{tag} style={value[:60]!r}>")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script and data.strip():
            self.problems.append(f"inline script {data[:60]!r}")


def live_markup(page: str) -> list[str]:
    parser = LiveMarkup()
    parser.feed(page)
    parser.close()
    return parser.problems


def page_problems(path: str, result: HttpResult) -> list[str]:
    """What is wrong with one answer of the app: a 5xx, a traceback, an evaluated template, live markup in
    an HTML page or one without our CSP, JSON with a markup character in the clear."""
    problems = []
    body = result.body.decode("utf-8", "replace")
    content_type = result.headers.get("Content-Type", "")
    if result.status >= 500:
        problems.append(f"status {result.status}")
    if "Traceback" in body or PROBE_PRODUCT in body or "SECRET_KEY" in body:
        problems.append("a traceback or an evaluated template")
    if content_type.startswith("text/html"):
        if result.headers.get("Content-Security-Policy") != PAGE_CSP:
            problems.append(f"CSP {result.headers.get('Content-Security-Policy')!r}")
        if result.headers.get("X-Content-Type-Options") != "nosniff":
            problems.append("no nosniff")
        problems += live_markup(body)
    elif content_type.startswith("application/json"):
        json.loads(body)
        if any(char in body for char in "<>&"):
            problems.append("JSON with <, > or & unescaped")
    elif not result.headers.get("Content-Disposition", "").startswith("attachment;") and result.status < 300:
        problems.append(f"content type {content_type!r}, not a download")
    return [f"{path}: {problem}" for problem in problems]


# -- what the archive holds ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def payload_docs(attack_archive) -> list[dict[str, Any]]:
    """The search hits of the payload documents, with their export records."""
    hits = attack_archive.server.get_json(f"/api/search?q={CANARY}&per_page=100")["hits"]
    for hit in hits:
        hit["record"] = attack_archive.server.get_json(f"/api/documents/{hit['id']}")
    return hits


def path_of(url: str) -> str:
    return unquote(urlsplit(url).path)


def facet_links(page: str) -> list[str]:
    """Every link of a search page that changes the search: facets, chips, the histogram, labels."""
    hrefs = re.findall(r'href="(/\?[^"]*)"', page)
    return sorted({href.replace("&amp;", "&") for href in hrefs})


def test_every_payload_page_is_archived_and_found_with_its_payloads_as_stored(attack_archive, payload_docs):
    found = {path_of(hit["url"]): hit for hit in payload_docs}
    assert {unquote(path) for path in PAGES} <= set(found), "payload pages missing from the search"
    stored = [hit["record"] for hit in payload_docs]
    # The payloads reached the fields the UI shows: the title, the author, the labels, the text, the URL.
    assert any("<script>" in record["title"] for record in stored)
    assert any("onerror=" in (record["author"] or "") for record in stored)
    assert any(label.startswith("<script>") for record in stored for label in record["labels"])
    assert any(label.startswith("javascript:") for record in stored for label in record["labels"])
    assert any("{{7*7}}" in record["title"] for record in stored)
    assert any("<svg><script>" in record["text"] for record in stored)
    assert any("<script>" in unquote(record["url"]) for record in stored)


def test_no_stored_or_reflected_payload_becomes_live_markup(attack_archive, payload_docs):
    archive = attack_archive
    search = http_get(f"{archive.url}/?q={CANARY}&per_page=100")
    assert search.status == 200
    paths = {f"/?q={CANARY}", f"/?q={CANARY}&per_page=100", f"/?q={CANARY}&sort=oldest", "/", "/?per_page=100"}
    paths |= set(facet_links(search.text))  # every label, author, source and year of the payload documents
    # Words of the payloads, so that snippets mark them inside the markup they are part of.
    for word in ("script", "onerror", "img", "svg", "javascript", "window", "pwned", "lt", "quot", "amp",
                 "mark", "7*7", '"{{7*7}}"', "srcdoc", "iframe", "textarea"):  # fmt: skip
        paths.add("/?" + urlencode({"q": word}))
        paths.add("/api/search?" + urlencode({"q": word}))
    for hit in payload_docs:
        doc = hit["id"]
        paths |= {f"/documents/{doc}", f"/documents/{doc}/changes", f"/documents/{doc}/captured",
                  f"/documents/{doc}/captured/1", f"/api/documents/{doc}", f"/api/documents/{doc}/versions",
                  "/go?" + urlencode({"url": hit["url"]}),
                  "/?" + urlencode({"q": f'"{hit["title"][:40]}"'})}  # fmt: skip
        for label in hit["labels"]:
            paths |= {"/?" + urlencode({"label": label}), "/api/search?" + urlencode({"label": label})}
        if hit["author"]:
            paths |= {
                "/?" + urlencode({"author": hit["author"]}),
                "/api/search?" + urlencode({"author": hit["author"]}),
            }
    paths |= {"/sources", f"/sources/{SOURCE}", "/api/sources", f"/api/sources/{SOURCE}", "/api"}
    # Reflected: every parameter and path segment a visitor can type.
    for name in ("q", "label", "author", "source", "from", "to", "year", "month", "sort", "page", "per_page"):
        paths |= {"/?" + urlencode({name: REFLECTED}), "/api/search?" + urlencode({name: REFLECTED})}
        paths.add("/export.jsonl?" + urlencode({name: REFLECTED}))
    segment = quote(REFLECTED, safe="")
    paths |= {f"/documents/{segment}", f"/documents/{segment}/captured", f"/api/documents/{segment}",
              f"/sources/{segment}", f"/api/sources/{segment}", f"/{segment}", f"/static/{segment}",
              f"/export.{segment}", "/go?" + urlencode({"url": REFLECTED}),
              "/go?" + urlencode({"url": "http://example.org/" + REFLECTED}),
              "/admin/sign-in?" + urlencode({"next": REFLECTED}),
              f"/documents/{payload_docs[0]['id']}/changes?" + urlencode({"from": REFLECTED})}  # fmt: skip

    problems = []
    for path, result, _seconds in fetch_all(sorted(paths), lambda p: http_get(archive.url + p)):
        problems += page_problems(path, result)
    assert problems == []

    # Shown, as text: the payloads are on the pages, escaped, and no template ran over them.
    for hit in payload_docs:
        page = http_get(f"{archive.url}/documents/{hit['id']}").text
        shown_text = html_text(page)
        record = hit["record"]
        assert record["title"] in shown_text and all(label in shown_text for label in record["labels"])
        assert record["author"] is None or record["author"] in shown_text
        if "{{7*7}}" in record["title"]:
            heading = re.search(r"<h1>(.*?)</h1>", page, re.DOTALL)
            assert heading and "{{7*7}}" in html_text(heading.group(1)) and "49" not in heading.group(1)


def html_text(fragment: str) -> str:
    """The text a reader sees: tags out, entities decoded."""
    return html.unescape(re.sub(r"<[^>]*>", "", fragment))


def test_exports_are_downloads_never_pages(attack_archive):
    for fmt in ("jsonl", "csv", "warc"):
        result = http_get(f"{attack_archive.url}/export.{fmt}?q={CANARY}")
        assert result.status == 200
        assert not result.headers["Content-Type"].startswith("text/html")
        assert result.headers["Content-Disposition"].startswith("attachment;")
        assert result.headers["X-Content-Type-Options"] == "nosniff"
        assert int(result.headers["X-Samizdat-Articles"]) >= len(PAGES)


# -- the page as captured ------------------------------------------------------------------------------------


def capture_problems(path: str, result: HttpResult) -> list[str]:
    """What an archived page served for the captured frame must not hold, as a tokenizer reads it: scripts,
    handlers, frames, plugins, refreshes, script or data addresses (a data: image excepted)."""
    problems = []
    if result.status != 200 or not result.headers["Content-Type"].startswith("text/html"):
        problems.append(f"status {result.status}, {result.headers['Content-Type']}")
    if result.headers.get("Content-Security-Policy") != RAW_CSP:
        problems.append(f"CSP {result.headers.get('Content-Security-Policy')!r}")
    parser = LiveMarkup()
    parser.feed(result.body.decode("utf-8", "replace"))
    for problem in parser.problems:
        if re.match(r"<(svg|math)>$", problem) or re.match(r"<img src='data:image/", problem):
            continue  # the page's own drawings and inline images are content, inert under the sandbox
        problems.append(problem)
    return [f"{path}: {problem}" for problem in problems]


def test_the_captured_view_stays_sandboxed_and_inert(attack_archive, payload_docs):
    problems = []
    for hit in payload_docs:
        frame_page = http_get(f"{attack_archive.url}/documents/{hit['id']}/captured")
        problems += page_problems("captured", frame_page)
        (sandbox,) = re.findall(r'<iframe[^>]* sandbox="([^"]*)"', frame_page.text)
        tokens = set(sandbox.split())
        assert "allow-scripts" not in tokens and "allow-same-origin" not in tokens, sandbox
        assert RAW_CSP.startswith("sandbox ") and "allow-scripts" not in RAW_CSP and "allow-same-origin" not in RAW_CSP
        for path in (f"/documents/{hit['id']}/raw", f"/documents/{hit['id']}/raw/1"):
            problems += capture_problems(path, http_get(attack_archive.url + path))
        # The same capture under /web/ (its hostile URL in the path): our page, its frame, its requisites.
        when = timestamp_of(hit["record"]["fetched_at"])
        problems += page_problems("/web/", http_get(attack_archive.url + web_path(when, hit["url"])))
        problems += capture_problems("/web/ if_", http_get(attack_archive.url + web_path(when, hit["url"], "if_")))
        for modifier in ("cs_", "im_", "id_"):
            result = http_get(attack_archive.url + web_path(when, hit["url"], modifier))
            if result.headers.get("Content-Security-Policy") != RAW_CSP or result.headers["Content-Type"].startswith(
                "text/html"
            ):
                problems.append(f"/web/ {modifier} {hit['url']}: {result.headers['Content-Type']}")
    assert problems == []


# -- traversals ----------------------------------------------------------------------------------------------

# The answers a traversal may get with a 200: an empty export, the sign-in form (its `next` is checked when
# it is used), and the admin forms of a well-formed source name that names no source.
MAY_ANSWER_200 = ("/export.jsonl?source=", "/admin/sign-in?next=")


def secrets_of(data: Path) -> dict[str, bytes]:
    """Bytes that must never be served: of files outside the data directory and of its private files."""
    found = {
        "/etc/passwd": Path("/etc/passwd").read_bytes().split(b"\n", 1)[0],
        "SQLite file": b"SQLite format 3\x00",
        "samizdat.json": (data / "samizdat.json").read_bytes().strip(),
        "WARC record": b"WARC-Type:",
        "Python source": b"def create_app(",
    }
    key = data / "session.key"
    if key.exists():
        found["session.key"] = key.read_bytes().strip()[:32]
    return found


def traversal_problems(path: str, result: HttpResult, secrets: dict[str, bytes], seconds: float) -> list[str]:
    problems = []
    if result.status >= 500:
        problems.append(f"status {result.status}")
    if result.status == 200 and not path.startswith(MAY_ANSWER_200):
        problems.append("status 200")
    if b"Traceback" in result.body:
        problems.append("traceback")
    problems += [f"shows {name}" for name, secret in secrets.items() if secret and secret in result.body]
    if seconds > QUERY_SECONDS:
        problems.append(f"took {seconds:.1f} s")
    return [f"{path}: {problem}" for problem in problems]


def traversals(doc_id: str) -> list[str]:
    return [path.replace(DOC, doc_id) for path in TRAVERSALS]


def test_no_traversal_leaves_the_data_directory_signed_out(attack_archive, payload_docs):
    secrets = secrets_of(attack_archive.data)
    problems = []
    paths = traversals(payload_docs[0]["id"])
    for path, result, seconds in fetch_all(paths, lambda p: http_get(attack_archive.url + p)):
        problems += traversal_problems(path, result, secrets, seconds)
        admin = path.startswith("/admin/") and not path.startswith("/admin/sign-in")
        if admin and result.status not in (302, 303, 404, 405):  # to the sign-in page, or no such route
            problems.append(f"{path}: {result.status} for a visitor")
    assert problems == []


def test_no_traversal_leaves_the_data_directory_signed_in(attack_archive, payload_docs):
    archivist = Archivist(attack_archive.url)
    secrets = secrets_of(attack_archive.data)
    problems = []
    for path, result, seconds in fetch_all(traversals(payload_docs[0]["id"]), archivist.get):
        problems += traversal_problems(path, result, secrets, seconds)
    # The forms that change something, with ids and names that are none: refused, nothing changed, no 5xx.
    posts = [path for path in traversals("0123456789abcdef") if re.search(r"/(hide|purge|crawl|stop|lift)$", path)]
    for path in posts:
        if "/sources/" in path and is_source_name(unquote(path.split("/")[3])):
            continue  # a well-formed name: it would really hide, purge or crawl a source of that name
        result = archivist.post(path, {"reason": "testing", "confirm": "purge"})
        problems += traversal_problems(path, result, secrets, 0)
        if result.status not in (400, 404, 405):
            problems.append(f"POST {path}: {result.status}")
    assert problems == []
    assert http_get(f"{attack_archive.url}/api/search?q={CANARY}").status == 200
    assert attack_archive.server.get_json(f"/api/search?q={CANARY}")["total"] == len(payload_docs)


# -- malformed queries ---------------------------------------------------------------------------------------


def query_problems(endpoint: str, query: str, result: HttpResult, seconds: float) -> list[str]:
    problems = []
    body = result.body.decode("utf-8", "replace")
    if not (result.status == 200 or 400 <= result.status < 500):
        problems.append(f"status {result.status}")
    if "Traceback" in body:
        problems.append("traceback")
    if seconds > QUERY_SECONDS:
        problems.append(f"took {seconds:.2f} s")
    if endpoint == "/api/search":
        answer = json.loads(body)
        if result.status == 200:
            if len(answer["hits"]) > 100 or answer["per_page"] > 100:
                problems.append(f"{len(answer['hits'])} hits, per_page {answer['per_page']}")
        elif not (answer.get("error") and answer.get("detail")):
            problems.append(f"a {result.status} without a message: {answer}")
    else:
        if result.status == 200 and body.count('<li class="hit">') > 100:
            problems.append("more than 100 hits on a page")
        if result.status >= 400 and 'class="notice error"' not in body:
            problems.append(f"a {result.status} without a message")
        problems += live_markup(body)
    return [f"{endpoint}?{query[:80]}: {problem}" for problem in problems]


@pytest.mark.parametrize("endpoint", ["/", "/api/search"])
def test_malformed_queries_get_an_answer_or_a_message_in_time(attack_archive, endpoint):
    problems = []
    slowest = (0.0, "")
    for query in MALFORMED_QUERIES:
        url = f"{attack_archive.url}{endpoint}?{query}"
        started = time.monotonic()
        result = http_get(url)
        seconds = time.monotonic() - started
        if seconds > QUERY_SECONDS:  # once more, warm, before calling it slow: a shared machine hiccups
            started = time.monotonic()
            result = http_get(url)
            seconds = time.monotonic() - started
        slowest = max(slowest, (seconds, query[:60]))
        problems += query_problems(endpoint, query, result, seconds)
    print(f"{endpoint}: {len(MALFORMED_QUERIES)} malformed queries, slowest {slowest[0]:.3f} s ({slowest[1]})")
    assert problems == []


# -- in Chromium ---------------------------------------------------------------------------------------------


@dataclass
class Traces:
    """What a payload that ran would leave behind."""

    dialogs: list[str] = field(default_factory=list)
    pwned: list[str] = field(default_factory=list)  # requests for /pwned, answered 204 here
    outside: list[str] = field(default_factory=list)  # requests to any host but the archive's
    in_window: list[str] = field(default_factory=list)  # window.__pwned found set, in a page or a frame


def watched_page(browser: Browser, base: str, traces: Traces) -> Page:
    context = browser.new_context(base_url=base)
    host = urlsplit(base).netloc

    def pwned(route: Any) -> None:
        traces.pwned.append(route.request.url)
        route.fulfill(status=204)

    context.route(re.compile(r"/pwned"), pwned)
    page = context.new_page()
    page.on("dialog", lambda dialog: (traces.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda r: None if urlsplit(r.url).netloc in (host, "") else traces.outside.append(r.url))
    return page


def visit(page: Page, path: str, traces: Traces) -> None:
    """Open `path`, give every payload time to act, then look for `window.__pwned` in the page and in each
    of its frames (the sandboxed one included). Image errors and onload fire before the load event, a fetch
    is seen by the route as it is sent, an alert at once."""
    page.goto(path, wait_until="load")
    page.wait_for_timeout(20)  # and for the events queued as tasks (a <details> toggling)
    for frame in page.frames:
        kind = frame.evaluate("typeof window.__pwned")
        if kind != "undefined":
            traces.in_window.append(f"{path} ({frame.url}): {frame.evaluate('String(window.__pwned)')}")


def test_no_payload_runs_in_chromium(browser, attack_archive, payload_docs):
    """The search page with its facets, every payload document, its text and changes, its captured view
    (and the frame inside), the capture opened alone, the JSON, reflected payloads and the admin area."""
    traces = Traces()
    served_before = len(attack_archive.site_requests())
    page = watched_page(browser, attack_archive.url, traces)
    visit(page, f"/?q={CANARY}&per_page=100", traces)
    assert page.locator("li.hit").count() >= len(PAGES)
    facets = page.locator(".facet-values a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert len(facets) >= 5  # the payload labels and authors, as links that filter by them
    for href in facets:
        visit(page, href, traces)
    for hit in payload_docs:
        doc = hit["id"]
        visit(page, f"/documents/{doc}", traces)
        assert page.inner_text("h1") == (hit["title"] or "(untitled)")  # the title, as text
        visit(page, f"/documents/{doc}/raw", traces)  # the capture opened alone, outside its frame
        visit(page, f"/documents/{doc}/captured", traces)
        sandbox = set((page.get_attribute("iframe.capture", "sandbox") or "").split())
        assert "allow-scripts" not in sandbox and "allow-same-origin" not in sandbox
        frame = page.frame_locator("iframe.capture")
        assert CANARY in frame.locator("body").inner_text()
        hrefs = frame.locator("a[href]").evaluate_all("links => links.map(a => a.href)")
        ours = (attack_archive.url + "/go?", attack_archive.url + "/web/")
        assert all(href.startswith(ours) or "#" in href for href in hrefs), hrefs
        visit(page, web_path(timestamp_of(hit["record"]["fetched_at"]), hit["url"]), traces)  # under /web/
        assert CANARY in page.frame_locator("iframe.capture").locator("body").inner_text()
    segment = quote(REFLECTED, safe="")
    for path in ("/?" + urlencode({"q": REFLECTED}), "/?" + urlencode({"label": REFLECTED, "author": REFLECTED}),
                 f"/documents/{segment}", f"/sources/{segment}", "/go?" + urlencode({"url": REFLECTED}),
                 "/api/search?" + urlencode({"q": REFLECTED}), f"/api/search?q={CANARY}"):  # fmt: skip
        visit(page, path, traces)

    # Signed in: the admin area shows the crawl's log (with the payload addresses) and the documents.
    visit(page, "/admin/sign-in", traces)
    page.fill("#name", ARCHIVIST)
    page.fill("#password", PASSWORD)
    page.click("form.sign-in button")
    page.wait_for_url(re.compile(r"/admin/$"))
    runs = page.locator("a[href^='/admin/runs/']").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    for path in ["/admin/", f"/admin/sources/{SOURCE}", "/admin/takedowns", *runs[:1]]:
        visit(page, path, traces)
    for hit in payload_docs:
        if hit["labels"] or hit["author"]:  # the payloads in the archivist's view of a document
            visit(page, f"/documents/{hit['id']}", traces)
    page.context.close()

    assert traces.dialogs == [] and traces.pwned == [] and traces.in_window == []
    assert traces.outside == []
    assert attack_archive.site_requests()[served_before:] == [], "the browser fetched from the archived site"


def dom_problems(page: Page) -> list[str]:
    """What the browser built from the page, in every frame: handlers, scripts with content, script URLs."""
    found: list[str] = []
    for frame in page.frames:
        found += frame.evaluate(
            """() => [...document.querySelectorAll('*')].flatMap(el => [
                ...[...el.attributes].filter(a => /^on/i.test(a.name) || a.name === 'srcdoc'
                    || /^\\s*(javascript|vbscript|data):/i.test(a.value) && /href|src|action|data/i.test(a.name)
                      && !(el.localName === 'img' && a.name === 'src' && /^\\s*data:image\\//i.test(a.value)))
                  .map(a => `<${el.localName} ${a.name}=${a.value.slice(0, 40)}>`),
                ...(el.localName === 'script' && el.textContent.trim()
                    ? [`<script>${el.textContent.slice(0, 40)}`] : []),
            ])"""
        )
    return found


def test_the_capture_holds_no_handler_once_a_browser_has_parsed_it(browser, attack_archive, payload_docs):
    traces = Traces()
    page = watched_page(browser, attack_archive.url, traces)
    problems = []
    for hit in payload_docs:
        visit(page, f"/documents/{hit['id']}/raw", traces)
        problems += [f"{path_of(hit['url'])}: {problem}" for problem in dom_problems(page)]
    page.context.close()
    assert traces.dialogs == [] and traces.pwned == [] and traces.in_window == []
    assert problems == []


def test_an_archivists_reason_and_the_crawl_log_stay_text(attack_archive, payload_docs):
    """Signed in: a takedown reason made of markup, the admin pages, the run log holding the payload
    addresses; then the takedown is lifted and the document is back."""
    archivist = Archivist(attack_archive.url)
    doc = payload_docs[0]["id"]
    hidden = archivist.post(f"/admin/documents/{doc}/hide", {"reason": REFLECTED})
    assert hidden.status in (302, 303), hidden.text
    try:
        assert http_get(f"{attack_archive.url}/documents/{doc}").status == 410
        problems = []
        admin = archivist.get("/admin/").text
        runs = sorted(set(re.findall(r'href="(/admin/runs/\d+)"', admin)))
        assert runs, "no run listed in the admin area"
        for path in [f"/documents/{doc}", "/admin/", "/admin/takedowns", f"/admin/sources/{SOURCE}", *runs]:
            result = archivist.get(path)
            assert result.status == 200, path
            problems += page_problems(path, result)
        assert problems == []
        assert REFLECTED in html_text(archivist.get(f"/documents/{doc}").text)  # shown, as text
    finally:
        lifts = re.findall(r'action="(/admin/takedowns/\d+/lift)"', archivist.get("/admin/takedowns").text)
        for lift in lifts:
            assert archivist.post(lift, {}).status in (302, 303)
    assert http_get(f"{attack_archive.url}/documents/{doc}").status == 200


def test_the_checks_see_the_payloads_when_they_are_live():
    """The checks above could pass by seeing nothing: each payload page, as the site serves it, is caught."""
    for path in ("/xss/attributes.html", "/xss/svg.html", "/xss/mutation.html"):
        assert len(live_markup(PAGES[path][1].decode())) >= 5, path
    assert not live_markup(PAGES["/xss/title.html"][1].decode()), "escaped payloads are text"
    assert live_markup('<a href=" JaVa&#x09;script:x()">') and live_markup("<p onclick=x()>")
    assert live_markup('<iframe src="/documents/0123456789abcdef/raw/1" sandbox="allow-scripts">')
    assert not live_markup('<iframe src="/documents/0123456789abcdef/raw/1" sandbox="allow-top-navigation">')
    assert not live_markup(f'<script src="{APP_SCRIPT}" defer></script><p>&lt;script&gt;</p>')
