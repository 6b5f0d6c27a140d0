"""Extraction: a pure function from a capture (payload, URL, headers) and its source to a Document.

No Scrapy here: the crawl and `samizdat reindex` run exactly this code on the same bytes. One reader
per site kind knows how to read that platform's pages; `facts` carry what one page says about others
(a magazine issue index dates its articles), so that crawl and reindex give the same documents.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from w3lib.html import get_base_url, get_meta_refresh

from samizdat.archive.config import Source
from samizdat.archive.document import Document
from samizdat.archive.extract import rules
from samizdat.archive.extract.blogger import BloggerReader
from samizdat.archive.extract.challenge import CHALLENGE_STATUSES, challenge_service
from samizdat.archive.extract.decode import clean_html, decode_html
from samizdat.archive.extract.detect import detect_kind
from samizdat.archive.extract.generic import Reader, Reading
from samizdat.archive.extract.language import detect_language
from samizdat.archive.extract.magazine import MagazineReader
from samizdat.archive.extract.page import Page
from samizdat.archive.extract.wordpress import WordPressReader
from samizdat.archive.urls import normalize_url
from samizdat.archive.warc import Capture

HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = ("application/atom+xml", "application/rss+xml")
READERS: dict[str, Reader] = {
    "generic": Reader(),
    "blogger": BloggerReader(),
    "wordpress": WordPressReader(),
    "magazine": MagazineReader(),
}

Facts = dict[str, dict[str, Any]]

# The tree-size guard: a page of more elements is not read (trafilatura took 9 minutes over a page of a
# million <span>s). The largest of the 391 real pages of bench/data has 9,893; 50,000 links make 100,000.
MAX_ELEMENTS = 250_000

# Scrapy's METAREFRESH_MAXDELAY and METAREFRESH_IGNORE_TAGS (crawler/settings.py sets them from here): the
# crawl follows a refresh sooner than this to an http(s) address instead of reading the page, and so
# does a reindex, or the two would disagree on the page.
META_REFRESH_MAX_DELAY = 100
META_REFRESH_IGNORE_TAGS = ["noscript"]


@dataclass
class Extraction:
    # "article" | "listing" | "page" (static or too little text) | "challenge" (a bot check served instead
    # of the site: archive.extract.challenge) | "redirect" (a meta refresh the crawl follows instead of
    # reading the page) | "not_html" | "error"
    page_type: str
    url: str  # the canonical URL
    reason: str = ""
    document: Document | None = None
    detected_kind: str | None = None  # the kind this page shows, for sources that did not name one
    facts: Facts = field(default_factory=dict)  # what this page says about other pages
    needs: str | None = None  # the fact this article's reading depends on
    page: Page | None = field(default=None, repr=False)  # the parsed page, for the crawler's links
    links: list[str] = field(default_factory=list)  # set by `detach`
    next_pages: list[str] = field(default_factory=list)  # set by `detach`: the listing's own pagination
    feeds: list[str] = field(default_factory=list)  # set by `detach`: the page's Atom/RSS feeds

    def detach(self) -> Extraction:
        """Keep what the crawler needs of the parsed page (its links) and drop the page itself, so that the
        result can leave the worker process that extracted it."""
        if self.page is not None:
            self.links, self.next_pages = self.page.links_and_next_pages()
            self.feeds = [f for t in FEED_TYPES if (f := self.page.link_href("alternate", t))]
            self.page = None
        return self


def reader_for(kind: str | None) -> Reader:
    return READERS.get(kind or "generic", READERS["generic"])


def parse(capture: Capture) -> Page | Extraction:
    """The capture as an HTML page, decoded as it declares itself; or why it is not one (an error status,
    not HTML, or a protection service's challenge served instead of the site)."""
    url = normalize_url(capture.url)
    if capture.status not in CHALLENGE_STATUSES:
        return Extraction("error", url, f"HTTP {capture.status}")
    content_type = capture.header("content-type") or ""
    if content_type and content_type.split(";")[0].strip().lower() not in HTML_TYPES:
        if capture.status != 200:
            return Extraction("error", url, f"HTTP {capture.status}")
        return Extraction("not_html", url, content_type.split(";")[0].strip())
    _encoding, html = decode_html(capture.payload, content_type or None)
    page = Page.parse(clean_html(html), capture.url)
    if page is not None and page.elements() > MAX_ELEMENTS:
        return Extraction("error", url, "extract_too_many_elements")
    service = challenge_service(page, html) if page is not None else None
    if service:
        return Extraction("challenge", url, f"{service} challenge (HTTP {capture.status})")
    if capture.status != 200:
        return Extraction("error", url, f"HTTP {capture.status}")
    refresh = followed_refresh(html, capture.url)
    if refresh:
        return Extraction("redirect", url, f"meta refresh to {refresh}")
    return page if page is not None else Extraction("not_html", url, "not parseable as HTML")


def followed_refresh(html: str, url: str) -> str | None:
    """Where the page's meta refresh sends the crawl, read as Scrapy's MetaRefreshMiddleware reads it (the
    first 4 KB, <base href> applied); None when the crawl reads the page itself (no refresh, a slow one,
    or one to javascript:, data:, mailto: or an address no request can be made of)."""
    head = html[:4096]
    try:  # a malformed address raises, in the crawl as here (crawler.middlewares.SafeMetaRefreshMiddleware)
        interval, target = get_meta_refresh(head, get_base_url(head, url), ignore_tags=META_REFRESH_IGNORE_TAGS)
        if not target or interval is None or interval >= META_REFRESH_MAX_DELAY:
            return None
        parts = urlsplit(target)
        parts.port  # noqa: B018 -- raises on a malformed port, as building the request would
    except ValueError:
        return None
    return target if parts.scheme in ("http", "https") and parts.netloc else None


def read_facts(capture: Capture, source: Source, kind: str | None = None) -> Facts:
    """Only what a page says about others (for a reindex to know them before it reads the articles)."""
    reader = reader_for(kind or source.kind)
    if not reader.offers_facts:
        return {}
    page = parse(capture)
    if isinstance(page, Extraction):
        return {}
    return reader.facts(page)  # an index that carries an article of its own still dates its issue


def extract(capture: Capture, source: Source, kind: str | None = None, facts: Facts | None = None) -> Extraction:
    """Read one capture. `kind` is the source's site kind (given or detected); generic when unknown.
    `facts` are what other pages said about this one (see `merge_facts`)."""
    page = parse(capture)
    if isinstance(page, Extraction):
        return page
    reader = reader_for(kind or source.kind)
    detected = detect_kind(page) if not (kind or source.kind) else None  # only while the kind is unknown
    result = Extraction("article", reader.canonical_url(page), detected_kind=detected, page=page)
    result.page_type, result.reason = reader.classify(page)
    result.facts = reader.facts(page) if reader.offers_facts else {}
    if result.page_type != "article":
        return result
    result.needs = reader.needs(page)
    text = reader.text(page)
    if len(text) < rules.MIN_ARTICLE_CHARS:
        result.page_type, result.reason = "page", f"only {len(text)} characters of text"
        return result
    reading = Reading(page=page, capture=capture, source=source, facts=facts or {})
    published = reader.published(reading)
    result.document = Document(
        url=result.url,
        source=source.name,
        kind=reader.kind if reader.kind != "generic" else (kind or source.kind or "generic"),
        title=reader.title(reading) or result.url,
        author=reader.author(reading),
        published=published,
        date_precision=reader.date_precision(reading) if published else None,
        labels=unique([*reader.labels(reading), *source.labels], prefer=source.labels),
        text=text,
        language=detect_language(text, page.lang()),
        fetched_at=capture.fetched_at,
        warc_file=capture.warc_file,
        warc_offset=capture.warc_offset,
        digest=capture.digest,
    )
    return result


def merge_facts(facts: Facts, new: Facts) -> list[str]:
    """Add what a page said to what is known; returns the keys that became complete (an issue index
    read). An index's own word wins over a mention elsewhere, whichever came first."""
    completed = []
    for key, value in new.items():
        known = facts.setdefault(key, {})
        if known.get("index") and not value.get("index"):
            continue
        if value.get("index") and not known.get("index"):
            completed.append(key)
        known.update({k: v for k, v in value.items() if v is not None})
    return completed


def unique(values: list[str], prefer: Iterable[str] = ()) -> list[str]:
    """Each value once, ignoring case and spacing, where it first occurs; spelled as in `prefer` (a
    source's own labels) when one of those differs from it only in case: the site's "magazine" never
    swallows the source's "Magazine"."""
    spelling = {" ".join(value.split()).casefold(): " ".join(value.split()) for value in prefer}
    seen: dict[str, None] = {}
    folded: set[str] = set()
    for value in values:
        value = " ".join(value.split())
        if value and value.casefold() not in folded:
            seen[spelling.get(value.casefold(), value)] = None
            folded.add(value.casefold())
    return list(seen)
