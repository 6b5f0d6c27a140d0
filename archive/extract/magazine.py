"""How to read a static online magazine: back issues -> issue index (or contents page) -> articles.

An article's date and label are its issue's. An article page that names its issue above its title
("Clarion Review 41 - July/August 2012") is read from that line; one that does not waits for its issue
index (the contents page it links to, else its directory's index) and takes the index's word, handed to
it as a *fact*. An issue is dated by the first day of its period: "July/August 2012" is 2012-07-01 at
month precision, "Spring 2013" 2013-03-01 at season precision, "2011" 2011-01-01 at year precision.

The author is the name set alone after the last paragraph, before any trailing "For more info:",
"Links" or "Back to top" block; such blocks are never part of the text. An issue index, contents page or
back-issues page is never an article; when an index carries the whole text of an article that has no
page of its own, that article is read from the index. A "Page updated" footer or a Last-Modified header
is never the date.
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import urljoin, urlsplit

from samizdat.archive.extract import rules
from samizdat.archive.extract.generic import Reader, Reading, text_of
from samizdat.archive.extract.page import Page
from samizdat.archive.urls import url_key

# Pages that index an issue by their name (a directory's index, a contents page).
INDEX_FILE = re.compile(r"/(index|contents?|toc)\.(html?|php)$", re.IGNORECASE)
# A name alone on its line: two to five capitalised words (particles allowed), maybe after "by" or a dash.
NAME = re.compile(
    r"^(?:(?i:by)\s+|[—–-]\s*)?((?:[A-ZА-ЯЁ][\w'’.-]*)(?:\s+(?:[A-ZА-ЯЁ][\w'’.-]*|de|da|van|von|der|del|la|le|bin|al)){1,4})$"
)
BLOCKS = ".//p | .//div[not(.//p or .//div)] | .//h1 | .//h2 | .//h3 | .//h4 | .//blockquote | .//li"
# What follows an article on many magazine pages, and is not the article: a block of links to read on.
TRAILER = re.compile(
    r"^(for\s+more\s+info(rmation)?|more\s+info(rmation)?|further\s+(information|reading)|(useful\s+|related\s+)?links"
    r"|see\s+also|back\s+to\s+(the\s+)?top|top\s+of\s+(the\s+)?page)\s*:?$",
    re.IGNORECASE,
)
CONTENTS_TEXT = re.compile(r"\b(contents|this\s+issue|issue\s+index)\b", re.IGNORECASE)
MAX_ISSUE_LINE = 120  # characters: an issue line is a heading, not a paragraph that mentions a month

# Issue dates as magazines print them.
_M = "(" + "|".join(sorted(rules.MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = re.compile(
    rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_M}\s*,?\s+\d{{4}}\b|\b{_M}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b"
    r"|(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)",
    re.IGNORECASE,
)
_RANGE = re.compile(rf"\b{_M}\s*(?:/|-|–|—|&|\band\b|\bto\b)\s*{_M}\s*,?\s+(\d{{4}})\b", re.IGNORECASE)
_RANGE_YEARS = re.compile(rf"\b{_M}\s+(\d{{4}})\s*(?:/|-|–|—|\bto\b)\s*{_M}\s+\d{{4}}\b", re.IGNORECASE)
_MONTH = re.compile(rf"\b{_M}\s*,?\s+(\d{{4}})\b", re.IGNORECASE)
_SEASON = re.compile(r"\b(spring|summer|autumn|fall|winter)\s*,?\s+(\d{4})(?:\s*[/–-]\s*\d{2,4})?\b", re.IGNORECASE)
_YEAR = re.compile(r"(?<![\d/.-])((?:18|19|20)\d{2})(?![\d/.-])")
SEASON_MONTHS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}


def issue_date(text: str) -> tuple[str, str, tuple[int, int]] | None:
    """(YYYY-MM-DD, precision, the span it was read from) of an issue's date line, or None. A period is
    dated by its first day: "July/August 2012" -> 2012-07-01 (month), "Spring 2013" -> 2013-03-01 (season,
    winter is December), "2011" -> 2011-01-01 (year); a full date is a day."""
    match = _DAY.search(text)
    if match and (day := rules.parse_human_date(match.group(0))):
        return day, "day", match.span()
    match = _RANGE_YEARS.search(text)
    if match:  # "December 2012/January 2013"
        month = rules.MONTHS[match.group(1).lower().rstrip(".")]
        return f"{int(match.group(2)):04d}-{month:02d}-01", "month", match.span()
    match = _RANGE.search(text)
    if match:
        first, second = (rules.MONTHS[m.lower().rstrip(".")] for m in match.group(1, 2))
        year = int(match.group(3)) - (1 if first > second else 0)  # "December/January 2013" began in 2012
        return f"{year:04d}-{first:02d}-01", "month", match.span()
    match = _MONTH.search(text)
    if match:
        month = rules.MONTHS[match.group(1).lower().rstrip(".")]
        return f"{int(match.group(2)):04d}-{month:02d}-01", "month", match.span()
    match = _SEASON.search(text)
    if match:
        month = SEASON_MONTHS[match.group(1).lower()]
        return f"{int(match.group(2)):04d}-{month:02d}-01", "season", match.span()
    match = _YEAR.search(text)
    if match:
        return f"{match.group(1)}-01-01", "year", match.span()
    return None


def read_issue(text: str, need_label: bool = False) -> dict[str, Any] | None:
    """An issue line ("Red Lantern 159 — March 2024") as {published, precision, label}; the label is the
    line without its date (None when nothing is left). None when the line holds no date, is too long to
    be an issue line, or (need_label) names no issue."""
    text = " ".join(text.split())
    if not text or len(text) > MAX_ISSUE_LINE:
        return None
    found = issue_date(text)
    if found is None:
        return None
    published, precision, (start, end) = found
    label = " ".join(f"{text[:start]} {text[end:]}".split()).strip(" -–—|·:,/") or None
    if label is not None and not re.search(r"\w", label):
        label = None
    if need_label and label is None:
        return None
    return {"published": published, "precision": precision, "label": label}


def issue_key(url: str) -> str:
    """The issue an article page lives in, when it says nothing else: its directory."""
    path = urlsplit(url).path
    return url_key(urljoin(url, path.rsplit("/", 1)[0] + "/"))


def index_key(url: str) -> str:
    """The key of an issue index: its directory for a directory's index (`159/`, `159/index.html`), the
    page itself for a contents page (`spring-2013/contents.html`)."""
    path = urlsplit(url).path
    if path.endswith("/") or re.search(r"/index\.(html?|php)$", path, re.IGNORECASE):
        return issue_key(url)
    return url_key(url)


def _named_index(url: str) -> bool:
    path = urlsplit(url).path
    return path != "/" and (path.endswith("/") or bool(INDEX_FILE.search(path)))


class MagazineReader(Reader):
    kind = "magazine"
    offers_facts = True

    def classify(self, page: Page) -> tuple[str, str]:
        index = self._index_issue(page)
        if index is not None and _carried(page) is not None:
            return "article", ""  # an index carrying an article that has no page of its own: read it here
        reason = rules.listing_reason(page)
        if reason:
            return "listing", reason
        if index is not None:
            return "listing", "issue index"
        if len(_issue_rows(page)) >= 2:
            return "listing", "back issues"
        if urlsplit(page.url).path.count("/") < 2:
            return "page", "outside any issue"  # home, back issues, subscribe: the magazine's own pages
        return "article", ""

    # -- issues --------------------------------------------------------------------------------------

    def _index_issue(self, page: Page) -> dict[str, Any] | None:
        """The issue an issue index or contents page names in its heading; None for any other page."""
        if not _named_index(page.url):
            return None
        for el in page.tree.xpath(".//h1 | .//h2 | .//h3 | .//title"):
            issue = read_issue(text_of(el))
            if issue:
                return issue
        return None

    def facts(self, page: Page) -> dict[str, dict[str, Any]]:
        """An issue index names its issue and date; a back-issues list dates each issue it links to."""
        index = self._index_issue(page)
        if index is not None:
            return {index_key(page.url): {**index, "index": True}}
        return _issue_rows(page)

    def needs(self, page: Page) -> str | None:
        """The issue index an article waits for: none when it names its issue itself."""
        if self._own_issue(page) is not None:
            return None
        return self._index_link(page) or issue_key(page.url)

    def _index_link(self, page: Page) -> str | None:
        """The key of the issue index the article links to ("Contents of this issue", `../contents.html`):
        a page in its own directory or one above it, the nearest first."""
        own = urlsplit(page.url)
        found: list[tuple[int, str]] = []
        for link in page.tree.xpath(".//a[@href]"):
            target = page.absolute(link.get("href", ""))
            parts = urlsplit(target)
            directory = parts.path.rsplit("/", 1)[0] + "/"
            if parts.netloc != own.netloc or directory == "/" or not own.path.startswith(directory):
                continue
            if parts.path == own.path:
                continue
            if INDEX_FILE.search(parts.path) or parts.path.endswith("/") or CONTENTS_TEXT.search(text_of(link)):
                found.append((directory.count("/"), index_key(target)))
        return max(found)[1] if found else None

    def _own_issue(self, page: Page) -> dict[str, Any] | None:
        """The issue a page names itself: an index's heading when it carries the article, else the issue
        line set above an article's title."""
        index = self._index_issue(page)
        if index is not None:
            return index
        title = _title_heading(page)
        if title is None:
            return None
        before = title.xpath(
            "preceding::*[self::p or self::h2 or self::h3 or self::h4 or self::font or self::b"
            " or self::div[not(.//div or .//p)] or self::td[not(.//td or .//p or .//div)]]"
        )
        for el in reversed(before):  # the nearest to the title first
            issue = read_issue(text_of(el), need_label=True)
            if issue:
                return issue
        return None

    def _issue(self, r: Reading) -> dict[str, Any]:
        own = self._own_issue(r.page)
        if own is not None:
            return own
        return r.facts.get(self.needs(r.page) or "", {})

    # -- the article --------------------------------------------------------------------------------------

    def body(self, page: Page) -> Any:
        carried = _carried(page) if self._index_issue(page) is not None else None
        if carried is not None:
            return carried
        heading = _title_heading(page)
        if heading is not None and heading.getparent() is not None:
            return heading.getparent()
        return super().body(page)

    def clean_body(self, body: Any) -> None:
        first = next(iter(body), None)
        headings = body.xpath("./h1") or ([first] if first is not None and first.tag in ("h2", "h3") else [])
        if headings:  # the title, and what is set above it (the issue line), are not the text
            heading = headings[0]
            for el in list(heading.itersiblings(preceding=True)):
                body.remove(el)
            body.remove(heading)
        _cut_trailer(body)
        _cut_navigation(body)
        # The author line is part of the printed article; trafilatura drops anything classed as a byline.
        for el in body.xpath(".//*[contains(@class, 'author') or contains(@class, 'byline')]"):
            del el.attrib["class"]

    def title(self, r: Reading) -> str:
        carried = _carried(r.page) if self._index_issue(r.page) is not None else None
        heading = _title_heading(r.page) if carried is None else carried.xpath("./h2 | ./h3")[0]
        return text_of(heading) or super().title(r)

    def published(self, r: Reading) -> str | None:
        return self._issue(r).get("published")

    def date_precision(self, r: Reading) -> str | None:
        issue = self._issue(r)
        return issue.get("precision") or ("month" if issue.get("published") else None)

    def labels(self, r: Reading) -> list[str]:
        label = self._issue(r).get("label")
        return [label] if label else []

    def author(self, r: Reading) -> str | None:
        body = self.body(r.page)
        if body is None:
            return None
        body = copy.deepcopy(body)
        self.clean_body(body)
        blocks = [el for el in body.xpath(BLOCKS) if text_of(el)]
        while blocks and _is_navigation(blocks[-1]):
            blocks.pop()
        if not blocks or blocks[-1].tag in ("h1", "h2", "h3", "h4", "li"):
            return None
        match = NAME.match(text_of(blocks[-1]))
        return match.group(1) if match else None


