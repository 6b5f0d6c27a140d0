"""The archive layer on its own: URL identity, WARC writing and reading, the store's versions, decoding."""

import gzip
import subprocess

from samizdat.archive.config import Source
from samizdat.archive.document import Document, document_id
from samizdat.archive.extract import extract
from samizdat.archive.extract.decode import decode_html
from samizdat.archive.store import CHANGED, NEW, UNCHANGED, Store
from samizdat.archive.urls import normalize_url, url_key
from samizdat.archive.warc import Capture, WarcWriter, iter_entries, read_capture

SOURCE = Source(name="test", start_urls=("http://example.org/",), labels=("Extra",))


def test_url_variants_share_one_identity():
    base = "http://example.org/2024/05/a-post/"
    variants = [
        "HTTP://Example.org:80/2024/05/a-post/#comment-12",
        "http://example.org/2024/05/a-post/?utm_source=newsletter&utm_medium=email",
        "http://example.org/2024/05/a-post/?replytocom=45#respond",
        "http://example.org/2024/05/a-post/?share=twitter",
        "http://example.org/2024/05/a-post",
        "http://example.org/2024/05/a-post/?m=1",
    ]
    assert {url_key(v) for v in variants} == {url_key(base)}
    assert {document_id(v) for v in variants} == {document_id(base)}
    # WordPress's month archive parameter is a page of its own, not a variant
    assert normalize_url("http://example.org/?m=202405") == "http://example.org/?m=202405"


def write_pairs(tmp_path, count, max_bytes=10**9):
    writer = WarcWriter(tmp_path, "test", max_bytes, info={"samizdat-source": SOURCE.to_dict()})
    locations = [
        writer.write_exchange(
            f"http://example.org/{i}",
            "GET",
            [("User-Agent", "t")],
            200,
            "OK",
            [("Content-Type", "text/html")],
            b"<p>" + b"x" * 2000 + b"</p>",
        )
        for i in range(count)
    ]
    writer.close()
    return writer, locations


def test_warc_files_rotate_by_size_and_pass_warcio_check(tmp_path):
    writer, locations = write_pairs(tmp_path, 6, max_bytes=1500)
    assert len(writer.files) >= 3
    for name in writer.files:
        result = subprocess.run(["warcio", "check", str(tmp_path / name)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    for i, loc in enumerate(locations):
        capture = read_capture(tmp_path.parent, f"{tmp_path.name}/{loc.warc_file.split('/')[-1]}", loc.offset)
        assert capture.url == f"http://example.org/{i}" and capture.status == 200
        assert capture.digest == loc.digest and capture.fetched_at == loc.date


def test_a_truncated_last_record_keeps_everything_before_it(tmp_path):
    writer, _ = write_pairs(tmp_path, 3)
    path = tmp_path / writer.files[0]
    data = path.read_bytes()
    path.write_bytes(data[:-40])  # a crawl killed in the middle of writing the last record
    responses = [e for e in iter_entries(path, path.name) if e.type == "response"]
    assert [e.capture.url for e in responses] == [f"http://example.org/{i}" for i in range(3)]
    info = next(iter_entries(path, path.name))
    assert info.type == "warcinfo" and info.info["samizdat-source"]["name"] == "test"


def doc(text: str, fetched_at: str) -> Document:
    return Document(
        url="http://example.org/a/", source="test", kind="generic", title="A", text=text, fetched_at=fetched_at
    )


def test_store_keeps_distinct_versions_and_shows_the_newest(tmp_path):
    with Store(tmp_path / "store.sqlite") as store:
        assert store.upsert(doc("first text", "2024-01-01T00:00:00Z")) == NEW
        assert store.upsert(doc("first text", "2024-02-01T00:00:00Z")) == UNCHANGED
        assert store.upsert(doc("edited text", "2024-03-01T00:00:00Z")) == CHANGED
        # an older capture arriving late never hides the newest one
        assert store.upsert(doc("ancient text", "2023-01-01T00:00:00Z")) == CHANGED
        assert store.count() == 1
        assert store.get(document_id("http://example.org/a")).text == "edited text"
        assert [v.document.text for v in store.versions(document_id("http://example.org/a/"))] == [
            "ancient text",
            "first text",
            "edited text",
        ]


def capture(payload: bytes, content_type: str) -> Capture:
    return Capture(
        url="http://example.org/2024/05/post.html",
        status=200,
        headers=[("Content-Type", content_type)],
        payload=payload,
        fetched_at="2024-06-01T00:00:00Z",
    )


RUSSIAN = (
    "<html><head>{meta}<title>Забастовка</title></head><body><h1>Забастовка шахтёров</h1>"
    + "".join(
        f"<p>Рабочие шахты номер {i} вышли на митинг у здания управления и потребовали выплатить долги по "
        "зарплате за три месяца.</p>"
        for i in range(5)
    )
    + "</body></html>"
)


def test_text_is_decoded_as_declared_or_detected():
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
    for html, content_type in [
        (RUSSIAN.format(meta=""), "text/html; charset=windows-1251"),  # header
        (RUSSIAN.format(meta=meta), "text/html"),  # meta only
        (RUSSIAN.format(meta=""), "text/html"),  # nothing declared: detected
    ]:
        encoding, text = decode_html(html.encode("cp1251"), content_type)
        assert "Забастовка шахтёров" in text, (content_type, encoding)
    result = extract(capture(RUSSIAN.format(meta=meta).encode("cp1251"), "text/html"), SOURCE)
    assert result.page_type == "article"
    assert result.document.language == "ru" and "потребовали выплатить" in result.document.text
    assert result.document.labels == ["Extra"]


def test_non_html_and_errors_are_never_articles():
    assert extract(capture(b"%PDF-1.4 ...", "application/pdf"), SOURCE).page_type == "not_html"
    error = capture(b"<html></html>", "text/html")
    error.status = 404
    assert extract(error, SOURCE).page_type == "error"
    feed = capture(gzip.compress(b"x"), "application/atom+xml")
    assert extract(feed, SOURCE).document is None
