"""A fetched HTML page parsed once, with the questions every reader asks of it."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from samizdat.archive.urls import host_port, normalize_url


def has_class(name: str) -> str:
    """An xpath predicate: the element's class list holds `name` (not merely a class containing it)."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


@dataclass
class Page:
    url: str  # the URL it was fetched from (after redirects)
    tree: lxml.html.HtmlElement
    text_length: int = 0
    base_url: str = ""  # what its relative links are resolved against: its <base href>, else `url`

    @classmethod
    def parse(cls, html: str, url: str) -> Page | None:
        try:
            # Without comments and processing instructions, as trafilatura parses a page: a comment inside
            # a paragraph otherwise cuts its text short for the extractor.
            tree = lxml.html.fromstring(html, parser=lxml.html.HTMLParser(remove_comments=True, remove_pis=True))
        except (etree.ParserError, ValueError):
            return None
        if tree is None or not isinstance(tree, lxml.html.HtmlElement):
            return None
        clamp_spans(tree)
        unwrap_layout_tables(tree)
        return cls(url=url, tree=tree, base_url=base_href(tree, url))

    def elements(self) -> int:
        """How many elements the page has (a few milliseconds for 100,000: lxml walks them in C)."""
        return sum(1 for _ in self.tree.iter())

    def absolute(self, href: str) -> str:
        """`href` resolved as a browser resolves the page's links."""
        return urljoin(self.base_url or self.url, href)

    def meta(self, *names: str) -> str | None:
        """The first <meta name|property=...> content among `names`."""
        for name in names:
            for attribute in ("name", "property"):
                for el in self.tree.iterfind(f".//meta[@{attribute}='{name}']"):
                    content = str(el.get("content") or "").strip()
                    if content:
                        return content
        return None

    def link_href(self, rel: str, type_: str | None = None) -> str | None:
        for el in self.tree.iterfind(".//link[@rel]"):
            if rel in (el.get("rel") or "").lower().split() and (type_ is None or el.get("type") == type_):
                href = str(el.get("href") or "").strip()
                if href:
                    return self.absolute(href)
        return None

    def canonical_url(self) -> str:
        """rel=canonical when it names a page of the same site, else the fetched URL; normalized. A canonical
        naming the home page from another page is a theme's mistake (every article would become one)."""
        canonical = self.link_href("canonical")
        if (
            canonical
            and urlsplit(canonical).scheme in ("http", "https")
            and host_port(canonical) == host_port(self.url)
            and (urlsplit(canonical).path not in ("", "/") or urlsplit(self.url).path in ("", "/"))
        ):
            return normalize_url(canonical)
        return normalize_url(self.url)

    def generator(self) -> str:
        return (self.meta("generator") or "").lower()

    def body_classes(self) -> set[str]:
        body = self.tree.find(".//body")
        return set((body.get("class") or "").split()) if body is not None else set()

    def lang(self) -> str | None:
        lang = self.tree.get("lang") or self.tree.get("xml:lang")
        return lang.split("-")[0].lower() if lang else None

    def links(self) -> list[str]:
        """Absolute http(s) links of the page, in order."""
        return [url for url, _ in self._anchors()]

    def links_and_next_pages(self) -> tuple[list[str], list[str]]:
        """`links()` and `next_pages()` from one walk over the page's anchors (what a crawl asks of each page)."""
        anchors = self._anchors()
        return [url for url, _ in anchors], self.next_pages(anchors)

    def next_pages(self, anchors: list[tuple[str, lxml.html.HtmlElement]] | None = None) -> list[str]:
        """The links that page through this listing ("Older posts", rel=next, /page/N/): a crawl does not
        count them as a step away from the start, so a listing of 200 pages is walked to its end."""
        out = [href for rel in ("next", "prev") if (href := self.link_href(rel))]
        for url, el in self._anchors() if anchors is None else anchors:
            rel = (el.get("rel") or "").lower().split()
            classes = {c.lower() for c in (el.get("class") or "").split()}
            parent_classes = (
                set((el.getparent().get("class") or "").lower().split()) if el.getparent() is not None else set()
            )
            parts = urlsplit(url)
            if (
                {"next", "prev"} & set(rel)
                or (classes | parent_classes) & PAGER_CLASSES
                or PAGER_URL.search(parts.path + "?" + parts.query)
                or PAGER_TEXT.fullmatch(" ".join(el.text_content().split()))  # the dearest test last
            ):
                out.append(url)
        return list(dict.fromkeys(out))

    def _anchors(self) -> list[tuple[str, lxml.html.HtmlElement]]:
        out = []
        for el in self.tree.iterfind(".//a[@href]"):
            href = (el.get("href") or "").strip()
            if not href or href.startswith(("#", "mailto:", "javascript:", "tel:", "data:")):
                continue
            url = self.absolute(href)
            if url.startswith(("http://", "https://")):
                out.append((url, el))
        return out


