"""Page requisites: what an archived HTML page needs to render (stylesheets, images, fonts, icons, media,
and on request scripts), found in its markup and in its CSS.

The crawl fetches them beside the page and writes them to the same WARC files, marked with a
`WARC-Resource-Type: <kind>` header on both records, so that replay can show the page as it looked and
everything that reads pages (extraction, the store, the index, `samizdat reindex`) can leave them out.

URLs come back absolute (http and https only), resolved against `<base href>` when a page has one,
without fragments, escaped as Scrapy escapes a request URL (w3lib's `safe_url_string`), so the URL found
here is the URL a WARC record carries. Crawled markup and CSS are hostile: every pattern below is bounded
in length, so a stylesheet of megabytes of `url(` costs linear time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import lxml.html
from w3lib.url import safe_url_string

KINDS = ("stylesheet", "image", "font", "icon", "script", "media")
RESOURCE_TYPE_HEADER = "WARC-Resource-Type"

# The link relations whose target a browser fetches to show the page; "preload" is decided by its `as`.
ICON_RELS = frozenset({"icon", "shortcut", "apple-touch-icon", "apple-touch-icon-precomposed", "mask-icon"})
PRELOAD_KINDS = {"style": "stylesheet", "font": "font", "image": "image", "script": "script", "video": "media"}
MAX_URL_CHARS = 4096  # longer url() values are not URLs a page really loads; the bound keeps the scan linear

# An unterminated comment runs to the end, as in CSS itself (and keeps the scan linear).
_COMMENT = re.compile(r"/\*.*?(?:\*/|\Z)", re.DOTALL)
_STRING = rf"""(?:"([^"\n]{{0,{MAX_URL_CHARS}}})"|'([^'\n]{{0,{MAX_URL_CHARS}}})')"""
_URL = rf"""url\(\s{{0,64}}(?:{_STRING}|([^\s'"()]{{0,{MAX_URL_CHARS}}}))\s{{0,64}}\)"""
# One pass in source order: a whole @font-face block (its url()s are fonts), an @import (a stylesheet,
# as url() or as a bare string), or any other url() (an image: backgrounds, list markers, cursors).
_CSS_TOKEN = re.compile(
    rf"(?P<fontface>@font-face\s{{0,64}}\{{[^{{}}]{{0,65536}}\}})"
    rf"|@import\s+(?:{_URL}|{_STRING})"
    rf"|{_URL}",
    re.IGNORECASE,
)
_URL_ONLY = re.compile(_URL, re.IGNORECASE)


@dataclass(frozen=True)
class Requisite:
    url: str
    kind: str


def css_requisites(css: str, base_url: str) -> list[Requisite]:
    """What a stylesheet (or a <style> element, or a style attribute) loads: @import -> stylesheet, url()
    inside @font-face -> font, any other url() -> image. `base_url` is the stylesheet's own URL (for a
    <style> element or attribute, the page's base)."""
    return _dedupe(_css_requisites(css, base_url))


def _css_requisites(css: str, base_url: str) -> Iterator[Requisite]:
    for match in _CSS_TOKEN.finditer(_COMMENT.sub(" ", css)):
        if match.group("fontface"):
            for inner in _URL_ONLY.finditer(match.group("fontface")):
                yield from _requisite(base_url, _first(inner.groups()), "font")
            continue
        groups = match.groups()[1:]  # the fontface group is first; then @import url(3), @import string(2), url(3)
        if any(groups[:5]):
            yield from _requisite(base_url, _first(groups[:5]), "stylesheet")
        else:
            yield from _requisite(base_url, _first(groups[5:]), "image")


def html_requisites(root: lxml.html.HtmlElement, base_url: str, scripts: bool = False) -> list[Requisite]:
    """What a parsed HTML page loads to render, in page order, each URL once (its first kind wins).
    Scripts only when `scripts` is true: replay never runs them, but a researcher may want them kept."""
    for base in root.iter("base"):
        href = base.get("href")
        if href and href.strip():
            base_url = urljoin(base_url, href.strip())
            break
    return _dedupe(_html_requisites(root, base_url, scripts))


