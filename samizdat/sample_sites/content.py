"""The sample sites' content: data/*.toml loaded into small models.

sites.py renders pages from these models and truth.py derives the expected test results from them,
so what is served and what the tests expect cannot drift apart.

Article bodies are lists of strings in the data files. A prefix marks what a string is:
"## " a subheading, "- " a list item (consecutive items make one list), "> " a blockquote,
"!image CAPTION" the huge inline picture with its caption (the caption is body text). An inline
table `{ text = "...", raw = "..." }` is a paragraph followed by live markup that is not text (the
XSS post's payload). Anything else is a paragraph.
"""

from __future__ import annotations

import hashlib
import random
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).with_name("data")

# Own name tables: strftime's %A/%B follow the process locale, and the sites must not.
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


# --- dates ---------------------------------------------------------------------------------------


def fixed_zone(offset: str) -> timezone:
    """ "+06:00" -> a fixed-offset zone (the sample sites have no daylight saving)."""
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = offset.lstrip("+-").split(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))


def local_datetime(day: str, clock: str, zone: timezone) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=zone)


def long_date(d: date) -> str:
    """5 March 2024"""
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def weekday_date(d: date) -> str:
    """Tuesday, 5 March 2024 (Blogger's date header)"""
    return f"{WEEKDAYS[d.weekday()]}, {long_date(d)}"


def month_year(d: date) -> str:
    """March 2024"""
    return f"{MONTHS[d.month - 1]} {d.year}"


def clock12(dt: datetime, lower: bool = False) -> str:
    """2:40 AM (Blogger) or 2:40 am (WordPress)"""
    suffix = "AM" if dt.hour < 12 else "PM"
    text = f"{dt.hour % 12 or 12}:{dt.minute:02d} {suffix}"
    return text.lower() if lower else text


def iso(dt: datetime, millis: bool = False) -> str:
    """2024-03-05T02:40:00+06:00, or with .000 as Blogger's feeds write it."""
    text = dt.isoformat(timespec="milliseconds" if millis else "seconds")
    return text.replace("+00:00", "Z") if millis and dt.utcoffset() == timedelta(0) else text


def rfc822(dt: datetime) -> str:
    """RSS pubDate, in UTC as Blogger and WordPress write it: Mon, 04 Mar 2024 20:40:00 +0000"""
    return format_datetime(dt.astimezone(UTC))


def rfc822_local(dt: datetime) -> str:
    """RSS pubDate in the site's own zone, as Hugo writes it: Wed, 14 Jun 2023 18:20:00 +0200"""
    return format_datetime(dt)


def utc_iso(dt: datetime) -> str:
    """2024-03-04T21:17:00Z, as sitemaps give lastmod"""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def http_date(dt: datetime) -> str:
    return format_datetime(dt.astimezone(UTC), usegmt=True)


def stable_number(*parts: object, digits: int = 19) -> int:
    """A large id that is the same on every run (Blogger's blog, post and comment ids look like this)."""
    h = int(hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest(), 16)
    return 10 ** (digits - 1) + h % (9 * 10 ** (digits - 1))


# --- bodies and sentences ------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    kind: str  # "p", "h", "ul", "quote", "image"
    text: str = ""
    items: tuple[str, ...] = ()
    raw: str = ""  # live markup inside the paragraph, after the text; never part of the text


def parse_blocks(entries: list[Any]) -> tuple[Block, ...]:
    blocks: list[Block] = []
    for entry in entries:
        if isinstance(entry, dict):
            blocks.append(Block("p", entry["text"], raw=entry.get("raw", "")))
        elif entry.startswith("!image"):
            blocks.append(Block("image", entry[len("!image") :].strip()))
        elif entry.startswith("## "):
            blocks.append(Block("h", entry[3:]))
        elif entry.startswith("> "):
            blocks.append(Block("quote", entry[2:]))
        elif entry.startswith("- "):
            if blocks and blocks[-1].kind == "ul":
                blocks[-1] = Block("ul", items=(*blocks[-1].items, entry[2:]))
            else:
                blocks.append(Block("ul", items=(entry[2:],)))
        else:
            blocks.append(Block("p", entry))
    return tuple(blocks)


