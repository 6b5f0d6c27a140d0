"""WARC 1.1 files, written and read through warcio: the archive of record.

Each record is its own gzip member and every exchange is flushed before it is used, so a killed crawl
loses nothing it fetched. A file begins with a warcinfo record that names the source and its settings,
so that `samizdat reindex` can rebuild everything from the WARC files alone.

A file says when it is finished: it is written as `NAME.warc.gz.open` and renamed to `NAME.warc.gz` once
complete (flushed, fsynced). Locations always name the final file and `resolve_warc_path` finds either,
so a location handed out while its file is open stays valid. A process killed mid-write leaves an `.open`
file that `seal_leftovers` cuts back to its last complete record and seals. Names follow the IIPC
recommendation, `{prefix}-{UTC timestamp, 17 digits}-{serial:05d}-{pid}~{hostname}.warc.gz`, so two
writers never collide.

A response whose payload is the same as an earlier capture's (`same_as`) is written as a `revisit`
record (identical-payload-digest profile): the HTTP status and headers, no payload. `read_capture` does
not follow a revisit to its original (that would mean reading the file from its start); the writer hands
the original's (file, offset) back in `WarcLocation.original` so callers can point at the original.

Payloads are kept as they came over the wire. Reading one back undoes its Content-Encoding chain in
bounded memory, exactly as the crawl did (archive/payload.py), within the limit the crawl recorded in the
file's warcinfo record (`samizdat-max-page-bytes`): what the crawl refused (a decompression bomb, a body that
is not the gzip it claims) is refused again, so crawl and reindex always agree.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import functools
import hashlib
import io
import json
import logging
import os
import re
import shutil
import socket
import traceback
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, TypeVar
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from samizdat.archive.durable import fsync_dir
from samizdat.archive.errors import SamizdatError
from samizdat.archive.payload import DEFAULT_MAX_PAYLOAD_BYTES, PayloadRefused, decode_payload, read_bounded
from samizdat.archive.requisites import RESOURCE_TYPE_HEADER

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

SOFTWARE = "samizdat 0.1 (warcio)"
OPEN_SUFFIX = ".open"  # a file still being written: `NAME.warc.gz.open`, sealed as `NAME.warc.gz`
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
# Hop-by-hop framing the HTTP client already undid; kept, it would make readers decode the payload twice.
_FRAMING_HEADERS = {"transfer-encoding"}
_NAME = re.compile(
    r"^(?P<prefix>.+)-(?P<stamp>\d{17}|\d{14})-(?P<serial>\d{5})(?:-(?P<pid>\d+)~(?P<host>[^~]+))?\.warc(?:\.gz)?$"
)
# What the record checks read or inflate at a time: memory stays bounded whatever a record's size.
_CHUNK_BYTES = 1 << 20
_MAX_HEADER_BYTES = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
# Where a file's warcinfo records the limit its crawl put on a payload (Scrapy's DOWNLOAD_MAXSIZE, our
# max_page_bytes): reading the file back applies the same one, so that crawl and reindex refuse the same
# responses. Files without it are read with the default.
MAX_PAYLOAD_KEY = "samizdat-max-page-bytes"
_MAX_INFO_BYTES = 1 << 22  # a warcinfo or metadata record larger than this is not one of ours
# A write that fails for want of room: no space, no quota left, or past the file size limit (RLIMIT_FSIZE,
# or the filesystem's own).
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class ArchiveFull(OSError, SamizdatError):
    """A WARC write failed for want of room (`errno` is ENOSPC, EDQUOT or EFBIG). The writer has already cut
    the file back to the end of its last complete record and sealed it (or removed a file the failed write
    had just begun), and refuses every later write without touching the disk. The message names the file,
    the free space and what became of the file; the fields let a caller say what to do."""

    def __init__(
        self,
        message: str,
        code: int | None,
        *,
        file: str | None = None,
        free_bytes: int = 0,
        mount: Path | None = None,
        kept_bytes: int | None = None,
        record_bytes: int | None = None,
    ) -> None:
        super().__init__(message)
        self.errno = code
        self.file = file  # "warc/NAME", or None when no file could be begun
        self.free_bytes = free_bytes
        self.mount = mount  # the mount point of the WARC directory: where room must be made
        self.kept_bytes = kept_bytes  # the size the file was cut back to; None when it went or was left open
        self.record_bytes = record_bytes  # the payload that did not fit, when the failed write was a response

    def __str__(self) -> str:
        return str(self.args[0])

    def again(self) -> ArchiveFull:
        """The same refusal, raised afresh for a later write."""
        return ArchiveFull(
            str(self),
            self.errno,
            file=self.file,
            free_bytes=self.free_bytes,
            mount=self.mount,
            kept_bytes=self.kept_bytes,
            record_bytes=self.record_bytes,
        )


@dataclass
class Capture:
    """One archived response, as extraction sees it: the payload is already content-decoded."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    payload: bytes
    fetched_at: str  # the record's WARC-Date, ISO 8601 UTC
    warc_file: str = ""
    warc_offset: int = 0
    digest: str = ""
    # A page's requisite (stylesheet, image, font, ...) carries its kind, from the record's
    # WARC-Resource-Type header: what reads pages (extraction, the store, the index) leaves it alone.
    resource_type: str = ""

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass
class WarcLocation:
    """Where `write_exchange` put a response (or revisit) record. `warc_file` is the final name, relative
    to the data directory, also while the file is still `.open`."""

    warc_file: str
    offset: int
    digest: str
    date: str
    revisit: bool = False
    original: tuple[str, int] | None = None  # for a revisit: the original response's (warc_file, offset)
    record_id: str = ""  # the response (or revisit) record's WARC-Record-ID: what a conversion record refers to

    def payload_location(self) -> WarcLocation:
        """Where this capture's payload can be read (`read_capture`): the record itself, or for a revisit its
        original; the date stays this capture's."""
        if self.original is None:
            return self
        return WarcLocation(self.original[0], self.original[1], self.digest, self.date)


