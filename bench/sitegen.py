"""A large WordPress-like sample site, generated from our own sample text and served on 127.0.0.1.

    python -m bench.sitegen [--pages 2000] [--seed 13]      # generate (or reuse) the site and serve it

The pages are rendered with the WordPress sample site's templates (samizdat/sample_sites/templates/wordpress:
twentytwenty markup, Jetpack sharing, comments, the sidebar's widgets) by `sites.WordPressSite` itself, over a
generated set of posts:

- text recombined from every sample site's data files: their sentences as written, and sentences drawn from a
  word-bigram chain trained on them, per language (English; Russian from the magazine's Cyrillic articles);
- a long-tailed vocabulary: invented words (names, places, rare terms) drawn from a Zipf law (s = 1.1) over
  20,000 ranks per language, put into about one sentence in three, so that a few words are everywhere and
  most appear once or twice, as in a real archive;
- one post in five in Russian; 10 categories, 60 tags and 12 authors, each drawn from a Zipf law too, so that
  some archives run to many /page/N/ and most have one page; comments on some posts.

`--pages` is the number of HTML pages a link-following crawler finds (home and its /page/N/, posts, category,
tag, author and month archives with their /page/N/, three static pages): 77% are posts at 2,000 pages. Besides
them the site serves robots.txt, wp-sitemap.xml and its five sitemaps, the RSS feed and the REST API's post list
(with `_fields`), as WordPress does. Everything else is a 404. The layout's menu links no events calendar and
no script-built page (the sample site's crawler traps are for the tests, not for a speed benchmark).

Every page is rendered once, then cached (bench/.cache/, keyed by generator version, size and seed) with
a placeholder for the address; the server answers from memory, so that it costs the crawlers beside it as
little CPU as possible. It prints one JSON line ({"base": "http://127.0.0.1:PORT"}) when ready, and
`GET /__bench__/stats` answers what it served since the last `GET /__bench__/reset`.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import itertools
import json
import math
import pickle
import random
import re
import socket
import sys
import threading
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

import jinja2

from samizdat.sample_sites import content as c
from samizdat.sample_sites import sites

VERSION = 2  # bump when the pages change: the cache key
PLACEHOLDER = "http://bench-site.invalid"  # the address the pages are rendered with, replaced when served
CACHE = Path(__file__).resolve().parent / ".cache"
PER_PAGE = 20  # posts per listing page (WordPress's "Blog pages show at most")
RUSSIAN_SHARE = 0.2
VOCABULARY = 20_000  # invented words per language, ranked
ZIPF_S = 1.1

# The sample WordPress theme's menu links the endless events calendar and a page built by JavaScript;
# the generated site's menu links its static pages only.
MENU_REMOVED = (
    '<li id="menu-item-23" class="menu-item menu-item-type-custom menu-item-object-custom menu-item-23">'
    '<a href="{{ base }}/events/">Events</a></li>',
    '<li id="menu-item-25" class="menu-item menu-item-type-custom menu-item-object-custom menu-item-25">'
    '<a href="{{ base }}/live/rent-strike-diary/">Strike diary</a></li>',
)

CATEGORIES = [
    ("housing", "Housing"),
    ("rent-repairs", "Rent & Repairs"),
    ("evictions", "Evictions"),
    ("council-watch", "Council Watch"),
    ("organising", "Organising"),
    ("novosti", "Новости"),
    ("workplaces", "Workplaces"),
    ("rassledovaniya", "Расследования"),
    ("environment", "Environment"),
    ("letters", "Letters"),
]
RUSSIAN_CATEGORIES = {"novosti", "rassledovaniya"}

EN_SYLLABLES = "ka lo ven mar dru sel tor bri an ost el wyn ham ford ley ric ash bel cor dun gal har ith kel mon"
RU_SYLLABLES = "ка ло вен мар дру сел тор бри ан ост ель вин хам фор лей рик аш бел кор дун гал хар ит кел мон"
LATIN = "a b v g d e yo zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya"
TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", LATIN.split(" "), strict=True))


# --- text -------------------------------------------------------------------------------------------


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def is_russian(text: str) -> bool:
    return sum("\u0400" <= ch <= "\u04ff" for ch in text) > len(text) / 4


def sample_sentences() -> dict[str, list[str]]:
    """Every sentence of the sample sites' data files, by language ("en", "ru")."""
    out: dict[str, list[str]] = {"en": [], "ru": []}
    for path in sorted(c.DATA_DIR.glob("*.toml")):
        with open(path, "rb") as f:
            data = tomllib.load(f)
        for text in _strings(data):
            if len(text.split()) < 8 or "<" in text or "{" in text:
                continue  # names, dates, slugs, markup and templates are not prose
            for sentence in c.split_sentences(text):
                if len(sentence.split()) >= 5 and sentence[-1] in '.!?»”"':
                    out["ru" if is_russian(sentence) else "en"].append(sentence)
    return {lang: sorted(set(s)) for lang, s in out.items()}


