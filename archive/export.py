"""Export writers: JSONL, CSV and WARC, record by record so that a web response can stream them.

The `iter_*` functions yield one chunk per document (CSV and WARC yield a header chunk first); the
`write_*` functions write those chunks to a file and return the number of documents written. The
formats are the export contract of the README ("Export record").
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from warcio.warcwriter import WARCWriter

from archive.document import EXPORT_FIELDS, Document
from archive.errors import SamizdatError
from archive.warc import SOFTWARE, copy_records, resolve_warc_path

CSV_LABEL_SEPARATOR = "; "


def jsonl_line(doc: Document) -> str:
    """One document as one JSON line, newline included."""
    return json.dumps(doc.to_record(), ensure_ascii=False) + "\n"


def iter_jsonl(docs: Iterable[Document]) -> Iterator[str]:
    for doc in docs:
        yield jsonl_line(doc)


def iter_csv(docs: Iterable[Document]) -> Iterator[str]:
    """The header line, then one row per document (labels joined with "; ")."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    yield _drain(buffer)
    for doc in docs:
        record = doc.to_record()
        record["labels"] = CSV_LABEL_SEPARATOR.join(record["labels"])
        writer.writerow(record)
        yield _drain(buffer)


def warc_header() -> bytes:
    """The warcinfo record an export file starts with."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True, warc_version="1.1")
    writer.write_record(writer.create_warcinfo_record("samizdat-export.warc.gz", {"software": SOFTWARE}))
    return buffer.getvalue()


def warc_path(root: Path, doc: Document) -> Path:
    """The document's WARC file (sealed, or still open), refusing any path that leads outside the data
    directory `root`."""
    try:
        return resolve_warc_path(root, doc.warc_file)
    except (OSError, ValueError):
        raise SamizdatError(f"{doc.url}: its WARC file {doc.warc_file!r} is missing from {root}") from None


def iter_warc(root: Path, docs: Iterable[Document]) -> Iterator[bytes]:
    """One valid WARC file: a warcinfo record, then each document's response and request, byte for byte (one
    chunk per document, the size of its records as archived: within the crawl's `max_page_bytes`)."""
    yield warc_header()
    for doc in docs:
        buffer = io.BytesIO()
        copy_records(warc_path(root, doc), doc.warc_offset, buffer)
        yield buffer.getvalue()


def write_jsonl(docs: Iterable[Document], out: TextIO) -> int:
    return _write(iter_jsonl(docs), out, header=False)


def write_csv(docs: Iterable[Document], out: TextIO) -> int:
    return _write(iter_csv(docs), out, header=True)


def write_warc(root: Path, docs: Iterable[Document], out: BinaryIO) -> int:
    """As `iter_warc`, each record copied straight into `out` a chunk at a time, never whole in memory."""
    out.write(warc_header())
    count = 0
    for doc in docs:
        copy_records(warc_path(root, doc), doc.warc_offset, out)
        count += 1
    return count


def _write(chunks: Iterator[Any], out: TextIO | BinaryIO, header: bool) -> int:
    """Write every chunk; the count is of documents, so a header chunk (CSV, WARC) is not counted."""
    if header:
        out.write(next(chunks))
    count = 0
    for chunk in chunks:
        out.write(chunk)
        count += 1
    return count


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
