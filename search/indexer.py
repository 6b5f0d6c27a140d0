"""Writing the search index: upserts by document id, deletes, and emptying it for a rebuild."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Any

from whoosh import index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import LockError
from whoosh.util.filelock import try_for
from whoosh.writing import CLEAR, IndexWriter

from samizdat.archive.document import Document
from samizdat.archive.errors import DataDirError
from samizdat.search.schema import SCHEMA, record_for, schema_signature

_INDEX_NAME = "MAIN"  # Whoosh's default index name: files `_MAIN_<generation>.toc`, `MAIN_<segment>.*`

# How long a writer waits for another one (a crawl, a reindex) before giving up with a clear error.
LOCK_TIMEOUT_SECONDS = 10.0

# What search/catchup.py records about the index (next to it, in the index directory): which store
# versions it holds. Emptying the index removes it first, so it can never vouch for a cleared index.
WATERMARK_NAME = "watermark.json"


class Indexer:
    """Adds, replaces and deletes documents in the Whoosh index at `index_dir` (created if missing).

    Each commit is atomic: searchers keep seeing the previous version until it is complete. Only one
    writer can hold the index at a time, across processes; a second one gets a DataDirError after
    `lock_timeout_seconds` instead of waiting forever.
    """

    def __init__(self, index_dir: str | os.PathLike[str], lock_timeout_seconds: float = LOCK_TIMEOUT_SECONDS):
        self.index_dir = Path(index_dir)
        self.lock_timeout_seconds = lock_timeout_seconds
        self.index_dir.mkdir(parents=True, exist_ok=True)
        if index.exists_in(str(self.index_dir)):
            self._ix = index.open_dir(str(self.index_dir))
        else:
            self._ix = index.create_in(str(self.index_dir), SCHEMA)

    def __enter__(self) -> Indexer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._ix.close()

    def count(self) -> int:
        """Documents in the index (deleted ones excluded)."""
        return int(self._ix.doc_count())

    def generation(self) -> int:
        """The generation of the newest commit (Whoosh's table of contents, `_MAIN_<generation>.toc`)."""
        return int(self._ix.latest_generation())

    def update(
        self,
        docs: Iterable[Document],
        batch_size: int = 500,
        procs: int = 1,
        multisegment: bool = False,
    ) -> int:
        """Add or replace `docs` (by id); returns how many were written.

        One writer per batch of `batch_size` documents, each batch one commit, so a long rebuild shows
        progress to searchers and a crash loses at most one batch; `batch_size=0` commits once at the end.
        For a big rebuild into an empty index, `procs=2, multisegment=True` roughly doubles the rate
        (whoosh's multiprocessing writer; it skips the final merge, leaving one segment per process).
        """
        self._check_schema()
        written = 0
        for batch in _batches(docs, batch_size):
            # update_document only replaces *committed* documents: a repeated id inside one batch
            # would be added twice, so the last version of each id wins here.
            latest = {doc.id: doc for doc in batch}
            with self._writer(procs=procs, multisegment=multisegment) as writer:
                for doc in latest.values():
                    writer.update_document(**record_for(doc))
            written += len(latest)
        return written

    def delete(self, ids: Iterable[str]) -> int:
        """Delete documents by id; returns how many were in the index."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return 0
        deleted = 0
        with self._writer() as writer:
            for doc_id in wanted:
                deleted += int(writer.delete_by_term("id", doc_id))
        return deleted

    def clear(self) -> None:
        """Empty the index (before a reindex). An index written with an older schema is recreated
        with the current one, which is how a schema change is rolled out."""
        (self.index_dir / WATERMARK_NAME).unlink(missing_ok=True)
        if self._schema_matches():
            with self._writer() as writer:
                writer.commit(mergetype=CLEAR)
            return
        self._recreate()

    def _check_schema(self) -> None:
        if not self._schema_matches():
            raise DataDirError(
                f"the search index in {self.index_dir} was built by another version of samizdat; "
                "rebuild it (samizdat reindex)"
            )

    def _schema_matches(self) -> bool:
        return schema_signature(self._ix.schema) == schema_signature(SCHEMA)

    def _recreate(self) -> None:
        reset_index(self.index_dir, self.lock_timeout_seconds)
        self._ix = index.open_dir(str(self.index_dir))

    def _writer(self, **kwargs: Any) -> _WriterContext:
        options = {key: value for key, value in kwargs.items() if key != "procs" or value > 1}
        if options.get("procs", 1) <= 1:
            options.pop("multisegment", None)
        try:
            writer = self._ix.writer(timeout=self.lock_timeout_seconds, **options)
        except LockError as exc:
            raise self._busy_error() from exc
        return _WriterContext(writer)

    def _busy_error(self) -> DataDirError:
        return index_busy_error(self.index_dir, self.lock_timeout_seconds)


def index_busy_error(index_dir: Path, timeout_seconds: float) -> DataDirError:
    return DataDirError(
        f"the search index in {index_dir} is locked by another writer (a crawl or reindex still "
        f"running?) and stayed locked for {timeout_seconds:g} s; wait for it to finish and try again"
    )


def reset_index(
    index_dir: str | os.PathLike[str], lock_timeout_seconds: float = LOCK_TIMEOUT_SECONDS, min_generation: int = 0
) -> None:
    """Make `index_dir` hold an empty index with the current schema, without reading the old one, which
    may be damaged (an unreadable table of contents) or gone (its segment files are removed by the next
    commit). Takes the index's write lock, like any writer."""
    path = Path(index_dir)
    path.mkdir(parents=True, exist_ok=True)
    storage = FileStorage(str(path))
    (path / WATERMARK_NAME).unlink(missing_ok=True)
    lock = storage.lock(f"{_INDEX_NAME}_WRITELOCK")
    if not _try_acquire(lock, lock_timeout_seconds):
        raise index_busy_error(path, lock_timeout_seconds)
    try:
        # Write the empty table of contents as the *next* generation rather than generation 0:
        # running searchers detect changes by comparing generation numbers, and a restart at 0
        # could later collide with the generation they already hold.
        generation = max(index.TOC._latest_generation(storage, _INDEX_NAME) + 1, min_generation)
        index.TOC(SCHEMA, [], generation).write(storage, _INDEX_NAME)
    finally:
        lock.release()


class _WriterContext:
    """Commits on success, cancels (releasing the lock) on any error."""

    def __init__(self, writer: IndexWriter):
        self.writer = writer

    def __enter__(self) -> IndexWriter:
        return self.writer

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            if not self.writer.is_closed:
                self.writer.commit()
        else:
            self.writer.cancel()


def _batches(docs: Iterable[Document], size: int) -> Iterator[list[Document]]:
    iterator = iter(docs)
    if size <= 0:
        everything = list(iterator)
        if everything:
            yield everything
        return
    while batch := list(islice(iterator, size)):
        yield batch


def _try_acquire(lock: Any, timeout_seconds: float) -> bool:
    return bool(try_for(lock.acquire, timeout=timeout_seconds, delay=0.1))
