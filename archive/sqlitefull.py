"""SQLite files whose writes that find no room say so with one error, DatabaseFull, naming the file: whichever
file of ours it was (the document store, a crawl's frontier, its skipped URLs) and whichever statement, the
crawl stops on it as on a full WARC file (crawler.diskfull) instead of failing somewhere in Scrapy.

SQLite reports a full disk as SQLITE_FULL ("database or disk is full") and a write past the file size limit
(EFBIG) as SQLITE_IOERR ("disk I/O error"), the code a failing disk also gives."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path
from typing import Any

from samizdat.archive.errors import SamizdatError

_SQLITE_FULL, _SQLITE_IOERR = 13, 10  # primary result codes


class DatabaseFull(OSError, SamizdatError):
    """A write to `path` (`what`: "the document store") failed for want of room, or of a working disk."""

    def __init__(self, path: Path, what: str, error: sqlite3.Error) -> None:
        self.full = no_room(error) == _SQLITE_FULL  # else an I/O error: a size limit, or the disk failing
        super().__init__(errno.ENOSPC if self.full else errno.EIO, str(error))
        self.path, self.what = path, what

    def __str__(self) -> str:
        return f"cannot write {self.what} {self.path.name} ({self.strerror})"


def no_room(error: BaseException) -> int | None:
    """SQLite's primary result code when `error` is a write that found no room (or a failing disk), else None."""
    if not isinstance(error, sqlite3.OperationalError):
        return None
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(error).lower()
    if primary == _SQLITE_FULL or "disk is full" in text:
        return _SQLITE_FULL
    if primary == _SQLITE_IOERR or "disk i/o error" in text:
        return _SQLITE_IOERR
    return None


class Connection(sqlite3.Connection):
    """sqlite3's connection, its writes raising DatabaseFull instead of an OperationalError on a full disk.
    Made by `connect`, which names the file and what it holds."""

    path = Path()
    what = "the database"

    def _full(self, error: sqlite3.OperationalError) -> Exception:
        return DatabaseFull(self.path, self.what, error) if no_room(error) else error

    def execute(self, *args: Any) -> sqlite3.Cursor:
        try:
            return super().execute(*args)
        except sqlite3.OperationalError as error:
            raise self._full(error) from error

    def executemany(self, *args: Any) -> sqlite3.Cursor:
        try:
            return super().executemany(*args)
        except sqlite3.OperationalError as error:
            raise self._full(error) from error

    def executescript(self, *args: Any) -> sqlite3.Cursor:
        try:
            return super().executescript(*args)
        except sqlite3.OperationalError as error:
            raise self._full(error) from error

    def commit(self) -> None:
        try:
            super().commit()
        except sqlite3.OperationalError as error:
            raise self._full(error) from error

    def __exit__(self, *exc: Any) -> Any:  # `with db:` commits in C, past `commit` above
        try:
            return super().__exit__(*exc)
        except sqlite3.OperationalError as error:
            raise self._full(error) from error


def connect(path: str | Path, what: str, **kwargs: Any) -> Connection:
    """sqlite3.connect(path, **kwargs), with writes that find no room raising DatabaseFull(path, what)."""
    db = sqlite3.connect(path, factory=Connection, **kwargs)
    assert isinstance(db, Connection)
    db.path, db.what = Path(path), what
    return db
