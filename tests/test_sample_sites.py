"""The sample sites themselves: the campaign site's shape, validators and 304s on every site, the
access log's fields, and editing, publishing, withholding and deleting an article while it is served.
Real HTTP on 127.0.0.1 throughout."""

from __future__ import annotations

import html
import json
import math
import re
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urljoin, urlsplit

import pytest

from samizdat.sample_sites import (
    DEFAULT_SITES,
    SampleServer,
    campaign_paths,
    content,
    expected_articles,
    expected_campaign,
    sources_toml,
)
from samizdat.sample_sites.sites import MAGAZINE_SITES
from tests.helpers import (
    delete_page,
    edit_page,
    http_get,
    publish_page,
    request_gaps,
    reset_pages,
    serve_sample_sites,
    withhold_page,
)

ARTICLES, PER_PAGE, DEAD_LINKS, CRAWL_DELAY = 400, 2, 4, 0.05  # the campaign site's defaults, and a delay


@pytest.fixture(scope="module")
def server():
    sample = SampleServer(campaign={"crawl_delay": CRAWL_DELAY}).start()
    yield sample
    sample.stop()


def one_article_per_site(urls: dict[str, str]) -> dict[str, str]:
    """A path of an ordinary article on each site (not Blogger's failing, slow or 3 MB posts)."""
    plain = {p.path for p in content.load_blog().posts if p.fault is None}
    paths = {}
    for truth in expected_articles(urls) + expected_campaign(urls, ARTICLES):
        path = urlsplit(truth["url"]).path
        if truth["site"] not in paths and (truth["site"] != "blogger" or path in plain):
            paths[truth["site"]] = path
    return paths


def links(html: str, pattern: str = r"<a [^>]*href=\"([^\"]+)\"") -> list[str]:
    return re.findall(pattern, html)


# --- the campaign site -----------------------------------------------------------------------------


def test_the_sitemap_lists_every_article_and_nothing_else(server):
    base = server.urls["campaign"]
    robots = http_get(base + "/robots.txt").text
    sitemap_url = re.search(r"^Sitemap: (\S+)$", robots, re.MULTILINE).group(1)
    assert sitemap_url == base + "/sitemap.xml"
    tree = ET.fromstring(http_get(sitemap_url).body)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [loc.text for loc in tree.findall("s:url/s:loc", ns)]
    expected = [a["url"] for a in expected_campaign(server.urls, ARTICLES)]
    assert locs == expected and len(locs) == ARTICLES == len(set(locs))
    assert all(re.fullmatch(r"/news/\d{4}/\d{2}/[a-z0-9-]+/", urlsplit(u).path) for u in locs)


def test_every_listing_page_is_reached_by_older_posts_links_and_lists_every_article_once(server):
    base = server.urls["campaign"]
    pages, teasers, url = [], [], "/"
    while url:
        page = http_get(base + url)
        assert page.status == 200, url
        html = page.text
        pages.append(url)
        teasers += links(html, r"<h2><a href=\"([^\"]+)\">")
        older = links(html, r"<a class=\"next\" rel=\"next\" href=\"([^\"]+)\">Older posts</a>")
        newer = links(html, r"<a class=\"prev\" rel=\"prev\" href=\"([^\"]+)\">Newer posts</a>")
        assert newer == ([] if url == "/" else [pages[-2]])
        url = older[0] if older else None
    paths = campaign_paths(ARTICLES, PER_PAGE, DEAD_LINKS)
    assert len(pages) == math.ceil(ARTICLES / PER_PAGE) == 200
    assert pages == paths["listings"]
    assert teasers == paths["articles"]  # newest first, each once
    assert http_get(base + "/page/1/").status == 301
    assert http_get(base + f"/page/{len(pages) + 1}/").status == 404


def test_an_article_page_has_its_parts_and_dead_links_that_404(server):
    base = server.urls["campaign"]
    truth = expected_campaign(server.urls, ARTICLES)
    paths = campaign_paths(ARTICLES, PER_PAGE, DEAD_LINKS)
    for number in (0, 1, 217, ARTICLES - 1):
        article, path = truth[number], paths["articles"][number]
        html = http_get(base + path).text
        title = re.search(r"<h1 class=\"story-title\">(.*?)</h1>", html).group(1)
        assert title.replace("&#39;", "'") == article["title"]
        assert f'<time datetime="{article["published"]}T' in html
        assert f'By <span class="author">{article["author"]}</span>' in html
        body = re.search(r"<div class=\"story-body\">(.*?)</div>", html, re.DOTALL).group(1)
        paragraphs = [p.replace("&#39;", "'") for p in re.findall(r"<p>(.*?)</p>", body)]
        assert "\n\n".join(paragraphs) == article["text"]
        assert 4 <= len(paragraphs) <= 8 and 300 <= len(article["text"].split()) <= 700
        assert 'class="petition"' in html and "Share this article" in html
        dead = [href for href in links(html) if href.startswith("/archive/")]
        assert dead == paths["dead"][number * DEAD_LINKS : (number + 1) * DEAD_LINKS]
        assert [http_get(base + href).status for href in dead] == [404] * DEAD_LINKS
    every = [len(" ".join(content.block_texts(a.blocks)).split()) for a in content.load_campaign(ARTICLES).articles]
    assert min(every) >= 300 and max(every) <= 700
    assert len(paths["dead"]) == len(set(paths["dead"])) == ARTICLES * DEAD_LINKS


