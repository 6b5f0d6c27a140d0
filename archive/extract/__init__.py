"""Extraction: a pure function from a capture (payload, URL, headers) and its source to a Document.

No Scrapy here: the crawl and `samizdat reindex` run exactly this code on the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archive.config import Source
from archive.document import Document
from archive.extract import generic, rules
from archive.extract.decode import decode_html
from archive.extract.language import detect_language
from archive.extract.page import Page
from archive.urls import normalize_url
from archive.warc import Capture

HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass
class Extraction:
    page_type: str  # "article" | "listing" | "page" (too little text) | "not_html" | "error"
    url: str  # the canonical URL
    reason: str = ""
    document: Document | None = None
    platform: str | None = None  # what the page says it was made with ("blogger", "wordpress"), if anything
    page: Page | None = field(default=None, repr=False)  # the parsed page, for the crawler's links


def extract(capture: Capture, source: Source, kind: str | None = None) -> Extraction:
    """Read one capture. `kind` is the source's site kind (given or detected); generic when unknown."""
    url = normalize_url(capture.url)
    if capture.status != 200:
        return Extraction("error", url, f"HTTP {capture.status}")
    content_type = capture.header("content-type") or ""
    if content_type and content_type.split(";")[0].strip().lower() not in HTML_TYPES:
        return Extraction("not_html", url, content_type.split(";")[0].strip())
    _encoding, html = decode_html(capture.payload, content_type or None)
    page = Page.parse(html, capture.url)
    if page is None:
        return Extraction("not_html", url, "not parseable as HTML")
    platform = detect_platform(page)
    url = page.canonical_url()
    reason = rules.listing_reason(page)
    if reason:
        return Extraction("listing", url, reason, platform=platform, page=page)
    text = generic.read_text(page)
    if len(text) < rules.MIN_ARTICLE_CHARS:
        return Extraction("page", url, f"only {len(text)} characters of text", platform=platform, page=page)
    meta = generic.read_metadata(page, capture.fetched_at[:10])
    labels = generic.read_labels(page) or [*(meta.get("categories") or []), *(meta.get("tags") or [])]
    document = Document(
        url=url,
        source=source.name,
        kind=kind or source.kind or "generic",
        title=(meta.get("title") or "").strip() or url,
        author=(meta.get("author") or None),
        published=meta.get("date") or None,
        labels=_unique([*labels, *source.labels]),
        text=text,
        language=detect_language(text, page.lang()),
        fetched_at=capture.fetched_at,
        warc_file=capture.warc_file,
        warc_offset=capture.warc_offset,
        digest=capture.digest,
    )
    return Extraction("article", url, "", document, platform=platform, page=page)


def detect_platform(page: Page) -> str | None:
    generator = page.generator()
    if "blogger" in generator:
        return "blogger"
    if "wordpress" in generator or page.link_href("https://api.w.org/"):
        return "wordpress"
    return None


def _unique(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        value = " ".join(value.split())
        if value and value.casefold() not in {v.casefold() for v in seen}:
            seen[value] = None
    return list(seen)
