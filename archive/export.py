"""Export writers: JSONL, CSV and WARC, record by record so that a web response can stream them; CDXJ.

The `iter_*` functions yield one chunk per document (CSV and WARC yield a header chunk first); the
`write_*` functions write those chunks to a file and return the number of documents written. The
formats are the export contract of the README ("Export record").

The CDXJ export is of captures, not articles: the archive's CDXJ index (archive/cdxj.py), every response and
revisit record of the WARC files or a source's, less what is taken down, one line each.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from warcio.warcwriter import WARCWriter

from archive import cdxj
from archive.datadir import DataDir
from archive.document import EXPORT_FIELDS, Document, document_id
from archive.errors import SamizdatError
from archive.store import Store
from archive.takedowns import Takedowns
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


def iter_cdxj(root: Path, source: str | None = None) -> Iterator[str]:
    """The archive's CDXJ index, sorted, one line per capture: every capture, or with `source` that source's,
    less those of documents and sources taken down (hidden or purged)."""
    hidden = _hidden_captures(root)
    sources = cdxj.file_sources(root) if hidden is not None else {}
    for line in cdxj.iter_lines(root, source):
        if hidden is None or not hidden(cdxj.IndexedCapture.parse(line), sources):
            yield line


def write_cdxj(
    root: Path, out: TextIO, source: str | None = None, progress: Callable[[int], None] | None = None
) -> int:
    """As `iter_cdxj`, into `out`; returns the number of captures. `progress` is told the count every 100,000."""
    count = 0
    for line in iter_cdxj(root, source):
        out.write(line)
        count += 1
        if progress is not None and count % 100_000 == 0:
            progress(count)
    return count


def _hidden_captures(root: Path) -> Callable[[cdxj.IndexedCapture, dict[str, str | None]], bool] | None:
    """Whether a capture belongs to what is taken down: a hidden source's file, a hidden document's URL (its
    canonical form) or one of its versions' records. None when nothing is taken down."""
    datadir = DataDir(root)
    if not datadir.takedowns_path.exists():
        return None
    with Takedowns(datadir.takedowns_path) as takedowns:
        ids, hidden_sources = takedowns.hidden()
    if not ids and not hidden_sources:
        return None
    records: set[tuple[str, int]] = set()
    if ids and datadir.store_path.exists():
        with Store(datadir.store_path) as store:
            for doc_id in ids:
                for version in store.versions(doc_id):
                    records.add((version.document.warc_file, version.document.warc_offset))

    def hidden(capture: cdxj.IndexedCapture, sources: dict[str, str | None]) -> bool:
        if sources.get(capture.filename) in hidden_sources or (capture.warc_file, capture.offset) in records:
            return True
        try:
            return bool(ids) and document_id(capture.url) in ids
        except ValueError:
            return False

    return hidden


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