def block_texts(blocks: tuple[Block, ...]) -> list[str]:
    """The readable text of a body, one string per paragraph, heading, quote, list item or caption."""
    out: list[str] = []
    for b in blocks:
        out.extend(b.items if b.kind == "ul" else [b.text] if b.text else [])
    return out


def first_words(blocks: tuple[Block, ...], count: int) -> str:
    """The first `count` words of the paragraphs (snippets, excerpts); '…' marks a cut."""
    words = " ".join(b.text for b in blocks if b.kind == "p").split()
    return " ".join(words[:count]) + ("…" if len(words) > count else "")


# A sentence ends at . ! ? (plus closing quotes) before whitespace and a capital or opening quote.
# The data files avoid abbreviations, so this is unambiguous for them.
_SENTENCE_END = re.compile(r"[.!?…]+[\"”»’)]*(?=\s+[\"“«‘(]?[A-ZА-ЯЁ0-9])")


def split_sentences(text: str) -> list[str]:
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        out.append(text[start : m.end()].strip())
        start = m.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def first_and_last_sentence(blocks: tuple[Block, ...]) -> tuple[str, str]:
    """First sentence of the first paragraph, last sentence of the last paragraph."""
    paragraphs = [b.text for b in blocks if b.kind == "p"]
    return split_sentences(paragraphs[0])[0], split_sentences(paragraphs[-1])[-1]


@dataclass
class Comment:
    id: int
    author: str
    text: str
    when: datetime


def make_comments(entries: list[dict[str, str]], after: datetime, ids: list[int]) -> list[Comment]:
    """Comments arrive a few hours apart after the post; their times need no data of their own."""
    return [
        Comment(ids[i], e["by"], e["text"], after + timedelta(hours=4 * i + 3, minutes=17 * i + 22))
        for i, e in enumerate(entries)
    ]


def _read(name: str) -> dict[str, Any]:
    with open(DATA_DIR / f"{name}.toml", "rb") as f:
        return tomllib.load(f)


# --- Blogger -------------------------------------------------------------------------------------


@dataclass
class BlogPost:
    slug: str
    title: str
    author: str
    labels: list[str]
    published: datetime  # site-local
    blocks: tuple[Block, ...]
    comments: list[Comment]
    post_id: int
    fault: str | None = None  # "error-once", "slow", "huge", "xss"
    old_style: bool = False  # written in the old editor: text and <br />, no <p>
    not_text: list[str] = field(default_factory=list)  # strings in the body's live markup, never text

    @property
    def path(self) -> str:
        return f"/{self.published:%Y/%m}/{self.slug}.html"

    @property
    def updated(self) -> datetime:
        return self.published + timedelta(minutes=37)


@dataclass
class Blog:
    meta: dict[str, Any]
    about: dict[str, Any]
    posts: list[BlogPost]  # newest first
    labels: list[str]
    zone: timezone


@cache
def load_blog() -> Blog:
    data = _read("blogger")
    meta = data["blog"]
    zone = fixed_zone(meta["timezone"])
    posts = []
    for p in data["post"]:
        published = local_datetime(p["date"], p["time"], zone)
        ids = [stable_number(p["slug"], "comment", i) for i in range(len(p.get("comments", [])))]
        posts.append(
            BlogPost(
                slug=p["slug"],
                title=p["title"],
                author=p["author"],
                labels=p["labels"],
                published=published,
                blocks=parse_blocks(p["paragraphs"]),
                comments=make_comments(p.get("comments", []), published, ids),
                post_id=stable_number(meta["blog_id"], p["slug"]),
                fault=p.get("fault"),
                old_style=p.get("old_style", False),
                not_text=p.get("not_text", []),
            )
        )
    posts.sort(key=lambda p: p.published, reverse=True)
    labels = sorted({label for p in posts for label in p.labels})
    about = dict(data["about"], blocks=parse_blocks(data["about"]["paragraphs"]))
    return Blog(meta, about, posts, labels, zone)


# --- WordPress -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    id: int
    slug: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class Author:
    id: int
    slug: str
    name: str
    bio: str


