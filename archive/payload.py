"""A response's payload read back from the archive as the crawl read it, in bounded memory.

The WARC files keep each payload as it came over the wire, compressed if the server compressed it. While
crawling, Scrapy's HttpCompressionMiddleware undoes the `Content-Encoding` chain and refuses a response
whose body grows past `DOWNLOAD_MAXSIZE` (samizdat's `max_page_bytes`) while it is being decoded; its
download handler has already refused a body that arrived larger than that. Reading the record back
(`samizdat reindex`, the captured view, a resumed crawl) must give the same bytes, or refuse the same
records, or crawl and reindex disagree; and it must never hold a decompression bomb in memory.

So this module does what Scrapy 2.19 does, step for step, without importing Scrapy (extraction and reindex
do not need it): the encodings of every `Content-Encoding` header, split on commas, are undone from the
last applied to the first, stopping at the first one not supported (`identity` included); gzip is read by
`gzip.GzipFile` keeping what came before a damaged or truncated end; deflate is zlib-wrapped or, failing
that, raw; `br` and `zstd` are undone when their packages are installed (Scrapy installs both). Each
decoder counts its output chunk by chunk and stops as soon as it passes the limit, so at most the limit
and one chunk are ever held per step. `tests/test_bounded_payloads.py` checks the two agree.
"""

from __future__ import annotations

import gzip
import io
import struct
import sys
import zlib
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

from samizdat.archive.config import SETTING_KEYS

_CHUNK_BYTES = 65536  # what Scrapy decodes at a time; the limit is checked after each chunk, as it does

# The default of `max_page_bytes` (Scrapy's DOWNLOAD_MAXSIZE while crawling): the limit for WARC files that
# do not record the one their crawl used.
DEFAULT_MAX_PAYLOAD_BYTES: int = SETTING_KEYS["max_page_bytes"].default


