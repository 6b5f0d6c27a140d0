"""Every read of a payload is bounded, and crawl and reindex read a record alike.

The archive keeps payloads as they came over the wire, compressed; reading one back (reindex, the captured
view, a resumed crawl) undoes its Content-Encoding chain within the crawl's limit, as Scrapy's
HttpCompressionMiddleware did while crawling (archive/payload.py). Here: the decoding is checked against
Scrapy's own on the same bodies; gzip, double-gzip and deflate bombs of more than 1 GiB are read back from a
WARC file in a process whose peak memory is measured; and a real crawl of a small site over HTTP (bombs,
double gzip, both kinds of deflate, a body that is not the gzip it claims, meta refreshes to javascript:
and data:) gives the same documents as a reindex of its archive.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import brotli
import pytest
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.test import get_crawler

from samizdat.archive.extract import META_REFRESH_MAX_DELAY, followed_refresh
from samizdat.archive.payload import PayloadRefused, decode_payload
from samizdat.archive.warc import MAX_PAYLOAD_KEY, WarcWriter, iter_entries, read_capture
from samizdat.crawler import settings as crawl_settings
from samizdat.crawler.middlewares import ReplayMiddleware, SafeMetaRefreshMiddleware
from samizdat.webui import create_app
from tests.conftest import export_records
from tests.helpers import run_measured, serve_pages
from tests.hostile_site import BOMB_MIB, MIB
from tests.hostile_site import bombs as hostile_bombs

ROOT = Path(__file__).resolve().parent.parent
CRAWL_SETTINGS = {k: v for k, v in vars(crawl_settings).items() if k.isupper()}


@pytest.fixture(scope="module")
def bombs() -> dict[str, tuple[str, bytes]]:
    """name -> (Content-Encoding, body): each inflates to BOMB_MIB MiB of zeros."""
    return hostile_bombs(BOMB_MIB)


# -- the same decoding as Scrapy's -------------------------------------------------------------------------

HTML = ("<html><head><title>Bounded</title></head><body>" + "<p>Слово и дело. Word and deed.</p>" * 40).encode()


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def scrapy_decoding(body: bytes, encoding: str, max_bytes: int) -> tuple[str, bytes]:
    """What the crawl makes of a response: ("ok", body), ("too_large", b"") or ("undecodable", b"")."""
    crawler = get_crawler(settings_dict={"DOWNLOAD_MAXSIZE": max_bytes, "DOWNLOAD_WARNSIZE": 0})
    middleware = HttpCompressionMiddleware.from_crawler(crawler)
    request = Request("http://example.test/page")
    response = Response(request.url, body=body, headers={"Content-Encoding": encoding}, request=request)
    try:
        decoded = middleware.process_response(request, response)
    except IgnoreRequest:
        return "too_large", b""
    except Exception:  # whatever else Scrapy raises drops the page too: that is what is compared
        return "undecodable", b""
    return "ok", decoded.body


def our_decoding(body: bytes, encoding: str, max_bytes: int) -> tuple[str, bytes]:
    try:
        return "ok", decode_payload(body, [encoding], max_bytes)[0]
    except PayloadRefused as exc:
        return exc.reason, b""


CASES = {
    "gzip": ("gzip", gzip.compress(HTML)),
    "x-gzip": ("x-gzip", gzip.compress(HTML)),
    "GZIP upper case, spaces": (" GZIP ", gzip.compress(HTML)),
    "gzip, gzip": ("gzip, gzip", gzip.compress(gzip.compress(HTML))),
    "gzip,gzip,gzip": ("gzip,gzip,gzip", gzip.compress(gzip.compress(gzip.compress(HTML)))),
    "deflate (zlib)": ("deflate", zlib.compress(HTML)),
    "deflate (raw)": ("deflate", raw_deflate(HTML)),
    "br": ("br", brotli.compress(HTML)),
    "gzip, br": ("gzip, br", brotli.compress(gzip.compress(HTML))),
    "deflate, gzip": ("deflate, gzip", gzip.compress(zlib.compress(HTML))),
    "identity": ("identity", HTML),
    "gzip, trailing comma": ("gzip,", gzip.compress(HTML)),
    "unknown, gzip": ("compress, gzip", gzip.compress(HTML)),
    "gzip then unknown": ("gzip, compress", gzip.compress(HTML)),
    "two gzip members": ("gzip", gzip.compress(HTML[:500]) + gzip.compress(HTML[500:])),
    "gzip cut short": ("gzip", gzip.compress(HTML)[:-30]),
    "gzip, trailing junk": ("gzip", gzip.compress(HTML) + b"junk after the member"),
    "gzip, bad CRC": ("gzip", gzip.compress(HTML)[:-8] + b"\0\0\0\0" + gzip.compress(HTML)[-4:]),
    "gzip, empty body": ("gzip", b""),
    "claims gzip, is not": ("gzip", HTML),
    "claims deflate, is not": ("deflate", HTML),
    "claims br, is not": ("br", HTML),
    "gzip, gzip, only one applied": ("gzip, gzip", gzip.compress(HTML)),
    "past the limit": ("gzip", gzip.compress(HTML * 40)),
    "past the limit, deflate": ("deflate", zlib.compress(HTML * 40)),
    "past the limit in the second gzip": ("gzip, gzip", gzip.compress(gzip.compress(HTML * 40))),
}


@pytest.mark.parametrize("case", CASES)
def test_a_payload_is_decoded_exactly_as_the_crawl_decodes_it(case):
    encoding, body = CASES[case]
    limit = 40 * 1024  # HTML is about 2 KB; HTML * 40 passes this
    assert our_decoding(body, encoding, limit) == scrapy_decoding(body, encoding, limit)


# -- bombs read back from a WARC file in bounded memory ----------------------------------------------------

MEASURE = """
import json, sys
from tests.helpers import own_peak_bytes
from pathlib import Path
from samizdat.archive.payload import PayloadRefused
from samizdat.archive.warc import iter_entries, read_capture
root, name, offsets = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
refused = []
for offset in offsets:
    try:
        read_capture(root, name, offset)
    except PayloadRefused as exc:
        refused.append(exc.reason)
