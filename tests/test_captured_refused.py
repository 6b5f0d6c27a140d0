"""The page as captured, for a capture whose payload the archive refuses to decode (archive/payload.py
PayloadRefused): a gzip bomb larger than the limit its WARC file records, and a body that is not the gzip its
headers claim. `/documents/<id>/raw` (the frame of `/documents/<id>/captured`, and the only route that reads a
payload back from a WARC file) answers 422 with a page saying which, under the frame's own CSP, reading at
most the limit.

A crawl never makes such a capture a document; a document of an older crawl, or of a store rebuilt under a
larger limit, can still point at one, so the store here is written by hand over a real WARC file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

import lxml.html
import pytest

from samizdat.archive.datadir import DataDir
from samizdat.archive.document import Document
from samizdat.archive.store import Store
from samizdat.archive.warc import MAX_PAYLOAD_KEY, WarcWriter
from samizdat.webui import create_app
from samizdat.webui.security import RAW_CSP

MIB = 1 << 20
LIMIT = MIB  # what the WARC file records as its crawl's max_page_bytes
BOMB_MIB = 1100  # inflated whole, more than 1 GiB
ROOT = Path(__file__).resolve().parent.parent
HTML = b"<html><head><title>Fine</title></head><body><p>Rent strike minutes, kept as they were.</p></body></html>"


def gzip_bomb(mib: int) -> bytes:
    """A gzip member of `mib` MiB of zeros, built without holding them: after a full flush every MiB
    compresses to the same bytes, so one is compressed and repeated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(MIB)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    size = (mib * MIB) & 0xFFFFFFFF
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return (
        header + first + block * (mib - 1) + compressor.flush() + crc.to_bytes(4, "little") + size.to_bytes(4, "little")
    )


@pytest.fixture(scope="module")
def archive_dir(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A data directory with one WARC file (a bomb, a false gzip, a fine page) and a document for each."""
    data = DataDir.create(tmp_path_factory.mktemp("refused") / "data").root
    html = [("Content-Type", "text/html; charset=utf-8")]
    pages = {
        "bomb": ("http://refused.test/bomb.html", [*html, ("Content-Encoding", "gzip")], gzip_bomb(BOMB_MIB)),
        "false-gzip": ("http://refused.test/false-gzip.html", [*html, ("Content-Encoding", "gzip")], HTML),
        "fine": ("http://refused.test/fine.html", html, HTML),
    }
    ids = {}
    with WarcWriter(DataDir(data).warc_dir, "refused", max_bytes=1 << 40, info={MAX_PAYLOAD_KEY: LIMIT}) as writer:
        locations = {
            name: writer.write_exchange(url, "GET", [], 200, "OK", headers, body)
            for name, (url, headers, body) in pages.items()
        }
    with Store(DataDir(data).store_path) as store:
        for name, (url, _headers, _body) in pages.items():
            location = locations[name]
            doc = Document(
                url=url,
                source="refused",
                kind="generic",
                title=f"The {name} page",
                text="Minutes of the tenants' meeting. " * 20,
                fetched_at=location.date,
                warc_file=location.warc_file,
                warc_offset=location.offset,
                digest=location.digest,
            )
            store.upsert(doc)
            ids[name] = doc.id
    return data, ids


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("bomb", "This capture is larger than the archive's limit of 1,048,576 bytes (max_page_bytes"),
        ("false-gzip", "This capture could not be decoded: its body is not in the Content-Encoding"),
    ],
)
def test_a_refused_capture_is_a_422_saying_why_in_the_frame(archive_dir, name, says):
    data, ids = archive_dir
    client = create_app({"data_dir": data}).test_client()
    raw = client.get(f"/documents/{ids[name]}/raw")
    assert raw.status_code == 422 and raw.mimetype == "text/html"
    body = raw.get_data(as_text=True)
    text = lxml.html.fromstring(body).text_content()
    assert says in text and "kept in the WARC file as it came" in text, text
    assert raw.headers["Content-Security-Policy"] == RAW_CSP and raw.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "<script" not in body and "\x00" not in body and len(raw.get_data()) < 4096
    # numbered captures read the same way
    assert client.get(f"/documents/{ids[name]}/raw/1").status_code == 422
    # the captured view frames it: its own page is whole, the reason shows in the frame
    captured = client.get(f"/documents/{ids[name]}/captured")
    assert captured.status_code == 200 and f'src="/documents/{ids[name]}/raw/1"' in captured.get_data(as_text=True)
    # the document itself does not read the payload
    assert client.get(f"/documents/{ids[name]}").status_code == 200


def test_a_fine_capture_beside_them_is_shown(archive_dir):
    data, ids = archive_dir
    raw = create_app({"data_dir": data}).test_client().get(f"/documents/{ids['fine']}/raw")
    assert raw.status_code == 200 and "Rent strike minutes, kept as they were." in raw.get_data(as_text=True)


MEASURE = """
import json, sys
from tests.helpers import own_peak_bytes
from samizdat.webui import create_app
client = create_app({"data_dir": sys.argv[1]}).test_client()
response = client.get(f"/documents/{sys.argv[2]}/raw")
peak = own_peak_bytes()
print(json.dumps({"status": response.status_code, "peak_bytes": peak}))
"""


def test_the_bomb_is_refused_in_bounded_memory(archive_dir):
    data, ids = archive_dir
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(data), ids["bomb"]], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout)
    # inflated whole it would take more than 1 GiB; the whole process, Flask and all, stays far below
    assert measured["status"] == 422 and measured["peak_bytes"] < 200 * MIB, measured
