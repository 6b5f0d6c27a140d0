"""The generic rules that tell an article from everything else a site serves.

Site readers (one per kind) refine these; what is here must hold for an unknown blog or news site.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from archive.extract.page import Page

# Paths of listings on most platforms: searches, feeds, label/category/tag/author archives, pagination,
# date archives. Matched against the path (and query) of the fetched URL.
LISTING_PATH = re.compile(
    r"""(^/$|^/index\.(html?|php)$
        |/search(/|$)|/feeds?(/|$)|/label/|/category/|/categories/|/tags?/|/topics?/|/author/
        |/page/\d+/?$|/comments/feed|_archive\.html$|/archives?/?$
        |^/\d{4}(/\d{1,2}){0,2}/?$)""",
    re.VERBOSE | re.IGNORECASE,
)
LISTING_QUERY = re.compile(r"(^|&)(s|q|paged|cat|tag|author|m|updated-max|start-index)=", re.IGNORECASE)

# Containers of one entry each: two or more on a page make it a listing.
ENTRY_XPATH = (
    ".//article[not(ancestor::article)]"
    " | .//*[contains(concat(' ', normalize-space(@class), ' '), ' hentry ')][not(self::article)]"
    " | .//*[@itemprop='blogPost']"
)

MIN_ARTICLE_CHARS = 250


def listing_reason(page: Page) -> str | None:
    """Why this page is a listing rather than an article, or None."""
    parts = urlsplit(page.url)
    if LISTING_PATH.search(parts.path):
        return f"listing path {parts.path}"
    if parts.query and LISTING_QUERY.search(parts.query):
        return f"listing query ?{parts.query}"
    entries = {id(el) for el in page.tree.xpath(ENTRY_XPATH)}
    if len(entries) >= 2:
        return f"{len(entries)} entries on one page"
    children = _child_links(page, parts.path)
    if children >= 3:
        return f"index of {children} pages below {parts.path}"
    return None


def _child_links(page: Page, path: str) -> int:
    """Links to distinct pages below this one: an issue index, a section front, a month archive."""
    if not (path.endswith("/") or re.search(r"/index\.(html?|php)$", path)):
        return 0
    base = path.rsplit("/", 1)[0] + "/"
    host = urlsplit(page.url).netloc
    found = set()
    for url in page.links():
        parts = urlsplit(url)
        below = parts.netloc == host and parts.path.startswith(base) and len(parts.path) > len(base)
        if below and not re.search(r"/index\.(html?|php)$", parts.path):
            found.add(parts.path)
    return len(found)
