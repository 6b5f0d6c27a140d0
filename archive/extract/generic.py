"""The generic reader, and the base of the site readers: trafilatura's text and metadata, helped by
markup most platforms share. A site reader overrides only what its platform shows better."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import lxml.html
import trafilatura
from trafilatura.metadata import extract_metadata

from archive.config import Source
from archive.extract import rules
from archive.extract.page import Page, has_class
from archive.warc import Capture

# The article body on most platforms; when exactly one is present, the text comes from it alone.
BODY_XPATH = (
    ".//*[@itemprop='articleBody']",
    f".//*[{has_class('post-body')}]",
    f".//*[{has_class('entry-content')}]",
    f".//*[{has_class('article-content')}]",
    f".//*[{has_class('post-content')}]",
    f".//*[{has_class('article-body')}]",
)

# Boilerplate that trafilatura sometimes keeps: share blocks, related posts, sidebars, comments.
PRUNE_XPATH = [
    "//*[contains(@class, 'sharedaddy') or contains(@class, 'share-') or contains(@class, 'sharing')]",
    "//*[contains(@class, 'relatedposts') or contains(@class, 'related-posts') or contains(@class, 'read-next')]",
    "//*[contains(@class, 'sidebar') or @id='sidebar' or @id='secondary' or contains(@class, 'widget')]",
    "//*[@id='comments' or contains(@class, 'comments') or contains(@class, 'comment-respond')]",
    "//nav | //footer | //aside",
]

# Links that name the post's labels: rel=tag (Blogger labels, WordPress tags) and rel="category tag".
LABEL_XPATH = (
    ".//a[contains(concat(' ', normalize-space(@rel), ' '), ' tag ')]"
    # Blogger wraps its posts in a "widget Blog", so widgets as such are not excluded: sidebars are.
    "[not(ancestor::*[contains(@class, 'sidebar') or self::aside or @id='comments' or contains(@class, 'comments')])]"
)
# Tag lists of themes that do not mark them with rel=tag (Hugo, Jekyll, Ghost...). A footer inside the
# article holds its tags; the page's own footer, nav and sidebars hold tag clouds.
TAG_LIST_XPATH = (
    ".//*[self::ul or self::div or self::p or self::span]"
    "[contains(@class, 'tags') or contains(@class, 'post-tags') or contains(@class, 'tag-links')]"
    "[not(ancestor::*[contains(@class, 'sidebar') or self::aside or self::nav])]"
    "[not(ancestor::footer[not(ancestor::article)])]//a"
)
ISO_DATE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})")


@dataclass
class Reading:
    """One page being read: what every reader method gets."""

    page: Page
    capture: Capture
    source: Source
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)

    @cached_property
    def meta(self) -> dict[str, Any]:
        """trafilatura's metadata (dates by htmldate, never later than the capture); computed once, on demand."""
        found = extract_metadata(
            self.page.tree,
            default_url=self.page.url,
            date_config={
                "original_date": True,
                "extensive_search": True,
                "max_date": self.capture.fetched_at[:10] or None,
            },
        )
        return found.as_dict() if found else {}


class Reader:
    """How to read a page of a site of this kind."""

    kind = "generic"
    offers_facts = False  # whether some pages hold facts that other pages need (the magazine's issues)

    # -- what the page is ---------------------------------------------------------------------------

    def classify(self, page: Page) -> tuple[str, str]:
        """("article", "") or (another page type, the reason)."""
        reason = rules.listing_reason(page)
        if reason:
            return "listing", reason
        if (page.meta("og:type") or "").lower() == "website":  # what most engines say of their static pages
            return "page", "og:type website"
        return "article", ""

    def canonical_url(self, page: Page) -> str:
        return page.canonical_url()

    # -- facts one page holds for others ---------------------------------------------------------------

    def facts(self, page: Page) -> dict[str, dict[str, Any]]:
        return {}

    def needs(self, page: Page) -> str | None:
        return None

    # -- the article's parts ---------------------------------------------------------------------------

    def body(self, page: Page) -> Any:
        """The element holding the article body, or None to let trafilatura find it."""
        return single(page, BODY_XPATH)

    def clean_body(self, body: Any) -> None:
        """Remove what a platform puts inside its body element that is not the article."""

    def text(self, page: Page) -> str:
        body = self.body(page)
        if body is not None:
            body = copy.deepcopy(body)
            self.clean_body(body)
            leaf_divs_to_paragraphs(body)
            target = lxml.html.fromstring("<html><body></body></html>")
            target.find("body").append(body)
        else:
            target = page.tree
        doc = trafilatura.bare_extraction(
            target,
            url=page.url,
            include_comments=False,
            include_tables=True,
            favor_precision=body is None,
            prune_xpath=None if body is not None else PRUNE_XPATH,
            with_metadata=False,
        )
        text = getattr(doc, "text", None)  # a trafilatura Document (as_dict=False)
        return paragraphs(text or "")

    def title(self, r: Reading) -> str:
        return str(r.meta.get("title") or "").strip()

    def published(self, r: Reading) -> str | None:
        return r.meta.get("date") or None

    def date_precision(self, r: Reading) -> str | None:
        """How much of `published` the site gave: "day" (a post's date, htmldate's), "month", "season" or
        "year" (a magazine issue's period). Asked only of a dated article."""
        return "day"

    def author(self, r: Reading) -> str | None:
        return r.meta.get("author") or None

    def labels(self, r: Reading) -> list[str]:
        found = texts(r.page.tree.xpath(LABEL_XPATH)) or texts(r.page.tree.xpath(TAG_LIST_XPATH))
        return found or [*(r.meta.get("categories") or []), *(r.meta.get("tags") or [])]


# -- helpers shared by the readers -------------------------------------------------------------------------


def paragraphs(text: str) -> str:
    return "\n\n".join(line.strip() for line in text.splitlines() if line.strip())


BLOCK_TAGS = {"p", "div", "table", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "figure"}


def leaf_divs_to_paragraphs(body: Any) -> None:
    """Editors (Blogger's above all) write paragraphs and captions as <div>s; trafilatura keeps short
    text only from paragraphs, so inside a known article body a div holding no blocks is one."""
    for div in body.iter("div"):
        if div is not body and div.text_content().strip() and not any(c.tag in BLOCK_TAGS for c in div):
            div.tag = "p"


def single(page: Page, xpaths: tuple[str, ...]) -> Any:
    """The one element the first matching xpath finds; None when it finds several (a listing)."""
    for xpath in xpaths:
        found = page.tree.xpath(xpath)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            return None
    return None


def text_of(el: Any) -> str:
    return " ".join(el.text_content().split()) if el is not None else ""


def texts(elements: list[Any]) -> list[str]:
    return [t for t in (text_of(el) for el in elements) if t]


def first_text(page: Page, *xpaths: str) -> str | None:
    for xpath in xpaths:
        for el in page.tree.xpath(xpath):
            value = el if isinstance(el, str) else text_of(el)
            if value and value.strip():
                return " ".join(value.split())
    return None


def local_date(value: str | None) -> str | None:
    """The date part of an ISO timestamp as written: 2024-03-05T02:40:00+06:00 is 5 March, in the
    site's own time zone, never shifted to UTC."""
    match = ISO_DATE.match(value or "")
    return match.group(1) if match else None
