"""An archived page made safe to show as it was captured.

The page is hostile: it may carry scripts, event handlers, refreshes, frames, plugins and links to the
live site. Served inside `<iframe sandbox>` with the sandbox CSP of `security.RAW_CSP`, none of those could
run or load anything; they are removed here all the same, so that the page is inert even opened on its
own, and so that no click leaves for the live site: every link points to the archived copy of its target
(`/web/<timestamp>/<url>`) or to `/go`, which says that there is none.

Replay of record (`embed` given): the page's stylesheets, images, icons and fonts (link rel=stylesheet/icon/
preload, img src and srcset, picture sources, input type=image, video posters, svg images, style attributes
and <style> url() and @import) load from the archived copy nearest in time, through `embed(url, kind)`, which
gives an address on our own server (`/web/<timestamp>cs_/...`, `im_`); the frame's policy
(security.RAW_CSP) lets it load styles, images and fonts from our server only, and still runs no script.
Without `embed`, all of them are removed, as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from samizdat.archive.extract.decode import decode_html
from samizdat.archive.replay import CssDone, Embed, rewrite_css
from samizdat.archive.requisites import absolute_url, srcset_candidates
from samizdat.archive.warc import Capture

# Removed with everything inside them: active content, frames and plugins. <noscript> too: with scripts
# off, its fallback would show, which no reader of the live page saw.
DROP_ELEMENTS = frozenset(
    {"script", "noscript", "iframe", "frame", "frameset", "object", "applet", "portal", "fencedframe"}
)
# Removed, keeping what libxml2 put inside them: it does not know that some of these are void in HTML5
# (everything after an <embed> becomes its child), so dropping them whole could drop the rest of the page.
# SVG animation is here because it can set an attribute (an href to javascript:) after any check made here.
DROP_TAGS = frozenset(
    {"embed", "param", "base", "link", "animate", "set", "animatemotion", "animatetransform", "handler", "listener"}
)
# Attributes that make the browser fetch or navigate by themselves; links are rewritten instead.
URL_ATTRIBUTES = frozenset(
    {
        "src",
        "srcset",
        "imagesrcset",
        "action",
        "formaction",
        "poster",
        "background",
        "ping",
        "manifest",
        "data",
        "codebase",
        "classid",
        "archive",
        "cite",
        "longdesc",
        "lowsrc",
        "dynsrc",
        "profile",
        "xlink:href",
        "srcdoc",
    }
)
LINK_ELEMENTS = frozenset({"a", "area"})
# <link> relations kept (rewritten to the archived copy) in replay, by the kind of requisite they load;
# "preload" is decided by its `as`. Anything else (prefetch, preconnect, manifest, alternate...) is removed.
LINK_KINDS = {
    "stylesheet": "stylesheet",
    "icon": "icon",
    "shortcut": "icon",
    "apple-touch-icon": "icon",
    "apple-touch-icon-precomposed": "icon",
}
PRELOAD_KINDS = {"style": "stylesheet", "font": "font", "image": "image"}
LINK_KEPT_ATTRIBUTES = ("rel", "href", "media", "sizes", "as")
# Attributes holding the address of an image the page shows, by element: rewritten in replay.
IMAGE_ATTRIBUTES = {
    "img": ("src",),
    "input": ("src",),  # only type=image loads it
    "video": ("poster",),
    "body": ("background",),
    "table": ("background",),
    "td": ("background",),
    "th": ("background",),
}
SRCSET_ELEMENTS = frozenset({"img", "source"})
# Fetches from CSS (backgrounds, fonts, imports): the CSP blocks them; removed too, address and all.
_CSS_FETCH = re.compile(r"url\s*\([^)]*\)?|@import[^;]*;?|expression\s*\(", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>", re.IGNORECASE)
_DOCTYPE = re.compile(r"^\s*(?:<!--.*?-->\s*)*(<!doctype[^>]*>)", re.IGNORECASE | re.DOTALL)
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# A capture whose payload the archive refuses to decode (archive.payload.PayloadRefused): the record is
# there, but what it holds cannot be shown. One status for both reasons, in the frame and opened alone.
REFUSED_STATUS = 422


def is_html(capture: Capture) -> bool:
    content_type = (capture.header("Content-Type") or "text/html").split(";")[0].strip().lower()
    return content_type in _HTML_TYPES or not content_type


def refused_message(reason: str, limit: int) -> str:
    """What a reader is told instead of a capture the archive refuses to decode (`reason` as PayloadRefused
    gives it; `limit` the payload limit its WARC file records)."""
    if reason == "too_large":
        return (
            f"This capture is larger than the archive's limit of {limit:,} bytes (max_page_bytes when it was "
            "crawled; a compressed body counts as decoded), so it is not shown; the response is kept in the WARC "
            "file as it came."
        )
    return (
        "This capture could not be decoded: its body is not in the Content-Encoding its headers name, so it "
        "is not shown; the response is kept in the WARC file as it came."
    )


def render_capture(capture: Capture, link: Callable[[str], str], embed: Embed | None = None) -> str:
    """The captured page as a safe HTML document in UTF-8. `link(absolute_url)` gives the address a link
    to `absolute_url` should point to instead; `embed(absolute_url, kind)` the address a requisite loads
    from (none: requisites are removed)."""
    _encoding, text = decode_html(capture.payload, capture.header("Content-Type"))
    return sanitize(text, capture.url, link, embed)


def sanitize(text: str, page_url: str, link: Callable[[str], str], embed: Embed | None = None) -> str:
    """`text` (a whole HTML page) without anything active, with every link through `link` and every
    requisite through `embed` (removed without it)."""
    text = _XML_DECLARATION.sub("", text, count=1)
    if not text.strip():
        return _empty_page()
    try:
        root = lxml.html.document_fromstring(text)
    except (lxml.etree.ParserError, ValueError):
        return _empty_page()
    base = _base_url(root, page_url)
    _clean(root, base, link, embed)
    head = root.find("head")
    if head is None:
        head = lxml.html.Element("head")
        root.insert(0, head)
    head.insert(0, lxml.html.Element("meta", charset="utf-8"))
    # lxml reports a default doctype when the page has none: take the page's own, or none (quirks mode).
    match = _DOCTYPE.match(text[:4096])
    doctype = match.group(1) if match else ""
    body: str = lxml.html.tostring(root, method="html", encoding="unicode")
    return f"{doctype}\n{body}" if doctype else body


def _base_url(root: lxml.html.HtmlElement, page_url: str) -> str:
    """Where relative links lead: the first <base href>, resolved against the page's own URL."""
    for element in root.iter("base"):
        href = str(element.get("href") or "").strip()
        if href:
            return urljoin(page_url, href)
    return page_url


