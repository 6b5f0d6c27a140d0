"""One spider per site kind: how to walk such a site. Reading its pages is archive.extract's job."""

from __future__ import annotations

from samizdat.crawler.spiders.blogger import BloggerSpider
from samizdat.crawler.spiders.generic import SPIDERS_BY_KIND, SourceSpider
from samizdat.crawler.spiders.magazine import MagazineSpider
from samizdat.crawler.spiders.wordpress import WordPressSpider

SPIDERS_BY_KIND.update(
    {"generic": SourceSpider, "blogger": BloggerSpider, "wordpress": WordPressSpider, "magazine": MagazineSpider}
)


def spider_for(kind: str | None) -> type[SourceSpider]:
    """The spider of a kind; a source without one starts generic and adopts its kind's rules."""
    return SPIDERS_BY_KIND.get(kind or "generic", SourceSpider)