def _title_heading(page: Page) -> Any:
    headings = page.tree.xpath(".//h1")
    return headings[0] if len(headings) == 1 else None


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _carried(page: Page) -> Any:
    """The element holding the whole text of an article that an index carries (a heading followed by
    paragraphs), when no link on the page leads to that article's own page; else None."""
    own = urlsplit(page.url).path
    for heading in page.tree.xpath(".//h2 | .//h3"):
        container = heading.getparent()
        if container is None:
            continue
        paragraphs = [p for p in container.xpath("./p") if len(text_of(p)) >= 80 and not p.xpath(".//a")]
        if len(paragraphs) < 2 or sum(len(text_of(p)) for p in paragraphs) < rules.MIN_ARTICLE_CHARS:
            continue
        title = _fold(text_of(heading))
        for link in page.tree.xpath(".//a[@href]"):
            target = urlsplit(page.absolute(link.get("href", "")))
            if _fold(text_of(link)) == title and target.path != own:
                return None  # the article has a page of its own: it is read there
        return container
    return None


def _issue_rows(page: Page) -> dict[str, dict[str, Any]]:
    """Issues a back-issues list dates: each linked issue with the date of its row (a table row or list
    item) and, when the link names the issue ("Clarion Review 41 - July/August 2012"), its label."""
    found: dict[str, dict[str, Any]] = {}
    for link in page.tree.xpath(".//a[@href]"):
        target = page.absolute(link.get("href", ""))
        if urlsplit(target).path in ("", "/") or target.split("#")[0] == page.url.split("#")[0]:
            continue
        row = next(link.iterancestors("tr", "li"), None)
        # Cells run together in text_content(): "159March 2024"; join them with spaces.
        text = " ".join(" ".join(row.itertext()).split()) if row is not None else text_of(link)
        issue = read_issue(text)
        if issue is None:
            continue
        named = read_issue(text_of(link), need_label=True)
        found[index_key(target)] = {
            "published": issue["published"],
            "precision": issue["precision"],
            **({"label": named["label"]} if named else {}),
        }
    return found


