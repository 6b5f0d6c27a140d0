"""The generic reader, and the base of the site readers: trafilatura's text and metadata, helped by
markup most platforms share. A site reader overrides only what its platform shows better."""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import lxml.html
import trafilatura
from trafilatura.metadata import extract_metadata

from samizdat.archive.config import Source
from samizdat.archive.extract import rules
from samizdat.archive.extract.page import Page, has_class
from samizdat.archive.warc import Capture

# The article body on most platforms; when exactly one is present, the text comes from it alone.
BODY_XPATH = (
    ".//*[@itemprop='articleBody']",
    f".//*[{has_class('post-body')}]",
    f".//*[{has_class('entry-content')}]",
    f".//*[{has_class('article-content')}]",
    f".//*[{has_class('post-content')}]",
    f".//*[{has_class('article-body')}]",
)

# Boilerplate that trafilatura sometimes keeps: share blocks, related posts, sidebars, comments. Class
# names are matched whole (a body classed "no-sidebars" is not a sidebar), and never on the page itself.
_BOILERPLATE_CLASSES = (
    "sharedaddy", "sharing", "share-buttons", "social-share", "relatedposts", "related-posts", "read-next",
    "sidebar", "widget", "widget-area", "comments", "comment-respond",
)  # fmt: skip
TEASER = "data-samizdat-teaser"  # set on the cards `rules.teasers` finds beside a generic article
PRUNE_XPATH = [
    "//*[not(self::html or self::body or self::main)]"
    f"[{' or '.join(has_class(name) for name in _BOILERPLATE_CLASSES)} or @id='sidebar' or @id='secondary'"
    " or @id='comments']",
    "//nav | //footer[not(ancestor::article)] | //aside",
    f"//*[@{TEASER}]",
]

# Links that name the post's labels: rel=tag (Blogger labels, WordPress tags) and rel="category tag".
LABEL_XPATH = (
    ".//a[contains(concat(' ', normalize-space(@rel), ' '), ' tag ')]"
    # Blogger wraps its posts in a "widget Blog", so widgets as such are not excluded: sidebars are.
    "[not(ancestor::*[contains(@class, 'sidebar') or self::aside or @id='comments' or contains(@class, 'comments')])]"
)
# Tag lists of themes that do not mark them with rel=tag (Hugo, Jekyll, Ghost...). A footer inside the
# article holds its tags; the page's own footer, nav and sidebars hold tag clouds.
TAG_LIST_XPATH = (
    ".//*[self::ul or self::div or self::p or self::span]"
    "[contains(@class, 'tags') or contains(@class, 'post-tags') or contains(@class, 'tag-links')]"
    "[not(ancestor::*[contains(@class, 'sidebar') or self::aside or self::nav])]"
    "[not(ancestor::footer[not(ancestor::article)])]//a"
)
ISO_DATE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})")


@dataclass
class Reading:
    """One page being read: what every reader method gets."""

    page: Page
    capture: Capture
    source: Source
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)

    @cached_property
    def meta(self) -> dict[str, Any]:
        """trafilatura's metadata (dates by htmldate, never later than the capture); computed once, on demand."""
        found = extract_metadata(
            self.page.tree,
            default_url=self.page.url,
            date_config={
                "original_date": True,
                "extensive_search": True,
                "max_date": self.capture.fetched_at[:10] or None,
            },
        )
        return found.as_dict() if found else {}