def _clean(root: lxml.html.HtmlElement, base: str, link: Callable[[str], str], embed: Embed | None) -> None:
    # The CSS addresses already rewritten, for the whole page (its style attributes and elements share a
    # base): a page of many thousands of styled elements costs one rewriting per distinct address.
    css_done: CssDone = {}
    doomed: list[lxml.html.HtmlElement] = []
    unwrapped: list[lxml.html.HtmlElement] = []
    for element in root.iter():
        tag = element.tag
        if not isinstance(tag, str):  # comments and processing instructions
            doomed.append(element)
            continue
        tag = tag.lower()
        if tag in DROP_ELEMENTS:
            doomed.append(element)
            continue
        if tag == "link" and embed is not None and _keep_link(element, base, embed):
            continue
        if tag in DROP_TAGS or (tag == "meta" and (element.get("http-equiv") is not None or element.get("charset"))):
            unwrapped.append(element)
            _clean_attributes(element, tag, base, link, None)
            continue
        if tag == "style" and element.text:
            # "<" escaped as CSS does: a browser parsing the page again reads "<svg><style><img onerror=...>"
            # as markup outside the style (mutation XSS), though lxml kept it as the style's text.
            element.text = _css(element.text, base, embed, css_done).replace("<", "\\3c ")
        _clean_attributes(element, tag, base, link, embed, css_done)
    for element in unwrapped:
        if element.getparent() is not None:
            element.drop_tag()
    for element in doomed:
        _remove(element)


def _clean_attributes(
    element: lxml.html.HtmlElement,
    tag: str,
    base: str,
    link: Callable[[str], str],
    embed: Embed | None,
    css_done: CssDone | None = None,
) -> None:
    # Read before anything is removed: what this element shows, as the archived copies' addresses.
    kept = _embedded(element, tag, base, embed) if embed is not None else {}
    for name in list(element.attrib):
        key = name.lower()
        value = element.attrib[name]
        if key.startswith("on") or key in URL_ATTRIBUTES:
            if not (key == "src" and tag == "img" and value.strip().lower().startswith("data:image/")):
                del element.attrib[name]
        elif key == "style":
            element.attrib[name] = _css(value, base, embed, css_done)
        elif key in ("href", "target", "formtarget") and tag not in LINK_ELEMENTS:
            del element.attrib[name]
    for name, value in kept.items():
        element.set(name, value)
    if tag in LINK_ELEMENTS:
        _rewrite_link(element, base, link)


