"""The sample sites as route tables.

Each site maps a request path to a handler that renders a Jinja2 template from the content models
(content.py). Absolute URLs (feeds, sitemaps, canonicals, Blogger's links) use the live base URL the
site was built with. A handler returns None when its pattern matched but the thing does not exist,
and routing goes on to the next pattern, then to the site's 404 page.

Any article can be edited while it is served (`Site.edit`): the appended HTML goes at the end of the
article's body, so a recrawl sees exactly one changed page. An article can also be withheld (not
published yet), published and deleted (`Site.withhold`, `publish`, `delete`): a hidden article is left
out of every page that lists articles (home page, pagination, feeds, sitemaps, archives, label, tag,
category and author pages, the WordPress REST API, sidebars, next/previous and related links) and its
URL answers 404 (a deleted one 410, or 404 if asked). Handlers therefore take their articles from
`Site.listed`, never from the content models directly.
"""

from __future__ import annotations

import base64
import calendar
import html
import json
import math
import random
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import formatdate
from functools import cache
from itertools import groupby
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, quote, unquote, urlencode

import jinja2
from markupsafe import Markup, escape

from samizdat.sample_sites import content as c

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")

# Hugo's typographer writes the curly quotes it makes as named entities.
TYPOGRAPHER_ENTITIES = str.maketrans({"’": "&rsquo;", "‘": "&lsquo;", "“": "&ldquo;", "”": "&rdquo;"})

ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(["html", "xml"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(
    long_date=c.long_date,
    weekday_date=c.weekday_date,
    month_year=c.month_year,
    clock12=c.clock12,
    iso=c.iso,
    rfc822=c.rfc822,
    utc_iso=c.utc_iso,
    cdata=lambda s: Markup(str(s).replace("]]>", "]]]]><![CDATA[>")),
    rfc822_local=c.rfc822_local,
    smart=lambda s: Markup(str(escape(s)).translate(TYPOGRAPHER_ENTITIES)),
    anchor=c.anchorize,
    tag_slug=c.urlize,
)
ENV.globals.update(quote=quote, first_words=c.first_words, months=c.MONTHS)

HTML = "text/html; charset=UTF-8"
STATIC_XML = "application/xml"  # what a static host sends for any .xml file, feeds included


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str | None = HTML
    headers: dict[str, str] = field(default_factory=dict)


def redirect(location: str, status: int = 301) -> Response:
    return Response(status, b"", HTML, {"Location": location})


class _HasPath(Protocol):
    @property
    def path(self) -> str: ...


ArticleT = TypeVar("ArticleT", bound=_HasPath)
T = TypeVar("T")

# What a hidden article's URL answers: withheld articles 404, deleted ones 410 unless told 404.
DELETED_STATUSES = (404, 410)


class Site:
    """A site answers request targets ("/path?query") with Responses, through its route table."""

    name = ""
    server_header = ""
    routes: tuple[tuple[str, str], ...] = ()  # (path regex, handler method name), first match wins
    cdn: str | None = None  # the CDN's base URL (http://localhost:PORT), for the sites that link it

    def __init__(self, base_url: str, slow_seconds: float = 1.5) -> None:
        self.base = base_url.rstrip("/")
        self.slow_seconds = slow_seconds
        self._routes = [(re.compile(p), getattr(self, h)) for p, h in self.routes]
        self._edits: dict[str, list[str]] = {}  # article path -> HTML appended to its body
        self._changed: dict[str, float] = {}  # page path -> time.time() of its last change (edit, reset, ...)
        self._edit_lock = threading.Lock()
        self._start_withheld: frozenset[str] = frozenset()  # what reset() withholds again
        self._withheld: set[str] = set()
        self._deleted: dict[str, int] = {}  # article path -> the status its URL answers
        # Replaced whole on every change, and read once per request (`hidden`), so that a page rendered
        # while a test publishes or deletes is all of one state.
        self._hidden: frozenset[str] = frozenset()
        self._request = threading.local()
        self._memo: dict[str, tuple[frozenset[str], Any]] = {}

    def serve(self, target: str) -> Response:
        """What the server calls: the page, whose Last-Modified (where it has one) moves to the time
        the page was last changed (an edit of it, an article coming or going from it, a reset)."""
        self._request.hidden = self._hidden
        try:
            response = self.handle(target)
        finally:
            del self._request.hidden
        changed = self._changed.get(unquote(target.partition("?")[0]))
        if changed is not None and response.status == 200 and "Last-Modified" in response.headers:
            response.headers["Last-Modified"] = formatdate(changed, usegmt=True)
        return response

    # Editing articles while serving

    def article_paths(self) -> set[str]:
        """The paths of the article pages, the pages `edit`, `withhold`, `publish` and `delete` change."""
        raise NotImplementedError

    def check_article(self, path: str) -> None:
        if path not in self.article_paths():
            raise ValueError(f"{self.name}: {path!r} is not an article path (like {min(self.article_paths())!r})")

    def edit(self, path: str, append: str) -> int:
        """Append `append` (HTML) to the body of the article at `path`; returns how many edits the
        article now has. ValueError when `path` is not one of the site's articles."""
        self.check_article(path)
        if not append:
            raise ValueError("nothing to append")
        with self._edit_lock:
            self._edits.setdefault(path, []).append(append)
            self._changed[path] = time.time()
            return len(self._edits[path])

    def reset(self) -> int:
        """Return to the state the site started in: every edit undone, deleted and published articles
        back as they were (the ones withheld from the start withheld again). Returns how many changes
        were undone: the number of edits plus the number of articles not in their starting state.
        The pages' bytes (and ETags) are as before; their Last-Modified, where they have one, is the
        time of the reset, since they changed then."""
        with self._edit_lock:
            count = sum(map(len, self._edits.values()))
            now = time.time()
            for path in self._edits:
                self._changed[path] = now
            self._edits.clear()
            count += len((self._withheld ^ self._start_withheld) | set(self._deleted))
            self._withheld, self._deleted = set(self._start_withheld), {}
            self._rehide(now)
            return count

    def edit_counts(self) -> dict[str, int]:
        """{article path: number of edits} for the edited articles."""
        with self._edit_lock:
            return {path: len(edits) for path, edits in self._edits.items()}

    def appended(self, path: str) -> Markup:
        """What edits have appended to the article at `path` (the templates put it after the body)."""
        return Markup("\n".join(self._edits.get(path, ())))

    # Publishing, withholding and deleting articles while serving

    def withhold(self, path: str) -> int:
        """The article at `path` is not published (yet): left out of every listing, its URL answers
        404. Returns that status. ValueError when `path` is not one of the site's articles."""
        return self._set_state(path, withheld=True)

    def publish(self, path: str) -> int:
        """The article at `path` is published: listed again wherever it belongs, in its place by its own
        date from the data (withhold the newest article to stage a brand-new post), and its URL answers
        200. Returns 200. Publishing a published article changes nothing."""
        return self._set_state(path)

    def delete(self, path: str, status: int = 410) -> int:
        """The article at `path` is deleted: left out of every listing, its URL answers `status`
        (410 Gone or 404). Returns that status. ValueError for another status or an unknown path."""
        if isinstance(status, bool) or status not in DELETED_STATUSES:
            raise ValueError(f"a deleted article answers 410 or 404, not {status!r}")
        return self._set_state(path, deleted=status)

    def withhold_from_start(self, paths: Iterable[str]) -> None:
        """Withhold these articles as if they had never been published: the state `reset` returns
        to (`--withhold`). Their pages keep the Last-Modified of the data."""
        paths = list(paths)
        for path in paths:
            self.check_article(path)
        with self._edit_lock:
            self._start_withheld |= set(paths)
            self._withheld |= set(paths)
            for path in paths:
                self._deleted.pop(path, None)
            self._hidden = frozenset(self._withheld | set(self._deleted))

    def withheld_paths(self) -> list[str]:
        """The paths of the withheld articles, sorted."""
        with self._edit_lock:
            return sorted(self._withheld)

    def deleted_paths(self) -> dict[str, int]:
        """{article path: the status it answers} for the deleted articles."""
        with self._edit_lock:
            return dict(sorted(self._deleted.items()))

    def _set_state(self, path: str, withheld: bool = False, deleted: int | None = None) -> int:
        self.check_article(path)
        with self._edit_lock:
            self._withheld.discard(path)
            self._deleted.pop(path, None)
            if withheld:
                self._withheld.add(path)
            if deleted is not None:
                self._deleted[path] = deleted
            self._rehide(time.time())
            return 404 if withheld else deleted or 200

    def _rehide(self, now: float) -> None:
        """Take the new hidden set into use; the pages of articles that came or went changed now."""
        hidden = frozenset(self._withheld | set(self._deleted))
        for path in hidden ^ self._hidden:
            for page in self.pages_listing(path):
                self._changed[page] = now
        self._hidden = hidden

    def pages_listing(self, path: str) -> list[str]:
        """The pages with a Last-Modified whose bytes change when the article at `path` comes or goes
        (so that their Last-Modified moves): the article's own page, unless a site knows more."""
        return [path]

    @property
    def hidden(self) -> frozenset[str]:
        """The paths of the withheld and deleted articles, as they were when this request arrived."""
        return getattr(self._request, "hidden", self._hidden)

    def listed(self, articles: Iterable[ArticleT]) -> list[ArticleT]:
        """`articles` without the withheld and deleted ones: what every listing shows."""
        hidden = self.hidden
        return [a for a in articles if a.path not in hidden]

    def per_state(self, key: str, build: Callable[[], T]) -> T:
        """`build()`, computed once for each set of hidden articles (sidebars that count posts)."""
        hidden = self.hidden
        cached = self._memo.get(key)
        if cached is None or cached[0] != hidden:
            cached = (hidden, build())
            self._memo[key] = cached
        return cached[1]

    def gone(self, path: str) -> Response:
        """A hidden article's URL: the site's own 404 page, answered with 404 or a deleted article's 410."""
        response = self.not_found(path)
        response.status = self._deleted.get(path, 404)
        return response

    def handle(self, target: str) -> Response:
        path, _, query = target.partition("?")
        params = dict(parse_qsl(query, keep_blank_values=True))
        path = unquote(path)
        if path in self.hidden:
            return self.gone(path)
        for pattern, handler in self._routes:
            m = pattern.fullmatch(path)
            if m and (response := handler(params, *m.groups())) is not None:
                return response
        return self.not_found(path)

    def not_found(self, path: str) -> Response:
        return Response(404, b"Not Found", "text/plain; charset=UTF-8")

    def render(self, template: str, **ctx: Any) -> str:
        return ENV.get_template(f"{self.name}/{template}").render(base=self.base, **ctx)

    def html(self, template: str, status: int = 200, **ctx: Any) -> Response:
        return Response(status, self.render(template, **ctx).encode("utf-8"), HTML)

    def xml(self, template: str, content_type: str, **ctx: Any) -> Response:
        return Response(200, self.render(template, **ctx).encode("utf-8"), content_type)

    def robots(self, params: dict[str, str]) -> Response:
        return Response(200, self.robots_txt().encode(), "text/plain; charset=UTF-8")

    def robots_txt(self) -> str:
        raise NotImplementedError


def static_file(name: str, content_type: str) -> Response:
    return Response(200, (STATIC / name).read_bytes(), content_type)


def page_number(text: str | None) -> int:
    try:
        return max(1, int(text or 1))
    except ValueError:
        return 1


# --- Blogger -------------------------------------------------------------------------------------

BLOGGER_500 = """<!DOCTYPE html>
<html lang=en>
  <meta charset=utf-8>
  <meta name=viewport content="initial-scale=1, minimum-scale=1, width=device-width">
  <title>Error 500 (Server Error)!!1</title>
  <p><b>500.</b> <ins>That’s an error.</ins>
  <p>There was an error. Please try again later. <ins>That’s all we know.</ins>
"""


@cache
def huge_png_data_uri() -> str:
    """A ~3 MB inline picture of noise: noise does not compress, so the page really weighs that much."""
    width, height = 1024, 720
    rng = random.Random(20230527)
    rows = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))
    return "data:image/png;base64," + base64.b64encode(encode_png(width, height, rows, level=1)).decode("ascii")


