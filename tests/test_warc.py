"""The WARC layer: files that say when they are finished, IIPC names, sealing what a killed process left,
record-by-record verification, revisit records."""

from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from samizdat.archive.datadir import DataDir
from samizdat.archive.document import Document
from samizdat.archive.export import iter_warc, write_warc
from samizdat.archive.warc import (
    OPEN_SUFFIX,
    Original,
    WarcWriter,
    copy_records,
    iter_entries,
    payload_digest,
    read_capture,
    resolve_warc_path,
    seal_leftovers,
    verify_warc,
)

IIPC_NAME = re.compile(
    r"^(?P<prefix>[a-z0-9_-]+)-(?P<stamp>\d{17})-(?P<serial>\d{5})-(?P<pid>\d+)~(?P<host>[^~/]+)\.warc\.gz$"
)
BIG_BODY_BYTES = 3 * 1024 * 1024  # larger than the 1 MiB chunks the record checks inflate at a time


def exchange(writer: WarcWriter, url: str, body: bytes, status: int = 200, same_as: Original | None = None):
    return writer.write_exchange(
        url,
        "GET",
        [("User-Agent", "samizdat-test")],
        status,
        "OK" if status == 200 else "Not Modified",
        [("Content-Type", "text/html; charset=utf-8"), ("ETag", '"v1"')],
        body,
        same_as=same_as,
    )


