"""How to read a Blogger page: the post's own header, footer and labels, in the blog's time zone."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from samizdat.archive.extract import rules
from samizdat.archive.extract.generic import Reader, Reading, first_text, local_date, texts
from samizdat.archive.extract.page import Page, has_class

POST = f".//*[{has_class('post')} and ({has_class('hentry')} or @itemprop='blogPost')]"
POST_PATH = re.compile(r"^/\d{4}/\d{2}/[^/]+\.html$")
STATIC_PATH = re.compile(r"^/p/[^/]+\.html$")


class BloggerReader(Reader):
    kind = "blogger"

    def classify(self, page: Page) -> tuple[str, str]:
        path = urlsplit(page.url).path
        posts = page.tree.xpath(POST)
        if STATIC_PATH.match(path):
            return "page", "Blogger static page"
        if not POST_PATH.match(path):
            return "listing", f"not a post URL: {path}"
        if len(posts) != 1:
            return "listing", f"{len(posts)} posts on one page"
        return "article", ""

    def body(self, page: Page) -> Any:
        found = page.tree.xpath(f"{POST}//*[{has_class('post-body')}]")
        return found[0] if len(found) == 1 else super().body(page)

    def title(self, r: Reading) -> str:
        return first_text(r.page, f"{POST}//*[{has_class('post-title')}]") or super().title(r)

    def published(self, r: Reading) -> str | None:
        # The post's timestamp carries the blog's own offset; its date part is the date the blog shows.
        stamp = first_text(
            r.page,
            f"{POST}//abbr[{has_class('published')}]/@title",
            f"{POST}//time[{has_class('published')}]/@datetime",
            f"{POST}//*[@itemprop='datePublished']/@content",
            f"{POST}//*[@itemprop='datePublished']/@title",
        )
        return local_date(stamp) or self._date_header(r) or super().published(r)

    def _date_header(self, r: Reading) -> str | None:
        header = first_text(r.page, f".//*[{has_class('date-header')}]")
        return rules.parse_human_date(header) if header else None

    def author(self, r: Reading) -> str | None:
        name = first_text(
            r.page,
            f"{POST}//*[{has_class('post-author')}]//*[{has_class('fn')}]",
            f"{POST}//*[@itemprop='author']//*[@itemprop='name']",
            f"{POST}//*[{has_class('post-author')}]",
        )
        if name:
            name = re.sub(r"^(posted|written)\s+by\s+", "", name, flags=re.IGNORECASE).strip()
        return name or None

    def labels(self, r: Reading) -> list[str]:
        return texts(r.page.tree.xpath(f"{POST}//*[{has_class('post-labels')}]//a")) or super().labels(r)