class PayloadRefused(ValueError):
    """The payload is one the crawl refused too: larger than the limit (as received, or once decoded), or
    not decodable as its Content-Encoding says. `reason` is "too_large" or "undecodable"."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _check(size: int, max_bytes: int) -> None:
    if max_bytes and size > max_bytes:
        raise _TooLarge(size)


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """scrapy.utils.gz.gunzip: as much as can be read; a damaged or truncated end is tolerated when some
    data came before it."""
    reader = gzip.GzipFile(fileobj=io.BytesIO(data))
    out = io.BytesIO()
    size = 0
    chunk = b"."
    while chunk:
        try:
            chunk = reader.read1(_CHUNK_BYTES)
        except (OSError, EOFError, struct.error):
            if out.getbuffer().nbytes > 0:
                break
            raise
        size += len(chunk)
        _check(size, max_bytes)
        out.write(chunk)
    return out.getvalue()


def _inflate(data: bytes, max_bytes: int) -> bytes:
    """scrapy.utils._compression._inflate: zlib-wrapped deflate, else raw deflate (some servers send it)."""
    inflater = zlib.decompressobj()
    try:
        first = inflater.decompress(data, _CHUNK_BYTES)
    except zlib.error:
        inflater = zlib.decompressobj(wbits=-15)
        first = inflater.decompress(data, _CHUNK_BYTES)
    size = len(first)
    _check(size, max_bytes)
    out = io.BytesIO()
    out.write(first)
    # What is left once the stream has ended is not part of it (Scrapy ignores it too).
    while inflater.unconsumed_tail and not inflater.eof:
        chunk = inflater.decompress(inflater.unconsumed_tail, _CHUNK_BYTES)
        size += len(chunk)
        _check(size, max_bytes)
        out.write(chunk)
    return out.getvalue()


def _brotli_decoder() -> Callable[[bytes, int], bytes] | None:
    try:
        import brotli
    except ImportError:
        try:
            import brotlicffi as brotli
        except ImportError:
            return None

    def unbrotli(data: bytes, max_bytes: int) -> bytes:
        """scrapy.utils._compression._unbrotli."""
        decompressor: Any = brotli.Decompressor()
        first = decompressor.process(data, output_buffer_limit=_CHUNK_BYTES)
        size = len(first)
        _check(size, max_bytes)
        out = io.BytesIO()
        out.write(first)
        while not decompressor.is_finished():
            chunk = decompressor.process(b"", output_buffer_limit=_CHUNK_BYTES)
            if not chunk:
                break
            size += len(chunk)
            _check(size, max_bytes)
            out.write(chunk)
        return out.getvalue()

    return unbrotli


def _zstd_decoder() -> Callable[[bytes, int], bytes] | None:
    try:
        if sys.version_info >= (3, 14):
            from compression import zstd
        else:
            from backports import zstd
    except ImportError:
        return None

    def unzstd(data: bytes, max_bytes: int) -> bytes:
        """scrapy.utils._compression._unzstd: a truncated stream gives what came before its end."""
        reader: Any = zstd.ZstdFile(io.BytesIO(data))
        out = io.BytesIO()
        size = 0
        chunk = b"."
        while chunk:
            try:
                chunk = reader.read(_CHUNK_BYTES)
            except EOFError:
                break
            size += len(chunk)
            _check(size, max_bytes)
            out.write(chunk)
        return out.getvalue()

    return unzstd


DECODERS: dict[str, Callable[[bytes, int], bytes]] = {"gzip": _gunzip, "x-gzip": _gunzip, "deflate": _inflate}
if (_unbrotli := _brotli_decoder()) is not None:
    DECODERS["br"] = _unbrotli
if (_unzstd := _zstd_decoder()) is not None:
    DECODERS["zstd"] = _unzstd


def split_encodings(values: Iterable[str]) -> tuple[list[str], list[str]]:
    """(the encodings to undo, in the order they are undone; those left as they are, in header order), from
    the values of the Content-Encoding headers. Undone from the last applied, up to the first unknown one."""
    kept = [part.strip().lower() for value in values for part in value.split(",")]
    undo: list[str] = []
    while kept:
        encoding = kept.pop()
        if encoding not in DECODERS:
            kept.append(encoding)
            break
        undo.append(encoding)
    return undo, kept


def decode_payload(body: bytes, content_encodings: Iterable[str], max_bytes: int) -> tuple[bytes, list[str]]:
    """The body with its Content-Encoding chain undone, and the encodings left on it (those after an unknown
    one). `max_bytes` bounds every decoded step (0: no limit). Raises PayloadRefused when the crawl would
    have refused the response: decoded past the limit, or not decodable."""
    undo, kept = split_encodings(content_encodings)
    for encoding in undo:
        try:
            body = DECODERS[encoding](body, max_bytes)
        except _TooLarge as exc:
            raise PayloadRefused(
                "too_large",
                f"the payload passed {max_bytes} bytes while undoing its {encoding} encoding "
                f"({exc.size} bytes decoded so far)",
            ) from None
        except Exception as exc:  # zlib.error, OSError, EOFError, brotli.error, zstd.ZstdError: all drop the page
            raise PayloadRefused(
                "undecodable", f"the payload is not valid {encoding} data ({type(exc).__name__}: {exc})"
            ) from None
    return body, kept


def read_bounded(stream: BinaryIO, max_bytes: int) -> bytes:
    """All of `stream`, refusing it once past `max_bytes` (0: no limit) without reading further: what the
    download handler does with a body that arrives larger than DOWNLOAD_MAXSIZE."""
    out = io.BytesIO()
    while True:
        want = _CHUNK_BYTES * 16 if not max_bytes else min(_CHUNK_BYTES * 16, max_bytes + 1 - out.tell())
        chunk = stream.read(want)
        if not chunk:
            return out.getvalue()
        out.write(chunk)
        if max_bytes and out.tell() > max_bytes:
            raise PayloadRefused("too_large", f"the payload as archived is larger than {max_bytes} bytes")