@dataclass(frozen=True)
class Original:
    """An earlier full capture of a URL (a response record with its payload): what a revisit record refers
    to, and whose validators a recrawl sends in a conditional request."""

    url: str
    date: str  # the original record's WARC-Date
    digest: str  # its WARC-Payload-Digest, as `payload_digest` gives it
    warc_file: str
    offset: int
    etag: str | None = None  # its response's ETag and Last-Modified headers
    last_modified: str | None = None

    @classmethod
    def of(cls, capture: Capture) -> Original:
        return cls(
            capture.url,
            capture.fetched_at,
            capture.digest,
            capture.warc_file,
            capture.warc_offset,
            capture.header("ETag"),
            capture.header("Last-Modified"),
        )


@dataclass
class WarcEntry:
    """What `iter_entries` yields: a capture, a revisit, or the info/metadata a file carries about its source."""

    type: str  # "response" | "revisit" | "rendered" (a page as a browser rendered it) | "warcinfo" | "metadata"
    offset: int
    capture: Capture | None = None
    info: dict[str, Any] = field(default_factory=dict)


def payload_digest(body: bytes) -> str:
    """The WARC-Payload-Digest warcio writes for this payload: "sha1:" and the base32 SHA-1."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def warc_name(prefix: str, when: datetime, serial: int, pid: int, hostname: str) -> str:
    """`{prefix}-{YYYYmmddHHMMSSfff}-{serial:05d}-{pid}~{hostname}.warc.gz` (IIPC's recommended name)."""
    when = when.astimezone(UTC)
    stamp = when.strftime("%Y%m%d%H%M%S") + f"{when.microsecond // 1000:03d}"
    return f"{prefix}-{stamp}-{serial:05d}-{pid}~{hostname}.warc.gz"


def warc_sort_key(name: str) -> tuple[str, int, str]:
    """Oldest first: by the timestamp and serial in the name (older 14-digit stamps included), then by name;
    a name in neither pattern sorts first, by name."""
    match = _NAME.match(name)
    if match is None:
        return ("", 0, name)
    return (match["stamp"].ljust(17, "0"), int(match["serial"]), name)


def _hostname() -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "localhost"


class WarcWriter:
    """Writes request/response pairs to size-rotated files, each `NAME.warc.gz.open` until sealed."""

    def __init__(self, warc_dir: Path, prefix: str, max_bytes: int, info: dict[str, Any] | None = None) -> None:
        self.warc_dir = Path(warc_dir)
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.info = info or {}
        self.serial = -1
        self.hostname = _hostname()
        self._fh: BinaryIO | None = None
        self._writer: WARCWriter | None = None
        self.path: Path | None = None  # the final path of the file being written
        self.files: list[str] = []  # final names of every file this writer started, in order
        self.full: ArchiveFull | None = None  # once a write failed for want of room: every later one is refused

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _open(self) -> WARCWriter:
        if self._writer is not None:
            return self._writer
        self.warc_dir.mkdir(parents=True, exist_ok=True)
        while True:
            self.serial += 1
            path = self.warc_dir / warc_name(self.prefix, datetime.now(UTC), self.serial, os.getpid(), self.hostname)
            if path.exists():
                continue
            try:
                # held open across many records, sealed in _seal()
                fh = open(_open_path(path), "xb")  # noqa: SIM115
            except FileExistsError:
                continue
            break
        self.path, self._fh = path, fh
        self._writer = WARCWriter(fh, gzip=True, warc_version="1.1")
        info = {"software": SOFTWARE, "format": "WARC File Format 1.1"}
        info.update({k: json.dumps(v) if not isinstance(v, str) else v for k, v in self.info.items()})
        self._writer.write_record(self._writer.create_warcinfo_record(path.name, info))
        fh.flush()
        self.files.append(path.name)
        return self._writer

    def _written(self) -> None:
        """After each exchange or metadata record: flushed for readers, sealed once past max_bytes."""
        assert self._fh is not None
        self._fh.flush()
        if self._fh.tell() >= self.max_bytes:
            self._seal()

    def _seal(self) -> None:
        if self._fh is None or self.path is None:
            return
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._fh, self._writer = None, None
        os.rename(_open_path(self.path), self.path)
        fsync_dir(self.warc_dir)
        _sealed(self.warc_dir)

    def write_exchange(
        self,
        url: str,
        method: str,
        request_headers: list[tuple[str, str]],
        status: int,
        reason: str,
        response_headers: list[tuple[str, str]],
        body: bytes,
        protocol: str = "HTTP/1.1",
        ip_address: str | None = None,
        same_as: Original | None = None,
        resource_type: str | None = None,
    ) -> WarcLocation:
        """Archive one response with its request; returns where the response record starts. With `same_as`
        and the same payload digest, a revisit record takes the response's place (no payload). A page's
        requisite carries its kind in `resource_type`, written as `WARC-Resource-Type` on both records, so
        that nothing reads it as a page. Raises ArchiveFull when the disk has no room for it (see
        `_room_checked`)."""
        return self._room_checked(
            lambda: self._write_exchange(
                url,
                method,
                request_headers,
                status,
                reason,
                response_headers,
                body,
                protocol,
                ip_address,
                same_as,
                resource_type,
            ),
            len(body),
        )

    def _write_exchange(
        self,
        url: str,
        method: str,
        request_headers: list[tuple[str, str]],
        status: int,
        reason: str,
        response_headers: list[tuple[str, str]],
        body: bytes,
        protocol: str,
        ip_address: str | None,
        same_as: Original | None,
        resource_type: str | None = None,
    ) -> WarcLocation:
        writer = self._open()
        assert self._fh is not None and self.path is not None
        headers = [(k, v) for k, v in response_headers if k.lower() not in _FRAMING_HEADERS]
        http_headers = StatusAndHeaders(f"{status} {reason}".strip(), headers, protocol=protocol)
        digest = payload_digest(body)
        extra = {"WARC-IP-Address": ip_address} if ip_address else {}
        kind = {RESOURCE_TYPE_HEADER: resource_type} if resource_type else {}
        extra.update(kind)
        revisit = same_as is not None and same_as.digest == digest
        if same_as is not None and revisit:
            response = writer.create_revisit_record(
                url, digest, same_as.url, same_as.date, http_headers=http_headers, warc_headers_dict=extra
            )
        else:
            response = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                # Given, so that warcio does not copy a large payload to a temporary file to measure it (on a
                # full disk that copy failed too, and its closing printed a traceback of its own).
                length=len(body),
                http_headers=http_headers,
                warc_headers_dict={**extra, "WARC-Payload-Digest": digest},  # computed once, not again by warcio
            )
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        req_headers = [("Host", parts.netloc), *[(k, v) for k, v in request_headers if k.lower() != "host"]]
        request = writer.create_warc_record(
            url,
            "request",
            payload=io.BytesIO(b""),
            http_headers=StatusAndHeaders(f"{method} {target} {protocol}", req_headers, is_http_request=True),
            warc_headers_dict={
                "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
                "WARC-Date": response.rec_headers.get_header("WARC-Date"),
                **kind,
            },
        )
        offset = self._fh.tell()
        location = WarcLocation(
            warc_file=f"warc/{self.path.name}",
            offset=offset,
            digest=digest,
            date=response.rec_headers.get_header("WARC-Date"),
            revisit=revisit,
            original=(same_as.warc_file, same_as.offset) if same_as is not None and revisit else None,
            record_id=response.rec_headers.get_header("WARC-Record-ID") or "",
        )
        writer.write_record(response)
        writer.write_record(request)
        self._written()
        return location

    def write_rendered(self, document: WarcLocation, url: str, html: bytes, content_type: str) -> WarcLocation:
        """The page as a browser rendered it (capture = "browser"): a `conversion` record of `url` that refers
        to the document's response (or revisit) record, never a response (the server did not send it).
        `samizdat reindex` reads it in the document's place (`rendered_capture`). Raises ArchiveFull when
        the disk has no room for it."""
        return self._room_checked(lambda: self._write_rendered(document, url, html, content_type), len(html))

    def _write_rendered(self, document: WarcLocation, url: str, html: bytes, content_type: str) -> WarcLocation:
        writer = self._open()
        assert self._fh is not None and self.path is not None
        digest = payload_digest(html)
        headers = {
            "WARC-Payload-Digest": digest,
            "WARC-Refers-To-Target-URI": url,
            "WARC-Refers-To-Date": document.date,
        }
        if document.record_id:
            headers["WARC-Refers-To"] = document.record_id
        record = writer.create_warc_record(
            url,
            "conversion",
            payload=io.BytesIO(html),
            length=len(html),
            warc_content_type=content_type,
            warc_headers_dict=headers,
        )
        offset = self._fh.tell()
        writer.write_record(record)
        self._written()
        return WarcLocation(
            f"warc/{self.path.name}",
            offset,
            digest,
            record.rec_headers.get_header("WARC-Date"),
            record_id=record.rec_headers.get_header("WARC-Record-ID") or "",
        )

    def write_metadata(self, url: str, data: dict[str, Any]) -> None:
        """A metadata record about the crawl (for example the site kind detected from the first page). Raises
        ArchiveFull when the disk has no room for it."""
        self._room_checked(lambda: self._write_metadata(url, data), None)

    def _write_metadata(self, url: str, data: dict[str, Any]) -> None:
        writer = self._open()
        payload = json.dumps(data, sort_keys=True).encode("utf-8")
        record = writer.create_warc_record(
            url, "metadata", payload=io.BytesIO(payload), warc_content_type="application/json"
        )
        writer.write_record(record)
        self._written()

    # -- a full disk -------------------------------------------------------------------------------------

    def _room_checked(self, write: Callable[[], _T], record_bytes: int | None) -> _T:
        """Run one write (an exchange or a metadata record). Each write begins after the previous one was
        flushed, so when it fails for want of room the file is whole up to where it began: the file is cut
        back to there and sealed (a file this very write had begun goes), and ArchiveFull is raised, now and
        for every later write, without touching the disk again: no file is ever left with half a record, and
        no new file is begun on a full disk."""
        if self.full is not None:
            raise self.full.again()
        path = self.path
        start = self._fh.tell() if self._fh is not None else None  # everything before it was flushed
        try:
            return write()
        except OSError as exc:
            if exc.errno not in FULL_ERRNOS:
                raise
            opened = self.path != path  # the failed write rotated to a new file, or began the first one
            self.full = self._cut_back(exc, None if opened else start, opened, record_bytes)
            # What the failed write held (warcio's spooled payloads) goes with its frames, not later.
            traceback.clear_frames(exc.__traceback__)
            exc.__traceback__ = None
        raise self.full.again()

    def _cut_back(self, exc: OSError, start: int | None, opened: bool, record_bytes: int | None) -> ArchiveFull:
        """Close the file being written without flushing what is buffered (it could never be flushed), cut
        it back to `start`, the end of its last complete record, fsync and seal it; remove it if the failed
        write had `opened` it. Returns the error that says so."""
        path, fh = self.path, self._fh
        self._fh, self._writer = None, None
        if fh is not None:
            with contextlib.suppress(OSError):
                fh.raw.close()  # type: ignore[attr-defined]  # the buffer is dropped with it
        free = shutil.disk_usage(self.warc_dir).free
        where = mount_point(self.warc_dir)
        what = (exc.strerror or str(exc)).lower()
        details: dict[str, Any] = {"free_bytes": free, "mount": where, "record_bytes": record_bytes}
        if path is None or (fh is None and not opened):  # creating the file failed: nothing was written
            return ArchiveFull(
                f"disk full: cannot begin a WARC file in {self.warc_dir} ({what}), {human_bytes(free)} free on {where}",
                exc.errno,
                **details,
            )
        open_path = _open_path(path)
        kept_bytes: int | None = None
        try:
            if opened or not start:
                open_path.unlink(missing_ok=True)
                if path.name in self.files:
                    self.files.remove(path.name)
                kept = "the file it had begun was removed"
            else:
                with open(open_path, "r+b") as out:
                    out.truncate(start)
                    out.flush()
                    os.fsync(out.fileno())
                os.rename(open_path, path)
                kept_bytes = start
                kept = f"cut back to its last complete record ({start} bytes) and sealed"
            fsync_dir(self.warc_dir)
        except OSError as cut:
            kept = f"left open ({cut.strerror}); the next crawl cuts it back"
        self.path = None
        return ArchiveFull(
            f"disk full: cannot write warc/{path.name} ({what}), {human_bytes(free)} free on {where}; "
            f"the file was {kept}",
            exc.errno,
            file=f"warc/{path.name}",
            kept_bytes=kept_bytes,
            **details,
        )

    def close(self) -> None:
        """Seal the file being written: flushed, fsynced, renamed to its final name."""
        self._seal()


