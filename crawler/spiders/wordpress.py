"""How to walk a WordPress site: wp-sitemap.xml, the RSS feed and the REST API first, then the
category and tag archives with their /page/N/; never wp-admin, share, reply or per-post feed links."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from scrapy import Request
from scrapy.http import Response

from samizdat.crawler.spiders.generic import SourceSpider
from samizdat.crawler.traps import Trap, rule

API_PAGE = 100  # the REST API's largest page


class WordPressSpider(SourceSpider):
    name = "wordpress"
    kind = "wordpress"
    traps: tuple[Trap, ...] = (
        rule("wordpress-admin", r"/wp-(admin|login\.php|cron\.php|signup\.php)|/xmlrpc\.php"),
        rule("wordpress-internal", r"/wp-json/(?!wp/v2/posts)|/wp-includes/|/wp-content/(?!uploads/.+\.pdf)"),
        rule("wordpress-variant", r"[?&](replytocom|share|like_comment|nb|amp|preview|doing_wp_cron|p|page_id)="),
        # The site's /feed/ is discovery; per-post, per-archive and comment feeds repeat it.
        rule("wordpress-feed", r"/comments/feed/?$|/(category|tag|author|\d{4})/.+/feed/?$|/trackback/?$|/embed/?$"),
        rule("wordpress-attachment", r"[?&]attachment_id=|/attachment/"),
    )

    @classmethod
    def discovery_paths(cls) -> tuple[tuple[str, str], ...]:
        return (
            ("/wp-sitemap.xml", "parse_sitemap"),
            ("/feed/", "parse_feed"),
            (f"/wp-json/wp/v2/posts?per_page={API_PAGE}&_fields=link", "parse_api"),
        )

    def parse_api(self, response: Response) -> Iterator[Request]:
        """The REST API lists every post's permalink; X-WP-TotalPages says how many pages there are."""
        self.count("discovery/rest_api")
        try:
            posts = json.loads(response.text)
        except ValueError:
            return
        for post in posts if isinstance(posts, list) else []:
            if isinstance(post, dict) and isinstance(post.get("link"), str):
                yield from self.follow(post["link"], self.parse_page, step="listed")
        parts = urlsplit(response.url)
        query = dict(parse_qsl(parts.query))
        page = int(query.get("page", "1"))
        total = int(response.headers.get(b"X-WP-TotalPages", b"1") or 1)
        if page < total:
            query["page"] = str(page + 1)
            url = urlunsplit((*parts[:3], urlencode(query), ""))
            yield from self.follow(url, self.parse_api, step="discovery")
