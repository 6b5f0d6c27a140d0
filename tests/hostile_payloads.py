"""What a hostile site throws at the archive, as plain data: pages full of XSS payloads, the addresses that try
to leave the data directory, and the queries that try to break the search.

- `PAGES`: URL path as sent on the wire (percent-encoded where it must be) -> (response headers, body bytes).
  Each page is an article by the generic reader's evidence (og:type article, a published time, a few
  paragraphs of prose) and carries the word `CANARY`, so `?q=marshwren` finds them all. Every payload, were
  it ever to run, leaves a trace: it pushes its id onto `window.__pwned`, fetches `/pwned?<id>` from the
  page's own host and calls `alert(<id>)`. The ids are the `TRACE` prefix plus a name, so a test can list
  which payload ran. Template-injection probes compute `PROBE_PRODUCT` (1337*7331) and 49 (7*7), neither of
  which a page ever shows.
- `TRAVERSALS`: paths (with their query strings) for every route of webui/ that takes an id, a name, a
  number or a path; `DOC` stands for a document id that exists, to be replaced by a real one (the capture
  number routes are reached only past a known document).
- `MALFORMED_QUERIES`: query strings for `/search` (`/`) and `/api/search`, without the `?`.

Standard library only, so that the hostile test site (tests/hostile_site.py) can serve `PAGES` as they are.
The prose is our own.
"""

from __future__ import annotations

import html
from urllib.parse import quote

CANARY = "marshwren"  # a word of every payload page, and of no other page
TRACE = "pw-"  # every trace id starts with this
PROBE_PRODUCT = str(1337 * 7331)  # what {{1337*7331}} and its kin would print if a template evaluated them
PUBLISHED = "2024-03-05T09:00:00+00:00"


def run(name: str) -> str:
    """JavaScript leaving the trace `TRACE + name`: no spaces, quotes or `>`, so that it fits an unquoted
    attribute, a quoted one and a `javascript:` URL alike."""
    tag = TRACE + name
    return f"(window.__pwned=window.__pwned||[]).push(`{tag}`),fetch(`/pwned?{tag}`),alert(`{tag}`)"


def shown(markup: str) -> str:
    """Markup written so that a reader sees it as text (and an extractor stores it as text)."""
    return html.escape(markup, quote=True)


PROSE = (
    "The tenants of the three brick blocks on Alder Row met in the laundry room on a wet Tuesday and agreed, "
    "after an hour of argument over the boiler, to put their complaints in writing and to keep a copy each. "
    "The {canary} newsletter printed the letter in full so that nobody could say later that it was never sent.",
    "Nothing in the reply from the management office answered the question about heating. It thanked the "
    "committee for its interest, listed the opening hours of the office, and promised an inspection at a date "
    "to be confirmed. The committee wrote back the same week and asked for that date in writing.",
    "By the end of the month the boiler had been looked at twice and mended once. The {canary} committee "
    "kept a diary of cold mornings on the noticeboard by the stairs, one line a day, and read it aloud at the "
    "next meeting, where more people came than the laundry room could hold.",
)


def page(topic: str, title: str, *, head: str = "", body: str = "", tags: str = "", author: str = "") -> bytes:
    """An article page, marked up as a WordPress theme does (so both the generic and the WordPress reader
    take it for a post): `title` and `author` go in as written (already escaped where they must be text),
    `head` and `body` are extra markup, `tags` markup placed where the theme lists the post's tags."""
    prose = "\n".join(f"<p>{paragraph.format(canary=CANARY)}</p>" for paragraph in PROSE)
    byline = f'<p class="byline">By <span class="author vcard"><span class="fn">{author}</span></span></p>'
    byline = byline if author else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<meta property="og:type" content="article">