def _embedded(element: lxml.html.HtmlElement, tag: str, base: str, embed: Embed) -> dict[str, str]:
    """The image addresses of an element rewritten to the archived copies: {attribute: new value}."""
    kept: dict[str, str] = {}
    if tag == "input" and (element.get("type") or "").strip().lower() != "image":
        return kept
    for name in IMAGE_ATTRIBUTES.get(tag, ()):
        url = absolute_url(base, element.get(name))
        if url:
            kept[name] = embed(url, "image")
    if tag in SRCSET_ELEMENTS and element.get("srcset"):
        parent = element.getparent()
        if tag == "img" or (parent is not None and str(parent.tag).lower() == "picture"):
            srcset = _srcset(element.get("srcset") or "", base, embed)
            if srcset:
                kept["srcset"] = srcset
    if tag == "image":  # svg <image href>, or the older xlink:href
        for name in ("href", "{http://www.w3.org/1999/xlink}href", "xlink:href"):
            url = absolute_url(base, element.get(name))
            if url:
                kept["href"] = embed(url, "image")
                break
    return kept


def _srcset(srcset: str, base: str, embed: Embed) -> str:
    """A srcset with each candidate's URL rewritten; candidates that are not http(s) dropped."""
    candidates: list[str] = []
    for value, descriptor in srcset_candidates(srcset):
        url = absolute_url(base, value)
        # Only the width and density descriptors the standard defines: nothing else is copied from the page.
        if url and re.fullmatch(r"(?:\d+(?:\.\d+)?[wx])?", descriptor):
            candidates.append(f"{embed(url, 'image')} {descriptor}".strip())
    return ", ".join(candidates)


def _keep_link(element: lxml.html.HtmlElement, base: str, embed: Embed) -> bool:
    """A <link> that loads a stylesheet, an icon or a preloaded style, font or image, kept with its address
    rewritten and nothing else but its media, sizes and `as`; False for any other <link> (removed)."""
    rels = (element.get("rel") or "").lower().split()
    linked = next((LINK_KINDS[rel] for rel in rels if rel in LINK_KINDS), None)
    preload = linked is None and "preload" in rels
    kind = PRELOAD_KINDS.get((element.get("as") or "").strip().lower()) if preload else linked
    url = absolute_url(base, element.get("href"))
    if kind is None or url is None:
        return False
    values = {
        "rel": "preload" if preload else "icon" if kind == "icon" else "stylesheet",
        "href": embed(url, kind),
        "as": element.get("as") if preload else None,
        # A font is fetched in CORS mode; a preload that is not would be fetched twice.
        "crossorigin": "anonymous" if preload and kind == "font" else None,
        "media": element.get("media"),
        "sizes": element.get("sizes"),
    }
    for name in list(element.attrib):
        del element.attrib[name]
    for name, value in values.items():
        if value:
            element.set(name, value)
    return True


def _rewrite_link(element: lxml.html.HtmlElement, base: str, link: Callable[[str], str]) -> None:
    href = element.get("href")
    for name in ("target", "rel", "download", "hreflang", "type", "referrerpolicy"):
        element.attrib.pop(name, None)
    if href is None:
        return
    href = href.strip()
    if href.startswith("#"):
        return  # within the page itself
    absolute = urljoin(base, href)
    if urlsplit(absolute).scheme.lower() not in ("http", "https"):
        del element.attrib["href"]  # javascript:, data:, mailto:...: kept as text only
        return
    element.set("href", link(absolute))
    element.set("target", "_top")  # leave the frame for our own page about the target
    element.set("rel", "noopener noreferrer")


def _css(css: str, base: str, embed: Embed | None, css_done: CssDone | None = None) -> str:
    """CSS from the page: its fetches rewritten through `embed`, or removed without it."""
    if embed is None:
        return _CSS_FETCH.sub("none", css)
    return rewrite_css(css, base, embed, css_done)


def _remove(element: lxml.html.HtmlElement) -> None:
    """Remove an element and its content, keeping the text that follows it."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    if tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def _empty_page() -> str:
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>'
        "<body><p>(The archived response has no content.)</p></body></html>"
    )
