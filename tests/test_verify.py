"""`samizdat verify` (issue 12): a fresh export of every format is accepted; an altered record is named (a JSONL
line, a CSV row, a WARC record recompressed so that the file still reads); a signed WACZ whose datapackage.json
was altered fails on its digest, and on its signature when the digest was altered to match; a zip bomb is not
inflated; a file that is none of these is exit 2."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import run_cli

SOURCE = "field-notes"


@pytest.fixture(scope="module")
def exports(crawl, tmp_path_factory) -> dict[str, Path]:
    """One export of each format of a sample source, with its manifest (JSONL, CSV, WARC) or signature (WACZ)."""
    root = tmp_path_factory.mktemp("verify")
    made = {}
    for fmt, name in (("jsonl", "a.jsonl"), ("csv", "a.csv"), ("warc", "a.warc.gz"), ("wacz", "a.wacz")):
        out = root / name
        result = run_cli("export", "--format", fmt, "--source", SOURCE, "-o", out, "--data", crawl.data)
        assert result.returncode == 0, result.stderr
        if fmt != "wacz":
            assert f"SHA-256 manifest: {out}.sha256" in result.stderr
        made[fmt] = out
    return made


def verify(path: Path) -> subprocess.CompletedProcess:
    return run_cli("verify", path)


def altered_copy(path: Path, tmp_path: Path) -> Path:
    """A copy of an export with its manifest beside it, to alter."""
    copy = tmp_path / path.name
    shutil.copyfile(path, copy)
    if Path(f"{path}.sha256").exists():
        shutil.copyfile(f"{path}.sha256", f"{copy}.sha256")
    return copy


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "warc", "wacz"])
def test_a_fresh_export_verifies(exports, fmt):
    result = verify(exports[fmt])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"OK: {exports[fmt].name}") and len(result.stdout.splitlines()) == 1
    if fmt == "wacz":
        assert "signature valid, key sha256:" in result.stdout and "WARC records' digests match" in result.stdout


def test_the_manifest_is_what_sha256sum_checks(exports):
    manifest = Path(f"{exports['jsonl']}.sha256")
    checked = subprocess.run(["sha256sum", "-c", manifest.name], cwd=manifest.parent, capture_output=True, text=True)
    assert checked.returncode == 0 and checked.stdout.strip() == "a.jsonl: OK", checked.stdout + checked.stderr
    lines = manifest.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[1].removeprefix("# samizdat-manifest 1 "))
    records = [json.loads(line[2:]) for line in lines[2:]]
    assert header["format"] == "jsonl" and header["records"] == len(records) == len(
        exports["jsonl"].read_bytes().splitlines()
    )


def test_an_altered_jsonl_line_is_named(exports, tmp_path):
    copy = altered_copy(exports["jsonl"], tmp_path)
    lines = copy.read_bytes().splitlines(keepends=True)
    victim = json.loads(lines[1])
    lines[1] = lines[1].replace(b'"text": "', b'"text": "X', 1)  # one byte more in the second line's text
    copy.write_bytes(b"".join(lines))
    result = verify(copy)
    assert result.returncode == 1
    named = [line for line in result.stdout.splitlines() if "line 2 " in line]
    assert len(named) == 1 and victim["id"] in named[0] and victim["url"] in named[0], result.stdout
    assert "its SHA-256" in result.stdout  # the whole file too
    assert all(line.startswith("MISMATCH: ") for line in result.stdout.splitlines())


def test_an_altered_csv_row_is_named(exports, tmp_path):
    copy = altered_copy(exports["csv"], tmp_path)
    data = copy.read_bytes()
    header_end = data.index(b"\n") + 1
    row_id = data[header_end : data.index(b",", header_end)].decode()
    # a letter of the first row (in its URL, past the id) changes case
    position = next(i for i in range(header_end + 20, len(data)) if data[i : i + 1].isalpha())
    copy.write_bytes(data[:position] + data[position : position + 1].swapcase() + data[position + 1 :])
    result = verify(copy)
    assert result.returncode == 1
    assert f"row 1 (document {row_id}" in result.stdout, result.stdout


def test_an_altered_warc_record_is_named_with_its_record_id(exports, tmp_path):
    copy = altered_copy(exports["warc"], tmp_path)
    records = [
        json.loads(line[2:])
        for line in Path(f"{copy}.sha256").read_text(encoding="utf-8").splitlines()
        if line.startswith("# {")
    ]
    victim = [r for r in records if r["type"] == "response"][1]
    data = copy.read_bytes()
    member = gzip.decompress(data[victim["offset"] : victim["offset"] + victim["bytes"]])
    body_at = member.index(b"\r\n\r\n", member.index(b"\r\n\r\n") + 4) + 4  # past the WARC and HTTP headers
    letter = next(i for i in range(body_at, len(member)) if member[i : i + 1].isalpha())
    # one letter of its payload changes case: the same length, a forgery rather than damage
    changed = member[:letter] + member[letter : letter + 1].swapcase() + member[letter + 1 :]
    copy.write_bytes(data[: victim["offset"]] + gzip.compress(changed) + data[victim["offset"] + victim["bytes"] :])
    with open(copy, "rb") as fh:  # still a readable WARC file
        assert sum(1 for _ in ArchiveIterator(fh)) == len(records)
    result = verify(copy)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    digests = [line for line in lines if "WARC-Payload-Digest" in line or "WARC-Block-Digest" in line]
    assert digests and all(victim["record_id"] in line and victim["uri"] in line for line in digests), result.stdout
    assert any(victim["record_id"] in line and "differs from the manifest" in line for line in lines)
    assert not any(r["record_id"] in result.stdout for r in records if r is not victim)


def rewrite_zip(path: Path, out: Path, replace: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, replace.get(info.filename, src.read(info.filename)), compress_type=info.compress_type)


def test_a_signed_wacz_whose_datapackage_was_altered_fails(exports, tmp_path):
    with zipfile.ZipFile(exports["wacz"]) as wacz:
        package = json.loads(wacz.read("datapackage.json"))
        digest = json.loads(wacz.read("datapackage-digest.json"))
    package["title"] = "Something else"
    altered = json.dumps(package, indent=2).encode()
    forged = tmp_path / "forged.wacz"
    rewrite_zip(exports["wacz"], forged, {"datapackage.json": altered})
    result = verify(forged)
    assert result.returncode == 1
    assert "datapackage.json does not match the hash in datapackage-digest.json" in result.stdout

    # A forger who updates the digest too is caught by the signature, which signs the original hash.
    digest["hash"] = "sha256:" + hashlib.sha256(altered).hexdigest()
    rewrite_zip(
        exports["wacz"], forged, {"datapackage.json": altered, "datapackage-digest.json": json.dumps(digest).encode()}
    )
    result = verify(forged)
    assert result.returncode == 1 and result.stdout.count("MISMATCH") == 1
    assert "signature: signedData signs another hash" in result.stdout

    digest["signedData"]["hash"] = digest["hash"]  # and one who edits signedData breaks the signature itself
    rewrite_zip(
        exports["wacz"], forged, {"datapackage.json": altered, "datapackage-digest.json": json.dumps(digest).encode()}
    )
    result = verify(forged)
    assert result.returncode == 1 and "signature: the signature does not match" in result.stdout


def test_a_zip_bomb_is_not_inflated(tmp_path):
    bomb = tmp_path / "bomb.wacz"
    package = {"resources": [{"name": "a.warc", "path": "archive/a.warc", "hash": "sha256:00", "bytes": 10}]}
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as wacz:
        wacz.writestr("datapackage.json", json.dumps(package))
        with wacz.open("archive/a.warc", "w") as fh:
            for _ in range(64):  # 64 MiB of zeros, 64 KiB in the zip
                fh.write(bytes(1 << 20))
    result = verify(bomb)
    assert result.returncode == 1
    assert "archive/a.warc: it holds more than the 10 bytes datapackage.json lists" in result.stdout


def test_a_file_that_is_none_of_these_is_exit_2(tmp_path):
    stray = tmp_path / "notes.txt"
    stray.write_text("not an export\n", encoding="utf-8")
    result = verify(stray)
    assert result.returncode == 2 and "neither a WACZ package" in result.stderr and result.stdout == ""
