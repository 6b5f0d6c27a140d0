"""The one entry point for searching: the web page, /api/search, `samizdat search` and export filters.

A SearchService keeps ONE Whoosh searcher per process (opening one costs ~350 ms at 100k documents) and
its DocTable, and swaps both for new ones when a commit changed the index, so a crawl finishing while the
server runs shows up without a restart.

Takedowns (archive/takedowns.py) are applied here, at query time: a document taken down, or every document of
a source taken down, never matches, so search, facet counts, exports and lookups by id all leave it out. The
takedowns file is that of the index's data directory (`<data>/index` -> `<data>/takedowns.sqlite`); it is
looked at on every call (a stat and one SQLite pragma) and re-read only when it changed, so a takedown
shows at once, needs no index writer, and survives a reindex by construction.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from whoosh import index
from whoosh.index import EmptyIndexError
from whoosh.query import And, ConstantScoreQuery, Every, NullQuery, Query
from whoosh.searching import Searcher

from archive.datadir import DataDir
from archive.takedowns import HiddenSet
from search.doctable import DocTable, build_table
from search.facets import count_facets, empty_facets
from search.query import SearchParams, filter_query, parse_text_query
from search.schema import STEMMED_LANGUAGES, text_field
from search.snippets import snippet

STORED_FIELDS = (
    "id", "url", "source", "kind", "title", "text", "author", "published", "labels", "language", "date_precision",
)  # fmt: skip


@dataclass
class _State:
    """A searcher and the DocTable built from it; replaced together, never mutated after a refresh."""

    searcher: Searcher
    # (device, inode) of the index directory: a reindex swaps in a new directory whose generation
    # number can equal the old one's, so generations alone cannot tell the two apart.
    directory: tuple[int, int]
    _table: DocTable | None = field(default=None, repr=False)
    # The docnums taken down, for the takedowns as of `_hidden_key` (recomputed when they change).
    _hidden_key: object = field(default=None, repr=False)
    _hidden_docnums: frozenset[int] = field(default=frozenset(), repr=False)
    _languages: tuple[str, ...] | None = field(default=None, repr=False)

    def languages(self) -> tuple[str, ...]:
        """The stemmers (schema.STEMMED_LANGUAGES) whose fields hold words in this index: a query is
        parsed over those fields only, since every field added to it costs time."""
        if self._languages is None:
            reader = self.searcher.reader()
            self._languages = tuple(
                language
                for language in STEMMED_LANGUAGES
                if reader.field_length(f"text_{language}") or reader.field_length(f"title_{language}")
            )
        return self._languages

    def table(self) -> DocTable:
        if self._table is None:  # built on first need: `get()` alone never pays for it
            self._table = build_table(self.searcher.reader())
        return self._table

    def hidden_docnums(self, hidden: tuple[frozenset[str], frozenset[str]], key: object) -> frozenset[int]:
        ids, sources = hidden
        if not ids and not sources:
            return frozenset()
        if key is None or key != self._hidden_key:
            table = self.table()
            self._hidden_docnums = frozenset(
                docnum
                for docnum, (doc_id, source) in enumerate(zip(table.ids, table.sources, strict=True))
                if doc_id in ids or source in sources
            )
            self._hidden_key = key
        return self._hidden_docnums


class SearchService:
    """Thread-safe: any number of threads may call one instance. Whoosh's readers share file handles,
    so searches are serialized by a lock; the searcher is refreshed (at most every `refresh_seconds`)
    under the same lock.

    A directory with no index yet is an empty archive, not an error: the index is picked up as soon
    as the first crawl or reindex creates it.
    """

    def __init__(self, index_dir: str | os.PathLike[str], refresh_seconds: float = 1.0):
        self.index_dir = Path(index_dir)
        self.refresh_seconds = refresh_seconds
        self._lock = threading.RLock()
        self._state: _State | None = None
        self._checked_at = float("-inf")
        self._closed = False
        self._takedowns = HiddenSet(DataDir(self.index_dir.parent).takedowns_path)

    def __enter__(self) -> SearchService:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._state is not None:
                self._state.searcher.close()
            self._state = None
            self._takedowns.close()
            self._closed = True

    def refresh(self) -> None:
        """Pick up the latest commit now, without waiting for `refresh_seconds`."""
        with self._lock:
            self._checked_at = float("-inf")
            self._current()

    def search(self, params: SearchParams) -> dict[str, Any]:
        """The public result contract: total (exact), page, per_page, hits, facets, warnings."""
        with self._lock:
            state = self._current()
            text_query, warnings = parse_text_query(params.q, state.languages() if state is not None else ())
            if state is None:
                return _empty_result(params, [*warnings, self._no_index_warning()])
            table = state.table()
            docnums, ordered = self._match(state, params, text_query)
            first = (params.page - 1) * params.per_page
            stored = [state.searcher.stored_fields(docnum) for docnum in ordered[first : first + params.per_page]]
            terms = _highlight_terms(state.searcher, text_query)
        # Snippets and facet counts need no index access: other threads may use the searcher meanwhile.
        return {
            "total": len(docnums),
            "page": params.page,
            "per_page": params.per_page,
            "hits": [_hit(fields, terms) for fields in stored],
            "facets": count_facets(table, docnums),
            "warnings": warnings,
        }

    def iter_ids(self, params: SearchParams) -> Iterator[str]:
        """Every matching id in the requested order, ignoring page and per_page (for exports).
        Computed at call time: later commits do not change an iteration under way."""
        with self._lock:
            state = self._current()
            if state is None:
                return iter(())
            text_query, _warnings = parse_text_query(params.q, state.languages())
            ids = state.table().ids
            _docnums, ordered = self._match(state, params, text_query)
        return (ids[docnum] for docnum in ordered)

    def get(self, doc_id: str) -> dict[str, Any] | None:
        """The stored fields of one document (id, url, source, kind, title, text, author, published,
        labels, language), or None if it is not in the index or taken down."""
        with self._lock:
            state = self._current()
            stored = state.searcher.document(id=doc_id) if state is not None else None
            hidden_ids, hidden_sources = self._takedowns.current()[0]
        if stored is None or doc_id in hidden_ids or stored.get("source") in hidden_sources:
            return None
        record = {name: stored.get(name) for name in STORED_FIELDS}
        record["labels"] = list(record["labels"] or [])
        return record

    def hidden(self) -> tuple[frozenset[str], frozenset[str]]:
        """(document ids, source names) taken down now."""
        with self._lock:
            return self._takedowns.current()[0]

    # --- internals, called with the lock held ---------------------------------------------------------

    def _current(self) -> _State | None:
        if self._closed:
            raise RuntimeError("this SearchService is closed")
        now = time.monotonic()
        if now - self._checked_at < self.refresh_seconds:
            return self._state
        self._checked_at = now
        try:
            directory = _directory_identity(self.index_dir)
            if self._state is not None and self._state.directory == directory and self._state.searcher.up_to_date():
                return self._state
            if not index.exists_in(str(self.index_dir)):
                return self._state
            # A whole new searcher, not Searcher.refresh(): in whoosh 2.7 refresh() keeps the readers of
            # segments it has seen before, with their old deletions, and even segments a clear removed.
            fresh = _State(index.open_dir(str(self.index_dir)).searcher(), directory)
        except (OSError, EmptyIndexError):
            # The directory is being swapped by a reindex: serve the old index, look again shortly.
            return self._state
        if self._state is not None:
            self._state.searcher.close()
        self._state = fresh
        return self._state

    def _match(self, state: _State, params: SearchParams, text_query: Query | None) -> tuple[list[int], list[int]]:
        """(matching docnums in any order, the same in the requested order); taken-down documents never match."""
        searcher, table = state.searcher, state.table()
        hidden = state.hidden_docnums(*self._takedowns.current())
        filters = filter_query(params)
        sort = params.effective_sort()
        if text_query is not None and sort == "relevance":
            # Filters only restrict: a constant 0 keeps them out of the scores.
            query = text_query if filters is None else And([text_query, ConstantScoreQuery(filters, 0.0)])
            # limit=None scores every match: the total is exact, and ties can be broken by id.
            scored = searcher.search(query, limit=None).top_n
            if hidden:
                scored = [pair for pair in scored if pair[1] not in hidden]
            return [docnum for _, docnum in scored], table.order_by_score(scored)
        parts = [part for part in (text_query, filters) if part is not None]
        query = Every() if not parts else parts[0] if len(parts) == 1 else And(parts)
        docnums = list(searcher.docs_for_query(query))
        if hidden:
            docnums = [docnum for docnum in docnums if docnum not in hidden]
        return docnums, table.order(docnums, sort)

    def _no_index_warning(self) -> str:
        return f"no search index in {self.index_dir} yet: crawl or reindex first"


def _directory_identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_dev, stat.st_ino


def _empty_result(params: SearchParams, warnings: list[str]) -> dict[str, Any]:
    return {
        "total": 0,
        "page": params.page,
        "per_page": params.per_page,
        "hits": [],
        "facets": empty_facets(),
        "warnings": warnings,
    }


_TEXT_FIELDS = frozenset({"text", *(f"text_{language}" for language in STEMMED_LANGUAGES)})


def _highlight_terms(searcher: Searcher, text_query: Query | None) -> dict[str, frozenset[str]]:
    """The indexed words the query looks for in each text field ("text", "text_ru"), wildcards expanded.

    Not Query.existing_terms(): in whoosh 2.7 its loop variable shadows its `fieldname` filter and it
    drops terms, so the leaves are walked here.
    """
    if text_query is None or text_query is NullQuery:
        return {}
    reader = searcher.reader()
    words: dict[str, set[str]] = {}
    for leaf in text_query.leaves():
        if leaf.field() not in _TEXT_FIELDS:
            continue
        found = words.setdefault(leaf.field(), set())
        for _fieldname, word in leaf.expanded_terms(reader, phrases=True):
            found.add(word.decode("utf-8") if isinstance(word, bytes) else str(word))
    return {name: frozenset(found) for name, found in words.items()}


def _hit(stored: dict[str, Any], terms: dict[str, frozenset[str]]) -> dict[str, Any]:
    text = stored.get("text") or ""
    # The words of the field this document was indexed in, found again by that field's analysis.
    field_name = text_field(stored.get("language"))
    return {
        "id": stored.get("id"),
        "url": stored.get("url"),
        "title": stored.get("title") or "",  # plain text: the web layer escapes it
        "published": stored.get("published"),
        "labels": list(stored.get("labels") or []),
        "source": stored.get("source"),
        "author": stored.get("author"),
        "snippet": snippet(text, terms.get(field_name, frozenset()), field_name),
        "date_precision": stored.get("date_precision"),  # added after the first contract: last
    }
