"""What the sample sites' pages need to render: stylesheets, a web font, images, a favicon, and the CDN.

Every default site (Blogger, WordPress, the magazine, Hugo) links the same set under a prefix of its own
(`ASSET_PREFIXES`), through the macros of templates/_requisites.html:

    <link rel="stylesheet" href="PREFIX/a.css">     a.css @imports b.css, which @imports c.css
    <link rel="preload" as="font" ...>              c.css's @font-face: fonts/samizdat-sans.woff2
    <link rel="icon" href="/favicon.ico">           a PNG in an ICO
    <picture> with a <source srcset> and an <img src srcset> in the header (empty alt: no text)
    b.css: a background image (img/paper.png); c.css: body::before shows U+2766 in "Samizdat Sans"

The styling a browser test can check (no site's own stylesheet sets these): `body` has a
`border-top: 6px solid rgb(128, 0, 32)` (a.css), `body::before` the font family "Samizdat Sans"
(c.css), and `.samizdat-banner img` loads img/banner*.png. The magazine also links one image that was
never there (images/spacer.gif, 404), as old sites do.

The CDN (`CdnSite`) is a separate server addressed as http://localhost:PORT (the sites are 127.0.0.1, so
it is another host): the Hugo blog links its stylesheet, whose @font-face loads fonts/samizdat-serif.woff2
and whose header background, /private/pixel.png, the CDN's robots.txt disallows.

The fonts are our own (two glyphs: a slanted block for ASCII and U+2766), built with fontTools'
FontBuilder and saved as WOFF2 in static/.
"""

from __future__ import annotations

import struct
from functools import cache

from samizdat.sample_sites.sites import STATIC, Response, Site, encode_png

CSS = "text/css; charset=UTF-8"
PNG = "image/png"
# Where each site keeps its theme's files (a path prefix on its own host).
ASSET_PREFIXES = {
    "blogger": "/static/v1/widgets",
    "wordpress": "/wp-content/themes/twentytwenty/assets",
    "magazine": "/assets",
    "hugo": "/assets",
}

A_CSS = """@import url("b.css");
body { border-top: 6px solid rgb(128, 0, 32); }
.samizdat-banner img { display: block; max-width: 100%; height: auto; }
"""
B_CSS = """@import "c.css";
/* the paper texture every page sits on */
body { background-image: url("img/paper.png"); }
"""
C_CSS = """@font-face {
  font-family: "Samizdat Sans";
  src: url("fonts/samizdat-sans.woff2") format("woff2");
  font-display: block;
}
body::before { content: "\\2766"; font-family: "Samizdat Sans"; display: block; text-align: center; }
"""
CDN_CSS = """@font-face {
  font-family: "Samizdat Serif";
  src: url("/fonts/samizdat-serif.woff2") format("woff2");
}
body::after { content: "\\2766"; font-family: "Samizdat Serif"; display: block; text-align: center; }
.site-header { background-image: url("/private/pixel.png"); }
"""
# The WordPress site's live diary (/live/rent-strike-diary/) is an empty <main> until this runs: it
# builds the article from the site's JSON, as single-page apps do. Text goes in through textContent only.
LIVE_JS = """(function () {
  var main = document.getElementById("live-diary");
  fetch("/wp-json/tenants-voice/v1/live-diary", {credentials: "same-origin"})
    .then(function (response) { return response.json(); })
    .then(function (diary) {
      var article = document.createElement("article");
      var heading = document.createElement("h1");
      heading.textContent = diary.title;
      article.appendChild(heading);
      var byline = document.createElement("p");
      byline.className = "byline";
      byline.textContent = "By " + diary.author;
      article.appendChild(byline);
      var time = document.createElement("time");
      time.setAttribute("datetime", diary.published);
      time.textContent = diary.published_label;
      article.appendChild(time);
      diary.paragraphs.forEach(function (text) {
        var p = document.createElement("p");
        p.textContent = text;
        article.appendChild(p);
      });
      main.appendChild(article);
      document.documentElement.setAttribute("data-rendered", "yes");
    });
})();
"""
# (width, height, RGB) of each image: solid colours, so each weighs a few hundred bytes.
IMAGES = {
    "img/paper.png": (64, 64, (250, 246, 236)),
    "img/banner.png": (960, 120, (128, 0, 32)),
    "img/banner-480.png": (480, 60, (128, 0, 32)),
    "img/banner-wide.png": (1440, 120, (96, 0, 24)),
    "img/banner-wide@2x.png": (2880, 240, (96, 0, 24)),
}


@cache
def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    return encode_png(width, height, (b"\x00" + bytes(rgb) * width) * height)


@cache
def favicon() -> bytes:
    """A 32x32 PNG inside an ICO container (allowed since Windows Vista, read by every browser)."""
    image = png(32, 32, (128, 0, 32))
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 32, 32, 0, 0, 1, 32, len(image), 22) + image


def asset(path: str) -> Response | None:
    """A theme file by its path under a site's prefix ("a.css", "img/banner.png", ...), or None."""
    if path in ("a.css", "b.css", "c.css"):
        return Response(200, {"a.css": A_CSS, "b.css": B_CSS, "c.css": C_CSS}[path].encode(), CSS)
    if path in IMAGES:
        return Response(200, png(*IMAGES[path]), PNG)
    if path == "js/live.js":
        return Response(200, LIVE_JS.encode(), "text/javascript; charset=UTF-8")
    if path == "fonts/samizdat-sans.woff2":
        return Response(200, (STATIC / "samizdat-sans.woff2").read_bytes(), "font/woff2")
    return None


def serve_requisite(site_name: str, path: str) -> Response | None:
    """The site's theme files and favicon, answered before its own routes (None: not one of them)."""
    prefix = ASSET_PREFIXES.get(site_name)
    if prefix and path == "/favicon.ico":
        return Response(200, favicon(), "image/vnd.microsoft.icon")
    if prefix and path.startswith(prefix + "/"):
        return asset(path[len(prefix) + 1 :])
    return None


class CdnSite(Site):
    """The shared CDN: a stylesheet and a font for other sites' pages, and a file robots.txt keeps out."""

    name = "cdn"
    server_header = "cdn-edge"
    routes = (
        (r"/robots\.txt", "robots"),
        (r"/css/samizdat-serif\.css", "stylesheet"),
        (r"/fonts/samizdat-serif\.woff2", "font"),
        (r"/private/pixel\.png", "pixel"),
    )

    def robots_txt(self) -> str:
        return "User-agent: *\nDisallow: /private/\n"

    def stylesheet(self, params: dict[str, str]) -> Response:
        return Response(200, CDN_CSS.encode(), CSS, {"Access-Control-Allow-Origin": "*"})

    def font(self, params: dict[str, str]) -> Response:
        body = (STATIC / "samizdat-serif.woff2").read_bytes()
        return Response(200, body, "font/woff2", {"Access-Control-Allow-Origin": "*"})

    def pixel(self, params: dict[str, str]) -> Response:
        return Response(200, png(1, 1, (0, 0, 0)), PNG)


CDN_PATHS = {"stylesheet": "/css/samizdat-serif.css", "font": "/fonts/samizdat-serif.woff2", "robots": "/robots.txt"}
CDN_DISALLOWED = "/private/pixel.png"