def encode_png(width: int, height: int, rows: bytes, level: int = 9) -> bytes:
    """An RGB PNG of `rows` (each a filter byte, then width x 3 bytes), its data deflated at `level`."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows, level))
        + chunk(b"IEND", b"")
    )


class BloggerSite(Site):
    """Steppe Notes: Blogger's classic "Simple" layout, its ?m=1 mobile pages, feeds and sitemap."""

    name = "blogger"
    server_header = "GSE"
    routes = (
        (r"/robots\.txt", "robots"),
        (r"/", "home"),
        (r"/search", "search"),
        (r"/search/label/([^/]+)", "search"),
        (r"/(\d{4})/", "archive"),
        (r"/(\d{4})/(\d{2})/", "archive"),
        (r"/(\d{4})/(\d{2})/([a-z0-9-]+)\.html", "post"),
        (r"/p/([a-z0-9-]+)\.html", "static_page"),
        (r"/feeds/posts/(default|summary)", "feed"),
        (r"/feeds/posts/(default|summary)/-/(.+)", "feed"),
        (r"/feeds/(\d+)/comments/default", "comments_feed"),
        (r"/sitemap\.xml", "sitemap"),
    )

    def __init__(self, base_url: str, slow_seconds: float = 1.5) -> None:
        super().__init__(base_url, slow_seconds)
        self.blog = c.load_blog()
        self.per_page = self.blog.meta["posts_per_page"]
        self._failed: set[str] = set()  # error-once posts that have already failed
        self._lock = threading.Lock()
        self._bodies: dict[str, str] = {}

    def article_paths(self) -> set[str]:
        return {p.path for p in self.blog.posts}

    def robots_txt(self) -> str:
        return (
            "User-agent: Mediapartners-Google\nDisallow: \n\n"
            f"User-agent: *\nDisallow: /search\nAllow: /\n\nSitemap: {self.base}/sitemap.xml\n"
        )

    # Pages

    @property
    def posts(self) -> list[c.BlogPost]:
        """The published posts, newest first."""
        return self.listed(self.blog.posts)

    def home(self, params: dict[str, str]) -> Response:
        posts = self.posts
        return self.listing(params, "/", posts[: self.per_page], self.older_link("/", posts, self.per_page))

    def search(self, params: dict[str, str], label: str | None = None) -> Response:
        """/search?q=&updated-max=&max-results= and /search/label/X: Blogger's paged listings."""
        posts = self.posts
        message = None
        if label is not None:
            posts = [p for p in posts if label in p.labels]
            message = Markup("Showing posts with the label <b>{}</b>.").format(label)
        if query := params.get("q", "").strip():
            posts = [p for p in posts if query.lower() in self.plain_text(p).lower()]
            message = Markup("Showing posts matching the search for <b>{}</b>.").format(query)
        if cutoff := params.get("updated-max"):
            try:
                limit = datetime.fromisoformat(cutoff.replace(" ", "+"))  # an unescaped + arrives as space
                posts = [p for p in posts if p.published < limit]
            except ValueError:
                pass
        try:
            count = min(max(int(params.get("max-results", self.per_page)), 1), 500)
        except ValueError:
            count = self.per_page
        path = "/search" if label is None else f"/search/label/{quote(label)}"
        older = self.older_link(path, posts, count, q=query)
        return self.listing(params, path, posts[:count], older, message=message)

    def archive(self, params: dict[str, str], year: str, month: str | None = None) -> Response | None:
        prefix = f"{year}-{month}" if month else year
        posts = [p for p in self.posts if p.published.isoformat().startswith(prefix)]
        if not posts:
            return None
        heading = f"{c.MONTHS[int(month) - 1]} {year}" if month else year
        path = f"/{year}/{month}/" if month else f"/{year}/"
        return self.listing(params, path, posts, None, title=f"{self.blog.meta['title']}: {heading}")

    def post(self, params: dict[str, str], year: str, month: str, slug: str) -> Response | None:
        posts = self.posts
        index = next((i for i, p in enumerate(posts) if p.path == f"/{year}/{month}/{slug}.html"), None)
        if index is None:
            return None
        post = posts[index]
        if post.fault == "error-once":
            with self._lock:
                first = post.slug not in self._failed
                self._failed.add(post.slug)
            if first:
                return Response(500, BLOGGER_500.encode(), HTML)
        if post.fault == "slow":
            time.sleep(self.slow_seconds)
        return self.page(
            "post.html",
            params,
            post.path,
            title=f"{self.blog.meta['title']}: {post.title}",
            og_title=post.title,
            og_description=c.first_words(post.blocks, 30),
            post=post,
            body=Markup(self.body(post)) + self.appended(post.path),
            newer=posts[index - 1] if index > 0 else None,
            older=posts[index + 1] if index + 1 < len(posts) else None,
        )

    def static_page(self, params: dict[str, str], slug: str) -> Response | None:
        about = self.blog.about
        if slug != about["slug"]:
            return None
        return self.page("page.html", params, f"/p/{slug}.html", title=f"{self.blog.meta['title']}: {about['title']}")

    def not_found(self, path: str) -> Response:
        params: dict[str, str] = {}
        return self.page(
            "listing.html",
            params,
            path,
            status=404,
            groups=[],
            older=None,
            title=self.blog.meta["title"],
            message="Sorry, the page you were looking for in this blog does not exist.",
        )

    # Feeds and sitemaps

    def feed(self, params: dict[str, str], kind: str, label: str | None = None) -> Response:
        published = self.posts
        posts = [p for p in published if label is None or label in p.labels]
        start, count = page_number(params.get("start-index")), page_number(params.get("max-results") or "25")
        count = min(count, 500)
        path = f"/feeds/posts/{kind}" + (f"/-/{quote(label)}" if label else "")
        rss = params.get("alt") == "rss"
        more = {"start-index": start + count, "max-results": count} | ({"alt": "rss"} if rss else {})
        ctx = {
            "blog": self.blog.meta,
            "labels": sorted({label for p in published for label in p.labels}),
            "posts": posts[start - 1 : start - 1 + count],
            "bodies": {p.slug: self.body(p) for p in posts[start - 1 : start - 1 + count]},
            "summary": kind == "summary",
            "total": len(posts),
            "start": start,
            "count": count,
            "self_url": self.base + path,
            "next_url": f"{self.base}{path}?{urlencode(more)}" if start - 1 + count < len(posts) else None,
            "updated": max((p.updated for p in published), default=self.blog.posts[0].updated),
        }
        if rss:
            return self.xml("rss.xml", "application/rss+xml; charset=UTF-8", **ctx)
        return self.xml("feed.xml", "application/atom+xml; charset=UTF-8", **ctx)

    def comments_feed(self, params: dict[str, str], post_id: str) -> Response | None:
        post = next((p for p in self.posts if str(p.post_id) == post_id), None)
        if post is None:
            return None
        return self.xml("comments.xml", "application/atom+xml; charset=UTF-8", blog=self.blog.meta, post=post)

    def sitemap(self, params: dict[str, str]) -> Response | None:
        if "page" not in params:
            return self.xml("sitemap-index.xml", "text/xml; charset=UTF-8")
        if params["page"] != "1":
            return None
        return self.xml("sitemap.xml", "text/xml; charset=UTF-8", posts=self.posts)

    # Helpers

    def body(self, post: c.BlogPost) -> str:
        """The post body's HTML, rendered once: the huge post's is 3 MB."""
        if post.slug not in self._bodies:
            image = huge_png_data_uri() if post.fault == "huge" else ""
            self._bodies[post.slug] = self.render("_body.html", post=post, image=image)
        return self._bodies[post.slug]

    def plain_text(self, post: c.BlogPost) -> str:
        return " ".join([post.title, *c.block_texts(post.blocks)])

    def older_link(self, path: str, posts: list[c.BlogPost], count: int, q: str = "") -> str | None:
        """Blogger pages backwards with updated-max = the last shown post's time (always via /search)."""
        if len(posts) <= count:
            return None
        if path == "/":
            path = "/search"
        query = {"q": q} if q else {}
        query |= {"updated-max": c.iso(posts[count - 1].published), "max-results": count}
        return f"{path}?{urlencode(query, safe=':')}"

    def listing(
        self,
        params: dict[str, str],
        path: str,
        posts: list[c.BlogPost],
        older: str | None,
        message: str | None = None,
        title: str | None = None,
    ) -> Response:
        groups = [(day, list(day_posts)) for day, day_posts in groupby(posts, key=lambda p: p.published.date())]
        bodies = {p.slug: Markup(self.body(p)) for p in posts}
        return self.page(
            "listing.html",
            params,
            path,
            groups=groups,
            bodies=bodies,
            older=older,
            message=message,
            title=title or self.blog.meta["title"],
        )

    def page(self, template: str, params: dict[str, str], path: str, status: int = 200, **ctx: Any) -> Response:
        """Render a desktop or, with ?m=1, a mobile page; both name the desktop URL as canonical."""
        mobile = params.get("m") == "1"
        # Only a listing's own parameters belong in its canonical URL (not showComment, m, utm_...).
        query = {k: v for k, v in params.items() if k in ("q", "updated-max", "max-results")}
        desktop = self.base + path + (f"?{urlencode(query, safe=':')}" if query else "")
        joiner = "&" if query else "?"

        def href(target: str) -> str:
            """Blogger links are absolute; on mobile pages they keep ?m=1."""
            url = target if target.startswith("http") else self.base + target
            return url + (("&" if "?" in url else "?") + "m=1" if mobile else "")

        return self.html(
            template,
            status=status,
            mobile=mobile,
            href=href,
            canonical=desktop,
            mobile_url=f"{desktop}{joiner}m=1",
            web_url=f"{desktop}{joiner}m=0",
            blog=self.blog.meta,
            about=self.blog.about,
            sidebar=self.sidebar,
            **ctx,
        )

    @property
    def sidebar(self) -> dict[str, Any]:
        return self.per_state("sidebar", self.build_sidebar)

    def build_sidebar(self) -> dict[str, Any]:
        """The archive, label and popular-posts widgets, of the published posts."""
        posts = self.posts
        archive = []
        for year, year_posts in groupby(posts, key=lambda p: p.published.year):
            year_posts = list(year_posts)
            months = [
                {"path": f"/{year}/{month:02d}/", "name": c.MONTHS[month - 1], "count": len(list(ps))}
                for month, ps in groupby(year_posts, key=lambda p: p.published.month)
            ]
            archive.append({"year": year, "path": f"/{year}/", "count": len(year_posts), "months": months})
        by_slug = {p.slug: p for p in posts}
        return {
            "archive": archive,
            "labels": [(label, n) for label in self.blog.labels if (n := sum(label in p.labels for p in posts))],
            "popular": [by_slug[slug] for slug in self.blog.meta["popular"] if slug in by_slug],
        }


