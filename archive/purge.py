"""Purging: a document's or a whole source's records taken out of the WARC files, the store and the index.

A purge needs the data directory to itself (the writer lock: no crawl, no reindex), and refuses at once,
changing nothing, while one runs. A document's purge rewrites every WARC file holding a record of its URLs
(the response, request and revisit records, and the 404/410 answers, of its canonical URL and of every
address a version of it was captured from): the gzip members of the records kept are copied byte for byte
into a new file, which is checked record by record, fsynced and renamed over the old one. A source's purge
removes the files its warcinfo records name it in. Then, in one transaction, the store loses the documents
and their captures, and the pointers into rewritten files are moved to where their records are now (cheaper
than a reindex, and what a reindex would find: a test compares the two). The index loses the documents
through `unindex` (the caller's: archive/ does not know the index). The CDXJ index (archive/cdxj.py) drops the
files before they are replaced or removed, and indexes the rewritten ones again: it never points at a record
that moved or went.

Metadata records are kept even when they name the URL: they hold the source's detected kind, which a reindex
needs, and nothing of the page. Every purge is recorded in takedowns.sqlite before the first file is
replaced, so its target stays hidden even if the purge is cut short (then `samizdat reindex` rebuilds the
store and index from what the WARC files hold).
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from samizdat.archive import cdxj
from samizdat.archive.datadir import DataDir
from samizdat.archive.document import document_id
from samizdat.archive.durable import fsync_dir
from samizdat.archive.errors import DataDirBusy
from samizdat.archive.store import Store
from samizdat.archive.takedowns import DOCUMENT, SOURCE, TakedownError, Takedowns, check_by, check_reason
from samizdat.archive.warc import iter_entries, resolve_warc_path, seal_leftovers, verify_warc

logger = logging.getLogger(__name__)

Unindex = Callable[[list[str]], object]
# Record types that carry the page or the exchange; metadata records are kept (see the module's doc).
PURGED_TYPES = {"response", "request", "revisit", "resource", "conversion"}
_TEMP_SUFFIX = ".purge"
_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class Span:
    offset: int
    length: int
    type: str
    uri: str | None


def hide_document(datadir: DataDir, doc_id: str, by: str, reason: str) -> int:
    """Hide one document of the store from search, export and the API; returns the takedown's id."""
    reason, by = check_reason(reason), check_by(by)
    with Store(datadir.store_path) if datadir.store_path.exists() else Store(":memory:") as store:
        doc = store.get(doc_id)
    if doc is None:
        raise TakedownError(f"no document with id {doc_id} in {datadir.root}; search for it (samizdat search)")
    with Takedowns(datadir.takedowns_path) as takedowns:
        return takedowns.hide_document(doc_id, doc.url, doc.source, by, reason, doc.title)


def hide_source(datadir: DataDir, name: str, by: str, reason: str) -> int:
    """Hide every document of a source, and those later crawls add, until lifted; returns the takedown's id."""
    reason, by = check_reason(reason), check_by(by)
    with Store(datadir.store_path) if datadir.store_path.exists() else Store(":memory:") as store:
        known = name in store.source_names()
    if not known:
        raise TakedownError(f"no source named {name!r} in {datadir.root}; `samizdat sources` lists them")
    with Takedowns(datadir.takedowns_path) as takedowns:
        return takedowns.hide_source(name, by, reason)


