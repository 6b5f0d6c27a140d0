"""Any URL in the archive, the wayback way (webui/wayback.py, archive/replay.py): `/web/<timestamp>/<url>` for
a listing page, a PDF and an image of the session's crawl, `/web/*/<url>` lists, the raw modes (if_ cs_ im_
id_) on a small archive written here with everything a replay must handle (an @import chain, a font served
as octet-stream, a redirect, a revisit, an SVG with a script, HTML where a stylesheet should be, a URL with
a query and percent-escapes), what is not archived, and hostile addresses.
"""

from __future__ import annotations

import json
import re
from email.message import Message
from pathlib import Path
from urllib.parse import quote, urlsplit

import lxml.html
import pytest

from samizdat.archive.accounts import Accounts
from samizdat.archive.cdxj import CdxjIndex, catch_up
from samizdat.archive.datadir import DataDir
from samizdat.archive.document import Document
from samizdat.archive.store import Store
from samizdat.archive.warc import Original, WarcWriter, read_capture
from samizdat.webui import create_app
from samizdat.webui.security import RAW_CSP
from tests.helpers import http_get

SITE = "http://replay.test"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005fe02fea7d6a4f30000000049454e44ae426082"
)
FONT = b"wOF2" + bytes(60)  # a font's signature: enough to be served as one, not to be drawn
PAGE = f"""<!doctype html><html><head><title>Replay test</title>
<link rel="stylesheet" href="/css/a.css" integrity="sha384-x" crossorigin="anonymous" onload="window.x=1">
<link rel="prefetch" href="{SITE}/next.html"><link rel="icon" href="/logo.png">
<style>@import url("/css/missing.css"); .hero {{ background: url('img/bg.png') }}</style></head>
<body style="background-image: url(/logo.png)"><h1>Replay</h1>
<img id="logo" src="/logo.png" srcset="/logo.png 1x, /logo.png?size=2 2x" alt="logo">
<img id="gone" src="/gone.png" alt="gone"><img id="moved" src="/old.png" alt="moved">
<a id="archived" href="/article.html">archived</a> <a id="elsewhere" href="https://elsewhere.test/">elsewhere</a>
<a id="listing" href="/list?tag=a%20b&amp;page=2">listing</a>
<script>window.pwned = 1; document.title = "ran"</script></body></html>""".encode()
CSS_A = b'@import "b.css";\n@font-face { font-family: Samizdat; src: url(../fonts/s.woff2) format("woff2") }\n' + (
    b"body { font-family: Samizdat, serif; background: url(javascript:alert(1)) }"
)
CSS_B = b"h1 { color: rgb(1, 2, 3); background: url(/logo.png) } p { width: expression(alert(1)) }"
EVIL_SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><rect width="9" height="9"/></svg>'
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

HTML = [("Content-Type", "text/html; charset=utf-8")]
RESPONSES = [  # url path, status, headers, body, resource type
    ("/", 200, HTML, PAGE, None),
    ("/css/a.css", 200, [("Content-Type", "text/css")], CSS_A, "stylesheet"),
    ("/css/b.css", 200, [("Content-Type", "text/css; charset=utf-8")], CSS_B, "stylesheet"),
    ("/fonts/s.woff2", 200, [("Content-Type", "application/octet-stream")], FONT, "font"),
    ("/logo.png", 200, [("Content-Type", "image/png")], PNG, "image"),
    ("/old.png", 301, [("Location", "/logo.png"), ("Content-Type", "text/html")], b"moved", "image"),
    ("/evil.svg", 200, [("Content-Type", "image/svg+xml")], EVIL_SVG, "image"),
    ("/fake.css", 200, HTML, b"<script>alert(1)</script>", "stylesheet"),
    ("/article.html", 200, HTML, b"<html><body><p>An article.</p></body></html>", None),
    ("/list?tag=a%20b&page=2", 200, HTML, b"<html><body><p>Page two of a b.</p></body></html>", None),
    ("/issue.pdf", 200, [("Content-Type", "application/pdf")], PDF, None),
]


