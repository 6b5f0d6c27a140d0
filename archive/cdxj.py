"""The CDXJ index: any archived URL found by a lookup, not a scan of the WARC files.

Each sealed WARC file gets its own sorted index, `cdxj/<warc name>.cdxj`, written by cdxj-indexer (the indexer
of pywb and the WACZ tools: SURT keys through `surt`, pywb's field names), and the per-file indexes are merged
into one sorted file, `cdxj/index.cdxj` (heapq.merge: streaming, in bounded memory). A line is

    <SURT key> <timestamp, 14 digits> {"url", "mime", "status", "digest", "length", "offset", "filename"}

one per response and revisit record (a revisit's mime is `warc/revisit`, its digest its original's);
requests, metadata, warcinfo and resource records are not captures. `filename` is the WARC file's name, as pywb
and WACZ write it: the file is `warc/<filename>` in the data directory (`IndexedCapture.warc_file`).

`cdxj/index.json` says what the merged index holds: each WARC file's size, mtime and inode when it was indexed,
and the source its warcinfo record names. `catch_up` compares it with the sealed WARC files and brings the index
up to date: a file sealed and not yet indexed is indexed, one rewritten (a purge) is indexed again, one removed
is dropped. It runs when a file is sealed (the crawl's writer at each rotation and at its end; `seal_leftovers`),
when a command opens the archive (`samizdat.stages.recover`), after a purge, and in full at `samizdat reindex`.
Everything here is derived from the WARC files and can be deleted. Writers hold `cdxj/.lock`, so crawls of
different sources that seal files at the same moment never lose each other's lines.

Look-ups (`CdxjIndex`) bisect the merged file by byte offset, a block at a time: about 2 log2(size / block)
lines read, then at most a block's worth, whatever the size of the index.
"""

from __future__ import annotations

import contextlib
import fcntl
import heapq
import json
import logging
import os
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, TextIO

import surt
from cdxj_indexer.main import CDXJIndexer
from warcio.exceptions import ArchiveLoadFailed

from samizdat.archive.datadir import MARKER, DataDir
from samizdat.archive.durable import fsync_dir

logger = logging.getLogger(__name__)

MERGED_NAME = "index.cdxj"
MANIFEST_NAME = "index.json"
SUFFIX = ".cdxj"
LOCK_NAME = ".lock"
REVISIT_MIME = "warc/revisit"
RECORDS = "response,revisit"  # what is a capture (cdxj-indexer's --records)
BLOCK_BYTES = 4096  # what a lookup reads at each step of its bisection
# How many files one merge pass opens at once: far below the usual limit of 1024 open files, so that an archive
# of thousands of WARC files merges in a few passes.
MERGE_FAN_IN = 200
_TIMESTAMP_PAD = "00000101000000"  # "2024" is the first second of 2024: 20240101000000

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# -- reading: the lookup -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexedCapture:
    """One line of a CDXJ index: a response or revisit record of a WARC file."""

    urlkey: str
    timestamp: str  # 14 digits, UTC
    url: str
    mime: str
    status: int
    digest: str
    length: int
    offset: int
    filename: str  # the WARC file's name (pywb's and WACZ's convention)

    @property
    def warc_file(self) -> str:
        """The file as the store and `archive.warc.read_capture` name it: relative to the data directory."""
        return f"warc/{self.filename}"

    @property
    def revisit(self) -> bool:
        """A revisit record: its payload is an earlier capture's with the same digest."""
        return self.mime == REVISIT_MIME

    @classmethod
    def parse(cls, line: bytes | str) -> IndexedCapture:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
        urlkey, timestamp, data = text.rstrip("\n").split(" ", 2)
        fields = json.loads(data)
        return cls(
            urlkey,
            timestamp,
            str(fields.get("url", "")),
            str(fields.get("mime", "")),
            _int(fields.get("status")),
            str(fields.get("digest", "")),
            _int(fields.get("length")),
            _int(fields.get("offset")),
            str(fields.get("filename", "")),
        )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def url_key(url: str) -> str:
    """The SURT key a URL is indexed under (pywb's): `http://www.Example.com/a?b=1&a=2` -> `com,example)/a?a=2&b=1`;
    scheme, `www.` and the order of query parameters do not matter."""
    try:
        return str(surt.surt(url))
    except Exception:  # surt raises what its URL parser raises; an unparsable URL is its own key, as in pywb
        return url


