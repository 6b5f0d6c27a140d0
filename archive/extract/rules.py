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

# English month names, as sites print them and as samizdat shows them.
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
# Other spellings sites use: English abbreviations, Russian genitive ("5 марта") and nominative forms.
_OTHER_SPELLINGS = (
    ("jan", "января", "январь"),
    ("feb", "февраля", "февраль"),
    ("mar", "марта", "март"),
    ("apr", "апреля", "апрель"),
    ("мая", "май"),
    ("jun", "июня", "июнь"),
    ("jul", "июля", "июль"),
    ("aug", "августа", "август"),
    ("sep", "sept", "сентября", "сентябрь"),
    ("oct", "октября", "октябрь"),
    ("nov", "ноября", "ноябрь"),
    ("dec", "декабря", "декабрь"),
)
MONTHS = {
    name: number
    for number, (english, others) in enumerate(zip(MONTH_NAMES, _OTHER_SPELLINGS, strict=True), start=1)
    for name in (english.lower(), *others)
}
_MONTH = "(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH}\s*,?\s+(\d{{4}})\b", re.IGNORECASE)
_MONTH_DAY_YEAR = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.IGNORECASE)
_MONTH_YEAR = re.compile(rf"\b{_MONTH}\s+(\d{{4}})\b", re.IGNORECASE)
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")


def parse_human_date(text: str) -> str | None:
    """A date as sites print it: "Tuesday, 5 March 2024", "March 5, 2024", "2024-03-05", or an issue's
    "March 2024" (the first of the month). Returns YYYY-MM-DD or None."""
    for pattern, order in ((_ISO, "ymd"), (_DAY_MONTH_YEAR, "dmy"), (_MONTH_DAY_YEAR, "mdy"), (_MONTH_YEAR, "my")):
        match = pattern.search(text)
        if not match:
            continue
        parts = dict(zip(order, match.groups(), strict=True))
        month = int(parts["m"]) if parts["m"].isdigit() else MONTHS[parts["m"].lower().rstrip(".")]
        day = int(parts.get("d", 1))
        year = int(parts["y"])
        if 1 <= month <= 12 and 1 <= day <= 31:
            return f"{year:04d}-{month:02d}-{day:02d}"
    return None


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
