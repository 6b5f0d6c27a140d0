"""The CDXJ index (archive/cdxj.py) on a real crawl of the sample sites and on WARC files written by our writer:
the per-file and merged indexes are sorted and hold exactly the response and revisit records (checked against
a walk of the files with warcio), every archived URL is found, the nearest capture is the right one, a lookup
reads a logarithmic number of lines of a 100,000-line index, the export is the merged index, reindex rebuilds
the same index, a purge takes the document's lines out, and a file is indexed as soon as it is sealed."""

from __future__ import annotations

import json
import math
import random
import re
import shutil
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import surt
from warcio.archiveiterator import ArchiveIterator

from samizdat import stages
from samizdat.archive import cdxj
from samizdat.archive.cdxj import CdxjIndex, IndexedCapture
from samizdat.archive.datadir import DataDir
from samizdat.archive.document import document_id
from samizdat.archive.store import Store
from samizdat.archive.warc import OPEN_SUFFIX, Original, WarcWriter, seal_leftovers
from tests.conftest import run_cli

CDXJ_LINE = re.compile(r"^(\S+) (\d{14}) (\{.*\})$")
FIELDS = {"url", "mime", "status", "digest", "length", "offset", "filename"}
# a response without a Content-Type (a 304, say) has no mime, as cdxj-indexer and pywb write it


@pytest.fixture
def data(crawl, tmp_path) -> Path:
    """A copy of the session's crawl, for one test to change."""
    copy = tmp_path / "data"
    shutil.copytree(crawl.data, copy)
    return copy


def walk(path: Path) -> list[tuple[str, str, str, int, int, str]]:
    """The captures of a WARC file, read with warcio alone: (url, timestamp, filename, offset, status, digest)
    of each response and revisit record."""
    found = []
    with open(path, "rb") as fh:
        iterator = ArchiveIterator(fh)
        for record in iterator:
            if record.rec_type not in ("response", "revisit"):
                continue
            headers = record.rec_headers
            when = datetime.fromisoformat(headers.get_header("WARC-Date").replace("Z", "+00:00"))
            status = int(record.http_headers.get_statuscode())
            digest = headers.get_header("WARC-Payload-Digest")
            url = headers.get_header("WARC-Target-URI")
            iterator.read_to_end()
            found.append((url, when.strftime("%Y%m%d%H%M%S"), path.name, iterator.get_record_offset(), status, digest))
    return found


def indexed(lines: list[str]) -> list[tuple[str, str, str, int, int, str]]:
    parsed = [IndexedCapture.parse(line) for line in lines]
    return [(c.url, c.timestamp, c.filename, c.offset, c.status, c.digest) for c in parsed]


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def check_valid(lines: list[str]) -> None:
    """Valid CDXJ as pywb reads it: `key timestamp {json}`, the key the URL's SURT, sorted."""
    assert lines == sorted(lines)
    for line in lines:
        match = CDXJ_LINE.match(line.rstrip("\n"))
        assert match, line
        fields = json.loads(match[3])
        assert FIELDS - {"mime"} <= set(fields) <= FIELDS, line
        assert match[1] == surt.surt(fields["url"])


def test_a_crawl_indexes_exactly_the_responses_of_its_warc_files(crawl):
    datadir = DataDir(crawl.data)
    files = datadir.warc_files()
    assert files
    merged: list[str] = []
    for path in files:
        lines = lines_of(datadir.cdxj_dir / f"{path.name}.cdxj")
        check_valid(lines)
        assert Counter(indexed(lines)) == Counter(walk(path)), path.name
        merged += lines
    everything = lines_of(datadir.cdxj_dir / "index.cdxj")
    check_valid(everything)
    assert everything == sorted(merged)
    assert set(cdxj.read_manifest(crawl.data)) == {path.name for path in files}
    # only captures: every response and revisit, never a request, a warcinfo or a metadata record
    assert {IndexedCapture.parse(line).mime for line in everything} >= {"text/html"}
    assert len(everything) == sum(len(walk(path)) for path in files)


