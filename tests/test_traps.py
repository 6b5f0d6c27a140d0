"""The trap rules, per platform: what a crawl must never follow, and what it must still reach."""

from datetime import UTC, datetime

import pytest

from samizdat.crawler.spiders import spider_for
from samizdat.crawler.traps import RULES_VERSION, find_trap

NOW = datetime(2026, 11, 23, tzinfo=UTC)
SITE = "https://example.org"


@pytest.mark.parametrize(
    ("kind", "path", "rule"),
    [
        ("generic", "/events/month/2031-05/", "calendar"),
        ("generic", "/calendar/?month=2024-06", "calendar"),
        ("generic", "/events/?ical=1", "calendar"),
        ("generic", "/events/list/?tribe-bar-date=2024-05-01", "calendar"),
        ("generic", "/wp-admin/", "admin"),
        ("generic", "/post/?share=twitter", "share"),
        ("generic", "/2024/05/14/post/feed/", "comment-feed"),
        ("generic", "/?s=rent", "site-search"),
        ("generic", "/diary/2035-01/", "future-date"),
        ("blogger", "/search/label/Mining", "blogger-search"),
        ("blogger", "/search?updated-max=2024-03-01T10:00:00%2B06:00&max-results=5", "blogger-search"),
        ("blogger", "/2024/03/post.html?showComment=1709600000000", "blogger-comments"),
        ("blogger", "/feeds/7719203348812001234/comments/default", "blogger-comments"),
        ("wordpress", "/wp-login.php?action=lostpassword", "wordpress-admin"),
        ("wordpress", "/2024/05/14/post/?replytocom=45", "wordpress-variant"),
        ("wordpress", "/?p=203", "wordpress-variant"),
        ("wordpress", "/wp-json/wp/v2/users", "wordpress-internal"),
        ("wordpress", "/category/housing/feed/", "wordpress-feed"),
        ("wordpress", "/comments/feed/", "wordpress-feed"),
        ("magazine", "/cgi-bin/search.pl?q=x", "magazine-scripts"),
    ],
)
def test_traps_stop_what_never_ends_or_never_holds_an_article(kind, path, rule):
    assert find_trap(SITE + path, spider_for(kind).traps, now=NOW) == rule


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("blogger", "/2024/03/night-shift-at-the-courthouse.html"),
        ("blogger", "/2024/03/"),
        ("blogger", "/feeds/posts/default?max-results=150"),
        ("blogger", "/feeds/posts/default/-/Mining?max-results=150"),
        ("wordpress", "/2024/05/14/rent-strike-week-six/"),
        ("wordpress", "/category/rent-repairs/page/2/"),
        ("wordpress", "/feed/"),
        ("wordpress", "/wp-sitemap-posts-post-1.xml"),
        ("wordpress", "/wp-json/wp/v2/posts?per_page=100&_fields=link"),
        ("wordpress", "/wp-content/uploads/2024/05/leaflet.pdf"),
        ("wordpress", "/?m=202405"),
        ("magazine", "/issues/159/"),
        ("magazine", "/issues/159/cooperative-that-would-not-die.html"),
        ("generic", "/posts/flood-wardens/"),
        ("generic", "/2026/11/this-month.html"),
    ],
)
def test_the_ways_to_articles_stay_open(kind, path):
    assert find_trap(SITE + path, spider_for(kind).traps, now=NOW) is None


def test_the_rule_set_is_versioned():
    assert RULES_VERSION.isdigit()
