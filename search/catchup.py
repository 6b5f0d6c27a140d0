"""Bringing the search index up to the document store, from any state the index was left in.

The index records which store versions it holds in a watermark file next to it (`watermark.json` in the
index directory): the store's version id `watermark` up to which every document's newest version is
indexed, and the index `generation` (Whoosh's `_MAIN_<generation>.toc`) that was true of. Every command
that opens the archive calls `catch_up` first, and the crawl calls it every few seconds, so a difference
between store and index never outlives the next command.

What the watermark is worth depends on the index it sits next to:

- same generation: trusted;
- the index is newer (killed between a commit and the watermark write, or written by another writer
  that only adds): the index holds at least the watermark, so catch up from it;
- no index, an unreadable one, one of another schema, one older than the watermark, a watermark ahead
  of the store (the store was replaced), or an index with documents and no watermark: rebuild it from
  the whole store. Damage is repaired, never a crash loop.

Batches are committed one by one and the watermark file is rewritten after each commit. The store says
which documents changed since a version but not at which version each one did, so a run's watermark only
moves at its end; meanwhile the file says a run is under way (`pending`), and the run that follows a
killed one skips the documents the index already holds exactly as the store has them. A kill thus loses
at most one batch of writing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from whoosh import index
from whoosh.filedb.filestore import FileStorage
from whoosh.searching import Searcher
from whoosh.util.filelock import try_for

from samizdat.archive.document import Document
from samizdat.archive.durable import replace_text
from samizdat.archive.errors import DataDirError
from samizdat.archive.store import Store
from samizdat.search.indexer import LOCK_TIMEOUT_SECONDS, WATERMARK_NAME, Indexer, index_busy_error, reset_index
from samizdat.search.schema import SCHEMA, record_for, schema_signature

Progress = Callable[[str], None]

# Held for a whole catch-up (Whoosh's own write lock is held for one commit at a time): two catch-ups
# of one index would otherwise interleave their batches and their watermark writes.
CATCH_UP_LOCK_NAME = "CATCHUP_LOCK"
_INDEX_NAME = "MAIN"  # Whoosh's default: the table of contents is `_MAIN_<generation>.toc`


@dataclass(frozen=True)
class Watermark:
    """Every document whose newest store version is <= `watermark` is in the index, as of `generation`.
    `pending` is the store version an unfinished catch-up was bringing the index to (None when the
    last one finished)."""

    watermark: int
    generation: int
    pending: int | None = None


@dataclass(frozen=True)
class _Plan:
    since: int  # index every document whose newest version is after this one
    rebuild: str | None  # why the index must be emptied first; None to keep it
    resume: bool  # a cut catch-up may have left some of them indexed already: skip those


def catch_up(
    store_path: str | os.PathLike[str],
    index_dir: str | os.PathLike[str],
    batch_size: int = 500,
    progress: Progress | None = None,
    *,
    rebuild: bool = False,
    procs: int = 1,
    lock_timeout_seconds: float = LOCK_TIMEOUT_SECONDS,
) -> int:
    """Bring the index in `index_dir` up to the store at `store_path`; returns how many documents were
    written (documents the index already held unchanged are not counted).

    Commits every `batch_size` documents and records the watermark after each commit. `rebuild=True`
    empties the index first and indexes the whole store. `procs=2` writes each batch in two processes
    (worth it only for big batches, and impossible inside a daemonic pool worker). A missing store is
    an empty archive: nothing is written. A second catch-up of the same index waits up to
    `lock_timeout_seconds`, then raises DataDirError.

    Takes plain arguments and returns an int, so it can run in a worker process.
    """
    store_file, directory = Path(store_path), Path(index_dir)
    if not store_file.exists():
        return 0
    directory.mkdir(parents=True, exist_ok=True)
    lock = FileStorage(str(directory)).lock(CATCH_UP_LOCK_NAME)
    if not try_for(lock.acquire, timeout=lock_timeout_seconds, delay=0.1):
        raise index_busy_error(directory, lock_timeout_seconds)
    try:
        with Store(store_file) as store:
            target = store.max_version()
            plan = _plan(directory, target, "asked for" if rebuild else None)
            try:
                return _run(store, directory, target, plan, batch_size, progress, procs, lock_timeout_seconds)
            except DataDirError:
                raise
            except Exception:
                # A damaged segment can pass the checks in _plan and fail only when read or merged.
                if plan.rebuild is not None or _readable(directory):
                    raise
                plan = _plan(directory, target, "damaged")
                return _run(store, directory, target, plan, batch_size, progress, procs, lock_timeout_seconds)
    finally:
        lock.release()


def index_lag(store_path: str | os.PathLike[str], index_dir: str | os.PathLike[str]) -> int:
    """How many documents the index is behind the store (all of them when it needs a rebuild).

    Read-only and cheap when the index is up to date; otherwise it reads the documents changed since
    the watermark once."""
    store_file, directory = Path(store_path), Path(index_dir)
    if not store_file.exists():
        return 0
    with Store(store_file) as store:
        target = store.max_version()
        plan = _plan(directory, target, None) if directory.is_dir() else _Plan(0, None, False)
        if plan.rebuild is not None or plan.since == 0:
            return store.count()
        if plan.since >= target:
            return 0
        return _count(store.iter_changed_since(plan.since))


def read_watermark(index_dir: str | os.PathLike[str]) -> Watermark | None:
    """The recorded watermark, or None when there is none or it cannot be read."""
    try:
        data = json.loads((Path(index_dir) / WATERMARK_NAME).read_text(encoding="utf-8"))
        pending = data.get("pending")
        mark = Watermark(int(data["watermark"]), int(data["generation"]), None if pending is None else int(pending))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    return mark


def write_watermark(index_dir: str | os.PathLike[str], mark: Watermark) -> None:
    """Replace the watermark file atomically and durably (a temporary file, fsync, rename, fsync the
    directory): after a crash it is the old one or the new one, never a torn one."""
    directory = Path(index_dir)
    payload = json.dumps({"watermark": mark.watermark, "generation": mark.generation, "pending": mark.pending})
    replace_text(directory / WATERMARK_NAME, payload + "\n")


def _plan(directory: Path, target: int, rebuild: str | None) -> _Plan:
    """What to do with the index as found: from which store version on, after emptying it or not."""
    mark = read_watermark(directory)
    if rebuild is not None:
        return _Plan(0, rebuild, False)
    generation = index.TOC._latest_generation(FileStorage(str(directory)), _INDEX_NAME) if directory.is_dir() else -1
    if generation < 0:  # no table of contents: nothing to keep (Indexer creates an empty index)
        return _Plan(0, "missing" if mark is not None else None, False)
    try:
        ix = index.open_dir(str(directory))
        schema_ok = schema_signature(ix.schema) == schema_signature(SCHEMA)
        documents = int(ix.doc_count())
    except Exception:  # a torn or foreign table of contents: Whoosh raises many kinds
        return _Plan(0, "unreadable", False)
    if not schema_ok:
        return _Plan(0, "built with another schema", False)
    if mark is None:
        return _Plan(0, None, False) if documents == 0 else _Plan(0, "holds documents but no watermark", False)
    if generation < mark.generation:
        return _Plan(0, "older than its watermark", False)
    if mark.watermark > target:
        return _Plan(0, "ahead of the store (was the store replaced?)", False)
    resume = mark.pending is not None or generation > mark.generation
    return _Plan(mark.watermark, None, resume and documents > 0)


def _run(
    store: Store,
    directory: Path,
    target: int,
    plan: _Plan,
    batch_size: int,
    progress: Progress | None,
    procs: int,
    lock_timeout_seconds: float,
) -> int:
    if plan.rebuild is not None:
        _empty(directory, plan.rebuild, lock_timeout_seconds, progress)
    with Indexer(directory, lock_timeout_seconds) as indexer:
        if plan.rebuild is not None:
            write_watermark(directory, Watermark(0, indexer.generation()))
        total = None
        if progress is not None:
            total = store.count() if plan.since == 0 else _count(store.iter_changed_since(plan.since))
        searcher = index.open_dir(str(directory)).searcher() if plan.resume else None
        try:
            written = seen = 0
            for batch in _batches(store.iter_changed_since(plan.since), batch_size):
                seen += len(batch)
                todo = [doc for doc in batch if searcher is None or not _holds(searcher, doc)]
                if todo:
                    written += indexer.update(todo, batch_size=0, procs=procs, multisegment=procs > 1)
                    write_watermark(directory, Watermark(plan.since, indexer.generation(), pending=target))
                if progress is not None and total is not None:
                    progress(f"index: {seen}/{max(seen, total)} documents")
        finally:
            if searcher is not None:
                searcher.close()
        done = Watermark(target, indexer.generation())
        if read_watermark(directory) != done:
            write_watermark(directory, done)
    return written


def _empty(directory: Path, reason: str, lock_timeout_seconds: float, progress: Progress | None) -> None:
    if progress is not None:
        progress(f"index: rebuilding the search index in {directory} from the store (index {reason})")
    old = read_watermark(directory)
    (directory / WATERMARK_NAME).unlink(missing_ok=True)
    if _readable(directory):
        with Indexer(directory, lock_timeout_seconds) as indexer:
            indexer.clear()
        return
    # Unreadable or gone: start over above any generation a searcher or the old watermark has seen.
    reset_index(directory, lock_timeout_seconds, min_generation=(old.generation + 1) if old else 0)


def _readable(directory: Path) -> bool:
    """Whether the index opens and every segment can be read (a searcher opens all their files)."""
    try:
        with index.open_dir(str(directory)).searcher() as searcher:
            searcher.doc_count()
    except Exception:  # whatever the damage, the answer is the same: rebuild
        return False
    return True


def _holds(searcher: Searcher, doc: Document) -> bool:
    """Whether the index holds `doc` exactly as the store has it. Every indexed field is derived from
    the stored ones, so equal stored fields mean an equal record."""
    docnum = searcher.document_number(id=doc.id)
    if docnum is None:
        return False
    return bool(searcher.stored_fields(docnum) == _stored_record(doc))


def _stored_record(doc: Document) -> dict[str, Any]:
    record = record_for(doc)
    stored: dict[str, Any] = {}
    for name in SCHEMA.stored_names():
        value = record.get(f"_stored_{name}", record.get(name))
        if value is not None:
            stored[name] = value
    return stored


def _batches(docs: Iterable[Document], size: int) -> Iterator[list[Document]]:
    iterator = iter(docs)
    while batch := list(islice(iterator, max(size, 1))):
        yield batch


def _count(docs: Iterable[Document]) -> int:
    return sum(1 for _ in docs)