@dataclass
class WpPost:
    id: int
    slug: str
    title: str
    published: datetime  # site-local
    modified: datetime
    author: Author
    categories: list[Term]
    tags: list[Term]
    blocks: tuple[Block, ...]
    comments: list[Comment]

    @property
    def path(self) -> str:
        return f"/{self.published:%Y/%m/%d}/{self.slug}/"

    @property
    def classes(self) -> str:
        """The post_class() list WordPress puts on <article>."""
        terms = [f"category-{c.slug}" for c in self.categories] + [f"tag-{t.slug}" for t in self.tags]
        return " ".join([f"post-{self.id}", "post", "type-post", "status-publish", "format-standard", "hentry", *terms])


@dataclass
class WpPage:
    id: int
    slug: str
    title: str
    blocks: tuple[Block, ...]
    form: str | None = None

    @property
    def path(self) -> str:
        return f"/{self.slug}/"


@dataclass(frozen=True)
class Event:
    day: date
    clock: str
    title: str
    venue: str


@dataclass
class WordPress:
    meta: dict[str, Any]
    posts: list[WpPost]  # newest first
    pages: list[WpPage]
    categories: list[Term]
    tags: list[Term]
    authors: list[Author]
    events: list[Event]
    recurring: list[dict[str, Any]]
    zone: timezone

    def events_in(self, year: int, month: int) -> list[Event]:
        """The month's dated events plus the recurring ones (first Tuesday, third Saturday...),
        which is what makes every month of the endless calendar look alive."""
        found = [e for e in self.events if (e.day.year, e.day.month) == (year, month)]
        for r in self.recurring:
            days = [date(year, month, d) for d in range(1, 32) if _valid(year, month, d)]
            matching = [d for d in days if d.weekday() == WEEKDAYS.index(r["weekday"])]
            found.append(Event(matching[r["nth"] - 1], r["time"], r["title"], r["venue"]))
        return sorted(found, key=lambda e: (e.day, e.clock))


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def texturize(text: str) -> str:
    """The part of WordPress's wptexturize the sample posts need: curly apostrophes and quotes."""
    text = re.sub(r"(?<=\w)'(?=\w)|(?<=s)'(?=\s|$)", "’", text)
    return re.sub(r'"([^"]*)"', r"“\1”", text)


def _texturized(entries: list[Any]) -> list[Any]:
    return [texturize(e) if isinstance(e, str) else e for e in entries]


@cache
def load_live_diary() -> dict[str, Any]:
    """The WordPress site's page built by JavaScript (data/live-diary.toml): path, title, author,
    published (ISO date), published_label and paragraphs."""
    return _read("live-diary")


@cache
def load_wordpress() -> WordPress:
    data = _read("wordpress")
    meta = data["site"]
    zone = fixed_zone(meta["timezone"])
    categories = {c["slug"]: Term(**c) for c in data["category"]}
    tags = {t["slug"]: Term(**t) for t in data["tag"]}
    authors = {a["slug"]: Author(**a) for a in data["author"]}
    raw_posts = sorted(data["post"], key=lambda p: (p["date"], p["time"]))
    next_comment_id = 41  # WordPress numbers comments site-wide, oldest first
    posts = []
    for p in raw_posts:
        published = local_datetime(p["date"], p["time"], zone)
        entries = [dict(e, text=texturize(e["text"])) for e in p.get("comments", [])]
        ids = list(range(next_comment_id, next_comment_id + len(entries)))
        next_comment_id += len(entries) + 3  # gaps: spam and deleted comments
        modified = local_datetime(*p["modified"].split(), zone) if "modified" in p else published
        posts.append(
            WpPost(
                id=p["id"],
                slug=p["slug"],
                title=texturize(p["title"]),
                published=published,
                modified=modified,
                author=authors[p["author"]],
                categories=[categories[s] for s in p["categories"]],
                tags=[tags[s] for s in p.get("tags", [])],
                blocks=parse_blocks(_texturized(p["paragraphs"])),
                comments=make_comments(entries, published, ids),
            )
        )
    posts.reverse()
    pages = [
        WpPage(pg["id"], pg["slug"], pg["title"], parse_blocks(_texturized(pg["paragraphs"])), pg.get("form"))
        for pg in data["page"]
    ]
    events = [Event(date.fromisoformat(e["date"]), e["time"], e["title"], e["venue"]) for e in data["event"]]
    return WordPress(
        meta,
        posts,
        pages,
        list(categories.values()),
        list(tags.values()),
        list(authors.values()),
        events,
        data["recurring_event"],
        zone,
    )