# --- WordPress -----------------------------------------------------------------------------------


class WordPressSite(Site):
    """Tenants' Voice: WordPress with a twentytwenty-like theme, Jetpack, the REST API and an endless
    Events Calendar."""

    name = "wordpress"
    server_header = "nginx/1.24.0"
    routes = (
        (r"/robots\.txt", "robots"),
        (r"/", "home"),
        (r"/page/(\d+)/", "home"),
        (r"/(\d{4})/(\d{2})/(\d{2})/([a-z0-9-]+)/", "post"),
        (r"/(\d{4})/(?:(\d{2})/)?(?:page/(\d+)/)?", "date_archive"),
        (r"/category/([a-z0-9-]+)/(?:page/(\d+)/)?", "category"),
        (r"/tag/([a-z0-9-]+)/(?:page/(\d+)/)?", "tag"),
        (r"/author/([a-z0-9-]+)/(?:page/(\d+)/)?", "author"),
        (r"/feed/", "feed"),
        (r"/category/([a-z0-9-]+)/feed/", "feed"),
        (r"/events/", "events"),
        (r"/events/month/(\d{4})-(\d{2})/", "events_month"),
        (r"/wp-sitemap\.xml", "sitemap_index"),
        (r"/wp-sitemap-(posts-post|posts-page|taxonomies-category|taxonomies-post_tag|users)-1\.xml", "sitemap"),
        (r"/sitemap\.xml", "old_sitemap"),
        (r"/wp-json/", "api_index"),
        (r"/wp-json/wp/v2/(posts|categories|tags|users)", "api_list"),
        (r"/wp-json/wp/v2/posts/(\d+)", "api_post"),
        (r"/wp-admin/", "login"),
        (r"/wp-login\.php", "login"),
        (r"/wp-admin/admin-ajax\.php", "admin_ajax"),
        (r"/wp-content/themes/twentytwenty/style\.css", "stylesheet"),
        (r"/live/rent-strike-diary/", "live_diary"),
        (r"/wp-json/tenants-voice/v1/live-diary", "live_diary_data"),
        (r"/([a-z0-9-]+)/", "static_page"),
    )

    def __init__(self, base_url: str, slow_seconds: float = 1.5) -> None:
        super().__init__(base_url, slow_seconds)
        self.wp = c.load_wordpress()
        self.per_page = self.wp.meta["posts_per_page"]

    def article_paths(self) -> set[str]:
        return {p.path for p in self.wp.posts}

    def robots_txt(self) -> str:
        return (
            "User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n\n"
            f"Sitemap: {self.base}/wp-sitemap.xml\n"
        )

    def handle(self, target: str) -> Response:
        """WordPress adds the missing trailing slash with a 301, query string kept."""
        response = super().handle(target)
        path, sep, query = target.partition("?")
        slashless = not path.endswith("/") and "." not in path.rsplit("/", 1)[-1]
        if response.status == 404 and slashless and super().handle(f"{path}/{sep}{query}").status in (200, 301, 302):
            return redirect(f"{self.base}{path}/{sep}{query}")
        if response.status == 200 and response.content_type == HTML:
            response.headers.setdefault("Link", f'<{self.base}/wp-json/>; rel="https://api.w.org/"')
        return response

    # Posts and listings

    @property
    def posts(self) -> list[c.WpPost]:
        """The published posts, newest first."""
        return self.listed(self.wp.posts)

    def home(self, params: dict[str, str], page: str | None = None) -> Response | None:
        if "p" in params:
            post = next((p for p in self.posts if str(p.id) == params["p"]), None)
            return redirect(self.base + post.path) if post else None
        if "page_id" in params:
            pg = next((p for p in self.wp.pages if str(p.id) == params["page_id"]), None)
            return redirect(self.base + pg.path) if pg else None
        if "s" in params:
            words = params["s"].lower()
            found = [p for p in self.posts if words in " ".join([p.title, *c.block_texts(p.blocks)]).lower()]
            return self.listing(
                found,
                None,
                "/",
                title=f"Search Results for “{params['s']}”",
                heading="Search:",
                name=f"“{params['s']}”",
                body_class="search search-results",
                paged=False,
            )
        return self.listing(self.posts, page, "/", title=None, body_class="home blog")

    def post(self, params: dict[str, str], year: str, month: str, day: str, slug: str) -> Response | None:
        posts = self.posts
        index = next((i for i, p in enumerate(posts) if p.path == f"/{year}/{month}/{day}/{slug}/"), None)
        if index is None:
            return None
        post = posts[index]
        related = [p for p in posts if p is not post and set(p.categories) & set(post.categories)]
        related += [p for p in posts if p is not post and p not in related]
        response = self.themed(
            "post.html",
            post.title,
            post=post,
            newer=posts[index - 1] if index > 0 else None,
            older=posts[index + 1] if index + 1 < len(posts) else None,
            related=related[:3],
            appended=self.appended(post.path),
        )
        response.headers["Link"] = f"<{self.base}/?p={post.id}>; rel=shortlink"
        return response

    def date_archive(self, params: dict[str, str], year: str, month: str | None, page: str | None) -> Response | None:
        prefix = f"{year}-{month}" if month else year
        posts = [p for p in self.posts if p.published.isoformat().startswith(prefix)]
        if not posts:
            return None
        if month:
            name, heading, path = f"{c.MONTHS[int(month) - 1]} {year}", "Month:", f"/{year}/{month}/"
        else:
            name, heading, path = year, "Year:", f"/{year}/"
        return self.listing(posts, page, path, title=name, heading=heading, name=name, body_class="archive date")

    def category(self, params: dict[str, str], slug: str, page: str | None) -> Response | None:
        term = next((t for t in self.wp.categories if t.slug == slug), None)
        if term is None:
            return None
        posts = [p for p in self.posts if term in p.categories]
        return self.listing(
            posts,
            page,
            f"/category/{slug}/",
            title=term.name,
            heading="Category:",
            name=term.name,
            description=term.description,
            body_class=f"archive category category-{slug} category-{term.id}",
            feed=f"/category/{slug}/feed/",
        )

    def tag(self, params: dict[str, str], slug: str, page: str | None) -> Response | None:
        term = next((t for t in self.wp.tags if t.slug == slug), None)
        if term is None:
            return None
        posts = [p for p in self.posts if term in p.tags]
        return self.listing(
            posts,
            page,
            f"/tag/{slug}/",
            title=term.name,
            heading="Tag:",
            name=term.name,
            body_class=f"archive tag tag-{slug} tag-{term.id}",
        )

    def author(self, params: dict[str, str], slug: str, page: str | None) -> Response | None:
        who = next((a for a in self.wp.authors if a.slug == slug), None)
        if who is None:
            return None
        posts = [p for p in self.posts if p.author == who]
        return self.listing(
            posts,
            page,
            f"/author/{slug}/",
            title=who.name,
            heading="Author:",
            name=who.name,
            description=who.bio,
            body_class=f"archive author author-{slug} author-{who.id}",
        )

    def listing(
        self,
        posts: list[c.WpPost],
        page: str | None,
        path: str,
        title: str | None,
        body_class: str,
        heading: str | None = None,
        name: str | None = None,
        description: str | None = None,
        feed: str | None = None,
        paged: bool = True,
    ) -> Response | None:
        if page == "1":  # WordPress sends /page/1/ back to the first page
            return redirect(self.base + path)
        number = page_number(page)
        pages = max(1, math.ceil(len(posts) / self.per_page)) if paged else 1
        if number > pages:
            return None
        shown = posts[(number - 1) * self.per_page : number * self.per_page] if paged else posts
        page_url = {k: self.base + path + ("" if k == 1 else f"page/{k}/") for k in range(1, pages + 1)}
        if number > 1:
            title = f"{title or self.wp.meta['name']} – Page {number} of {pages}"
        return self.themed(
            "listing.html",
            title,
            posts=shown,
            page=number,
            pages=pages,
            page_url=page_url,
            heading=heading,
            name=name,
            description=description,
            body_class=body_class,
            canonical=page_url[number],
            feed=feed,
            is_home=path == "/" and heading is None,
        )

    def static_page(self, params: dict[str, str], slug: str) -> Response | None:
        pg = next((p for p in self.wp.pages if p.slug == slug), None)
        if pg is None:
            return None
        return self.themed("page.html", pg.title, pg=pg)

    def not_found(self, path: str) -> Response:
        return self.themed("notfound.html", "Page not found", status=404)

    def themed(self, template: str, title: str | None, status: int = 200, **ctx: Any) -> Response:
        """A page in the theme: "Title - Site name" (with an en dash) as <title>, plus the menu and sidebar."""
        name = self.wp.meta["name"]
        doc_title = f"{title} – {name}" if title else f"{name} – {self.wp.meta['tagline']}"
        return self.html(template, status=status, doc_title=doc_title, **self.common, **ctx)

    # Feeds, sitemaps, the REST API

    def feed(self, params: dict[str, str], category: str | None = None) -> Response | None:
        posts = self.posts
        path = "/feed/"
        if category is not None:
            term = next((t for t in self.wp.categories if t.slug == category), None)
            if term is None:
                return None
            posts, path = [p for p in posts if term in p.categories], f"/category/{category}/feed/"
        number = page_number(params.get("paged"))
        shown = posts[(number - 1) * 10 : number * 10]
        if not shown:
            return None
        return self.xml(
            "feed.xml",
            "application/rss+xml; charset=UTF-8",
            site=self.wp.meta,
            posts=shown,
            self_url=self.base + path,
            bodies={p.id: self.render("_content.html", post=p) for p in shown},
        )

    def sitemap_index(self, params: dict[str, str]) -> Response:
        names = ["posts-post", "posts-page", "taxonomies-category", "taxonomies-post_tag", "users"]
        return self.xml("sitemap-index.xml", "application/xml; charset=UTF-8", names=names)

    def sitemap(self, params: dict[str, str], name: str) -> Response:
        wp, posts = self.wp, self.posts
        used = {t for p in posts for t in p.categories + p.tags}  # WordPress leaves empty terms out
        urls: list[tuple[str, datetime | None]] = {
            "posts-post": [(p.path, p.modified) for p in posts],
            "posts-page": [("/", None)] + [(p.path, None) for p in wp.pages],
            "taxonomies-category": [(f"/category/{t.slug}/", None) for t in wp.categories if t in used],
            "taxonomies-post_tag": [(f"/tag/{t.slug}/", None) for t in wp.tags if t in used],
            "users": [(f"/author/{a.slug}/", None) for a in wp.authors],
        }[name]
        return self.xml("sitemap.xml", "application/xml; charset=UTF-8", urls=urls)

    def old_sitemap(self, params: dict[str, str]) -> Response:
        return redirect(self.base + "/wp-sitemap.xml")

    def api_index(self, params: dict[str, str]) -> Response:
        meta = self.wp.meta
        data = {
            "name": meta["name"],
            "description": meta["tagline"],
            "url": self.base,
            "home": self.base,
            "gmt_offset": "1",
            "timezone_string": "",
            "namespaces": ["oembed/1.0", "wp/v2", "wp-site-health/v1"],
            "routes": {
                f"/wp/v2/{kind}": {"_links": {"self": [{"href": f"{self.base}/wp-json/wp/v2/{kind}"}]}}
                for kind in ("posts", "categories", "tags", "users")
            },
        }
        return self.json(data)

    def api_list(self, params: dict[str, str], kind: str) -> Response:
        wp = self.wp
        items: list[dict[str, Any]] = {
            "posts": [self.api_record(p) for p in self.posts],
            "categories": [self.term_record(t, "category") for t in wp.categories],
            "tags": [self.term_record(t, "tag") for t in wp.tags],
            "users": [self.user_record(a) for a in wp.authors],
        }[kind]
        try:
            per_page = min(max(int(params.get("per_page", 10)), 1), 100)
        except ValueError:
            per_page = 10
        number = page_number(params.get("page"))
        pages = max(1, math.ceil(len(items) / per_page))
        if number > pages:
            error = {
                "code": "rest_post_invalid_page_number",
                "message": "The page number requested is larger than the number of pages available.",
                "data": {"status": 400},
            }
            return self.json(error, status=400)
        response = self.json(items[(number - 1) * per_page : number * per_page])
        response.headers |= {"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(pages)}
        url = f"{self.base}/wp-json/wp/v2/{kind}?per_page={per_page}&page="
        links = ([f'<{url}{number - 1}>; rel="prev"'] if number > 1 else []) + (
            [f'<{url}{number + 1}>; rel="next"'] if number < pages else []
        )
        if links:
            response.headers["Link"] = ", ".join(links)
        return response

    def api_post(self, params: dict[str, str], post_id: str) -> Response | None:
        post = next((p for p in self.posts if str(p.id) == post_id), None)
        return self.json(self.api_record(post)) if post else None

    def api_record(self, post: c.WpPost) -> dict[str, Any]:
        """A /wp/v2/posts item: "date" is site-local, "date_gmt" UTC, both without an offset."""

        def naive(dt: datetime, utc: bool = False) -> str:
            return (dt.astimezone(UTC) if utc else dt).replace(tzinfo=None).isoformat()

        return {
            "id": post.id,
            "date": naive(post.published),
            "date_gmt": naive(post.published, utc=True),
            "guid": {"rendered": f"{self.base}/?p={post.id}"},
            "modified": naive(post.modified),
            "modified_gmt": naive(post.modified, utc=True),
            "slug": post.slug,
            "status": "publish",
            "type": "post",
            "link": self.base + post.path,
            "title": {"rendered": html.escape(post.title, quote=False)},
            "content": {"rendered": self.render("_content.html", post=post), "protected": False},
            "excerpt": {"rendered": f"<p>{html.escape(c.first_words(post.blocks, 55))}</p>\n", "protected": False},
            "author": post.author.id,
            "comment_status": "open",
            "categories": [t.id for t in post.categories],
            "tags": [t.id for t in post.tags],
        }

    def user_record(self, who: c.Author) -> dict[str, Any]:
        link = f"{self.base}/author/{who.slug}/"
        return {"id": who.id, "name": who.name, "slug": who.slug, "description": who.bio, "link": link}

    def term_record(self, term: c.Term, taxonomy: str) -> dict[str, Any]:
        posts = [p for p in self.posts if term in p.categories or term in p.tags]
        path = "category" if taxonomy == "category" else "tag"
        return {
            "id": term.id,
            "count": len(posts),
            "description": term.description,
            "link": f"{self.base}/{path}/{term.slug}/",
            "name": term.name,
            "slug": term.slug,
            "taxonomy": "category" if taxonomy == "category" else "post_tag",
        }

    def json(self, data: Any, status: int = 200) -> Response:
        return Response(status, json.dumps(data, ensure_ascii=False).encode(), "application/json; charset=UTF-8")

    # The endless calendar, the login page, static files

    def events(self, params: dict[str, str]) -> Response:
        return redirect(f"{self.base}/events/month/{self.wp.meta['calendar_month']}/", 302)

    def events_month(self, params: dict[str, str], year: str, month: str) -> Response | None:
        """Every month from 0001-01 to 9999-12 exists and links to its neighbours: a crawler trap."""
        y, m = int(year), int(month)
        if not (1 <= y <= 9999 and 1 <= m <= 12):
            return None
        events = self.wp.events_in(y, m)
        if "ical" in params:
            disposition = f'attachment; filename="tenants-voice-{year}-{month}.ics"'
            ics = self.ical(events, f"{self.base}/events/month/{year}-{month}/")
            return Response(200, ics.encode(), "text/calendar; charset=UTF-8", {"Content-Disposition": disposition})
        prev = (y, m - 1) if m > 1 else (y - 1, 12)
        nxt = (y, m + 1) if m < 12 else (y + 1, 1)
        by_day = {d: [e for e in events if e.day.day == d] for d in range(1, 32)}
        return self.themed(
            "events.html",
            f"Events for {c.MONTHS[m - 1]} {y}",
            year=y,
            month=m,
            weeks=calendar.monthcalendar(y, m),
            by_day=by_day,
            prev=prev if prev[0] >= 1 else None,
            next=nxt if nxt[0] <= 9999 else None,
        )

    def ical(self, events: list[c.Event], page_url: str) -> str:
        """The month's ?ical=1 export, as The Events Calendar writes it (CRLF line ends)."""
        name = self.wp.meta["name"]
        lines = [
            "BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:-//{name} - ECPv6.5.1.5//NONSGML v1.0//EN",
            "CALSCALE:GREGORIAN", "METHOD:PUBLISH", f"X-WR-CALNAME:{name}", f"X-ORIGINAL-URL:{self.base}",
        ]  # fmt: skip
        for n, e in enumerate(events, 1):
            day = f"{e.day.year:04d}{e.day.month:02d}{e.day.day:02d}"
            lines += [
                "BEGIN:VEVENT", f"DTSTART;TZID=UTC+1:{day}T{e.clock.replace(':', '')}00", "DTSTAMP:20250501T090000",
                f"UID:{day}-{n}@tenantsvoice.example", f"SUMMARY:{e.title}", "LOCATION:" + e.venue.replace(",", "\\,"),
                f"URL:{page_url}", "END:VEVENT",
            ]  # fmt: skip
        return "\r\n".join([*lines, "END:VCALENDAR", ""])

    def login(self, params: dict[str, str]) -> Response:
        response = self.html("login.html", site=self.wp.meta)
        response.headers |= {"Cache-Control": "no-cache, must-revalidate, max-age=0", "X-Frame-Options": "SAMEORIGIN"}
        return response

    def admin_ajax(self, params: dict[str, str]) -> Response:
        return Response(400, b"0", HTML)  # what WordPress answers an admin-ajax call without an action

    def stylesheet(self, params: dict[str, str]) -> Response:
        return static_file("twentytwenty.css", "text/css; charset=UTF-8")

    # The live diary: rendered in the browser from JSON (a crawl that does not run scripts sees no text)

    def live_diary(self, params: dict[str, str]) -> Response:
        return self.html("live.html", site=self.wp.meta, diary=c.load_live_diary())

    def live_diary_data(self, params: dict[str, str]) -> Response:
        return self.json(c.load_live_diary())

    @property
    def common(self) -> dict[str, Any]:
        return self.per_state("common", self.build_common)

    def build_common(self) -> dict[str, Any]:
        """What every themed page needs: site meta, menu and the sidebar widgets (of the published posts;
        the category widget hides empty categories, and the newsletter link goes when its post does)."""
        wp, posts = self.wp, self.posts
        months = []
        for (year, month), ps in groupby(posts, key=lambda p: (p.published.year, p.published.month)):
            months.append((f"/{year}/{month:02d}/", f"{c.MONTHS[month - 1]} {year}", len(list(ps))))
        newsletter = next((p for p in posts if p.slug == wp.meta["newsletter_post"]), None)
        return {
            "site": wp.meta,
            "recent": posts[:5],
            "categories": [(t, n) for t in wp.categories if (n := sum(t in p.categories for p in posts))],
            "archive_months": months,
            "newsletter_url": f"{self.base}{newsletter.path}?{wp.meta['newsletter_utm']}" if newsletter else None,
            "newsletter_post": newsletter,
        }


# --- the magazine --------------------------------------------------------------------------------

LANTERN_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xa0\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def make_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with a few lines of Helvetica: small, but valid (the xref offsets are real)."""
    text = " ".join(f"({line.replace('(', '[').replace(')', ']')}) Tj 0 -30 Td" for line in lines)
    stream = f"BT /F1 20 Tf 72 760 Td {text} ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


class MagazineSite(Site):
    """Red Lantern: a hand-written static site on an old Apache; relative links, a table layout,
    no dates on article pages, and three Russian pages in old encodings: windows-1251 named only in a
    <meta> tag, KOI8-R named only in the Content-Type header, and windows-1251 named nowhere."""

    name = "magazine"
    server_header = "Apache/2.2.22 (Debian)"
    routes = (
        (r"/robots\.txt", "robots"),
        (r"/(?:index\.html)?", "index"),
        (r"/back-issues\.html", "back_issues"),
        (r"/subscribe\.html", "subscribe"),
        (r"/issues/(\d+)/(?:index\.html)?", "issue_index"),
        (r"/issues/(\d+)/red-lantern-(\d+)\.pdf", "pdf"),
        (r"/issues/(\d+)/([a-z0-9-]+)\.html", "article"),
        (r"/images/lantern\.gif", "logo"),
        (r"/lantern\.css", "stylesheet"),
    )

    def __init__(self, base_url: str, slow_seconds: float = 1.5) -> None:
        super().__init__(base_url, slow_seconds)
        self.mag = c.load_magazine()

    def article_paths(self) -> set[str]:
        return {a.path for issue in self.mag.issues for a in issue.articles}

    def pages_listing(self, path: str) -> list[str]:
        """Every page of the article's issue lists its articles (contents, the other articles' "In this
        issue" box, the PDF's titles); the home page lists the current issue's."""
        issue = next(i for i in self.mag.issues if any(a.path == path for a in i.articles))
        pages = [issue.path, issue.path + "index.html", issue.pdf_path, *(a.path for a in issue.articles)]
        return pages + (["/", "/index.html"] if issue is self.mag.issues[0] else [])

    def robots_txt(self) -> str:
        return "User-agent: *\nDisallow: /cgi-bin/\n"

    def handle(self, target: str) -> Response:
        """Static files carry the server's file date (not any publication date) as Last-Modified;
        a directory asked for without its slash gets Apache's 301."""
        response = super().handle(target)
        path = target.partition("?")[0]
        if response.status == 404 and re.fullmatch(r"/issues/\d+", path) and super().handle(path + "/").status == 200:
            return redirect(self.base + path + "/")
        if response.status == 200:
            response.headers |= {"Last-Modified": c.http_date(self.mag.last_modified), "Accept-Ranges": "bytes"}
        return response

    def page(
        self, template: str, updated: date, charset: str = "utf-8", declared: str = "both", **ctx: Any
    ) -> Response:
        """A page in `charset`, named where `declared` says: in the Content-Type header, in a <meta>
        tag, both or neither (Apache sends a bare text/html for files it has no charset for)."""
        meta_charset = charset if declared in ("both", "meta") else None
        text = self.render(template, mag=self.mag.meta, updated=updated, charset=meta_charset, **ctx)
        header = f"text/html; charset={charset}" if declared in ("both", "header") else "text/html"
        if charset == "utf-8":
            return Response(200, text.encode("utf-8"), HTML if declared == "both" else header)
        return Response(200, text.encode(charset, "xmlcharrefreplace"), header)

    def index(self, params: dict[str, str]) -> Response:
        current = self.mag.issues[0]
        return self.page("index.html", current.page_updated, issue=current, articles=self.listed(current.articles))

    def back_issues(self, params: dict[str, str]) -> Response:
        missing = self.mag.meta["missing_issue"]
        rows = [(i.number, i.date, True) for i in self.mag.issues]
        rows.append((missing["number"], date.fromisoformat(missing["date"]), False))
        return self.page("back-issues.html", self.mag.issues[0].page_updated, rows=sorted(rows, reverse=True))

    def subscribe(self, params: dict[str, str]) -> Response:
        return self.page("subscribe.html", self.mag.issues[0].page_updated)

    def issue_index(self, params: dict[str, str], number: str) -> Response | None:
        issue = self.mag.issue(int(number))
        if issue is None:
            return None
        return self.page("issue.html", issue.page_updated, issue=issue, articles=self.listed(issue.articles))

    def article(self, params: dict[str, str], number: str, slug: str) -> Response | None:
        issue = self.mag.issue(int(number))
        article = next((a for a in issue.articles if a.slug == slug), None) if issue else None
        if article is None or issue is None:
            return None
        return self.page(
            "article.html",
            issue.page_updated,
            article.charset,
            article.declared,
            issue=issue,
            articles=self.listed(issue.articles),
            article=article,
            appended=self.appended(article.path),
        )

    def pdf(self, params: dict[str, str], number: str, again: str) -> Response | None:
        issue = self.mag.issue(int(number))
        if issue is None or again != number:
            return None
        titles = [a.title for a in self.listed(issue.articles) if a.language == "en"]  # Helvetica has no Cyrillic
        lines = [f"{issue.label} - {c.month_year(issue.date)}", *titles]
        return Response(200, make_pdf(lines), "application/pdf")

    def logo(self, params: dict[str, str]) -> Response:
        return Response(200, LANTERN_GIF, "image/gif")

    def stylesheet(self, params: dict[str, str]) -> Response:
        return static_file("lantern.css", "text/css; charset=UTF-8")

    def not_found(self, path: str) -> Response:
        port = self.base.rsplit(":", 1)[-1]
        body = self.render("notfound.html", path=path, port=port)
        return Response(404, body.encode("latin-1", "xmlcharrefreplace"), "text/html; charset=iso-8859-1")


# --- the Hugo blog -------------------------------------------------------------------------------


class HugoSite(Site):
    """Field Notes: a Hugo-built static blog on a static host. Absolute links everywhere, a paginated
    home page and post list, tag pages, an About page that is not an article, Hugo's RSS and sitemap,
    Hugo's /page/1/ alias pages, and a /drafts/ page that robots.txt keeps crawlers out of."""

    name = "hugo"
    server_header = "Netlify"
    routes = (
        (r"/robots\.txt", "robots"),
        (r"/", "home"),
        (r"/page/(\d+)/", "home"),
        (r"/posts/", "post_list"),
        (r"/posts/page/(\d+)/", "post_list"),
        (r"/posts/([a-z0-9-]+)/", "post"),
        (r"/tags/", "terms"),
        (r"/tags/([a-z0-9-]+)/", "tag"),
        (r"/about/", "about"),
        (r"/drafts/", "drafts"),
        (r"/index\.xml", "feed"),
        (r"/(posts)/index\.xml", "feed"),
        (r"/tags/([a-z0-9-]+)/index\.xml", "tag_feed"),
        (r"/sitemap\.xml", "sitemap"),
        (r"/css/main\.min\.[0-9a-f]+\.css", "stylesheet"),
    )

    def __init__(self, base_url: str, slow_seconds: float = 1.5) -> None:
        super().__init__(base_url, slow_seconds)
        self.blog = c.load_hugo()
        self.per_page = self.blog.meta["paginate"]

    def article_paths(self) -> set[str]:
        return {p.path for p in self.blog.posts}

    def robots_txt(self) -> str:
        return f"User-agent: *\nDisallow: /drafts/\nSitemap: {self.base}/sitemap.xml\n"

    @property
    def posts(self) -> list[c.HugoPost]:
        """The published posts, newest first."""
        return self.listed(self.blog.posts)

    def tags(self) -> list[str]:
        """The tags of the published posts, sorted: Hugo builds no page for a tag no post has."""
        return sorted({t for p in self.posts for t in p.tags})

    def tag_named(self, slug: str) -> str | None:
        return next((t for t in self.tags() if c.urlize(t) == slug), None)

    def tagged(self, tag: str) -> list[c.HugoPost]:
        return [p for p in self.posts if tag in p.tags]

    def handle(self, target: str) -> Response:
        """A static host's pretty URLs: /x and /x/index.html are sent to /x/ with a 301."""
        path, sep, query = target.partition("?")
        if path.endswith("/index.html"):
            return redirect(f"{self.base}{path[: -len('index.html')]}{sep}{query}")
        response = super().handle(target)
        slashless = not path.endswith("/") and "." not in path.rsplit("/", 1)[-1]
        if response.status == 404 and slashless and super().handle(f"{path}/").status == 200:
            response = redirect(f"{self.base}{path}/{sep}{query}")
        response.headers.setdefault("Cache-Control", "public,max-age=0,must-revalidate")
        return response

    # Pages

    def home(self, params: dict[str, str], page: str | None = None) -> Response | None:
        return self.listing(self.posts, page, "/", None, feeds=[])

    def post_list(self, params: dict[str, str], page: str | None = None) -> Response | None:
        return self.listing(self.posts, page, "/posts/", "Posts", feeds=["/posts/index.xml"])

    def tag(self, params: dict[str, str], slug: str) -> Response | None:
        name = self.tag_named(slug)
        if name is None:
            return None
        path = f"/tags/{slug}/"
        return self.listing(self.tagged(name), None, path, name, feeds=[f"{path}index.xml"])

    def listing(
        self, posts: list[c.HugoPost], page: str | None, path: str, heading: str | None, feeds: list[str]
    ) -> Response | None:
        """Hugo's paginator: /page/N/ under the list's path; /page/1/ is an alias page sending readers
        to the list itself."""
        if page == "1":
            return self.html("alias.html", site=self.blog.meta, target=self.base + path)
        number = page_number(page)
        pages = max(1, math.ceil(len(posts) / self.per_page))
        if number > pages:
            return None
        url = {k: self.base + path + ("" if k == 1 else f"page/{k}/") for k in range(1, pages + 1)}
        title = self.blog.meta["title"] if heading is None else f"{heading} | {self.blog.meta['title']}"
        return self.page(
            "list.html",
            url[number],
            feeds,
            doc_title=title if number == 1 else f"{title} | Page {number}",
            heading=heading,
            posts=posts[(number - 1) * self.per_page : number * self.per_page],
            page=number,
            pages=pages,
            prev_url=url.get(number - 1),
            next_url=url.get(number + 1),
        )

    def post(self, params: dict[str, str], slug: str) -> Response | None:
        posts = self.posts
        index = next((i for i, p in enumerate(posts) if p.slug == slug), None)
        if index is None:
            return None
        post = posts[index]
        return self.page(
            "single.html",
            self.base + post.path,
            [],
            post=post,
            newer=posts[index - 1] if index > 0 else None,
            older=posts[index + 1] if index + 1 < len(posts) else None,
            related=self.blog.related(post, posts=posts),
            appended=self.appended(post.path),
        )

    def terms(self, params: dict[str, str]) -> Response:
        terms = [(t, len(self.tagged(t))) for t in self.tags()]
        return self.page("terms.html", f"{self.base}/tags/", [], terms=terms)

    def about(self, params: dict[str, str]) -> Response:
        return self.page("page.html", f"{self.base}/about/", [], page=self.blog.about)

    def drafts(self, params: dict[str, str]) -> Response:
        """Exists and answers 200, but robots.txt disallows it: a polite crawler never asks."""
        return self.page("page.html", f"{self.base}/drafts/", [], page=self.blog.drafts, noindex=True)

    def not_found(self, path: str) -> Response:
        response = self.page("404.html", f"{self.base}/404.html", [])
        response.status = 404
        return response

    def page(self, template: str, canonical: str, feeds: list[str], **ctx: Any) -> Response:
        """Every page names the site's feed; list pages name their own feed first."""
        hrefs = [self.base + f for f in feeds] + [f"{self.base}/index.xml"]
        return self.html(template, site=self.blog.meta, canonical=canonical, feeds=hrefs, cdn=self.cdn, **ctx)

    # Feeds, sitemap, static files

    def feed(self, params: dict[str, str], section: str | None = None) -> Response:
        """Hugo's RSS: every post (no limit), newest first; the home feed lists only the posts section."""
        title = self.blog.meta["title"]
        if section:
            return self.rss(self.posts, f"Posts on {title}", "/posts/", "posts")
        return self.rss(self.posts, title, "/", None)

    def tag_feed(self, params: dict[str, str], slug: str) -> Response | None:
        name = self.tag_named(slug)
        if name is None:
            return None
        return self.rss(self.tagged(name), f"{name} on {self.blog.meta['title']}", f"/tags/{slug}/", name)

    def rss(self, posts: list[c.HugoPost], title: str, path: str, scope: str | None) -> Response:
        return self.xml(
            "index.xml",
            STATIC_XML,
            site=self.blog.meta,
            posts=posts,
            channel_title=title,
            link=self.base + path,
            self_url=f"{self.base}{path}index.xml",
            scope=scope,
            updated=max((p.lastmod for p in posts), default=self.blog.posts[0].lastmod),
        )

    def sitemap(self, params: dict[str, str]) -> Response:
        """Hugo's sitemap: every page it built (pagination pages and aliases excepted), with lastmod
        where the page has a date; the About page has none."""
        posts = self.posts
        newest = max((p.lastmod for p in posts), default=self.blog.posts[0].lastmod)
        urls: list[tuple[str, datetime | None]] = [("/", newest), ("/posts/", newest)]
        urls += [(p.path, p.lastmod) for p in posts]
        urls += [("/tags/", newest)]
        urls += [(f"/tags/{c.urlize(t)}/", max(p.lastmod for p in self.tagged(t))) for t in self.tags()]
        urls += [("/about/", None)]
        return self.xml("sitemap.xml", STATIC_XML, urls=urls)

    def stylesheet(self, params: dict[str, str]) -> Response:
        return static_file("fieldnotes.css", "text/css; charset=UTF-8")


# --- the campaign site ---------------------------------------------------------------------------


class CampaignSite(Site):
    """Common Cause Ashworth: a plain hand-rolled news site ("generic" kind) of any size, for the
    crawl-order, politeness and speed tests. Generated articles (content.load_campaign), listing pages
    of `per_page` teasers joined by Older/Newer posts links, a sitemap of every article, `dead_links`
    links per article to pages that were never there (404), a members' area robots.txt disallows, and,
    when `crawl_delay` is given, a robots.txt Crawl-delay. Article pages carry Last-Modified."""

    name = "campaign"
    server_header = "nginx"
    routes = (
        (r"/robots\.txt", "robots"),
        (r"/", "home"),
        (r"/page/(\d+)/", "home"),
        (r"(/news/\d{4}/\d{2}/[a-z0-9-]+/)", "article"),
        (r"/sitemap\.xml", "sitemap"),
        (r"/members/", "members"),
    )

    def __init__(
        self,
        base_url: str,
        articles: int = 400,
        per_page: int = 2,
        dead_links: int = 4,
        crawl_delay: float | None = None,
        slow_seconds: float = 1.5,
    ) -> None:
        super().__init__(base_url, slow_seconds)
        if articles < 1 or per_page < 1 or dead_links < 0:
            raise ValueError("the campaign site needs articles >= 1, per_page >= 1 and dead_links >= 0")
        self.campaign = c.load_campaign(articles)
        self.per_page = per_page
        self.dead_links = dead_links
        self.crawl_delay = crawl_delay
        self._by_path = {a.path: a for a in self.campaign.articles}

    def article_paths(self) -> set[str]:
        return set(self._by_path)

    def robots_txt(self) -> str:
        delay = "" if self.crawl_delay is None else f"Crawl-delay: {self.crawl_delay:g}\n"
        return f"User-agent: *\nDisallow: /members/\n{delay}\nSitemap: {self.base}/sitemap.xml\n"

    @property
    def articles(self) -> list[c.CampaignArticle]:
        """The published articles, newest first."""
        return self.listed(self.campaign.articles)

    def listing_path(self, number: int) -> str:
        return "/" if number == 1 else f"/page/{number}/"

    def dead_link_paths(self, article: c.CampaignArticle) -> list[str]:
        return [f"/archive/{article.slug}/related-{k}/" for k in range(1, self.dead_links + 1)]

    def home(self, params: dict[str, str], page: str | None = None) -> Response | None:
        if page == "1":
            return redirect(self.base + "/")
        number = page_number(page)
        articles = self.articles
        pages = max(1, math.ceil(len(articles) / self.per_page))
        if number > pages:
            return None
        shown = articles[(number - 1) * self.per_page : number * self.per_page]
        return self.html(
            "listing.html",
            site=self.campaign.meta,
            path=self.listing_path(number),
            articles=shown,
            page=number,
            pages=pages,
            newer=self.listing_path(number - 1) if number > 1 else None,
            older=self.listing_path(number + 1) if number < pages else None,
        )

    def article(self, params: dict[str, str], path: str) -> Response | None:
        article = self._by_path.get(path)
        if article is None:
            return None
        response = self.html(
            "article.html",
            site=self.campaign.meta,
            path=path,
            article=article,
            dead_links=self.dead_link_paths(article),
            appended=self.appended(path),
        )
        response.headers["Last-Modified"] = c.http_date(article.published)
        return response

    def sitemap(self, params: dict[str, str]) -> Response:
        return self.xml("sitemap.xml", "application/xml; charset=UTF-8", articles=self.articles)

    def members(self, params: dict[str, str]) -> Response:
        """Exists, but robots.txt disallows it: a polite crawler never asks."""
        return self.html("members.html", site=self.campaign.meta, path="/members/")

    def not_found(self, path: str) -> Response:
        return self.html("notfound.html", status=404, site=self.campaign.meta, path=path)


# --- the magazines as they are ----------------------------------------------------------------------


class IssueMagazineSite(Site):
    """A static magazine laid out as real ones are (data/<name>.toml, templates/<name>/): every page is a
    file at a fixed path, answered with the server's file date as Last-Modified. Subclasses say which
    page each path is (`page_for`)."""

    server_header = "Apache/2.2.16 (Debian)"

    def __init__(self, base_url: str, slow_seconds: float = 1.5) -> None:
        super().__init__(base_url, slow_seconds)
        self.mag = c.load_issue_magazine(self.name)

    def article_paths(self) -> set[str]:
        return {a.path for i in self.mag.issues for a in i.articles if a.own_page}

    def robots_txt(self) -> str:
        return "User-agent: *\nDisallow: /cgi-bin/\n"

    def handle(self, target: str) -> Response:
        path = unquote(target.partition("?")[0])
        if path == "/robots.txt":
            return self.robots({})
        if path in self.hidden:
            return self.gone(path)
        found = self.page_for(path)
        if found is None:
            return self.not_found(path)
        template, ctx = found
        response = self.html(template, mag=self.mag.meta, **ctx)
        response.headers["Last-Modified"] = c.http_date(self.mag.last_modified)
        return response

    def page_for(self, path: str) -> tuple[str, dict[str, Any]] | None:
        raise NotImplementedError

    def issue_with(self, path: str) -> c.IssueOf | None:
        return next((i for i in self.mag.issues if i.path == path), None)

    def article_at(self, path: str) -> tuple[c.IssueOf, c.IssueArticle] | None:
        for issue in self.mag.issues:
            for article in issue.articles:
                if article.path == path and article.own_page:
                    return issue, article
        return None

    def not_found(self, path: str) -> Response:
        return Response(404, b"<html><body><h1>Not Found</h1></body></html>", "text/html; charset=iso-8859-1")


class ClarionSite(IssueMagazineSite):
    """Clarion Review, built like the seed magazine: numbered issue folders (/41/index.html), the issue
    named above each article's title as "Clarion Review 41 - July/August 2012", the author's name after the
    last paragraph followed by "For more info:", "Links" or "Back to top", then a footer line of links; an
    issue's index prints its lead article in full under the contents."""

    name = "clarion"

    def page_for(self, path: str) -> tuple[str, dict[str, Any]] | None:
        current = self.mag.issues[0]
        if path in ("/", "/index.html"):
            return "home.html", {"issue": current, "articles": self.listed(current.articles)}
        if path == "/backissues.html":
            return "backissues.html", {"issues": self.mag.issues}
        issue = self.issue_with(path if path.endswith(".html") else path + "index.html")
        if issue is not None:
            return "index.html", {"issue": issue, "articles": self.listed(issue.articles)}
        found = self.article_at(path)
        if found is not None:
            issue, article = found
            return "article.html", {"issue": issue, "article": article, "appended": self.appended(path)}
        return None


class QuarrySite(IssueMagazineSite):
    """Quarry Quarterly: a contents page per issue (/issues/2013-spring/contents.html, dated by season),
    articles in section subfolders (features/, reviews/) that name no date, and editorials printed only on
    the contents page; /issues/ lists the back issues."""

    name = "quarry"

    def page_for(self, path: str) -> tuple[str, dict[str, Any]] | None:
        current = self.mag.issues[0]
        if path in ("/", "/index.html"):
            return "home.html", {"issue": current, "articles": self.listed(current.articles)}
        if path in ("/issues/", "/issues/index.html"):
            return "issues.html", {"issues": self.mag.issues}
        issue = self.issue_with(path)
        if issue is not None:
            return "contents.html", {"issue": issue, "articles": self.listed(issue.articles)}
        found = self.article_at(path)
        if found is not None:
            issue, article = found
            return "article.html", {"issue": issue, "article": article, "appended": self.appended(path)}
        return None


class LamplighterSite(IssueMagazineSite):
    """The Lamplighter: each issue is one page that is the article (/issues/13.html), named at its top
    ("The Lamplighter No. 13 · March 2012", some by season or year only); the home page prints the newest
    issue in full; /issues/ lists the back numbers."""

    name = "lamplighter"

    def page_for(self, path: str) -> tuple[str, dict[str, Any]] | None:
        issues = [i for i in self.mag.issues if i.path not in self.hidden]
        if path in ("/", "/index.html"):
            newest = issues[0] if issues else None
            return "home.html", {"issue": newest, "article": newest.articles[0] if newest else None}
        if path in ("/issues/", "/issues/index.html"):
            return "issues.html", {"issues": issues}
        found = self.article_at(path)
        if found is not None:
            issue, article = found
            at = issues.index(issue)
            return "issue.html", {
                "issue": issue,
                "article": article,
                "previous": issues[at + 1] if at + 1 < len(issues) else None,
                "later": issues[at - 1] if at > 0 else None,
                "appended": self.appended(path),
            }
        return None


SITES: dict[str, type[Site]] = {
    "blogger": BloggerSite,
    "wordpress": WordPressSite,
    "magazine": MagazineSite,
    "hugo": HugoSite,
    "campaign": CampaignSite,
    "clarion": ClarionSite,
    "quarry": QuarrySite,
    "lamplighter": LamplighterSite,
}
# What `start()` serves and `sources_toml()` and `expected_articles()` describe unless asked otherwise:
# the campaign site is served only when asked for.
DEFAULT_SITES = ("blogger", "wordpress", "magazine", "hugo")
# Three more magazines, laid out as real ones are, for the magazine quality gate (served when asked for:
# `--sites clarion,quarry,lamplighter`).
MAGAZINE_SITES = ("clarion", "quarry", "lamplighter")