def _open_path(final: Path) -> Path:
    return final.with_name(final.name + OPEN_SUFFIX)


def human_bytes(size: int) -> str:
    """1234567 -> "1.2 MB" (decimal units, as disk sizes are sold and `df -H` shows them)."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"


def mount_point(path: Path) -> Path:
    """The mount point of the filesystem holding `path`: where room must be made."""
    path = Path(path).resolve()
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def resolve_warc_path(root: Path, warc_file: str) -> Path:
    """The file a location names, `root / warc_file`: sealed, or with `.open` while it is still being written.
    Raises ValueError for a name that leads outside `root`, FileNotFoundError when neither file exists."""
    base = Path(root).resolve()
    path = base / warc_file
    if not warc_file or not path.resolve().is_relative_to(base):
        raise ValueError(f"WARC file {warc_file!r} is outside the data directory {base}")
    # sealed, still open, or sealed between the first two looks
    for candidate in (path, _open_path(path), path):
        if candidate.is_file():
            resolved = candidate.resolve()
            if not resolved.is_relative_to(base):
                raise ValueError(f"WARC file {warc_file!r} leads outside the data directory {base}")
            return resolved
    raise FileNotFoundError(errno.ENOENT, "no such WARC file, sealed or open", str(path))


def _open_warc(path: Path) -> BinaryIO:
    """Open a WARC file by either of its names: sealed `NAME` or `NAME.open`. The file may be sealed (renamed)
    between finding it and opening it; once open, the rename does not matter."""
    path = Path(path)
    if path.name.endswith(OPEN_SUFFIX):
        candidates = [path, path.with_name(path.name[: -len(OPEN_SUFFIX)])]
    else:
        candidates = [path, _open_path(path), path]
    for candidate in candidates:
        try:
            return open(candidate, "rb")  # returned to the caller, who closes it
        except FileNotFoundError:
            continue
    raise FileNotFoundError(errno.ENOENT, "no such WARC file, sealed or open", str(path))


def copy_records(src: Path, offset: int, out: BinaryIO, count: int = 2) -> int:
    """Copy `count` consecutive records (a response and the request after it) byte for byte."""
    with _open_warc(src) as fh:
        fh.seek(offset)
        iterator = ArchiveIterator(fh)
        end = offset
        copied = 0
        for _record in iterator:
            iterator.read_to_end()
            end = iterator.get_record_offset() + iterator.get_record_length()
            copied += 1
            if copied == count:
                break
        fh.seek(offset)
        left = end - offset
        while left > 0:  # a chunk at a time: a record may be as large as the crawl's limit
            chunk = fh.read(min(left, _CHUNK_BYTES))
            if not chunk:
                break
            out.write(chunk)
            left -= len(chunk)
        return copied


def read_capture(datadir_root: Path, warc_file: str, offset: int, max_bytes: int | None = None) -> Capture:
    """The response record at (file, offset), as a Capture; the file may still be open. A revisit record
    raises ValueError naming its original: point at the original's location instead
    (`WarcLocation.original`). The payload is decoded in bounded memory (archive/payload.py): `max_bytes`,
    by default the limit the file's crawl recorded; a payload the crawl refused (too large once decoded,
    or not decodable) raises PayloadRefused, a ValueError."""
    path = resolve_warc_path(datadir_root, warc_file)
    limit = recorded_limit(path) if max_bytes is None else max_bytes
    with _open_warc(path) as fh:
        fh.seek(offset)
        for record in ArchiveIterator(fh):
            if record.rec_type == "revisit":
                info = _revisit_info(record)
                raise ValueError(
                    f"{warc_file}@{offset} is a revisit record: its payload is the one captured from "
                    f"{info['refers_to_uri']} at {info['refers_to_date']}; read that original response record instead"
                )
            if record.rec_type != "response":
                raise ValueError(f"{warc_file}@{offset} is a {record.rec_type} record, not a response")
            try:
                return _capture(record, warc_file, offset, limit)
            except PayloadRefused as exc:
                raise PayloadRefused(exc.reason, f"{warc_file}@{offset}: {exc}") from None
    raise ValueError(f"no record at {warc_file}@{offset}")


def read_rendered(datadir_root: Path, warc_file: str, offset: int) -> Capture:
    """The conversion record at (file, offset): a page as the browser rendered it (see `rendered_capture`),
    read within the limit the file's crawl recorded."""
    path = resolve_warc_path(datadir_root, warc_file)
    with _open_warc(path) as fh:
        fh.seek(offset)
        for record in ArchiveIterator(fh):
            if record.rec_type != "conversion":
                raise ValueError(f"{warc_file}@{offset} is a {record.rec_type} record, not a rendered page")
            capture = _rendered(record, warc_file, recorded_limit(path))
            capture.warc_offset = offset
            return capture
    raise ValueError(f"no record at {warc_file}@{offset}")


