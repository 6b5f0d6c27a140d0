"""A full disk while crawling: the crawl stops at the first write that fails for want of space, the WARC files
valid and the run resumable, and ends with one line naming the file, the free space and what to do.

Keeping the archive valid is the WARC writer's own guarantee (archive.warc.WarcWriter): a failed write leaves
the file ending at its last complete record, sealed, and every later write is refused with ArchiveFull. Here
that refusal, or any other write of the crawl's that finds no room (the document store, the frontier, the
skipped URLs, the spider's state: whichever comes first), becomes the crawl's message (DiskFull) and its clean
stop: the spider stops handing out requests and keeps those in flight for the next run, which answers them
from the archive or fetches them again. The log file, on the same disk, stays quiet meanwhile.
"""

from __future__ import annotations

import errno
import gc
import logging
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any

from samizdat.archive.sqlitefull import DatabaseFull
from samizdat.archive.warc import FULL_ERRNOS, ArchiveFull, WarcWriter, human_bytes, mount_point

logger = logging.getLogger(__name__)


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


def disk_full(exc: BaseException, path: Path | None = None, what: str = "") -> DiskFull | None:
    """The crawl's DiskFull for a write that failed for want of room, else None (the error is something else):
    the WARC writer's ArchiveFull, an SQLite file's DatabaseFull (the store, the frontier: they name
    themselves), or a plain OSError writing `path` (`what` it holds)."""
    if isinstance(exc, DiskFull):
        return exc
    if isinstance(exc, ArchiveFull):
        return DiskFull(archive_message(exc), exc.errno)
    if isinstance(exc, DatabaseFull):
        path, full, text = exc.path, exc.full, f"{exc}"
    elif isinstance(exc, OSError) and exc.errno in FULL_ERRNOS and path is not None:
        full, text = exc.errno != errno.EFBIG, f"cannot write {what} {path.name} ({exc.strerror})"
    else:
        return None
    path = Path(path).resolve()  # the disk the file is on, also through a symbolic link
    where = mount_point(path.parent)
    free = shutil.disk_usage(path.parent).free
    full = full or free == 0  # SQLite says "disk I/O error" of some writes to a disk with no room left
    if full:
        head, todo = "disk full: ", advice(errno.ENOSPC, where)
    elif isinstance(exc, DatabaseFull):  # what SQLite says of a write past the file size limit, and of a failing disk
        head, todo = "", f"make room on {where} or lift the file size limit (ulimit -f); if neither, check the disk"
    else:
        head, todo = "", advice(exc.errno, where)
    return DiskFull(
        f"{head}{text}, {human_bytes(free)} free on {where}; the WARC files are whole and what this run could "
        f"not record is read again from them by the next; {todo}",
        errno.ENOSPC if full else exc.errno,
    )


def stop_crawl(crawler: Any, full: DiskFull) -> None:
    """Stop the crawl for a full disk: the spider holds what is in flight for the next run and hands out
    nothing more, and the run ends interrupted with `full` as its last line (the first reported wins)."""
    on_full = getattr(crawler.spider, "on_disk_full", None)
    if on_full is not None:
        on_full(full)
    elif crawler.stats is not None and not crawler.stats.get_value("samizdat/disk_full"):
        logger.error("%s", full)  # a spider of someone else's: at least the run says why
        crawler.stats.set_value("samizdat/disk_full", str(full))
    scheduler = getattr(getattr(crawler.engine, "_slot", None), "scheduler", None)
    if scheduler is not None and hasattr(scheduler, "drain"):  # crawler.frontier.DurableScheduler
        scheduler.hold()
        scheduler.drain("disk full")


@contextmanager
def stopping_when_full(crawler: Any, path: Path | None = None, what: str = "") -> Iterator[None]:
    """A write of the crawl's own bookkeeping (the store's, the frontier's, the spider's state at `path`) that
    finds no room stops the crawl (stop_crawl) instead of raising into Scrapy: the code after the block runs
    as if the write had been done, and the next run, reading the archive again, makes up for it."""
    try:
        yield
    except OSError as exc:
        full = disk_full(exc, path, what)
        if full is None:
            raise
        stop_crawl(crawler, full)


def quiet_when_full(handler: logging.Handler) -> None:
    """A log file on the full disk: its writes fail, and logging would print a traceback to stderr for each
    line. They are dropped; the crawl says what happened in its last line."""
    loud = handler.handleError

    def handle_error(record: logging.LogRecord) -> None:
        exc = sys.exc_info()[1]
        if not (isinstance(exc, OSError) and exc.errno in FULL_ERRNOS):
            loud(record)

    handler.handleError = handle_error  # type: ignore[method-assign]


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
