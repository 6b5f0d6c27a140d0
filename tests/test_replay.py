"""Replay of record in real Chromium: the "as captured" view of a sample article shows its archived styling
(a rule of the a.css -> b.css -> c.css @import chain, the web font c.css loads, the background b.css sets, the
<picture> banner), everything loaded from our own server and nothing from the live sites or anywhere else,
and no archived script runs (the sample WordPress site's JavaScript-built diary stays empty, as it was served).

The sample sites' requisites are samizdat/sample_sites/requisites.py; the archive is the session's crawl
(tests/conftest.py `crawl`), served by `samizdat serve` (`web`).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Frame, Page

MAROON = "rgb(128, 0, 32)"  # a.css: body { border-top: 6px solid rgb(128, 0, 32) }


@dataclass
class Traffic:
    """Every request of a browser context (frames and workers included) and what ran."""

    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
def context(browser, web) -> Iterator[tuple[BrowserContext, Traffic]]:
    context = browser.new_context(base_url=web.url)
    traffic = Traffic()
    context.on("request", lambda request: traffic.requests.append(request.url))
    context.on("console", lambda message: traffic.console.append(message.text))
    yield context, traffic
    context.close()


def capture_frame(page: Page) -> Frame:
    frame = page.frame_locator("iframe.capture")
    frame.locator("body").wait_for()
    (inner,) = [f for f in page.frames if f is not page.main_frame]
    inner.evaluate("document.fonts.ready.then(() => true)")
    return inner


def outside(requests: list[str], server: str) -> list[str]:
    own = urlsplit(server).netloc
    return [url for url in requests if urlsplit(url).netloc != own and not url.startswith(("data:", "about:"))]


def article_of(web, source: str) -> dict:
    with urllib.request.urlopen(f"{web.url}api/search?source={source}&per_page=1", timeout=30) as response:
        return json.load(response)["hits"][0]


def test_the_captured_view_shows_the_archived_styling_and_loads_nothing_from_outside(context, web, crawl):
    context, traffic = context
    served_before = len(crawl.sites.requests())
    article = article_of(web, "tenants-voice")
    page = context.new_page()
    page.on("dialog", lambda dialog: (traffic.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"/documents/{article['id']}/captured", wait_until="load")
    frame = capture_frame(page)

    body = frame.evaluate(
        "(() => { const s = getComputedStyle(document.body);"
        " return [s.borderTopColor, s.borderTopWidth, s.backgroundImage] })()"
    )
    assert body[:2] == [MAROON, "6px"], "a.css, the first stylesheet of the chain, applies"
    assert "/web/" in body[2] and "im_/" in body[2] and body[2].endswith('img/paper.png")'), "b.css, a.css's @import"
    fonts = frame.evaluate("[...document.fonts].map(f => [f.family.replace(/\"/g, ''), f.status])")
    assert ["Samizdat Sans", "loaded"] in fonts, f"c.css (@imported by b.css) loads its web font: {fonts}"
    banner = frame.evaluate(
        "(() => { const img = document.querySelector('.samizdat-banner img');"
        " return [img.naturalWidth, img.currentSrc] })()"
    )
    assert banner[0] > 0 and banner[1].startswith(web.url + "web/"), f"the banner loaded from the archive: {banner}"

    assert traffic.requests and outside(traffic.requests, web.url) == [], "nothing but our own server"
    assert any("cs_/" in url and url.endswith("/c.css") for url in traffic.requests), "the chain's last stylesheet"
    assert any("im_/" in url and url.endswith(".woff2") for url in traffic.requests), "the font, from the archive"
    assert crawl.sites.requests()[served_before:] == [], "the sample sites saw no request"
    assert traffic.dialogs == []


def test_no_archived_script_runs_in_the_replay(context, web, crawl):
    """The diary page is empty until its script builds it from JSON: replayed, it stays as it was served."""
    context, traffic = context
    base = crawl.sites.urls["wordpress"]
    page = context.new_page()
    page.goto(f"/web/2000/{base}/live/rent-strike-diary/", wait_until="load")  # redirected to its capture
    assert "/web/" in page.url and page.locator("iframe.capture").count() == 1
    frame = capture_frame(page)
    assert frame.evaluate("document.documentElement.getAttribute('data-rendered')") is None
    assert frame.evaluate("document.getElementById('live-diary').children.length") == 0
    assert frame.evaluate("document.scripts.length") == 0 and frame.evaluate("typeof window.fetch") == "function"
    assert frame.evaluate("getComputedStyle(document.body).borderTopColor") == MAROON, "styled all the same"
    assert not any(url.endswith("live.js") or "/wp-json/" in url for url in traffic.requests), "its script not loaded"
    assert outside(traffic.requests, web.url) == []


def test_an_image_that_was_never_there_shows_the_placeholder(context, web):
    """The sample magazine links images/spacer.gif, which its server never had (404): replayed, the image is
    our own "not archived" placeholder, from our server."""
    context, traffic = context
    page = context.new_page()
    page.goto(f"/documents/{article_of(web, 'red-lantern')['id']}/captured", wait_until="load")
    frame = capture_frame(page)
    spacer = frame.evaluate(
        "(() => { const img = [...document.images].find(i => i.src.endsWith('/images/spacer.gif'));"
        " return [img.naturalWidth, img.currentSrc] })()"
    )
    assert spacer[0] == 160 and "im_/" in spacer[1], f"the placeholder, 160 pixels wide: {spacer}"
    assert outside(traffic.requests, web.url) == []
