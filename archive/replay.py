"""Replay of record: wayback addresses (`/web/<timestamp><modifier>/<url>`), CSS rewritten to the archived copies,
and which archived content types may be served as themselves.

An address names a URL and a moment; the capture shown is the one nearest in time (archive/cdxj.py). The modifier
says what the capture is wanted for, as pywb's do:

    (none)  the page in samizdat's own frame: a banner, and the capture in a sandboxed iframe (or an image, or a
            download for a PDF or anything else)
    if_     the capture made inert for that iframe (webui/captured.py), its requisites and links rewritten
    cs_     a stylesheet, its url() and @import rewritten; an empty stylesheet when not archived
    im_     an image or a font; an image saying "not archived" when not archived
    id_     the archived bytes as captured (decoded), under the sandbox policy, active types served as text

Nothing here reads the archive or knows the web layer: these are the rules both follow.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit, urlunsplit

from w3lib.url import safe_url_string

from samizdat.archive.requisites import MAX_URL_CHARS, absolute_url

MODIFIERS = ("", "if_", "cs_", "im_", "id_")
# What a page's requisite is asked for as (archive/requisites.py KINDS): fonts come through im_ as images do.
KIND_MODIFIERS = {"stylesheet": "cs_", "image": "im_", "icon": "im_", "font": "im_"}
# A stylesheet larger than this is not rewritten (answered as not shown): the rewriting is linear (~0.4 s per
# MiB of the most hostile CSS), but a page has many stylesheets and each is rewritten at every view.
MAX_CSS_CHARS = 2 * 1024 * 1024
# Distinct addresses rewritten in one stylesheet (or <style>, or style attribute); past these, `none`. Each
# costs ~70 us, and a hostile stylesheet can hold hundreds of thousands.
MAX_CSS_URLS = 5000

# A requisite's address may carry a pass after its modifier (`cs_~<pass>`): in a private archive, the sandboxed
# frame's requests come without the session cookie, so the frame's page hands its requisites a signed pass.
_WEB_HEAD = re.compile(r"^(\d{4,14})(if_|cs_|im_|id_)?(?:~([A-Za-z0-9_.-]{1,300}))?$")
# The characters kept as they are in the URL part of a /web/ address: enough for URLs to stay readable, none
# that could end a CSS string or url(), an HTML attribute or start markup.
_URL_SAFE = "/:?&=%@+,;~!$*[]-._"


class BadWebAddress(ValueError):
    """A /web/ address that names no http(s) URL or no valid moment; the message says which and how to fix it."""


@dataclass(frozen=True)
class WebAddress:
    """A parsed /web/ address. `timestamp` is the digits given (4 to 14), "*" for the list of captures, or ""
    for the newest capture."""

    timestamp: str
    modifier: str
    url: str
    token: str = ""  # the pass of a requisite's address in a private archive


def parse_web_address(rest: str) -> WebAddress:
    """`rest` is what follows `/web/` in the request as it was sent (query string included, percent-escapes
    kept): `<timestamp><modifier>/<url>`, `*/<url>`, or a bare `<url>` (its newest capture)."""
    if len(rest) > MAX_URL_CHARS + 32:
        raise BadWebAddress(
            f"the address is {len(rest):,} characters long; an archived URL has at most {MAX_URL_CHARS:,}"
        )
    head, slash, tail = rest.partition("/")
    if head == "*" and slash:
        return WebAddress("*", "", checked_url(tail))
    match = _WEB_HEAD.match(head)
    if match and slash:
        return WebAddress(match.group(1), match.group(2) or "", checked_url(tail), match.group(3) or "")
    if head.isdigit() or re.match(r"^\d{1,14}[a-z_~]", head):
        raise BadWebAddress(
            f"{head[:40]!r} is not a capture time: give 4 to 14 digits (YYYY[MM[DD[hh[mm[ss]]]]]), "
            "optionally followed by if_, cs_, im_ or id_, then /<url>"
        )
    return WebAddress("", "", checked_url(rest))


def checked_url(value: str) -> str:
    """An http(s) URL as the crawl writes it (w3lib's safe_url_string: escaped, the host in IDNA), without its
    fragment; a missing scheme is http. BadWebAddress for anything else (javascript:, data:, no host...)."""
    value = value.strip()
    if not value:
        raise BadWebAddress("no URL: give the address of an archived page, e.g. /web/*/https://example.org/")
    if len(value) > MAX_URL_CHARS:
        raise BadWebAddress(f"the URL is {len(value):,} characters long; an archived URL has at most {MAX_URL_CHARS:,}")
    # A proxy or browser may have merged the scheme's two slashes ("/web/2024/https:/example.org/").
    value = re.sub(r"^(https?):/+(?=[^/])", r"\1://", value, count=1, flags=re.IGNORECASE)
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", value):
        value = "http://" + value.lstrip("/")
    try:
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise BadWebAddress("not an http or https address; give the full address of a page")
        parts.port  # noqa: B018  # raises ValueError for a port that is not a number or out of range
        return safe_url_string(urlunsplit((parts.scheme.lower(), parts.netloc, parts.path or "/", parts.query, "")))
    except ValueError as exc:
        if isinstance(exc, BadWebAddress):
            raise
        raise BadWebAddress("not an http or https address; give the full address of a page") from None


def web_path(timestamp: str, url: str, modifier: str = "", token: str = "") -> str:
    """The /web/ address of `url` at `timestamp` ("*" for its list of captures), with a requisite's pass when
    given. Safe to put in an HTML attribute and in a CSS string as it is."""
    return f"/web/{timestamp}{modifier}{'~' + token if token else ''}/{quoted_url(url)}"


def address_token(rest: str) -> str:
    """The pass in what follows /web/ (`<timestamp><modifier>~<pass>/<url>`), or ""."""
    match = _WEB_HEAD.match(rest.partition("/")[0])
    return (match.group(3) or "") if match else ""


def quoted_url(url: str) -> str:
    """`url` with every character that could end an attribute, a CSS string or a comment escaped."""
    return quote(url, safe=_URL_SAFE).replace("*", "%2A")


def timestamp_of(iso: str) -> str:
    """The 14-digit wayback timestamp (UTC) of an ISO 8601 time such as a WARC-Date; "" when it does not parse."""
    try:
        when = datetime.fromisoformat(iso.strip().replace("Z", "+00:00"))
    except ValueError:
        return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def iso_of(timestamp: str) -> str:
    """The ISO 8601 time of a 14-digit timestamp (for the `when` filter of the templates)."""
    digits = timestamp.ljust(14, "0")
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}T{digits[8:10]}:{digits[10:12]}:{digits[12:14]}Z"


# -- CSS ------------------------------------------------------------------------------------------------------

Embed = Callable[[str, str], str]  # (absolute URL, kind) -> the address it is loaded from
CssDone = dict[tuple[str | None, str], str]  # (address as written, kind) -> what rewrite_css made of it

# Whitespace is bounded too: two unbounded runs around an empty address made `url(` and megabytes of spaces
# quadratic.
_BARE = rf"""([^\s'"()]{{0,{MAX_URL_CHARS}}})"""
_URL_BODY = rf"""\s{{0,64}}(?:"([^"\n]{{0,{MAX_URL_CHARS}}})"|'([^'\n]{{0,{MAX_URL_CHARS}}})'|{_BARE})\s{{0,64}}\)"""
_STRING = rf"""(?:"([^"\n]{{0,{MAX_URL_CHARS}}})"|'([^'\n]{{0,{MAX_URL_CHARS}}})')"""
# One pass, left to right, so that nothing written here is read again: an @font-face block (its url()s are
# fonts), an @import (url() or string), a well-formed url(), and then whatever else could fetch or run
# (a url( that did not parse, an @import without an address, IE's expression()), which becomes `none`.
_CSS = re.compile(
    rf"(?P<fontface>@font-face\s{{0,64}}\{{[^{{}}]{{0,65536}}\}})"
    rf"|@import\s{{1,64}}(?:url\({_URL_BODY}|{_STRING})"
    rf"|url\({_URL_BODY}"
    rf"|(?P<other>(?:url|expression)\s{{0,64}}\([^)]{{0,{MAX_URL_CHARS}}}\)?|@import)",
    re.IGNORECASE,
)
_URL_ONLY = re.compile(
    rf"url\({_URL_BODY}|(?P<other>(?:url|expression)\s{{0,64}}\([^)]{{0,{MAX_URL_CHARS}}}\)?)", re.IGNORECASE
)
# Inline images and fonts load nothing from anywhere; the frame's policy allows them.
_BREAKS_OUT = re.compile(r"[\"'\\()<>\s]")  # what could end the url("...") it is written back into
_INERT_DATA = re.compile(r"^\s*data:(?:image/(?!svg)|font/|application/(?:x-)?font)", re.IGNORECASE)


def rewrite_css(css: str, base_url: str, embed: Embed, rewritten: CssDone | None = None) -> str:
    """`css` with every url() and @import loading from `embed(absolute url, kind)` (kind "stylesheet" for an
    @import, "font" inside @font-face, "image" otherwise); an address that is not http(s) becomes `none`.
    `rewritten` remembers the addresses done (share one across a page's style attributes and elements, all
    with the same base): at most MAX_CSS_URLS distinct ones."""
    rewritten = {} if rewritten is None else rewritten

    def address(value: str | None, kind: str) -> str:
        key = (value, kind)
        if key not in rewritten:
            if len(rewritten) >= MAX_CSS_URLS:
                return "none"
            rewritten[key] = _address(value, kind)
        return rewritten[key]

    def _address(value: str | None, kind: str) -> str:
        if kind != "stylesheet" and value and _INERT_DATA.match(value) and not _BREAKS_OUT.search(value):
            return f'url("{value.strip()}")'
        url = absolute_url(base_url, value)
        return f'url("{embed(url, kind)}")' if url else "none"

    def one(match: re.Match[str]) -> str:
        if match.group("fontface"):
            return _URL_ONLY.sub(lambda inner: _inner(inner, address), match.group("fontface"))
        if match.group("other"):
            return "none"
        groups = match.groups()[1:11]  # after fontface: @import url() (3), @import string (2), url() (3)
        if any(groups[:5]):
            return "@import " + address(_first(groups[:5]), "stylesheet")
        if match.group(0).lower().startswith("@import"):
            return "@import none"
        return address(_first(groups[5:8]), "image")

    return _CSS.sub(one, css)


def _inner(match: re.Match[str], address: Callable[[str | None, str], str]) -> str:
    if match.group("other"):
        return "none"
    return address(_first(match.groups()[:3]), "font")


def _first(values: tuple[str | None, ...]) -> str | None:
    return next((value for value in values if value), None)


# -- content types --------------------------------------------------------------------------------------------

# Served as themselves (im_): what an <img> or a font load can use and a browser never runs. SVG is an image
# here: in an <img> it runs nothing, opened alone it is under the sandbox policy with no script allowed.
IMAGE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/bmp",
        "image/x-icon",
        "image/vnd.microsoft.icon",
        "image/svg+xml",
    }
)
FONT_TYPES = frozenset(
    {
        "font/woff",
        "font/woff2",
        "font/ttf",
        "font/otf",
        "font/sfnt",
        "font/collection",
        "application/font-woff",
        "application/font-woff2",
        "application/x-font-woff",
        "application/x-font-ttf",
        "application/x-font-otf",
        "application/font-sfnt",
        "application/vnd.ms-fontobject",
    }
)
_FONT_EXTENSIONS = {".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf", ".otf": "font/otf"}
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"wOF2", "font/woff2"),
    (b"wOFF", "font/woff"),
)
# Served as text/plain by id_: a browser would run or render them as documents.
ACTIVE_TYPES = ("text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml")
# Served by id_ as themselves, shown in the browser: inert.
INLINE_TYPES = IMAGE_TYPES - {"image/svg+xml"} | FONT_TYPES | {"text/plain", "text/css"}


def media_type(content_type: str | None) -> str:
    """`text/html; charset=utf-8` -> `text/html`."""
    return (content_type or "").split(";")[0].strip().lower()


def embeddable_type(content_type: str | None, url: str, payload: bytes) -> str | None:
    """The type to serve an archived image or font as (im_), or None when it is neither: the archived type
    when it is one, else what the bytes (or a font's file name, for a server that said octet-stream) show."""
    declared = media_type(content_type)
    if declared in IMAGE_TYPES or declared in FONT_TYPES:
        return declared
    if declared in ("", "application/octet-stream", "binary/octet-stream"):
        for magic, kind in _MAGIC:
            if payload.startswith(magic):
                return kind
        if payload[:4] == b"RIFF" and payload[8:12] == b"WEBP":
            return "image/webp"
        path = urlsplit(url).path.lower()
        for extension, kind in _FONT_EXTENSIONS.items():
            if path.endswith(extension):
                return kind
    return None


def download_name(url: str, default: str = "capture") -> str:
    """A file name for a download of the capture: the URL's last path segment, reduced to safe characters."""
    segment = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", segment).strip("._")[:100]
    return name or default
