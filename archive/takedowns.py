"""Takedowns: documents and sources hidden from search, export and the API, and purges: `takedowns.sqlite`.

Not derived from the WARC files, like accounts.sqlite: `samizdat reindex` never touches it, and document ids are
a function of the canonical URL, so a takedown keyed by id survives any rebuild. A hide can be lifted (the
row keeps who lifted it and when); a purge cannot be undone, and keeps hiding its document or source should
a later crawl archive it again. Every row says who, when and why.

Readers that live long (the search service) ask `stamp()` before re-reading `hidden()`: it changes whenever
any process commits a change to the file.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from samizdat.archive.errors import SamizdatError

DOCUMENT, SOURCE = "document", "source"
HIDE, PURGE = "hide", "purge"
MAX_REASON_CHARS = 2000

SCHEMA = """
CREATE TABLE IF NOT EXISTS takedowns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scope TEXT NOT NULL CHECK (scope IN ('document', 'source')),
    doc_id TEXT,  -- document scope: the document's id (stable across reindex)
    url TEXT,  -- document scope: its canonical URL
    title TEXT,
    source TEXT NOT NULL,  -- the document's source, or the source taken down
    action TEXT NOT NULL CHECK (action IN ('hide', 'purge')),
    by_user TEXT NOT NULL,
    at TEXT NOT NULL,  -- UTC, ISO 8601
    reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    detail TEXT NOT NULL DEFAULT '',  -- a purge: what it removed
    lifted_at TEXT,  -- a hide made undone: when and by whom
    lifted_by TEXT
);
CREATE INDEX IF NOT EXISTS takedowns_doc ON takedowns(doc_id);
"""
COLUMNS = ("id", "scope", "doc_id", "url", "title", "source", "action", "by_user", "at", "reason", "detail")
_SELECT = f"SELECT {', '.join(COLUMNS)}, lifted_at, lifted_by FROM takedowns"


class TakedownError(SamizdatError):
    """A takedown that cannot be made or lifted: no reason given, an unknown id, a purge to lift."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def check_reason(reason: str | None) -> str:
    """The reason, stripped; a takedown without one is refused (nothing is written)."""
    text = (reason or "").strip()
    if not text:
        raise TakedownError("a takedown needs a reason: say why (--reason), it is kept with who and when")
    if len(text) > MAX_REASON_CHARS:
        raise TakedownError(f"the reason is {len(text)} characters long; use at most {MAX_REASON_CHARS}")
    return text


def check_by(by: str | None) -> str:
    name = (by or "").strip()
    if not name:
        raise TakedownError("a takedown needs the name of who makes it (--by)")
    return name


