"""Takedowns on a real crawl of the sample sites: a hidden document or source is gone from search, facets,
exports, the API and the public pages (a signed-in archivist still sees it, with who, when and why), a hide
survives `samizdat reindex` and can be lifted; a purge leaves valid WARC files without the document's records,
the other documents readable where the store now points, and survives reindex; refused requests and a purge
during a crawl change nothing on disk."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import shutil
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator
from whoosh import index

from samizdat.archive.accounts import Accounts
from samizdat.archive.datadir import DataDir
from samizdat.archive.document import document_id
from samizdat.archive.store import Store
from samizdat.archive.takedowns import Takedowns
from samizdat.archive.warc import read_capture, verify_warc
from samizdat.search.catchup import index_lag, read_watermark
from samizdat.webui import create_app
from tests.conftest import export_records, run_cli
from tests.test_admin import add_user, sign_in, token

REASON = "court order 12/2026: names a private person"


@pytest.fixture
def data(crawl, tmp_path) -> Path:
    """A copy of the session's crawl with an archivist, for one test to change."""
    copy = tmp_path / "data"
    shutil.copytree(crawl.data, copy)
    add_user(copy)
    return copy


def pick(data: Path, source: str = "steppe-notes", number: int = 0):
    """A document of `source` (the store's order), with a title word to search for."""
    with Store(data / "store.sqlite") as store:
        docs = [doc for doc in store.iter_latest(source) if doc.title]
    return docs[number]


def signed_in(data: Path):
    client = create_app({"data_dir": data}).test_client()
    assert sign_in(client).status_code == 302
    return client


def search_ids(client, **args) -> list[str]:
    result = client.get("/api/search", query_string={"per_page": 100, **args}).get_json()
    ids = [hit["id"] for hit in result["hits"]]
    page = 2
    while len(ids) < result["total"]:
        more = client.get("/api/search", query_string={"per_page": 100, "page": page, **args}).get_json()
        ids += [hit["id"] for hit in more["hits"]]
        page += 1
    return ids


def facet(client, name: str, value: str, **args) -> int:
    facets = client.get("/api/search", query_string=args).get_json()["facets"][name]
    return next((item["count"] for item in facets if item["value"] == value), 0)


def web_exports(client) -> dict[str, bytes]:
    return {fmt: client.get(f"/export.{fmt}").get_data() for fmt in ("jsonl", "csv", "warc")}


def exported_ids(exports: dict[str, bytes]) -> dict[str, set[str]]:
    jsonl = {json.loads(line)["id"] for line in exports["jsonl"].decode().splitlines()}
    rows = {row["id"] for row in csv.DictReader(io.StringIO(exports["csv"].decode("utf-8-sig")))}
    with gzip.open(io.BytesIO(exports["warc"])) as raw:
        uris = {
            document_id(rec.rec_headers.get_header("WARC-Target-URI"))
            for rec in ArchiveIterator(raw)
            # the articles' own responses; their requisites' are marked with their kind
            if rec.rec_type == "response" and rec.rec_headers.get_header("WARC-Resource-Type") in (None, "document")
        }
    return {"jsonl": jsonl, "csv": rows, "warc": uris}


def takedown_rows(data: Path, include_lifted: bool = True) -> list[dict]:
    with Takedowns(data / "takedowns.sqlite") as takedowns:
        return takedowns.rows(include_lifted=include_lifted)


def warc_records(data: Path) -> dict[str, list[tuple[str, str | None, str]]]:
    """Every record of every WARC file: (type, target URI, sha1 of its content), read to the end, with the
    digests warcio checks (as `warcio check` does)."""
    found = {}
    for path in DataDir(data).warc_files():
        assert verify_warc(path) > 0  # every gzip member one complete record, to the end of the file
        records = []
        with open(path, "rb") as fh:
            iterator = ArchiveIterator(fh, check_digests=True)
            for record in iterator:
                content = record.content_stream().read()
                assert record.digest_checker.passed is not False, (path.name, record.digest_checker.problems)
                uri = record.rec_headers.get_header("WARC-Target-URI")
                records.append((record.rec_type, uri, hashlib.sha1(content).hexdigest()))
        found[path.name] = records
    return found


