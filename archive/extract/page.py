"""A fetched HTML page parsed once, with the questions every reader asks of it."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from archive.urls import host_port, normalize_url


def has_class(name: str) -> str:
    """An xpath predicate: the element's class list holds `name` (not merely a class containing it)."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


@dataclass
class Page:
    url: str  # the URL it was fetched from (after redirects)
    tree: lxml.html.HtmlElement
    text_length: int = 0

    @classmethod
    def parse(cls, html: str, url: str) -> Page | None:
        try:
            tree = lxml.html.fromstring(html)
        except (etree.ParserError, ValueError):
            return None
        if tree is None or not isinstance(tree, lxml.html.HtmlElement):
            return None
        unwrap_layout_tables(tree)
        return cls(url=url, tree=tree)

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
                    return urljoin(self.url, href)
        return None

    def canonical_url(self) -> str:
        """rel=canonical when it names a page of the same site, else the fetched URL; normalized."""
        canonical = self.link_href("canonical")
        if (
            canonical
            and urlsplit(canonical).scheme in ("http", "https")
            and host_port(canonical) == host_port(self.url)
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
        out = []
        for el in self.tree.iterfind(".//a[@href]"):
            href = (el.get("href") or "").strip()
            if not href or href.startswith(("#", "mailto:", "javascript:", "tel:", "data:")):
                continue
            url = urljoin(self.url, href)
            if url.startswith(("http://", "https://")):
                out.append(url)
        return out


LAYOUT_MARKERS = ".//td//p | .//td//h1 | .//td//h2 | .//td//h3 | .//td//table | .//td//blockquote"


def unwrap_layout_tables(tree: lxml.html.HtmlElement) -> None:
    """Old hand-written sites lay pages out with tables; read as data tables, their text comes out as
    one long row. A table whose cells hold paragraphs or headings is layout: turn it into blocks."""
    for table in reversed(tree.xpath("//table")):  # innermost first
        if not table.xpath(LAYOUT_MARKERS):
            continue
        for el in table.iter("table", "tbody", "thead", "tfoot", "tr", "td", "th"):
            el.tag = "div"
