"""Any archived URL, the wayback way: `/web/<timestamp><modifier>/<url>` and `/web/*/<url>`.

The capture shown is the one nearest in time, found in the CDXJ index (archive/cdxj.py) by a look-up, never a
scan; the modifiers are archive/replay.py's (none: our page around a sandboxed frame; if_ the frame; cs_, im_
the stylesheets and images (and fonts) it loads; id_ the bytes as captured). The URL is read from the request
as it was sent, so that its query string and percent-escapes come back as they were archived.

Archived content is hostile and the URL is the visitor's: every answer that carries archived bytes has the
sandbox policy (security.RAW_CSP) and nosniff, active types (HTML, SVG, XML) are never served as themselves
outside the sandboxed frame's rewriting, and what is read is bounded (archive/payload.py; MAX_CSS_CHARS).
"""

from __future__ import annotations

import codecs
import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, current_app, g, redirect, render_template, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeTimedSerializer
from warcio.exceptions import ArchiveLoadFailed

from samizdat.archive.cdxj import CdxjIndex, IndexedCapture, file_sources
from samizdat.archive.document import document_id
from samizdat.archive.payload import PayloadRefused
from samizdat.archive.replay import (
    ACTIVE_TYPES,
    FONT_TYPES,
    INLINE_TYPES,
    KIND_MODIFIERS,
    MAX_CSS_CHARS,
    BadWebAddress,
    Embed,
    WebAddress,
    address_token,
    checked_url,
    download_name,
    embeddable_type,
    iso_of,
    media_type,
    parse_web_address,
    quoted_url,
    rewrite_css,
    web_path,
)
from samizdat.archive.requisites import absolute_url
from samizdat.archive.warc import Capture, read_as_seen, read_capture, recorded_limit, resolve_warc_path
from samizdat.webui.auth import accounts, current_user
from samizdat.webui.captured import REFUSED_STATUS, is_html, refused_message, render_capture
from samizdat.webui.errors import bad_parameter, taken_down
from samizdat.webui.security import raw_headers
from samizdat.webui.state import archive, store

blueprint = Blueprint("wayback", __name__)

MAX_CAPTURES_LISTED = 10_000  # /web/*/<url>: a URL crawled every hour for a year is 8,760
TIMELINE_EACH_SIDE = 12  # captures shown either side of the one shown; the list has them all
MAX_LINK_LOOKUPS = 2000  # per page: links past these go to /go, which looks them up when followed
MAX_REDIRECTS = 3  # followed for a stylesheet or an image that was captured as a redirect
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PDF_TYPE = "application/pdf"
LATEST = "99991231235959"  # the capture nearest to it is the newest
PASS_SECONDS = 12 * 3600  # how long a private archive's requisite pass is good for
PASS_MODIFIERS = ("cs_", "im_")  # what a pass opens: a frame's stylesheets, images and fonts
HTML_TYPES = ("text/html", "application/xhtml+xml")
# Shown by id_ as plain text (feeds, JSON, scripts): readable, and never run or rendered as a document.
TEXT_SUFFIXES = ("/xml", "+xml", "/json", "+json", "/javascript", "/ecmascript")

# The placeholder of an image that is not archived: our own markup, no text from the request.
NOT_ARCHIVED_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40" viewBox="0 0 160 40">'
    '<rect width="160" height="40" fill="#f3efe8" stroke="#b9b2a7"/>'
    '<text x="80" y="25" font-family="sans-serif" font-size="13" text-anchor="middle" fill="#6b645b">'
    "not archived</text></svg>"
)


@dataclass(frozen=True)
class Found:
    """A capture shown: the index line asked for, and the capture whose bytes it has (for a revisit, its
    original's)."""

    line: IndexedCapture
    capture: Capture