def of_document(uri: str | None, doc) -> bool:
    return uri is not None and (uri == doc.url or document_id(uri) == doc.id)


# -- hiding ---------------------------------------------------------------------------------------------------


def test_a_hidden_document_is_gone_from_search_facets_exports_and_the_api_until_lifted(data):
    doc = pick(data)
    word = max(doc.title.split(), key=len).strip(".,:;!?\"'")
    client = signed_in(data)
    visitor = create_app({"data_dir": data}).test_client()
    assert doc.id in search_ids(visitor, q=word) and doc.id in search_ids(visitor)
    per_source = facet(visitor, "sources", doc.source)
    total = visitor.get("/api/search").get_json()["total"]
    assert all(doc.id in ids for ids in exported_ids(web_exports(visitor)).values())

    page = client.get(f"/documents/{doc.id}").get_data(as_text=True)
    assert "Hide from search" in page and "Purge" in page
    form = {"csrf_token": token(client, f"/documents/{doc.id}"), "reason": REASON}
    response = client.post(f"/admin/documents/{doc.id}/hide", data=form)
    assert response.status_code == 302 and response.headers["Location"] == f"/documents/{doc.id}"

    # Gone for visitors: search, facets, totals, exports (web and CLI), the API, the public pages.
    assert doc.id not in search_ids(visitor, q=word) and doc.id not in search_ids(visitor)
    assert facet(visitor, "sources", doc.source) == per_source - 1
    assert visitor.get("/api/search").get_json()["total"] == total - 1
    assert not any(doc.id in ids for ids in exported_ids(web_exports(visitor)).values())
    assert doc.id not in {r["id"] for r in export_records(data)}
    cli = json.loads(run_cli("search", word, "--json", "--data", data).stdout)
    assert doc.id not in [hit["id"] for hit in cli["hits"]]
    for path in (f"/api/documents/{doc.id}", f"/api/documents/{doc.id}/versions"):
        answer = visitor.get(path)
        assert answer.status_code == 410 and answer.get_json()["error"] == "document taken down", path
    for path in ("", "/changes", "/captured", "/raw"):
        answer = visitor.get(f"/documents/{doc.id}{path}")
        assert answer.status_code == 410 and "taken down by the archive" in answer.get_data(as_text=True), path
    assert REASON not in visitor.get(f"/documents/{doc.id}").get_data(as_text=True)
    # A signed-in archivist sees the page, with who, when and why, and a way to lift it.
    page = client.get(f"/documents/{doc.id}").get_data(as_text=True)
    assert "Hidden" in page and "by ana" in page and REASON in page and "Lift" in page
    assert client.get(f"/documents/{doc.id}/captured").status_code == 200

    # Recorded with who, when and why; in the audit log; listed on the admin page and by the CLI.
    (row,) = takedown_rows(data)
    assert (row["scope"], row["action"], row["doc_id"], row["url"], row["by"]) == (
        "document",
        "hide",
        doc.id,
        doc.url,
        "ana",
    )
    assert row["reason"] == REASON and row["at"].startswith("20") and row["lifted_at"] is None
    with Accounts(data / "accounts.sqlite") as accounts:
        assert accounts.audit(1)[0] | {"at": None} == {
            "at": None,
            "user": "ana",
            "action": "hide",
            "target": f"document {doc.id}",
            "detail": REASON,
        }
    assert REASON in client.get("/admin/takedowns").get_data(as_text=True)
    listed = json.loads(run_cli("takedown", "list", "--json", "--data", data).stdout)["takedowns"]
    assert [(r["id"], r["doc_id"]) for r in listed] == [(row["id"], doc.id)]

    # A reindex rebuilds the store and index from the WARC files: the document is back in them, still hidden.
    result = run_cli("reindex", "--data", data)
    assert result.returncode == 0, result.stderr
    with Store(data / "store.sqlite") as store:
        assert store.get(doc.id) is not None
    visitor = create_app({"data_dir": data}).test_client()
    assert doc.id not in search_ids(visitor, q=word)
    assert visitor.get(f"/api/documents/{doc.id}").status_code == 410
    assert doc.id not in {r["id"] for r in export_records(data)}

    # Lifted: back everywhere.
    client = signed_in(data)
    form = {"csrf_token": token(client, "/admin/takedowns")}
    assert client.post(f"/admin/takedowns/{row['id']}/lift", data=form).status_code == 302
    assert doc.id in search_ids(visitor, q=word)
    assert visitor.get(f"/api/documents/{doc.id}").status_code == 200
    assert visitor.get(f"/documents/{doc.id}").status_code == 200
    assert doc.id in {r["id"] for r in export_records(data)}
    (lifted,) = takedown_rows(data)
    assert lifted["lifted_by"] == "ana" and lifted["lifted_at"]
    assert takedown_rows(data, include_lifted=False) == []


