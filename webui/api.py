"""The JSON API. Every 4xx is `{"error": "<short>", "detail": "<what and how to fix>"}` with its status
(see webui/errors.py); no input yields a 500.

GET /api
    This list of endpoints.

GET /api/search?q=&label=&source=&author=&from=&to=&year=&month=&sort=&page=&per_page=
    Exactly the search service's dict:
    {"total": int (exact), "page": int, "per_page": int,
     "hits": [{"id", "url", "title", "published", "labels", "source", "author", "snippet", "date_precision"}],
     "facets": {"labels": [{"value", "count"}], "sources": [...], "authors": [...], "years": [...],
                "months": [...]},
     "warnings": [str]}
    `q` uses Whoosh syntax (AND by default, OR, NOT, "phrases", field:value, wildcards); a malformed
    query is searched as repaired, and `warnings` says how. `label` may repeat (all are required).
    `from`/`to` take YYYY-MM-DD, YYYY-MM or YYYY; `year` YYYY; `month` YYYY-MM; `sort` relevance (the
    default; newest without `q`), newest or oldest; `page` from 1; `per_page` 1 to 100 (default 20).
    `snippet` is HTML: archived text escaped, matched words in <mark>. A bad parameter is a 400 whose
    detail starts with the parameter's name. A query costlier than the guard allows (a leading wildcard,
    a wildcard or range standing for too many words, too many ORs or words; search/query.py) is such a
    400 for `q`; a search past its time budget (search/service.py) returns what it found, and a warning.

GET /api/documents/<id>
    The export record of the newest version (README, "Export record"): id, url, source, kind, title,
    author, published, labels, text, language, fetched_at, warc_file, warc_offset, digest, date_precision. 404 for an
    unknown id; ids are 16 hexadecimal characters. 410 for a document taken down (hidden or purged by the
    archive, or of a source taken down); the same for /versions.

GET /api/documents/<id>/versions
    {"id", "url", "first_seen", "last_seen", "versions": [{"number", "fetched_at", "content_hash",
    "digest", "warc_file", "warc_offset", "title"}]}: every distinct captured version, oldest first
    (number 1). `last_seen` is the newest capture, which may have repeated the newest version.

GET /api/sources
    {"sources": [...]}: per source its kind (and whether detected), schedule, start_urls, labels,
    archived (documents in the archive), articles (found by the last crawl), quality (the last crawl's
    counts and shares with a date, author, labels of the site's own and a full text), percent (the same
    shares as whole percentages, rounded down), last_crawl (times, pages, articles new/changed/unchanged,
    errors by kind, skipped URLs by reason), flagged and flag (why the last crawl needs a look).

GET /api/sources/<name>
    One source, as in /api/sources, plus `history`: its last 10 crawls, newest first. A source taken down is
    left out of /api/sources and answers 410 here.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from samizdat.webui.errors import not_found, taken_down
from samizdat.webui.pages import load_document, search_params
from samizdat.webui.security import is_source_name
from samizdat.webui.sources import all_figures, source_figures
from samizdat.webui.state import archive, store

blueprint = Blueprint("api", __name__, url_prefix="/api")

ENDPOINTS = [
    {"path": "/api/search", "about": "search: total, page, per_page, hits, facets, warnings"},
    {"path": "/api/documents/<id>", "about": "one document's export record"},
    {"path": "/api/documents/<id>/versions", "about": "a document's captured versions"},
    {"path": "/api/sources", "about": "every source with its figures"},
    {"path": "/api/sources/<name>", "about": "one source with its figures and crawl history"},
]


@blueprint.get("")
@blueprint.get("/")
def index() -> Response:
    return jsonify({"endpoints": ENDPOINTS})


@blueprint.get("/search")
def search() -> Response:
    params = search_params(request.args)
    return jsonify(archive().search.search(params))


@blueprint.get("/documents/<doc_id>")
def document(doc_id: str) -> Response:
    return jsonify(load_document(doc_id).to_record())


@blueprint.get("/documents/<doc_id>/versions")
def versions(doc_id: str) -> Response:
    doc = load_document(doc_id)
    first_seen, last_seen = store().capture_span(doc.id) or (None, None)
    rows: list[dict[str, Any]] = [
        {
            "number": number,
            "fetched_at": version.fetched_at,
            "content_hash": version.document.content_hash(),
            "digest": version.document.digest,
            "warc_file": version.document.warc_file,
            "warc_offset": version.document.warc_offset,
            "title": version.document.title,
        }
        for number, version in enumerate(store().versions(doc.id), 1)
    ]
    gone = store().gone(doc.id)
    return jsonify(
        {
            "id": doc.id,
            "url": doc.url,
            "first_seen": first_seen,
            "last_seen": last_seen,
            # Deleted on the site (an answer of 404 or 410 since the last capture), or null.
            "gone": {"at": gone[0], "status": gone[1]} if gone else None,
            "versions": rows,
        }
    )


@blueprint.get("/sources")
def sources() -> Response:
    hidden = archive().search.hidden()[1]
    return jsonify({"sources": [row for row in all_figures(archive().catalog, store()) if row["source"] not in hidden]})


@blueprint.get("/sources/<name>")
def source(name: str) -> Response:
    figures = source_figures(name, archive().catalog, store()) if is_source_name(name) else None
    if figures is None:
        raise not_found("source", f"no source named {name!r} in this archive; GET /api/sources lists them")
    if name in archive().search.hidden()[1]:
        raise taken_down("source")
    return jsonify(figures)
