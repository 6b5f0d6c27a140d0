"""WACZ export (issue 12): a package of the selected articles with their requisites, made by py-wacz, checked by
`wacz validate` run as a process, and replayed by a real pywb (`wb-manager`, `wayback`) with its stylesheet."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import lxml.html
import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_timestamp, timestamp_to_iso_date

from samizdat.archive.cdxj import CdxjIndex, IndexedCapture, iter_lines
from samizdat.archive.datadir import DataDir
from samizdat.archive.export import write_warc
from samizdat.archive.payload import decode_payload
from samizdat.archive.requisites import css_requisites, html_requisites
from samizdat.archive.store import Store
from tests.conftest import export_records, run_cli
from tests.helpers import http_get

SOURCE = "red-lantern"  # the magazine: stylesheets with an @import chain, a web font, srcset images, an icon


@dataclass
class Record:
    type: str
    uri: str
    record_id: str
    kind: str | None  # WARC-Resource-Type
    headers: list[tuple[str, str]]
    payload: bytes


@dataclass
class Package:
    path: Path
    result: subprocess.CompletedProcess
    pages: list[dict]
    records: list[Record]

    def payload(self, url: str) -> bytes:
        """The archived payload of `url` in the package (a revisit's is its original's)."""
        return next(r.payload for r in self.records if r.type == "response" and r.uri == url)


def read_package(path: Path) -> tuple[list[dict], list[Record]]:
    with zipfile.ZipFile(path) as wacz:
        lines = wacz.read("pages/pages.jsonl").decode("utf-8").splitlines()
        warcs = [name for name in wacz.namelist() if name.startswith("archive/")]
        assert len(warcs) == 1
        data = wacz.read(warcs[0])
    records = []
    for rec in ArchiveIterator(io.BytesIO(data)):
        http = rec.http_headers
        headers = list(http.headers) if http else []
        body = rec.content_stream().read() if rec.rec_type == "response" else b""
        encodings = [v for k, v in headers if k.lower() == "content-encoding"]
        if encodings:
            body, _kept = decode_payload(rec.raw_stream.read(), encodings, 1 << 26)
        records.append(
            Record(
                rec.rec_type,
                rec.rec_headers.get_header("WARC-Target-URI") or "",
                rec.rec_headers.get_header("WARC-Record-ID"),
                rec.rec_headers.get_header("WARC-Resource-Type"),
                headers,
                body,
            )
        )
    return [json.loads(line) for line in lines], records


@pytest.fixture(scope="module")
def package(crawl, tmp_path_factory) -> Package:
    out = tmp_path_factory.mktemp("wacz") / "red-lantern.wacz"
    result = run_cli("export", "--format", "wacz", "--source", SOURCE, "-o", out, "--data", crawl.data)
    assert result.returncode == 0, result.stderr
    pages, records = read_package(out)
    return Package(out, result, pages, records)


def test_the_package_passes_wacz_validate_and_is_signed_with_the_archives_key(package, crawl):
    validate = subprocess.run(
        [sys.executable, "-m", "wacz", "validate", "-f", str(package.path)], capture_output=True, text=True, timeout=120
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "the passed WACZ is valid" in validate.stdout
    with zipfile.ZipFile(package.path) as wacz:
        names = set(wacz.namelist())
        digest = json.loads(wacz.read("datapackage-digest.json"))
        datapackage = json.loads(wacz.read("datapackage.json"))
        # WARC files are stored, not deflated: a replayer reads them by range
        assert all(i.compress_type == zipfile.ZIP_STORED for i in wacz.infolist() if i.filename.startswith("archive/"))
    assert {"datapackage.json", "datapackage-digest.json", "pages/pages.jsonl", "indexes/index.cdx.gz"} <= names
    assert datapackage["wacz_version"].startswith("1.1")
    signed = digest["signedData"]
    assert signed["hash"] == digest["hash"] and signed["created"] == datapackage["created"] and signed["publicKey"]
    key = crawl.data / "signing-key.pem"
    assert key.stat().st_mode & 0o777 == 0o600  # made at the first signed export, the owner's only
    assert "signed with the archive's key sha256:" in package.result.stderr


def test_pages_jsonl_lists_each_article_with_its_text(package, crawl):
    articles = export_records(crawl.data, "--source", SOURCE, "--sort", "oldest")
    assert package.pages[0]["format"] == "json-pages-1.0" and package.pages[0]["hasText"] is True
    lines = package.pages[1:]
    assert [p["id"] for p in lines] == [a["id"] for a in articles]
    for line, article in zip(lines, articles, strict=True):
        assert (line["url"], line["ts"], line["title"], line["text"]) == (
            article["url"],
            article["fetched_at"],
            article["title"],
            article["text"],
        )


def test_each_article_comes_with_every_archived_requisite_once(package, crawl):
    """Computed from the archived HTML and CSS, so the truth is what the archive holds, not what we expect."""
    index = CdxjIndex.of(crawl.data)
    responses = {r.uri: r for r in package.records if r.type == "response"}
    pages = [r for r in package.records if r.type == "response" and r.kind in (None, "document")]
    assert {r.uri for r in pages} == {p["url"] for p in package.pages[1:]}
    expected: dict[str, str] = {}
    for page in pages:
        queue = html_requisites(lxml.html.document_fromstring(page.payload), page.uri, scripts=True)
        while queue:
            requisite = queue.pop(0)
            if requisite.url in expected or not index.captures(requisite.url):
                continue  # never archived (an offsite host): replay shows a placeholder
            expected[requisite.url] = requisite.kind
            if requisite.kind == "stylesheet" and requisite.url in responses:
                queue += css_requisites(responses[requisite.url].payload.decode("utf-8"), requisite.url)
    kinds = Counter(expected.values())
    assert kinds["stylesheet"] >= 3 and kinds["font"] >= 1 and kinds["image"] >= 2, kinds  # the @import chain too
    captured = {
        r.uri for r in package.records if r.type in ("response", "revisit") and r.kind not in (None, "document")
    }
    assert captured == set(expected)  # all of them, and nothing else
    # each record once: no exchange written twice for two articles that share a stylesheet
    exchanges = Counter((r.type, r.uri) for r in package.records if r.type in ("response", "revisit"))
    assert max(exchanges.values()) == 1
    assert len({r.record_id for r in package.records}) == len(package.records)
    assert f"with {len(expected)} requisite capture(s)" in package.result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_pywb_replays_an_article_from_the_package_with_its_stylesheet(package, tmp_path):
    tools = Path(sys.executable).parent
    manager = shutil.which("wb-manager", path=str(tools)) or "wb-manager"
    wayback = shutil.which("wayback", path=str(tools)) or "wayback"
    run = {"cwd": tmp_path, "capture_output": True, "text": True, "timeout": 120}
    assert subprocess.run([manager, "init", "C"], **run).returncode == 0
    added = subprocess.run([manager, "add", "--unpack-wacz", "C", str(package.path)], **run)
    assert added.returncode == 0, added.stderr
    port = _free_port()
    process = subprocess.Popen(
        [wayback, "-b", "127.0.0.1", "-p", str(port)], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        base = f"http://127.0.0.1:{port}/C/"
        for _ in range(300):  # until it listens (a few seconds)
            try:
                if http_get(f"http://127.0.0.1:{port}/", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("pywb did not start")
        page = next(p for p in package.pages[1:] if b"stylesheet" in package.payload(p["url"]))
        when = iso_date_to_timestamp(page["ts"])
        original = http_get(f"{base}{when}id_/{page['url']}")
        assert original.status == 200 and original.body == package.payload(page["url"])
        # the replayed page (pywb's rewriting, no frame) loads its stylesheets from the collection
        replayed = http_get(f"{base}{when}mp_/{page['url']}")
        assert replayed.status == 200 and page["title"].split()[0] in replayed.text
        links = re.findall(r"<link[^>]*rel=\"stylesheet\"[^>]*href=\"([^\"]+)\"", replayed.text)
        sheets = [urljoin(f"{base}{when}mp_/{page['url']}", href) for href in links]
        assert sheets and all(s.startswith(base) for s in sheets)
        for sheet in sheets:
            archived_url = re.fullmatch(re.escape(base) + r"\d{14}(?:[a-z]{2}_)?/(.+)", sheet)
            assert archived_url, sheet
            archived = package.payload(archived_url.group(1)).decode("utf-8")
            answer = http_get(sheet)
            assert answer.status == 200 and answer.headers.get_content_type() == "text/css", sheet
            # the archived stylesheet, its URLs rewritten by pywb and nothing else
            assert (
                re.sub(r"url\([^)]*\)|@import[^;]*;", "", answer.text).split()
                == re.sub(r"url\([^)]*\)|@import[^;]*;", "", archived).split()
            )
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_recrawled_requisite_comes_with_the_full_response_its_304_stands_for(crawl, tmp_path):
    """A recrawl asks for each requisite with its validators and archives the 304: a page captured then is
    exported with that 304 and the 200 response holding the payload, through the whole @import chain."""
    data = tmp_path / "data"
    shutil.copytree(crawl.data, data)
    config = tmp_path / "sources.toml"  # a few pages are enough: the requisites are the magazine's own
    config.write_text(
        crawl.config.read_text(encoding="utf-8").replace(f'name = "{SOURCE}"', f'name = "{SOURCE}"\nmax_pages = 4'),
        encoding="utf-8",
    )
    result = run_cli("crawl", SOURCE, "--config", config, "--data", data)
    assert result.returncode == 0, result.stdout + result.stderr
    with Store(DataDir(data).store_path) as store:
        docs = [d for d in store.iter_latest() if d.source == SOURCE][:3]
    # as if each page had been captured by the recrawl: its requisites' nearest captures are the 304s
    recrawled = max(IndexedCapture.parse(line).timestamp for line in iter_lines(data))
    moved = [dataclasses.replace(d, fetched_at=timestamp_to_iso_date(recrawled)) for d in docs]
    out = io.BytesIO()
    assert write_warc(data, moved, out) == len(docs)
    statuses: dict[str, set[int]] = {}
    for rec in ArchiveIterator(io.BytesIO(out.getvalue())):
        if rec.rec_type == "response" and rec.rec_headers.get_header("WARC-Resource-Type"):
            statuses.setdefault(rec.rec_headers.get_header("WARC-Target-URI"), set()).add(
                int(rec.http_headers.get_statuscode())
            )
    assert any(304 in found for found in statuses.values()), statuses  # the recrawl's own captures
    assert all(200 in found or 404 in found for found in statuses.values()), statuses  # each with its payload
    sheets = [url for url in statuses if url.endswith(".css")]
    assert {"a.css", "b.css", "c.css"} <= {url.rsplit("/", 1)[-1] for url in sheets}  # the @import chain