def test_a_hidden_source_is_gone_until_lifted_and_the_cli_says_what_is_wrong(data):
    name = "red-lantern"
    visitor = create_app({"data_dir": data}).test_client()
    assert facet(visitor, "sources", name) > 0
    doc = pick(data, name)
    result = run_cli("takedown", "hide", "--source", name, "--reason", REASON, "--by", "bea", "--data", data)
    assert result.returncode == 0, result.stderr
    assert "takedown 1" in result.stdout
    assert search_ids(visitor, source=name) == [] and facet(visitor, "sources", name) == 0
    assert name not in {row["source"] for row in visitor.get("/api/sources").get_json()["sources"]}
    assert visitor.get(f"/api/sources/{name}").status_code == 410
    assert visitor.get(f"/sources/{name}").status_code == 410
    assert name not in visitor.get("/sources").get_data(as_text=True)
    assert visitor.get(f"/api/documents/{doc.id}").status_code == 410
    assert export_records(data, "--source", name) == []
    assert facet(visitor, "sources", "steppe-notes") > 0  # the others are untouched
    page = signed_in(data).get(f"/documents/{doc.id}").get_data(as_text=True)
    assert f"with its source {name}" in page and "by bea" in page

    # Clear one-line errors, and nothing written.
    # (Read through SQLite: reading the file's bytes in this process would drop the SQLite locks the web
    # app's connection holds on it, POSIX locks being per process.)
    before = takedown_rows(data)
    for args, needle in (
        (("hide", "--source", "nowhere", "--reason", REASON), "no source named 'nowhere'"),
        (("hide", "0123456789abcdef", "--reason", REASON), "no document with id 0123456789abcdef"),
        (("hide", doc.id, "--reason", "   "), "needs a reason"),
        (("hide", "--source", name, "--reason", REASON), "taken down already"),
        (("lift", "99"), "no takedown 99"),
        (("purge", "not-an-id", "--reason", REASON), "neither a document id"),
    ):
        result = run_cli("takedown", *args, "--data", data)
        assert result.returncode != 0 and needle in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert run_cli("takedown", "hide", doc.id, "--data", data).returncode == 2  # --reason is required
    assert takedown_rows(data) == before

    assert run_cli("takedown", "lift", "1", "--data", data).returncode == 0
    assert facet(visitor, "sources", name) > 0 and visitor.get(f"/api/sources/{name}").status_code == 200
    text = run_cli("takedown", "list", "--all", "--data", data).stdout
    assert f"source {name}" in text and "by bea" in text and "lifted by" in text


# -- purging --------------------------------------------------------------------------------------------------