def purge_document(datadir: DataDir, doc_id: str, by: str, reason: str, unindex: Unindex) -> dict[str, Any]:
    """Purge one document; returns what was done: {"takedown", "documents", "records", "files_rewritten",
    "files_removed", "store"}."""
    reason, by = check_reason(reason), check_by(by)
    with _exclusive(datadir):
        seal_leftovers(datadir.warc_dir)
        with Store(datadir.store_path) as store:
            doc = store.get(doc_id)
            if doc is None:
                raise TakedownError(f"no document with id {doc_id} in {datadir.root}; nothing was purged")
            urls = {doc.url} | _captured_urls(datadir, store, doc_id)

        def belongs(uri: str | None) -> bool:
            return uri is not None and (uri in urls or _same_document(uri, doc_id))

        plans = [plan for path in datadir.warc_files() if (plan := _plan(path, belongs)) is not None]
        with Takedowns(datadir.takedowns_path) as takedowns:
            takedown = takedowns.record_purge(DOCUMENT, doc.source, by, reason, doc_id, doc.url, doc.title)
            try:
                _write(plans)
                # Out of the CDXJ index before its offsets go stale, indexed again once rewritten.
                cdxj.forget(datadir.root, [plan.path.name for plan in plans])
                _replace(datadir, plans)
                moved = {f"warc/{plan.path.name}": plan.moved for plan in plans}
                with Store(datadir.store_path) as store:
                    counts = store.remove_purged([doc_id], sorted(urls), moved)
                unindex([doc_id])
                cdxj.catch_up(datadir.root)  # last: until then the files are only missing from it
            except BaseException as exc:
                _cleanup(plans)
                takedowns.set_detail(takedown, _failed(exc))
                raise
            result = {
                "takedown": takedown,
                "documents": [doc_id],
                "records": sum(len(plan.dropped) for plan in plans),
                "files_rewritten": [plan.path.name for plan in plans],
                "files_removed": [],
                "store": counts,
            }
            takedowns.set_detail(takedown, json.dumps(_detail(result), sort_keys=True))
    return result


def purge_source(datadir: DataDir, name: str, by: str, reason: str, unindex: Unindex) -> dict[str, Any]:
    """Purge a whole source: its WARC files removed, its documents gone from the store and the index."""
    reason, by = check_reason(reason), check_by(by)
    with _exclusive(datadir):
        seal_leftovers(datadir.warc_dir)
        files = [path for path in datadir.warc_files() if source_of(path) == name]
        with Store(datadir.store_path) as store:
            ids = store.document_ids(name)
            known = name in store.source_names()
        if not files and not ids:
            if known:
                raise TakedownError(f"source {name} has nothing archived (purged already?); nothing was purged")
            raise TakedownError(f"no source named {name!r} in {datadir.root}; `samizdat sources` lists them")
        with Takedowns(datadir.takedowns_path) as takedowns:
            takedown = takedowns.record_purge(SOURCE, name, by, reason)
            try:
                cdxj.forget(datadir.root, [path.name for path in files])
                for path in files:
                    path.unlink()
                fsync_dir(datadir.warc_dir)
                with Store(datadir.store_path) as store:
                    counts = store.remove_purged(ids, removed_files=[f"warc/{path.name}" for path in files])
                unindex(ids)
            except BaseException as exc:
                takedowns.set_detail(takedown, _failed(exc))
                raise
            result = {
                "takedown": takedown,
                "documents": ids,
                "records": None,
                "files_rewritten": [],
                "files_removed": [path.name for path in files],
                "store": counts,
            }
            takedowns.set_detail(takedown, json.dumps(_detail(result), sort_keys=True))
    return result


def source_of(path: Path) -> str | None:
    """The source a WARC file's warcinfo record names."""
    entries = iter_entries(path, path.name, responses=False)
    try:
        entry = next(entries, None)  # the warcinfo record comes first: read no further
    finally:
        close = getattr(entries, "close", None)
        if close is not None:
            close()
    if entry is None or entry.type != "warcinfo":
        return None
    info = entry.info.get("samizdat-source")
    return str(info.get("name")) if isinstance(info, dict) and info.get("name") else None


def scan(path: Path) -> list[Span]:
    """Every record of a WARC file with where it starts and how many bytes it takes (a gzip member each)."""
    spans = []
    try:
        with open(path, "rb") as fh:
            iterator = ArchiveIterator(fh)
            for record in iterator:
                uri = record.rec_headers.get_header("WARC-Target-URI")
                kind = record.rec_type
                iterator.read_to_end()
                spans.append(Span(iterator.get_record_offset(), iterator.get_record_length(), kind, uri))
    except (ArchiveLoadFailed, EOFError, zlib.error, OSError) as exc:
        raise TakedownError(
            f"{path.name}: a damaged record after {len(spans)} good ones ({exc}); nothing was purged"
        ) from None
    return spans