class Reader:
    """How to read a page of a site of this kind."""

    kind = "generic"
    offers_facts = False  # whether some pages hold facts that other pages need (the magazine's issues)

    # -- what the page is ---------------------------------------------------------------------------

    def classify(self, page: Page) -> tuple[str, str]:
        """("article", "") or (another page type, the reason)."""
        decision = rules.decide(page)
        return decision.page_type, decision.reason

    def canonical_url(self, page: Page) -> str:
        return page.canonical_url()

    # -- facts one page holds for others ---------------------------------------------------------------

    def facts(self, page: Page) -> dict[str, dict[str, Any]]:
        return {}

    def needs(self, page: Page) -> str | None:
        return None

    # -- the article's parts ---------------------------------------------------------------------------

    def body(self, page: Page) -> Any:
        """The element holding the article body, or None to let trafilatura find it."""
        return single(page, BODY_XPATH)

    def clean_body(self, body: Any) -> None:
        """Remove what a platform puts inside its body element that is not the article."""

    def text(self, page: Page) -> str:
        body = self.body(page)
        if self.kind == "generic":
            for card in rules.teasers(page):  # related-story cards beside the article: pruned, never merged
                card.set(TEASER, "")
        ours = self._text_of(page, body)
        if self.kind != "generic":
            return without_title(page, ours)
        # Never a subset of trafilatura alone on the whole page: where our container or our cleanup lost
        # paragraphs it finds (an empty body element, a prune gone too far), its paragraphs join ours, in
        # its order, unless they lie in a block we prune on purpose (share, related, comments, sidebars).
        alone = trafilatura.extract(page.tree, url=page.url, include_comments=False, include_tables=True) or ""
        return without_title(page, merge(ours, paragraphs(alone), pruned_texts(page, alone)))

    def _text_of(self, page: Page, body: Any) -> str:
        if body is not None:
            body = copy.deepcopy(body)
            self.clean_body(body)
            leaf_divs_to_paragraphs(body)
            target = lxml.html.fromstring("<html><body></body></html>")
            target.find("body").append(body)
        else:
            target = page.tree
        doc = trafilatura.bare_extraction(
            target,
            url=page.url,
            include_comments=False,
            include_tables=True,
            favor_precision=body is None,
            prune_xpath=None if body is not None else PRUNE_XPATH,
            with_metadata=False,
        )
        text = getattr(doc, "text", None)  # a trafilatura Document (as_dict=False)
        return paragraphs(text or "")

    def title(self, r: Reading) -> str:
        return str(r.meta.get("title") or "").strip()

    def published(self, r: Reading) -> str | None:
        return r.meta.get("date") or None

    def date_precision(self, r: Reading) -> str | None:
        """How much of `published` the site gave: "day" (a post's date, htmldate's), "month", "season" or
        "year" (a magazine issue's period). Asked only of a dated article."""
        return "day"

    def author(self, r: Reading) -> str | None:
        return r.meta.get("author") or None

    def labels(self, r: Reading) -> list[str]:
        found = texts(r.page.tree.xpath(LABEL_XPATH)) or texts(r.page.tree.xpath(TAG_LIST_XPATH))
        return found or [*(r.meta.get("categories") or []), *(r.meta.get("tags") or [])]


# -- helpers shared by the readers -------------------------------------------------------------------------


def norm(text: str) -> str:
    """Text as compared between extractors: its words, casefolded, one space apart."""
    return " ".join(re.findall(r"\w+", text.casefold()))