# How many records after a page's response the crawl may have written its rendered page (its request record,
# and a requisite or two written while the browser settled).
RENDERED_LOOKAHEAD = 6


def read_as_seen(datadir_root: Path, warc_file: str, offset: int) -> Capture:
    """The response record at (file, offset), as `read_capture` reads it, but as a reader of the live page saw
    it: for a page captured in a browser, its rendered page (the conversion record the crawl wrote just after
    the response, referring to it; `rendered_capture`), since replay runs no script that could build it."""
    document = read_capture(datadir_root, warc_file, offset)
    path = resolve_warc_path(datadir_root, warc_file)
    try:
        with _open_warc(path) as fh:
            fh.seek(offset)
            records = iter(ArchiveIterator(fh))
            record_id = next(records).rec_headers.get_header("WARC-Record-ID")
            for _, record in zip(range(RENDERED_LOOKAHEAD), records, strict=False):
                if record.rec_type == "conversion" and record.rec_headers.get_header("WARC-Refers-To") == record_id:
                    return rendered_capture(document, _rendered(record, warc_file, recorded_limit(path)))
    except (OSError, ValueError, EOFError, ArchiveLoadFailed):  # PayloadRefused too: the page as served, then
        pass
    return document


def recorded_limit(path: Path) -> int:
    """The payload limit the crawl that wrote this WARC file used (its warcinfo record says), else the
    default of `max_page_bytes`."""
    try:
        stat = os.stat(path)
    except OSError:
        return DEFAULT_MAX_PAYLOAD_BYTES
    return _recorded_limit(str(path), stat.st_dev, stat.st_ino)