@pytest.fixture(scope="module")
def replay_archive(tmp_path_factory) -> Path:
    """A data directory holding RESPONSES, a second capture of the logo as a revisit, and a document for the
    page, with its CDXJ index."""
    data = DataDir.create(tmp_path_factory.mktemp("replay") / "data").root
    with WarcWriter(DataDir(data).warc_dir, "replay", max_bytes=1 << 30) as writer:
        where = {}
        for path, status, headers, body, kind in RESPONSES:
            reason = "Moved Permanently" if status == 301 else "OK"
            where[path] = writer.write_exchange(
                SITE + path, "GET", [], status, reason, headers, body, resource_type=kind
            )
        logo = where["/logo.png"]
        original = Original(SITE + "/logo.png", logo.date, logo.digest, logo.warc_file, logo.offset)
        revisit = writer.write_exchange(
            SITE + "/logo.png", "GET", [], 200, "OK", [("Content-Type", "image/png")], PNG, same_as=original
        )
        assert revisit.revisit
    catch_up(data)
    page = read_capture(data, where["/"].warc_file, where["/"].offset)
    with Store(DataDir(data).store_path) as store:
        store.upsert(
            Document(
                url=SITE + "/",
                source="replay",
                kind="generic",
                title="Replay test",
                text="Replay. " * 30,
                fetched_at=page.fetched_at,
                warc_file=page.warc_file,
                warc_offset=page.warc_offset,
                digest=page.digest,
            )
        )
    return data


@pytest.fixture(scope="module")
def client(replay_archive):
    return create_app({"data_dir": replay_archive}).test_client()


def timestamp(data: Path, url: str) -> str:
    return CdxjIndex.of(data).captures(url)[0].timestamp


def test_a_page_opens_in_a_sandboxed_frame_with_a_banner_and_its_requisites_rewritten(client, replay_archive):
    moved = client.get(f"/web/2000/{SITE}/")
    ts = timestamp(replay_archive, SITE + "/")
    assert moved.status_code == 302 and moved.headers["Location"] == f"/web/{ts}/{SITE}/", "to the exact capture"
    page = client.get(moved.headers["Location"])
    html = page.get_data(as_text=True)
    (frame,) = lxml.html.fromstring(html).iter("iframe")
    assert (
        frame.get("src") == f"/web/{ts}if_/{SITE}/"
        and frame.get("sandbox") == "allow-top-navigation-by-user-activation"
    )
    assert f'href="/web/*/{SITE}/"' in html and "<script>window.pwned" not in html
    assert 'href="/documents/' in html, "an article: a link to its text and versions"
    assert 'href="/documents/' not in client.get(f"/web/{ts}/{SITE}/issue.pdf").get_data(as_text=True)

    inner = client.get(frame.get("src"))
    assert inner.status_code == 200 and inner.headers["Content-Security-Policy"] == RAW_CSP
    doc = lxml.html.fromstring(inner.data)
    links = {link.get("rel"): link.attrib for link in doc.iter("link")}
    assert links["stylesheet"] == {"rel": "stylesheet", "href": f"/web/{ts}cs_/{SITE}/css/a.css"}, (
        "no integrity, no handler"
    )
    assert links["icon"]["href"] == f"/web/{ts}im_/{SITE}/logo.png" and "prefetch" not in links
    logo = doc.get_element_by_id("logo")
    assert logo.get("src") == f"/web/{ts}im_/{SITE}/logo.png"
    assert logo.get("srcset") == f"/web/{ts}im_/{SITE}/logo.png 1x, /web/{ts}im_/{SITE}/logo.png?size=2 2x"
    style = doc.find(".//style").text
    assert f'@import url("/web/{ts}cs_/{SITE}/css/missing.css")' in style and f"im_/{SITE}/img/bg.png" in style
    assert doc.find("body").get("style") == f'background-image: url("/web/{ts}im_/{SITE}/logo.png")'
    assert not list(doc.iter("script")) and b"pwned" not in inner.data
    assert doc.get_element_by_id("archived").get("href") == f"/web/{ts}/{SITE}/article.html"
    assert doc.get_element_by_id("listing").get("href") == f"/web/{ts}/{SITE}/list?tag=a%20b&page=2"
    assert doc.get_element_by_id("elsewhere").get("href").startswith("/go?"), "not archived: /go says so"


def test_stylesheets_are_rewritten_and_follow_their_import_chain(client, replay_archive):
    ts = timestamp(replay_archive, SITE + "/")
    a = client.get(f"/web/{ts}cs_/{SITE}/css/a.css")
    assert a.status_code == 200 and a.mimetype == "text/css" and a.headers["X-Content-Type-Options"] == "nosniff"
    css = a.get_data(as_text=True)
    assert f'@import url("/web/{ts}cs_/{SITE}/css/b.css")' in css
    assert f'src: url("/web/{ts}im_/{SITE}/fonts/s.woff2")' in css and "javascript:" not in css
    b = client.get(f"/web/{ts}cs_/{SITE}/css/b.css").get_data(as_text=True)
    assert f'url("/web/{ts}im_/{SITE}/logo.png")' in b and "expression" not in b and "rgb(1, 2, 3)" in b
    for missing in ("/css/missing.css", "/fake.css"):  # not archived; HTML where a stylesheet should be
        response = client.get(f"/web/{ts}cs_/{SITE}{missing}")
        assert response.status_code == 404 and response.mimetype == "text/css"
        assert response.get_data(as_text=True).startswith("/* ") and b"<script" not in response.data