class Missing(Exception):
    """No capture to show: not archived, taken down, unreadable, or refused (`refused`: PayloadRefused's
    reason, with the payload limit)."""

    def __init__(self, why: str, refused: tuple[str, int] | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.refused = refused


# -- routes ---------------------------------------------------------------------------------------------------


@blueprint.get("/web/")
def lookup() -> ResponseReturnValue:
    """The "look up a URL" form (also on the search page), and where it sends: `/web/*/<url>`."""
    value = (request.args.get("url") or "").strip()
    if not value:
        return render_template("web_lookup.html")
    try:
        url = checked_url(value)
    except BadWebAddress as exc:
        raise bad_parameter("url", str(exc)) from None
    return redirect(web_path("*", url), code=303)


@blueprint.get("/web/<path:_rest>", merge_slashes=False)
def web(_rest: str) -> ResponseReturnValue:
    """`/web/<timestamp><modifier>/<url>`, `/web/*/<url>` (every capture) and `/web/<url>` (the newest)."""
    try:
        address = parse_web_address(requested_rest())
    except BadWebAddress as exc:
        raise bad_parameter("url", str(exc)) from None
    if address.timestamp == "*":
        return capture_list(address.url)
    if not address.timestamp:
        newest = index().nearest(address.url, LATEST)
        if newest is None:
            return not_archived(address)
        return redirect(web_path(newest.timestamp, newest.url), code=302)
    return VIEWS[address.modifier](address)


def requested_rest() -> str:
    """What follows `/web/` in the request line, query string included and percent-escapes as sent (Flask's
    path has them decoded and the query apart)."""
    uri = str(request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI") or "")
    if uri.lower().startswith(("http://", "https://")):  # an absolute request-target
        uri = "/" + uri.split("/", 3)[-1] if uri.count("/") >= 3 else "/"
    start = uri.find("/web/")
    if start >= 0:
        return uri[start + len("/web/") :]
    rest = quote(request.path[len("/web/") :], safe="/:@!$&'()*+,;=~%-._")
    query = request.query_string.decode("latin-1")
    return f"{rest}?{query}" if query else rest


# -- the views by modifier ------------------------------------------------------------------------------------


def page_view(address: WebAddress) -> ResponseReturnValue:
    """Our page around the capture: a banner (URL, time, previous/next, the list, a timeline) and the capture
    in a sandboxed frame, or the image, or a download."""
    line = index().nearest(address.url, address.timestamp)
    if line is None:
        return not_archived(address)
    if hidden(line):
        raise taken_down("capture")
    if line.timestamp != address.timestamp:
        return redirect(web_path(line.timestamp, line.url), code=302)
    captures = index().captures(line.url, limit=MAX_CAPTURES_LISTED)
    position = next((i for i, c in enumerate(captures) if (c.timestamp, c.offset) == (line.timestamp, line.offset)), 0)
    shown = original_of(line) if line.revisit else line  # a revisit's type is its original's
    mime = media_type(shown.mime) if shown else ""
    redirect_to = None
    if line.status in REDIRECT_STATUSES:
        view = "redirect"
        with contextlib.suppress(Missing):  # shown as a redirect whose target is unknown
            redirect_to = redirect_target(load(line).capture)
    elif not mime or mime in HTML_TYPES:
        view = "frame"
    elif mime.startswith("image/") and embeddable_type(mime, "", b""):
        view = "image"
    else:
        view = "download"
    return render_template(
        "web_page.html",
        line=line,
        url=line.url,
        when=iso_of(line.timestamp),
        mime=mime,
        view=view,
        pdf=mime == PDF_TYPE,
        redirect_to=redirect_to,
        frame=web_path(line.timestamp, line.url, "if_"),
        image=web_path(line.timestamp, line.url, "im_"),
        download=web_path(line.timestamp, line.url, "id_"),
        timeline=timeline(captures, position),
        previous=captures[position - 1] if position > 0 else None,
        next=captures[position + 1] if position + 1 < len(captures) else None,
        count=len(captures),
        list_url=web_path("*", line.url),
        document=article_of(line.url),
    )


def frame_view(address: WebAddress) -> Response:
    """The capture made inert for the frame (a page captured in a browser as it rendered), its requisites
    loading from the archive."""
    try:
        found = find(address.url, address.timestamp, as_seen=True)
    except Missing as exc:
        if exc.refused:
            message = refused_message(*exc.refused)
            page = render_template("web_frame_missing.html", message=message, url=address.url)
            return raw_headers(Response(page, status=REFUSED_STATUS, mimetype="text/html"))
        status = 410 if exc.why == "taken down" else 404
        page = render_template("web_frame_missing.html", message=f"This address is {exc.why}.", url=address.url)
        return uncached(raw_headers(Response(page, status=status, mimetype="text/html")))
    capture = found.capture
    target = redirect_target(capture) if capture.status in REDIRECT_STATUSES else None
    if target:
        page = render_template("web_frame_missing.html", redirect_to=target, ts=found.line.timestamp, url=capture.url)
    elif is_html(capture):
        page = render_capture(capture, link=archive_link(found.line.timestamp), embed=embedder(address.timestamp))
    else:
        page = render_template("not_html.html", capture=capture)
    return raw_headers(Response(page, mimetype="text/html"))


def stylesheet_view(address: WebAddress) -> Response:
    """An archived stylesheet with its url() and @import loading from the archive; an empty one when there is
    none to show (not archived, not CSS, too large)."""
    try:
        found = find_embedded(address)
        capture = found.capture
        if capture.status >= 400 or media_type(capture.header("Content-Type")) in ACTIVE_TYPES:
            raise Missing("not a stylesheet")
        css = decode_css(capture)
        if len(css) > MAX_CSS_CHARS:
            raise Missing(f"larger than {MAX_CSS_CHARS:,} characters")
    except Missing as exc:
        note = f"/* {quoted_url(address.url)}: {exc.why} */\n"
        return uncached(raw_headers(Response(note, status=404, mimetype="text/css")))
    body = rewrite_css(css, capture.url, embedder(address.timestamp, address.token))
    return raw_headers(Response(body, mimetype="text/css"))


def image_view(address: WebAddress) -> Response:
    """An archived image or font as itself; an image saying "not archived" when there is none."""
    try:
        found = find_embedded(address)
        capture = found.capture
        kind = embeddable_type(capture.header("Content-Type"), capture.url, capture.payload)
        if kind is None or capture.status >= 400:
            raise Missing("not an image or a font")
    except Missing:
        placeholder = Response(NOT_ARCHIVED_SVG, status=404, mimetype="image/svg+xml")
        return uncached(raw_headers(placeholder))
    response = raw_headers(Response(capture.payload, mimetype=kind))
    if not kind.startswith("image/"):
        # A font is fetched in CORS mode, and the sandboxed frame that asks for it has an opaque origin.
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def identity_view(address: WebAddress) -> Response:
    """The archived bytes as captured (content-decoded), served as their own type only when that is inert."""
    try:
        found = find(address.url, address.timestamp)
    except Missing as exc:
        body = f"Not shown: this address is {exc.why}.\n"
        status = REFUSED_STATUS if exc.refused else 410 if exc.why == "taken down" else 404
        return uncached(raw_headers(Response(body, status=status, mimetype="text/plain")))
    capture = found.capture
    declared = capture.header("Content-Type") or ""
    kind = media_type(declared)
    response = raw_headers(Response(capture.payload))
    if kind in INLINE_TYPES:
        response.headers["Content-Type"] = declared if kind.startswith("text/") else kind
    elif kind in ACTIVE_TYPES or kind.startswith("text/") or kind.endswith(TEXT_SUFFIXES):
        charset = re.search(r"charset=([A-Za-z0-9._-]{1,40})", declared)
        response.headers["Content-Type"] = "text/plain" + (f"; charset={charset.group(1)}" if charset else "")
    else:
        response.headers["Content-Type"] = kind if kind == PDF_TYPE else "application/octet-stream"
        name = download_name(capture.url)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    if kind in FONT_TYPES:
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


VIEWS: dict[str, Callable[[WebAddress], ResponseReturnValue]] = {
    "": page_view,
    "if_": frame_view,
    "cs_": stylesheet_view,
    "im_": image_view,
    "id_": identity_view,
}


def capture_list(url: str) -> ResponseReturnValue:
    """Every capture of a URL: time, status, type, size, each a link to it."""
    captures = index().captures(url, limit=MAX_CAPTURES_LISTED + 1)
    if not captures:
        return not_archived(WebAddress("*", "", url))
    if hidden(captures[-1]):
        raise taken_down("capture")
    rows = [
        {"line": line, "when": iso_of(line.timestamp), "href": web_path(line.timestamp, line.url)}
        for line in captures[:MAX_CAPTURES_LISTED]
    ]
    return render_template("web_list.html", url=captures[-1].url, rows=rows, more=len(captures) > MAX_CAPTURES_LISTED)


def article_of(url: str) -> str | None:
    """The document id of an archived article at this address, for a link to its text and metadata."""
    try:
        doc_id = document_id(url)
    except ValueError:
        return None
    return doc_id if store().get(doc_id) is not None else None


def not_archived(address: WebAddress) -> ResponseReturnValue:
    """A 404 page saying that the URL is not in the archive, the address as text only."""
    return render_template("web_missing.html", url=address.url, list_url=web_path("*", address.url)), 404


# -- finding and reading captures -----------------------------------------------------------------------------


def index() -> CdxjIndex:
    return CdxjIndex.of(archive().root)


def find(url: str, timestamp: str, as_seen: bool = False) -> Found:
    """The capture of `url` nearest to `timestamp`, read (a revisit's payload from its original); Missing when
    there is none to show. `as_seen`: a page captured in a browser as it rendered (archive.warc.read_as_seen)."""
    line = index().nearest(url, timestamp)
    if line is None:
        raise Missing("not in the archive")
    if hidden(line):
        raise Missing("taken down")
    return load(line, as_seen)


def find_embedded(address: WebAddress) -> Found:
    """As `find`, following a redirect captured in place of a stylesheet or an image (a few hops at most)."""
    url = address.url
    for _hop in range(MAX_REDIRECTS + 1):
        found = find(url, address.timestamp)
        target = redirect_target(found.capture) if found.capture.status in REDIRECT_STATUSES else None
        if not target:
            return found
        url = target
    raise Missing("a chain of redirects")


def load(line: IndexedCapture, as_seen: bool = False) -> Found:
    root = archive().root
    source = original_of(line) if line.revisit else line
    if source is None:
        raise Missing("a revisit whose original is not in the archive")
    try:
        capture = (read_as_seen if as_seen else read_capture)(root, source.warc_file, source.offset)
    except PayloadRefused as exc:
        limit = recorded_limit(resolve_warc_path(root, source.warc_file))
        raise Missing("refused", (exc.reason, limit)) from None
    except (OSError, ValueError, EOFError, ArchiveLoadFailed):
        raise Missing("not readable from its WARC file") from None
    return Found(line, capture)


def original_of(line: IndexedCapture) -> IndexedCapture | None:
    """The response record a revisit stands for: a capture of the same URL with the same payload digest, the
    latest before it (else any)."""
    same = [
        c for c in index().captures(line.url, limit=MAX_CAPTURES_LISTED) if not c.revisit and c.digest == line.digest
    ]
    before = [c for c in same if c.timestamp <= line.timestamp]
    return (before or same or [None])[-1]


def hidden(line: IndexedCapture) -> bool:
    """Taken down: its document, or the source whose WARC file holds it (a signed-in archivist sees it)."""
    ids, sources = archive().search.hidden()
    if (not ids and not sources) or current_user() is not None:
        return False
    try:
        if document_id(line.url) in ids:
            return True
    except ValueError:
        pass
    return bool(sources) and file_sources(archive().root).get(line.filename) in sources


def redirect_target(capture: Capture) -> str | None:
    return absolute_url(capture.url, capture.header("Location"))


def decode_css(capture: Capture) -> str:
    """A stylesheet's text: its BOM, else the charset its Content-Type names, else @charset, else UTF-8."""
    payload = capture.payload
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if payload.startswith(bom):
            return payload.decode(encoding, "replace")
    declared = re.search(r"charset=\"?([A-Za-z0-9._-]{1,40})", capture.header("Content-Type") or "")
    rule = re.match(rb'@charset "([A-Za-z0-9._-]{1,40})";', payload)
    for name in (declared.group(1) if declared else None, rule.group(1).decode() if rule else None):
        if name:
            try:
                return payload.decode(codecs.lookup(name).name, "replace")
            except LookupError:
                continue
    return payload.decode("utf-8", "replace")


# -- rewriting what a frame loads and where its links lead ----------------------------------------------------


def embedder(timestamp: str, token: str | None = None) -> Embed:
    """Where a requisite of a page captured at `timestamp` loads from: its archived copy nearest in time (with
    a pass in a private archive: `token`, by default a new one for the signed-in archivist)."""
    token = requisite_pass() if token is None else token

    def embed(url: str, kind: str) -> str:
        return web_path(timestamp, url, KIND_MODIFIERS.get(kind, "im_"), token)

    return embed


# -- a private archive's requisite passes ---------------------------------------------------------------------
# The sandboxed frame has an opaque origin, so the browser sends its requests for stylesheets, images and fonts
# without the session cookie (SameSite=Lax), and a private archive would answer them with its sign-in page. The
# frame's page, asked for with the cookie, gives its requisites' addresses a pass instead: the archivist's name,
# signed with the archive's session key, good for PASS_SECONDS and for cs_ and im_ only.


def _passes() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="samizdat.requisite-pass")


def requisite_pass() -> str:
    """A pass for the signed-in archivist of a private archive; "" anywhere else (nothing to pass)."""
    if not current_app.config.get("SAMIZDAT_PRIVATE"):
        return ""
    if "requisite_pass" not in g:
        user = current_user()
        g.requisite_pass = str(_passes().dumps(user)) if user else ""
    return str(g.requisite_pass)


def passes_private_guard() -> bool:
    """Whether this request is a frame's stylesheet, image or font whose pass is good: signed by this archive,
    not expired, its archivist's account still there (webui/auth.py guard_private lets it through)."""
    if request.endpoint != "wayback.web":
        return False
    rest = requested_rest()
    token = address_token(rest)
    head = rest.partition("/")[0]
    if not token or not head.split("~")[0].endswith(PASS_MODIFIERS):
        return False
    try:
        user = _passes().loads(token, max_age=PASS_SECONDS)
    except BadSignature:  # forged, altered or expired
        return False
    return isinstance(user, str) and accounts().exists(user)


def archive_link(timestamp: str) -> Callable[[str], str]:
    """Where a link of a page captured at `timestamp` leads: the archived copy of its target nearest in time
    (/web/), or /go, which says that it is not archived. One look-up per distinct target, at most
    MAX_LINK_LOOKUPS a page."""
    found: dict[str, str] = {}
    cdxj = index()

    def link(url: str) -> str:
        if url not in found:
            target = absolute_url(url, url)
            if target and len(found) < MAX_LINK_LOOKUPS and cdxj.captures(target, limit=1):
                found[url] = web_path(timestamp, target)
            else:
                found[url] = "/go?" + urlencode({"url": url, "view": "captured"})
        return found[url]

    return link


def timeline(captures: list[IndexedCapture], position: int) -> list[dict[str, Any]]:
    """The captures either side of the one at `position`, for the timeline of a page (the shown one marked)."""
    start = max(0, position - TIMELINE_EACH_SIDE)
    return [
        {
            "when": iso_of(line.timestamp),
            "href": web_path(line.timestamp, line.url),
            "current": start + offset == position,
            "status": line.status,
            "revisit": line.revisit,
        }
        for offset, line in enumerate(captures[start : position + TIMELINE_EACH_SIDE + 1])
    ]


def uncached(response: Response) -> Response:
    """Not archived now may be archived by the next crawl."""
    response.headers["Cache-Control"] = "no-cache"
    return response