def test_robots_txt_names_the_crawl_delay_only_when_one_is_set(server):
    robots = http_get(server.urls["campaign"] + "/robots.txt").text
    assert "Crawl-delay: 0.05\n" in robots and "Disallow: /members/\n" in robots
    assert http_get(server.urls["campaign"] + "/members/").status == 200  # exists; only robots.txt keeps it out
    with SampleServer(sites=["campaign"], campaign={"articles": 3, "per_page": 1, "dead_links": 0}).start() as small:
        robots = http_get(small.urls["campaign"] + "/robots.txt").text
        assert "Crawl-delay" not in robots and "Sitemap:" in robots
        home = http_get(small.urls["campaign"] + "/").text
        article = http_get(small.urls["campaign"] + campaign_paths(3, 1, 0)["articles"][0]).text
        assert "Older posts" in home and "/archive/" not in article
        assert len(campaign_paths(3, 1, 0)["listings"]) == 3


def test_the_default_crawl_still_has_four_sources_and_61_articles(sample_sites, server):
    assert list(sample_sites.urls) == list(DEFAULT_SITES)  # `python -m samizdat.sample_sites` unchanged
    default = sources_toml(server.urls)
    assert default.count("[[source]]") == 4 and "common-cause" not in default
    assert default == sources_toml({k: v for k, v in server.urls.items() if k != "campaign"})
    campaign = sources_toml(server.urls, sites=("campaign",))
    assert campaign.count("[[source]]") == 1 and server.urls["campaign"] + "/" in campaign
    assert len(expected_articles(server.urls)) == 61


# --- validators and 304 on every site ---------------------------------------------------------------


@pytest.mark.parametrize("site", [*DEFAULT_SITES, "campaign"])
def test_every_page_has_a_strong_etag_that_if_none_match_turns_into_a_304(server, site):
    base = server.urls[site]
    for path in ("/", one_article_per_site(server.urls)[site]):
        first = http_get(base + path)
        assert first.status == 200, (site, path)
        etag = first.headers["ETag"]
        assert re.fullmatch(r'"[0-9a-f]{20}"', etag), etag
        assert http_get(base + path).headers["ETag"] == etag  # the same bytes every time
        assert http_get(base + path, method="HEAD").headers["ETag"] == etag
        again = http_get(base + path, {"If-None-Match": etag})
        assert (again.status, again.body, again.headers["ETag"]) == (304, b"", etag)
        assert http_get(base + path, {"If-None-Match": f'"other", W/{etag}'}).status == 304
        other = http_get(base + path, {"If-None-Match": '"something-else"'})
        assert other.status == 200 and other.body == first.body
        modified = first.headers["Last-Modified"]
        if modified:  # the magazine's pages, the campaign site's articles
            assert http_get(base + path, {"If-Modified-Since": modified}).status == 304
            # If-None-Match decides when both are sent (RFC 9110 13.2.2)
            assert http_get(base + path, {"If-None-Match": '"x"', "If-Modified-Since": modified}).status == 200
    assert http_get(base + "/no/such/page/").headers["ETag"] is None  # only 200s carry one


def test_if_modified_since_keeps_working_on_the_magazine(server):
    base = server.urls["magazine"]
    page = http_get(base + "/")
    modified = parsedate_to_datetime(page.headers["Last-Modified"])
    assert http_get(base + "/", {"If-Modified-Since": page.headers["Last-Modified"]}).status == 304
    earlier = modified.replace(year=modified.year - 1).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert http_get(base + "/", {"If-Modified-Since": earlier}).status == 200


# --- the access log ----------------------------------------------------------------------------------


