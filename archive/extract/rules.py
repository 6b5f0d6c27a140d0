"""The generic rules that tell an article from everything else a site serves.

Site readers (one per kind) refine these; what is here must hold for an unknown blog or news site.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from samizdat.archive.extract.page import Page, has_class

# Paths of listings on most platforms: searches, feeds, label/category/tag/author archives, pagination,
# date archives. Matched against the path (and query) of the fetched URL.
LISTING_PATH = re.compile(
    r"""(^/$|^/index\.(html?|php)$
        |/search(/|$)|/feeds?(/|$)|/label/|/category/|/categories/|/tags?/|/topics?/|/author/
        |/page/\d+/?$|/comments/feed|_archive\.html$|/archives?/?$
        |^/\d{4}(/\d{1,2}){0,2}/?$)""",
    re.VERBOSE | re.IGNORECASE,
)
LISTING_QUERY = re.compile(r"(^|&)(s|q|paged|cat|tag|author|m|updated-max|start-index)=", re.IGNORECASE)

# Containers of one entry each: two or more on a page make it a listing.
ENTRY_XPATH = (
    f".//article[not(ancestor::article)] | .//*[{has_class('hentry')}][not(self::article)] | .//*[@itemprop='blogPost']"
)

MIN_ARTICLE_CHARS = 250

# English month names, as sites print them and as samizdat shows them.
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
# Other spellings sites use: English abbreviations, Russian genitive ("5 марта") and nominative forms.
_OTHER_SPELLINGS = (
    ("jan", "января", "январь"),
    ("feb", "февраля", "февраль"),
    ("mar", "марта", "март"),
    ("apr", "апреля", "апрель"),
    ("мая", "май"),
    ("jun", "июня", "июнь"),
    ("jul", "июля", "июль"),
    ("aug", "августа", "август"),
    ("sep", "sept", "сентября", "сентябрь"),
    ("oct", "октября", "октябрь"),
    ("nov", "ноября", "ноябрь"),
    ("dec", "декабря", "декабрь"),
)
MONTHS = {
    name: number
    for number, (english, others) in enumerate(zip(MONTH_NAMES, _OTHER_SPELLINGS, strict=True), start=1)
    for name in (english.lower(), *others)
}
_MONTH = "(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH}\s*,?\s+(\d{{4}})\b", re.IGNORECASE)
_MONTH_DAY_YEAR = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.IGNORECASE)
_MONTH_YEAR = re.compile(rf"\b{_MONTH}\s+(\d{{4}})\b", re.IGNORECASE)
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")


def parse_human_date(text: str) -> str | None:
    """A date as sites print it: "Tuesday, 5 March 2024", "March 5, 2024", "2024-03-05", or an issue's
    "March 2024" (the first of the month). Returns YYYY-MM-DD or None."""
    for pattern, order in ((_ISO, "ymd"), (_DAY_MONTH_YEAR, "dmy"), (_MONTH_DAY_YEAR, "mdy"), (_MONTH_YEAR, "my")):
        match = pattern.search(text)
        if not match:
            continue
        parts = dict(zip(order, match.groups(), strict=True))
        month = int(parts["m"]) if parts["m"].isdigit() else MONTHS[parts["m"].lower().rstrip(".")]
        day = int(parts.get("d", 1))
        year = int(parts["y"])
        if 1 <= month <= 12 and 1 <= day <= 31:
            return f"{year:04d}-{month:02d}-{day:02d}"
    return None


def listing_reason(page: Page) -> str | None:
    """Why this page is a listing rather than an article, or None."""
    parts = urlsplit(page.url)
    if LISTING_PATH.search(parts.path):
        return f"listing path {parts.path}"
    if parts.query and LISTING_QUERY.search(parts.query):
        return f"listing query ?{parts.query}"
    entries = {id(el) for el in page.tree.xpath(ENTRY_XPATH)}
    if len(entries) >= 2:
        return f"{len(entries)} entries on one page"
    children = _child_links(page, parts.path)
    if children >= 3:
        return f"index of {children} pages below {parts.path}"
    return None


def _child_links(page: Page, path: str) -> int:
    """Links to distinct pages below this one: an issue index, a section front, a month archive."""
    if not (path.endswith("/") or re.search(r"/index\.(html?|php)$", path)):
        return 0
    base = path.rsplit("/", 1)[0] + "/"
    host = urlsplit(page.url).netloc
    found = set()
    for url in page.links():
        parts = urlsplit(url)
        below = parts.netloc == host and parts.path.startswith(base) and len(parts.path) > len(base)
        if below and not re.search(r"/index\.(html?|php)$", parts.path):
            found.add(parts.path)
    return len(found)


# -- the generic decision: evidence weighed, not one rule ---------------------------------------------------

# schema.org types that say "this page is one article" (JSON-LD @type or microdata itemtype).
ARTICLE_TYPES = {
    "article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle",
    "backgroundnewsarticle", "reviewnewsarticle", "techarticle", "scholarlyarticle", "report", "liveblogposting",
    "socialmediaposting", "discussionforumposting", "posting", "review", "recipe", "howto",
}  # fmt: skip
LISTING_TYPES = {"collectionpage", "itemlist", "searchresultspage", "blog", "profilepage"}
# Where the page's own chrome lives: its paragraphs are not the article's.
CHROME = "ancestor::nav or ancestor::footer or ancestor::aside or ancestor::header[not(ancestor::article)]"
# Paragraphs, and the blocks some CMSs write without them: a div whose own text is a paragraph's (Drupal).
PARAGRAPH_XPATH = (
    f"(.//body//p | .//body//pre | .//body//div[string-length(normalize-space(text())) >= 100])"
    f"[not({CHROME})][not(ancestor::a)]"
)
# An article's address: a slug of three or more words, a numeric id, or a dated path.
ARTICLE_URL = re.compile(r"/[^/]*\w+[-_]\w+[-_]\w+[^/]*/?$|/\d{5,}[^/]*/?$|\d{4,}\.s?html?$|/\d{4}/\d{1,2}/.+")
ARTICLE_THRESHOLD = 0.0  # a score above it is an article
PRIOR = 0.5  # an unknown page with text is, more often than not, an article (what the generic path assumed)


@dataclass
class Decision:
    """What a page is, and the evidence weighed for it: [(signal, weight)], article evidence positive."""

    page_type: str  # "article" | "listing" | "page"
    signals: list[tuple[str, float]] = field(default_factory=list)

    @property
    def score(self) -> float:
        return PRIOR + sum(weight for _, weight in self.signals)

    @property
    def reason(self) -> str:
        """`3 entries of like size (-3); og:type website (-1.5)`: the signals that decided, strongest first."""
        against = self.page_type != "article"
        kept = sorted((s for s in self.signals if (s[1] < 0) == against), key=lambda s: -abs(s[1]))
        return "; ".join(f"{name} ({weight:+g})" for name, weight in kept) if against else ""


def decide(page: Page) -> Decision:
    """Article, listing or page, by weighing what the page shows (see `signals`)."""
    signals = list(page_signals(page))
    score = PRIOR + sum(weight for _, weight in signals)
    if score > ARTICLE_THRESHOLD:
        return Decision("article", signals)
    listing = sum(weight for name, weight in signals if weight < 0 and not name.startswith(("og:type", "no ")))
    return Decision("listing" if listing <= -2 else "page", signals)


def page_signals(page: Page) -> list[tuple[str, float]]:
    """Each piece of evidence with its weight: positive says article, negative says listing or page."""
    out: list[tuple[str, float]] = []
    parts = urlsplit(page.url)
    path = unquote(parts.path)
    # The address.
    listing_path = LISTING_PATH.search(parts.path)
    if listing_path and _slug_below(path, listing_path.end()):
        # /topics/camping/best-gear-for-a-week: a listing's folder, but an article's address below it
        out.append((f"article slug below a listing path {parts.path}", -1.0))
    elif listing_path:
        out.append((f"listing path {parts.path}", -6.0))
    elif parts.query and LISTING_QUERY.search(parts.query):
        out.append((f"listing query ?{parts.query}", -6.0))
    elif ARTICLE_URL.search(path):
        out.append(("article-like URL", 1.0))
    children = _child_links(page, parts.path)
    if children >= 3:
        out.append((f"index of {children} pages below {parts.path}", -2.5))
    # Structured data: what the page says it is.
    types = structured_types(page)
    if types & ARTICLE_TYPES:
        out.append((f"schema.org {sorted(types & ARTICLE_TYPES)[0]}", 3.0))
    elif types & LISTING_TYPES:
        out.append((f"schema.org {sorted(types & LISTING_TYPES)[0]}", -2.0))
    og_type = (page.meta("og:type") or "").lower()
    if og_type == "article":
        out.append(("og:type article", 2.0))
    elif og_type == "website":  # what most engines say of their static pages, and some of their articles
        out.append(("og:type website", -1.5))
    elif og_type:
        out.append((f"og:type {og_type}", -0.5 if og_type.startswith(("profile", "book", "music", "video")) else 0.0))
    if page.meta("article:published_time", "datePublished", "date", "dc.date", "DC.date.issued"):
        out.append(("dated (published time)", 1.0))
    # The entries: one main article among teaser cards, or many like-sized entries.
    paragraphs = _paragraphs(page)
    entries = _entries(page)
    cards = _teasers(paragraphs, entries)
    if len(entries) >= 2 and len(cards) == len(entries) - 1:
        out.append((f"one main entry among {len(entries)} (the others teasers)", 0.5))
    elif len(entries) >= 2 and cards:  # cards beside an article that is not marked as one
        outside = _text_outside_entries(paragraphs)
        out.append((f"{len(entries)} small entries beside {outside} characters of text (teasers)", 0.0))
    elif len(entries) >= 2:
        out.append((f"{len(entries)} entries of like size", -3.0 if len(entries) >= 3 else -2.0))
    elif entries and entries[0][1] >= 1500:  # the page marks one entry, and it is long: the article
        out.append((f"one entry of {entries[0][1]} characters", 1.5))
    # The text: one dominant block of paragraphs, or text spread thin over many.
    block, share, _total = _dominant_block(paragraphs)
    region = _sectioned_region(page, paragraphs) if not (block >= 600 and share >= 0.4) else None
    if block >= 1500 and share >= 0.4:
        out.append((f"one text block of {block} characters ({share:.0%} of the text)", 2.0))
    elif block >= 600 and share >= 0.4:
        out.append((f"one text block of {block} characters ({share:.0%} of the text)", 1.0))
    elif region:
        out.append(region)
    elif block < 400:
        out.append((f"no text block over {block} characters", -1.0))
    linked = _linked_share(page)
    if linked >= 0.6:
        out.append((f"{linked:.0%} of the text is links", -1.5))
    return out


_LONG_SLUG = re.compile(r"[^/]*\w+[-_]\w+[-_]\w+[-_]\w+[^/]*")


def _slug_below(path: str, end: int) -> bool:
    """Whether the path goes on, two folders or more after a listing keyword, to an article-like slug that
    is a file rather than a folder (`/category/news/local-news-and-views/` is a nested category)."""
    rest = [segment for segment in path[end:].split("/") if segment]
    return len(rest) >= 2 and not path.endswith("/") and bool(_LONG_SLUG.fullmatch(rest[-1]))


def structured_types(page: Page) -> set[str]:
    """schema.org types the page states of itself: JSON-LD @type (top level and @graph) and microdata."""
    found: set[str] = set()
    for script in page.tree.xpath(".//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict):
                for node in [item, *(n for n in item.get("@graph", []) if isinstance(n, dict))]:
                    kinds = node.get("@type", [])
                    for kind in kinds if isinstance(kinds, list) else [kinds]:
                        if isinstance(kind, str):
                            found.add(kind.rsplit("/", 1)[-1].lower())
    for itemtype in page.tree.xpath(".//*[@itemtype][not(ancestor::*[@itemtype])]/@itemtype"):
        found |= {t.rstrip("/").rsplit("/", 1)[-1].lower() for t in str(itemtype).split()}
    return found


def _entries(page: Page) -> list[tuple[Any, int]]:
    """Each entry-like element on the page, with the length of its text."""
    seen: dict[int, Any] = {id(el): el for el in page.tree.xpath(ENTRY_XPATH) if not _in_comments(el)}
    return [(el, len(" ".join(el.text_content().split()))) for el in seen.values()]


def teasers(page: Page) -> list[Any]:
    """The entry-like elements that are cards beside the article, not the article (see `_teasers`): the
    generic text leaves them out."""
    return _teasers(_paragraphs(page), _entries(page))


def _teasers(paragraphs: list[tuple[Any, int]], entries: list[tuple[Any, int]]) -> list[Any]:
    """Of two or more entries: the others, when one is long and twice the next (the article marked as an
    entry among cards); all, when they are small beside paragraphs outside them (an article not marked as
    an entry, with cards); none when they are alike (a listing)."""
    if len(entries) < 2:
        return []
    ordered = sorted(entries, key=lambda entry: -entry[1])
    if ordered[0][1] >= 800 and ordered[0][1] >= 2 * ordered[1][1]:
        return [el for el, _ in ordered[1:]]
    outside = _text_outside_entries(paragraphs)
    if outside >= 1500 and outside >= 3 * ordered[0][1]:
        return [el for el, _ in ordered]
    return []


def _paragraphs(page: Page) -> list[tuple[Any, int]]:
    """The page's paragraphs outside its chrome, of 20 characters or more, with their lengths: what every
    measure of the text below counts."""
    measured = ((p, len(" ".join(p.text_content().split()))) for p in page.tree.xpath(PARAGRAPH_XPATH))
    return [(p, length) for p, length in measured if length >= 20]


def _text_outside_entries(paragraphs: list[tuple[Any, int]]) -> int:
    """Characters of paragraph text outside every entry-like element."""
    return sum(length for p, length in paragraphs if not p.xpath(_IN_ENTRY))


_IN_ENTRY = f"ancestor::article or ancestor::*[{has_class('hentry')}]"
_LINKED_HEADING = ".//*[self::h1 or self::h2 or self::h3 or self::h4][.//a or ancestor::a]"


def _sectioned_region(page: Page, paragraphs: list[tuple[Any, int]]) -> tuple[str, float] | None:
    """One region holding most of the page's paragraphs, in sections of several paragraphs under headings
    that are not links (or of long paragraphs): a long article whose editor wraps each section in an element
    of its own, which `_dominant_block` sees as many small blocks. A listing's region is entries, or cards
    of a short paragraph each, often under a linked heading."""
    held: dict[Any, list[int]] = {}  # element -> [characters, paragraphs] of the paragraphs below it
    total = 0
    for p, length in paragraphs:
        total += length
        for ancestor in p.iterancestors():
            figures = held.setdefault(ancestor, [0, 0])
            figures[0] += length
            figures[1] += 1
    body = page.tree.find(".//body")
    if body is None or total < 2500:
        return None
    region = body
    while True:  # the deepest element still holding 60% of the text
        inner = next((c for c in region if held.get(c, [0])[0] >= 0.6 * total), None)
        if inner is None:
            break
        region = inner
    chars, count = held.get(region, [0, 0])
    sections = [c for c in region if c in held or c.tag in ("p", "pre")]
    if chars < 2500 or count < 8 or not sections:
        return None
    carded = sum(1 for c in sections if c.tag not in ("p", "pre") and c.xpath(_LINKED_HEADING))
    entries = sum(1 for c in sections if c.xpath(f"self::article or self::*[{has_class('hentry')}]"))
    if carded >= max(3, len(sections) / 3) or entries >= 2:
        return None
    if count / len(sections) < 1.5 and chars / len(sections) < 400:  # a teaser each
        return None
    return (f"one region of {chars} characters in {len(sections)} sections ({chars / total:.0%} of the text)", 2.0)


def _in_comments(el: Any) -> bool:
    """Readers' comments are marked up as entries by many themes: they are not teasers of other pages."""
    return any(
        "comment" in (a.get("class") or "").lower() or "comment" in (a.get("id") or "").lower()
        for a in (el, *el.iterancestors())
    )


