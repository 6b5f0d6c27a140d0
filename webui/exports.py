"""Downloads of the current result set: /export.jsonl, /export.csv, /export.warc, /export.wacz.

They take the search parameters of /api/search (page and per_page are ignored: the whole result set is
exported, in the requested order) and stream the export record (README, "Export record") through the
writers of archive/export.py. Always `Content-Disposition: attachment`, never text/html.

A WACZ package (archive/wacz.py) is made whole in a temporary file first (a zip ends with its directory and
datapackage.json lists every file's digest), signed with the archive's key when the server may read or make
it, then streamed and removed.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.datastructures import MultiDict

from samizdat.archive.document import Document
from samizdat.archive.errors import SamizdatError
from samizdat.archive.export import iter_csv, iter_jsonl, iter_warc
from samizdat.archive.signing import load_or_create_key
from samizdat.archive.wacz import write_wacz
from samizdat.webui.errors import not_found
from samizdat.webui.pages import search_params
from samizdat.webui.state import Archive, archive

logger = logging.getLogger(__name__)
blueprint = Blueprint("exports", __name__)

FORMATS: dict[str, str] = {
    "jsonl": "application/x-ndjson; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "warc": "application/warc",
    "wacz": "application/wacz",
}
_CHUNK_BYTES = 1 << 20


@blueprint.get("/export.<fmt>")
def export(fmt: str) -> Response:
    """GET /export.jsonl|csv|warc|wacz?<search parameters>: every matching article as a download."""
    if fmt not in FORMATS:
        raise not_found(
            "export format", f"no export format {fmt!r}; use /export.jsonl, /export.csv, /export.warc or /export.wacz"
        )
    args = MultiDict([(k, v) for k, v in request.args.items(multi=True) if k not in ("page", "per_page")])
    params = search_params(args)
    current = archive()
    ids = list(current.search.iter_ids(params))
    writers: dict[str, Callable[[Iterable[Document]], Iterator[str] | Iterator[bytes]]] = {
        "jsonl": iter_jsonl,
        "csv": iter_csv,
        "warc": lambda docs: iter_warc(current.root, docs),
    }
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    extension = "warc.gz" if fmt == "warc" else fmt
    body = _wacz(current, ids) if fmt == "wacz" else _stream(current, ids, writers[fmt])
    response = Response(body, content_type=FORMATS[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="samizdat-{stamp}.{extension}"'
    response.headers["X-Samizdat-Articles"] = str(len(ids))
    response.headers["Cache-Control"] = "no-store"
    return response


def _stream(
    current: Archive, ids: list[str], writer: Callable[[Iterable[Document]], Iterator[str] | Iterator[bytes]]
) -> Iterator[bytes]:
    # A connection of its own: the request's store is closed when the view returns, before streaming.
    with current.open_store() as store:
        for chunk in writer(store.get_many(ids)):
            yield chunk.encode("utf-8") if isinstance(chunk, str) else chunk


def _wacz(current: Archive, ids: list[str]) -> Iterator[bytes]:
    """The package, made in a temporary file when the download starts, then sent a chunk at a time."""
    key: Any = None
    try:
        key, _path, _made = load_or_create_key(current.root)
    except (OSError, SamizdatError) as exc:  # a read-only archive still exports, unsigned
        logger.warning("WACZ download not signed: %s", exc)
    with tempfile.TemporaryDirectory(prefix="samizdat-wacz-") as tmp:
        package = Path(tmp) / "export.wacz"
        with current.open_store() as store, open(package, "wb") as out:
            write_wacz(current.root, store.get_many(ids), out, key=key, work_dir=Path(tmp))
        with open(package, "rb") as fh:
            while chunk := fh.read(_CHUNK_BYTES):
                yield chunk
