"""Response headers and input checks: archived content is hostile, and so is any URL a visitor types.

Every response gets a Content-Security-Policy without inline script, nosniff, a frame policy and a
referrer policy that tells other sites nothing (`same-origin`: our own forms must still send their Origin,
which browsers replace by `null` under `no-referrer`, and the admin area's POSTs are checked against it).
The archived page itself (`raw`, and everything under /web/ that carries archived bytes) is served with a
stricter policy of its own: no referrer at all, the CSP `sandbox` directive (no scripts, a unique origin),
nothing loaded but styles, images and fonts from our own server (the archived copies, webui/wayback.py),
inline styles and data: images and fonts, no script source at all, and framing only by our own pages.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Response
from werkzeug.routing import IntegerConverter

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The `sandbox` tokens must match the iframe's: a CSP sandbox and an iframe sandbox both apply, so a link
# in the archived page can leave the frame (through /go, on a click) only when both allow it.
RAW_SANDBOX = "allow-top-navigation-by-user-activation"
# 'self' is our server even in the sandbox's unique origin (CSP matches it against the document's URL).
RAW_CSP = (
    f"sandbox {RAW_SANDBOX}; default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)

SQLITE_MAX_INTEGER = 2**63 - 1
_DOC_ID = re.compile(r"^[0-9a-f]{16}$")
_SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")  # archive.config.SLUG, bounded


def is_document_id(value: str) -> bool:
    """Ids are 16 lower-case hex characters (archive.document.document_id); nothing else reaches the store."""
    return bool(_DOC_ID.match(value))


def is_source_name(value: str) -> bool:
    return bool(_SOURCE_NAME.match(value))


def inside(root: Path, relative: str) -> Path | None:
    """`root / relative` when it resolves to a file inside `root`, else None (`..`, absolute paths,
    symlinks leading out)."""
    if not relative:
        return None
    base = root.resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        return None
    return path


class BoundedInt(IntegerConverter):
    """`<int:...>` in every route: a run's or a takedown's row id, a capture number. SQLite integers are
    64-bit and a larger one raised OverflowError in the query (a 500 for /admin/runs/99999999999999999999),
    so no number past the largest SQLite integer matches a route: it is a 404 like any unknown id."""

    def __init__(
        self, map: Any, fixed_digits: int = 0, min: int | None = None, max: int | None = None, signed: bool = False
    ) -> None:
        super().__init__(map, fixed_digits, min, SQLITE_MAX_INTEGER if max is None else max, signed)


def add_headers(response: Response) -> Response:
    """The headers every response carries; a view that set its own (the raw capture) keeps them."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", PAGE_CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    return response


def raw_headers(response: Response) -> Response:
    """The headers of an archived page served for the as-captured frame."""
    response.headers["Content-Security-Policy"] = RAW_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