def timestamp14(value: str) -> str:
    """A wayback timestamp of 4 to 14 digits padded to 14, as the start of the period it names ("2024" ->
    "20240101000000"); ValueError for anything else."""
    digits = value.strip()
    if not digits.isascii() or not digits.isdigit() or not 4 <= len(digits) <= 14:
        raise ValueError(f"timestamp {value!r}: give 4 to 14 digits, YYYY[MM[DD[hh[mm[ss]]]]]")
    return digits + _TIMESTAMP_PAD[len(digits) :]


def _seconds(timestamp: str) -> float:
    try:
        return datetime.strptime(timestamp[:14].ljust(14, "0"), "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return 0.0


class CdxjIndex:
    """Look-ups in a sorted CDXJ file (by default a data directory's merged index). The file is opened for each
    look-up, so a look-up always reads the newest complete index (it is replaced whole, never rewritten in
    place); a missing file holds nothing. `lines_read` is how many lines the last look-up read."""

    def __init__(self, path: Path, block_bytes: int = BLOCK_BYTES) -> None:
        self.path = Path(path)
        self.block_bytes = block_bytes
        self.lines_read = 0

    @classmethod
    def of(cls, root: Path) -> CdxjIndex:
        """The merged index of the data directory `root`."""
        return cls(merged_path(root))

    def captures(self, url: str, limit: int | None = None) -> list[IndexedCapture]:
        """Every capture of the URL (of its SURT key), oldest first: what `/web/*/<url>` lists."""
        prefix = url_key(url).encode("utf-8") + b" "
        found: list[IndexedCapture] = []
        self.lines_read = 0
        with self._open() as fh:
            if fh is None:
                return found
            _start, line = self._first_at_least(fh, prefix)
            while line.startswith(prefix) and (limit is None or len(found) < limit):
                found.append(IndexedCapture.parse(line))
                line = self._readline(fh)
        return found

    def nearest(self, url: str, timestamp: str) -> IndexedCapture | None:
        """The capture of the URL nearest in time to `timestamp` (4 to 14 digits, see `timestamp14`); of two as
        near, the earlier. None when the URL was never captured."""
        key = url_key(url).encode("utf-8")
        when = timestamp14(timestamp)
        self.lines_read = 0
        with self._open() as fh:
            if fh is None:
                return None
            start, line = self._first_at_least(fh, key + b" " + when.encode("ascii"))
            after = IndexedCapture.parse(line) if line.startswith(key + b" ") else None
            previous = self._line_before(fh, start)
            before = IndexedCapture.parse(previous) if previous and previous.startswith(key + b" ") else None
        if before is None or after is None:
            return before or after
        target = _seconds(when)
        return after if _seconds(after.timestamp) - target < target - _seconds(before.timestamp) else before

    # -- the bisection ---------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _open(self) -> Iterator[BinaryIO | None]:
        try:
            fh = open(self.path, "rb")  # noqa: SIM115  # closed below
        except FileNotFoundError:
            yield None
            return
        with fh:
            yield fh

    def _readline(self, fh: BinaryIO) -> bytes:
        self.lines_read += 1
        return fh.readline()

    def _first_at_least(self, fh: BinaryIO, target: bytes) -> tuple[int, bytes]:
        """(where it starts, the line) of the first line not less than `target`; at the end, (size, b"")."""
        block = self.block_bytes
        size = os.fstat(fh.fileno()).st_size
        # Invariant: the first whole line after byte lo * block is less than the target (or lo is 0); the first
        # whole line after hi * block is not (or there is none).
        lo, hi = 0, size // block + 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            fh.seek(mid * block)
            self._readline(fh)  # the end of a line begun before this block
            line = self._readline(fh)
            if line and line < target:
                lo = mid
            else:
                hi = mid
        fh.seek(lo * block)
        if lo:
            self._readline(fh)  # less than the first whole line after it, so less than the target
        while True:
            start = fh.tell()
            line = self._readline(fh)
            if not line or line >= target:
                return start, line

    def _line_before(self, fh: BinaryIO, start: int) -> bytes | None:
        """The whole line that ends where `start` begins, read backwards a block at a time."""
        if start <= 0:
            return None
        end = start - 1  # its newline
        begin = end
        while begin > 0:
            chunk_start = max(0, begin - self.block_bytes)
            fh.seek(chunk_start)
            newline = fh.read(begin - chunk_start).rfind(b"\n")
            if newline >= 0:
                begin = chunk_start + newline + 1
                break
            begin = chunk_start
        fh.seek(begin)
        return self._readline(fh)


# -- writing: the per-file indexes, merged ---------------------------------------------------------------------


def cdxj_dir(root: Path) -> Path:
    return DataDir(root).cdxj_dir


def merged_path(root: Path) -> Path:
    return cdxj_dir(root) / MERGED_NAME


def file_index_path(root: Path, warc_name: str) -> Path:
    return cdxj_dir(root) / f"{warc_name}{SUFFIX}"


class _LineCounter:
    """The text file cdxj-indexer writes to, counting its lines."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return self.out.write(text)

    def flush(self) -> None:
        self.out.flush()


class _Indexer(CDXJIndexer):  # type: ignore[misc]  # cdxj-indexer ships no type information
    """cdxj-indexer's indexer, stopping at a damaged or cut-short record with what it read before it (a file
    from elsewhere; ours are sealed whole) instead of losing the file's lines."""

    damage: str | None = None

    def process_one(self, input_: Any, output: Any, filename: Any) -> None:
        try:
            super().process_one(input_, output, filename)
        except (ArchiveLoadFailed, EOFError, zlib.error, ValueError) as exc:
            self.damage = str(exc) or type(exc).__name__