# --- the magazine --------------------------------------------------------------------------------


@dataclass
class MagArticle:
    issue: int
    slug: str
    title: str
    standfirst: str
    author: str | None
    author_style: str  # how the hand-written page sets the byline: "italic", "class", "bold", "dash"
    language: str
    blocks: tuple[Block, ...]
    # The Russian pages were saved by old editors in old encodings, declared in different places:
    # charset is the bytes' encoding, declared says where it is named ("both": the Content-Type
    # header and a <meta> tag; "meta" or "header": only there; "none": nowhere, detect it).
    charset: str = "utf-8"
    declared: str = "both"

    @property
    def path(self) -> str:
        return f"/issues/{self.issue}/{self.slug}.html"


@dataclass
class Issue:
    number: int
    date: date
    page_updated: date
    cover: str
    articles: list[MagArticle] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"Red Lantern {self.number}"

    @property
    def path(self) -> str:
        return f"/issues/{self.number}/"

    @property
    def pdf_path(self) -> str:
        return f"/issues/{self.number}/red-lantern-{self.number}.pdf"


@dataclass
class Magazine:
    meta: dict[str, Any]
    issues: list[Issue]  # newest first; the missing issue is in meta, not here
    last_modified: datetime

    def issue(self, number: int) -> Issue | None:
        return next((i for i in self.issues if i.number == number), None)


@cache
def load_magazine() -> Magazine:
    data = _read("magazine")
    issues = []
    for raw in data["issue"]:
        issue = Issue(
            raw["number"], date.fromisoformat(raw["date"]), date.fromisoformat(raw["page_updated"]), raw["cover"]
        )
        for a in raw["article"]:
            issue.articles.append(
                MagArticle(
                    issue=issue.number,
                    slug=a["slug"],
                    title=a["title"],
                    standfirst=a["standfirst"],
                    author=a.get("author"),
                    author_style=a.get("author_style", "italic"),
                    language=a.get("language", "en"),
                    blocks=parse_blocks(a["paragraphs"]),
                    charset=a.get("charset", "utf-8"),
                    declared=a.get("declared", "both" if a.get("charset", "utf-8") == "utf-8" else "meta"),
                )
            )
        issues.append(issue)
    issues.sort(key=lambda i: i.number, reverse=True)
    last_modified = datetime.fromisoformat(data["magazine"]["last_modified"])
    return Magazine(data["magazine"], issues, last_modified)


# --- the Hugo blog -------------------------------------------------------------------------------


def urlize(name: str) -> str:
    """A tag name as Hugo puts it in a URL: "flood defence" -> "flood-defence"."""
    return re.sub(r"[^\w-]", "", name.strip().lower().replace(" ", "-"))


def anchorize(text: str) -> str:
    """The id Hugo's Markdown renderer gives a heading: "What we saw" -> "what-we-saw"."""
    return re.sub(r"[^\w -]", "", text.lower()).replace(" ", "-")


def whole_sentence_summary(blocks: tuple[Block, ...], words: int = 70) -> str:
    """Hugo's automatic summary: whole sentences of the body's text until `words` words are reached."""
    out: list[str] = []
    for sentence in split_sentences(" ".join(block_texts(blocks))):
        out.append(sentence)
        if len(" ".join(out).split()) >= words:
            break
    return " ".join(out)


