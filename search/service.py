"""The one entry point for searching: the web page, /api/search, `samizdat search` and export filters.

A SearchService keeps long-lived Whoosh searchers (opening one costs ~350 ms at 100k documents) and one
DocTable per version of the index, and swaps them for new ones when a commit changed the index, so a crawl
finishing while the server runs shows up without a restart.

Searches run side by side: a Whoosh searcher is not thread-safe (its posting readers seek and then read one
shared file object), so each search borrows a searcher of its own from a small pool (`searchers`, opened
as needed, all on the same index generation), and nothing else is held for the length of a search.

Each search has a time budget (`budget_seconds`, SEARCH_BUDGET_SECONDS): Whoosh's TimeLimitCollector stops
collecting when it runs out, and a deadline checked each time a posting block is read stops a matcher
that finds nothing for a long stretch (an AND of common words that never meet). A search cut short returns
what it found, with a warning; the cost guard (search/query.py) refuses beforehand what no budget can
save.

Takedowns (archive/takedowns.py) are applied here, at query time: a document taken down, or every document of
a source taken down, never matches, so search, facet counts, exports and lookups by id all leave it out. The
takedowns file is that of the index's data directory (`<data>/index` -> `<data>/takedowns.sqlite`); it is
looked at on every call (a stat and one SQLite pragma) and re-read only when it changed, so a takedown
shows at once, needs no index writer, and survives a reindex by construction.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from whoosh import index
from whoosh.collectors import Collector, TimeLimitCollector, UnlimitedCollector, UnsortedCollector
from whoosh.index import EmptyIndexError, FileIndex
from whoosh.query import And, ConstantScoreQuery, Every, NullQuery, Query
from whoosh.searching import Searcher, TimeLimit

from samizdat.archive.datadir import DataDir
from samizdat.archive.takedowns import HiddenSet
from samizdat.search.doctable import DocTable, build_table
from samizdat.search.facets import count_facets, empty_facets
from samizdat.search.query import ParamError, SearchParams, check_expansions, filter_query, parse_text_query
from samizdat.search.schema import STEMMED_LANGUAGES, text_field
from samizdat.search.snippets import snippet

STORED_FIELDS = (
    "id", "url", "source", "kind", "title", "text", "author", "published", "labels", "language", "date_precision",
)  # fmt: skip

# Seconds one search may spend matching documents; could become a setting (archive/config.py).
SEARCH_BUDGET_SECONDS: Final = 2.0
# Searchers per index generation, opened as concurrent searches need them: more searches wait for one.
SEARCHERS: Final = 4


class _DeadlineFile:
    """A segment's postings file that raises TimeLimit once past `deadline`. Whoosh's posting readers seek
    once per block of ~128 postings, so even a matcher that yields nothing for seconds checks it often;
    TimeLimitCollector only looks between matches. Belongs to one pooled searcher, hence one thread."""

    def __init__(self, file: Any) -> None:
        self._file = file
        self.deadline = math.inf

    def seek(self, *args: Any) -> Any:
        if time.monotonic() > self.deadline:
            raise TimeLimit
        return self._file.seek(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


@dataclass
class _Pooled:
    searcher: Searcher
    files: list[_DeadlineFile]

    @contextmanager
    def deadline(self, seconds: float) -> Iterator[None]:
        at = time.monotonic() + seconds
        for file in self.files:
            file.deadline = at
        try:
            yield
        finally:
            for file in self.files:
                file.deadline = math.inf


def _pooled(searcher: Searcher) -> _Pooled:
    files = []
    for leaf, _base in searcher.reader().leaf_readers():
        terms = getattr(leaf, "_terms", None)  # whoosh 2.7's W3TermsReader; without it the collector alone stops
        if terms is not None and hasattr(terms, "_postfile"):
            terms._postfile = _DeadlineFile(terms._postfile)
            files.append(terms._postfile)
    return _Pooled(searcher, files)


class _State:
    """One generation of the index: its searchers (a pool) and the DocTable built from it; replaced as a
    whole after a commit. Only the pool and the caches change."""

    def __init__(self, ix: FileIndex, directory: tuple[int, int], size: int) -> None:
        self.ix = ix
        # (device, inode) of the index directory: a reindex swaps in a new directory whose generation
        # number can equal the old one's, so generations alone cannot tell the two apart.
        self.directory = directory
        self.toc = ix._read_toc()  # every searcher of the pool opens this very generation
        self.size = size
        self._cond = threading.Condition()
        self._idle: list[_Pooled] = []
        self._open = 0
        self._waiting = 0
        self._retired = False
        first = self._open_searcher()
        self._open = 1
        reader = first.searcher.reader()
        # The stemmers (schema.STEMMED_LANGUAGES) whose fields hold words in this index: a query is parsed
        # over those fields only, since every field added to it costs time.
        self._languages = tuple(
            language
            for language in STEMMED_LANGUAGES
            if reader.field_length(f"text_{language}") or reader.field_length(f"title_{language}")
        )
        self._idle.append(first)
        self._table: DocTable | None = None
        # (takedowns key, the docnums they take down): recomputed when the takedowns change.
        self._hidden: tuple[object, frozenset[int]] = (None, frozenset())

    def up_to_date(self) -> bool:
        return bool(self.ix.latest_generation() == self.toc.generation)

    def languages(self) -> tuple[str, ...]:
        return self._languages

    def _open_searcher(self) -> _Pooled:
        toc = self.toc
        reader = FileIndex._reader(self.ix.storage, toc.schema, list(toc.segments), toc.generation)
        return _pooled(Searcher(reader, fromindex=self.ix))

    @contextmanager
    def borrow(self) -> Iterator[_Pooled]:
        """A searcher of this generation for one thread: an idle one, a new one while the pool is not
        full, else the next one given back."""
        pooled = self._take()
        try:
            yield pooled
        finally:
            self._give_back(pooled)

    def _take(self) -> _Pooled:
        with self._cond:
            while True:
                if self._idle:
                    return self._idle.pop()
                if self._open < self.size:
                    self._open += 1
                    break
                self._wait()
        try:  # opened outside the lock: the others keep borrowing and giving back meanwhile
            return self._open_searcher()
        except (OSError, EmptyIndexError):
            # A later commit removed this generation's files: wait for one of the searchers already open.
            with self._cond:
                self._open -= 1
                self.size = self._open
                while not self._idle:
                    self._wait()
                return self._idle.pop()

    def _wait(self) -> None:
        """Wait (the condition's lock held) for a searcher to be given back."""
        self._waiting += 1
        try:
            self._cond.wait()
        finally:
            self._waiting -= 1

    def _give_back(self, pooled: _Pooled) -> None:
        with self._cond:
            # A retired generation still hands its searchers to the searches already waiting for one.
            if not self._retired or len(self._idle) < self._waiting:
                self._idle.append(pooled)
                self._cond.notify()
                return
            self._open -= 1
        pooled.searcher.close()

    def retire(self) -> None:
        """Close the idle searchers now and the borrowed ones when they are given back."""
        with self._cond:
            self._retired = True
            idle, self._idle = self._idle, []
            self._open -= len(idle)
        for pooled in idle:
            pooled.searcher.close()

    def table(self, pooled: _Pooled) -> DocTable:
        with self._cond:
            table = self._table
        if table is None:  # built on first need, from the borrowed searcher: `get()` alone never pays for it
            table = build_table(pooled.searcher.reader())
            with self._cond:
                if self._table is None:
                    self._table = table
                table = self._table
        return table

    def hidden_docnums(
        self, pooled: _Pooled, hidden: tuple[frozenset[str], frozenset[str]], key: object
    ) -> frozenset[int]:
        ids, sources = hidden
        if not ids and not sources:
            return frozenset()
        cached_key, docnums = self._hidden
        if key is None or key != cached_key:
            table = self.table(pooled)
            docnums = frozenset(
                docnum
                for docnum, (doc_id, source) in enumerate(zip(table.ids, table.sources, strict=True))
                if doc_id in ids or source in sources
            )
            self._hidden = (key, docnums)  # one assignment: readers see the old pair or the new one
        return docnums


@dataclass
class _Match:
    docnums: list[int]  # matching docnums, in any order
    ordered: list[int]  # the same in the requested order
    complete: bool = True  # False when the time budget stopped the search


class SearchService:
    """Thread-safe: any number of threads may call one instance, and they search side by side (see the
    module's docstring). Locks are held only around what is shared: the pool, the takedowns file and the
    swap to a new generation; the searcher is refreshed (at most every `refresh_seconds`) by one thread
    while the others go on with the current one.

    A directory with no index yet is an empty archive, not an error: the index is picked up as soon
    as the first crawl or reindex creates it.
    """

    def __init__(
        self,
        index_dir: str | os.PathLike[str],
        refresh_seconds: float = 1.0,
        budget_seconds: float = SEARCH_BUDGET_SECONDS,
        searchers: int = SEARCHERS,
    ):
        self.index_dir = Path(index_dir)
        self.refresh_seconds = refresh_seconds
        self.budget_seconds = budget_seconds
        self.searchers = max(1, searchers)
        self._refresh_lock = threading.Lock()
        self._takedowns_lock = threading.Lock()
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
        with self._refresh_lock:
            if self._state is not None:
                self._state.retire()
            self._state = None
            with self._takedowns_lock:
                self._takedowns.close()
            self._closed = True

    def warm(self) -> None:
        """Open the index and build what every search needs (a searcher, the document table with its coded
        facets) now, so that the first search does not pay for them: `samizdat serve` calls it before it
        says it is ready. Nothing to do without an index."""
        state = self._current(wait=True)
        if state is not None:
            with state.borrow() as pooled:
                state.table(pooled)

    def refresh(self) -> None:
        """Pick up the latest commit now, without waiting for `refresh_seconds`."""
        self._current(wait=True)

    def search(self, params: SearchParams) -> dict[str, Any]:
        """The public result contract: total (exact unless a warning says the budget cut it), page,
        per_page, hits, facets, warnings."""
        state = self._current()
        text_query, warnings = parse_text_query(params.q, state.languages() if state is not None else ())
        if state is None:
            return _empty_result(params, [*warnings, self._no_index_warning()])
        with state.borrow() as pooled:
            check_expansions(text_query, pooled.searcher.reader())
            table = state.table(pooled)
            match = self._match(state, pooled, params, text_query)
            first = (params.page - 1) * params.per_page
            page = match.ordered[first : first + params.per_page]
            stored = [pooled.searcher.stored_fields(docnum) for docnum in page]
            terms = _highlight_terms(pooled.searcher, text_query)
        if not match.complete:
            warnings.append(
                f"the search was stopped after its time budget of {self.budget_seconds:g} s: the "
                f"{len(match.docnums)} matches found by then are shown and counted, there may be more; "
                "use fewer or more specific words for a complete answer"
            )
        # Snippets and facet counts need no index access: the searcher is back in the pool meanwhile.
        return {
            "total": len(match.docnums),
            "page": params.page,
            "per_page": params.per_page,
            "hits": [_hit(fields, terms) for fields in stored],
            "facets": count_facets(table, match.docnums),
            "warnings": warnings,
        }

    def iter_ids(self, params: SearchParams) -> Iterator[str]:
        """Every matching id in the requested order, ignoring page and per_page (for exports).
        Computed at call time: later commits do not change an iteration under way. A search stopped by
        the time budget is refused (ParamError "q: ...") rather than exported in part."""
        state = self._current()
        if state is None:
            return iter(())
        text_query, _warnings = parse_text_query(params.q, state.languages())
        with state.borrow() as pooled:
            check_expansions(text_query, pooled.searcher.reader())
            ids = state.table(pooled).ids
            match = self._match(state, pooled, params, text_query)
        if not match.complete:
            raise ParamError(
                "q",
                f"the search ran past its time budget of {self.budget_seconds:g} s, and an export needs every "
                "match; use fewer or more specific words, or filters",
            )
        return (ids[docnum] for docnum in match.ordered)

    def get(self, doc_id: str) -> dict[str, Any] | None:
        """The stored fields of one document (id, url, source, kind, title, text, author, published,
        labels, language), or None if it is not in the index or taken down."""
        state = self._current()
        stored = None
        if state is not None:
            with state.borrow() as pooled:
                stored = pooled.searcher.document(id=doc_id)
        hidden_ids, hidden_sources = self.hidden()
        if stored is None or doc_id in hidden_ids or stored.get("source") in hidden_sources:
            return None
        record = {name: stored.get(name) for name in STORED_FIELDS}
        record["labels"] = list(record["labels"] or [])
        return record

    def hidden(self) -> tuple[frozenset[str], frozenset[str]]:
        """(document ids, source names) taken down now."""
        return self._hidden_now()[0]

    # --- internals ------------------------------------------------------------------------------------

    def _hidden_now(self) -> tuple[tuple[frozenset[str], frozenset[str]], object]:
        with self._takedowns_lock:  # one SQLite connection, re-read when the file changed
            return self._takedowns.current()

    def _current(self, wait: bool = False) -> _State | None:
        """The current generation; checks for a newer one at most every `refresh_seconds` (`wait`: now).
        One thread checks and opens; the others go on with the generation they have, unless there is
        none yet."""
        if self._closed:
            raise RuntimeError("this SearchService is closed")
        state = self._state
        if not wait and state is not None and time.monotonic() - self._checked_at < self.refresh_seconds:
            return state
        if not self._refresh_lock.acquire(blocking=wait or state is None):
            return state
        try:
            if self._closed:
                raise RuntimeError("this SearchService is closed")
            now = time.monotonic()
            if not wait and self._state is not None and now - self._checked_at < self.refresh_seconds:
                return self._state  # another thread checked while this one waited
            self._checked_at = now
            fresh = self._open_if_changed()
            if fresh is not None:
                old, self._state = self._state, fresh
                if old is not None:
                    old.retire()
            return self._state
        finally:
            self._refresh_lock.release()

    def _open_if_changed(self) -> _State | None:
        try:
            directory = _directory_identity(self.index_dir)
            if self._state is not None and self._state.directory == directory and self._state.up_to_date():
                return None
            if not index.exists_in(str(self.index_dir)):
                return None
            # A whole new generation, not Searcher.refresh(): in whoosh 2.7 refresh() keeps the readers of
            # segments it has seen before, with their old deletions, and even segments a clear removed.
            return _State(index.open_dir(str(self.index_dir)), directory, self.searchers)
        except (OSError, EmptyIndexError):
            # The directory is being swapped by a reindex: serve the old index, look again shortly.
            return None

    def _match(self, state: _State, pooled: _Pooled, params: SearchParams, text_query: Query | None) -> _Match:
        """The matching documents; taken-down documents never match. A text query runs under the time
        budget; filters alone are a few cheap terms and ranges, and always complete."""
        searcher, table = pooled.searcher, state.table(pooled)
        hidden = state.hidden_docnums(pooled, *self._hidden_now())
        filters = filter_query(params)
        sort = params.effective_sort()
        if text_query is None:
            query = Every() if filters is None else filters
            docnums = [docnum for docnum in searcher.docs_for_query(query) if docnum not in hidden]
            return _Match(docnums, table.order(docnums, sort))
        scored = sort == "relevance"
        if scored:
            # Filters only restrict: a constant 0 keeps them out of the scores.
            query = text_query if filters is None else And([text_query, ConstantScoreQuery(filters, 0.0)])
        else:
            query = text_query if filters is None else And([text_query, filters])
        # Every match is collected (scored when sorting by relevance): the total is exact, and ties can be
        # broken by id. use_alarm=False: SIGALRM works only in the main thread, and would stop it all.
        collected: Collector = UnlimitedCollector() if scored else UnsortedCollector()
        collector = TimeLimitCollector(collected, self.budget_seconds, use_alarm=False)
        complete = True
        with pooled.deadline(self.budget_seconds):
            try:
                searcher.search_with_collector(query, collector)
            except TimeLimit:
                complete = False
        items = collector.results().top_n
        if scored:
            scored_items = [pair for pair in items if pair[1] not in hidden]
            docnums = [docnum for _, docnum in scored_items]
            return _Match(docnums, table.order_by_score(scored_items), complete)
        docnums = [docnum for _, docnum in items if docnum not in hidden]
        return _Match(docnums, table.order(docnums, sort), complete)

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