def test_every_archived_url_is_found_with_all_its_captures(crawl):
    index = CdxjIndex.of(crawl.data)
    captures: dict[str, list[tuple[str, str, int]]] = {}
    urls: dict[str, str] = {}
    for path in DataDir(crawl.data).warc_files():
        for url, when, name, offset, _status, _digest in walk(path):
            captures.setdefault(surt.surt(url), []).append((when, name, offset))
            urls.setdefault(surt.surt(url), url)
    assert len(captures) > 50
    for key, entries in captures.items():
        url, (when, _name, _offset) = urls[key], entries[0]
        found = index.captures(url)
        assert sorted((c.timestamp, c.filename, c.offset) for c in found) == sorted(entries), url
        assert [c.timestamp for c in found] == sorted(c.timestamp for c in found)
        nearest = index.nearest(url, when)
        assert nearest is not None and nearest.timestamp == when
        assert index.nearest(url, "1990").timestamp == min(e[0] for e in entries)  # type: ignore[union-attr]
        assert index.nearest(url, "2999").timestamp == max(e[0] for e in entries)  # type: ignore[union-attr]
    # the same page by another spelling of its address (scheme, www., case of the host) is found too
    url = IndexedCapture.parse(lines_of(DataDir(crawl.data).cdxj_dir / "index.cdxj")[0]).url
    assert index.captures(url.replace("http://", "https://").upper().replace("HTTPS", "https"))
    assert index.captures("http://127.0.0.1:1/never-archived") == []
    assert index.nearest("http://127.0.0.1:1/never-archived", "2024") is None


class CountingFile:
    """A file that counts what is read from it: the test's own measure, apart from `lines_read`."""

    def __init__(self, fh: Any, counts: Counter) -> None:
        self.fh, self.counts = fh, counts

    def readline(self, *args: Any) -> bytes:
        line = self.fh.readline(*args)
        self.counts["reads"] += 1
        self.counts["bytes"] += len(line)
        return line

    def read(self, *args: Any) -> bytes:
        data = self.fh.read(*args)
        self.counts["reads"] += 1
        self.counts["bytes"] += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fh, name)


class CountingIndex(CdxjIndex):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.counts: Counter = Counter()

    def _open(self):  # type: ignore[override]
        parent = super()._open()
        counts = self.counts

        class Wrapped:
            def __enter__(self) -> Any:
                fh = parent.__enter__()
                return None if fh is None else CountingFile(fh, counts)

            def __exit__(self, *exc: object) -> None:
                parent.__exit__(*exc)

        return Wrapped()


def synthetic_index(path: Path, keys: int) -> dict[str, list[str]]:
    """A sorted CDXJ file of `keys` URLs captured 1 to 3 times each (100,000 lines for 50,000 keys); returns
    the timestamps of each URL."""
    rng = random.Random(12)
    stamps: dict[str, list[str]] = {}
    lines = []
    for number in range(keys):
        url = f"http://example.org/{rng.choice(['news', 'posts', 'tags'])}/{number:06d}-{rng.randrange(10**6)}"
        times = sorted({f"20{rng.randrange(10, 26)}{rng.randrange(1, 13):02d}15120000" for _ in range(1 + number % 3)})
        stamps[url] = times
        for when in times:
            fields = {"url": url, "mime": "text/html", "status": "200", "digest": "sha1:X", "length": "1"}
            fields |= {"offset": str(number), "filename": "x.warc.gz"}
            lines.append(f"{surt.surt(url)} {when} {json.dumps(fields)}\n")
    lines.sort()
    path.write_text("".join(lines), encoding="utf-8")
    return stamps