entries = [e for e in iter_entries(root / name, name) if e.type == "response"]
print(json.dumps({
    "refused": refused,
    "entries": [[e.offset, e.info.get("refused"), e.capture is not None] for e in entries],
    "peak_bytes": own_peak_bytes(),
}))
"""


def write_warc(root: Path, pages: list[tuple[str, list[tuple[str, str]], bytes]], max_bytes: int | None) -> list[Any]:
    info = {} if max_bytes is None else {MAX_PAYLOAD_KEY: max_bytes}
    with WarcWriter(root / "warc", "bounded", max_bytes=1 << 40, info=info) as writer:
        return [
            writer.write_exchange(url, "GET", [], 200, "OK", headers, body, same_as=None)
            for url, headers, body in pages
        ]


def html_headers(encoding: str | None = None) -> list[tuple[str, str]]:
    headers = [("Content-Type", "text/html; charset=utf-8")]
    return [*headers, ("Content-Encoding", encoding)] if encoding else headers


def test_bombs_are_refused_reading_a_warc_back_in_bounded_memory(bombs, tmp_path):
    pages = [(f"http://bombs.test/{name}", html_headers(enc), body) for name, (enc, body) in bombs.items()]
    pages.append(("http://bombs.test/page", html_headers("gzip, gzip"), gzip.compress(gzip.compress(HTML))))
    locations = write_warc(tmp_path, pages, max_bytes=None)  # no limit recorded: the default, 20 MiB
    name = locations[0].warc_file
    offsets = [loc.offset for loc in locations]
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(tmp_path), name, json.dumps(offsets)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout)
    assert measured["refused"] == ["too_large"] * len(bombs)  # the page after them is read
    assert measured["entries"] == [[o, "too_large", False] for o in offsets[:-1]] + [[offsets[-1], None, True]]
    # Inflated whole, one bomb alone would take more than 1 GiB; within the 20 MiB limit, a few times that.
    assert measured["peak_bytes"] < 256 * MIB, measured
    assert read_capture(tmp_path, name, offsets[-1]).payload == HTML


def test_the_limit_a_file_records_is_the_one_applied(tmp_path):
    body = gzip.compress(HTML * 40)  # about 80 KB once inflated
    small = write_warc(tmp_path / "small", [("http://a.test/", html_headers("gzip"), body)], max_bytes=40 * 1024)
    large = write_warc(tmp_path / "large", [("http://a.test/", html_headers("gzip"), body)], max_bytes=None)
    with pytest.raises(PayloadRefused, match="passed 40960 bytes") as refused:
        read_capture(tmp_path / "small", small[0].warc_file, small[0].offset)
    assert refused.value.reason == "too_large"
    assert read_capture(tmp_path / "large", large[0].warc_file, large[0].offset).payload == HTML * 40
    assert read_capture(tmp_path / "small", small[0].warc_file, small[0].offset, max_bytes=0).payload == HTML * 40
    # larger than the limit as it was received: refused before anything is decoded
    plain = write_warc(tmp_path / "plain", [("http://a.test/", html_headers(), HTML * 40)], max_bytes=40 * 1024)
    with pytest.raises(PayloadRefused, match="as archived is larger than 40960"):
        read_capture(tmp_path / "plain", plain[0].warc_file, plain[0].offset)
    path = tmp_path / "plain" / plain[0].warc_file
    [entry] = [e for e in iter_entries(path, path.name) if e.type == "response"]
    assert entry.capture is None and entry.info["refused"] == "too_large" and entry.info["url"] == "http://a.test/"


# -- a real crawl and its reindex ---------------------------------------------------------------------------

WORDS = (
    "The tenants' committee met in the boiler room because the hall upstairs had no heating left. "
    "Every flat sent someone, and the minutes were kept in a school exercise book passed from hand to hand. "
)


def article(slug: str, extra_head: str = "") -> bytes:
    paragraphs = "".join(f"<p>{slug} paragraph {n}. {WORDS}</p>" for n in range(6))
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{extra_head}'
        f"<title>On {slug}</title></head><body><header><a href='/'>Bounded site</a></header>"
        f"<main><article><h1>On {slug}</h1><p class='byline'>By A. Writer, 3 March 2024</p>"
        f"{paragraphs}</article></main><footer>Bounded site</footer></body></html>"
    ).encode()


def build_site(bombs: dict[str, tuple[str, bytes]]) -> dict[str, tuple[list[tuple[str, str]], bytes]]:
    """path -> (headers, body) of every page of the site."""
    html = [("Content-Type", "text/html; charset=utf-8")]
    site: dict[str, tuple[list[tuple[str, str]], bytes]] = {
        "/2024/03/double-gzip.html": (
            [*html, ("Content-Encoding", "gzip, gzip")],
            gzip.compress(gzip.compress(article("double-gzip"))),
        ),
        "/2024/03/deflate.html": ([*html, ("Content-Encoding", "deflate")], zlib.compress(article("deflate"))),
        "/2024/03/raw-deflate.html": ([*html, ("Content-Encoding", "deflate")], raw_deflate(article("raw-deflate"))),
        "/2024/03/not-gzip.html": ([*html, ("Content-Encoding", "gzip")], article("not-gzip")),
        "/2024/03/refresh-javascript.html": (
            html,
            article("refresh-javascript", '<meta http-equiv="refresh" content="600;url=javascript:alert(1)">'),
        ),
        "/2024/03/refresh-soon-javascript.html": (
            html,
            article("refresh-soon-javascript", '<meta http-equiv="refresh" content="0; URL=javascript:void(0)">'),
        ),
        "/2024/03/refresh-data.html": (
            html,
            article("refresh-data", '<meta http-equiv="refresh" content="1;url=data:text/html,<b>x</b>">'),
        ),
    }
    for name, (encoding, body) in bombs.items():
        site[f"/2024/03/bomb-{name}.html"] = ([*html, ("Content-Encoding", encoding)], body)
    links = "".join(f'<li><a href="{path}">{path}</a></li>' for path in site)
    site["/"] = (html, f"<!DOCTYPE html><html><head><title>Bounded site</title></head><body><ul>{links}</ul>".encode())
    return site


@pytest.fixture(scope="module")
def site(bombs) -> Iterator[tuple[str, dict[str, tuple[list[tuple[str, str]], bytes]]]]:
    pages = build_site(bombs)

    with serve_pages(pages) as url:
        yield url, pages


def test_crawl_and_reindex_read_every_encoding_alike_and_stay_bounded(site, tmp_path):
    url, pages = site
    config = tmp_path / "sources.toml"
    config.write_text(
        f'[[source]]\nname = "bounded"\nkind = "generic"\nstart_urls = ["{url}"]\ndelay = 0\n'
        "\n[settings]\ntimeout_seconds = 20\nprogress_seconds = 0\n",
        encoding="utf-8",
    )
    data = tmp_path / "data"
    crawled, crawl_peak = run_measured("crawl", "--config", config, "--data", data)
    assert crawled.returncode == 0, crawled.stdout + crawled.stderr
    assert "value_error" not in crawled.stdout + crawled.stderr  # the javascript: refreshes are not errors
    crawl_docs = {r["url"]: r for r in export_records(data)}
    slugs = {u.rsplit("/", 1)[1].removesuffix(".html") for u in crawl_docs}
    assert slugs == {
        "double-gzip",
        "deflate",
        "raw-deflate",
        "refresh-javascript",
        "refresh-soon-javascript",
        "refresh-data",
    }, sorted(crawl_docs)
    for doc in crawl_docs.values():
        slug = doc["url"].rsplit("/", 1)[1].removesuffix(".html")
        assert doc["title"] == f"On {slug}" and f"{slug} paragraph 5. The tenants" in doc["text"]
        assert "\ufffd" not in doc["text"]

    # every page is archived, bombs included, and reading the archive back refuses what the crawl refused
    responses = [e for p in sorted((data / "warc").glob("*.warc.gz")) for e in iter_entries(p, p.name)]
    archived = {(e.capture.url if e.capture else e.info["url"]) for e in responses if e.type == "response"}
    assert {url.rstrip("/") + path for path in pages} <= archived | {url}
    refused = {e.info["url"].rsplit("/", 1)[1]: e.info["refused"] for e in responses if e.info.get("refused")}
    assert refused == {
        "bomb-gzip.html": "too_large",
        "bomb-double-gzip.html": "too_large",
        "bomb-deflate.html": "too_large",
        "bomb-raw-deflate.html": "too_large",
        "not-gzip.html": "undecodable",
    }

    reindexed, reindex_peak = run_measured("reindex", "--data", data)
    assert reindexed.returncode == 0, reindexed.stdout + reindexed.stderr
    reindex_docs = {r["url"]: r for r in export_records(data)}
    assert reindex_docs == crawl_docs

    # the captured view reads the archived response through the same bounded decoding
    client = create_app({"data_dir": data}).test_client()
    for doc in crawl_docs.values():
        slug = doc["url"].rsplit("/", 1)[1].removesuffix(".html")
        raw = client.get(f"/documents/{doc['id']}/raw")
        assert raw.status_code == 200 and f"{slug} paragraph 5. The tenants" in raw.get_data(as_text=True)
        assert "javascript:" not in raw.get_data(as_text=True)
    # Four bombs of more than 1 GiB each went through both; the one limit is 20 MiB.
    assert crawl_peak < 512 * MIB and reindex_peak < 512 * MIB, (crawl_peak, reindex_peak)


# -- the crawl's own readers of the archive -----------------------------------------------------------------


def test_a_resumed_crawl_refuses_again_what_it_refused_and_replays_the_rest(bombs, tmp_path):
    encoding, bomb = bombs["double-gzip"]
    good = gzip.compress(gzip.compress(HTML))
    pages = [
        ("http://a.test/bomb", html_headers(encoding), bomb),
        ("http://a.test/page", html_headers("gzip, gzip"), good),
    ]
    locations = write_warc(tmp_path, pages, max_bytes=MIB)
    name = locations[0].warc_file
    crawler = get_crawler(
        settings_dict={
            "SAMIZDAT_REPLAY_FILES": [name],
            "SAMIZDAT_DATA_DIR": str(tmp_path),
            "SAMIZDAT_STORE_PATH": str(tmp_path / "store.sqlite"),
        }
    )
    replay = ReplayMiddleware.from_crawler(crawler)
    with pytest.raises(IgnoreRequest, match="passed 1048576 bytes"):
        replay.process_request(Request("http://a.test/bomb"))
    response = replay.process_request(Request("http://a.test/page"))
    assert response is not None and response.body == HTML and "Content-Encoding" not in response.headers


@pytest.mark.parametrize(
    ("target", "follows"),
    [
        ("javascript:alert(1)", False),
        ("JavaScript:void(0)", False),
        ("mailto:editor@example.test", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("http://[malformed/", False),
        ("http://a.test:99999/next.html", False),
        ("/next.html", True),
        ("https://b.test/next.html", True),
    ],
)
@pytest.mark.parametrize("delay", [0, 99, 100, 600])
def test_a_meta_refresh_is_followed_by_the_crawl_exactly_when_a_reindex_reads_it_as_a_redirect(target, follows, delay):
    # Scrapy's own middleware, as the crawl runs it, and the extraction a reindex runs decide alike: a page
    # whose refresh the crawl follows is never read by the crawl, so a reindex must not read it either.
    middleware = SafeMetaRefreshMiddleware.from_crawler(get_crawler(settings_dict=CRAWL_SETTINGS))
    request = Request("http://a.test/page.html")
    body = f'<html><head><meta http-equiv="refresh" content="{delay};url={target}"></head><body>x</body></html>'
    response = HtmlResponse(request.url, body=body.encode(), request=request)
    result = middleware.process_response(request, response)
    followed = follows and delay < META_REFRESH_MAX_DELAY
    assert isinstance(result, Request) is followed
    assert result is response or result.url == followed_refresh(body, request.url)
    assert (followed_refresh(body, request.url) is not None) is followed