def test_each_request_is_logged_with_its_arrival_time_port_and_conditional_headers(server, tmp_path):
    with SampleServer(log_path=tmp_path / "log.jsonl", sites=["hugo", "campaign"], campaign={"articles": 4}) as s:
        s.start()
        before = time.time()
        http_get(s.urls["hugo"] + "/about/", {"User-Agent": "probe/1"})
        http_get(s.urls["campaign"] + "/", {"If-None-Match": '"abc"', "If-Modified-Since": "Sun, 06 Nov 1994"})
        time.sleep(0.2)
        http_get(s.urls["campaign"] + "/robots.txt")
        after = time.time()
        records = list(s.requests)
    logged = [line for line in (tmp_path / "log.jsonl").read_text().splitlines() if line]
    assert len(logged) == len(records) == 3
    hugo, home, robots = records
    assert {"site", "method", "path", "status", "user_agent"} <= set(hugo)
    assert (hugo["site"], hugo["method"], hugo["path"], hugo["status"]) == ("hugo", "GET", "/about/", 200)
    assert hugo["user_agent"] == "probe/1" and hugo["port"] == int(s.urls["hugo"].rsplit(":", 1)[1])
    assert hugo["if_none_match"] is None and hugo["if_modified_since"] is None and hugo["bytes"] > 0
    assert home["if_none_match"] == '"abc"' and home["if_modified_since"] == "Sun, 06 Nov 1994"
    assert before <= hugo["time"] <= home["time"] <= robots["time"] <= after
    assert request_gaps(records, "campaign")[0] >= 0.2 - 0.01
    assert isinstance(hugo["client_port"], int)


# --- editing articles while they are served -------------------------------------------------------


@pytest.mark.parametrize("site", [*DEFAULT_SITES, "campaign"])
def test_an_edit_changes_one_articles_body_and_etag_and_a_reset_undoes_it(server, site):
    base, path = server.urls[site], one_article_per_site(server.urls)[site]
    before = http_get(base + path)
    home_before = http_get(base + "/").headers["ETag"]
    paragraph = f"<p>Correction {site}: the meeting has moved to Thursday.</p>"
    try:
        assert server.edit(site, path, paragraph) == 1
        after = http_get(base + path)
        assert after.status == 200 and after.headers["ETag"] != before.headers["ETag"]
        assert paragraph.encode() in after.body and paragraph.encode() not in before.body
        squeezed = (re.sub(rb"\s+", b"", r) for r in (after.body.replace(paragraph.encode(), b""), before.body))
        assert next(squeezed) == next(squeezed)  # nothing else changed
        assert http_get(base + path, {"If-None-Match": before.headers["ETag"]}).status == 200
        assert http_get(base + path, {"If-None-Match": after.headers["ETag"]}).status == 304
        assert http_get(base + "/").headers["ETag"] == home_before  # only the article changed
        if before.headers["Last-Modified"]:
            was, now = (parsedate_to_datetime(r.headers["Last-Modified"]) for r in (before, after))
            assert now > was
            assert http_get(base + path, {"If-Modified-Since": before.headers["Last-Modified"]}).status == 200
        assert server.edit(site, path, "<p>And again.</p>") == 2
        assert server.edits() == {site: {path: 2}}
    finally:
        undone = server.reset()
    assert undone == 2 and server.edits() == {}
    restored = http_get(base + path)
    assert restored.body == before.body and restored.headers["ETag"] == before.headers["ETag"]


def test_an_edit_of_something_that_is_not_an_article_is_refused(server):
    with pytest.raises(ValueError, match="not an article path"):
        server.edit("wordpress", "/", "<p>x</p>")
    with pytest.raises(ValueError, match="no sample site"):
        server.edit("geocities", "/", "<p>x</p>")
    assert server.edits() == {}


def test_the_control_endpoint_edits_a_page_the_crawler_sees(tmp_path):
    with serve_sample_sites(tmp_path, "--sites", "campaign", "--campaign-articles", "6") as sites:
        assert list(sites.urls) == ["campaign"]
        base, path = sites.urls["campaign"], campaign_paths(6)["articles"][2]
        before = http_get(base + path)
        assert edit_page(sites.control, "campaign", path, "<p>Update: the council replied.</p>")["edits"] == 1
        after = http_get(base + path)
        assert b"<p>Update: the council replied.</p>" in after.body
        assert after.headers["ETag"] != before.headers["ETag"]
        with pytest.raises(AssertionError, match="not an article path"):
            sites.edit("campaign", "/page/2/", "<p>x</p>")
        assert reset_pages(sites.control) == {"undone": 1}
        assert http_get(base + path).body == before.body
        logged = {r["path"] for r in sites.requests()}
        assert path in logged and not any("edit" in p or "reset" in p for p in logged)  # never in the log


# --- publishing, withholding and deleting articles while they are served ---------------------------
#
# Every listing of a site is walked over HTTP (all its pages, by its own Older-posts / next links), and
# the article paths it names are compared state by state: with the article withheld or deleted, each
# listing is the starting one without it (every other article once, in order, no gaps) and no listing
# page mentions it at all; published again, each listing is as it started.

