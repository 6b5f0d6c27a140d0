"""Export writers: JSONL, CSV and WARC, record by record so that a web response can stream them; CDXJ.

The `iter_*` functions yield one chunk per document (CSV and WARC yield a header chunk first); the
`write_*` functions write those chunks to a file and return the number of documents written. The
formats are the export contract of the README ("Export record").

A WARC export (and the WACZ package, archive/wacz.py, which holds one) is of each article's exchange and of
what the page needs to render (`document_records`): its requisites found in the archived HTML and, through
`@import`, in its archived stylesheets (archive/requisites.py), each the capture nearest in time to the
page's in the CDXJ index, with the full response a revisit record or a recrawl's 304 stands for. A record
shared by several articles is written once.

The CDXJ export is of captures, not articles: the archive's CDXJ index (archive/cdxj.py), every response and
revisit record of the WARC files or a source's, less what is taken down, one line each.
"""

from __future__ import annotations

import collections
import csv
import io
import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import lxml.etree
import lxml.html
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.timeutils import iso_date_to_timestamp
from warcio.warcwriter import WARCWriter

from samizdat.archive import cdxj
from samizdat.archive.datadir import DataDir
from samizdat.archive.document import EXPORT_FIELDS, Document, document_id
from samizdat.archive.errors import SamizdatError
from samizdat.archive.requisites import Requisite, css_requisites, html_requisites
from samizdat.archive.store import Store
from samizdat.archive.takedowns import Takedowns
from samizdat.archive.warc import SOFTWARE, copy_records, read_capture, resolve_warc_path

CSV_LABEL_SEPARATOR = "; "
# Bounds on what one page brings into an export, whatever its archived HTML and CSS say: the crawl bounds
# what it fetched (max_requisites_per_page), these bound what a hostile page can make an export look up.
MAX_REQUISITES_PER_PAGE = 1000
MAX_IMPORT_DEPTH = 8  # a stylesheet that @imports one that @imports ...
PROGRESS_EVERY = 1000  # articles between two progress lines of a WARC or WACZ export
MEMO_STYLESHEETS = 1000  # stylesheets whose requisites an export keeps at once


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


@dataclass(frozen=True)
class RecordSpan:
    """Consecutive records of a WARC file of the archive: a response or revisit and the request after it."""

    warc_file: str  # relative to the data directory
    offset: int
    count: int
    url: str
    kind: str  # "page", or the requisite's kind ("stylesheet", "image", ...)


def document_records(root: Path, docs: Iterable[Document]) -> Iterator[tuple[Document, list[RecordSpan]]]:
    """Each document with the records an export of it holds: its own exchange, then its requisites' (and the
    originals of those archived as revisits), less any record an earlier document already brought."""
    index = cdxj.CdxjIndex.of(root)
    seen: set[tuple[str, int]] = set()
    memo = _Memo()
    for doc in docs:
        spans = [RecordSpan(doc.warc_file, doc.warc_offset, 2, doc.url, "page")]
        spans += _requisite_records(root, doc, index, memo)
        fresh = []
        for span in spans:
            if (span.warc_file, span.offset) not in seen:
                seen.add((span.warc_file, span.offset))
                fresh.append(span)
        yield doc, fresh


@dataclass
class _Memo:
    """What one export learns once about a record that many pages share (a site's stylesheet, its logo)."""

    counts: dict[tuple[str, int], int] = field(default_factory=dict)  # records in the exchange at (file, offset)
    sheets: dict[tuple[str, int], list[Requisite]] = field(default_factory=dict)  # what a stylesheet loads

    def count(self, root: Path, warc_file: str, offset: int) -> int:
        key = (warc_file, offset)
        if key not in self.counts:
            self.counts[key] = _exchange_count(root, warc_file, offset)
        return self.counts[key]

    def sheet(self, root: Path, at: tuple[str, int], url: str) -> list[Requisite]:
        if at not in self.sheets:
            if len(self.sheets) >= MEMO_STYLESHEETS:
                self.sheets.clear()
            self.sheets[at] = _stylesheet_requisites(root, at, url)
        return self.sheets[at]