def test_images_and_fonts_come_from_the_archive_or_a_placeholder(client, replay_archive):
    ts = timestamp(replay_archive, SITE + "/")
    logo = client.get(f"/web/{ts}im_/{SITE}/logo.png")
    assert logo.status_code == 200 and logo.mimetype == "image/png" and logo.data == PNG
    assert client.get(f"/web/{ts}im_/{SITE}/old.png").data == PNG, "a captured redirect is followed"
    font = client.get(f"/web/{ts}im_/{SITE}/fonts/s.woff2")
    assert font.mimetype == "font/woff2" and font.data == FONT, "octet-stream from the site, a font by its bytes"
    assert font.headers["Access-Control-Allow-Origin"] == "*", "the sandboxed frame's font load is CORS"
    gone = client.get(f"/web/{ts}im_/{SITE}/gone.png")
    assert gone.status_code == 404 and gone.mimetype == "image/svg+xml" and b"not archived" in gone.data
    svg = client.get(f"/web/{ts}im_/{SITE}/evil.svg")
    assert svg.mimetype == "image/svg+xml" and svg.headers["Content-Security-Policy"] == RAW_CSP
    assert "allow-scripts" not in RAW_CSP and "script-src" not in RAW_CSP


def test_a_revisit_is_shown_with_its_originals_payload(client, replay_archive):
    captures = CdxjIndex.of(replay_archive).captures(SITE + "/logo.png")
    assert [c.revisit for c in captures] == [False, True]
    revisit = captures[1]
    assert client.get(f"/web/{revisit.timestamp}im_/{SITE}/logo.png").data == PNG
    listed = client.get(f"/web/*/{SITE}/logo.png").get_data(as_text=True)
    assert "unchanged (revisit)" in listed and listed.count('href="/web/' + revisit.timestamp) >= 1


def test_the_identity_mode_serves_the_bytes_and_never_active_content(client, replay_archive):
    ts = timestamp(replay_archive, SITE + "/")
    page = client.get(f"/web/{ts}id_/{SITE}/")
    assert page.data == PAGE and page.mimetype == "text/plain", "archived HTML as text, never as a page"
    assert page.headers["Content-Security-Policy"] == RAW_CSP and page.headers["X-Content-Type-Options"] == "nosniff"
    svg = client.get(f"/web/{ts}id_/{SITE}/evil.svg")
    assert svg.data == EVIL_SVG and svg.mimetype == "text/plain"
    pdf = client.get(f"/web/{ts}id_/{SITE}/issue.pdf")
    assert pdf.data == PDF and pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"] == 'attachment; filename="issue.pdf"'
    assert client.get(f"/web/{ts}id_/{SITE}/logo.png").mimetype == "image/png"


def test_a_query_string_and_percent_escapes_round_trip(client, replay_archive):
    url = SITE + "/list?tag=a%20b&page=2"
    listed = client.get(f"/web/*/{url}")
    assert listed.status_code == 200
    (href,) = [a.get("href") for a in lxml.html.fromstring(listed.data).cssselect("table.capture-list a")]
    ts = timestamp(replay_archive, url)
    assert href == f"/web/{ts}/{url}"
    assert b"Page two of a b." in client.get(f"/web/{ts}if_/{url}").data
    assert client.get(f"/web/*/{SITE}/list?tag=a%20b&page=3").status_code == 404, "another query is another URL"


def test_a_capture_list_and_the_look_up_box(client, replay_archive):
    listed = client.get(f"/web/*/{SITE}/issue.pdf")
    rows = lxml.html.fromstring(listed.data).cssselect("table.capture-list tbody tr")
    assert len(rows) == 1 and [td.text_content().strip() for td in rows[0]][1:3] == ["200", "application/pdf"]
    newest = client.get(f"/web/{SITE}/logo.png")  # no timestamp: the newest capture (here the revisit)
    assert (
        newest.headers["Location"]
        == f"/web/{CdxjIndex.of(replay_archive).captures(SITE + '/logo.png')[-1].timestamp}/{SITE}/logo.png"
    )
    looked_up = client.get("/web/", query_string={"url": SITE + "/issue.pdf"})
    assert looked_up.status_code == 303 and looked_up.headers["Location"] == f"/web/*/{SITE}/issue.pdf"
    assert (
        client.get("/web/", query_string={"url": "replay.test/issue.pdf"})
        .headers["Location"]
        .endswith(f"/{SITE}/issue.pdf")
    ), "a URL typed without its scheme"
    assert b'action="/web/"' in client.get("/web/").data and b'action="/web/"' in client.get("/").data