def test_a_purged_document_leaves_valid_warc_files_without_its_records_and_survives_reindex(data, crawl):
    with Store(data / "store.sqlite") as store:  # the first article captured: records after it move up
        doc = min(store.iter_latest("tenants-voice"), key=lambda d: (d.warc_file, d.warc_offset))
    before = warc_records(data)
    others = [r for r in export_records(data) if r["id"] != doc.id]
    with Store(data / "store.sqlite") as store:
        captures = store.db.execute("SELECT url, digest FROM captures").fetchall()
    documents_in_index = index.open_dir(str(data / "index")).doc_count()

    result = run_cli("takedown", "purge", doc.id, "--reason", REASON, "--by", "ana", "--data", data)
    assert result.returncode == 0, result.stderr
    assert "purged" in result.stdout

    # Every WARC file is valid to its end and has no record of the document's URL; every other record is kept.
    after = warc_records(data)
    assert set(after) == set(before)
    everything = [r for records in before.values() for r in records]
    dropped = Counter(r for r in everything if of_document(r[1], doc) and r[0] != "metadata")
    assert {kind for kind, _, _ in dropped} >= {"response", "request"}
    assert not any(of_document(r[1], doc) and r[0] != "metadata" for records in after.values() for r in records)
    assert Counter(r for records in after.values() for r in records) == Counter(everything) - dropped
    rewritten = [name for name in before if before[name] != after[name]]
    assert rewritten and json.loads(takedown_rows(data)[0]["detail"])["files_rewritten"] == rewritten

    # The store and index have no such document; every other pointer leads to its record (offsets moved).
    with Store(data / "store.sqlite") as store:
        assert store.get(doc.id) is None and store.versions(doc.id) == []
        assert store.last_capture(doc.url) is None
        for url, digest in captures:
            if url == doc.url:
                continue
            original = store.last_capture(url)
            assert original is not None and original.digest == digest
            capture = read_capture(data, original.warc_file, original.offset)
            assert (capture.url, capture.digest) == (url, digest)
    exported = export_records(data)
    # The same records, some of them further up their file now.
    assert [r | {"warc_offset": 0} for r in exported] == [r | {"warc_offset": 0} for r in others]
    assert any(a["warc_offset"] != b["warc_offset"] for a, b in zip(exported, others, strict=True))
    for record in exported:
        capture = read_capture(data, record["warc_file"], record["warc_offset"])
        assert capture.digest == record["digest"]
    with index.open_dir(str(data / "index")).searcher() as searcher:
        assert searcher.document(id=doc.id) is None and searcher.doc_count() == documents_in_index - 1
    # The watermark stays true: the next catch-up has nothing to do (no rebuild).
    assert index_lag(data / "store.sqlite", data / "index") == 0
    assert read_watermark(data / "index").generation == index.open_dir(str(data / "index")).latest_generation()

    visitor = create_app({"data_dir": data}).test_client()
    assert visitor.get(f"/api/documents/{doc.id}").status_code == 410
    assert visitor.get(f"/documents/{doc.id}").status_code == 410
    (row,) = takedown_rows(data)
    expected = ("purge", doc.id, doc.url, "ana", REASON)
    assert (row["action"], row["doc_id"], row["url"], row["by"], row["reason"]) == expected
    assert run_cli("takedown", "lift", str(row["id"]), "--data", data).returncode == 1  # cannot be undone

    # A reindex finds what the purge left: the same records, at the offsets the purge moved them to.
    result = run_cli("reindex", "--data", data)
    assert result.returncode == 0, result.stderr
    assert export_records(data) == exported
    with Store(data / "store.sqlite") as store:
        assert store.get(doc.id) is None

    # A later crawl of the source never fetches the purged page again: counted as left out, not archived.
    before = len(crawl.sites.requests())
    result = run_cli("crawl", "tenants-voice", "--config", crawl.config, "--data", data)
    assert result.returncode == 0, result.stderr
    fetched = {request["path"] for request in crawl.sites.requests()[before:]}
    assert fetched and urlsplit(doc.url).path not in fetched
    with Store(data / "store.sqlite") as store:
        assert store.get(doc.id) is None and store.runs("tenants-voice", limit=1)[0]["skipped"]["taken-down"] == 1
    assert not any(
        of_document(r[1], doc) and r[0] != "metadata" for records in warc_records(data).values() for r in records
    )