<meta property="article:published_time" content="{PUBLISHED}">
{head}
</head>
<body class="post-template-default single single-post postid-7">
<header><nav><a href="/">Alder Row tenants</a></nav></header>
<main>
<article class="post type-post hentry">
<h1 class="entry-title">{title}</h1>
{byline}
<div class="entry-content">
<p>This {CANARY} page is about {topic}.</p>
{prose}
{body}
</div>
<footer class="entry-footer"><span class="tags-links">{tags}</span></footer>
</article>
</main>
<footer><p>Alder Row tenants' committee</p></footer>
</body>
</html>
""".encode()


HTML = [("Content-Type", "text/html; charset=utf-8")]

# -- payloads seen as text: they must reach the store as text and the UI as escaped text -----------------

TITLE = f"<script>{run('title-script')}</script><img src=x onerror={run('title-img')}> Heating {CANARY}"
AUTHOR = f'<img src=x onerror={run("author-img")}>"><svg onload={run("author-svg")}> Mallory Quill'
TAG_SCRIPT = f"<script>{run('tag-script')}</script>"
TAG_IMG = f'"><img src=x onerror={run("tag-img")}>'
TAG_JS = f"javascript:{run('tag-javascript')}"
META_TAG = f"<svg onload={run('meta-tag-svg')}>"
KEYWORD = f"<iframe srcdoc=&lt;script&gt;{run('keyword-srcdoc')}&lt;/script&gt;>"
TEXT = (
    f"<script>{run('text-script')}</script>",
    f"<img src=x onerror={run('text-img')}>",
    f'<a href="javascript:{run("text-javascript")}">click</a>',
    f"<svg><script>{run('text-svg-script')}</script></svg>",
    f'"><iframe srcdoc="<script>{run("text-srcdoc")}</script>">',
    f"</textarea></title></style><img src=x onerror={run('text-breakout')}>",
)
TEMPLATE_PROBES = (
    "{{7*7}}",
    "${7*7}",
    "{% raw %}{% %}{% endraw %}",
    "{%print(7*7)%}",
    "#{7*7}",
    "<%= 7*7 %>",
    "{{1337*7331}}",
    "${1337*7331}",
    "#{1337*7331}",
    "<%= 1337*7331 %>",
    "{{config}}",
    "{{request.application.__globals__}}",
)

PAGES: dict[str, tuple[list[tuple[str, str]], bytes]] = {}

PAGES["/xss/title.html"] = (
    HTML,
    page(
        "a title and a heading made of script",
        shown(TITLE),
        head=f'<meta property="og:title" content="{shown(TITLE)}">',
        body=f"<p>{CANARY} {shown(TITLE)}</p>",
    ),
)

PAGES["/xss/meta.html"] = (
    HTML,
    page(
        "metadata made of markup",
        f"Meta tags {CANARY}",
        head="\n".join(
            [
                f'<meta name="description" content="{shown(TEXT[1])}">',
                f'<meta name="author" content="{shown(AUTHOR)}">',
                f'<meta property="og:title" content="Meta tags {CANARY} {shown(TEXT[0])}">',
                f'<meta property="og:description" content="{shown(TEXT[4])}">',
                f'<meta property="og:site_name" content="{shown(TEXT[3])}">',
                f'<meta property="og:image" content="javascript:{run("og-image")}">',
                f'<meta property="og:url" content="javascript:{run("og-url")}">',
                f'<meta property="article:author" content="{shown(AUTHOR)}">',
                f'<meta property="article:tag" content="{shown(META_TAG)}">',
                f'<meta property="article:tag" content="{shown(TAG_JS)}">',
                f'<meta property="article:section" content="{shown(TAG_SCRIPT)}">',
                f'<meta name="keywords" content="{shown(KEYWORD)}, {shown(TAG_IMG)}">',
                f'<meta name="twitter:title" content="{shown(TEXT[0])}">',
            ]
        ),
        body=f"<p>{CANARY} {shown(TEXT[5])}</p>",
    ),
)

PAGES["/xss/tags.html"] = (
    HTML,
    page(
        "labels and an author made of markup",
        f"Tags and a byline {CANARY}",
        author=shown(AUTHOR),
        head=f'<meta name="author" content="{shown(AUTHOR)}">',
        tags=" ".join(
            [
                f'<a rel="tag" href="/tag/one">{shown(TAG_SCRIPT)}</a>',
                f'<a rel="category tag" href="/category/two">{shown(TAG_IMG)}</a>',
                f'<a rel="tag" href="/tag/three">{shown(TAG_JS)}</a>',
                f'<a rel="tag" href="/tag/four">{shown(TEMPLATE_PROBES[0])}</a>',
                f'<a rel="tag" href="/tag/five">{shown(TEMPLATE_PROBES[6])}</a>',
            ]
        ),
        body="\n".join(f"<p>{CANARY} {shown(text)} {CANARY}</p>" for text in TEXT),
    ),
)

PAGES["/xss/attributes.html"] = (
    [
        ("Content-Type", f'text/html; charset=utf-8; x="<script>{run("header-content-type")}</script>"'),
        ("Link", f"<javascript:{run('header-link')}>; rel=preload"),
        ("Refresh", f"0; url=javascript:{run('header-refresh')}"),
        ("X-Note", f"<svg onload={run('header-note')}>"),
    ],
    page(
        "event handlers, script addresses and frames",
        f"Attributes {CANARY}",
        head="\n".join(
            [
                f'<meta http-equiv="refresh" content="0;url=javascript:{run("meta-refresh")}">',
                f'<base href="javascript:{run("base")}//">',
                f'<link rel="stylesheet" href="javascript:{run("link-css")}">',
                f'<link rel="canonical" href="javascript:{run("canonical")}">',
                f'<script type="application/ld+json">{{"@type": "Article", "headline": "JSON-LD {CANARY}",'
                f' "author": {{"name": "</script><script>{run("jsonld-breakout")}</script>"}}}}</script>',
                f"<script>{run('head-script')}</script>",
                f'<style>body{{background:url("javascript:{run("css-url")}")}}</style>',
            ]
        ),
        body="\n".join(
            [
                f"<p onclick={run('onclick')} onmouseover={run('onmouseover')}>{CANARY} handlers</p>",
                f'<a href="javascript:{run("href-javascript")}">plain javascript</a>',
                f'<a href=" JaVaScRiPt:{run("href-mixed-case")}">mixed case</a>',
                f'<a href="java&#x09;script:{run("href-tab")}">tab inside</a>',
                f'<a href="&#106;avascript:{run("href-entity")}">entity</a>',
                f'<a href="data:text/html,<script>{run("href-data")}</script>">data</a>',
                f'<a href="vbscript:{run("href-vbscript")}">vbscript</a>',
                f'<img src=x onerror="{run("img-onerror")}">',
                f'<img src="data:image/svg+xml,<svg onload={run("img-data-svg")} xmlns=%22http://www.w3.org/2000/svg%22/>">',
                f'<iframe srcdoc="<script>{run("iframe-srcdoc")}</script>"></iframe>',
                f'<iframe src="javascript:{run("iframe-javascript")}"></iframe>',
                f'<iframe src="data:text/html,<script>{run("iframe-data")}</script>"></iframe>',
                f'<object data="data:text/html,<script>{run("object-data")}</script>"></object>',
                f'<embed src="javascript:{run("embed")}">',
                f'<form action="javascript:{run("form-action")}">'
                f'<button formaction="javascript:{run("formaction")}">go</button></form>',
                f"<input autofocus onfocus={run('autofocus')}>",
                f"<details open ontoggle={run('ontoggle')}><summary>{CANARY}</summary></details>",
                f"<video><source onerror={run('video-source')}></video>",
                f'<div style="background-image:url(javascript:{run("style-url")})">styled</div>',
                f"<body onload={run('body-onload')}>",
                f"<marquee onstart={run('marquee')}>{CANARY}</marquee>",
                f'<a href="#" ping="/pwned?{TRACE}ping">ping</a>',
            ]
        ),
    ),
)

PAGES["/xss/svg.html"] = (
    HTML,
    page(
        "SVG and MathML",
        f"SVG {CANARY}",
        body="\n".join(
            [
                f"<svg onload={run('svg-onload')}><circle r=4 /></svg>",
                f"<svg><script>{run('svg-script')}</script></svg>",
                f'<svg><script href="data:text/javascript,{run("svg-script-href")}"></script></svg>',
                f'<svg><a xlink:href="javascript:{run("svg-xlink")}"><text x=5 y=15>{CANARY}</text></a></svg>',
                f'<svg><a><animate attributeName=href values="javascript:{run("svg-animate")}"/>'
                f"<text x=5 y=15>{CANARY}</text></a></svg>",
                f"<svg><set attributeName=onmouseover to={run('svg-set')} /></svg>",
                f'<svg><foreignObject><iframe srcdoc="<script>{run("svg-foreign")}</script>"></iframe>'
                "</foreignObject></svg>",
                f'<svg><use href="data:image/svg+xml,<svg id=%22x%22 onload=%22{run("svg-use")}%22/>#x"/></svg>',
                f"<svg><image href=x onerror={run('svg-image')} /></svg>",
                f'<math><maction actiontype="statusline" xlink:href="javascript:{run("math-href")}">m</maction></math>',
            ]
        ),
    ),
)

PAGES["/xss/mutation.html"] = (
    HTML,
    page(
        "markup that changes meaning when parsed twice",
        f"Mutations {CANARY}",
        body="\n".join(
            [
                f'<noscript><p title="</noscript><img src=x onerror={run("mx-noscript")}>"></p></noscript>',
                f"<svg><style><img src=x onerror={run('mx-svg-style')}></style></svg>",
                f'<svg></p><style><a id="</style><img src=1 onerror={run("mx-svg-p-style")}>"></a></style></svg>',
                "<math><mtext><table><mglyph><style><!--</style>"
                f'<img title="--&gt;&lt;/mglyph&gt;&lt;img&Tab;src=1&Tab;onerror={run("mx-mglyph")}&gt;">'
                "</style></mglyph></table></mtext></math>",
                f"<form><math><mtext></form><form><mglyph><style></math><img src onerror={run('mx-form-math')}>",
                f"<math><mi><table><mi><style><img src=x onerror={run('mx-math-mi')}></style></mi></table></mi></math>",
                f'<iframe><img title="</iframe><img src=x onerror={run("mx-iframe-title")}>"></iframe>',
                f'<noembed><img title="</noembed><img src=x onerror={run("mx-noembed")}>"></noembed>',
                f'<noframes><img title="</noframes><img src=x onerror={run("mx-noframes")}>"></noframes>',
                f'<xmp><img title="</xmp><img src=x onerror={run("mx-xmp")}>"></xmp>',
                f'<textarea><img title="</textarea><img src=x onerror={run("mx-textarea")}>"></textarea>',
                f"<!--><img src=x onerror={run('mx-comment')}>-->",
                f"<![CDATA[><img src=x onerror={run('mx-cdata')}>]]>",
                f"<a href=x><svg><desc><img src=x onerror={run('mx-svg-desc')}></desc></svg></a>",
                f"<p>{CANARY} mutation forms</p>",
            ]
        ),
    ),
)

PAGES["/xss/templates.html"] = (
    HTML,
    page(
        "template-injection probes",
        shown(f"Probes {CANARY} " + " ".join(TEMPLATE_PROBES[:7])),
        author=shown("{{7*7}} ${1337*7331}"),
        head=f'<meta name="author" content="{shown("{{7*7}} ${1337*7331}")}">'
        f'<meta name="description" content="{shown(" ".join(TEMPLATE_PROBES))}">',
        tags=" ".join(f'<a rel="tag" href="/tag/p{i}">{shown(probe)}</a>' for i, probe in enumerate(TEMPLATE_PROBES)),
        body="\n".join(f"<p>{CANARY} probe {shown(probe)} {CANARY}</p>" for probe in TEMPLATE_PROBES),
    ),
)

# The address itself: a path that closes the attribute it is printed in and opens a script, percent-encoded
# as a browser would send it (the server must see it byte for byte, so it is given encoded).
URL_PAYLOAD = f'"><script>{run("url-path")}</script><svg onload={run("url-path-svg")}>'
URL_PATH = "/xss/" + quote(URL_PAYLOAD, safe="") + ".html"
PAGES[URL_PATH] = (HTML, page("an address made of markup", f"Address {CANARY}"))

# Declared UTF-7: decoded as declared, `+ADw-script+AD4-` is `<script>`.
UTF7_TITLE = f"UTF-7 {CANARY} +ADw-script+AD4-{run('utf7')}+ADw-/script+AD4-"
PAGES["/xss/utf7.html"] = (
    [("Content-Type", "text/html; charset=utf-7")],
    page("a page declared as UTF-7", UTF7_TITLE, body=f"<p>{CANARY} +ADw-img src=x onerror={run('utf7-img')}+AD4-</p>"),
)

# Typed into the address bar rather than archived: reflected into pages, error pages and the API.
REFLECTED = f'"><script>{run("reflected-script")}</script><img src=x onerror={run("reflected-img")}> {{{{1337*7331}}}}'

# -- addresses that try to leave the data directory ---------------------------------------------------------

DOC = "ffffffffffffffff"  # stands for an existing document's id: replace it with a real one
ESCAPES = (
    "../../../../etc/passwd",
    "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    "..%5C..%5C..%5Cetc%5Cpasswd",
    "..\\..\\..\\etc\\passwd",
    "%2Fetc%2Fpasswd",
    "/etc/passwd",
    "%2e%2e",
    "..",
    "..%00",
    "etc%00passwd",
    "%00",
    "%c0%ae%c0%ae%c0%afetc%c0%afpasswd",
    "%e0%80%ae%e0%80%ae%e0%80%afetc%e0%80%afpasswd",
    "%ff%fe",
    "..;/..;/etc/passwd",
    "....//....//etc/passwd",
    "..%2Fstore.sqlite",
    "..%2F..%2Fstore.sqlite",
    "..%2Fsamizdat.json",
    "..%2Fsession.key",
    "..%2Faccounts.sqlite",
    "store.sqlite",
    "session.key",
    "file:%2F%2F%2Fetc%2Fpasswd",
    "-1",
    "0",
    "99999999999999999999",
    "1e9",
    "0x10",
    "9223372036854775808",
    "FFFFFFFFFFFFFFFF",
    "ffffffffffffffff%00",
    "ffffffffffffffff/..",
    "ffffffffffffffff%2F..%2F..%2Fstore.sqlite",
)
ROUTES = (
    # the public pages and the API: a document id, a source name, a static file, an export
    "/documents/{}",
    "/documents/{}/changes",
    "/documents/{}/captured",
    "/documents/{}/raw",
    f"/documents/{DOC}/captured/{{}}",
    f"/documents/{DOC}/raw/{{}}",
    "/documents/{}/captured/1",
    "/documents/{}/raw/1",
    f"/documents/{DOC}/changes?from={{}}&to=1",
    f"/documents/{DOC}/changes?to={{}}",
    "/api/documents/{}",
    "/api/documents/{}/versions",
    "/sources/{}",
    "/api/sources/{}",
    "/static/{}",
    "/static/..%2F{}",
    "/export.{}",
    "/export.jsonl?source={}",
    "/go?url={}",
    "/go?url=http://127.0.0.1/{}&view=captured",
    "/{}",
    # the archivists' area (a sign-in first) and the forms that change something (POST only)
    "/admin/runs/{}",
    "/admin/runs/{}.json",
    "/admin/sources/{}",
    "/admin/sources/{}/edit",
    "/admin/sources/{}/delete",
    "/admin/sign-in?next={}",
    "/admin/documents/{}/hide",
    "/admin/documents/{}/purge",
    "/admin/sources/{}/hide",
    "/admin/sources/{}/purge",
    "/admin/sources/{}/crawl",
    "/admin/runs/{}/stop",
    "/admin/takedowns/{}/lift",
)
TRAVERSALS: list[str] = [route.format(escape) for route in ROUTES for escape in ESCAPES] + [
    "/../../../../etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "//etc/passwd",
    "/store.sqlite",
    "/samizdat.json",
    "/session.key",
    "/accounts.sqlite",
    "/warc/",
    "/index/",
    "/static/",
    "/static//etc/passwd",
    "/static/%2e%2e/webui/app.py",
    "/static/../app.py",
    "/static/app.js%00.html",
    "/static/app.js/..%2F..%2Fapp.py",
    "/export.warc.gz",
    "/export.",
    "/export.html",
    "/export.jsonl%00",
    "/go?url=file:///etc/passwd",
    "/go?url=javascript:alert(1)",
    "/go?url=http://127.0.0.1:1/%00",
    "/go?url=http://[::1",
    "/go?url=http://999999999999999999999/",
    "/go?url=http://a:99999999/",
    "/api/documents",
    "/api/documents/",
    "/api/sources/",
]

# -- queries that try to break the search ------------------------------------------------------------------

MALFORMED_QUERIES: list[str] = [
    "q=%22marshwren",
    "q=marshwren%22%22%22",
    "q=(marshwren",
    "q=marshwren)",
    "q=((((((((((((((((((((((((((((((((marshwren",
    "q=))))))))))))",
    "q=nosuchfield%3Amarshwren",
    "q=title%3A",
    "q=%3A%3A%3A",
    "q=*wren",
    "q=%3Fwren",
    "q=*",
    "q=title%3A*",
    "q=m*",
    "q=%5Ba+TO%5D",
    "q=%5B+TO+%5D",
    "q=published%3A%5B2010+TO",
    "q=published%3A%5Bz+TO+a%5D",
    "q=published%3A99999-99",
    "q=year%3Aabc",
    "q=month%3A2024-13",
    "q=marshwren%7E",
    "q=marshwren%7E99",
    "q=marshwren%5E99999999999",
    "q=%22marsh+wren%22%7E99999999",
    "q=AND",
    "q=OR+OR+OR",
    "q=NOT",
    "q=marshwren+AND+NOT+NOT+NOT",
    "q=" + "+OR+".join(["marshwren"] * 40),
    "q=" + "+".join(f"w{i}" for i in range(80)),
    "q=" + "a" * 100_000,
    "q=" + "%22" * 2000,
    "q=" + "(" * 999,
    "q=%00",
    "q=marsh%00wren",
    "q=%00%00%00*",
    "q=%FF%FE",
    "q=%FF%FEmarshwren",
    "q=%C0%AE%C0%AE",
    "q=%ED%A0%80",
    "q=%F4%90%80%80",
    "q=%EF%BF%BF",
    "q=%E2%80%AE",
    "q=%5C",
    "q=%5C%22",
    "q=%22%22",
    "q=%7B%7B7*7%7D%7D",
    "q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "q=label%3A%3Cscript%3E",
    "q=marshwren&q=(",
    "q[]=marshwren",
    "page=-1",
    "page=0",
    "page=99999999999999999999",
    "page=9223372036854775808",
    "page=1e9",
    "page=0x10",
    "page=abc",
    "page=%00",
    "page=2147483648&q=marshwren",
    "page=1&page=-5",
    "per_page=100000",
    "per_page=101",
    "per_page=0",
    "per_page=-5",
    "per_page=1.5",
    "per_page=99999999999999999999",
    "per_page=%FF",
    "from=2024-02-30",
    "from=0000-00-00",
    "from=9999999-01-01",
    "from=-2024",
    "from=2024-1-1",
    "to=2024-13",
    "to=%00",
    "from=2025&to=2020",
    "from=%FF%FE",
    "from=1e9",
    "year=-1",
    "year=99999999999999999999",
    "year=0x7e8",
    "month=2024-00",
    "month=2024-1",
    "month=99999-99",
    "sort=sideways",
    "sort=%00",
    "sort=relevance%00",
    "sort=__class__",
    "label=%00",
    "label=" + "x" * 5000,
    "label=%FF%FE",
    "&".join(["label=marshwren"] * 300),
    "source=..%2F..%2Fetc",
    "author=%3Cimg+src%3Dx%3E",
    "q=marshwren&page=2&per_page=1&sort=oldest&from=2000&to=2030",
    "=",
    "&&&",
    "q",
    "%FF%FE=%FF%FE",
]
