"""Page requisites: what archive.requisites finds in markup and CSS, and (below) what a crawl archives."""

import json
import re
import shutil
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
import pytest
from warcio.archiveiterator import ArchiveIterator

from samizdat.archive.requisites import KINDS, RESOURCE_TYPE_HEADER, Requisite, css_requisites, html_requisites
from samizdat.sample_sites import expected_articles, sources_toml
from tests.conftest import Crawl, export_records, run_cli

PAGE = """<!doctype html><html><head>
<link rel="stylesheet" href="/css/a.css"><link rel="alternate" href="/feed.xml">
<link rel="shortcut icon" href="/favicon.ico"><link rel="apple-touch-icon" href="/touch.png">
<link rel="preload" as="font" href="/fonts/f.woff2" crossorigin><link rel="preload" as="script" href="/p.js">
<link rel="preload" as="image" href="/hero.jpg" imagesrcset="/hero-2x.jpg 2x">
<style>@import "/css/print.css"; body { background: url('/img/bg.png') }</style>
<script src="/app.js"></script>
</head><body>
<!-- <img src="/commented.png"> -->
<img src="/img/a.png" srcset="/img/a-480.png 480w, /img/a,comma.png 800w, data:image/png;base64,AAAA 2x">
<picture><source srcset="/img/b.webp 1x, /img/b@2x.webp 2x" type="image/webp"><img src="/img/b.jpg"></picture>
<input type="image" src="/img/button.png"><video poster="/img/poster.jpg"><source src="/v.mp4"></video>
<svg><image href="/img/svg.png"/></svg><div style="background-image:url(/img/div.png)"></div>
<img src="/img/a.png"><img src="javascript:alert(1)"><img src="#top"><img src="ftp://h/x.png">
<img src="//cdn.example.net/c.png#fragment"><a href="/next-page">not a requisite</a>
</body></html>"""


def urls(requisites):
    return [(r.url.replace("http://site.test", ""), r.kind) for r in requisites]


def test_html_requisites_in_page_order_each_once_absolute():
    found = html_requisites(lxml.html.fromstring(PAGE), "http://site.test/2024/post.html")
    assert urls(found) == [
        ("/css/a.css", "stylesheet"),
        ("/favicon.ico", "icon"),
        ("/touch.png", "icon"),
        ("/fonts/f.woff2", "font"),
        ("/hero.jpg", "image"),
        ("/hero-2x.jpg", "image"),
        ("/css/print.css", "stylesheet"),
        ("/img/bg.png", "image"),
        ("/img/a.png", "image"),
        ("/img/a-480.png", "image"),
        ("/img/a,comma.png", "image"),
        ("/img/b.webp", "image"),
        ("/img/b@2x.webp", "image"),
        ("/img/b.jpg", "image"),
        ("/img/button.png", "image"),
        ("/img/poster.jpg", "image"),
        ("/v.mp4", "media"),
        ("/img/svg.png", "image"),
        ("/img/div.png", "image"),
        ("http://cdn.example.net/c.png", "image"),
    ]
    assert {r.kind for r in found} <= set(KINDS)


def test_scripts_only_on_request():
    root = lxml.html.fromstring(PAGE)
    assert "script" not in {r.kind for r in html_requisites(root, "http://site.test/")}
    scripts = [r.url for r in html_requisites(root, "http://site.test/", scripts=True) if r.kind == "script"]
    assert scripts == ["http://site.test/p.js", "http://site.test/app.js"]


def test_base_href_is_honoured_and_urls_escaped_like_a_request():
    root = lxml.html.fromstring(
        '<html><head><base href="https://other.test/static/"></head>'
        '<body><img src="a b.png"><img src="../up.png"><img src="/абв.png"></body></html>'
    )
    assert [r.url for r in html_requisites(root, "http://site.test/page")] == [
        "https://other.test/static/a%20b.png",
        "https://other.test/up.png",
        "https://other.test/%D0%B0%D0%B1%D0%B2.png",
    ]


def test_css_requisites_imports_fonts_and_images():
    css = """
    @import url("b.css") screen; @import 'c.css';
    /* url(commented.png) @import "no.css"; */
    @font-face { font-family: Sam; src: url(../fonts/sam.woff2) format("woff2"), url('../fonts/sam.ttf'); }
    h1 { background: #fff url( "img/h1.png" ) no-repeat; list-style: url(data:image/png;base64,AAAA); }
    .x { background-image: URL(img/h1.png) }
    """
    assert urls(css_requisites(css, "http://site.test/css/a.css")) == [
        ("/css/b.css", "stylesheet"),
        ("/css/c.css", "stylesheet"),
        ("/fonts/sam.woff2", "font"),
        ("/fonts/sam.ttf", "font"),
        ("/css/img/h1.png", "image"),
    ]


