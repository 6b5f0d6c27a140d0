"""WACZ 1.1 packages of selected articles, made by the `wacz` library (py-wacz, Webrecorder's own).

We write what only we know: one WARC file of the articles' records with their requisites
(`archive.export.document_records`, the records of `--format warc`) and pages/pages.jsonl (one line per
article: id, url, ts, title and its extracted text, so ReplayWeb.page can search it). `wacz create` does the
rest as it does for any crawl: the CDXJ index of that WARC (indexes/index.cdx.gz and index.idx),
datapackage.json with every file's SHA-256, and datapackage-digest.json with datapackage.json's. A signed
package (archive/signing.py) is the same zip with `signedData` added to datapackage-digest.json.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.hazmat.primitives.asymmetric import ec
from wacz.main import main as wacz_main

from samizdat.archive.document import Document
from samizdat.archive.errors import SamizdatError
from samizdat.archive.export import RecordSpan, write_warc
from samizdat.archive.signing import fingerprint, public_key_b64, sign

DIGEST_NAME = "datapackage-digest.json"
PACKAGE_NAME = "datapackage.json"
PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "Articles", "hasText": True}
MAX_DATAPACKAGE_BYTES = 64 << 20  # datapackage.json lists each file once: megabytes at most
_COPY_BYTES = 1 << 20
# `wacz create` prints its progress with print(): one package at a time, its output kept to name a failure.
_CREATING = threading.Lock()


@dataclass
class WaczSummary:
    articles: int
    records: int  # record spans (exchanges) in its WARC file: pages and requisites
    requisites: int
    signed_by: str | None  # the public key's fingerprint


def write_wacz(
    root: Path,
    docs: Iterable[Document],
    out: BinaryIO,
    key: ec.EllipticCurvePrivateKey | None = None,
    title: str = "samizdat export",
    description: str = "",
    work_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> WaczSummary:
    """Write a WACZ package of `docs` (with their requisites) to `out`, signed with `key` if given. Its parts
    are made in a temporary directory (in `work_dir`: put it on the disk of the output, it holds a copy)."""
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    counts = {"records": 0, "requisites": 0}
    with tempfile.TemporaryDirectory(prefix=".samizdat-wacz-", dir=work_dir) as tmp:
        warc = Path(tmp) / f"samizdat-export-{stamp}.warc.gz"
        pages = Path(tmp) / "pages.jsonl"
        with open(warc, "wb") as warc_out, open(pages, "w", encoding="utf-8", newline="\n") as pages_out:
            pages_out.write(json.dumps(PAGES_HEADER) + "\n")

            def written(doc: Document, spans: list[RecordSpan]) -> None:
                counts["records"] += len(spans)
                counts["requisites"] += sum(1 for span in spans if span.kind != "page")
                pages_out.write(json.dumps(page_line(doc)) + "\n")  # ASCII: `wacz create` reads it in the locale's

            articles = write_warc(root, docs, warc_out, progress=progress, written=written)
        package = Path(tmp) / "package.wacz"
        arguments = ["create", "-o", str(package), str(warc), "--pages", str(pages), "--copy-pages"]
        arguments += ["--title", title] + (["--desc", description] if description else [])
        said = io.StringIO()
        with _CREATING, contextlib.redirect_stdout(said):
            status = wacz_main(arguments)
        if status != 0 or not package.is_file():
            last = " / ".join(said.getvalue().strip().splitlines()[-3:])
            raise SamizdatError(f"wacz create could not make the package (status {status}): {last}")
        warc.unlink()  # the package holds it: one copy on disk at a time
        if key is None:
            with open(package, "rb") as src:
                shutil.copyfileobj(src, out, _COPY_BYTES)
            return WaczSummary(articles, counts["records"], counts["requisites"], None)
        signed_by = _copy_signed(package, out, key)
    return WaczSummary(articles, counts["records"], counts["requisites"], signed_by)


def page_line(doc: Document) -> dict[str, Any]:
    """An article's line of pages.jsonl (WACZ "json-pages-1.0"): `ts` is its capture's WARC-Date."""
    line: dict[str, Any] = {"id": doc.id, "url": doc.url, "ts": doc.fetched_at, "title": doc.title or doc.url}
    if doc.text:
        line["text"] = doc.text
    return line


def _copy_signed(package: Path, out: BinaryIO, key: ec.EllipticCurvePrivateKey) -> str:
    """Copy the zip `package` to `out` with `signedData` in its datapackage-digest.json; the fingerprint."""
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(out, "w") as dst:
        datapackage = read_bounded(src, PACKAGE_NAME, MAX_DATAPACKAGE_BYTES)
        digest = json.loads(read_bounded(src, DIGEST_NAME, MAX_DATAPACKAGE_BYTES))
        created = json.loads(datapackage)["created"]
        digest["signedData"] = sign(key, digest["hash"], created)
        for info in src.infolist():
            copy = zipfile.ZipInfo(info.filename, info.date_time)
            copy.compress_type = info.compress_type
            copy.external_attr = info.external_attr
            copy.file_size = info.file_size
            if info.filename == DIGEST_NAME:
                dst.writestr(copy, json.dumps(digest, indent=2))
                continue
            with src.open(info) as reader, dst.open(copy, "w", force_zip64=info.file_size > zipfile.ZIP64_LIMIT) as w:
                shutil.copyfileobj(reader, w, _COPY_BYTES)
    return fingerprint(public_key_b64(key))


def read_bounded(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """A member of a zip, refused when it inflates past `limit` bytes (a zip bomb claims a small size)."""
    with archive.open(name) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise SamizdatError(f"{name}: larger than {limit} bytes, not a file samizdat wrote")
    return data