def _dominant_block(paragraphs: list[tuple[Any, int]]) -> tuple[int, float, int]:
    """(characters of the element holding the most paragraph text, its share of all paragraph text, total)."""
    by_parent: dict[Any, int] = {}
    total = 0
    for p, length in paragraphs:
        total += length
        parent = p.getparent()
        if parent is None:
            continue
        by_parent[parent] = by_parent.get(parent, 0) + length
        # Some editors wrap each paragraph in a div of its own: then the block is the grandparent.
        grandparent = parent.getparent()
        if grandparent is not None and len(parent) == 1 and parent.tag not in ("article", "li", "td"):
            by_parent[grandparent] = by_parent.get(grandparent, 0) + length
    best = max(by_parent.values(), default=0)
    return best, (best / total if total else 0.0), total


def _linked_share(page: Page) -> float:
    """The share of the body's text (scripts and styles aside) inside links. One walk over the tree: an
    XPath over `//a//text()` is quadratic on a page of 50,000 links."""
    body = page.tree.find(".//body")
    if body is None:
        return 0.0
    text = linked = 0
    for el in body.iter():
        if not isinstance(el.tag, str) or el.tag in ("script", "style"):
            continue
        if el.tag == "a":
            linked += sum(len(piece.strip()) for piece in el.itertext())
        text += len((el.text or "").strip())
        parent = el.getparent()
        if el is not body and parent is not None and parent.tag not in ("script", "style"):
            text += len((el.tail or "").strip())
    return min(1.0, linked / text) if text else 0.0
