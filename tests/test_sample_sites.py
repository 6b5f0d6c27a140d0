"""The sample sites themselves: the campaign site's shape, validators and 304s on every site, the
access log's fields, and editing an article while it is served. Real HTTP on 127.0.0.1 throughout."""

from __future__ import annotations

import math
import re
import time
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

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
from tests.helpers import edit_page, http_get, request_gaps, reset_pages, serve_sample_sites

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
