"""capture = "browser": the sample WordPress site's JavaScript-built page crawled in real headless Chromium
(scrapy-playwright, Debian's chromium), beside a page whose script never ends, served by a real server.

What must hold: the page is archived with what the browser loaded for it (its script, the JSON the script
fetched, its stylesheets: response records marked WARC-Resource-Type, once each), the rendered page is a
conversion record referring to the document's response (never a response), its text is extracted and found
by `samizdat search` (a crawl of the same page over plain HTTP finds nothing), `samizdat reindex` gives the
same document from the WARC files alone, the hanging page is counted as browser_timeout while the crawl goes
on, the browser asked nothing of a host the source does not allow (the sample server's request log), and
a source's proxy carries everything the browser asks for.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from samizdat.archive.replay import timestamp_of
from samizdat.webui import create_app
from tests.conftest import export_records, run_cli
from tests.helpers import serve_pages
from tests.test_proxy import CREDENTIALS, PASSWORD, USER, start_proxy

LIVE = "/live/rent-strike-diary/"
SCRIPT = "/wp-content/themes/twentytwenty/assets/js/live.js"
JSON = "/wp-json/tenants-voice/v1/live-diary"
# Only the script puts this on the page (samizdat/sample_sites/data/live-diary.toml).
SENTENCE = "forty-one households on Copperfield Row paid their rent into a holding account"
HTML = [("Content-Type", "text/html; charset=utf-8")]


@dataclass
class BrowserCrawl:
    data: Path
    result: subprocess.CompletedProcess
    requests: list[dict]  # what the sample sites served during the crawl
    base: str  # the WordPress site's address
    cdn: str


def config(root: Path, start_urls: list[str], capture: str, extra: str = "") -> Path:
    path = root / "sources.toml"
    path.write_text(
        f"""
[[source]]
name = "live"
kind = "wordpress"
start_urls = {json.dumps(start_urls)}
include = ["/live/", "/hang/", "/offsite/"]
capture = "{capture}"
requisite_hosts = ["localhost"]
{extra}

[settings]
timeout_seconds = 10
progress_seconds = 0
browser_timeout_seconds = 8
browser_max_memory_mb = 150
""",
        encoding="utf-8",
    )
    return path


def records(data: Path) -> list[dict]:
    """Every record of the data directory's WARC files: type, URI, the WARC headers that matter here."""
    found = []
    for path in sorted((data / "warc").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                headers = record.rec_headers
                found.append(
                    {
                        "type": record.rec_type,
                        "uri": headers.get_header("WARC-Target-URI"),
                        "id": headers.get_header("WARC-Record-ID"),
                        "refers_to": headers.get_header("WARC-Refers-To"),
                        "resource_type": headers.get_header("WARC-Resource-Type"),
                        "content_type": headers.get_header("Content-Type"),
                        "block": record.content_stream().read(),
                    }
                )
    return found


def search(data: Path, query: str) -> list[dict]:
    result = run_cli("search", f'"{query}"', "--json", "--data", data)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)["hits"]