def _html_requisites(root: lxml.html.HtmlElement, base: str, scripts: bool) -> Iterator[Requisite]:
    for element in root.iter():
        tag = element.tag
        if not isinstance(tag, str):  # comments and processing instructions
            continue
        tag = tag.rsplit("}", 1)[-1].lower()  # an svg/xlink namespace, if the parser kept one
        attrib = element.attrib
        if tag == "link":
            yield from _link(element, base, scripts)
        elif tag == "img":
            yield from _requisite(base, attrib.get("src"), "image")
            yield from _srcset(base, attrib.get("srcset"))
        elif tag == "source":
            parent = element.getparent()
            parent_tag = parent.tag if parent is not None and isinstance(parent.tag, str) else ""
            if parent_tag in ("video", "audio"):
                yield from _requisite(base, attrib.get("src"), "media")
            else:
                yield from _srcset(base, attrib.get("srcset"))
        elif tag == "input" and (attrib.get("type") or "").strip().lower() == "image":
            yield from _requisite(base, attrib.get("src"), "image")
        elif tag == "video":
            yield from _requisite(base, attrib.get("poster"), "image")
            yield from _requisite(base, attrib.get("src"), "media")
        elif tag == "audio":
            yield from _requisite(base, attrib.get("src"), "media")
        elif tag == "image":  # svg <image href> (or the older xlink:href)
            href = attrib.get("href") or attrib.get("{http://www.w3.org/1999/xlink}href") or attrib.get("xlink:href")
            yield from _requisite(base, href, "image")
        elif tag == "script" and scripts:
            yield from _requisite(base, attrib.get("src"), "script")
        elif tag == "style" and element.text:
            yield from _css_requisites(element.text, base)
        if tag in ("body", "table", "td", "th") and attrib.get("background"):  # the old presentational form
            yield from _requisite(base, attrib.get("background"), "image")
        style = attrib.get("style")
        if style:
            yield from _css_requisites(style, base)


def _link(element: lxml.html.HtmlElement, base: str, scripts: bool) -> Iterator[Requisite]:
    rels = set((element.get("rel") or "").lower().split())
    href = element.get("href")
    if "stylesheet" in rels:
        yield from _requisite(base, href, "stylesheet")
    elif rels & ICON_RELS:
        yield from _requisite(base, href, "icon")
    elif "preload" in rels:
        kind = PRELOAD_KINDS.get((element.get("as") or "").strip().lower())
        if kind and (kind != "script" or scripts):
            yield from _requisite(base, href, kind)
            if kind == "image":
                yield from _srcset(base, element.get("imagesrcset"))
    elif "modulepreload" in rels and scripts:
        yield from _requisite(base, href, "script")


def _srcset(base: str, srcset: str | None) -> Iterator[Requisite]:
    for url, _descriptor in srcset_candidates(srcset or ""):
        yield from _requisite(base, url, "image")


def srcset_candidates(srcset: str) -> Iterator[tuple[str, str]]:
    """The (URL as written, descriptor) candidates of a srcset, as the HTML standard splits it: a candidate's
    URL runs to whitespace (a trailing comma ends it), its descriptors run to the next comma outside
    parentheses."""
    position, length = 0, len(srcset)
    while position < length:
        while position < length and (srcset[position].isspace() or srcset[position] == ","):
            position += 1
        start = position
        while position < length and not srcset[position].isspace():
            position += 1
        url = srcset[start:position]
        descriptor = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            start, depth = position, 0
            while position < length and (srcset[position] != "," or depth):
                depth = max(depth + {"(": 1, ")": -1}.get(srcset[position], 0), 0)
                position += 1
            descriptor = srcset[start:position].strip()
        if url:
            yield url, descriptor


def _requisite(base: str, value: str | None, kind: str) -> Iterator[Requisite]:
    url = absolute_url(base, value)
    if url:
        yield Requisite(url, kind)


def absolute_url(base: str, value: str | None) -> str | None:
    """An http(s) URL without its fragment, escaped as a Scrapy request would be; None for anything else
    (data:, javascript:, an empty value, a URL that does not parse)."""
    value = (value or "").strip()
    if not value or len(value) > MAX_URL_CHARS or value.startswith("#"):
        return None
    try:
        parts = urlsplit(urljoin(base, value))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        return safe_url_string(urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, "")))
    except ValueError:  # an invalid port or IPv6 literal
        return None


def _first(values: Iterable[str | None]) -> str | None:
    return next((value for value in values if value), None)


def _dedupe(requisites: Iterable[Requisite]) -> list[Requisite]:
    seen: dict[str, Requisite] = {}
    for requisite in requisites:
        seen.setdefault(requisite.url, requisite)
    return list(seen.values())
