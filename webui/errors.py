"""One error shape for the whole web layer: `{"error": short, "detail": what and how to fix}`.

Under /api/ it is the JSON body; elsewhere the same dict is rendered as an HTML page. No input reaches a
500 with a traceback: unexpected exceptions are logged and answered with the same shape.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from samizdat.archive.errors import QueryError, SamizdatError
from samizdat.search.query import ParamError

# What each HTTP error means for a visitor, when the raiser said nothing more specific.
_DETAILS = {
    400: "the request could not be understood; check the address",
    404: "there is no page at this address; start from the search page",
    405: "this address does not accept that method; use GET",
    410: "this page was taken down by the archive",
    413: "the request is too large",
    414: "the address is too long; use fewer or shorter parameters",
    431: "the request headers are too large",
}

# How the search form names each parameter, for the HTML message.
PARAM_LABELS = {
    "q": "Query",
    "label": "Label",
    "source": "Source",
    "author": "Author",
    "from": "From date",
    "to": "To date",
    "year": "Year",
    "month": "Month",
    "sort": "Sort",
    "page": "Page",
    "per_page": "Results per page",
    "url": "Address",
}


class WebError(Exception):
    """An error a visitor can act on, with its HTTP status."""

    def __init__(self, status: int, error: str, detail: str, param: str | None = None) -> None:
        super().__init__(f"{error}: {detail}")
        self.status = status
        self.error = error
        self.detail = detail
        self.param = param

    def body(self) -> dict[str, str]:
        return {"error": self.error, "detail": self.detail}


def not_found(what: str, detail: str) -> WebError:
    return WebError(404, f"{what} not found", detail)


def taken_down(what: str) -> WebError:
    """A document or source the archive took down (archive/takedowns.py): gone for visitors and the API."""
    return WebError(
        410,
        f"{what} taken down",
        f"this {what} was taken down by the archive and is no longer shown; it is left out of search and export",
    )


def bad_parameter(param: str, problem: str) -> WebError:
    return WebError(400, "bad parameter", f"{param}: {problem}", param=param)


def from_param_error(exc: ParamError) -> WebError:
    return bad_parameter(exc.param, exc.problem)


def wants_json() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def respond(err: WebError, headers: dict[str, str] | None = None) -> Response:
    """The error as JSON under /api/, as an HTML page elsewhere; same dict, same status."""
    if wants_json():
        response = jsonify(err.body())
    else:
        try:
            page = render_template("error.html", error=err.body(), status=err.status)
        except Exception:  # the error page itself failed (a broken template): a plain page, never a traceback
            page = f"<!doctype html><title>{err.status}</title><p>{escape(err.error)}: {escape(err.detail)}</p>"
        response = Response(page, mimetype="text/html")
    response.status_code = err.status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register(app: Flask) -> None:
    @app.errorhandler(WebError)
    def _web_error(err: WebError) -> Response:
        return respond(err)

    @app.errorhandler(ParamError)
    def _param_error(exc: ParamError) -> Response:
        return respond(from_param_error(exc))

    @app.errorhandler(QueryError)
    def _query_error(exc: QueryError) -> Response:
        return respond(WebError(400, "bad query", str(exc)))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if status >= 500:
            return _internal(exc)
        detail = _DETAILS.get(status, exc.description or "")
        extra = {name: value for name, value in exc.get_headers() if name.lower() == "allow"}
        return respond(WebError(status, (exc.name or "error").lower(), detail), extra)

    @app.errorhandler(SamizdatError)
    def _samizdat_error(exc: SamizdatError) -> Response:
        # Not the visitor's fault (a damaged data directory, a missing WARC file): say so, without internals.
        app.logger.error("%s %s: %s", request.method, request.path, exc)
        return respond(WebError(500, "archive error", "the archive could not answer this request; see the server log"))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        return _internal(exc)

    def _internal(exc: BaseException) -> Response:
        app.logger.error("%s %s failed", request.method, request.path, exc_info=exc)
        return respond(WebError(500, "internal error", "the server failed on this request; it has been logged"))