@pytest.fixture(scope="module")
def browser_crawl(sample_sites, tmp_path_factory):
    """The live page and a page whose script never ends, crawled in the browser; one crawl for the module."""
    base = sample_sites.urls["wordpress"]
    elsewhere = sample_sites.urls["blogger"]  # 127.0.0.1 on another port: neither in scope nor a requisite host
    pages = {
        "/hang/": (HTML, b"<html><body><p>Loading forever.</p><script>for (;;) {}</script></body></html>"),
        # The CDN's stylesheet (a requisite host) sets a header background its robots.txt disallows; the image
        # and the script's request elsewhere are on a host the source does not allow. Neither is ever sent.
        "/offsite/": (
            HTML,
            f'<html><head><link rel="stylesheet" href="{sample_sites.cdn}/css/samizdat-serif.css"></head>'
            f'<body><header class="site-header">Offsite things</header><main><p>Offsite things.</p>'
            f'<img src="{elsewhere}/offsite.png"></main>'
            f'<script>fetch("{elsewhere}/beacon")</script></body></html>'.encode(),
        ),
    }
    with serve_pages(pages) as other:
        root = tmp_path_factory.mktemp("browser-capture")
        before = len(sample_sites.requests())
        path = config(root, [base + LIVE, other + "hang/", other + "offsite/"], "browser")
        result = run_cli("crawl", "--config", path, "--data", root / "data", timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        yield BrowserCrawl(root / "data", result, sample_sites.requests()[before:], base, sample_sites.cdn)


def test_the_page_is_archived_with_what_the_browser_loaded(browser_crawl) -> None:
    data = browser_crawl.data
    base = browser_crawl.base
    found = records(data)
    responses = [r for r in found if r["type"] == "response"]
    # Each URL once per crawl, whatever the page loaded it for (robots.txt is read by Scrapy and the spider).
    archived = Counter(r["uri"] for r in responses if not r["uri"].endswith("/robots.txt"))
    assert [u for u, n in archived.items() if n > 1] == []
    kinds = {r["uri"]: r["resource_type"] for r in responses}
    assert kinds[base + LIVE] is None  # the page itself is a page
    assert kinds[base + SCRIPT] == "script"
    assert kinds[base + JSON] in ("fetch", "xhr")
    assert "stylesheet" in {kinds[u] for u in kinds if u.startswith(base) and ".css" in u}
    # Requisite requests are marked as their responses are.
    requests = {r["uri"]: r["resource_type"] for r in found if r["type"] == "request"}
    assert requests[base + SCRIPT] == "script"
    # The document as the server sent it: an empty <main>, no article text.
    [document] = [r for r in responses if r["uri"] == base + LIVE]
    assert b'<main id="live-diary"></main>' in document["block"]
    assert SENTENCE.encode() not in document["block"]
    # The rendered page: a conversion record referring to that response, with the script's text.
    [rendered] = [r for r in found if r["type"] == "conversion" and r["uri"] == base + LIVE]
    assert rendered["refers_to"] == document["id"]
    assert rendered["content_type"].startswith("text/html")
    assert SENTENCE.encode() in rendered["block"]
    assert b'data-rendered="yes"' in rendered["block"]


def test_the_rendered_text_is_extracted_and_reindexed_alike(browser_crawl, tmp_path) -> None:
    data = browser_crawl.data
    base = browser_crawl.base
    [hit] = search(data, SENTENCE)
    assert hit["url"] == base + LIVE
    crawled = [r for r in export_records(data) if r["url"] == base + LIVE]
    assert len(crawled) == 1 and SENTENCE in crawled[0]["text"]
    # Requisites are no documents: the script's JSON and the stylesheets are neither stored nor found.
    assert {r["url"] for r in export_records(data)} == {base + LIVE}

    result = run_cli("reindex", "--data", data)
    assert result.returncode == 0, result.stdout + result.stderr
    reindexed = export_records(data)
    assert reindexed == crawled
    [hit] = search(data, SENTENCE)
    assert hit["url"] == base + LIVE


def test_replay_shows_the_page_as_the_browser_rendered_it(browser_crawl) -> None:
    """Replay runs no script, so a page captured in a browser is shown as it rendered (its conversion record),
    made inert like any capture: in the document's captured view and under /web/. id_ keeps the bytes the
    server sent."""
    base = browser_crawl.base
    client = create_app({"data_dir": browser_crawl.data}).test_client()
    [doc] = [r for r in export_records(browser_crawl.data) if r["url"] == base + LIVE]
    for address in (f"/documents/{doc['id']}/raw", f"/web/{timestamp_of(doc['fetched_at'])}if_/{base}{LIVE}"):
        page = client.get(address).get_data(as_text=True)
        assert SENTENCE in page, address
        assert "<script" not in page.lower(), address
    served = client.get(f"/web/{timestamp_of(doc['fetched_at'])}id_/{base}{LIVE}").get_data(as_text=True)
    assert SENTENCE not in served and '<main id="live-diary"></main>' in served


def test_plain_http_capture_does_not_see_the_text(sample_sites, tmp_path) -> None:
    base = sample_sites.urls["wordpress"]
    path = config(tmp_path, [base + LIVE], "http")
    result = run_cli("crawl", "--config", path, "--data", tmp_path / "data", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert search(tmp_path / "data", SENTENCE) == []
    assert not [r for r in records(tmp_path / "data") if r["type"] == "conversion"]


def test_a_hanging_page_is_skipped_and_the_crawl_goes_on(browser_crawl) -> None:
    data = browser_crawl.data
    result = browser_crawl.result
    assert "browser_timeout x1" in result.stdout
    uris = {r["uri"] for r in records(data) if r["type"] == "response"}
    assert not [u for u in uris if u.endswith("/hang/")]  # skipped: not archived half-loaded
    # The page after it was loaded all the same, in a new browser: Chromium holds more than the 150 MB
    # allowed once it has loaded a page, so it is restarted after each one.
    assert [u for u in uris if u.endswith("/offsite/")]
    log = "".join(p.read_text(encoding="utf-8") for p in (data / "logs").glob("crawl-*.log"))
    assert "restarting the browser: it held" in log


def test_the_browser_reaches_only_the_allowed_hosts(browser_crawl) -> None:
    data = browser_crawl.data
    requests = browser_crawl.requests
    assert {r["site"] for r in requests} == {"wordpress", "cdn"}  # never the blogger site: not allowed
    assert {LIVE, SCRIPT, JSON} <= {r["path"] for r in requests if r["site"] == "wordpress"}
    # The CDN's robots.txt was read before anything else of it, and what it disallows was not fetched.
    cdn = [r["path"] for r in requests if r["site"] == "cdn"]
    assert cdn[0] == "/robots.txt" and "/css/samizdat-serif.css" in cdn
    assert not [p for p in cdn if p.startswith("/private/")]
    kinds = {r["uri"]: r["resource_type"] for r in records(data) if r["type"] == "response"}
    assert kinds[browser_crawl.cdn + "/css/samizdat-serif.css"] == "stylesheet"


def test_the_browser_goes_through_the_sources_proxy(sample_sites, tmp_path) -> None:
    """An HTTP proxy with a password: every request of the source, the browser's included, goes through it,
    to our own machine too; Chromium's own traffic (updates, Google sign-in) goes to no real host."""
    proxy = start_proxy(tmp_path / "proxy", "--user", USER, "--password", PASSWORD)
    try:
        base = sample_sites.urls["wordpress"]
        before = len(sample_sites.requests())
        extra = f'proxy = "http://{CREDENTIALS}{proxy.http}"'
        path = config(tmp_path, [base + LIVE], "browser", extra)
        result = run_cli("crawl", "--config", path, "--data", tmp_path / "data", timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        served = [r["path"] for r in sample_sites.requests()[before:]]
        carried = [e for e in proxy.requests() if not e.get("refused")]
    finally:
        proxy.process.terminate()
        proxy.process.wait(timeout=10)
    assert {LIVE, SCRIPT, JSON} <= set(served)
    # The server saw nothing the proxy did not carry.
    assert sorted(served) == sorted(
        e["request"].split(" ", 1)[1] for e in carried if e["target"] != "invalid.invalid:80"
    )
    assert {e["target"] for e in proxy.entries()} <= {base.removeprefix("http://"), "invalid.invalid:80"}


def test_a_socks5_proxy_with_a_password_is_refused_before_any_run(tmp_path) -> None:
    path = config(tmp_path, ["http://127.0.0.1:9/"], "browser", 'proxy = "socks5://ana:secret@127.0.0.1:9"')
    result = run_cli("crawl", "--config", path, "--data", tmp_path / "data")
    assert result.returncode == 1
    assert 'source "live": capture = "browser" cannot use a SOCKS5 proxy with a user name and password' in result.stderr
    assert "secret" not in result.stdout + result.stderr
    assert "no crawl runs yet" in run_cli("runs", "--data", tmp_path / "data").stdout