def test_a_purged_source_loses_its_warc_files_and_stays_gone_after_reindex(data):
    name = "field-notes"
    files = [p.name for p in DataDir(data).warc_files() if p.name.startswith(f"{name}-")]
    assert files
    others = [r for r in export_records(data) if r["source"] != name]
    client = signed_in(data)
    page = client.get("/admin/takedowns").get_data(as_text=True)
    assert f"Purge {name}" in page
    form = {"csrf_token": token(client, "/admin/takedowns"), "reason": REASON, "confirm": "purge"}
    response = client.post(f"/admin/sources/{name}/purge", data=form)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/takedowns"
    page = client.get("/admin/takedowns").get_data(as_text=True)
    assert "purged (takedown 1)" in page and REASON in page and "cannot be undone" in page

    assert not any((data / "warc" / f).exists() for f in files)
    warc_records(data)  # the others are intact
    assert export_records(data) == others
    with Store(data / "store.sqlite") as store:
        assert store.count(name) == 0
    assert search_ids(client, source=name) == []
    again = run_cli("takedown", "purge", "--source", name, "--reason", REASON, "--data", data)
    assert again.returncode == 1 and "nothing archived" in again.stderr
    assert len(takedown_rows(data)) == 1
    assert run_cli("reindex", "--data", data).returncode == 0
    assert export_records(data) == others
    visitor = create_app({"data_dir": data}).test_client()
    assert visitor.get(f"/api/sources/{name}").status_code in (404, 410)


# -- refusals -------------------------------------------------------------------------------------------------


def warc_digest(data: Path) -> str:
    h = hashlib.sha1()
    for path in DataDir(data).warc_files():
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


def test_refused_takedown_requests_change_nothing(data):
    doc = pick(data)
    warcs = warc_digest(data)
    actions = [
        f"/admin/documents/{doc.id}/hide",
        f"/admin/documents/{doc.id}/purge",
        "/admin/sources/steppe-notes/hide",
        "/admin/sources/steppe-notes/purge",
    ]
    anonymous = create_app({"data_dir": data}).test_client()
    for path in actions:
        response = anonymous.post(path, data={"reason": REASON, "confirm": "purge"})
        assert response.status_code in (302, 400), path  # to the sign-in page, or no token
    assert anonymous.get("/admin/takedowns").status_code == 302
    client = signed_in(data)
    good = token(client, f"/documents/{doc.id}")
    for path in actions:
        no_token = client.post(path, data={"reason": REASON, "confirm": "purge"})
        assert no_token.status_code == 400 and "security token" in no_token.get_data(as_text=True)
        wrong = client.post(path, data={"reason": REASON, "confirm": "purge", "csrf_token": "forged"})
        assert wrong.status_code == 400
        foreign = client.post(
            path,
            data={"reason": REASON, "confirm": "purge", "csrf_token": good},
            headers={"Origin": "https://evil.example"},
        )
        assert foreign.status_code == 403
        for reason in ("", "   "):
            response = client.post(path, data={"reason": reason, "confirm": "purge", "csrf_token": good})
            assert response.status_code == 302, path
    page = client.get(f"/documents/{doc.id}").get_data(as_text=True)
    assert "needs a reason" in page
    unconfirmed = client.post(f"/admin/documents/{doc.id}/purge", data={"reason": REASON, "csrf_token": good})
    assert unconfirmed.status_code == 302
    assert "cannot be undone" in client.get(f"/documents/{doc.id}").get_data(as_text=True)
    assert client.post("/admin/takedowns/1/lift", data={"csrf_token": good}).status_code == 404

    assert not (data / "takedowns.sqlite").exists()
    assert warc_digest(data) == warcs
    with Accounts(data / "accounts.sqlite") as accounts:
        assert accounts.audit() == []
    assert doc.id in search_ids(anonymous, q=max(doc.title.split(), key=len).strip(".,:;!?\"'"))


def test_a_purge_is_refused_while_a_crawl_runs(data):
    doc = pick(data)
    warcs = warc_digest(data)
    client = signed_in(data)
    good = token(client, f"/documents/{doc.id}")
    with DataDir(data).crawl_lock(["steppe-notes"]):  # what a running crawl holds
        result = run_cli("takedown", "purge", doc.id, "--reason", REASON, "--data", data)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "purge refused, nothing was changed" in result.stderr and "crawl" in result.stderr
        form = {"reason": REASON, "confirm": "purge", "csrf_token": good}
        assert client.post(f"/admin/documents/{doc.id}/purge", data=form).status_code == 302
        page = client.get(f"/documents/{doc.id}").get_data(as_text=True)
        assert "Not purged" in page and "crawl" in page
    assert not (data / "takedowns.sqlite").exists()
    assert warc_digest(data) == warcs
    with Store(data / "store.sqlite") as store:
        assert store.get(doc.id) is not None