def _requisite_records(root: Path, doc: Document, index: cdxj.CdxjIndex, memo: _Memo) -> list[RecordSpan]:
    """The records of what the document's archived page needs to render, nearest in time to its capture."""
    try:
        page = read_capture(root, doc.warc_file, doc.warc_offset)
    except (OSError, ValueError):
        return []  # the page itself is still exported; a page we cannot read names no requisites
    if "html" not in (page.header("Content-Type") or "text/html").lower() or not page.payload.strip():
        return []
    try:
        tree = lxml.html.document_fromstring(page.payload)
    except (lxml.etree.ParserError, ValueError):
        return []
    when = iso_date_to_timestamp(doc.fetched_at or page.fetched_at)
    queue = collections.deque((found, 0) for found in html_requisites(tree, page.url, scripts=True))
    looked_up: set[str] = {page.url}
    spans: list[RecordSpan] = []
    while queue and len(looked_up) <= MAX_REQUISITES_PER_PAGE:
        requisite, depth = queue.popleft()
        if requisite.url in looked_up:
            continue
        looked_up.add(requisite.url)
        capture = index.nearest(requisite.url, when)
        if capture is None:
            continue  # never archived: replay shows its placeholder
        spans.append(_span(root, capture.warc_file, capture.offset, requisite, memo))
        payload_at, status = (capture.warc_file, capture.offset), capture.status
        if capture.revisit or capture.status == 304:
            original = _original(index, capture)
            if original is None:
                continue
            spans.append(_span(root, original.warc_file, original.offset, requisite, memo))
            payload_at, status = (original.warc_file, original.offset), original.status
        if requisite.kind == "stylesheet" and depth < MAX_IMPORT_DEPTH and status == 200:
            queue.extend((found, depth + 1) for found in memo.sheet(root, payload_at, requisite.url))
    return spans


def _span(root: Path, warc_file: str, offset: int, requisite: Requisite, memo: _Memo) -> RecordSpan:
    return RecordSpan(warc_file, offset, memo.count(root, warc_file, offset), requisite.url, requisite.kind)


def _exchange_count(root: Path, warc_file: str, offset: int) -> int:
    """2 when the record at `offset` is followed by its own request (as samizdat writes an exchange), else 1."""
    try:
        # A file renamed at its seal between these two steps costs the request record, never the response.
        with open(resolve_warc_path(root, warc_file), "rb") as fh:
            fh.seek(offset)
            iterator = ArchiveIterator(fh)
            first = next(iterator)
            record_id = first.rec_headers.get_header("WARC-Record-ID")
            iterator.read_to_end()
            second = next(iterator, None)
    except (OSError, ValueError, StopIteration, ArchiveLoadFailed, EOFError, zlib.error):
        return 1
    if second is None or second.rec_type != "request":
        return 1
    return 2 if second.rec_headers.get_header("WARC-Concurrent-To") == record_id else 1


def _original(index: cdxj.CdxjIndex, capture: cdxj.IndexedCapture) -> cdxj.IndexedCapture | None:
    """The full response a capture without a payload stands for, the nearest before it: for a revisit record a
    capture of the URL with its payload digest; for a 304 (a recrawl's conditional request answered "not
    modified") the last 200 response."""
    if capture.revisit:
        same = [c for c in index.captures(capture.url) if not c.revisit and c.digest == capture.digest]
    else:
        same = [c for c in index.captures(capture.url) if not c.revisit and c.status == 200]
    earlier = [c for c in same if c.timestamp <= capture.timestamp]
    return (earlier or same)[-1] if same else None


def _stylesheet_requisites(root: Path, at: tuple[str, int], url: str) -> list[Requisite]:
    try:
        sheet = read_capture(root, at[0], at[1])
    except (OSError, ValueError):
        return []
    return css_requisites(sheet.payload.decode("utf-8", "replace"), url)


def iter_warc(root: Path, docs: Iterable[Document]) -> Iterator[bytes]:
    """One valid WARC file: a warcinfo record, then each document's response and request and its requisites'
    records (`document_records`), byte for byte (one chunk per record span, the size of its records as
    archived: within the crawl's `max_page_bytes` or `max_requisite_bytes`)."""
    yield warc_header()
    for _doc, spans in document_records(root, docs):
        for span in spans:
            buffer = io.BytesIO()
            copy_span(root, span, buffer)
            yield buffer.getvalue()


def copy_span(root: Path, span: RecordSpan, out: BinaryIO) -> None:
    try:
        path = resolve_warc_path(root, span.warc_file)
    except (OSError, ValueError):
        raise SamizdatError(f"{span.url}: its WARC file {span.warc_file!r} is missing from {root}") from None
    copy_records(path, span.offset, out, span.count)


def write_jsonl(docs: Iterable[Document], out: TextIO) -> int:
    return _write(iter_jsonl(docs), out, header=False)


def write_csv(docs: Iterable[Document], out: TextIO) -> int:
    return _write(iter_csv(docs), out, header=True)


def write_warc(
    root: Path,
    docs: Iterable[Document],
    out: BinaryIO,
    progress: Callable[[int], None] | None = None,
    written: Callable[[Document, list[RecordSpan]], None] | None = None,
) -> int:
    """As `iter_warc`, each record copied straight into `out` a chunk at a time, never whole in memory.
    `progress` is told the count of articles every 1,000; `written` is told each document and its records."""
    out.write(warc_header())
    count = 0
    for doc, spans in document_records(root, docs):
        warc_path(root, doc)  # a missing file is named by its document
        for span in spans:
            copy_span(root, span, out)
        count += 1
        if written is not None:
            written(doc, spans)
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
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