@functools.lru_cache(maxsize=256)
def _recorded_limit(path: str, _dev: int, _ino: int) -> int:
    # Keyed by inode too: a file rewritten in place of another (a purge) is read afresh.
    try:
        with _open_warc(Path(path)) as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "warcinfo":
                    return _limit_of(_parse_warcinfo(record.content_stream().read(_MAX_INFO_BYTES)))
                break
    except (ArchiveLoadFailed, EOFError, zlib.error, OSError):
        pass
    return DEFAULT_MAX_PAYLOAD_BYTES


def _limit_of(info: dict[str, Any]) -> int:
    try:
        return max(0, int(info.get(MAX_PAYLOAD_KEY, DEFAULT_MAX_PAYLOAD_BYTES)))
    except (TypeError, ValueError):
        return DEFAULT_MAX_PAYLOAD_BYTES


def iter_entries(path: Path, name: str, responses: bool = True, max_bytes: int | None = None) -> Iterator[WarcEntry]:
    """Every warcinfo, metadata and (unless `responses` is false) response and revisit record of one file.
    A truncated last record (a crawl killed mid-write) ends the file with a warning: what came before it
    is intact.

    Payloads are decoded in bounded memory, within `max_bytes` (by default the limit the file's warcinfo
    records, as `read_capture`). A response the crawl refused (too large once decoded, not decodable) comes
    with no capture: its `info` holds url, date, status, digest, etag, last_modified, `refused` (the
    reason, "too_large" or "undecodable") and `message`."""
    limit = DEFAULT_MAX_PAYLOAD_BYTES if max_bytes is None else max_bytes
    with _open_warc(path) as fh:
        iterator = ArchiveIterator(fh)
        try:
            for record in iterator:
                # Read the payload before asking for the offset: warcio learns the offset by
                # reading the record to its end, which would leave nothing to read.
                if record.rec_type == "response" and responses:
                    try:
                        capture = _capture(record, name, 0, limit)
                    except PayloadRefused as exc:
                        info = _revisit_info(record)
                        http = record.http_headers
                        info.update(
                            refused=exc.reason,
                            message=str(exc),
                            etag=http.get_header("ETag") if http else None,
                            last_modified=http.get_header("Last-Modified") if http else None,
                        )
                        iterator.read_to_end()
                        offset = iterator.get_record_offset()
                        logger.warning("%s@%d (%s): refused, as by the crawl: %s", name, offset, info["url"], exc)
                        yield WarcEntry("response", offset, info=info)
                        continue
                    capture.warc_offset = iterator.get_record_offset()
                    yield WarcEntry("response", capture.warc_offset, capture=capture)
                elif record.rec_type == "revisit" and responses:
                    info = _revisit_info(record)
                    iterator.read_to_end()
                    yield WarcEntry("revisit", iterator.get_record_offset(), info=info)
                elif record.rec_type == "conversion" and responses:
                    try:
                        rendered = _rendered(record, name, limit)
                    except PayloadRefused as exc:
                        iterator.read_to_end()
                        logger.warning("%s@%d: rendered page refused: %s", name, iterator.get_record_offset(), exc)
                        continue
                    rendered.warc_offset = iterator.get_record_offset()
                    yield WarcEntry("rendered", rendered.warc_offset, capture=rendered)
                elif record.rec_type == "warcinfo":
                    info = _parse_warcinfo(record.content_stream().read(_MAX_INFO_BYTES))
                    if max_bytes is None:
                        limit = _limit_of(info)
                    yield WarcEntry("warcinfo", iterator.get_record_offset(), info=info)
                elif record.rec_type == "metadata":
                    try:
                        data = json.loads(record.content_stream().read(_MAX_INFO_BYTES))
                    except ValueError:
                        continue
                    if isinstance(data, dict):
                        yield WarcEntry("metadata", iterator.get_record_offset(), info=data)
        except (ArchiveLoadFailed, EOFError, zlib.error, OSError) as exc:
            logger.warning("%s: stopped at a damaged or truncated record: %s", name, exc)