def shingles(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def merge(ours: str, theirs: str, excluded: Sequence[str] = ()) -> str:
    """Our paragraphs, with each of theirs we lack inserted after the last paragraph both hold that precedes
    it in their order. A paragraph of theirs is held when our text has it (as a paragraph, a part of one, or
    most of its word triples, split or joined otherwise), and left out when it lies inside one of `excluded`
    (the texts, as `norm` gives them, of blocks removed on purpose)."""
    mine = [p for p in ours.split("\n\n") if p.strip()]
    keys = [f" {norm(p)} " for p in mine]
    whole = "\n".join(keys)
    triples = shingles(whole.split())
    after: dict[int, list[str]] = {}
    seen: Counter[str] = Counter()  # a paragraph they repeat (a caption) is held as often as they hold it
    anchor = -1  # the last of our paragraphs met in their order
    for paragraph in (p for p in theirs.split("\n\n") if p.strip()):
        key = norm(paragraph)
        if not key:
            continue
        seen[key] += 1
        held = [j for j, k in enumerate(keys) if f" {key} " in k]
        if held and seen[key] <= whole.count(f" {key} "):
            anchor = max(anchor, next((j for j in held if j >= anchor), held[-1]))
            continue
        # Word triples say "held" of a paragraph split or joined otherwise; a heading's few triples recur
        # in the text it heads ("Hike and Bike Trail"), so a short paragraph is held only as a whole.
        own = shingles(key.split()) if key.count(" ") >= 11 else set()
        share = len(own & triples) / len(own) if own else 0.0
        if not held and (f" {key} " in whole or share >= 0.8):
            continue
        if share >= 0.3:  # a run-on paragraph of theirs that holds ours and more: only the sentences we lack
            paragraph = " ".join(s for s in SENTENCE_END.split(paragraph) if not _held(s, triples))
            key = norm(paragraph)
            if len(key) < 20:
                continue
        if not any(f" {key} " in f" {block} " for block in excluded):
            after.setdefault(anchor, []).append(paragraph)
    if not after:
        return ours
    out = after.get(-1, [])
    for j, paragraph in enumerate(mine):
        out += [paragraph, *after.get(j, [])]
    return "\n\n".join(out)


SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=\W*[A-ZА-ЯЁ0-9])")


def _held(sentence: str, triples: set[tuple[str, ...]]) -> bool:
    own = shingles(norm(sentence).split())
    return bool(own) and len(own & triples) >= 0.5 * len(own)


def pruned_texts(page: Page, reference: str) -> list[str]:
    """The texts (as `norm` gives them) of the blocks PRUNE_XPATH removes on purpose. A block holding half
    of the reference's words or more is where the article lives (a theme's widget wrapping its posts)."""
    want = Counter(norm(reference).split())
    total = sum(want.values())
    out = []
    for el in page.tree.xpath(" | ".join(PRUNE_XPATH)):
        text = norm(" ".join(el.itertext()))  # a space between elements: "number 0</a></h3><p>A short"
        if text and (not total or sum((Counter(text.split()) & want).values()) < total / 2):
            out.append(text)
    return out


def without_title(page: Page, text: str) -> str:
    """The text without its heading: a first paragraph that is the page's <h1> is the title, kept in title."""
    first, _, rest = text.partition("\n\n")
    headings = {" ".join(h.text_content().split()).casefold() for h in page.tree.iterfind(".//h1")}
    return rest if rest and " ".join(first.split()).casefold() in headings else text


def paragraphs(text: str) -> str:
    return "\n\n".join(line.strip() for line in text.splitlines() if line.strip())


BLOCK_TAGS = {"p", "div", "table", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "figure"}


def leaf_divs_to_paragraphs(body: Any) -> None:
    """Editors (Blogger's above all) write paragraphs and captions as <div>s; trafilatura keeps short
    text only from paragraphs, so inside a known article body a div holding no blocks is one."""
    for div in body.iter("div"):
        if div is not body and div.text_content().strip() and not any(c.tag in BLOCK_TAGS for c in div):
            div.tag = "p"


def single(page: Page, xpaths: tuple[str, ...]) -> Any:
    """The one element the first matching xpath finds; None when it finds several (a listing)."""
    for xpath in xpaths:
        found = page.tree.xpath(xpath)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            return None
    return None


def text_of(el: Any) -> str:
    return " ".join(el.text_content().split()) if el is not None else ""


def texts(elements: list[Any]) -> list[str]:
    return [t for t in (text_of(el) for el in elements) if t]


def first_text(page: Page, *xpaths: str) -> str | None:
    for xpath in xpaths:
        for el in page.tree.xpath(xpath):
            value = el if isinstance(el, str) else text_of(el)
            if value and value.strip():
                return " ".join(value.split())
    return None


def local_date(value: str | None) -> str | None:
    """The date part of an ISO timestamp as written: 2024-03-05T02:40:00+06:00 is 5 March, in the
    site's own time zone, never shifted to UTC."""
    match = ISO_DATE.match(value or "")
    return match.group(1) if match else None