def test_what_is_not_archived_says_so_without_linking_out(client):
    response = client.get("/web/2024/https://live.example.org/page?x=<b>1</b>")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and "Not in the archive" in html
    assert "https://live.example.org/page?x=%3Cb%3E1%3C/b%3E" in html and "<b>1" not in html
    assert not [h for h in re.findall(r'href="([^"]*)"', html) if "live.example" in h and not h.startswith("/web/")]
    assert client.get("/web/*/https://live.example.org/").status_code == 404
    frame = client.get("/web/2024if_/https://live.example.org/")
    assert frame.status_code == 404 and frame.headers["Content-Security-Policy"] == RAW_CSP
    raw = client.get("/web/2024id_/https://live.example.org/")
    assert raw.status_code == 404 and raw.mimetype == "text/plain"


@pytest.mark.parametrize(
    "path",
    [
        "/web/2024/javascript:alert(1)",
        "/web/*/javascript:alert(document.cookie)",
        "/web/2024if_/data:text/html,<script>alert(1)</script>",
        "/web/2024id_/file:///etc/passwd",
        "/web/2024/http://" + "a" * 5000 + ".test/",
        "/web/12/http://replay.test/",
        "/web/2024xx_/http://replay.test/",
        "/web/2024/http://[::1",
        "/web/?url=javascript:alert(1)",
    ],
)
def test_hostile_addresses_are_refused_cleanly(client, path):
    response = client.get(path)
    assert response.status_code == 400, path
    body = response.get_data(as_text=True)
    assert (
        "<script>alert" not in body
        and "Traceback" not in body
        and response.headers["X-Content-Type-Options"] == "nosniff"
    )


@pytest.mark.parametrize("path", ["/web/2024/../../etc/passwd", "/web/2024id_/http://replay.test/../../../etc/passwd"])
def test_traversal_reaches_nothing(client, path):
    response = client.get(path)
    assert response.status_code == 404 and b"root:" not in response.data


def test_a_document_shows_its_captures_timeline(client, replay_archive):
    doc = client.get("/go", query_string={"url": SITE + "/"}).headers["Location"]
    html = client.get(doc).get_data(as_text=True)
    timeline = lxml.html.fromstring(html).cssselect("nav.timeline li a")
    assert [a.get("href") for a in timeline] == [f"/web/{timestamp(replay_archive, SITE + '/')}/{SITE}/"]
    assert timeline[0].get("aria-current") == "page"
    captured = lxml.html.fromstring(client.get(doc + "/captured").data)
    assert captured.cssselect("nav.timeline a[aria-current=page]")
    assert client.get("/go", query_string={"url": SITE + "/issue.pdf"}).headers["Location"].startswith("/web/")


# -- the session's crawl of the sample sites, through `samizdat serve` -----------------------------------------


def fetch(web, path: str) -> tuple[int, Message, bytes]:
    result = http_get(web.url + path.lstrip("/"))  # redirects are answers, not followed
    return result.status, result.headers, result.body


def crawled(crawl, predicate) -> list[dict]:
    lines = (crawl.data / "cdxj" / "index.cdxj").read_text(encoding="utf-8").splitlines()
    found = []
    for line in lines:
        _key, ts, data = line.split(" ", 2)
        fields = json.loads(data)
        if predicate(fields):
            found.append({**fields, "timestamp": ts})
    return found


def test_a_listing_page_of_the_crawl_opens_under_web(web, crawl):
    store_urls = {row["url"] for row in json.loads(fetch(web, "/api/search?per_page=100")[2])["hits"]}
    home = crawled(crawl, lambda f: f.get("mime") == "text/html" and urlsplit(f["url"])[2:4] == ("/", ""))[0]
    assert home["url"] not in store_urls, "a home page is a listing, not an article"
    status, headers, _ = fetch(web, f"/go?url={quote(home['url'], safe='')}")
    assert status == 303 and headers["Location"] == f"/web/{home['timestamp']}/{home['url']}"
    status, _, body = fetch(web, headers["Location"])
    frame = lxml.html.fromstring(body).cssselect("iframe.capture")[0].get("src")
    status, headers, body = fetch(web, frame)
    assert status == 200 and headers["Content-Security-Policy"] == RAW_CSP
    hrefs = [a.get("href") or "" for a in lxml.html.fromstring(body).iter("a")]
    assert any(re.match(rf"^/web/{home['timestamp']}/http", h) for h in hrefs), "its articles, archived, under /web/"


