"""How to read a static online magazine: back issues -> issue index -> articles.

An article page rarely carries its own date: its date and its label are its issue's, read from the issue
index (the article's parent directory) and handed to the article as a *fact*. The author is the name set
alone after the last paragraph. A "Page updated" footer or a Last-Modified header is never the date.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

from archive.extract import rules
from archive.extract.generic import Reader, Reading, first_text, text_of
from archive.extract.page import Page
from archive.urls import url_key

INDEX_FILE = re.compile(r"/index\.(html?|php)$")
# A name alone on its line: two to five capitalised words (particles allowed), maybe after "by" or a dash.
NAME = re.compile(
    r"^(?:(?i:by)\s+|[—–-]\s*)?((?:[A-ZА-ЯЁ][\w'’.-]*)(?:\s+(?:[A-ZА-ЯЁ][\w'’.-]*|de|da|van|von|der|del|la|le|bin|al)){1,4})$"
)
BLOCKS = ".//p | .//div[not(.//p or .//div)] | .//h1 | .//h2 | .//h3 | .//h4 | .//blockquote | .//li"
SEPARATORS = re.compile(r"\s+[—–|·:-]\s+|,\s+")


def issue_key(url: str) -> str:
    """An issue is the directory its pages live in."""
    path = urlsplit(url).path
    return url_key(urljoin(url, path.rsplit("/", 1)[0] + "/"))


class MagazineReader(Reader):
    kind = "magazine"
    offers_facts = True

    def classify(self, page: Page) -> tuple[str, str]:
        reason = rules.listing_reason(page)
        if reason:
            return "listing", reason
        if urlsplit(page.url).path.count("/") < 2:
            return "page", "outside any issue"  # home, back issues, subscribe: the magazine's own pages
        return "article", ""

    # -- issues --------------------------------------------------------------------------------------

    def facts(self, page: Page) -> dict[str, dict[str, Any]]:
        """An issue index names its issue and date; a back-issues table dates each issue it lists."""
        path = urlsplit(page.url).path
        if path.endswith("/") or INDEX_FILE.search(path):
            heading = first_text(page, ".//h1", ".//h2", ".//title") or ""
            published = rules.parse_human_date(heading)
            if published:
                return {issue_key(page.url): {"published": published, "label": _issue_label(heading), "index": True}}
        found: dict[str, dict[str, Any]] = {}
        for link in page.tree.xpath(".//a[@href]"):
            target = urljoin(page.url, link.get("href", ""))
            target_path = urlsplit(target).path
            if not (target_path.endswith("/") or INDEX_FILE.search(target_path)) or target_path == "/":
                continue
            row = next(link.iterancestors("tr", "li"), None)
            # Cells run together in text_content(): "159March 2024"; join them with spaces.
            published = rules.parse_human_date(" ".join(row.itertext())) if row is not None else None
            if published:
                found[issue_key(target)] = {"published": published}
        return found

    def needs(self, page: Page) -> str | None:
        return issue_key(page.url)

    # -- the article --------------------------------------------------------------------------------------

    def body(self, page: Page) -> Any:
        headings = page.tree.xpath(".//h1")
        if len(headings) == 1 and headings[0].getparent() is not None:
            return headings[0].getparent()
        return super().body(page)

    def clean_body(self, body: Any) -> None:
        for heading in body.xpath("./h1"):  # the title, not the text
            body.remove(heading)
        # The author line is part of the printed article; trafilatura drops anything classed as a byline.
        for el in body.xpath(".//*[contains(@class, 'author') or contains(@class, 'byline')]"):
            del el.attrib["class"]

    def title(self, r: Reading) -> str:
        return first_text(r.page, ".//h1") or super().title(r)

    def published(self, r: Reading) -> str | None:
        issue = r.facts.get(issue_key(r.page.url), {})
        return issue.get("published")

    def labels(self, r: Reading) -> list[str]:
        label = r.facts.get(issue_key(r.page.url), {}).get("label")
        return [label] if label else []

    def author(self, r: Reading) -> str | None:
        body = self.body(r.page)
        if body is None:
            return None
        blocks = [el for el in body.xpath(BLOCKS) if text_of(el)]
        while blocks and _is_navigation(blocks[-1]):
            blocks.pop()
        if not blocks or blocks[-1].tag in ("h1", "h2", "h3", "h4", "li"):
            return None
        match = NAME.match(text_of(blocks[-1]))
        return match.group(1) if match else None


def _is_navigation(el: Any) -> bool:
    """A trailing line of links ("Contents | Back issues") is the page's, not the article's."""
    linked = sum(len(text_of(a)) for a in el.xpath(".//a"))
    return linked > 0 and linked >= len(text_of(el).replace("|", "").replace(" ", "")) * 0.6


def _issue_label(heading: str) -> str | None:
    """ "Red Lantern 159 — March 2024" -> "Red Lantern 159": the heading without its date."""
    parts = [p.strip() for p in SEPARATORS.split(heading) if p.strip()]
    kept = [p for p in parts if not rules.parse_human_date(p)]
    return kept[0] if kept else None