class Zipf:
    """Draws ranks 0..n-1 with P(rank) proportional to 1 / (rank + 1) ** s."""

    def __init__(self, n: int, s: float = ZIPF_S) -> None:
        self.cumulative = list(itertools.accumulate(1 / (k + 1) ** s for k in range(n)))

    def draw(self, rng: random.Random) -> int:
        return bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])


class Language:
    """One language's text: its sample sentences, a bigram chain over them, and an invented vocabulary."""

    def __init__(self, sentences: list[str], syllables: str, seed: int) -> None:
        self.sentences = sentences
        self.starts: list[str] = []
        self.chain: dict[str, list[str]] = {}
        for sentence in sentences:
            words = sentence.split()
            self.starts.append(words[0])
            for a, b in itertools.pairwise(words):
                self.chain.setdefault(a, []).append(b)
        rng = random.Random(f"vocabulary:{seed}:{syllables[:2]}")
        parts, seen, words = syllables.split(), set(), []
        while len(words) < VOCABULARY:
            word = "".join(rng.choice(parts) for _ in range(rng.choice((2, 2, 3, 3, 4))))
            if word not in seen:
                seen.add(word)
                # A third of the rare words are names: capitalised wherever they stand.
                words.append(word.capitalize() if rng.random() < 0.3 else word)
        self.vocabulary = words
        self.zipf = Zipf(VOCABULARY)

    def chained(self, rng: random.Random) -> str:
        """A new sentence walked through the bigram chain (restarted until it has 6 to 40 words)."""
        for _ in range(20):
            words = [rng.choice(self.starts)]
            while words[-1][-1] not in ".!?" and len(words) < 40:
                following = self.chain.get(words[-1])
                if not following:
                    break
                words.append(rng.choice(following))
            if 6 <= len(words) < 40 and words[-1][-1] in ".!?":
                return " ".join(words)
        return rng.choice(self.sentences)

    def sentence(self, rng: random.Random) -> str:
        text = rng.choice(self.sentences) if rng.random() < 0.5 else self.chained(rng)
        if rng.random() < 0.35:
            words = text.split()
            at = rng.randrange(1, len(words))
            rare = self.vocabulary[self.zipf.draw(rng)]
            tail = re.sub(r"^[\w'’-]+", "", words[at])  # keep the punctuation the word carried
            words[at] = rare + tail
            text = " ".join(words)
        return text

    def paragraph(self, rng: random.Random, words: int) -> str:
        out: list[str] = []
        while len(out) < 2 or sum(len(s.split()) for s in out) < words:
            out.append(self.sentence(rng))
        return " ".join(out)

    def title(self, rng: random.Random) -> str:
        words = self.chained(rng).rstrip(".!?").split()
        if rng.random() < 0.4:
            words.insert(rng.randrange(len(words) + 1), self.vocabulary[self.zipf.draw(rng)])
        cut = words[: rng.randint(4, 10)]
        return " ".join(cut).strip(",;:—–-«»“”\"' ").capitalize() or "Untitled"