SMALL_CAMPAIGN = {"articles": 11, "per_page": 3, "dead_links": 1}
LOC = r"<loc>([^<]+)</loc>"
RSS_LINK = r"<link>([^<]+)</link>"  # items' links; a channel's <link> is no article, so it is filtered out
BLOGGER_ENTRY = r"<h3 class='post-title entry-title' itemprop='name'><a href='([^']+)'>"
BLOGGER_OLDER = r"<a class='blog-pager-older-link' href='([^']+)'"
ATOM_ENTRY = r"<link rel='alternate' type='text/html' href='([^']+)' title="
ATOM_NEXT = r"<link rel='next' [^>]*href='([^']+)'"
RSS_NEXT = r"<atom:link rel='next' [^>]*href='([^']+)'"
WP_ENTRY = r"<h2 class=\"entry-title heading-size-1\"><a href=\"([^\"]+)\">"
WP_NEXT = r"<a class=\"next page-numbers\" href=\"([^\"]+)\">"
HUGO_ENTRY = r"<h2 class=\"post-title\"><a href=\"([^\"]+)\">"
HUGO_NEXT = r"<a class=\"next\" href=\"([^\"]+)\">"
ISSUE_ENTRY = r"<td valign=\"top\"><a href=\"([^\"]+)\">"
LIST_ENTRY = r"<li><a href=\"([^\"]+)\">"


@dataclass
class Listing:
    start: str  # the first page's path and query
    entry: str  # a regex whose group 1 is an article link ("api": the WordPress REST API's JSON)
    next: str | None = None  # a regex whose group 1 is the next page's link
    full: bool = False  # lists every article of the site, in the truth's order
    paged: bool = False  # WordPress feeds: ?paged=2, 3, ... until a 404


@dataclass
class Page:
    status: int
    etag: str | None
    last_modified: str | None
    paths: list[str]
    text: str


@pytest.fixture(scope="module")
def served():
    """All five sites on a server of their own (the tests here change what is published), with a small
    campaign site and no slow post."""
    sample = SampleServer(slow_seconds=0, campaign=SMALL_CAMPAIGN).start()
    yield sample
    sample.stop()


def truth_paths(urls: dict[str, str], site: str) -> list[str]:
    """The site's article paths in the order the truth gives them (newest first; the magazine by issue)."""
    articles = expected_campaign(urls, SMALL_CAMPAIGN["articles"]) if site == "campaign" else expected_articles(urls)
    return [urlsplit(a["url"]).path for a in articles if a["site"] == site]