def test_a_pdf_of_the_crawl_is_a_download(web, crawl):
    pdf = crawled(crawl, lambda f: f.get("mime") == "application/pdf")[0]
    status, _, body = fetch(web, f"/web/{pdf['timestamp']}/{pdf['url']}")
    page = lxml.html.fromstring(body)
    assert status == 200 and not page.cssselect("iframe") and "A PDF document" in page.text_content()
    (download,) = [a.get("href") for a in page.cssselect("a.button[download]")]
    assert download == f"/web/{pdf['timestamp']}id_/{pdf['url']}"
    status, headers, body = fetch(web, download)
    assert status == 200 and body.startswith(b"%PDF-") and headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"].startswith("attachment;") and headers["X-Content-Type-Options"] == "nosniff"


def test_an_image_of_the_crawl_is_shown(web, crawl):
    image = crawled(crawl, lambda f: f.get("mime") == "image/png" and f["status"] == "200")[0]
    status, _, body = fetch(web, f"/web/{image['timestamp']}/{image['url']}")
    (img,) = lxml.html.fromstring(body).cssselect("figure.captured-image img")
    status, headers, body = fetch(web, img.get("src"))
    assert status == 200 and headers["Content-Type"] == "image/png" and body.startswith(b"\x89PNG")


def test_percent_escapes_and_query_strings_survive_the_server(web, crawl):
    """Through waitress, not the test client: the URL is read from the request line as it was sent."""
    feed = crawled(crawl, lambda f: "%20" in f["url"] and "?" in f["url"])[0]
    status, _, body = fetch(web, f"/web/*/{feed['url']}")
    assert status == 200 and feed["url"] in lxml.html.fromstring(body).text_content()
    status, headers, body = fetch(web, f"/web/{feed['timestamp']}id_/{feed['url']}")
    assert status == 200 and headers["Content-Type"].startswith("text/plain") and len(body) > 100


def test_a_private_archive_gives_the_frames_requisites_a_pass(replay_archive, tmp_path):
    """The sandboxed frame's requests come without the session cookie: the frame's page gives its stylesheets,
    images and fonts a signed pass, good for those alone."""
    config = tmp_path / "sources.toml"
    source = '[[source]]\nname = "replay"\nstart_urls = ["http://replay.test/"]\n'
    config.write_text(source + "[settings]\nprivate = true\n", encoding="utf-8")
    with Accounts(DataDir(replay_archive).accounts_path) as accounts:
        accounts.add_user("ann", "a long enough password")
    app = create_app({"data_dir": replay_archive, "config_path": config})
    ts = timestamp(replay_archive, SITE + "/")
    signed_out = app.test_client()
    assert signed_out.get(f"/web/{ts}cs_/{SITE}/css/a.css").status_code == 302, "private: to the sign-in page"
    archivist = app.test_client()
    with archivist.session_transaction() as session:
        session["user"] = "ann"
    frame = lxml.html.fromstring(archivist.get(f"/web/{ts}if_/{SITE}/").data)
    stylesheet = next(link.get("href") for link in frame.iter("link") if link.get("rel") == "stylesheet")
    match = re.match(rf"^/web/{ts}cs_~([A-Za-z0-9_.-]+)/{re.escape(SITE)}/css/a\.css$", stylesheet)
    assert match, stylesheet
    token = match.group(1)

    css = signed_out.get(stylesheet)  # as the frame asks for it: no cookie
    assert css.status_code == 200 and f'url("/web/{ts}cs_~{token}/{SITE}/css/b.css")' in css.get_data(as_text=True)
    assert signed_out.get(f"/web/{ts}im_~{token}/{SITE}/logo.png").data == PNG
    for refused in (
        f"/web/{ts}~{token}/{SITE}/",  # a page: only what a frame loads
        f"/web/{ts}if_~{token}/{SITE}/",
        f"/web/{ts}id_~{token}/{SITE}/issue.pdf",
        f"/web/{ts}cs_~{token[:-2]}xx/{SITE}/css/a.css",  # altered
        f"/web/{ts}cs_~{token}/{SITE}/css/a.css".replace("cs_~", "cs_~x"),
    ):
        assert signed_out.get(refused).status_code in (302, 400), refused
    with Accounts(DataDir(replay_archive).accounts_path) as accounts:
        accounts.remove_user("ann")
    assert signed_out.get(stylesheet).status_code == 302, "the pass ends with the account"