def slugify(title: str) -> str:
    lowered = "".join(TRANSLIT.get(ch, ch) for ch in title.lower().replace("'", "").replace("’", ""))
    return re.sub(r"[^a-z0-9]+", "-", lowered).strip("-")[:70].strip("-") or "post"


# --- the posts --------------------------------------------------------------------------------------


@dataclass
class PostPlan:
    """What decides the site's shape, drawn before any text: the listings follow from it."""

    number: int
    language: str
    published: datetime
    categories: list[int]
    tags: list[int]
    author: int


def plan_posts(count: int, seed: int) -> list[PostPlan]:
    """The newest `count` posts, newest first: one seeded stream, so that the first n are the same
    whatever the total."""
    rng = random.Random(f"plan:{seed}")
    category_zipf, tag_zipf, author_zipf = Zipf(8, 0.9), Zipf(60), Zipf(12, 0.8)
    english = [i for i, (slug, _) in enumerate(CATEGORIES) if slug not in RUSSIAN_CATEGORIES]
    russian = [i for i, (slug, _) in enumerate(CATEGORIES) if slug in RUSSIAN_CATEGORIES]
    when = datetime.fromisoformat("2025-05-01T10:12:00+01:00")
    out = []
    for number in range(count):
        language = "ru" if rng.random() < RUSSIAN_SHARE else "en"
        if language == "ru":
            categories = [russian[0] if rng.random() < 0.7 else russian[1]]
        else:
            categories = [english[category_zipf.draw(rng)]]
            if rng.random() < 0.15:
                categories = sorted({*categories, english[category_zipf.draw(rng)]})
        tags = sorted({tag_zipf.draw(rng) for _ in range(rng.choice((0, 1, 1, 1, 2)))})
        out.append(PostPlan(number, language, when, categories, tags, author_zipf.draw(rng)))
        when -= timedelta(hours=rng.randint(6, 40), minutes=rng.randint(0, 59))
    return out


def listing_pages(plans: list[PostPlan]) -> int:
    """HTML listing pages the site has for these posts: home, category, tag, author, month archives."""
    per_page = Counter[tuple[str, Any]]()
    for p in plans:
        per_page["home", 0] += 1
        per_page["month", (p.published.year, p.published.month)] += 1
        per_page["author", p.author] += 1
        for k in p.categories:
            per_page["category", k] += 1
        for k in p.tags:
            per_page["tag", k] += 1
    return sum(math.ceil(n / PER_PAGE) for n in per_page.values())


def posts_for(pages: int, seed: int) -> list[PostPlan]:
    """The largest set of posts whose site has at most `pages` HTML pages (3 static pages included)."""
    plans = plan_posts(pages, seed)
    low, high = 1, pages
    while low < high:
        mid = (low + high + 1) // 2
        if mid + listing_pages(plans[:mid]) + 3 <= pages:
            low = mid
        else:
            high = mid - 1
    return plans[:low]