def _rendered(record: Any, warc_file: str, max_bytes: int) -> Capture:
    """A conversion record (a page as the browser rendered it) as a capture: status 200, its Content-Type."""
    headers = record.rec_headers
    return Capture(
        url=headers.get_header("WARC-Target-URI"),
        status=200,
        headers=[("Content-Type", headers.get_header("Content-Type") or "text/html")],
        payload=read_bounded(record.raw_stream, max_bytes),
        fetched_at=headers.get_header("WARC-Date"),
        warc_file=warc_file,
        digest=headers.get_header("WARC-Payload-Digest") or "",
    )


# Headers of the server's answer that describe its bytes, not the rendered page's.
_RENDERED_DROPS = {"content-type", "content-encoding", "content-length", "transfer-encoding"}


def rendered_capture(document: Capture, rendered: Capture) -> Capture:
    """What extraction reads for a page captured in a browser: the rendered HTML, with the server's status and
    headers (those about the bytes replaced by the rendered page's Content-Type), and the document's place in
    the archive, date and digest, so that the crawl and `samizdat reindex` give the same document."""
    headers = [(k, v) for k, v in document.headers if k.lower() not in _RENDERED_DROPS]
    return Capture(
        url=document.url,
        status=document.status,
        headers=[*headers, *[(k, v) for k, v in rendered.headers if k.lower() == "content-type"]],
        payload=rendered.payload,
        fetched_at=document.fetched_at,
        warc_file=document.warc_file,
        warc_offset=document.warc_offset,
        digest=document.digest,
    )