@dataclass
class HugoPost:
    slug: str
    title: str
    author: str | None
    tags: list[str]
    published: datetime  # site-local
    lastmod: datetime
    blocks: tuple[Block, ...]
    og_type: str = "article"  # what its page says it is; some engines say "website" of every page
    cards: bool = False  # "Read next" shown as a strip of article cards with summaries

    @property
    def path(self) -> str:
        return f"/posts/{self.slug}/"

    @property
    def summary(self) -> str:
        return whole_sentence_summary(self.blocks)

    @property
    def reading_time(self) -> int:
        """Minutes, as Hugo's .ReadingTime counts them: 213 words a minute, rounded up."""
        return max(1, -(-len(" ".join(block_texts(self.blocks)).split()) // 213))


@dataclass
class HugoBlog:
    meta: dict[str, Any]
    about: dict[str, Any]
    drafts: dict[str, Any]
    posts: list[HugoPost]  # newest first
    tags: list[str]  # sorted names
    zone: timezone

    def tag_named(self, slug: str) -> str | None:
        return next((t for t in self.tags if urlize(t) == slug), None)

    def tagged(self, tag: str) -> list[HugoPost]:
        return [p for p in self.posts if tag in p.tags]

    def related(self, post: HugoPost, count: int = 3, posts: list[HugoPost] | None = None) -> list[HugoPost]:
        """The theme's "Read next": the posts sharing most tags with this one, newest first among equals;
        among `posts` (the published ones) when given."""
        others = [p for p in (self.posts if posts is None else posts) if p is not post]
        others.sort(key=lambda p: len(set(p.tags) & set(post.tags)), reverse=True)  # stable: newest first
        return others[:count]


@cache
def load_hugo() -> HugoBlog:
    data = _read("hugo")
    meta = data["site"]
    zone = fixed_zone(meta["timezone"])
    posts = []
    for p in data["post"]:
        published = local_datetime(p["date"], p["time"], zone)
        lastmod = local_datetime(*p["lastmod"].split(), zone) if "lastmod" in p else published
        posts.append(
            HugoPost(
                slug=p["slug"],
                title=p["title"],
                author=p.get("author"),
                tags=p["tags"],
                published=published,
                lastmod=lastmod,
                blocks=parse_blocks(_texturized(p["paragraphs"])),
                og_type=p.get("og_type", "article"),
                cards=p.get("cards", False),
            )
        )
    posts.sort(key=lambda p: p.published, reverse=True)
    tags = sorted({t for p in posts for t in p.tags})
    about = dict(data["about"], blocks=parse_blocks(_texturized(data["about"]["paragraphs"])))
    drafts = dict(data["drafts"], blocks=parse_blocks(_texturized(data["drafts"]["paragraphs"])))
    return HugoBlog(meta, about, drafts, posts, tags, zone)


# --- the campaign site ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignArticle:
    number: int  # 0 = the newest
    slug: str
    title: str
    topic: str
    author: str
    published: datetime  # UTC
    blocks: tuple[Block, ...]  # paragraphs only

    @property
    def path(self) -> str:
        return f"/news/{self.published:%Y/%m}/{self.slug}/"

    @property
    def teaser(self) -> str:
        """Two lines' worth of the opening paragraph, as the listing pages show it."""
        return first_words(self.blocks, 28)


@dataclass(frozen=True)
class Campaign:
    meta: dict[str, Any]
    articles: tuple[CampaignArticle, ...]  # newest first


def _campaign_slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower().replace("'", "")).strip("-")


@cache
def _campaign_stream(count: int) -> tuple[CampaignArticle, ...]:
    """The first `count` campaign articles. One seeded stream, article after article, so that the
    first n articles are the same whatever the total."""
    data = _read("campaign")
    meta, words, topics = data["site"], data["words"], data["topic"]
    general = data["general"]["sentences"]
    rng = random.Random(meta["seed"])
    newest = datetime.fromisoformat(meta["newest"])

    def fill(template: str) -> str:
        return template.format(
            place=rng.choice(words["places"]),
            name=rng.choice(words["names"]),
            month=rng.choice(MONTHS),
            weekday=rng.choice(WEEKDAYS),
            venue=rng.choice(words["venues"]),
            n=rng.randint(2, 9),
            big=rng.randint(40, 900),
            pct=rng.randint(2, 7),
            hour=f"{rng.randint(6, 8)}pm",
            day=rng.randint(1, 28),
        )

    out: list[CampaignArticle] = []
    seen: set[str] = set()
    when = newest
    for number in range(count):
        topic = rng.choice(topics)
        for _attempt in range(50):
            title = fill(rng.choice(words["kickers"]) + rng.choice(topic["headlines"]))
            if _campaign_slug(title) not in seen:
                break
        else:
            title = f"{title}, part {number}"  # beyond tens of thousands of articles
        seen.add(_campaign_slug(title))
        # Sentences of the article's topic come first, then the general ones, then other topics'.
        pool = rng.sample(topic["sentences"], len(topic["sentences"])) + rng.sample(general, len(general))
        others = [s for t in topics if t is not topic for s in t["sentences"]]
        pool += rng.sample(others, len(others))
        paragraphs_wanted = rng.randint(4, 8)
        words_wanted = rng.randint(330, 640)
        per_paragraph = words_wanted / paragraphs_wanted
        paragraphs: list[list[str]] = []
        for _ in range(paragraphs_wanted):
            sentences: list[str] = []
            while len(sentences) < 2 or len(" ".join(sentences).split()) < per_paragraph - 8:
                sentences.append(fill(pool.pop(0)))
            paragraphs.append(sentences)
        if number:
            when -= timedelta(hours=13) + timedelta(minutes=rng.randint(0, 8 * 60))
        out.append(
            CampaignArticle(
                number=number,
                slug=_campaign_slug(title),
                title=title,
                topic=topic["name"],
                author=rng.choice(words["authors"]),
                published=when,
                blocks=tuple(Block("p", " ".join(s)) for s in paragraphs),
            )
        )
    return tuple(out)


def load_campaign(articles: int = 400) -> Campaign:
    """The campaign site with its `articles` newest articles (newest first)."""
    return Campaign(_read("campaign")["site"], _campaign_stream(articles))


# --- the magazines as they are (clarion, quarry, lamplighter) -------------------------------------------

# How each is laid out (see data/<name>.toml): where an issue's index is and where its articles live.
ISSUE_LAYOUTS = ("clarion", "quarry", "lamplighter")


@dataclass
class IssueArticle:
    slug: str
    title: str
    author: str | None
    blocks: tuple[Block, ...]
    path: str  # its own page; for an article only its issue's contents page carries, that page
    trailer: str = ""  # what follows the author's name: "more-info", "links", "top" or nothing
    lead: bool = False  # its whole text is also on its issue's index page
    own_page: bool = True


@dataclass
class IssueOf:
    number: int
    label: str  # "Clarion Review 41"
    when: str  # the period as printed: "July/August 2012", "Spring 2013", "2011"
    date: date  # the first day of the period
    precision: str  # "month" | "season" | "year"
    path: str  # the issue's index or contents page (for the lamplighter, its one page)
    articles: list[IssueArticle] = field(default_factory=list)

    @property
    def heading(self) -> str:
        return f"{self.label} - {self.when}"


@dataclass
class IssueMagazine:
    name: str  # the layout: "clarion" | "quarry" | "lamplighter"
    meta: dict[str, Any]
    issues: list[IssueOf]  # newest first
    last_modified: datetime


@cache
def load_issue_magazine(name: str) -> IssueMagazine:
    if name not in ISSUE_LAYOUTS:
        raise ValueError(f"no magazine laid out as {name!r}")
    data = _read(name)
    issues = []
    for raw in data["issue"]:
        number = raw["number"]
        folder = raw.get("folder", str(number))
        path = {
            "clarion": f"/{folder}/index.html",
            "quarry": f"/issues/{folder}/contents.html",
            "lamplighter": f"/issues/{number}.html",
        }[name]
        issue = IssueOf(number, raw["label"], raw["when"], date.fromisoformat(raw["date"]), raw["precision"], path)
        for a in raw["article"]:
            own_page = a.get("own_page", True)
            article_path = {
                "clarion": f"/{folder}/{a['slug']}.html",
                "quarry": f"/issues/{folder}/{a.get('section', 'features')}/{a['slug']}.html" if own_page else path,
                "lamplighter": path,
            }[name]
            issue.articles.append(
                IssueArticle(
                    slug=a["slug"],
                    title=a["title"],
                    author=a.get("author"),
                    blocks=parse_blocks(a["paragraphs"]),
                    path=article_path,
                    trailer=a.get("trailer", ""),
                    lead=a.get("lead", False),
                    own_page=own_page,
                )
            )
        issues.append(issue)
    issues.sort(key=lambda i: i.date, reverse=True)
    return IssueMagazine(name, data["magazine"], issues, datetime.fromisoformat(data["magazine"]["last_modified"]))
