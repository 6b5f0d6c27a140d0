"""End to end in real headless Chromium (Debian's, driven by Playwright) against `samizdat serve` on the
crawl of the sample sites: search, facets, the histogram, paging, a document, its captures and its
as-captured view, where nothing from the archived page may run or call out; and an archivist's day in the
admin area, from adding a source to hiding an article."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from samizdat.sample_sites.truth import sources_toml
from tests.conftest import Server


class Watch:
    """What a page did that archived content must never make it do."""

    def __init__(self, page: Page, base: str) -> None:
        self.dialogs: list[str] = []
        self.outside: list[str] = []
        self.errors: list[str] = []
        host = urlsplit(base).netloc
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: None if urlsplit(r.url).netloc in (host, "") else self.outside.append(r.url))
        page.on("pageerror", lambda e: self.errors.append(str(e)))


@pytest.fixture
def page(browser, web) -> Iterator[Page]:
    context = browser.new_context(base_url=web.url)
    page = context.new_page()
    page.watch = Watch(page, web.url)  # type: ignore[attr-defined]
    yield page
    context.close()


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_search_facet_year_month_paging_and_back(page):
    page.goto("/")
    page.fill("#q", "water")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"q=water"))
    total = int(page.inner_text(".total strong").replace(",", ""))
    assert total >= 3 and page.locator(".hit").count() == min(total, 20)
    assert page.locator(".hit mark").count() > 0  # matched terms highlighted

    page.locator(".facet-values a[href*='label=Water']").first.click()
    page.wait_for_url(re.compile(r"label=Water"))
    assert query(page)["q"] == ["water"]
    assert page.locator("a.chip", has_text="Water").count() == 1
    filtered = int(page.inner_text(".total strong"))
    assert 0 < filtered <= total

    page.locator(".histogram a[href*='year=']").first.click()
    page.wait_for_url(re.compile(r"year=\d{4}"))
    year = query(page)["year"][0]
    months = page.locator(".histogram a[href*='month=']")
    assert months.count() >= 1 and all(
        m.startswith(year)
        for m in months.evaluate_all("els => els.map(e => new URL(e.href).searchParams.get('month'))")
    )

    page.goto("/?per_page=5&sort=oldest")
    first_page = page.locator(".hit h2 a").all_inner_texts()
    page.click("a[rel=next]")
    page.wait_for_url(re.compile(r"page=2"))
    assert page.locator(".hit h2 a").all_inner_texts() != first_page
    page.go_back()
    page.wait_for_url(lambda url: "page=2" not in url)
    assert page.locator(".hit h2 a").all_inner_texts() == first_page
    assert not page.watch.errors  # type: ignore[attr-defined]


def test_a_document_its_captures_and_its_as_captured_view(page):
    page.goto("/?q=%22night+shift%22")
    page.click(".hit h2 a")
    page.wait_for_url(re.compile(r"/documents/[0-9a-f]{16}$"))
    assert page.inner_text("h1") == "Night shift at the courthouse"
    assert page.locator("a[href*='label=Courts']").count() >= 1
    captures = page.locator("section.captures")
    assert captures.locator("h2").inner_text() == "Captures over time"
    assert captures.locator("ol.versions li").count() == 1  # crawled once: one version, with its time
    assert re.search(r"\d{4}-\d{2}-\d{2}", captures.inner_text())

    page.locator("a[href$='/captured'], a[href*='/captured/']").first.click()
    page.wait_for_url(re.compile(r"/captured"))
    frame = page.locator("iframe[sandbox]")
    assert frame.count() == 1
    assert "allow-scripts" not in (frame.get_attribute("sandbox") or "")
    inner = page.frame_locator("iframe[sandbox]")
    assert "Ortakol" in inner.locator("body").inner_text()


def test_nothing_from_the_archived_xss_post_runs_or_calls_out(page):
    page.goto("/?q=%22script+ban%22")
    link = page.locator(".hit h2 a").first
    assert link.inner_text() == 'Why the <script>alert("samizdat")</script> ban failed'
    link.click()
    page.wait_for_url(re.compile(r"/documents/"))
    assert page.inner_text("h1") == 'Why the <script>alert("samizdat")</script> ban failed'
    assert "<img src=x onerror=alert(1)>" in page.inner_text("main")
    page.locator("a[href$='/captured'], a[href*='/captured/']").first.click()
    page.wait_for_url(re.compile(r"/captured"))
    page.wait_for_timeout(500)  # time for a payload to act, if it could
    frame = page.frame_locator("iframe[sandbox]")
    assert "pwned" not in frame.locator("body").inner_text()
    assert page.title() != "pwned" and "pwned" not in page.inner_text("body")
    assert page.watch.dialogs == []  # type: ignore[attr-defined]
    assert page.watch.outside == []  # type: ignore[attr-defined]  # nothing went to evil.invalid or elsewhere


def test_it_works_without_javascript_and_on_a_phone(browser, web):
    context = browser.new_context(base_url=web.url, java_script_enabled=False, viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.goto("/")
    page.fill("#q", "council")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"q=council"))
    assert page.locator(".hit").count() > 0
    page.locator(".facet-values a[href*='source=']").first.click()
    page.wait_for_url(re.compile(r"source="))
    assert page.locator(".hit").count() > 0
    context.close()
    phone = browser.new_context(base_url=web.url, viewport={"width": 375, "height": 740}).new_page()
    phone.goto("/?q=council")
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
    phone.context.close()


def in_first_screen(page: Page, selector: str) -> bool:
    """Whether the first element matching selector is visible and lies wholly within the viewport."""
    box = page.locator(selector).first.bounding_box()
    viewport = page.viewport_size
    return bool(box and viewport and page.locator(selector).first.is_visible()) and (
        box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]
    )


@pytest.mark.parametrize("path", ["/", "/?q=council", "/?q=strike"])
def test_on_a_phone_the_facets_are_one_tap_away(browser, web, path):
    phone = browser.new_context(
        base_url=web.url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    ).new_page()
    phone.goto(path)
    assert phone.locator(".hit").count() >= 3
    label = ".facets .facet-values a[href*='label=']"
    assert not in_first_screen(phone, label)  # below the results on a phone: hence the control
    assert in_first_screen(phone, "a.to-filters"), "no visible Filters control on the first screen"
    phone.tap("a.to-filters")
    phone.wait_for_function("location.hash === '#refine'")
    assert in_first_screen(phone, ".facets .histogram a, .facets .facet-values a")
    assert phone.evaluate("document.querySelector('#refine').getBoundingClientRect().top") < 50
    phone.locator(label).first.scroll_into_view_if_needed()
    phone.locator(label).first.tap()
    phone.wait_for_url(re.compile(r"label="))
    assert phone.locator(".hit").count() > 0
    phone.context.close()
    # On a wide screen the facets stand beside the results and the control is not shown.
    wide = browser.new_context(base_url=web.url, viewport={"width": 1280, "height": 900}).new_page()
    wide.goto(path)
    assert in_first_screen(wide, label) and not wide.locator("a.to-filters").is_visible()
    wide.context.close()


def test_screenshot_of_the_search_page_with_facets(page, tmp_path):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/?q=strike")
    assert page.locator(".facets .facet").count() >= 3
    path = tmp_path / "search.png"
    page.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size > 20_000  # a rendered page, not a blank one


def test_an_archivist_adds_a_source_crawls_it_watches_it_and_hides_an_article(browser, sample_sites, tmp_path):
    """Sign in, add a source, crawl it now, follow its figures live to the end, find its articles in search,
    hide one: gone from search and from the export."""
    data, config = tmp_path / "data", tmp_path / "sources.toml"
    config.write_text(
        sources_toml(sample_sites.urls, sites=("hugo",)) + "\n[settings]\nprogress_seconds = 0\n", encoding="utf-8"
    )
    added = subprocess.run(
        [sys.executable, "-m", "samizdat", "user", "add", "ana", "--data", str(data)],
        input="a long enough passphrase\n",
        capture_output=True,
        text=True,
    )
    assert added.returncode == 0, added.stderr
    server = Server("serve", "--port", "0", "--data", data, "--config", config)
    context = browser.new_context(base_url=server.url)
    try:
        page = context.new_page()
        watch = Watch(page, server.url)
        page.goto("/admin/")
        page.wait_for_url(re.compile(r"/admin/sign-in"))
        page.fill("#name", "ana")
        page.fill("#password", "a long enough passphrase")
        page.click("form.sign-in button")
        page.wait_for_url(re.compile(r"/admin/$"))

        page.click("text=Add a source")
        page.fill("#f-name", "red-lantern")
        page.select_option("#f-kind", "magazine")
        page.fill("#f-start_urls", sample_sites.urls["magazine"].rstrip("/") + "/")
        page.fill("#f-labels", "Magazine")
        page.fill("#f-delay", "0.5")  # slow enough to be watched at work: figures are saved every 5 s
        page.click("form.source-form button[type=submit]")
        page.wait_for_url(re.compile(r"/admin/sources/red-lantern$"))
        assert 'name = "red-lantern"' in config.read_text()

        page.click("button:has-text('Crawl now')")
        page.wait_for_url(re.compile(r"/admin/sources/red-lantern$"))
        assert "Crawl of red-lantern started" in page.inner_text(".notice")
        run_link = page.locator("table.admin-runs a[href*='/admin/runs/']").first
        for _ in range(60):  # the crawl process records its run as it starts
            if run_link.count():
                break
            page.wait_for_timeout(500)
            page.reload()
        run_link.click()
        page.wait_for_url(re.compile(r"/admin/runs/\d+"))
        page.evaluate("window.stillTheSamePage = true")
        seen = []
        while True:
            try:  # the page loads once more when the run ends: that may land in the middle of a question
                if not page.evaluate("window.stillTheSamePage === true"):
                    break
                status = page.inner_text("[data-figure=status]")
                pages = int(page.inner_text("[data-figure=pages]").replace(",", ""))
            except PlaywrightError as exc:
                assert "context was destroyed" in str(exc), exc
                break
            seen.append((status, pages))
            if status != "running":
                break
            page.wait_for_timeout(300)
        # The figures moved while the page stayed (the script, not reloads), then the page loaded once more.
        assert len({pages for status, pages in seen if status == "running"}) >= 2, seen
        page.wait_for_load_state()
        page.wait_for_function("document.querySelector('[data-figure=status]').textContent === 'finished'")
        assert int(page.inner_text("[data-figure=new]")) > 5 and "Spider closed" in page.inner_text("pre.log")

        page.goto("/?source=red-lantern")
        total = int(page.inner_text(".total strong"))
        assert total > 5
        first = page.locator(".hit h2 a").first
        title, href = first.inner_text(), first.get_attribute("href")
        doc_id = href.rstrip("/").rsplit("/", 1)[-1]
        first.click()
        page.fill("form.takedown[action$='/hide'] input[name=reason]", "asked by the author, 2026-12-01")
        page.click("form.takedown[action$='/hide'] button")
        page.wait_for_load_state()
        assert "asked by the author" in page.inner_text(".takedown")

        page.goto("/?source=red-lantern")
        assert int(page.inner_text(".total strong")) == total - 1
        assert title not in page.locator(".hit h2 a").all_inner_texts()
        exported = page.request.get("/export.jsonl?source=red-lantern").text()
        ids = [json.loads(line)["id"] for line in exported.splitlines()]
        assert len(ids) == total - 1 and doc_id not in ids
        visitor = browser.new_context(base_url=server.url).new_page()
        assert visitor.goto(f"/documents/{doc_id}").status in (404, 410)
        visitor.context.close()
        assert watch.errors == [] and watch.outside == []
    finally:
        context.close()
        server.stop()