def _revisit_info(record: Any) -> dict[str, Any]:
    headers = record.rec_headers
    http = record.http_headers
    return {
        "url": headers.get_header("WARC-Target-URI"),
        "date": headers.get_header("WARC-Date"),
        "refers_to_uri": headers.get_header("WARC-Refers-To-Target-URI"),
        "refers_to_date": headers.get_header("WARC-Refers-To-Date"),
        "digest": headers.get_header("WARC-Payload-Digest") or "",
        "status": int(http.get_statuscode() or 0) if http else 0,
        # only on a requisite's records (see Capture.resource_type)
        **({"resource_type": kind} if (kind := headers.get_header(RESOURCE_TYPE_HEADER)) else {}),
    }


def _capture(record: Any, warc_file: str, offset: int, max_bytes: int) -> Capture:
    """The response record as extraction sees it: its payload read and decoded as the crawl did, never
    holding more than `max_bytes` (and a chunk) per step; PayloadRefused for one the crawl refused."""
    http = record.http_headers
    status = int(http.get_statuscode() or 0) if http else 0
    headers = list(http.headers) if http else []
    stream = record.raw_stream
    # Our writer drops Transfer-Encoding (the HTTP client undid it); a file from elsewhere may keep it.
    if any(k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in headers):
        stream = ChunkedDataReader(stream)
    body = read_bounded(stream, max_bytes)
    encodings = [v for k, v in headers if k.lower() == "content-encoding"]
    payload, _kept = decode_payload(body, encodings, max_bytes) if encodings else (body, [])
    return Capture(
        url=record.rec_headers.get_header("WARC-Target-URI"),
        status=status,
        headers=headers,
        payload=payload,
        fetched_at=record.rec_headers.get_header("WARC-Date"),
        warc_file=warc_file,
        warc_offset=offset,
        digest=record.rec_headers.get_header("WARC-Payload-Digest") or "",
        resource_type=record.rec_headers.get_header(RESOURCE_TYPE_HEADER) or "",
    )


def _parse_warcinfo(payload: bytes) -> dict[str, Any]:
    info: dict[str, Any] = {}
    for line in payload.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        value = value.strip()
        try:
            info[key.strip()] = json.loads(value) if value[:1] in "{[" else value
        except ValueError:
            info[key.strip()] = value
    return info


# Checking records to their end. warcio's iterator does not notice a last record cut short (warcio issue
# 138), so each record is checked here: its gzip member inflates to its end, and the inflated record holds
# its WARC header, exactly Content-Length bytes of block, then CRLF CRLF. Chunk by chunk, in bounded memory.


class _Damaged(Exception):
    """The record at an offset is incomplete or damaged (the message says how)."""


