"""What an export holds, checkable by anyone: manifests of SHA-256 digests, and `samizdat verify`.

A JSONL, CSV or WARC export written to a file gets a manifest beside it, `FILE.sha256`:

    <sha256 of the whole file>  <file name>
    # samizdat-manifest 1 {"file": ..., "format": "jsonl", "bytes": ..., "records": ..., "created": ..., ...}
    # {"record": 1, "line": 1, "id": "…", "url": "…", "offset": 0, "bytes": 2345, "sha256": "…"}
    ...

Its first line is what `sha256sum` writes, and `sha256sum -c FILE.sha256` checks the whole file with nothing
but coreutils (it skips the `#` lines). Each `#` line after the header is one record: a JSONL line, a CSV row
(row 0 is the header) with its document's id and URL, a WARC record with its WARC-Record-ID, type and target
URI; its byte offset and length in the file and its own SHA-256, so that a changed record can be named.

`verify_file` checks a WACZ package (every file against datapackage.json, datapackage.json against
datapackage-digest.json, the signature if there is one, every WARC record's WARC-Block-Digest and
WARC-Payload-Digest), an export against its manifest (and a WARC export's record digests too), or a WARC
file alone (its record digests). Every read is bounded: records are hashed a chunk at a time, headers and
manifest lines have a maximum length, a zip member is never inflated past the size it declares.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from samizdat.archive.errors import SamizdatError
from samizdat.archive.signing import check as check_signature
from samizdat.archive.signing import fingerprint
from samizdat.archive.warc import SOFTWARE, verify_warc

MANIFEST_SUFFIX = ".sha256"
MANIFEST_TAG = "# samizdat-manifest 1 "
FORMATS = ("jsonl", "csv", "warc")
CHUNK_BYTES = 1 << 20
HEAD_BYTES = 8192  # what is kept of a record's start to name it (its id and URL come first)
MAX_MANIFEST_LINE = 1 << 16
MAX_HTTP_HEADER_BYTES = 1 << 20
MAX_JSON_BYTES = 64 << 20  # datapackage.json, datapackage-digest.json
MAX_ZIP_MEMBERS = 100_000
_JSONL_ID = re.compile(rb'^\{"id": "([^"\\]{0,200})", "url": "((?:[^"\\]|\\.){0,4096})"')
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"


class NotVerifiable(SamizdatError):
    """A file that is neither a WACZ package, nor an export with its manifest, nor a WARC file."""


@dataclass
class RecordDigest:
    """One record of an export file: where it is, its SHA-256, and what names it (`label`)."""

    number: int
    offset: int
    length: int
    sha256: str
    label: dict[str, Any] = field(default_factory=dict)

    def to_manifest(self) -> dict[str, Any]:
        return {"record": self.number, **self.label, "offset": self.offset, "bytes": self.length, "sha256": self.sha256}


@dataclass
class Report:
    """What `verify_file` found: `problems` (one line each) or, when there are none, `summary`."""

    path: Path
    kind: str
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def summary(self) -> str:
        return f"OK: {self.path.name} ({self.kind}): " + "; ".join(self.checked)


# -- manifests -------------------------------------------------------------------------------------------------


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + MANIFEST_SUFFIX)


def write_manifest(path: Path, fmt: str) -> Path:
    """Write `FILE.sha256` beside the export `path` (of format jsonl, csv or warc), whole or not at all."""
    if fmt not in FORMATS:
        raise ValueError(f"no manifest for format {fmt!r}")
    target = manifest_path(path)
    part = target.with_name(f".{target.name}.part")
    size, whole = _file_digest(path)
    try:
        # The records first (to a temporary file), so that the header can give their number.
        with tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n") as lines:
            records = 0
            for record in iter_records(path, fmt):
                records += 1
                lines.write("# " + json.dumps(record.to_manifest(), ensure_ascii=True) + "\n")
            header = {
                "file": path.name,
                "format": fmt,
                "bytes": size,
                "sha256": whole,
                "records": records,
                "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "software": SOFTWARE,
            }
            lines.seek(0)
            with open(part, "w", encoding="utf-8", newline="\n") as out:
                out.write(f"{whole}  {path.name}\n")
                out.write(MANIFEST_TAG + json.dumps(header, ensure_ascii=True) + "\n")
                shutil.copyfileobj(lines, out)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return target


def iter_records(path: Path, fmt: str) -> Iterator[RecordDigest]:
    """The records of an export file, each hashed as it is read (never whole in memory)."""
    if fmt == "warc":
        yield from (digest for digest, _problems in _warc_records(path))
        return
    with open(path, "rb") as fh:
        yield from _text_records(fh, fmt)


def _text_records(fh: BinaryIO, fmt: str) -> Iterator[RecordDigest]:
    """JSONL lines, or CSV rows (a newline inside a quoted field does not end a row: RFC 4180 doubles a quote,
    so a row ends at a newline after an even number of quotes)."""
    number, offset = 0, 0
    hasher, length, head, quotes = hashlib.sha256(), 0, bytearray(), 0
    while chunk := fh.read(CHUNK_BYTES):
        start = 0
        while start < len(chunk):
            newline = chunk.find(b"\n", start)
            end = len(chunk) if newline < 0 else newline + 1
            piece = chunk[start:end]
            hasher.update(piece)
            length += len(piece)
            if len(head) < HEAD_BYTES:
                head += piece[: HEAD_BYTES - len(head)]
            if fmt == "csv":
                quotes += piece.count(b'"')
            start = end
            if newline >= 0 and quotes % 2 == 0:
                number += 1
                yield RecordDigest(number, offset, length, hasher.hexdigest(), _label(fmt, number, bytes(head)))
                offset += length
                hasher, length, head, quotes = hashlib.sha256(), 0, bytearray(), 0
    if length:
        number += 1
        yield RecordDigest(number, offset, length, hasher.hexdigest(), _label(fmt, number, bytes(head)))


def _label(fmt: str, number: int, head: bytes) -> dict[str, Any]:
    if fmt == "jsonl":
        match = _JSONL_ID.match(head)
        label: dict[str, Any] = {"line": number}
        if match:
            label["id"] = match.group(1).decode("utf-8", "replace")
            with contextlib.suppress(ValueError):
                label["url"] = json.loads(b'"' + match.group(2) + b'"')
        return label
    label = {"row": number - 1}  # row 0 is the header
    if number > 1:
        first_line = head.split(b"\n", 1)[0].decode("utf-8", "replace")
        fields = next(csv.reader([first_line]), [])
        if fields:
            label["id"] = fields[0]
        if len(fields) > 1:
            label["url"] = fields[1]
    return label


def _file_digest(path: Path) -> tuple[int, str]:
    hasher = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            hasher.update(chunk)
            size += len(chunk)
    return size, hasher.hexdigest()


# -- WARC records: their stored bytes and their own digests ----------------------------------------------------


def _warc_records(path: Path) -> Iterator[tuple[RecordDigest, list[str]]]:
    """Each record of a WARC file (checked whole first: `verify_warc`) with what is wrong with its
    WARC-Block-Digest and WARC-Payload-Digest. ValueError for a file that is not complete WARC records."""
    verify_warc(path)  # bounded headers, every record to its end: warcio's reader may then be trusted with it
    with open(path, "rb") as fh, open(path, "rb") as raw:
        iterator = ArchiveIterator(fh, no_record_parse=True)
        for number, record in enumerate(iterator, start=1):
            headers = record.rec_headers
            problems = _check_block(record)
            iterator.read_to_end()
            offset, length = iterator.get_record_offset(), iterator.get_record_length()
            label = {
                "type": record.rec_type,
                "record_id": headers.get_header("WARC-Record-ID"),
                "uri": headers.get_header("WARC-Target-URI"),
            }
            yield RecordDigest(number, offset, length, _range_digest(raw, offset, length), label), problems


def _range_digest(fh: BinaryIO, offset: int, length: int) -> str:
    hasher = hashlib.sha256()
    fh.seek(offset)
    left = length
    while left > 0:
        chunk = fh.read(min(left, CHUNK_BYTES))
        if not chunk:
            break
        hasher.update(chunk)
        left -= len(chunk)
    return hasher.hexdigest()


def _check_block(record: Any) -> list[str]:
    """Read a record's block a chunk at a time and compare it with its WARC-Block-Digest, and the HTTP payload
    (after the HTTP header) with its WARC-Payload-Digest; a revisit's payload digest is its original's."""
    headers = record.rec_headers
    block_digest = headers.get_header("WARC-Block-Digest")
    payload_digest = headers.get_header("WARC-Payload-Digest") if record.rec_type != "revisit" else None
    block = _digester(block_digest)
    payload = _digester(payload_digest)
    is_http = "application/http" in (headers.get_header("Content-Type") or "").lower()
    head = bytearray()
    in_payload = not is_http
    problems: list[str] = []
    while chunk := record.raw_stream.read(CHUNK_BYTES):
        if block is not None:
            block.update(chunk)
        if in_payload:
            if payload is not None:
                payload.update(chunk)
            continue
        head += chunk
        end = head.find(b"\r\n\r\n")
        if end >= 0:
            in_payload = True
            if payload is not None:
                payload.update(bytes(head[end + 4 :]))
            head = bytearray()
        elif len(head) > MAX_HTTP_HEADER_BYTES:
            problems.append(f"no end to its HTTP header in its first {MAX_HTTP_HEADER_BYTES} bytes")
            in_payload, payload = True, None
    if block is not None and not _same_digest(block, block_digest):
        problems.append(f"WARC-Block-Digest {block_digest} does not match its block")
    if payload is not None and not in_payload:
        problems.append("its HTTP header has no end, so it has no payload to match WARC-Payload-Digest")
    elif payload is not None and not _same_digest(payload, payload_digest):
        problems.append(f"WARC-Payload-Digest {payload_digest} does not match its payload")
    return problems


def _digester(digest: str | None) -> Any:
    if not digest or ":" not in digest:
        return None
    algorithm = digest.split(":", 1)[0].strip().lower().replace("-", "")
    try:
        return hashlib.new(algorithm)
    except ValueError:
        return None


def _same_digest(hasher: Any, expected: str | None) -> bool:
    """WARC digests are `algorithm:value`, the value in base32 (warcio, Heritrix) or hex."""
    value = (expected or "").split(":", 1)[-1].strip()
    raw = hasher.digest()
    return value.upper().rstrip("=") == base64.b32encode(raw).decode("ascii").rstrip("=") or value.lower() == raw.hex()


def check_warc_digests(path: Path, name: str | None = None) -> tuple[int, list[str]]:
    """(records, one line per record whose digests do not match: its file, offset, WARC-Record-ID and URI)."""
    name = name or path.name
    count = 0
    problems = []
    try:
        for digest, wrong in _warc_records(path):
            count += 1
            for problem in wrong:
                problems.append(f"{name} at offset {digest.offset}: {_record_name(digest.label)}: {problem}")
    except (ValueError, ArchiveLoadFailed, EOFError, zlib.error) as exc:
        problems.append(f"{name}: not whole WARC records: {exc}")
    return count, problems


def _record_name(label: dict[str, Any]) -> str:
    if "record_id" in label:
        return f"{label.get('type')} record {label.get('record_id')} ({label.get('uri')})"
    where = f"line {label['line']}" if "line" in label else f"row {label.get('row')}"
    if label.get("id"):
        return f"{where} (document {label['id']}, {label.get('url', '')})"
    return where


# -- verify ----------------------------------------------------------------------------------------------------


def verify_file(path: Path) -> Report:
    """Check `path` (see the module's doc). NotVerifiable when it is none of what samizdat can check."""
    path = Path(path)
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic == _ZIP_MAGIC:
        return verify_wacz(path)
    manifest = manifest_path(path)
    if manifest.is_file():
        return verify_against_manifest(path, manifest)
    if _is_warc(path, magic):
        report = Report(path, "WARC file")
        count, report.problems = check_warc_digests(path)
        report.checked.append(f"{count} records' WARC digests match (no manifest {manifest.name} beside it)")
        return report
    raise NotVerifiable(
        f"{path}: neither a WACZ package, nor an export with its manifest {manifest.name} beside it, nor a WARC file"
    )


def _is_warc(path: Path, magic: bytes) -> bool:
    if magic.startswith(b"WARC"):
        return True
    if not magic.startswith(_GZIP_MAGIC):
        return False
    with open(path, "rb") as fh:
        try:
            return zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(fh.read(4096), 5).startswith(b"WARC/")
        except zlib.error:
            return False


def read_manifest(manifest: Path) -> tuple[str, str, dict[str, Any], Iterator[dict[str, Any]]]:
    """(whole-file SHA-256, file name, header, its records) of a manifest; its lines are bounded."""
    with open(manifest, "rb") as fh:
        first = fh.readline(MAX_MANIFEST_LINE).decode("utf-8", "replace").rstrip("\n")
        header: dict[str, Any] | None = None
        while line := fh.readline(MAX_MANIFEST_LINE):
            if line.startswith(MANIFEST_TAG.encode()):
                header = _json_object(line[len(MANIFEST_TAG) :])
    whole, _sep, name = first.partition("  ")
    if not re.fullmatch(r"[0-9a-f]{64}", whole) or header is None:
        raise NotVerifiable(f"{manifest}: not a samizdat manifest (a sha256sum line, then '{MANIFEST_TAG.strip()}')")
    return whole, name.lstrip("*"), header, _manifest_records(manifest)


def _manifest_records(manifest: Path) -> Iterator[dict[str, Any]]:
    with open(manifest, "rb") as fh:
        fh.readline(MAX_MANIFEST_LINE)
        while line := fh.readline(MAX_MANIFEST_LINE):
            if line.startswith(b"# {"):
                record = _json_object(line[2:])
                if record is not None:
                    yield record


def _json_object(data: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def verify_against_manifest(path: Path, manifest: Path) -> Report:
    whole, name, header, expected = read_manifest(manifest)
    fmt = str(header.get("format"))
    if fmt not in FORMATS:
        raise NotVerifiable(f"{manifest}: names the format {fmt!r}, not one of {', '.join(FORMATS)}")
    report = Report(path, f"{fmt.upper()} export")
    if name != path.name:
        report.problems.append(f"{path.name}: the manifest {manifest.name} is of {name!r}, not of this file")
    _size, actual = _file_digest(path)
    if actual != whole:
        report.problems.append(f"{path.name}: its SHA-256 {actual} is not the manifest's {whole}")
    problems: list[str] = []
    records = 0
    if fmt == "warc":
        try:
            found = list(_digests_with_problems(path, problems))
        except (ValueError, ArchiveLoadFailed, EOFError, zlib.error) as exc:
            report.problems.append(f"{path.name}: not whole WARC records: {exc}")
            return report
        actual_records: Iterator[RecordDigest] = iter(found)
    else:
        actual_records = iter_records(path, fmt)
    for listed in expected:
        record = next(actual_records, None)
        if record is None:
            report.problems.append(f"{path.name}: {_record_name(listed)} is in the manifest, missing from the file")
            continue
        records += 1
        if record.sha256 != listed.get("sha256"):
            report.problems.append(
                f"{path.name}: {_record_name(listed)} at offset {record.offset}: "
                "its SHA-256 differs from the manifest's"
            )
    for extra in actual_records:
        report.problems.append(f"{path.name}: {_record_name(extra.label)} is not in the manifest")
    report.problems.extend(f"{path.name} at offset {p}" for p in problems)
    report.checked.append(f"SHA-256 matches {manifest.name}")
    report.checked.append(f"{records} records match it one by one")
    if fmt == "warc":
        report.checked.append("every record's WARC digests match")
    return report


def _digests_with_problems(path: Path, problems: list[str]) -> Iterator[RecordDigest]:
    for digest, wrong in _warc_records(path):
        problems.extend(f"{digest.offset}: {_record_name(digest.label)}: {problem}" for problem in wrong)
        yield digest


def verify_wacz(path: Path) -> Report:
    report = Report(path, "WACZ package")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise NotVerifiable(f"{path}: a damaged zip file, not a WACZ package ({exc})") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise NotVerifiable(f"{path}: {len(members)} files in one zip; not a WACZ package samizdat can check")
        names = {info.filename for info in members}
        if "datapackage.json" not in names:
            raise NotVerifiable(f"{path}: a zip file without datapackage.json, not a WACZ package")
        package_bytes = _member_bytes(archive, "datapackage.json", report)
        package = _json_object(package_bytes or b"") or {}
        resources = package.get("resources") if isinstance(package.get("resources"), list) else []
        assert isinstance(resources, list)
        listed = {}
        for resource in resources:
            if isinstance(resource, dict) and isinstance(resource.get("path"), str):
                listed[resource["path"]] = resource
        if not listed:
            report.problems.append(f"{path.name}: datapackage.json lists no files")
        for member_name in sorted(names - set(listed) - {"datapackage.json", "datapackage-digest.json"}):
            if not member_name.endswith("/"):
                report.problems.append(f"{path.name}: {member_name} is not listed in datapackage.json")
        warc_records = 0
        with tempfile.TemporaryDirectory(prefix="samizdat-verify-") as tmp:
            for member_name, resource in listed.items():
                if member_name not in names:
                    report.problems.append(f"{path.name}: {member_name} is listed in datapackage.json but missing")
                    continue
                keep = Path(tmp) / "member.warc" if member_name.startswith("archive/") else None
                problem = _check_member(archive, member_name, resource, keep)
                if problem:
                    report.problems.append(f"{path.name}: {member_name}: {problem}")
                elif keep is not None:
                    count, problems = check_warc_digests(keep, f"{path.name}: {member_name}")
                    warc_records += count
                    report.problems.extend(problems)
                if keep is not None:
                    keep.unlink(missing_ok=True)
        report.checked.append(f"{len(listed)} files match datapackage.json")
        report.checked.append(f"{warc_records} WARC records' digests match")
        _check_digest_file(archive, names, package, package_bytes, report)
    return report


def _member_bytes(archive: zipfile.ZipFile, name: str, report: Report) -> bytes | None:
    info = archive.getinfo(name)
    with archive.open(info) as fh:
        data = fh.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        report.problems.append(f"{report.path.name}: {name} is larger than {MAX_JSON_BYTES} bytes")
        return None
    return data


def _check_member(archive: zipfile.ZipFile, name: str, resource: dict[str, Any], keep: Path | None) -> str | None:
    """What is wrong with one file of the package against its datapackage.json entry (hash, bytes); with `keep`,
    the file is also copied there (a WARC file, checked record by record next)."""
    expected = str(resource.get("hash", ""))
    algorithm, _sep, value = expected.partition(":")
    try:
        hasher = hashlib.new(algorithm)
    except ValueError:
        return f"datapackage.json gives it no hash samizdat knows ({expected[:80]!r})"
    declared = resource.get("bytes")
    limit = declared if isinstance(declared, int) and declared >= 0 else archive.getinfo(name).file_size
    size = 0
    try:
        with archive.open(name) as src, open(keep, "wb") if keep else _Discard() as dst:
            while chunk := src.read(CHUNK_BYTES):
                size += len(chunk)
                if size > limit:  # stop here: a zip bomb, or a file grown past what was listed
                    return f"it holds more than the {limit} bytes datapackage.json lists"
                hasher.update(chunk)
                dst.write(chunk)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        return f"cannot be read from the zip ({exc})"
    if isinstance(declared, int) and size != declared:
        return f"it holds {size} bytes, datapackage.json lists {declared}"
    if hasher.hexdigest() != value.lower():
        return f"its {algorithm} hash does not match datapackage.json's"
    return None


class _Discard:
    def __enter__(self) -> _Discard:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def write(self, data: bytes) -> int:
        return len(data)


def _check_digest_file(
    archive: zipfile.ZipFile, names: set[str], package: dict[str, Any], package_bytes: bytes | None, report: Report
) -> None:
    name = report.path.name
    if "datapackage-digest.json" not in names:
        report.problems.append(f"{name}: no datapackage-digest.json (WACZ 1.1 requires it)")
        return
    digest = _json_object(_member_bytes(archive, "datapackage-digest.json", report) or b"") or {}
    expected = str(digest.get("hash", ""))
    algorithm, _sep, value = expected.partition(":")
    try:
        actual = hashlib.new(algorithm, package_bytes or b"").hexdigest()
    except ValueError:
        report.problems.append(f"{name}: datapackage-digest.json gives no hash samizdat knows ({expected[:80]!r})")
        return
    if actual != value.lower():
        report.problems.append(f"{name}: datapackage.json does not match the hash in datapackage-digest.json")
    else:
        report.checked.append("datapackage.json matches datapackage-digest.json")
    signed = digest.get("signedData")
    if signed is None:
        report.checked.append("not signed")
        return
    problem = check_signature(signed)
    if problem is None and isinstance(signed, dict):
        if signed.get("hash") != expected:
            problem = "signedData signs another hash than datapackage-digest.json's"
        elif signed.get("created") != package.get("created"):
            problem = "signedData's created is not datapackage.json's"
    if problem:
        report.problems.append(f"{name}: signature: {problem}")
    else:
        assert isinstance(signed, dict)
        report.checked.append(f"signature valid, key {fingerprint(str(signed.get('publicKey')))}")
