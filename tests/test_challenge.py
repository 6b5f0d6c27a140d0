"""Bot-challenge and CAPTCHA pages: recognised by their markers, with status 200, 403, 429 or 503, never read
as an article, and a crawl that met them is flagged as blocked. The pages here are written for the test, in
the shape each service's page takes (their markers only)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from samizdat.archive.config import Source
from samizdat.archive.crawls import flag
from samizdat.archive.extract import extract
from samizdat.archive.warc import Capture, iter_entries
from tests.conftest import export_records, run_cli

SOURCE = Source(name="test", start_urls=("http://site.test/",))
ARTICLE_TEXT = "".join(
    f"<p>Paragraph {i}: the tenants met in the hall, counted the broken boilers and wrote to the council, "
    "which promised repairs before the winter and sent nobody until March.</p>"
    for i in range(8)
)
CHALLENGES = {
    "Cloudflare": """<html><head><title>Just a moment...</title></head><body><h1>site.test</h1>
        <p>Verifying you are human. This may take a few seconds.</p>
        <script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1"></script></body></html>""",
    "DDoS-Guard": """<html><head><title>DDoS-Guard</title></head><body><p>Checking your browser before
        accessing site.test.</p><script src="https://check.ddos-guard.net/check.js"></script></body></html>""",
    "Imperva": """<html><head><title>site.test</title></head><body><iframe src="/_Incapsula_Resource?SWUDNSAI=31">
        </iframe><p>Request unsuccessful. Incapsula incident ID: 0-123</p></body></html>""",
    "DataDome": """<html><head><title>site.test</title></head><body>
        <script src="https://ct.captcha-delivery.com/c.js"></script><p>Please enable JS.</p></body></html>""",
    "a bot check": """<html><head><title>Are you a robot?</title></head><body><form method="post">
        <div class="g-recaptcha" data-sitekey="x"></div><button>Continue</button></form></body></html>""",
}


def capture(html: str, status: int = 200, url: str = "http://site.test/stories/repairs-before-winter/") -> Capture:
    return Capture(
        url=url,
        status=status,
        headers=[("Content-Type", "text/html; charset=utf-8")],
        payload=html.encode("utf-8"),
        fetched_at="2026-01-10T12:00:00Z",
    )


@pytest.mark.parametrize("status", [200, 403, 429, 503])
@pytest.mark.parametrize("service", sorted(CHALLENGES))
def test_a_challenge_page_is_recognised_and_never_an_article(service, status):
    for kind in ("generic", "wordpress", "blogger", "magazine"):
        result = extract(capture(CHALLENGES[service], status), SOURCE, kind)
        assert (result.page_type, result.document) == ("challenge", None), (kind, result.reason)
        assert result.reason == f"{service} challenge (HTTP {status})"


def test_an_article_that_mentions_a_protection_service_or_has_a_captcha_form_is_an_article():
    html = f"""<html><head><meta property="og:type" content="article"><title>Repairs before winter</title>
    </head><body><article><h1>Repairs before winter</h1>{ARTICLE_TEXT}
    <p>Our site sits behind Cloudflare; its checks (/cdn-cgi/challenge-platform/) slow some readers.</p>
    </article><script src="/cdn-cgi/challenge-platform/scripts/jsd/main.js"></script>
    <form id="comment"><div class="g-recaptcha" data-sitekey="x"></div></form></body></html>"""
    result = extract(capture(html), SOURCE, "generic")
    assert result.page_type == "article", result.reason


def test_a_short_page_of_the_site_with_cloudflare_s_own_script_is_no_challenge():
    html = """<html><head><title>Contact</title></head><body><p>Write to the tenants' union at the hall.</p>
    <script src="/cdn-cgi/challenge-platform/scripts/jsd/main.js"></script></body></html>"""
    assert extract(capture(html, url="http://site.test/contact/"), SOURCE, "generic").page_type == "page"


def test_an_error_page_that_is_no_challenge_stays_an_error():
    html = "<html><head><title>Not allowed</title></head><body><p>You may not see this page.</p></body></html>"
    assert extract(capture(html, 403), SOURCE, "generic").page_type == "error"
    assert extract(capture(CHALLENGES["Cloudflare"], 404), SOURCE, "generic").page_type == "error"


def test_a_crawl_that_met_challenges_is_flagged_as_blocked():
    summary = {"pages": 12, "other_pages": {"challenge": 9, "listing": 2}, "failed": False}
    flagged = flag(summary, None)
    assert flagged is not None
    assert flagged["reason"].startswith("blocked: 9 bot-check pages instead of the site's")
    assert "bot protection" in flagged["reason"]
    assert flag({"pages": 12, "other_pages": {"listing": 2}, "failed": False}, None) is None


# -- a crawl that meets them ---------------------------------------------------------------------------


class BlockingSite(BaseHTTPRequestHandler):
    """A site whose protection service answers some pages: 503 and 403 challenges, and one at 200."""

    protocol_version = "HTTP/1.1"
    pages = {
        "/": (
            200,
            "<html><head><title>Union news</title></head><body><h1>Union news</h1><ul>"
            + "".join(
                f"<li><a href='{p}'>{p}</a></li>"
                for p in (
                    "/stories/repairs-before-winter/",
                    "/stories/blocked-503/",
                    "/stories/blocked-403/",
                    "/stories/challenged-200/",
                )
            )
            + "</ul></body></html>",
        ),
        "/stories/repairs-before-winter/": (
            200,
            f"<html><head><meta property='og:type' content='article'><title>Repairs before winter</title></head>"
            f"<body><article><h1>Repairs before winter</h1>{ARTICLE_TEXT}</article></body></html>",
        ),
        "/stories/blocked-503/": (503, CHALLENGES["Cloudflare"]),
        "/stories/blocked-403/": (403, CHALLENGES["Imperva"]),
        "/stories/challenged-200/": (200, CHALLENGES["DataDome"]),
    }

    def do_GET(self) -> None:
        status, html = self.pages.get(self.path, (404, "<html><body><p>no such page</p></body></html>"))
        body = html.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_crawl_archives_challenges_exports_none_and_flags_the_source_as_blocked(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), BlockingSite)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        config = tmp_path / "sources.toml"
        config.write_text(
            f'[[source]]\nname = "union"\nkind = "generic"\nstart_urls = ["{base}"]\ndelay = 0\n'
            "\n[settings]\ntimeout_seconds = 10\nprogress_seconds = 0\n",
            encoding="utf-8",
        )
        data = tmp_path / "data"
        crawled = run_cli("crawl", "--config", config, "--data", data)
        assert crawled.returncode == 0, crawled.stdout + crawled.stderr
    finally:
        server.shutdown()
        server.server_close()
    assert [r["title"] for r in export_records(data)] == ["Repairs before winter"]
    report = run_cli("report", "union", "--config", config, "--data", data, "--json")
    assert report.returncode == 0, report.stderr
    last = json.loads(report.stdout)
    assert last["flag"]["reason"].startswith("blocked: 3 bot-check pages instead of the site's"), last["flag"]
    archived = {
        entry.capture.url.removeprefix(base.rstrip("/")): entry.capture.status
        for path in (data / "warc").glob("*.warc.gz")
        for entry in iter_entries(path, path.name)
        if entry.type == "response" and entry.capture is not None
    }
    assert {p: archived.get(p) for p in ("/stories/blocked-503/", "/stories/blocked-403/")} == {
        "/stories/blocked-503/": 503,
        "/stories/blocked-403/": 403,
    }