class _RecordCheck:
    """Fed a record's bytes in order; `finish()` says whether they were exactly one complete WARC record."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.block_start: int | None = None
        self.length = 0
        self.total = 0
        self.tail = b""

    def feed(self, data: bytes) -> None:
        if not data:
            return
        self.total += len(data)
        self.tail = data[-4:] if len(data) >= 4 else (self.tail + data)[-4:]
        if self.block_start is not None:
            return
        self.head += data
        end = self.head.find(b"\r\n\r\n")
        if end < 0:
            if len(self.head) > _MAX_HEADER_BYTES:
                raise _Damaged(f"no end to the WARC header in its first {_MAX_HEADER_BYTES} bytes")
            return
        self.length = _content_length(bytes(self.head[:end]))
        self.block_start = end + 4
        self.head = bytearray()

    def finish(self) -> None:
        if self.block_start is None:
            raise _Damaged(f"the WARC header is cut short after {self.total} bytes")
        expected = self.block_start + self.length + 4
        if self.total < expected:
            held = max(0, self.total - self.block_start)
            raise _Damaged(f"the record holds {held} of the {self.length} bytes its Content-Length announces")
        if self.total > expected or self.tail != b"\r\n\r\n":
            raise _Damaged("the record does not end where its Content-Length says")


def _content_length(head: bytes) -> int:
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"WARC/"):
        raise _Damaged(f"not a WARC record (it starts {lines[0][:20]!r})")
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                break
            if length >= 0:
                return length
            break
    raise _Damaged("the WARC header has no valid Content-Length")


def _scan_gzip(fh: BinaryIO, size: int) -> tuple[int, int, str | None]:
    """`_scan` for a file of gzip members, read once from start to end: each member must hold one complete
    record."""
    records, start = 0, 0
    pending = b""  # read from the file, not yet given to an inflater: the start of the next member
    position = 0  # the file offset just past what has been read
    fh.seek(0)
    while start < size:
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        check = _RecordCheck()
        data, file_ended = pending, False
        try:
            while not inflater.eof:
                if not data and not file_ended:
                    data = fh.read(_CHUNK_BYTES)
                    position += len(data)
                    file_ended = not data
                try:
                    out = inflater.decompress(data, _CHUNK_BYTES)
                except zlib.error as exc:
                    raise _Damaged(f"damaged gzip data ({exc})") from None
                data = inflater.unconsumed_tail
                check.feed(out)
                if file_ended and not out and not inflater.eof:
                    check.finish()  # says what part of the record is missing
                    raise _Damaged("the gzip member is cut short")
            check.finish()
        except _Damaged as exc:
            return records, start, f"record at offset {start}: {exc}"
        # unused_data is what followed the member in the last input, which ran to `position`
        pending = inflater.unused_data
        records, start = records + 1, position - len(pending)
    return records, start, None


def _plain_record_end(fh: BinaryIO, start: int) -> int:
    """The end of the complete record at `start` of an uncompressed WARC file."""
    fh.seek(start)
    head = bytearray()
    while not head.endswith(b"\r\n\r\n"):
        line = fh.readline(_MAX_HEADER_BYTES)
        if not line:
            raise _Damaged(f"the WARC header is cut short after {len(head)} bytes")
        head += line
        if len(head) > _MAX_HEADER_BYTES:
            raise _Damaged(f"no end to the WARC header in its first {_MAX_HEADER_BYTES} bytes")
    length = _content_length(bytes(head[:-4]))
    end = start + len(head) + length + 4
    fh.seek(end - 4)
    if fh.read(4) != b"\r\n\r\n":
        raise _Damaged(f"the record is cut short or does not end where its Content-Length ({length}) says")
    return end


def _scan(path: Path) -> tuple[int, int, str | None]:
    """(complete records at the start of the file, the offset where they end, what is wrong after them)."""
    with _open_warc(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if fh.read(2) == _GZIP_MAGIC:
            return _scan_gzip(fh, size)
        records, end = 0, 0
        while end < size:
            try:
                next_end = _plain_record_end(fh, end)
            except _Damaged as exc:
                return records, end, f"record at offset {end}: {exc}"
            records, end = records + 1, next_end
        return records, end, None


def verify_warc(path: Path) -> int:
    """The number of records in a WARC file, each checked to its end; ValueError names the offset of the
    first incomplete or damaged record."""
    records, _end, damage = _scan(Path(path))
    if damage is not None:
        raise ValueError(f"{path}: {damage} ({records} complete records before it)")
    return records


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (ours, or one we may not signal)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def written_by_live_process(name: str) -> bool:
    """Whether the WARC file `name` (`.open` or not) is being written by a live process on this machine, as
    its IIPC name says (`...-{pid}~{host}.warc.gz`). A crawl that runs beside others must not seal their files."""
    match = _NAME.match(name.removesuffix(OPEN_SUFFIX))
    if match is None or not match["pid"]:
        return False
    pid = int(match["pid"])
    return match["host"] == _hostname() and pid != os.getpid() and process_alive(pid)


def seal_leftovers(warc_dir: Path) -> list[dict[str, Any]]:
    """Seal the `.open` files a killed process left: each is cut back to the end of its last complete
    record and renamed to its final name; one with no complete record (not even its warcinfo) is removed.
    Files whose writer still runs (another crawl in the same data directory) are left alone. Returns one
    report per file: {"file": final name, "action": "sealed" | "removed" | "left open", "records":
    complete records kept, "kept_bytes", "cut_bytes", "damage": what was wrong after the kept records, or
    None}."""
    warc_dir = Path(warc_dir)
    if not warc_dir.is_dir():
        return []
    reports: list[dict[str, Any]] = []
    leftovers = [
        p
        for p in warc_dir.iterdir()
        if p.name.endswith((".warc.gz" + OPEN_SUFFIX, ".warc" + OPEN_SUFFIX)) and not written_by_live_process(p.name)
    ]
    for path in sorted(leftovers, key=lambda p: warc_sort_key(p.name[: -len(OPEN_SUFFIX)])):
        final = path.with_name(path.name[: -len(OPEN_SUFFIX)])
        size = path.stat().st_size
        records, end, damage = _scan(path)
        report: dict[str, Any] = {
            "file": final.name,
            "records": records,
            "kept_bytes": end if records else 0,
            "cut_bytes": size - end if records else size,
            "damage": damage,
        }
        if records == 0:
            path.unlink()
            report["action"] = "removed"
        elif final.exists():  # never overwrite a sealed file; leave this one for a person to look at
            report["action"] = "left open"
        else:
            with open(path, "r+b") as fh:
                if end < size:
                    fh.truncate(end)
                fh.flush()
                os.fsync(fh.fileno())
            os.rename(path, final)
            report["action"] = "sealed"
        logger.warning(
            "%s: %s a file left open by a killed process: %d records kept, %d bytes cut%s",
            final.name,
            report["action"],
            records,
            report["cut_bytes"],
            f" ({damage})" if damage else "",
        )
        reports.append(report)
    if reports:
        fsync_dir(warc_dir)
    if any(report["action"] == "sealed" for report in reports):
        _sealed(warc_dir)
    return reports


def _sealed(warc_dir: Path) -> None:
    """A file of `warc_dir` was sealed: in a data directory, its captures go into the CDXJ index now, so that
    they can be looked up while the crawl goes on (archive/cdxj.py; never raises)."""
    from samizdat.archive.cdxj import index_sealed  # it reads WARC files through this module

    index_sealed(warc_dir)
