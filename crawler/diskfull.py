"""A full disk while archiving: the crawl stops at the first WARC write that fails for want of space, with a
message naming the file and the free space, and leaves the archive valid and the run resumable.

The WARC writer writes each exchange after the previous one was flushed, so when a write fails the file is
whole up to where that exchange began. The guard cuts the file back to there (a file the failed write had
just opened goes), seals it, and refuses every later write without touching the disk: no file is left with
half a record, and no new file is begun on a full disk. The run's owner (`on_full`) stops handing out
requests and keeps those in flight for the next run, which fetches what could not be archived.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import logging
import os
import shutil
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from archive.durable import fsync_dir
from archive.warc import OPEN_SUFFIX, WarcWriter

logger = logging.getLogger(__name__)

# No space, no quota left, or past the file size limit (RLIMIT_FSIZE, or the filesystem's own).
FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class DiskFull(OSError):
    """The archive cannot be written for want of space; the message says which file and how much is free."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.errno = code


def guard_writer(writer: WarcWriter, on_full: Callable[[DiskFull], None]) -> WarcWriter:
    """Wrap the writer's record-writing methods (in place; it is returned for convenience)."""
    failed: list[DiskFull] = []

    def guarded(method: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(method)
        def write(*args: Any, **kwargs: Any) -> Any:
            if failed:
                raise DiskFull(str(failed[0]), failed[0].errno)
            fh, path = writer._fh, writer.path
            start = fh.tell() if fh is not None else None  # everything before it was flushed
            try:
                return method(*args, **kwargs)
            except OSError as exc:
                if exc.errno not in FULL:
                    raise
                error = give_up(writer, exc, start if writer.path == path else None, writer.path != path)
                forget(exc)
                body = kwargs.get("body")
                size = f" (a response of {human_bytes(len(body))} did not fit)" if isinstance(body, bytes) else ""
                todo = advice(exc.errno, mount_point(writer.warc_dir))
                error = DiskFull(f"{error}{size}; {todo}", error.errno)
                failed.append(error)
                logger.error("%s", error)
                on_full(error)
                raise error from None

        return write

    for name in ("write_exchange", "write_metadata"):
        setattr(writer, name, guarded(getattr(writer, name)))
    return writer


def forget(exc: OSError) -> None:
    """Let go of what the failed write held (warcio's temporary files, spilled to the same full disk), now,
    and without the "Exception ignored" traceback their closing would print: the one message is ours."""
    previous = sys.unraisablehook
    if getattr(previous, "__name__", "") != "_quiet_when_full":

        def _quiet_when_full(unraisable: Any) -> None:
            value = unraisable.exc_value
            if isinstance(value, OSError) and value.errno in FULL:
                logger.debug("after the disk filled up: %s", value)
                return
            previous(unraisable)

        sys.unraisablehook = _quiet_when_full
    traceback.clear_frames(exc.__traceback__)
    exc.__traceback__ = None
    gc.collect()


def give_up(writer: WarcWriter, exc: OSError, start: int | None, opened: bool) -> DiskFull:
    """Close the file being written without flushing what is buffered, cut it back to `start` (the end of its
    last complete record) and seal it; a file the failed call `opened` goes. Returns the error to report."""
    path = writer.path
    fh = writer._fh
    writer._fh, writer._writer = None, None
    if fh is not None:
        with contextlib.suppress(OSError):
            fh.raw.close()  # type: ignore[attr-defined]  # drops the buffer: it can never be flushed later
    free = shutil.disk_usage(writer.warc_dir).free
    what = (exc.strerror or str(exc)).lower()
    where = mount_point(writer.warc_dir)
    if path is None or (fh is None and not opened):  # creating the file failed: nothing was written
        return DiskFull(
            f"disk full: cannot begin a WARC file in {writer.warc_dir} ({what}), {human_bytes(free)} free on {where}",
            exc.errno,
        )
    name = f"warc/{path.name}"
    open_path = path.with_name(path.name + OPEN_SUFFIX)
    try:
        if opened or not start:
            open_path.unlink(missing_ok=True)
            if path.name in writer.files:
                writer.files.remove(path.name)
            kept = "the file it had begun was removed"
        else:
            with open(open_path, "r+b") as out:
                out.truncate(start)
                out.flush()
                os.fsync(out.fileno())
            os.rename(open_path, path)
            kept = f"cut back to its last complete record ({start} bytes) and sealed"
        fsync_dir(writer.warc_dir)
    except OSError as cut:
        kept = f"left open ({cut.strerror}); the next crawl cuts it back"
    return DiskFull(
        f"disk full: cannot write {name} ({what}), {human_bytes(free)} free on {where}; the file was {kept}", exc.errno
    )


def advice(code: int | None, where: Path) -> str:
    """What to do before resuming, by the error's kind."""
    if code == errno.EFBIG:
        return "the file outgrew the file size limit (ulimit -f, or the filesystem's): lift it or lower warc_max_bytes"
    if code == errno.EDQUOT:
        return "make room within your disk quota"
    return f"make room on {where}"


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"


def mount_point(path: Path) -> Path:
    path = Path(path).resolve()
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path