def base_href(tree: lxml.html.HtmlElement, url: str) -> str:
    """The URL the page's relative links resolve against, as a browser resolves them: its first <base href>
    (itself relative to `url`), when that is http(s); else `url`."""
    for el in tree.iterfind(".//base[@href]"):
        base = urljoin(url, str(el.get("href") or "").strip())
        return base if urlsplit(base).scheme in ("http", "https") else url
    return url


# How platforms mark the links between the pages of one listing (WordPress, Blogger, common themes).
PAGER_CLASSES = {
    "next",
    "prev",
    "older",
    "newer",
    "nav-previous",
    "nav-next",
    "next-posts-link",
    "previous-posts-link",
    "blog-pager-older-link",
    "blog-pager-newer-link",
    "pagination-next",
    "page-numbers",
}
PAGER_TEXT = re.compile(
    r"(?i)(?:[«‹←]\s*)?(?:older|newer|next|previous|more)(?:\s+(?:posts|entries|articles|stories|page))?(?:\s*[»›→])?"
)
PAGER_URL = re.compile(r"/page/\d+/?\?|[?&](?:page|paged)=\d+")


LAYOUT_MARKERS = ".//td//p | .//td//h1 | .//td//h2 | .//td//h3 | .//td//table | .//td//blockquote"
DATA_MARKERS = "./caption | ./thead | ./tr/th | ./tbody/tr/th"


# Columns and rows one table cell may span: more is hostile (trafilatura draws a cell for each, and carries
# a row-spanning cell into every row below it).
MAX_SPAN = {"colspan": 20, "rowspan": 10}


def clamp_spans(tree: lxml.html.HtmlElement) -> None:
    """A cell's colspan or rowspan cut to MAX_SPAN: `colspan=1000000 rowspan=65534` on a few thousand cells
    would have the text extractor write gigabytes of empty cells, for minutes."""
    for cell in tree.xpath("//*[@colspan or @rowspan]"):
        for name, most in MAX_SPAN.items():
            value = (cell.get(name) or "").strip()
            if value and not (value.isdigit() and int(value) <= most):
                cell.set(name, str(min(int(value), most)) if value.isdigit() else "1")


def is_grid(table: lxml.html.HtmlElement) -> bool:
    """Rows of short cells, as many in each: data, even when its cells are written as paragraphs or headings
    (a header row of `<td><h4>`). Layout is a few large cells."""
    rows = [row.xpath("./td | ./th") for row in table.xpath("./tr | ./*/tr")]
    widths = Counter(len(cells) for cells in rows if len(cells) >= 2)
    if not widths or widths.most_common(1)[0][1] < 3:
        return False
    lengths = sorted(len(" ".join(cell.text_content().split())) for cells in rows for cell in cells)
    return lengths[len(lengths) // 2] <= 80


def unwrap_layout_tables(tree: lxml.html.HtmlElement) -> None:
    """Old hand-written sites lay pages out with tables; read as data tables, their text comes out as
    one long row. A table whose cells hold paragraphs or headings is layout: turn it into blocks. One with
    header cells or a caption is data (a Wikipedia table with a paragraph in a cell), kept a table."""
    for table in reversed(tree.xpath("//table")):  # innermost first
        if not table.xpath(LAYOUT_MARKERS) or table.xpath(DATA_MARKERS) or is_grid(table):
            continue
        for el in table.iter("table", "tbody", "thead", "tfoot", "tr", "td", "th"):
            el.tag = "div"
