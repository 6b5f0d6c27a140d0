"""How to walk a Blogger blog: the Atom feeds (paged with start-index/max-results, one per label), the
sitemap, the archive pages. /search (labels, "Older Posts") is robots-disallowed on real blogs."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote, urljoin

from scrapy import Request
from scrapy.http import Response

from samizdat.crawler.spiders.generic import SourceSpider
from samizdat.crawler.traps import Trap, rule

# The largest page Blogger serves for a feed; fewer requests than the default 25.
FEED_PAGE = 150


class BloggerSpider(SourceSpider):
    name = "blogger"
    kind = "blogger"
    traps: tuple[Trap, ...] = (
        rule("blogger-search", r"/search(/|\?|$)"),  # label pages and "Older Posts": disallowed, and listings
        rule("blogger-paging-loop", r"[?&](updated-max|updated-min|reverse-paginate|by-date)="),
        rule("blogger-comments", r"[?&]showComment=|/feeds/\d+/comments/|/comments/default"),
        rule("blogger-internal", r"/b/(post-preview|stats)|[?&](widgetType|zx|action)=|/feeds/posts/summary"),
    )

    @classmethod
    def discovery_paths(cls) -> tuple[tuple[str, str], ...]:
        return ((f"/feeds/posts/default?max-results={FEED_PAGE}", "parse_feed"),)

    def parse_feed(self, response: Response) -> Iterator[Request]:
        """Also the per-label feeds: a blog whose main feed is cut short still lists every labelled post."""
        yield from super().parse_feed(response)
        if "/-/" in response.url:
            return
        for term in dict.fromkeys(response.xpath("/feed/entry/category/@term").getall()):
            url = urljoin(response.url, f"/feeds/posts/default/-/{quote(term)}?max-results={FEED_PAGE}")
            yield from self.follow(url, self.parse_feed, step="discovery")
