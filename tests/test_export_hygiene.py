"""Exports are strict UTF-8 with no control characters: a page whose title and text carry NUL, BEL, a terminal
colour escape, NEL, a lone surrogate (&#xD800;) and a noncharacter (&#xFFFE;) is crawled over HTTP from a
server of our own, and its JSONL and CSV exports, the API and a reindex hold the readable text around
them and none of them."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from samizdat.archive.document import Document, clean_text
from samizdat.webui import create_app
from tests.conftest import export_records, run_cli
from tests.helpers import HTML_HEADERS, serve_pages

# Raw characters (sent as UTF-8) and numeric references, in the title and the text.
HOSTILE = "\x00 \x07 \x1b[31m \x85 &#xD800; &#xFFFE; &#x7; &#x1b;[0m &#xDFFF;"
# Between the letters of a label: the readers keep these as they are.
SQUEEZED = "\x07\x1b[31m&#xFFFE;&#x7;&#x1b;[0m\x7f"
WORDS = (
    "The tenants' committee met in the boiler room because the hall upstairs had no heating left. "
    "Every flat sent someone, and the minutes were kept in a school exercise book passed from hand to hand. "
)
# Nothing of these may reach a stored or exported text: C0 and C1 controls but tab and newline, lone
# surrogates, noncharacters, and what is left of an escape sequence.
FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]|\[31m|\[0m")


def article_page(slug: str, hostile_body: bool) -> bytes:
    """An article with control characters in its <title>, author and headline, and in its text either what
    the extraction reads through (NUL, NEL, lone surrogates) or, `hostile_body`, also BEL, a colour escape
    and U+FFFE."""
    odd = "\x07 \x1b[31m &#xFFFE; &#x7;" if hostile_body else ""
    paragraphs = "".join(
        f"<p>{slug} paragraph {n}. Rent\x00 strike {odd}spreads to\x85 the &#xD800;estate quickly&#xDFFF;. {WORDS}</p>"
        for n in range(6)
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Rent strike {HOSTILE} on {slug}</title>"
        f'<meta name="author" content="A.\x07 Writer\x1b[31m">'
        f'<meta property="article:tag" content="Hous{SQUEEZED}ing">'
        f'<meta property="article:tag" content="Rent{SQUEEZED}">'
        f'</head><body><header><a href="/">Hygiene site</a>'
        f"</header><main><article><h1>Rent strike\x00 on\x85 &#xD800;{slug}</h1>"
        f"<p class='byline'>By A. Writer, 3 March 2024</p>{paragraphs}</article></main>"
        "<footer>Hygiene site</footer></body></html>"
    ).encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    pages = {f"/2024/03/{slug}.html": article_page(slug, slug == "bell") for slug in ("controls", "nel", "bell")}
    links = "".join(f'<li><a href="{path}">{path}</a></li>' for path in pages)
    pages["/"] = f"<!DOCTYPE html><html><head><title>Hygiene</title></head><body><ul>{links}</ul>".encode()

    with serve_pages({path: (HTML_HEADERS, body) for path, body in pages.items()}) as url:
        yield url


@pytest.fixture(scope="module")
def crawled(site, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hygiene")
    config = root / "sources.toml"
    config.write_text(
        f'[[source]]\nname = "hygiene"\nkind = "generic"\nstart_urls = ["{site}"]\ndelay = 0\n'
        "\n[settings]\nprogress_seconds = 0\n",
        encoding="utf-8",
    )
    data = root / "data"
    result = run_cli("crawl", "--config", config, "--data", data)
    assert result.returncode == 0, result.stdout + result.stderr
    return data


def export(data: Path, fmt: str, out: Path) -> str:
    result = run_cli("export", "--format", fmt, "-o", out, "--data", data)
    assert result.returncode == 0, result.stderr
    return out.read_bytes().decode("utf-8", errors="strict")  # strict UTF-8, or this raises


def assert_clean(value: Any, where: str) -> None:
    for text in value if isinstance(value, list) else [value]:
        if isinstance(text, str):
            assert not FORBIDDEN.search(text), (where, FORBIDDEN.findall(text), text[:200])


def test_exports_are_strict_utf8_without_control_characters(crawled, tmp_path):
    data = crawled
    jsonl = export(data, "jsonl", tmp_path / "out.jsonl")
    records = [json.loads(line) for line in jsonl.splitlines()]
    assert {"controls.html", "nel.html"} <= {r["url"].rsplit("/", 1)[1] for r in records}
    for record in records:
        slug = record["url"].rsplit("/", 1)[1].removesuffix(".html")
        for name, value in record.items():
            assert_clean(value, f"jsonl {slug} {name}")
        # the readable text around what was taken out survives
        assert re.fullmatch(rf"Rent strike\W*on\W*{slug}", record["title"]), record["title"]
        assert record["author"] and "Writer" in record["author"], record["author"]
        assert {"Housing", "Rent"} <= set(record["labels"]), record["labels"]
        assert re.search(rf"{slug} paragraph 5\. Rent\W*strike\W*spreads to\W*the\W*estate", record["text"])
        assert "quickly" in record["text"] and "The tenants' committee" in record["text"]
    # JSON escapes would hide a control character from a look at the bytes: none is escaped either
    assert not re.search(r"\\u00[01][0-9a-fA-F]|\\u007f|\\u00[89][0-9a-fA-F]|\\ud[89a-f]", jsonl, re.IGNORECASE)

    table = export(data, "csv", tmp_path / "out.csv")
    assert not FORBIDDEN.search(table.replace("\r\n", "\n").replace("\r", "")), FORBIDDEN.findall(table)
    rows = list(csv.DictReader(io.StringIO(table)))
    assert {r["id"]: r["title"] for r in rows} == {r["id"]: r["title"] for r in records}
    assert {r["id"]: r["text"] for r in rows} == {r["id"]: r["text"] for r in records}

    # the API serves the same clean records
    client = create_app({"data_dir": data}).test_client()
    for record in records:
        response = client.get(f"/api/documents/{record['id']}")
        assert response.status_code == 200
        body = response.get_data().decode("utf-8", errors="strict")
        assert not re.search(r"\\u00[01][0-9a-fA-F]|\\u007f|\\u00[89][0-9a-fA-F]|\\ud[89a-f]", body, re.I), body[:300]
        assert response.json["title"] == record["title"] and response.json["text"] == record["text"]

    # crawl and reindex agree: the cleaning is where a document is built, not in the exporters
    reindexed = run_cli("reindex", "--data", data)
    assert reindexed.returncode == 0, reindexed.stdout + reindexed.stderr
    again = [json.loads(line) for line in export(data, "jsonl", tmp_path / "again.jsonl").splitlines()]
    assert {r["id"]: r for r in again} == {r["id"]: r for r in records}


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("plain text, \u0436\u0443\u0440\u043d\u0430\u043b \u2014 untouched\n\tindented", None),
        ("NUL\x00 BEL\x07 DEL\x7f NEL\x85 CSI\x9b1m end", "NUL BEL DEL NEL CSI end"),
        ("red\x1b[31;1m text\x1b[0m and\x1b] more", "red text and more"),
        ("lone \ud800 and \udfff surrogates", "lone  and  surrogates"),
        ("non\ufffe char\uffff acters \U0001fffe \ufdd0 ok", "non char acters   ok"),
        ("windows\r\nline\rends", "windows\nline\nends"),
    ],
)
def test_clean_text_keeps_the_readable_text(raw, clean):
    assert clean_text(raw) == (raw if clean is None else clean)
    assert clean_text(clean_text(raw)) == clean_text(raw)
    clean_text(raw).encode("utf-8", errors="strict")


def test_every_document_is_built_clean():
    doc = Document(
        url="http://a.test/x",
        source="a",
        kind="generic",
        title="Title\x07\ud800",
        text="Text\x00 body\x85",
        author="A.\x1b[1m Writer",
        labels=["Housing\x07", "\x00", " \ufffe "],
    )
    assert (doc.title, doc.text, doc.author, doc.labels) == ("Title", "Text body", "A. Writer", ["Housing"])
    assert Document.from_record(doc.to_record()) == doc


def test_an_article_with_a_bell_in_its_text_is_still_an_article(crawled):
    records = {r["url"].rsplit("/", 1)[1]: r for r in export_records(crawled)}
    assert "bell.html" in records
    assert re.search(r"bell paragraph 5\. Rent\W* strike\W* spreads", records["bell.html"]["text"])