class Takedowns:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Takedowns:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- making and lifting -----------------------------------------------------------------------------

    def hide_document(self, doc_id: str, url: str, source: str, by: str, reason: str, title: str = "") -> int:
        """Hide one document (by its id); returns the takedown's id. Refused when it is hidden already."""
        reason, by = check_reason(reason), check_by(by)
        found = self.for_document(doc_id, None)
        if found is not None:
            raise TakedownError(f"document {doc_id} is taken down already (takedown {found['id']}, {found['action']})")
        return self._add(DOCUMENT, doc_id, url, title, source, HIDE, by, reason)

    def hide_source(self, name: str, by: str, reason: str) -> int:
        """Hide every document of a source, now and from later crawls, until lifted."""
        reason, by = check_reason(reason), check_by(by)
        found = self.for_source(name)
        if found is not None:
            raise TakedownError(f"source {name} is taken down already (takedown {found['id']}, {found['action']})")
        return self._add(SOURCE, None, None, None, name, HIDE, by, reason)

    def record_purge(
        self,
        scope: str,
        source: str,
        by: str,
        reason: str,
        doc_id: str | None = None,
        url: str | None = None,
        title: str = "",
        detail: str = "",
    ) -> int:
        """A purge (made or about to be made): listed for archivists, and hiding its target for good."""
        reason, by = check_reason(reason), check_by(by)
        if scope not in (DOCUMENT, SOURCE):
            raise TakedownError(f"scope {scope!r}: use {DOCUMENT!r} or {SOURCE!r}")
        return self._add(scope, doc_id, url, title, source, PURGE, by, reason, detail)

    def set_detail(self, takedown_id: int, detail: str) -> None:
        self.db.execute("UPDATE takedowns SET detail = ? WHERE id = ?", (detail, takedown_id))

    def _add(
        self,
        scope: str,
        doc_id: str | None,
        url: str | None,
        title: str | None,
        source: str,
        action: str,
        by: str,
        reason: str,
        detail: str = "",
    ) -> int:
        cursor = self.db.execute(
            "INSERT INTO takedowns (scope, doc_id, url, title, source, action, by_user, at, reason, detail)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            (scope, doc_id, url, title, source, action, by, now(), reason, detail),
        )
        return int(cursor.lastrowid or 0)

    def lift(self, takedown_id: int, by: str) -> dict[str, Any]:
        """Undo a hide: the document or source is shown again. Returns the row as it was."""
        by = check_by(by)
        row = self.get(takedown_id)
        if row is None:
            raise TakedownError(f"no takedown {takedown_id}; `samizdat takedown list` shows them")
        if row["action"] == PURGE:
            raise TakedownError(f"takedown {takedown_id} is a purge: its records are gone and it cannot be undone")
        if row["lifted_at"]:
            lifted = f"by {row['lifted_by']} at {row['lifted_at']}"
            raise TakedownError(f"takedown {takedown_id} was lifted already, {lifted}")
        self.db.execute(
            "UPDATE takedowns SET lifted_at = ?, lifted_by = ? WHERE id = ? AND lifted_at IS NULL",
            (now(), by, takedown_id),
        )
        return row

    # -- reading ----------------------------------------------------------------------------------------

    def get(self, takedown_id: int) -> dict[str, Any] | None:
        row = self.db.execute(_SELECT + " WHERE id = ?", (takedown_id,)).fetchone()
        return _row(row) if row else None

    def rows(self, include_lifted: bool = False) -> list[dict[str, Any]]:
        """Takedowns, newest first: those in force (every purge, hides not lifted), or all of them."""
        where = "" if include_lifted else " WHERE lifted_at IS NULL"
        return [_row(row) for row in self.db.execute(_SELECT + where + " ORDER BY id DESC")]

    def active(self) -> list[dict[str, Any]]:
        return self.rows()

    def for_document(self, doc_id: str, source: str | None) -> dict[str, Any] | None:
        """The takedown in force on a document, its own or its source's (the newest), or None."""
        row = self.db.execute(
            _SELECT + " WHERE lifted_at IS NULL AND ((scope = 'document' AND doc_id = ?)"
            " OR (scope = 'source' AND source = ?)) ORDER BY id DESC LIMIT 1",
            (doc_id, source if source is not None else ""),
        ).fetchone()
        return _row(row) if row else None

    def for_source(self, name: str) -> dict[str, Any] | None:
        row = self.db.execute(
            _SELECT + " WHERE lifted_at IS NULL AND scope = 'source' AND source = ? ORDER BY id DESC LIMIT 1",
            (name,),
        ).fetchone()
        return _row(row) if row else None

    def hidden(self) -> tuple[frozenset[str], frozenset[str]]:
        """(document ids, source names) taken down now: left out of search, export and the API."""
        ids: set[str] = set()
        sources: set[str] = set()
        for scope, doc_id, source in self.db.execute(
            "SELECT scope, doc_id, source FROM takedowns WHERE lifted_at IS NULL"
        ):
            if scope == DOCUMENT and doc_id:
                ids.add(doc_id)
            elif scope == SOURCE:
                sources.add(source)
        return frozenset(ids), frozenset(sources)

    def purged_documents(self, source: str) -> frozenset[str]:
        """The ids of the source's documents purged one by one: a crawl never fetches them again."""
        rows = self.db.execute(
            "SELECT doc_id FROM takedowns WHERE action = 'purge' AND scope = 'document' AND source = ?", (source,)
        )
        return frozenset(doc_id for (doc_id,) in rows if doc_id)

    def stamp(self) -> tuple[int, int]:
        """Changes whenever the takedowns change: commits by other connections (SQLite's data_version) or by
        this one (its change count)."""
        version = int(self.db.execute("PRAGMA data_version").fetchone()[0])
        return version, int(self.db.total_changes)


def _row(row: tuple[Any, ...]) -> dict[str, Any]:
    data = dict(zip((*COLUMNS, "lifted_at", "lifted_by"), row, strict=True))
    data["by"] = data.pop("by_user")
    return data


def purged_documents(path: str | Path, source: str) -> frozenset[str]:
    """`Takedowns.purged_documents` of the file at `path`, which is not created when missing."""
    if not Path(path).exists():
        return frozenset()
    with Takedowns(path) as takedowns:
        return takedowns.purged_documents(source)


class HiddenSet:
    """What is taken down, for a reader that lives long (one per search service): re-read only when the file
    changed. A missing file is nothing taken down; it is never created here."""

    EMPTY: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._takedowns: Takedowns | None = None
        self._identity: tuple[int, int] | None = None
        self._stamp: tuple[int, int] | None = None
        self._hidden = self.EMPTY

    def current(self) -> tuple[tuple[frozenset[str], frozenset[str]], object]:
        """((hidden ids, hidden sources), a key that changes with them)."""
        try:
            stat = os.stat(self.path)
        except OSError:
            self.close()
            return self.EMPTY, None
        identity = (stat.st_dev, stat.st_ino)
        try:
            if self._takedowns is None or identity != self._identity:  # new, or replaced (a restored backup)
                self.close()
                self._takedowns, self._identity = Takedowns(self.path), identity
            stamp = self._takedowns.stamp()
            if stamp != self._stamp:
                self._hidden, self._stamp = self._takedowns.hidden(), stamp
        except sqlite3.Error:
            # Unreadable for a moment (being written, locked): keep what was read last, look again next time.
            return self._hidden, (identity, self._stamp)
        return self._hidden, (identity, self._stamp)

    def close(self) -> None:
        if self._takedowns is not None:
            self._takedowns.close()
        self._takedowns, self._identity, self._stamp = None, None, None
        self._hidden = self.EMPTY