def chosen_articles(site: str) -> list[str]:
    """The newest article and one from the middle of the list (no Blogger fault posts)."""
    if site == "blogger":
        paths = [p.path for p in content.load_blog().posts if p.fault is None]
    elif site == "campaign":
        paths = [a.path for a in content.load_campaign(SMALL_CAMPAIGN["articles"]).articles]
    else:
        paths = truth_paths({s: "http://x" for s in DEFAULT_SITES}, site)
    return [paths[0], paths[len(paths) // 2]]


def listings(site: str, path: str) -> dict[str, Listing]:
    """Every listing the article at `path` is on: the site-wide ones and those of its labels, tags,
    categories, author, month and issue."""
    if site == "blogger":
        post = next(p for p in content.load_blog().posts if p.path == path)
        lists = {
            "home": Listing("/", BLOGGER_ENTRY, BLOGGER_OLDER, full=True),
            "mobile home": Listing("/?m=1", r"<a href='([^']+)'>", BLOGGER_OLDER, full=True),
            "atom": Listing("/feeds/posts/default?max-results=5", ATOM_ENTRY, ATOM_NEXT, full=True),
            "rss": Listing("/feeds/posts/default?alt=rss&max-results=6", RSS_LINK, RSS_NEXT, full=True),
            "summary": Listing("/feeds/posts/summary", ATOM_ENTRY, full=True),
            "sitemap": Listing("/sitemap.xml?page=1", LOC, full=True),
            "month": Listing(f"/{post.published:%Y/%m}/", BLOGGER_ENTRY),
            "year": Listing(f"/{post.published:%Y}/", BLOGGER_ENTRY),
        }
        for label in post.labels:
            lists[f"label {label}"] = Listing(f"/search/label/{quote(label)}", BLOGGER_ENTRY, BLOGGER_OLDER)
            lists[f"label feed {label}"] = Listing(f"/feeds/posts/default/-/{quote(label)}", ATOM_ENTRY)
        return lists
    if site == "wordpress":
        wp = next(p for p in content.load_wordpress().posts if p.path == path)
        lists = {
            "home": Listing("/", WP_ENTRY, WP_NEXT, full=True),
            "feed": Listing("/feed/", RSS_LINK, full=True, paged=True),
            "sitemap": Listing("/wp-sitemap-posts-post-1.xml", LOC, full=True),
            "api": Listing("/wp-json/wp/v2/posts?per_page=5", "api", full=True),
            "month": Listing(f"/{wp.published:%Y/%m}/", WP_ENTRY, WP_NEXT),
            "author": Listing(f"/author/{wp.author.slug}/", WP_ENTRY, WP_NEXT),
        }
        for term in wp.categories:
            lists[f"category {term.slug}"] = Listing(f"/category/{term.slug}/", WP_ENTRY, WP_NEXT)
            lists[f"category feed {term.slug}"] = Listing(f"/category/{term.slug}/feed/", RSS_LINK, paged=True)
        for term in wp.tags:
            lists[f"tag {term.slug}"] = Listing(f"/tag/{term.slug}/", WP_ENTRY, WP_NEXT)
        return lists
    if site == "magazine":
        mag = content.load_magazine()
        issue = next(i for i in mag.issues if any(a.path == path for a in i.articles))
        sibling = next(a for a in issue.articles if a.path != path)
        return {
            "issues": Listing(",".join(i.path for i in mag.issues), ISSUE_ENTRY, full=True),
            **({"home": Listing("/", LIST_ENTRY)} if issue is mag.issues[0] else {}),  # the current issue's
            "in this issue": Listing(sibling.path, LIST_ENTRY),
        }
    if site == "hugo":
        post = next(p for p in content.load_hugo().posts if p.path == path)
        return {
            "home": Listing("/", HUGO_ENTRY, HUGO_NEXT, full=True),
            "posts": Listing("/posts/", HUGO_ENTRY, HUGO_NEXT, full=True),
            "rss": Listing("/index.xml", RSS_LINK, full=True),
            "posts rss": Listing("/posts/index.xml", RSS_LINK, full=True),
            "sitemap": Listing("/sitemap.xml", LOC, full=True),
            **{f"tag {t}": Listing(f"/tags/{content.urlize(t)}/", HUGO_ENTRY, HUGO_NEXT) for t in post.tags},
            **{f"tag rss {t}": Listing(f"/tags/{content.urlize(t)}/index.xml", RSS_LINK) for t in post.tags},
        }
    return {
        "home": Listing("/", r"<h2><a href=\"([^\"]+)\">", r"<a class=\"next\" rel=\"next\" href=\"([^\"]+)\">", True),
        "sitemap": Listing("/sitemap.xml", LOC, full=True),
    }


def walk(base: str, listing: Listing, articles: set[str]) -> dict[str, Page]:
    """Every page of a listing, first to last, with the article paths each names (a 404 page names none:
    a tag page whose only post is hidden, say). Starts separated by commas are walked one after another."""
    pages: dict[str, Page] = {}
    for start in listing.start.split(","):
        url: str | None = base + start
        number = 1
        while url:
            got = http_get(url)
            assert got.status in (200, 404), (url, got.status)
            text = got.text if got.status == 200 else ""
            if listing.entry == "api":
                links = [item["link"] for item in json.loads(text)]
            else:
                links = [html.unescape(link) for link in re.findall(listing.entry, text, re.DOTALL)]
            found = [p for p in (urlsplit(urljoin(url, link)).path for link in links) if p in articles]
            pages[url] = Page(got.status, got.headers["ETag"], got.headers["Last-Modified"], found, text)
            if listing.entry == "api":
                total, total_pages = int(got.headers["X-WP-Total"]), int(got.headers["X-WP-TotalPages"])
                assert total_pages == math.ceil(total / 5) and len(found) == min(5, total - 5 * (number - 1))
                following = re.search(r'<([^>]+)>; rel="next"', got.headers["Link"] or "")
                url = following.group(1) if following else None
            elif listing.paged:
                url = f"{base}{start}?paged={number + 1}" if got.status == 200 else None
            else:
                following = re.search(listing.next, text) if listing.next else None
                url = urljoin(url, html.unescape(following.group(1))) if following else None
            number += 1
    return pages


def walk_all(base: str, lists: dict[str, Listing], articles: set[str]) -> dict[str, dict[str, Page]]:
    return {name: walk(base, listing, articles) for name, listing in lists.items()}


def named(pages: dict[str, Page]) -> list[str]:
    return [p for page in pages.values() for p in page.paths]


def needle(path: str) -> str:
    """What any link to the article contains, relative or absolute: "slug.html" or "/slug/"."""
    return path.rsplit("/", 1)[1] if path.endswith(".html") else "/" + path.rstrip("/").rsplit("/", 1)[1] + "/"


def assert_hidden(state, start, path, since, lists) -> None:
    """Every listing is the starting one without `path`; no listing page mentions it; a page whose list
    changed has a new ETag, and a new Last-Modified where it has one."""
    for name, pages in state.items():
        assert named(pages) == [p for p in named(start[name]) if p != path], name
        for url, page in pages.items():
            assert needle(path) not in page.text, (name, url)
            before = start[name].get(url)
            if before and before.status == page.status == 200 and before.paths != page.paths:
                assert page.etag != before.etag, url
                if page.last_modified:
                    assert parsedate_to_datetime(page.last_modified).timestamp() >= math.floor(since), url


def article_states(base: str, site: str, path: str) -> list[int]:
    """The status of the article's URL and of the other URLs a site has for it."""
    urls = [base + path]
    if site == "blogger":
        urls.append(base + path + "?m=1")
    if site == "wordpress":
        post_id = next(p.id for p in content.load_wordpress().posts if p.path == path)
        urls += [f"{base}/wp-json/wp/v2/posts/{post_id}", f"{base}/?p={post_id}"]
    return [http_get(url).status for url in urls]


@pytest.mark.parametrize("which", [0, 1], ids=["newest", "middle"])
@pytest.mark.parametrize("site", [*DEFAULT_SITES, "campaign"])
def test_a_withheld_article_is_in_no_listing_and_appears_everywhere_when_published(served, site, which):
    base, path = served.urls[site], chosen_articles(site)[which]
    order = truth_paths(served.urls, site)
    articles, lists = set(order), listings(site, path)
    start = walk_all(base, lists, articles)
    for name, pages in start.items():  # the starting state: every article once, in the truth's order
        assert path in named(pages) and len(named(pages)) == len(set(named(pages))), name
        if lists[name].full:
            assert named(pages) == order, name
    try:
        since = time.time()
        assert served.withhold(site, path) == 404
        withheld = walk_all(base, lists, articles)
        assert_hidden(withheld, start, path, since, lists)
        for name in (n for n, listing in lists.items() if listing.full):
            assert named(withheld[name]) == [p for p in order if p != path]
        assert set(article_states(base, site, path)) == {404}
        assert served.withheld() == {site: [path]} and served.deleted() == {}

        since = time.time()
        assert served.publish(site, path) == 200
        published = walk_all(base, lists, articles)
        for name, pages in published.items():
            assert named(pages) == named(start[name]), name
            for url, page in pages.items():  # the very bytes it started with, so the ETags change back
                assert page.etag == start[name][url].etag, url
                if withheld[name].get(url) and withheld[name][url].paths != page.paths:
                    assert page.etag != withheld[name][url].etag, url
        assert article_states(base, site, path) == article_states(base, site, order[-1])
        assert set(article_states(base, site, path)) <= {200, 301}  # WordPress's /?p=ID redirects to it
        if modified := http_get(base + path).headers["Last-Modified"]:
            assert parsedate_to_datetime(modified).timestamp() >= math.floor(since)
        assert served.withheld() == {}

        since = time.time()
        assert served.delete(site, path) == 410
        deleted = walk_all(base, lists, articles)
        assert_hidden(deleted, start, path, since, lists)
        assert http_get(base + path).status == 410
        assert served.deleted() == {site: {path: 410}}
        assert served.delete(site, path, status=404) == 404
        assert http_get(base + path).status == 404 and served.deleted() == {site: {path: 404}}
    finally:
        undone = served.reset()
    assert undone == 1  # one article not as it started
    assert served.withheld() == {} and served.deleted() == {}
    for name, pages in walk_all(base, lists, articles).items():
        assert [(u, p.etag) for u, p in pages.items()] == [(u, p.etag) for u, p in start[name].items()], name
    assert http_get(base + path).status == 200


def test_the_magazine_pages_that_list_a_withheld_article_have_a_new_last_modified(served):
    base, path = served.urls["magazine"], chosen_articles("magazine")[0]  # in the current issue
    issue = path.rsplit("/", 1)[0] + "/"
    sibling, old_issue = chosen_articles("magazine")[1], content.load_magazine().issues[-1].path
    before = {p: http_get(base + p) for p in ("/", issue, sibling, old_issue, "/back-issues.html")}
    try:
        time.sleep(1.05)  # Last-Modified has whole seconds
        served.withhold("magazine", path)
        after = {p: http_get(base + p) for p in before}
        for p in ("/", issue):
            assert after[p].headers["Last-Modified"] != before[p].headers["Last-Modified"]
            assert http_get(base + p, {"If-Modified-Since": before[p].headers["Last-Modified"]}).status == 200
        for p in ("/back-issues.html", old_issue):  # they list no article of the issue
            assert after[p].headers["Last-Modified"] == before[p].headers["Last-Modified"]
            assert after[p].body == before[p].body
    finally:
        served.reset()


def test_withholding_every_article_of_a_list_leaves_it_empty_or_gone_not_broken(served):
    """Tags of one post, months of one post, a whole page of the campaign site: no page breaks, counts
    stay right, the pagination shrinks."""
    base = served.urls["campaign"]
    paths = chosen_articles("campaign")
    everything = [a.path for a in content.load_campaign(SMALL_CAMPAIGN["articles"]).articles]
    try:
        for path in everything[:3]:  # the first listing page's worth
            served.withhold("campaign", path)
        pages = walk(base, listings("campaign", paths[0])["home"], set(everything))
        assert named(pages) == everything[3:] and len(pages) == math.ceil(8 / 3)
        assert http_get(base + "/page/4/").status == 404 and http_get(base + "/page/3/").status == 200
        served.reset()
        hugo = served.urls["hugo"]
        lonely = next(p for p in content.load_hugo().posts if "insurance" in p.tags)
        served.withhold("hugo", lonely.path)
        assert http_get(hugo + "/tags/insurance/").status == 404  # Hugo builds no page for an unused tag
        assert http_get(hugo + "/tags/insurance/index.xml").status == 404
        assert "/tags/insurance/" not in http_get(hugo + "/sitemap.xml").text
        assert "insurance" not in http_get(hugo + "/tags/").text
        wp = served.urls["wordpress"]
        for post in content.load_wordpress().posts:
            served.withhold("wordpress", post.path)
        assert http_get(wp + "/").status == 200 and http_get(wp + "/page/2/").status == 404
        api = http_get(wp + "/wp-json/wp/v2/posts")
        assert (api.status, json.loads(api.body), api.headers["X-WP-Total"]) == (200, [], "0")
        assert http_get(wp + "/feed/").status == 404
        assert all(t["count"] == 0 for t in json.loads(http_get(wp + "/wp-json/wp/v2/categories").body))
        assert "<loc>" not in http_get(wp + "/wp-sitemap-taxonomies-category-1.xml").text
        for post in content.load_blog().posts:
            served.withhold("blogger", post.path)
        blogger = served.urls["blogger"]
        assert [http_get(blogger + p).status for p in ("/", "/feeds/posts/default", "/sitemap.xml?page=1")] == [200] * 3
    finally:
        served.reset()
    assert named(walk(base, listings("campaign", paths[0])["home"], set(everything))) == everything


def test_publishing_withholding_and_deleting_refuse_what_is_not_an_article(served):
    with pytest.raises(ValueError, match="not an article path"):
        served.withhold("hugo", "/about/")
    with pytest.raises(ValueError, match="not an article path"):
        served.publish("wordpress", "/")
    with pytest.raises(ValueError, match="not an article path"):
        served.delete("magazine", "/issues/159/")
    with pytest.raises(ValueError, match="410 or 404"):
        served.delete("hugo", chosen_articles("hugo")[0], status=302)
    with pytest.raises(ValueError, match="no sample site"):
        served.publish("geocities", "/")
    assert served.withheld() == {} and served.deleted() == {}
    assert served.publish("hugo", chosen_articles("hugo")[0]) == 200  # already published: nothing changes
    assert served.reset() == 0


def test_articles_withheld_from_the_start_are_withheld_again_after_a_reset():
    newest = chosen_articles("hugo")[0]
    with SampleServer(sites=["hugo"], withheld={"hugo": [newest]}).start() as sample:
        base = sample.urls["hugo"]
        assert http_get(base + newest).status == 404 and needle(newest) not in http_get(base + "/index.xml").text
        assert sample.withheld() == {"hugo": [newest]}
        sample.publish("hugo", newest)
        assert http_get(base + newest).status == 200 and needle(newest) in http_get(base + "/index.xml").text
        assert sample.reset() == 1
        assert http_get(base + newest).status == 404 and sample.withheld() == {"hugo": [newest]}
    with pytest.raises(ValueError, match="not an article path"):
        SampleServer(sites=["hugo"], withheld={"hugo": ["/posts/no-such-post/"]})
    with pytest.raises(ValueError, match="no sample site"):
        SampleServer(sites=["hugo"], withheld={"wordpress": ["/"]})


def test_the_control_endpoint_and_withhold_option_publish_and_delete_articles(tmp_path):
    hugo_post, wp_post = chosen_articles("hugo")[0], chosen_articles("wordpress")[1]
    options = ("--sites", "hugo,wordpress", "--withhold", f"hugo:{hugo_post}", "--withhold", f"wordpress:{wp_post}")
    with serve_sample_sites(tmp_path, *options) as sites:
        hugo, wp = sites.urls["hugo"], sites.urls["wordpress"]
        assert sites.state()["withheld"] == {"hugo": [hugo_post], "wordpress": [wp_post]}
        assert http_get(hugo + hugo_post).status == 404 and needle(hugo_post) not in http_get(hugo + "/index.xml").text
        assert http_get(wp + wp_post).status == 404
        api = http_get(wp + "/wp-json/wp/v2/posts?per_page=100")
        assert api.headers["X-WP-Total"] == "15" and wp + wp_post not in {p["link"] for p in json.loads(api.body)}
        feed = http_get(hugo + "/index.xml")

        published = {"site": "hugo", "path": hugo_post, "state": "published", "status": 200}
        assert sites.publish("hugo", hugo_post) == published
        assert http_get(hugo + hugo_post).status == 200
        again = http_get(hugo + "/index.xml", {"If-None-Match": feed.headers["ETag"]})
        assert again.status == 200 and needle(hugo_post) in again.text  # a watcher's conditional GET sees it
        assert publish_page(sites.control, "wordpress", wp_post)["status"] == 200
        assert http_get(wp + "/wp-json/wp/v2/posts").headers["X-WP-Total"] == "16"

        assert sites.delete("hugo", hugo_post)["status"] == 410 and http_get(hugo + hugo_post).status == 410
        assert delete_page(sites.control, "wordpress", wp_post, status=404)["state"] == "deleted"
        assert http_get(wp + wp_post).status == 404
        assert sites.state()["deleted"] == {"hugo": {hugo_post: 410}, "wordpress": {wp_post: 404}}
        assert withhold_page(sites.control, "hugo", hugo_post)["status"] == 404
        assert sites.state()["withheld"] == {"hugo": [hugo_post]}

        with pytest.raises(AssertionError, match="not an article path"):
            sites.publish("hugo", "/about/")
        with pytest.raises(AssertionError, match="410 or 404"):
            sites.delete("hugo", hugo_post, status=200)
        with pytest.raises(AssertionError, match="400"):
            http_post(sites.control + "/delete", b'{"site": "hugo"}')
        wrong = {"site": "hugo", "path": hugo_post, "status": "410"}  # a string, not a number
        with pytest.raises(AssertionError, match="410 or 404"):
            http_post(sites.control + "/delete", json.dumps(wrong).encode())

        assert sites.reset() == {"undone": 1}  # hugo's post is withheld as it started; wordpress's was deleted
        assert sites.state()["withheld"] == {"hugo": [hugo_post], "wordpress": [wp_post]}
        assert sites.state()["deleted"] == {}
        assert http_get(wp + wp_post).status == 404
        logged = {r["path"] for r in sites.requests()}
        assert hugo_post in logged and not any(w in p for p in logged for w in ("publish", "withhold", "delete"))
    with pytest.raises(AssertionError, match="printed no address"):
        serve_sample_sites(tmp_path / "bad", "--sites", "hugo", "--withhold", "hugo:/posts/no-such-post/")
    with pytest.raises(AssertionError, match="printed no address"):
        serve_sample_sites(tmp_path / "bad", "--sites", "hugo", "--withhold", "hugo")


def http_post(url: str, body: bytes) -> dict:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            raise AssertionError(f"{error.code} {error.read().decode()}") from None


# --- the magazines laid out as real ones are ---------------------------------------------------------


def test_the_three_magazines_serve_their_issues_and_carry_the_listing_cases():
    with SampleServer(sites=MAGAZINE_SITES, slow_seconds=0) as s:
        s.start()
        truth = expected_articles(s.urls)
        assert {site: sum(a["site"] == site for a in truth) for site in MAGAZINE_SITES} == {
            "clarion": 6,
            "quarry": 7,
            "lamplighter": 3,
        }
        assert {a["date_precision"] for a in truth} == {"month", "season", "year"}
        for article in truth:
            page = http_get(article["url"])
            assert page.status == 200 and page.headers["Last-Modified"], article["url"]
            assert article["first_sentence"] in page.body.decode("utf-8")
        clarion, quarry, lamp = (s.urls[k] for k in MAGAZINE_SITES)
        # an issue index carries its lead article's whole text, which also has a page of its own
        lead = next(a for a in truth if a["url"].endswith("/41/the-depot-that-said-no.html"))
        index = http_get(clarion + "/41/index.html").body.decode("utf-8")
        assert lead["last_sentence"] in index and "Clarion Review 41 - July/August 2012" in index
        assert http_get(clarion + "/41/").body.decode("utf-8") == index  # Apache's DirectoryIndex
        # an editorial only its contents page carries; the home page prints the newest issue in full
        assert any(a["url"] == quarry + "/issues/2013-spring/contents.html" for a in truth)
        newest = next(a for a in truth if a["url"] == lamp + "/issues/13.html")
        assert newest["last_sentence"] in http_get(lamp + "/").body.decode("utf-8")
        for base, path in ((clarion, "/backissues.html"), (quarry, "/issues/"), (lamp, "/issues/")):
            assert http_get(base + path).status == 200
        assert http_get(clarion + "/no/such.html").status == 404
        assert sources_toml(s.urls, sites=MAGAZINE_SITES).count('kind = "magazine"') == 3