# -- internals ----------------------------------------------------------------------------------------------


@contextmanager
def _exclusive(datadir: DataDir) -> Iterator[None]:
    try:
        with datadir.writer_lock("purge"):
            yield
    except DataDirBusy as exc:
        raise DataDirBusy(f"purge refused, nothing was changed: {exc}") from None


@dataclass
class _Plan:
    path: Path
    kept: list[Span]
    dropped: list[Span]
    temp: Path
    moved: dict[int, int]


def _plan(path: Path, belongs: Callable[[str | None], bool]) -> _Plan | None:
    spans = scan(path)
    size = path.stat().st_size
    end = spans[-1].offset + spans[-1].length if spans else 0
    if end != size:
        raise TakedownError(
            f"{path.name}: its records end at byte {end} of {size}; the file is damaged, so it is not rewritten "
            "and nothing was purged (look at it with `warcio check`)"
        )
    dropped = [span for span in spans if span.type in PURGED_TYPES and belongs(span.uri)]
    if not dropped:
        return None
    gone = {span.offset for span in dropped}
    kept = [span for span in spans if span.offset not in gone]
    return _Plan(path, kept, dropped, path.with_name(f".{path.name}{_TEMP_SUFFIX}"), {})


def _write(plans: list[_Plan]) -> None:
    """Each file's kept records copied, unchanged, into its temporary file, checked and fsynced: nothing is
    replaced until every new file is complete."""
    for plan in plans:
        with open(plan.path, "rb") as src, open(plan.temp, "wb") as out:
            for span in plan.kept:
                plan.moved[span.offset] = out.tell()
                src.seek(span.offset)
                left = span.length
                while left:
                    chunk = src.read(min(left, _CHUNK_BYTES))
                    if not chunk:
                        raise TakedownError(f"{plan.path.name}: cut short while it was being read; nothing was purged")
                    out.write(chunk)
                    left -= len(chunk)
            out.flush()
            os.fsync(out.fileno())
        records = verify_warc(plan.temp)
        if records != len(plan.kept):
            raise TakedownError(f"{plan.path.name}: the rewritten file holds {records} records, not {len(plan.kept)}")


def _replace(datadir: DataDir, plans: list[_Plan]) -> None:
    for plan in plans:
        os.replace(plan.temp, plan.path)
    if plans:
        fsync_dir(datadir.warc_dir)


def _cleanup(plans: list[_Plan]) -> None:
    for plan in plans:
        plan.temp.unlink(missing_ok=True)


def _captured_urls(datadir: DataDir, store: Store, doc_id: str) -> set[str]:
    """The addresses the document's versions were captured from (a version's record names it)."""
    urls: set[str] = set()
    for version in store.versions(doc_id):
        doc = version.document
        try:
            path = resolve_warc_path(datadir.root, doc.warc_file)
            with open(path, "rb") as fh:
                fh.seek(doc.warc_offset)
                for record in ArchiveIterator(fh):
                    uri = record.rec_headers.get_header("WARC-Target-URI")
                    if uri:
                        urls.add(uri)
                    break
        except (OSError, ValueError) as exc:
            logger.warning("%s@%d: cannot be read (%s)", doc.warc_file, doc.warc_offset, exc)
    return urls


def _same_document(uri: str, doc_id: str) -> bool:
    try:
        return document_id(uri) == doc_id
    except ValueError:
        return False


def _detail(result: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in result.items() if key not in ("takedown", "documents")} | {
        "documents": len(result["documents"])
    }


def _failed(exc: BaseException) -> str:
    return json.dumps({"failed": str(exc) or type(exc).__name__, "fix": "samizdat reindex"})