def test_hostile_css_and_srcset():
    # Megabytes of unterminated url( and /* would make a naive scan quadratic (hours); the bounded
    # patterns finish, and find nothing in them.
    assert css_requisites("url(" * 500_000 + "/*" * 500_000, "http://site.test/") == []
    assert css_requisites("a{b:url(x.png)} /* url(y.png)", "http://site.test/") == [
        Requisite("http://site.test/x.png", "image")
    ]
    srcset = "a.png 1x," * 100_000 + " b.png (2x, 3x), c.png"
    found = html_requisites(lxml.html.fromstring(f'<img srcset="{srcset}">'), "http://site.test/")
    assert [r.url for r in found] == ["http://site.test/a.png", "http://site.test/b.png", "http://site.test/c.png"]


def test_requisite_is_a_value():
    assert Requisite("http://a/", "image") == Requisite("http://a/", "image")
    assert RESOURCE_TYPE_HEADER == "WARC-Resource-Type"


# -- the crawl ----------------------------------------------------------------------------------------------


def warc_responses(data: Path) -> dict[str, list[dict]]:
    """Every response and revisit record of a data directory's WARC files, by URL, with its resource type."""
    records: dict[str, list[dict]] = {}
    for path in sorted((data / "warc").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type not in ("response", "revisit", "request"):
                    continue
                url = record.rec_headers.get_header("WARC-Target-URI")
                entry = {
                    "type": record.rec_type,
                    "kind": record.rec_headers.get_header(RESOURCE_TYPE_HEADER),
                    "status": int(record.http_headers.get_statuscode() or 0) if record.rec_type != "request" else 0,
                    "content_type": record.http_headers.get_header("Content-Type") if record.http_headers else None,
                    "body": record.content_stream().read() if record.rec_type == "response" else b"",
                }
                records.setdefault(url, []).append(entry)
    return records


def needed_by(page_url: str, html: bytes, records: dict[str, list[dict]]) -> set[str]:
    """What the archived page needs, on its own host: its requisites, and theirs (CSS), from the archived CSS."""
    host = urlsplit(page_url).netloc
    todo = list(html_requisites(lxml.html.fromstring(html), page_url))
    needed: set[str] = set()
    while todo:
        requisite = todo.pop()
        if urlsplit(requisite.url).netloc != host or requisite.url in needed:
            continue
        needed.add(requisite.url)
        for record in records.get(requisite.url, []):
            if record["type"] == "response" and record["status"] == 200 and requisite.kind == "stylesheet":
                todo += css_requisites(record["body"].decode("utf-8"), requisite.url)
    return needed


def test_every_requisite_of_every_article_page_is_archived_once_and_marked(crawl):
    records = warc_responses(crawl.data)
    articles = expected_articles(crawl.sites.urls)
    checked = set()
    for article in articles:
        pages = [r for r in records.get(article["url"], []) if r["type"] == "response" and r["status"] == 200]
        assert pages and pages[0]["kind"] is None, article["url"]  # a page's records carry no resource type
        needed = needed_by(article["url"], pages[0]["body"], records)
        assert len(needed) >= 10, (article["url"], needed)  # stylesheets, the font, images, the favicon
        for url in needed - checked:
            responses = [r for r in records.get(url, []) if r["type"] in ("response", "revisit")]
            assert len(responses) == 1, (url, [r["status"] for r in responses])
            requests = [r for r in records.get(url, []) if r["type"] == "request"]
            assert [r["kind"] for r in requests] == [responses[0]["kind"]] and responses[0]["kind"] in KINDS, url
        checked |= needed
    by_path = {urlsplit(url).path: records[url][0] for url in checked}
    # The @import chain, the font from the third stylesheet, the background image, and the 404 kept as such.
    assert {"/assets/a.css", "/assets/b.css", "/assets/c.css"} <= set(by_path)
    assert by_path["/assets/fonts/samizdat-sans.woff2"]["kind"] == "font"
    assert by_path["/assets/img/paper.png"]["kind"] == "image"
    assert by_path["/images/spacer.gif"]["status"] == 404  # the magazine's missing image, archived as answered
    assert by_path["/favicon.ico"]["kind"] == "icon"


def test_requisites_stay_on_the_site_by_default(crawl):
    assert not [r for r in crawl.requests if r["site"] == "cdn"]  # the CDN host was never asked, not even robots.txt
    records = warc_responses(crawl.data)
    assert not [url for url in records if url.startswith(crawl.sites.cdn)]
    assert not [url for url in records if "gravatar.com" in url or "blogger.googleusercontent" in url]
    assert re.search(r"requisites: \d+ fetched .*skipped: offsite x\d+", crawl.result.stdout), crawl.result.stdout


def test_requisites_never_reach_the_store_the_index_or_an_export(crawl):
    records = export_records(crawl.data)
    assert len(records) == len(expected_articles(crawl.sites.urls))
    assert not [r["url"] for r in records if re.search(r"\.(css|png|gif|ico|woff2)$", urlsplit(r["url"]).path)]
    # b.css says "the paper texture every page sits on": were a stylesheet indexed, this would find it.
    found = run_cli("search", "paper texture every page", "--json", "--data", crawl.data)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["total"] == 0
    with sqlite3.connect(crawl.data / "store.sqlite") as db:
        urls = [row[0] for row in db.execute("SELECT url FROM documents")]
    assert urls and not [u for u in urls if "/assets/" in u or u.endswith((".css", ".ico"))]


@pytest.fixture(scope="module")
def cdn_crawl(sample_sites, tmp_path_factory) -> Crawl:
    """The Hugo blog alone, with its CDN allowed for requisites and tight limits: max_pages 4 (requisites
    never count toward it), 6 requisites a page, none over 1,000 bytes (its own 1,027-byte stylesheet)."""
    root = tmp_path_factory.mktemp("cdn-crawl")
    config = root / "sources.toml"
    config.write_text(
        sources_toml(sample_sites.urls, sites=("hugo",))
        + 'requisite_hosts = ["localhost"]\nmax_pages = 4\n'
        + "\n[settings]\ntimeout_seconds = 10\nprogress_seconds = 0\nmax_requisites_per_page = 6\n"
        + "max_requisite_bytes = 1000\n",
        encoding="utf-8",
    )
    before = len(sample_sites.requests())
    result = run_cli("crawl", "--config", config, "--data", root / "data")
    assert result.returncode == 0, result.stdout + result.stderr
    return Crawl(root / "data", config, result, sample_sites, sample_sites.requests()[before:])


def test_a_named_cdn_is_fetched_within_its_robots_txt(cdn_crawl):
    cdn = [r for r in cdn_crawl.requests if r["site"] == "cdn"]
    assert cdn and cdn[0]["path"] == "/robots.txt"  # its robots.txt first
    assert sorted(r["path"] for r in cdn) == ["/css/samizdat-serif.css", "/fonts/samizdat-serif.woff2", "/robots.txt"]
    records = warc_responses(cdn_crawl.data)
    base = cdn_crawl.sites.cdn
    assert [r["kind"] for r in records[base + "/css/samizdat-serif.css"] if r["type"] == "response"] == ["stylesheet"]
    assert [r["kind"] for r in records[base + "/fonts/samizdat-serif.woff2"] if r["type"] == "response"] == ["font"]
    assert base + "/private/pixel.png" not in records  # robots.txt of the CDN disallows /private/
    # Only requisites (and its robots.txt) come from the CDN: no page of it was crawled.
    pages = [u for u, rs in records.items() if u.startswith(base) and any(r["kind"] is None for r in rs)]
    assert pages == [base + "/robots.txt"]
    assert not [r for r in cdn_crawl.requests if r["site"] != "hugo" and r["site"] != "cdn"]


def test_requisites_are_bounded_and_counted_apart_from_pages(cdn_crawl):
    run = json.loads(run_cli("runs", "--json", "--data", cdn_crawl.data).stdout)["runs"][0]
    assert run["pages"] <= 4  # max_pages: requisites do not count toward it
    figures = run["requisites"]
    assert figures["fetched"] >= 8 and figures["bytes"] > 0
    assert figures["skipped"]["limit"] >= 3  # the images past the sixth requisite of each page
    assert figures["skipped"]["robots.txt"] == 1  # the CDN's /private/pixel.png
    assert figures["failed"] == {"too_large": 1}  # the theme's own 1,027-byte stylesheet, over 1,000 bytes
    assert "requisite_limit" not in run["skipped"] and "requisite_robots.txt" not in run["skipped"]
    hugo_paths = [r["path"] for r in cdn_crawl.requests if r["site"] == "hugo" and r["path"] != "/robots.txt"]
    assert "/assets/img/banner.png" not in hugo_paths  # the seventh requisite of every page
    assert len(hugo_paths) == len(set(hugo_paths))  # everything once
    assert re.search(r"requisites: \d+ fetched", run_cli("runs", "--data", cdn_crawl.data).stdout)


def test_reindex_reads_no_requisite_as_a_page(cdn_crawl, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(cdn_crawl.data / "warc", copy / "warc")
    shutil.copy(cdn_crawl.data / "samizdat.json", copy / "samizdat.json")
    result = run_cli("reindex", "--data", copy)
    assert result.returncode == 0, result.stderr
    assert export_records(copy) == export_records(cdn_crawl.data)
    records = [r for rs in warc_responses(copy).values() for r in rs if r["type"] in ("response", "revisit")]
    pages = len([r for r in records if not r["kind"]])
    assert len(records) > 2 * pages  # most of what was archived are requisites
    responses = re.search(r"reindex: \d+/\d+ WARC files, (\d+) responses", result.stderr)
    assert responses and int(responses.group(1)) <= pages  # requisites were not handed to extraction