def warcio_check(path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def records(path: Path) -> list[tuple[str, int, int]]:
    """(type, offset, length) of every record, each read to the end of its content."""
    found = []
    with open(path, "rb") as fh:
        iterator = ArchiveIterator(fh)
        for record in iterator:
            stream = record.content_stream()
            while stream.read(1 << 20):
                pass
            iterator.read_to_end()
            found.append((record.rec_type, iterator.get_record_offset(), iterator.get_record_length()))
    return found


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_a_file_is_open_until_closed_then_sealed(tmp_path):
    warc_dir = tmp_path / "warc"
    writer = WarcWriter(warc_dir, "kz", max_bytes=10**9, info={"operator": "test"})
    locations = [exchange(writer, f"http://example.org/{i}", f"<p>page {i}</p>".encode()) for i in range(3)]
    (only,) = names(warc_dir)
    assert only.endswith(".warc.gz" + OPEN_SUFFIX)
    assert writer.files == [only.removesuffix(OPEN_SUFFIX)]
    # a location handed out while the file is open names the final file, and reads now ...
    assert {loc.warc_file for loc in locations} == {f"warc/{writer.files[0]}"}
    assert read_capture(tmp_path, locations[1].warc_file, locations[1].offset).payload == b"<p>page 1</p>"
    assert resolve_warc_path(tmp_path, locations[1].warc_file).name == only
    writer.close()
    assert names(warc_dir) == writer.files
    # ... and after sealing
    for i, loc in enumerate(locations):
        capture = read_capture(tmp_path, loc.warc_file, loc.offset)
        assert (capture.url, capture.payload, capture.digest) == (
            f"http://example.org/{i}",
            f"<p>page {i}</p>".encode(),
            loc.digest,
        )
    assert resolve_warc_path(tmp_path, locations[0].warc_file).name == writer.files[0]
    warcio_check(warc_dir / writer.files[0])
    assert verify_warc(warc_dir / writer.files[0]) == 1 + 2 * 3


def test_rotation_seals_each_full_file_at_once(tmp_path):
    writer = WarcWriter(tmp_path, "kz", max_bytes=1500)
    for i in range(5):
        exchange(writer, f"http://example.org/{i}", os.urandom(1200))
        # every file but the one being written is sealed as soon as it is full
        sealed = [n for n in names(tmp_path) if not n.endswith(OPEN_SUFFIX)]
        assert sealed == sorted(writer.files)[: len(sealed)]
        assert len([n for n in names(tmp_path) if n.endswith(OPEN_SUFFIX)]) <= 1
    writer.close()
    assert len(writer.files) == 5 and names(tmp_path) == sorted(writer.files)
    for name in writer.files:
        assert verify_warc(tmp_path / name) == 3


def test_names_follow_the_iipc_pattern_and_never_collide(tmp_path):
    writers = [WarcWriter(tmp_path, "kz", max_bytes=10**9) for _ in range(30)]
    for i, writer in enumerate(writers):  # thirty writers of one source opening files in the same instant
        exchange(writer, f"http://example.org/{i}", b"x")
    for writer in writers:
        writer.close()
    files = [name for writer in writers for name in writer.files]
    assert len(set(files)) == 30 and names(tmp_path) == sorted(files)
    for name in files:
        match = IIPC_NAME.match(name)
        assert match, name
        assert match["prefix"] == "kz" and int(match["pid"]) == os.getpid()
        assert verify_warc(tmp_path / name) == 3


def test_two_processes_writing_one_source_never_collide(tmp_path):
    script = (
        "import sys\n"
        "from archive.warc import WarcWriter\n"
        "w = WarcWriter(sys.argv[1], 'kz', max_bytes=200)\n"
        "for i in range(40):\n"
        "    w.write_exchange(f'http://example.org/{i}', 'GET', [], 200, 'OK', [], b'x' * 50)\n"
        "w.close()\n"
        "print(len(w.files))\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    counts = [int(p.communicate(timeout=120)[0]) for p in processes]
    assert counts == [40, 40]
    files = names(tmp_path)
    assert len(files) == 80
    assert len({IIPC_NAME.match(name)["pid"] for name in files}) == 2


def test_datadir_lists_sealed_files_oldest_first(tmp_path):
    datadir = DataDir.create(tmp_path / "data")
    older = datadir.warc_dir / "zz-20240101120000-00003.warc.gz"  # an older 14-digit name sorts by its time
    older.write_bytes(b"")
    first = WarcWriter(datadir.warc_dir, "zz", max_bytes=10**9)
    exchange(first, "http://example.org/a", b"a")
    first.close()
    time.sleep(0.01)  # the names tell the time to the millisecond
    second = WarcWriter(datadir.warc_dir, "aa", max_bytes=10**9)
    exchange(second, "http://example.org/b", b"b")
    second.close()
    time.sleep(0.01)
    still_open = WarcWriter(datadir.warc_dir, "mm", max_bytes=10**9)
    exchange(still_open, "http://example.org/c", b"c")
    listed = [p.name for p in datadir.warc_files()]
    assert listed == [older.name, first.files[0], second.files[0]]
    still_open.close()
    assert [p.name for p in datadir.warc_files()][-1] == still_open.files[0]


def test_resolve_warc_path_refuses_paths_outside_and_names_missing_files(tmp_path):
    (tmp_path / "data" / "warc").mkdir(parents=True)
    (tmp_path / "secret.warc.gz").write_bytes(b"x")
    with pytest.raises(ValueError, match="outside"):
        resolve_warc_path(tmp_path / "data", "../secret.warc.gz")
    with pytest.raises(ValueError, match="outside"):
        read_capture(tmp_path / "data", "/etc/passwd", 0)
    with pytest.raises(FileNotFoundError):
        resolve_warc_path(tmp_path / "data", "warc/none.warc.gz")


def test_copy_records_and_export_read_a_file_still_being_written(tmp_path):
    writer = WarcWriter(tmp_path / "warc", "kz", max_bytes=10**9)
    loc = exchange(writer, "http://example.org/a", b"<p>a</p>")
    out = io.BytesIO()
    assert copy_records(tmp_path / loc.warc_file, loc.offset, out) == 2
    doc = Document(
        url="http://example.org/a",
        source="kz",
        kind="generic",
        title="A",
        text="a",
        warc_file=loc.warc_file,
        warc_offset=loc.offset,
    )
    exported = b"".join(iter_warc(tmp_path, [doc]))
    streamed = io.BytesIO()
    assert write_warc(tmp_path, [doc], streamed) == 1
    writer.close()
    assert out.getvalue() and out.getvalue() in exported
    assert streamed.getvalue().endswith(out.getvalue())  # the file export copies them a chunk at a time
    copied = tmp_path / "copied.warc.gz"
    copied.write_bytes(out.getvalue())
    assert [r[0] for r in records(copied)] == ["response", "request"]


@pytest.fixture(scope="module")
def complete_file(tmp_path_factory):
    """A sealed file: warcinfo, two small exchanges, one of several megabytes of random bytes, one more."""
    directory = tmp_path_factory.mktemp("complete")
    writer = WarcWriter(directory, "kz", max_bytes=10**9, info={"operator": "test"})
    exchange(writer, "http://example.org/1", b"<p>one</p>" * 50)
    exchange(writer, "http://example.org/2", b"<p>two</p>" * 50)
    exchange(writer, "http://example.org/big.pdf", os.urandom(BIG_BODY_BYTES))
    exchange(writer, "http://example.org/3", b"<p>three</p>" * 50)
    writer.close()
    path = directory / writer.files[0]
    found = records(path)
    assert [r[0] for r in found] == ["warcinfo"] + ["response", "request"] * 4
    assert found[-1][1] + found[-1][2] == path.stat().st_size
    return path, [offset + length for _type, offset, length in found]


def cut_cases(ends: list[int]) -> dict[str, int]:
    big_start, big_end = ends[4], ends[5]  # the big response is the fifth record
    return {
        "empty": 0,
        "inside the warcinfo": ends[0] // 2,
        "in the warcinfo's gzip trailer": ends[0] - 3,
        "right after the warcinfo": ends[0],
        "inside a response member": (ends[2] + ends[3]) // 2,
        "at a member boundary": ends[3],
        "one byte into a member": ends[3] + 1,
        "inside the big response": big_start + (big_end - big_start) // 2,
        "just short of the big response's end": big_end - 1,
        "one byte short of the end": ends[-1] - 1,
        "whole": ends[-1],
    }


@pytest.mark.parametrize(
    "case",
    [
        "empty",
        "inside the warcinfo",
        "in the warcinfo's gzip trailer",
        "right after the warcinfo",
        "inside a response member",
        "at a member boundary",
        "one byte into a member",
        "inside the big response",
        "just short of the big response's end",
        "one byte short of the end",
        "whole",
    ],
)
def test_seal_leftovers_keeps_exactly_the_complete_records(complete_file, tmp_path, case):
    source, ends = complete_file
    cut = cut_cases(ends)[case]
    kept = [end for end in ends if end <= cut]
    leftover = tmp_path / (source.name + OPEN_SUFFIX)
    with open(source, "rb") as src, open(leftover, "wb") as dst:
        dst.write(src.read(cut))
    (report,) = seal_leftovers(tmp_path)
    assert report["file"] == source.name and report["records"] == len(kept)
    final = tmp_path / source.name
    if not kept:
        assert report["action"] == "removed" and names(tmp_path) == []
        return
    assert report["action"] == "sealed" and names(tmp_path) == [source.name]
    assert final.stat().st_size == kept[-1] == report["kept_bytes"]
    assert report["cut_bytes"] == cut - kept[-1]
    assert (report["damage"] is None) == (cut == kept[-1])
    assert verify_warc(final) == len(kept)
    assert [offset + length for _t, offset, length in records(final)] == kept  # every record reads to its end
    warcio_check(final)
    assert seal_leftovers(tmp_path) == []


def test_a_complete_member_with_a_short_record_is_cut_too(complete_file, tmp_path):
    """A gzip member can inflate to its end and still hold less than its Content-Length says."""
    source, ends = complete_file
    data = source.read_bytes()
    short = gzip.compress(gzip.decompress(data[ends[2] : ends[3]])[:-100])
    leftover = tmp_path / (source.name + OPEN_SUFFIX)
    leftover.write_bytes(data[: ends[2]] + short + data[ends[3] :])
    (report,) = seal_leftovers(tmp_path)
    assert report["records"] == 3 and report["action"] == "sealed"
    assert f"offset {ends[2]}" in report["damage"] and "Content-Length" in report["damage"]
    assert verify_warc(tmp_path / source.name) == 3


def test_garbage_after_the_last_record_is_cut(complete_file, tmp_path):
    source, ends = complete_file
    leftover = tmp_path / (source.name + OPEN_SUFFIX)
    leftover.write_bytes(source.read_bytes()[: ends[3]] + b"\0" * 4096)  # what a power cut can leave
    (report,) = seal_leftovers(tmp_path)
    assert (report["records"], report["cut_bytes"]) == (4, 4096)
    warcio_check(tmp_path / source.name)


def test_verify_warc_names_the_first_damaged_record(complete_file, tmp_path):
    source, ends = complete_file
    assert verify_warc(source) == 9
    data = bytearray(source.read_bytes())
    truncated = tmp_path / "truncated.warc.gz"
    truncated.write_bytes(data[: ends[6] - 10])
    with pytest.raises(ValueError, match=rf"offset {ends[5]}\b.*\b6 complete records"):
        verify_warc(truncated)
    middle = (ends[4] + ends[5]) // 2  # a flipped byte inside the big response
    data[middle] ^= 0xFF
    damaged = tmp_path / "damaged.warc.gz"
    damaged.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=rf"offset {ends[4]}\b"):
        verify_warc(damaged)


def test_verify_warc_reads_uncompressed_files(complete_file, tmp_path):
    source, _ends = complete_file
    plain = tmp_path / "plain.warc"
    with gzip.open(source, "rb") as src, open(plain, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert verify_warc(plain) == 9
    cut = tmp_path / "cut.warc"
    cut.write_bytes(plain.read_bytes()[:-3])
    with pytest.raises(ValueError, match="8 complete records"):
        verify_warc(cut)


def test_payload_digest_is_warcios(tmp_path):
    for body in (b"", b"<p>hello</p>", os.urandom(100_000)):
        buffer = io.BytesIO()
        writer = WARCWriter(buffer, gzip=True, warc_version="1.1")
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        record = writer.create_warc_record(
            "http://example.org/", "response", payload=io.BytesIO(body), http_headers=http
        )
        writer.write_record(record)
        buffer.seek(0)
        (read,) = list(ArchiveIterator(buffer))
        assert payload_digest(body) == read.rec_headers.get_header("WARC-Payload-Digest")


def test_revisits_only_for_identical_payloads(tmp_path):
    writer = WarcWriter(tmp_path / "warc", "kz", max_bytes=10**9)
    body = os.urandom(20_000)  # incompressible, so that sizes in the file tell a payload from none
    first = exchange(writer, "http://example.org/a", body)
    assert not first.revisit and first.original is None and first.digest == payload_digest(body)
    original = Original("http://example.org/a", first.date, first.digest, first.warc_file, first.offset)
    changed = exchange(writer, "http://example.org/a", body + b"<p>one more line</p>", same_as=original)
    same = exchange(writer, "http://example.org/a", body, same_as=original)
    moved = exchange(writer, "http://example.org/a-copy", body, same_as=original)
    not_modified = exchange(writer, "http://example.org/a", b"", status=304)
    writer.close()
    path = tmp_path / same.warc_file
    assert not changed.revisit and changed.original is None
    assert same.revisit and same.original == (first.warc_file, first.offset) and same.digest == first.digest
    assert moved.revisit and moved.original == (first.warc_file, first.offset)
    warcio_check(path)
    assert verify_warc(path) == 1 + 2 * 5

    entries = [e for e in iter_entries(path, path.name) if e.type in ("response", "revisit")]
    assert [(e.type, e.offset) for e in entries] == [
        ("response", first.offset),
        ("response", changed.offset),
        ("revisit", same.offset),
        ("revisit", moved.offset),
        ("response", not_modified.offset),
    ]
    revisit = entries[3].info
    assert revisit == {
        "url": "http://example.org/a-copy",
        "date": moved.date,
        "refers_to_uri": "http://example.org/a",
        "refers_to_date": first.date,
        "digest": first.digest,
        "status": 200,
    }
    with open(path, "rb") as fh:
        fh.seek(same.offset)
        record = next(iter(ArchiveIterator(fh)))
        assert record.rec_headers.get_header("WARC-Profile") == (
            "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
        )
        assert record.rec_headers.protocol == "WARC/1.1"
        assert record.http_headers.get_header("ETag") == '"v1"'  # status line and headers kept, no payload
        assert record.content_stream().read() == b""
    # a revisit record is much smaller than the response it stands for
    assert entries[3].offset - entries[2].offset < changed.offset - first.offset
    with pytest.raises(ValueError, match=r"revisit record.*http://example\.org/a at"):
        read_capture(tmp_path, same.warc_file, same.offset)
    assert read_capture(tmp_path, same.original[0], same.original[1]).payload == body
    capture = read_capture(tmp_path, not_modified.warc_file, not_modified.offset)
    assert (capture.status, capture.payload, capture.header("ETag")) == (304, b"", '"v1"')
