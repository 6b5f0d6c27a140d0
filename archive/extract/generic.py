"""The generic reader: trafilatura's text and metadata, helped by markup most platforms share."""

from __future__ import annotations

import copy
from typing import Any

import lxml.html
import trafilatura
from trafilatura.metadata import extract_metadata

from archive.extract.page import Page

# The article body on most platforms; when exactly one is present, the text comes from it alone.
BODY_XPATH = (
    ".//*[@itemprop='articleBody']",
    ".//*[contains(concat(' ', normalize-space(@class), ' '), ' post-body ')]",
    ".//*[contains(concat(' ', normalize-space(@class), ' '), ' entry-content ')]",
    ".//*[contains(concat(' ', normalize-space(@class), ' '), ' article-content ')]",
    ".//*[contains(concat(' ', normalize-space(@class), ' '), ' post-content ')]",
)

# Boilerplate that trafilatura sometimes keeps: share blocks, related posts, sidebars, comments.
PRUNE_XPATH = [
    "//*[contains(@class, 'sharedaddy') or contains(@class, 'share-') or contains(@class, 'sharing')]",
    "//*[contains(@class, 'relatedposts') or contains(@class, 'related-posts')]",
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


def read_metadata(page: Page, fetched_date: str) -> dict[str, Any]:
    """Title, author, date, categories and tags, by trafilatura (dates by htmldate, capped at capture)."""
    meta = extract_metadata(
        page.tree,
        default_url=page.url,
        date_config={"original_date": True, "extensive_search": True, "max_date": fetched_date},
    )
    return meta.as_dict() if meta else {}


def read_text(page: Page) -> str:
    """The clean body, paragraphs separated by blank lines."""
    body = _single(page, BODY_XPATH)
    if body is not None:
        wrapper = lxml.html.fromstring("<html><body></body></html>")
        wrapper.find("body").append(copy.deepcopy(body))
        target = wrapper
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
    text = doc.text if doc is not None else ""
    return paragraphs(text or "")


def read_labels(page: Page) -> list[str]:
    labels = []
    for el in page.tree.xpath(LABEL_XPATH):
        text = " ".join(el.text_content().split())
        if text:
            labels.append(text)
    return labels


def paragraphs(text: str) -> str:
    return "\n\n".join(line.strip() for line in text.splitlines() if line.strip())


def _single(page: Page, xpaths: tuple[str, ...]) -> Any:
    for xpath in xpaths:
        found = page.tree.xpath(xpath)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            return None
    return None
