"""WARC 1.1 files, written and read through warcio: the archive of record.

Each record is its own gzip member and every exchange is flushed before it is used, so a killed crawl
loses nothing it fetched. A file begins with a warcinfo record that names the source and its settings,
so that `samizdat reindex` can rebuild everything from the WARC files alone.
"""

from __future__ import annotations

import io
import json
import logging
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

logger = logging.getLogger(__name__)

SOFTWARE = "samizdat 0.1 (warcio)"
# Hop-by-hop framing the HTTP client already undid; kept, it would make readers decode the payload twice.
_FRAMING_HEADERS = {"transfer-encoding"}


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

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass
class WarcLocation:
    warc_file: str
    offset: int
    digest: str
    date: str


@dataclass
class WarcEntry:
    """What `iter_entries` yields: a capture, or the info/metadata a file carries about its source."""

    type: str  # "response" | "warcinfo" | "metadata"
    offset: int
    capture: Capture | None = None
    info: dict[str, Any] = field(default_factory=dict)


class WarcWriter:
    """Writes request/response pairs to size-rotated files named `<prefix>-<timestamp>-<seq>.warc.gz`."""

    def __init__(self, warc_dir: Path, prefix: str, max_bytes: int, info: dict[str, Any] | None = None) -> None:
        self.warc_dir = Path(warc_dir)
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.info = info or {}
        self.stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        self.seq = 0
        self._fh: BinaryIO | None = None
        self._writer: WARCWriter | None = None
        self.path: Path | None = None
        self.files: list[str] = []

    def _open(self) -> WARCWriter:
        if self._writer is not None and self._fh is not None and self._fh.tell() < self.max_bytes:
            return self._writer
        self.close()
        self.warc_dir.mkdir(parents=True, exist_ok=True)
        while True:
            self.seq += 1
            self.path = self.warc_dir / f"{self.prefix}-{self.stamp}-{self.seq:05d}.warc.gz"
            if not self.path.exists():
                break
        self._fh = open(self.path, "xb")  # noqa: SIM115 -- held open across many records, closed in close()
        self._writer = WARCWriter(self._fh, gzip=True, warc_version="1.1")
        info = {"software": SOFTWARE, "format": "WARC File Format 1.1"}
        info.update({k: json.dumps(v) if not isinstance(v, str) else v for k, v in self.info.items()})
        self._writer.write_record(self._writer.create_warcinfo_record(self.path.name, info))
        self._fh.flush()
        self.files.append(self.path.name)
        return self._writer

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
    ) -> WarcLocation:
        """Archive one response with its request; returns where the response record starts."""
        writer = self._open()
        assert self._fh is not None and self.path is not None
        headers = [(k, v) for k, v in response_headers if k.lower() not in _FRAMING_HEADERS]
        http_headers = StatusAndHeaders(f"{status} {reason}".strip(), headers, protocol=protocol)
        extra = {"WARC-IP-Address": ip_address} if ip_address else {}
        response = writer.create_warc_record(
            url, "response", payload=io.BytesIO(body), http_headers=http_headers, warc_headers_dict=extra
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
            },
        )
        offset = self._fh.tell()
        writer.write_record(response)
        writer.write_record(request)
        self._fh.flush()
        return WarcLocation(
            warc_file=f"warc/{self.path.name}",
            offset=offset,
            digest=response.rec_headers.get_header("WARC-Payload-Digest") or "",
            date=response.rec_headers.get_header("WARC-Date"),
        )

    def write_metadata(self, url: str, data: dict[str, Any]) -> None:
        """A metadata record about the crawl (for example the site kind detected from the first page)."""
        writer = self._open()
        assert self._fh is not None
        payload = json.dumps(data, sort_keys=True).encode("utf-8")
        record = writer.create_warc_record(
            url, "metadata", payload=io.BytesIO(payload), warc_content_type="application/json"
        )
        writer.write_record(record)
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        self._fh = None
        self._writer = None


def copy_records(src: Path, offset: int, out: BinaryIO, count: int = 2) -> int:
    """Copy `count` consecutive records (a response and the request after it) byte for byte."""
    with open(src, "rb") as fh:
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
        out.write(fh.read(end - offset))
        return copied


def read_capture(datadir_root: Path, warc_file: str, offset: int) -> Capture:
    """The response record at (file, offset), as a Capture."""
    path = Path(datadir_root) / warc_file
    with open(path, "rb") as fh:
        fh.seek(offset)
        for record in ArchiveIterator(fh):
            if record.rec_type != "response":
                raise ValueError(f"{warc_file}@{offset} is a {record.rec_type} record, not a response")
            return _capture(record, warc_file, offset)
    raise ValueError(f"no record at {warc_file}@{offset}")


def iter_entries(path: Path, name: str, responses: bool = True) -> Iterator[WarcEntry]:
    """Every warcinfo, metadata and (unless `responses` is false) response record of one file. A truncated
    last record (a crawl killed mid-write) ends the file with a warning: what came before it is intact."""
    with open(path, "rb") as fh:
        iterator = ArchiveIterator(fh)
        try:
            for record in iterator:
                # Read the payload before asking for the offset: warcio learns the offset by
                # reading the record to its end, which would leave nothing to read.
                if record.rec_type == "response" and responses:
                    capture = _capture(record, name, 0)
                    capture.warc_offset = iterator.get_record_offset()
                    yield WarcEntry("response", capture.warc_offset, capture=capture)
                elif record.rec_type == "warcinfo":
                    info = _parse_warcinfo(record.content_stream().read())
                    yield WarcEntry("warcinfo", iterator.get_record_offset(), info=info)
                elif record.rec_type == "metadata":
                    try:
                        data = json.loads(record.content_stream().read())
                    except ValueError:
                        continue
                    if isinstance(data, dict):
                        yield WarcEntry("metadata", iterator.get_record_offset(), info=data)
        except (ArchiveLoadFailed, EOFError, zlib.error, OSError) as exc:
            logger.warning("%s: stopped at a damaged or truncated record: %s", name, exc)


def _capture(record: Any, warc_file: str, offset: int) -> Capture:
    http = record.http_headers
    status = int(http.get_statuscode() or 0) if http else 0
    try:
        payload = record.content_stream().read()
    except (zlib.error, OSError):  # a body that claims an encoding it does not have: keep the raw bytes
        payload = record.raw_stream.read()
    return Capture(
        url=record.rec_headers.get_header("WARC-Target-URI"),
        status=status,
        headers=list(http.headers) if http else [],
        payload=payload,
        fetched_at=record.rec_headers.get_header("WARC-Date"),
        warc_file=warc_file,
        warc_offset=offset,
        digest=record.rec_headers.get_header("WARC-Payload-Digest") or "",
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