def build_wordpress(pages: int, seed: int) -> c.WordPress:
    """The sample WordPress site's model with generated posts in place of its own."""
    base = c.load_wordpress()
    texts = sample_sentences()
    languages = {
        "en": Language(texts["en"], EN_SYLLABLES, seed),
        "ru": Language(texts["ru"], RU_SYLLABLES, seed),
    }
    categories = [c.Term(100 + i, slug, name) for i, (slug, name) in enumerate(CATEGORIES)]
    tag_rng = random.Random(f"tags:{seed}")
    tags, tag_slugs = [], set()
    for k in range(60):
        lang = languages["ru" if k % 5 == 4 else "en"]
        while True:
            name = " ".join(tag_rng.choice(lang.vocabulary[:3000]) for _ in range(tag_rng.choice((1, 1, 2)))).lower()
            if slugify(name) not in tag_slugs:
                break
        tag_slugs.add(slugify(name))
        tags.append(c.Term(200 + k, slugify(name), name))
    author_rng = random.Random(f"authors:{seed}")
    authors = []
    for k in range(12):
        lang = languages["ru" if k % 4 == 3 else "en"]
        first, last = author_rng.choice(lang.vocabulary[:500]), author_rng.choice(lang.vocabulary)
        name = f"{first.capitalize()} {last.capitalize()}"
        bio = lang.sentence(author_rng)
        authors.append(c.Author(k + 1, slugify(name), name, bio))
    comment_pool = [(cm.author, cm.text) for p in base.posts for cm in p.comments]
    posts, slugs = [], set()
    next_comment = 1000
    for plan in posts_for(pages, seed):
        rng = random.Random(f"post:{seed}:{plan.number}")
        lang = languages[plan.language]
        title = lang.title(rng)
        slug = slugify(title)
        while slug in slugs:
            slug = f"{slug}-{rng.randint(2, 99)}"
        slugs.add(slug)
        # Long-tailed lengths: most posts 300-700 words, some 1,500 and more.
        words_wanted = int(min(3000, 250 + rng.paretovariate(2.5) * 200))
        paragraphs = max(3, words_wanted // 90)
        entries: list[str] = []
        for k in range(paragraphs):
            roll = rng.random()
            if k and roll < 0.08:
                entries.append("## " + lang.title(rng))
            elif k and roll < 0.12:
                entries += ["- " + lang.sentence(rng) for _ in range(rng.randint(2, 5))]
            elif k and roll < 0.16:
                entries.append("> " + lang.sentence(rng))
            entries.append(lang.paragraph(rng, words_wanted // paragraphs))
        modified = plan.published + timedelta(days=rng.randint(1, 30)) if rng.random() < 0.2 else plan.published
        chosen = rng.sample(comment_pool, k=min(len(comment_pool), rng.choice((0, 0, 0, 1, 2, 4))))
        entries_c = [{"by": who, "text": text} for who, text in chosen]
        ids = list(range(next_comment, next_comment + len(entries_c)))
        next_comment += len(entries_c) + 2
        posts.append(
            c.WpPost(
                id=10_000 + plan.number,
                slug=slug,
                title=title,
                published=plan.published,
                modified=modified,
                author=authors[plan.author],
                categories=[categories[k] for k in plan.categories],
                tags=[tags[k] for k in plan.tags],
                blocks=c.parse_blocks(entries),
                comments=c.make_comments(entries_c, plan.published, ids),
            )
        )
    authors = [a for a in authors if any(p.author == a for p in posts)]  # WordPress lists authors with posts
    meta = dict(base.meta, posts_per_page=PER_PAGE, newsletter_post=posts[min(3, len(posts) - 1)].slug)
    return c.WordPress(meta, posts, base.pages, categories, tags, authors, [], [], base.zone)


# --- rendering --------------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    """The sample sites' templates, with the WordPress layout's menu cut to the static pages."""
    layout = (sites.TEMPLATES / "wordpress" / "layout.html").read_text(encoding="utf-8")
    for item in MENU_REMOVED:
        if item not in layout:
            raise RuntimeError(f"bench.sitegen: the WordPress layout changed; update MENU_REMOVED ({item[:60]}...)")
        layout = layout.replace(item, "")
    loader = jinja2.ChoiceLoader([jinja2.DictLoader({"wordpress/layout.html": layout}), sites.ENV.loader])
    return sites.ENV.overlay(loader=loader)


class GeneratedWordPress(sites.WordPressSite):
    """The sample WordPress site over a generated model; post pages and the REST API's post list
    are found by index rather than by scanning every post, which is quadratic at thousands of posts."""

    def __init__(self, model: c.WordPress) -> None:
        self._env = _environment()
        super().__init__(PLACEHOLDER)
        self.wp = model
        self.per_page = PER_PAGE
        self._position = {p.path: i for i, p in enumerate(model.posts)}

    def render(self, template: str, **ctx: Any) -> str:
        return self._env.get_template(f"wordpress/{template}").render(base=self.base, **ctx)

    def post(self, params: dict[str, str], year: str, month: str, day: str, slug: str) -> sites.Response | None:
        posts = self.wp.posts
        index = self._position.get(f"/{year}/{month}/{day}/{slug}/")
        if index is None:
            return None
        post = posts[index]
        # Related posts: the nearest in time sharing a category (Jetpack's are similar in spirit).
        near = posts[max(0, index - 40) : index] + posts[index + 1 : index + 41]
        related = [p for p in near if p is not post and set(p.categories) & set(post.categories)][:3]
        response = self.themed(
            "post.html",
            post.title,
            post=post,
            newer=posts[index - 1] if index > 0 else None,
            older=posts[index + 1] if index + 1 < len(posts) else None,
            related=related,
            appended="",
        )
        response.headers["Link"] = f"<{self.base}/?p={post.id}>; rel=shortlink"
        return response

    def api_list(self, params: dict[str, str], kind: str) -> sites.Response:
        if kind != "posts":
            return super().api_list(params, kind)
        posts = self.wp.posts
        per_page = min(max(int(params.get("per_page", 10)), 1), 100)
        number = sites.page_number(params.get("page"))
        pages = max(1, math.ceil(len(posts) / per_page))
        fields = [f for f in params.get("_fields", "").split(",") if f]
        items = []
        for post in posts[(number - 1) * per_page : number * per_page]:
            record = {"link": self.base + post.path} if fields == ["link"] else self.api_record(post)
            items.append({k: v for k, v in record.items() if k in fields} if fields else record)
        response = self.json(items)
        response.headers |= {"X-WP-Total": str(len(posts)), "X-WP-TotalPages": str(pages)}
        return response


def site_targets(site: GeneratedWordPress) -> tuple[list[str], list[str]]:
    """(every HTML page a link-following crawler finds, the other targets WordPress serves)."""
    wp = site.wp

    def paged(path: str, count: int) -> list[str]:
        return [path] + [f"{path}page/{k}/" for k in range(2, math.ceil(count / PER_PAGE) + 1)]

    html = paged("/", len(wp.posts))
    html += [p.path for p in wp.posts]
    html += [p.path for p in wp.pages]
    for term in wp.categories:
        count = sum(term in p.categories for p in wp.posts)
        html += paged(f"/category/{term.slug}/", count) if count else []
    for term in wp.tags:
        count = sum(term in p.tags for p in wp.posts)
        html += paged(f"/tag/{term.slug}/", count) if count else []
    for who in wp.authors:
        count = sum(p.author == who for p in wp.posts)
        html += paged(f"/author/{who.slug}/", count) if count else []
    months = Counter(f"/{p.published:%Y/%m}/" for p in wp.posts)
    for path, count in months.items():
        html += paged(path, count)
    api_pages = math.ceil(len(wp.posts) / 100)
    other = ["/robots.txt", "/feed/", "/wp-sitemap.xml", "/wp-json/"]
    other += [f"/wp-sitemap-{n}-1.xml" for n in ("posts-post", "posts-page", "taxonomies-category")]
    other += [f"/wp-sitemap-{n}-1.xml" for n in ("taxonomies-post_tag", "users")]
    other += ["/wp-json/wp/v2/posts?per_page=100&_fields=link"]
    other += [f"/wp-json/wp/v2/posts?per_page=100&_fields=link&page={k}" for k in range(2, api_pages + 1)]
    return html, other


class Page(NamedTuple):
    """One answer of the site; pickled as a plain tuple, so the cache loads whoever made it."""

    status: int
    content_type: str
    headers: dict[str, str]
    body: bytes


def generate(pages: int, seed: int, cache: Path = CACHE, quiet: bool = False) -> Path:
    """The site's pages in the cache (made if missing); returns the cache file."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"site-v{VERSION}-p{pages}-s{seed}.pickle"
    if path.exists():
        return path
    started = time.perf_counter()
    site = GeneratedWordPress(build_wordpress(pages, seed))
    html, other = site_targets(site)
    served: dict[str, tuple[int, str, dict[str, str], bytes]] = {}
    for target in html + other:
        response = site.serve(target)
        if response.status != 200:
            raise RuntimeError(f"bench.sitegen: {target} answered {response.status}")
        headers = dict(response.headers)
        headers["ETag"] = '"' + hashlib.sha1(response.body).hexdigest()[:20] + '"'
        served[target] = (response.status, response.content_type or "", headers, response.body)
    missing = site.not_found("/")
    manifest = {
        "version": VERSION,
        "pages": pages,
        "seed": seed,
        "html_pages": html,
        "articles": [p.path for p in site.wp.posts],
        "russian_articles": sum(is_russian(p.title + " ".join(c.block_texts(p.blocks))) for p in site.wp.posts),
        "words": sum(len(t.split()) for p in site.wp.posts for t in c.block_texts(p.blocks)),
        "other_targets": other,
        "html_bytes": sum(len(served[t][3]) for t in html),
    }
    temporary = path.with_suffix(".tmp")
    with open(temporary, "wb") as f:
        pickle.dump({"manifest": manifest, "pages": served, "not_found": missing.body}, f, protocol=5)
    temporary.replace(path)
    if not quiet:
        print(
            f"generated {len(html)} pages ({len(manifest['articles'])} posts) in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
    return path


def manifest(path: Path) -> dict[str, Any]:
    with open(path, "rb") as f:
        return pickle.load(f)["manifest"]  # type: ignore[no-any-return]


# --- serving ----------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    pages: dict[str, Page]
    not_found: bytes
    articles: frozenset[str]
    stats: Counter[str]
    lock: threading.Lock


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        server = self.server
        if self.path.startswith("/__bench__/"):
            with server.lock:
                body = json.dumps(dict(server.stats)).encode()
                if self.path == "/__bench__/reset":
                    server.stats.clear()
            self._send(200, "application/json", {}, body)
            return
        page = server.pages.get(self.path)
        with server.lock:
            server.stats["requests"] += 1
            if page is None:
                server.stats["not_found"] += 1
            elif self.path in server.articles:
                server.stats["articles"] += 1
            else:
                server.stats["other"] += 1
        if page is None:
            self._send(404, "text/html; charset=UTF-8", {}, server.not_found)
        else:
            self._send(page.status, page.content_type, page.headers, page.body)

    def _send(self, status: int, content_type: str, headers: dict[str, str], body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            # Head and body in one write: written apart, Nagle's algorithm holds the body back 40 ms.
            self._headers_buffer.append(b"\r\n")
            self._headers_buffer.append(body)
            self.flush_headers()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def version_string(self) -> str:
        return "nginx/1.24.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(path: Path, port: int = 0) -> None:
    """Serve the cached site on 127.0.0.1 until killed; prints {"base": ...} once listening."""
    with open(path, "rb") as f:
        data = pickle.load(f)
    server = _Server(("127.0.0.1", port), _Handler)
    base = f"http://127.0.0.1:{server.server_port}"
    placeholder, address = PLACEHOLDER.encode(), base.encode()
    server.pages = {
        target: Page(
            status,
            content_type,
            {k: v.replace(PLACEHOLDER, base) for k, v in headers.items()},
            body.replace(placeholder, address),
        )
        for target, (status, content_type, headers, body) in data["pages"].items()
    }
    server.not_found = data["not_found"].replace(placeholder, address)
    server.articles = frozenset(data["manifest"]["articles"])
    server.stats = Counter()
    server.lock = threading.Lock()
    print(json.dumps({"base": base}), flush=True)
    server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000, help="HTML pages of the site (default 2000)")
    parser.add_argument("--seed", type=int, default=13, help="the generator's seed (default 13)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    parser.add_argument("--cache", type=Path, default=CACHE, help=f"where the pages are cached (default {CACHE})")
    parser.add_argument("--generate-only", action="store_true", help="make the cached pages and exit")
    args = parser.parse_args(argv)
    path = generate(args.pages, args.seed, args.cache)
    if args.generate_only:
        print(json.dumps({"cache": str(path), **{k: v for k, v in manifest(path).items() if not isinstance(v, list)}}))
        return
    serve(path, args.port)


if __name__ == "__main__":
    main()
