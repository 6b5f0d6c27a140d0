"""The HTML pages: search, a document with its captures and changes, the page as captured, /go, sources.

Server-rendered and complete without JavaScript; all state is in the query string.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from warcio.exceptions import ArchiveLoadFailed

from samizdat.archive.cdxj import CdxjIndex
from samizdat.archive.document import Document, document_id
from samizdat.archive.payload import PayloadRefused
from samizdat.archive.replay import timestamp_of, web_path
from samizdat.archive.takedowns import Takedowns
from samizdat.archive.warc import read_as_seen, recorded_limit, resolve_warc_path
from samizdat.search import SearchParams
from samizdat.search.query import ParamError
from samizdat.webui import diff, searchview, wayback
from samizdat.webui.auth import current_user
from samizdat.webui.captured import REFUSED_STATUS, is_html, refused_message, render_capture
from samizdat.webui.errors import PARAM_LABELS, bad_parameter, not_found, taken_down
from samizdat.webui.querystring import QueryState
from samizdat.webui.security import is_document_id, is_source_name, raw_headers
from samizdat.webui.sources import SHARES, all_figures, source_figures
from samizdat.webui.state import archive, store

blueprint = Blueprint("pages", __name__)

MAX_QUERY_CHARS = 1000
MAX_URL_CHARS = 4096
MORE_LABELS = 3  # "more with this label" links on a document page


@blueprint.get("/")
def search() -> ResponseReturnValue:
    """The search page: query box, results, facets, date histogram, filter chips, paging, exports."""
    state = QueryState.from_args(request.args)
    try:
        params = search_params(request.args)
        # The index's cost guard (leading wildcards, too many ORs or words) refuses here: the same form, the
        # query kept to be corrected, and why, as for a bad parameter.
        result = archive().search.search(params)
    except ParamError as exc:
        message = f"{PARAM_LABELS.get(exc.param, exc.param)}: {exc.problem}"
        return render_template(
            "search.html", state=state, args=request.args, error=message, error_param=exc.param, result=None
        ), 400
    return render_template(
        "search.html",
        state=state,
        args=request.args,
        error=None,
        error_param=None,
        params=params,
        result=result,
        facets=searchview.facet_groups(result, state),
        histogram=searchview.histogram(result, state),
        chips=searchview.chips(state),
        pages=searchview.pagination(result, state),
        sort_options=searchview.sort_options(params),
        per_page_options=searchview.per_page_options(params.per_page),
    )


def search_params(args: Any) -> SearchParams:
    """SearchParams from request arguments; raises ParamError naming the parameter at fault."""
    query = args.get("q") or ""
    if len(query) > MAX_QUERY_CHARS:
        raise ParamError("q", f"the query is {len(query)} characters long; use at most {MAX_QUERY_CHARS}")
    return SearchParams.from_mapping(args)


@blueprint.get("/documents/<doc_id>")
def document(doc_id: str) -> str:
    """One document: metadata, clean text, its captures over time. Taken down: 410 for visitors; a signed-in
    archivist sees it with who took it down, when and why."""
    archivist = current_user()
    doc = load_document(doc_id, reveal=archivist is not None)
    versions = store().versions(doc.id)
    span = store().capture_span(doc.id)
    captures = [
        {
            "number": number,
            "fetched_at": version.fetched_at,
            "changed": diff.changed_fields(versions[number - 2].document, version.document) if number > 1 else [],
        }
        for number, version in enumerate(versions, 1)
    ]
    return render_template(
        "document.html",
        doc=doc,
        paragraphs=diff.paragraphs(doc.text),
        captures=captures,
        timeline=capture_timeline(doc.url, doc.fetched_at),
        span=span,
        gone=store().gone(doc.id),
        more_labels=doc.labels[:MORE_LABELS],
        archivist=archivist,
        takedown=takedown_of(doc) if archivist else None,
    )


@blueprint.get("/documents/<doc_id>/changes")
def changes(doc_id: str) -> str:
    """What changed between two captured versions: `from` and `to` are version numbers (1 = the first),
    by default the two newest."""
    doc = load_document(doc_id, reveal=current_user() is not None)
    versions = store().versions(doc.id)
    count = len(versions)
    old_number = version_number(request.args.get("from"), "from", count, default=max(1, count - 1))
    new_number = version_number(request.args.get("to"), "to", count, default=count)
    changes = diff.compare(versions[old_number - 1].document, versions[new_number - 1].document)
    return render_template(
        "changes.html",
        doc=doc,
        versions=versions,
        old=old_number,
        new=new_number,
        old_version=versions[old_number - 1],
        new_version=versions[new_number - 1],
        changes=changes,
        count=count,
    )


@blueprint.get("/documents/<doc_id>/captured")
@blueprint.get("/documents/<doc_id>/captured/<int:number>")
def captured(doc_id: str, number: int | None = None) -> str:
    """The page as captured, in a sandboxed frame (no scripts, no plugins, nothing from the live site)."""
    doc = load_document(doc_id, reveal=current_user() is not None)
    versions = store().versions(doc.id)
    number = checked_number(number, len(versions))
    version = versions[number - 1]
    return render_template(
        "captured.html",
        doc=doc,
        version=version.document,
        number=number,
        count=len(versions),
        raw_url=url_for("pages.raw", doc_id=doc.id, number=number),
        timeline=capture_timeline(version.document.url, version.document.fetched_at),
    )


@blueprint.get("/documents/<doc_id>/raw")
@blueprint.get("/documents/<doc_id>/raw/<int:number>")
def raw(doc_id: str, number: int | None = None) -> Response:
    """The archived response itself, made inert (see webui/captured.py), for the frame of `captured`."""
    doc = load_document(doc_id, reveal=current_user() is not None)
    versions = store().versions(doc.id)
    version = versions[checked_number(number, len(versions)) - 1].document
    root = archive().root
    # The path comes from the store, never from the request; still, read_as_seen refuses anything outside
    # the data directory, and finds a file the crawl is still writing.
    try:
        capture = read_as_seen(root, version.warc_file, version.warc_offset)
    except PayloadRefused as exc:
        # Refused as the crawl refused it (too large once decoded, not the encoding it claims), after reading
        # at most the limit: said in the frame, with the frame's own policy, never shown in part.
        limit = recorded_limit(resolve_warc_path(root, version.warc_file))
        page = render_template("refused.html", message=refused_message(exc.reason, limit), version=version)
        return raw_headers(Response(page, status=REFUSED_STATUS, mimetype="text/html"))
    except FileNotFoundError as exc:
        raise not_found("capture", "the WARC file of this capture is missing from the data directory") from exc
    except (OSError, ValueError, EOFError, ArchiveLoadFailed) as exc:
        raise not_found("capture", "the WARC record of this capture could not be read") from exc
    if is_html(capture):
        # Replay of record: its stylesheets, images and fonts, and its links, lead to the archived copies
        # nearest to when it was captured (webui/wayback.py).
        when = timestamp_of(version.fetched_at) or timestamp_of(capture.fetched_at)
        page = render_capture(capture, link=wayback.archive_link(when), embed=wayback.embedder(when))
    else:
        page = render_template("not_html.html", capture=capture)
    return raw_headers(Response(page, mimetype="text/html"))


def captured_link(url: str) -> str:
    return "/go?" + urlencode({"url": url, "view": "captured"})


def capture_timeline(url: str, fetched_at: str) -> list[dict[str, Any]]:
    """Every capture of the URL in the CDXJ index around the one fetched at `fetched_at` (marked), oldest
    first, each leading to it under /web/."""
    captures = CdxjIndex.of(archive().root).captures(url, limit=wayback.MAX_CAPTURES_LISTED)
    when = timestamp_of(fetched_at)
    position = next((i for i, line in enumerate(captures) if line.timestamp == when), len(captures) - 1)
    return wayback.timeline(captures, position) if captures else []


@blueprint.get("/go")
def go() -> ResponseReturnValue:
    """A link out of an archived page: to the archived document with that URL, or a page saying that it is
    not archived, the address as plain text. Nothing is ever fetched from the live site.
    `view=captured` leads to the page as captured rather than to the document page."""
    url = (request.args.get("url") or "").strip()
    if not url:
        raise bad_parameter("url", "missing; give the address of an archived page, e.g. /go?url=https://...")
    try:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc or len(url) > MAX_URL_CHARS:
            raise ValueError(url)
        doc_id = document_id(url)  # canonical: tracking parameters, fragments, trailing slashes do not count
    except ValueError:  # not http(s), or a malformed host or port
        raise bad_parameter("url", "not an http or https address; give the full address of a page") from None
    if store().get(doc_id) is not None:
        endpoint = "pages.captured" if request.args.get("view") == "captured" else "pages.document"
        return redirect(url_for(endpoint, doc_id=doc_id), code=303)
    # Not an article, but archived (a home page, a listing, a PDF, an image): its newest capture under /web/.
    newest = CdxjIndex.of(archive().root).nearest(url, wayback.LATEST)
    if newest is not None:
        return redirect(web_path(newest.timestamp, newest.url), code=303)
    return render_template("go.html", url=url), 404


@blueprint.get("/sources")
def sources() -> str:
    """Every source with its kind, articles, completeness and last crawl."""
    hidden = archive().search.hidden()[1]
    rows = [row for row in all_figures(archive().catalog, store()) if row["source"] not in hidden]
    return render_template("sources.html", rows=rows, shares=SHARES)


@blueprint.get("/sources/<name>")
def source(name: str) -> str:
    """One source: how complete its archive is, and how its crawls went."""
    figures = source_figures(name, archive().catalog, store()) if is_source_name(name) else None
    if figures is None:
        raise not_found("source", f"no source named {name!r} in this archive; see /sources for the list")
    if name in archive().search.hidden()[1]:
        raise taken_down("source")
    result = archive().search.search(SearchParams(source=name, per_page=1))
    state = QueryState([("source", name)])
    return render_template(
        "source.html",
        s=figures,
        shares=SHARES,
        result=result,
        histogram=searchview.histogram(result, state),
        facets=searchview.facet_groups(result, state),
    )


# --- shared by the document views ----------------------------------------------------------------------


def load_document(doc_id: str, reveal: bool = False) -> Document:
    """The document's newest version; 404 for an unknown id, 410 for one taken down (unless `reveal`: a
    signed-in archivist's view, of a document still in the store)."""
    if not is_document_id(doc_id):
        raise not_found("document", f"{doc_id!r} is not a document id (16 hexadecimal characters)")
    doc = store().get(doc_id)
    hidden_ids, hidden_sources = archive().search.hidden()
    if (doc_id in hidden_ids or (doc is not None and doc.source in hidden_sources)) and not (reveal and doc):
        raise taken_down("document")
    if doc is None:
        raise not_found("document", f"no document with id {doc_id} in this archive; search for it from /")
    return doc


def takedown_of(doc: Document) -> dict[str, Any] | None:
    """The takedown in force on a document (its own or its source's), for the archivist's banner."""
    path = archive().datadir.takedowns_path
    if not path.exists():
        return None
    with Takedowns(path) as takedowns:
        return takedowns.for_document(doc.id, doc.source)


def checked_number(number: int | None, count: int) -> int:
    """A capture number from the path: 1 to `count`; None means the newest."""
    if number is None:
        return count
    if not 1 <= number <= count:
        raise not_found("capture", f"no capture {number}: this document has captures 1 to {count}")
    return number


def version_number(raw_value: str | None, param: str, count: int, default: int) -> int:
    if raw_value is None or not raw_value.strip():
        return default
    try:
        number = int(raw_value)
    except ValueError:
        raise bad_parameter(param, f"{raw_value!r} is not a version number; use 1 to {count}") from None
    if not 1 <= number <= count:
        raise bad_parameter(param, f"there is no version {number}; this document has versions 1 to {count}")
    return number