def test_a_lookup_reads_a_logarithmic_number_of_lines(tmp_path):
    path = tmp_path / "index.cdxj"
    stamps = synthetic_index(path, 50_000)
    total = sum(len(times) for times in stamps.values())
    size = path.stat().st_size
    assert total >= 99_000
    index = CountingIndex(path)
    line_bytes = size / total
    # the bisection reads two lines per step, then at most a block's worth of lines and the captures
    bound = 2 * (math.log2(size / index.block_bytes) + 2) + index.block_bytes / line_bytes + 6
    rng = random.Random(3)
    urls = rng.sample(sorted(stamps), 300)
    worst = 0
    for url in urls:
        index.counts.clear()
        found = index.captures(url)
        assert [c.timestamp for c in found] == stamps[url]
        worst = max(worst, index.lines_read, index.counts["reads"])
        target = f"20{rng.randrange(9, 27)}0601000000"
        index.counts.clear()
        nearest = index.nearest(url, target)
        seconds = datetime.strptime(target, "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()

        def distance(when: str, seconds: float = seconds) -> float:
            return abs(datetime.strptime(when, "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp() - seconds)

        best = min(stamps[url], key=lambda when: (distance(when), when))  # of two as near, the earlier
        assert nearest is not None and nearest.timestamp == best, (url, target, stamps[url])
        worst = max(worst, index.lines_read, index.counts["reads"])
    assert worst <= bound, (worst, bound)
    # against a scan of the whole file, for the figures (printed, never asserted: shared machines)
    started = time.perf_counter()
    for url in urls[:20]:
        index.captures(url)
    lookup = (time.perf_counter() - started) / 20
    started = time.perf_counter()
    for url in urls[:20]:
        key = surt.surt(url) + " "
        with open(path, encoding="utf-8") as fh:
            [line for line in fh if line.startswith(key)]
    scan = (time.perf_counter() - started) / 20
    print(
        f"\n{total} lines, {size} bytes: at most {worst} reads per lookup (bound {bound:.0f}); "
        f"lookup {lookup * 1e6:.0f} us, scan {scan * 1e3:.1f} ms ({scan / lookup:.0f}x)"
    )


def test_the_cdxj_export_is_the_merged_index(data, tmp_path):
    out = tmp_path / "all.cdxj"
    result = run_cli("export", "--format", "cdxj", "-o", out, "--data", data)
    assert result.returncode == 0, result.stderr
    merged = (data / "cdxj" / "index.cdxj").read_bytes()
    assert out.read_bytes() == merged
    lines = lines_of(out)
    check_valid(lines)
    assert f"exported {len(lines)} capture(s)" in result.stderr
    assert run_cli("export", "--format", "cdxj", "--data", data).stdout.encode() == merged  # stdout too

    sources = {name: entry["source"] for name, entry in cdxj.read_manifest(data).items()}
    result = run_cli("export", "--format", "cdxj", "--source", "red-lantern", "--data", data)
    assert result.returncode == 0, result.stderr
    mine = [line for line in lines if sources[IndexedCapture.parse(line).filename] == "red-lantern"]
    assert mine and result.stdout.splitlines(keepends=True) == mine

    result = run_cli("export", "--format", "cdxj", "--label", "Housing", "-o", out, "--data", data)
    assert result.returncode == 2 and "--label selects articles" in result.stderr
    assert out.read_bytes() == merged  # refused before anything was written

    # what is taken down is not exported (the index itself still finds it, for the next purge)
    with Store(data / "store.sqlite") as store:
        doc = next(doc for doc in store.iter_latest("steppe-notes") if doc.title)
    result = run_cli("takedown", "hide", doc.id, "--reason", "a test", "--by", "ana", "--data", data)
    assert result.returncode == 0, result.stderr
    result = run_cli("export", "--format", "cdxj", "--data", data)
    hidden = [line for line in lines if document_id(IndexedCapture.parse(line).url) == doc.id]
    assert hidden and result.stdout.splitlines(keepends=True) == [line for line in lines if line not in hidden]


def test_reindex_rebuilds_the_same_index(data):
    before = {p.name: p.read_bytes() for p in (data / "cdxj").iterdir() if p.suffix == ".cdxj"}
    (data / "cdxj" / "index.cdxj").unlink()
    next(p for p in (data / "cdxj").iterdir() if p.name.endswith(".warc.gz.cdxj")).write_text("", encoding="utf-8")
    result = run_cli("reindex", "--data", data)
    assert result.returncode == 0, result.stderr
    assert "cdxj:" in result.stderr
    assert {p.name: p.read_bytes() for p in (data / "cdxj").iterdir() if p.suffix == ".cdxj"} == before
    # a command that opens the archive catches a lost index up too
    shutil.rmtree(data / "cdxj")
    stages.open_archive(data)
    assert {p.name: p.read_bytes() for p in (data / "cdxj").iterdir() if p.suffix == ".cdxj"} == before


def test_a_purge_takes_the_documents_captures_out_of_the_index(data):
    with Store(data / "store.sqlite") as store:
        doc = next(doc for doc in store.iter_latest("steppe-notes") if doc.title)
    index = CdxjIndex.of(data)
    assert index.captures(doc.url)
    before = lines_of(data / "cdxj" / "index.cdxj")
    result = stages.purge(DataDir(data), "ana", "a court order", doc_id=doc.id)
    assert result["files_rewritten"]
    assert index.captures(doc.url) == []
    after = lines_of(data / "cdxj" / "index.cdxj")
    assert not [line for line in after if document_id(IndexedCapture.parse(line).url) == doc.id]
    # every other capture is kept, pointing at where its record is now
    assert len(after) == len(before) - len(
        [line for line in before if document_id(IndexedCapture.parse(line).url) == doc.id]
    )
    for path in DataDir(data).warc_files():
        assert Counter(indexed(lines_of(data / "cdxj" / f"{path.name}.cdxj"))) == Counter(walk(path))

    # a source's purge drops its files' lines
    stages.purge(DataDir(data), "ana", "a court order", source="red-lantern")
    assert set(cdxj.read_manifest(data)) == {path.name for path in DataDir(data).warc_files()}
    assert not any(
        IndexedCapture.parse(line).filename.startswith("red-lantern-")
        for line in lines_of(data / "cdxj" / "index.cdxj")
    )
    assert not list((data / "cdxj").glob("red-lantern-*"))


def exchange(writer: WarcWriter, url: str, body: bytes, same_as: Original | None = None):
    return writer.write_exchange(
        url, "GET", [], 200, "OK", [("Content-Type", "text/html; charset=utf-8")], body, same_as=same_as
    )


def test_a_file_is_indexed_when_it_is_sealed_while_the_crawl_goes_on(tmp_path):
    datadir = DataDir.create(tmp_path / "data")
    index = CdxjIndex.of(datadir.root)
    writer = WarcWriter(datadir.warc_dir, "live", max_bytes=3000)
    body = random.Random(1).randbytes(4000)  # does not compress: past max_bytes, so the file is sealed
    first = exchange(writer, "http://example.org/a", body)
    assert writer.path is not None and writer.path.exists()  # past max_bytes: sealed, the next one not begun
    (found,) = index.captures("http://example.org/a")
    assert (found.warc_file, found.offset, found.digest, found.mime) == (
        first.warc_file,
        first.offset,
        first.digest,
        "text/html",
    )
    # a revisit is a capture, with the original's digest; the file being written is found once it is sealed
    original = Original("http://example.org/a", first.date, first.digest, first.warc_file, first.offset)
    again = exchange(writer, "http://example.org/a", body, same_as=original)
    exchange(writer, "http://example.org/b", b"short")
    assert [c.offset for c in index.captures("http://example.org/b")] == []  # still being written
    writer.close()
    (revisit,) = [c for c in index.captures("http://example.org/a") if c.revisit]
    assert (revisit.offset, revisit.digest, revisit.warc_file) == (again.offset, first.digest, again.warc_file)
    assert len(index.captures("http://example.org/b")) == 1

    # a file a killed writer left open is indexed when it is sealed
    killed = WarcWriter(datadir.warc_dir, "killed", max_bytes=10**9)
    exchange(killed, "http://example.org/c", b"left open")
    assert killed.path is not None and killed.path.with_name(killed.path.name + OPEN_SUFFIX).exists()
    killed._fh.close()  # type: ignore[union-attr]  # as a killed process leaves it
    seal_leftovers(datadir.warc_dir)  # the writer runs in this very process, so it is not "live"
    assert len(index.captures("http://example.org/c")) == 1
    for path in datadir.warc_files():
        assert Counter(indexed(lines_of(datadir.cdxj_dir / f"{path.name}.cdxj"))) == Counter(walk(path))


def test_a_warc_directory_outside_a_data_directory_is_not_indexed(tmp_path):
    writer = WarcWriter(tmp_path / "warc", "loose", max_bytes=10**9)
    exchange(writer, "http://example.org/a", b"body")
    writer.close()
    assert not (tmp_path / "cdxj").exists()


def test_merging_many_files_takes_several_passes_and_stays_sorted(tmp_path):
    rng = random.Random(5)
    paths, everything = [], []
    for number in range(23):
        lines = sorted(f"com,example)/{rng.randrange(10**6):06d} 20240101000000 {{}}\n" for _ in range(40))
        path = tmp_path / f"{number}.cdxj"
        path.write_text("".join(lines), encoding="utf-8")
        paths.append(path)
        everything += lines
    with open(tmp_path / "out.cdxj", "w", encoding="utf-8") as out:
        assert cdxj.merge_files(paths, out, fan_in=4) == len(everything)
    assert lines_of(tmp_path / "out.cdxj") == sorted(everything)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*(p.name for p in paths), "out.cdxj"])