def _cut_trailer(body: Any) -> None:
    """Remove a trailing "For more info:" / "Links" / "Back to top" block and all that follows it, when all
    that follows is short (links, a navigation line), never the rest of an article."""
    blocks = [el for el in body.xpath(BLOCKS) if text_of(el)]
    for i, el in enumerate(blocks):
        if not TRAILER.match(text_of(el)):
            continue
        rest = blocks[i + 1 :]
        if any(len(text_of(b)) - sum(len(text_of(a)) for a in b.xpath(".//a")) > 150 for b in rest):
            continue
        node = el
        while node is not None and node is not body:
            parent = node.getparent()
            for sibling in list(node.itersiblings()):
                parent.remove(sibling)
            node = parent
        el.getparent().remove(el)
        return


def _cut_navigation(body: Any) -> None:
    """Remove the lines of links that end the page ("Home | Back Issues | ... | Top of page")."""
    while True:
        blocks = [el for el in body.xpath(BLOCKS) if text_of(el)]
        if not blocks or not _is_navigation(blocks[-1]) or blocks[-1].getparent() is None:
            return
        blocks[-1].getparent().remove(blocks[-1])


def _is_navigation(el: Any) -> bool:
    """A trailing line of links ("Contents | Back issues") is the page's, not the article's."""
    linked = sum(len(text_of(a)) for a in el.xpath(".//a"))
    return linked > 0 and linked >= len(text_of(el).replace("|", "").replace(" ", "")) * 0.6