def index_warc(path: Path, out: Path, filename: str | None = None) -> int:
    """Write the sorted CDXJ index of one WARC file to `out` (whole or not at all); returns its number of
    lines. `filename` is what the lines name the file (by default its name)."""
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        with open(path, "rb") as src, open(tmp, "w", encoding="utf-8", newline="\n") as dst:
            counter = _LineCounter(dst)
            indexer = _Indexer(counter, src, sort=True, records=RECORDS, filename=filename or path.name)
            indexer.process_all()
            if indexer.damage:
                logger.warning("%s: indexed up to a damaged record: %s", path.name, indexer.damage)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return counter.lines


def merge_files(paths: list[Path], out: IO[str], fan_in: int = MERGE_FAN_IN) -> int:
    """Merge sorted CDXJ files into `out`, streaming (heapq.merge holds one line per file); more than `fan_in`
    files are merged in passes through temporary files. Returns the number of lines written."""
    if len(paths) > fan_in:
        with tempfile.TemporaryDirectory(prefix="cdxj-merge-", dir=paths[0].parent) as tmp:
            parts = []
            for number in range(0, len(paths), fan_in):
                part = Path(tmp) / f"{number}{SUFFIX}"
                with open(part, "w", encoding="utf-8", newline="\n") as fh:
                    merge_files(paths[number : number + fan_in], fh, fan_in)
                parts.append(part)
            return merge_files(parts, out, fan_in)
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(open(path, encoding="utf-8", newline="\n")) for path in paths]
        lines = 0
        for line in heapq.merge(*files):
            out.write(line)
            lines += 1
        return lines


