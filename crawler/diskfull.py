"""A full disk while crawling: the crawl stops at the first write that fails for want of space, the WARC files
valid and the run resumable, and ends with one line naming the file, the free space and what to do.

Keeping the archive valid is the WARC writer's own guarantee (archive.warc.WarcWriter): a failed write leaves
the file ending at its last complete record, sealed, and every later write is refused with ArchiveFull. Here
that refusal, or the document store's "database or disk is full", becomes the crawl's message (DiskFull) and
its clean stop: the run's owner (`on_full`) stops handing out requests and keeps those in flight for the next
run, which answers them from the archive or fetches them again.
"""

from __future__ import annotations

import errno
import gc
import logging
import shutil
import sqlite3
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from archive.warc import FULL_ERRNOS, ArchiveFull, WarcWriter, human_bytes, mount_point

logger = logging.getLogger(__name__)

# SQLite's primary result codes for a write that found no room: SQLITE_FULL ("database or disk is full"),
# and SQLITE_IOERR ("disk I/O error"), which is what a write past the file size limit (EFBIG) gives.
_SQLITE_FULL, _SQLITE_IOERR = 13, 10


class DiskFull(OSError):
    """The crawl cannot go on writing for want of space; the message is the crawl's last line but for the
    command line's "then run `samizdat crawl` again"."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.errno = code

    def __str__(self) -> str:
        return str(self.args[0])


def guard_writer(writer: WarcWriter, on_full: Callable[[DiskFull], None]) -> WarcWriter:
    """Turn the writer's ArchiveFull into the crawl's DiskFull and tell `on_full`, once (later refusals
    are raised without telling it again). Wraps the record-writing methods in place; the writer is returned."""
    told: list[DiskFull] = []

    def guarded(method: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(method)
        def write(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except ArchiveFull as full:
                if told:
                    raise DiskFull(str(told[0]), told[0].errno) from None
                forget(full)
                error = DiskFull(archive_message(full), full.errno)
                told.append(error)
                logger.error("%s", error)
                on_full(error)
                raise error from None

        return write

    for name in ("write_exchange", "write_metadata"):
        setattr(writer, name, guarded(getattr(writer, name)))
    return writer


def archive_message(full: ArchiveFull) -> str:
    """The writer's account (file, free space, what became of the file), what did not fit, and what to do."""
    size = f" (a response of {human_bytes(full.record_bytes)} did not fit)" if full.record_bytes is not None else ""
    return f"{full}{size}; {advice(full.errno, full.mount or Path('/'))}"


def store_full(exc: sqlite3.Error, store_path: Path) -> DiskFull | None:
    """The crawl's DiskFull for a document store write that failed for want of room (SQLITE_FULL, or the
    SQLITE_IOERR a write past the file size limit gives), else None: the error is something else."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc)
    full = primary == _SQLITE_FULL or "disk is full" in text.lower()
    if not full and primary != _SQLITE_IOERR and "disk i/o error" not in text.lower():
        return None
    store_path = Path(store_path).resolve()  # the disk the file is on, also through a symbolic link
    where = mount_point(store_path.parent)
    free = shutil.disk_usage(store_path.parent).free
    if full:
        head, todo = "disk full: ", advice(errno.ENOSPC, where)
    else:  # what SQLite says of a write past the file size limit, and of a failing disk
        head, todo = "", f"make room on {where} or lift the file size limit (ulimit -f); if neither, check the disk"
    return DiskFull(
        f"{head}cannot write the document store {store_path.name} ({text}), {human_bytes(free)} free on {where}; "
        f"the WARC files are whole and the pages the store missed are read again from them; {todo}",
        errno.ENOSPC if full else errno.EIO,
    )


def forget(exc: BaseException) -> None:
    """Let go of what the failed write held (warcio's spooled payloads), now, and without the "Exception
    ignored" traceback their closing on a full disk would print: the one message is ours."""
    previous = sys.unraisablehook
    if getattr(previous, "__name__", "") != "_quiet_when_full":

        def _quiet_when_full(unraisable: Any) -> None:
            value = unraisable.exc_value
            if isinstance(value, OSError) and value.errno in FULL_ERRNOS:
                logger.debug("after the disk filled up: %s", value)
                return
            previous(unraisable)

        sys.unraisablehook = _quiet_when_full
    exc.__traceback__ = None
    if exc.__context__ is not None:
        exc.__context__.__traceback__ = None
    gc.collect()


def advice(code: int | None, where: Path) -> str:
    """What to do before resuming, by the error's kind."""
    if code == errno.EFBIG:
        return "the file outgrew the file size limit (ulimit -f, or the filesystem's): lift it or lower warc_max_bytes"
    if code == errno.EDQUOT:
        return "make room within your disk quota"
    return f"make room on {where}"
