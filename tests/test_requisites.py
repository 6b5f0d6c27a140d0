"""Page requisites: what archive.requisites finds in markup and CSS, and (below) what a crawl archives."""

import lxml.html

from archive.requisites import KINDS, RESOURCE_TYPE_HEADER, Requisite, css_requisites, html_requisites

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