def read_manifest(root: Path) -> dict[str, dict[str, Any]]:
    """What the merged index holds: {WARC file name: {"size", "mtime_ns", "inode", "lines", "source"}}; empty
    when there is no index yet (or its manifest is damaged: it is then rebuilt)."""
    try:
        data = json.loads((cdxj_dir(root) / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return {str(k): v for k, v in files.items() if isinstance(v, dict)} if isinstance(files, dict) else {}


def catch_up(root: Path, rebuild: bool = False, progress: Progress = _quiet) -> dict[str, int]:
    """Bring the data directory's CDXJ index up to date with its sealed WARC files (see the module's doc);
    `rebuild` indexes every file again. Returns {"indexed", "dropped", "files", "lines"}: files indexed now,
    dropped now, held, and the merged index's lines."""
    root = Path(root)
    with _locked(root):
        return _catch_up(root, rebuild, progress)


def forget(root: Path, names: Iterable[str]) -> None:
    """Take these WARC files out of the index now, before they are rewritten or removed (a purge): the merged
    index never points into a file whose records have moved. The next `catch_up` indexes what is left."""
    root = Path(root)
    with _locked(root):
        manifest = read_manifest(root)
        gone = [name for name in names if name in manifest]
        for name in gone:
            del manifest[name]
            file_index_path(root, name).unlink(missing_ok=True)
        if gone:
            _write_merged(root, manifest)


def index_sealed(warc_dir: Path) -> None:
    """The hook for a freshly sealed file of `warc_dir`: when that is a data directory's `warc/`, catch its
    CDXJ index up, so that what a running crawl archived can be looked up. Never raises: the index is derived,
    and the next command that opens the archive catches it up (a failure is logged)."""
    warc_dir = Path(warc_dir)
    root = warc_dir.parent
    if warc_dir.name != "warc" or not (root / MARKER).is_file():
        return
    try:
        catch_up(root)
    except OSError as exc:  # a full disk, most likely: the crawl says so itself
        logger.warning("%s: the CDXJ index was not brought up to date (the next command does it): %s", root, exc)
    except Exception:  # a crawl must go on archiving whatever befalls its derived index
        logger.exception("%s: the CDXJ index was not brought up to date (the next command does it)", root)


def iter_lines(root: Path, source: str | None = None) -> Iterator[str]:
    """The merged index's lines, sorted; with `source`, only those of that source's WARC files (their indexes
    merged on the fly)."""
    if source is None:
        paths = [merged_path(root)] if merged_path(root).exists() else []
    else:
        manifest = read_manifest(root)
        paths = [file_index_path(root, name) for name, entry in manifest.items() if entry.get("source") == source]
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(open(path, encoding="utf-8", newline="\n")) for path in paths]
        yield from heapq.merge(*files)


def file_sources(root: Path) -> dict[str, str | None]:
    """The source each indexed WARC file belongs to (its warcinfo record's), by file name."""
    return {name: entry.get("source") for name, entry in read_manifest(root).items()}


# -- internals ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    directory = cdxj_dir(root)
    directory.mkdir(exist_ok=True)
    with open(directory / LOCK_NAME, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # a merge takes seconds at most: wait for it
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _identity(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino}


def _catch_up(root: Path, rebuild: bool, progress: Progress) -> dict[str, int]:
    directory = cdxj_dir(root)
    old = {} if rebuild else read_manifest(root)
    manifest: dict[str, dict[str, Any]] = {}
    stale: list[tuple[Path, dict[str, int]]] = []
    for path in DataDir(root).warc_files():
        try:
            identity = _identity(path)
        except FileNotFoundError:  # removed meanwhile (a purge of its source): nothing to index
            continue
        entry = old.get(path.name)
        if (
            entry is not None
            and all(entry.get(k) == v for k, v in identity.items())
            and file_index_path(root, path.name).exists()
        ):
            manifest[path.name] = entry
        else:
            stale.append((path, identity))
    if len(stale) > 1:  # an archive indexed for the first time, or a reindex: this can take a while
        megabytes = sum(identity["size"] for _path, identity in stale) / 1e6
        progress(f"cdxj: indexing {len(stale)} WARC files ({megabytes:.0f} MB)")
    for path, identity in stale:
        lines = index_warc(path, file_index_path(root, path.name))
        manifest[path.name] = {**identity, "lines": lines, "source": _source_of(path)}
    indexed = len(stale)
    dropped = len(set(old) - set(manifest))
    kept = {f"{name}{SUFFIX}" for name in manifest} | {MERGED_NAME, MANIFEST_NAME, LOCK_NAME}
    for stray in directory.iterdir():  # the indexes of removed files, what a merge cut short left
        if stray.name in kept:
            continue
        if stray.is_dir():
            shutil.rmtree(stray, ignore_errors=True)
        else:
            stray.unlink()
    changed = rebuild or indexed or dropped or manifest != old or not merged_path(root).exists()
    if changed:
        _write_merged(root, manifest)
    lines = sum(int(entry.get("lines", 0)) for entry in manifest.values())
    if indexed or dropped:
        progress(f"cdxj: {indexed} WARC file(s) indexed, {dropped} dropped; {lines} captures in cdxj/{MERGED_NAME}")
    return {"indexed": indexed, "dropped": dropped, "files": len(manifest), "lines": lines}


def _write_merged(root: Path, manifest: dict[str, dict[str, Any]]) -> None:
    """The merged index from the per-file ones, then the manifest that says what it holds (each replaced whole)."""
    directory = cdxj_dir(root)
    target = merged_path(root)
    tmp = directory / f".{MERGED_NAME}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as out:
            merge_files([file_index_path(root, name) for name in sorted(manifest)], out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    manifest_tmp = directory / f".{MANIFEST_NAME}.tmp"
    manifest_tmp.write_text(json.dumps({"files": manifest}, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(manifest_tmp, directory / MANIFEST_NAME)
    fsync_dir(directory)


def _source_of(path: Path) -> str | None:
    from samizdat.archive.purge import source_of  # purge re-indexes through this module

    return source_of(path)
