"""How to read a WordPress page: body classes say what the page is; the entry's own markup says the rest."""

from __future__ import annotations

from typing import Any

from samizdat.archive.extract.generic import Reader, Reading, first_text, local_date, texts
from samizdat.archive.extract.page import Page, has_class

LISTING_CLASSES = {"home", "blog", "archive", "category", "tag", "author", "date", "search", "paged", "error404"}
# Jetpack and theme blocks that sit inside .entry-content but are not the post.
NOT_CONTENT = (
    ".//*[contains(@class, 'sharedaddy') or contains(@class, 'jp-relatedposts') or contains(@class, 'sd-like')"
    " or contains(@class, 'jetpack-likes') or contains(@class, 'wpcnt') or contains(@class, 'addtoany')"
    " or contains(@class, 'sharing') or contains(@class, 'post-navigation') or contains(@class, 'wp-block-buttons')]"
)
ENTRY = f"(.//article[{has_class('type-post')}] | .//*[{has_class('hentry')}])[1]"


class WordPressReader(Reader):
    kind = "wordpress"

    def classify(self, page: Page) -> tuple[str, str]:
        classes = page.body_classes()
        if classes & LISTING_CLASSES:
            return "listing", f"WordPress {sorted(classes & LISTING_CLASSES)[0]} page"
        if "page" in classes or "page-template-default" in classes or "attachment" in classes:
            return "page", "WordPress static page"
        if "single-post" in classes or ("single" in classes and "postid" in " ".join(classes)):
            return "article", ""
        return super().classify(page)  # a theme without body classes: the generic rules

    def body(self, page: Page) -> Any:
        found = page.tree.xpath(f"{ENTRY}//*[{has_class('entry-content')}]")
        return found[0] if found else super().body(page)

    def clean_body(self, body: Any) -> None:
        for el in body.xpath(NOT_CONTENT):
            el.getparent().remove(el)

    def title(self, r: Reading) -> str:
        return first_text(r.page, f"{ENTRY}//*[{has_class('entry-title')}]") or super().title(r)

    def published(self, r: Reading) -> str | None:
        stamp = first_text(
            r.page,
            f"{ENTRY}//time[{has_class('entry-date')} and {has_class('published')}]/@datetime",
            f"{ENTRY}//time[{has_class('entry-date')}]/@datetime",
            ".//meta[@property='article:published_time']/@content",
        )
        return local_date(stamp) or super().published(r)

    def author(self, r: Reading) -> str | None:
        return first_text(
            r.page,
            f"{ENTRY}//*[{has_class('author')} and {has_class('vcard')}]//*[{has_class('fn')}]",
            f"{ENTRY}//*[{has_class('author')} and {has_class('vcard')}]",
            f"{ENTRY}//a[@rel='author']",
            ".//meta[@name='author']/@content",
        ) or super().author(r)

    def labels(self, r: Reading) -> list[str]:
        found = texts(r.page.tree.xpath(f"{ENTRY}//*[{has_class('cat-links')} or {has_class('tags-links')}]//a"))
        return found or super().labels(r)
