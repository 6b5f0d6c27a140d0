"""The web UI and JSON API on one data directory: `create_app(settings)` (see webui/app.py).

Pages (HTML, complete without JavaScript, all state in the query string):
    /                                   search: q, label (repeatable), source, author, from, to, year, month,
                                        sort, page, per_page; facets, date histogram, chips, paging, exports
    /documents/<id>                     a document: metadata, text, captures over time
    /documents/<id>/changes?from=&to=   what changed between two captured versions (word-level diff)
    /documents/<id>/captured[/<n>]      the page as captured (version n, default the newest), framed
    /documents/<id>/raw[/<n>]           the archived response made inert, for that frame (sandbox CSP)
    /go?url=<absolute url>[&view=captured]
                                        a link out of an archived page: to the archived copy, or a page
                                        saying it is not archived; nothing is fetched from the live site
    /sources, /sources/<name>           per-source figures: kind, schedule, crawls, completeness
Downloads: /export.jsonl, /export.csv, /export.warc with the search parameters (webui/exports.py).
JSON: /api, /api/search, /api/documents/<id>, /api/documents/<id>/versions, /api/sources,
/api/sources/<name> (documented in webui/api.py).

Modules: app (wiring), pages (HTML views), api (JSON), exports (downloads), captured (archived pages made
inert), diff (changes between versions), sources (per-source figures), searchview (facets, histogram,
chips and paging), querystring (links that change one parameter), security (headers, input checks),
errors (one error shape), state (per-app and per-request state), formatting (template filters).
"""

from samizdat.webui.app import create_app

__all__ = ["create_app"]
