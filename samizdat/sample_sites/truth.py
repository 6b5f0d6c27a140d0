"""The expected results of crawling the sample sites, derived from the same data files as the sites.

`expected_articles(urls)` gives one dict per article (61: 16 Blogger posts, 16 WordPress posts,
17 magazine articles and 12 Hugo posts):

    site              "blogger" | "wordpress" | "magazine" | "hugo" (the key of `urls` and of SITES)
    kind              the source kind the site is: "blogger" | "wordpress" | "magazine" | "generic"
                      (the Hugo blog has no reader of its own: "generic")
    url               the canonical absolute URL (Blogger's desktop URL, WordPress's trailing-slash
                      permalink, the magazine's /issues/NNN/slug.html, Hugo's /posts/slug/)
    title             the heading exactly as a reader sees it; markup in a title is literal text
                      (the XSS post's title contains a literal <script>...</script>)
    published         "YYYY-MM-DD" as the site shows it, in the site's own zone (Blogger +06:00,
                      WordPress +01:00, Hugo +02:00), never shifted to UTC: the Hugo post published
                      at 00:20 local time is dated that day, though in UTC it is the day before.
                      The magazine shows only an issue month, on the issue index and the back-issues
                      page, never on an article page: its articles' date is the first day of the issue
                      month ("2024-03-01"). The footer's "Page updated ..." and the Last-Modified
                      header are not publication dates, nor is a Hugo post's lastmod.
    date_precision    how much of `published` the site gives: "day" (posts), "month" (a magazine issue
                      month, or a two-month issue "July/August 2012" dated 2012-07-01), "season" ("Spring
                      2013" is 2013-03-01) or "year" ("2011" is 2011-01-01)
    author            the byline without "by", or None (one magazine editorial and the two unsigned
                      Hugo statements have none)
    labels            sorted: Blogger post labels; WordPress category and tag names (names, not
                      slugs); the magazine's issue label ("Red Lantern 159"); Hugo tag names as the
                      post's tag list shows them ("flood defence", not the slug "flood-defence")
    text              the clean body text a perfect extraction yields, for token-level scoring:
                      one paragraph per body paragraph, subheading, blockquote, list item and image
                      caption, in page order, separated by blank lines ("\n\n"). The title is not
                      included. The magazine's standfirst is its first paragraph and its author
                      line its last: both are part of a magazine article as printed.
                      Text is as a reader sees it: WordPress's and Hugo's curly quotes, entities
                      decoded; live markup inside a body (the XSS post's payload) is not text.
    first_sentence    the first sentence of the first body paragraph; the magazine's standfirst is not
                      counted, so the check holds whether an extractor keeps the standfirst or not
    last_sentence     the last sentence of the last body paragraph (the magazine's author line after
                      it is a name, not a sentence: check containment, not endings)
    must_not_contain  boilerplate on the article's page that must never reach its extracted text:
                      sidebar, petition, sharing, comments, navigation, "Read next", newsletter and
                      footer phrases. Each phrase is verified absent from the article's own title and
                      body.
    language          "en", or "ru" for the three Russian magazine articles

For `urls` of the magazines laid out as real ones are (sites.MAGAZINE_SITES: "clarion", "quarry",
"lamplighter", served with `--sites clarion,quarry,lamplighter`), `expected_articles(urls)` gives their 16
articles (6, 7 and 3), kind "magazine", labelled and dated by their issue; Quarry Quarterly's editorials
exist only on their issue's contents page and have its URL. `sources_toml(urls, sites=MAGAZINE_SITES)`
writes their sources ("clarion-review", "quarry-quarterly", "lamplighter").

`non_article_paths(site)` lists paths of pages that exist (HTTP 200) but are not articles.
`sources_toml(urls)` writes a sources.toml for the four sites.

The campaign site is apart: the default crawl, `sources_toml(urls)` and `expected_articles(urls)` leave
it out. `expected_campaign(urls, articles)` gives its articles in the same shape (site "campaign", kind
"generic", labels [] since its pages show none), `campaign_paths(...)` every path it has by role, and
`sources_toml(urls, sites=("campaign",))` a source for it.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import quote

from samizdat.sample_sites import content as c
from samizdat.sample_sites.sites import DEFAULT_SITES, MAGAZINE_SITES

SOURCES = (
    # (source name, site key, kind, labels of the whole source: chosen not to clash with any site's
    # own labels)
    ("steppe-notes", "blogger", "blogger", ["Kazakhstan", "Environment"]),
    ("tenants-voice", "wordpress", "wordpress", ["Brackenford", "Tenant organising"]),
    ("red-lantern", "magazine", "magazine", ["Magazine"]),
    ("field-notes", "hugo", "generic", ["Floods"]),
    ("common-cause", "campaign", "generic", ["Ashworth"]),
    ("clarion-review", "clarion", "magazine", ["Shop floor"]),
    ("quarry-quarterly", "quarry", "magazine", ["Slate valleys"]),
    ("lamplighter", "lamplighter", "magazine", ["River towns"]),
)
KINDS = {site: kind for _name, site, kind, _labels in SOURCES}


def expected_articles(urls: dict[str, str]) -> list[dict[str, Any]]:
    """The default sites' articles (all four must be in `urls`), or, for `urls` of the magazines laid out as
    real ones are (MAGAZINE_SITES: clarion, quarry, lamplighter), theirs; both when both are given."""
    magazines = [a for site in MAGAZINE_SITES if site in urls for a in _issue_magazine(site, urls[site].rstrip("/"))]
    if magazines and not any(site in urls for site in DEFAULT_SITES):
        return magazines
    return [
        *_blogger(urls["blogger"].rstrip("/")),
        *_wordpress(urls["wordpress"].rstrip("/")),
        *_magazine(urls["magazine"].rstrip("/")),
        *_hugo(urls["hugo"].rstrip("/")),
        *magazines,
    ]


def _article(
    site: str,
    url: str,
    title: str,
    published: str,
    author: str | None,
    labels: list[str],
    blocks: tuple[c.Block, ...],
    boilerplate: list[str],
    language: str = "en",
    extra_text: str = "",
    closing_text: str = "",
    date_precision: str = "day",
) -> dict[str, Any]:
    """extra_text is the magazine's standfirst: the first paragraph of the text, not of the sentences;
    closing_text its author line, the text's last paragraph."""
    first, last = c.first_and_last_sentence(blocks)
    paragraphs = ([extra_text] if extra_text else []) + c.block_texts(blocks) + ([closing_text] if closing_text else [])
    own = _fold(" ".join([title, author or "", *paragraphs]))
    return {
        "site": site,
        "kind": KINDS[site],
        "url": url,
        "title": title,
        "published": published,
        "date_precision": date_precision,
        "author": author,
        "labels": sorted(labels),
        "text": "\n\n".join(paragraphs),
        "first_sentence": first,
        "last_sentence": last,
        "must_not_contain": [p for p in dict.fromkeys(boilerplate) if p and _fold(p) not in own],
        "language": language,
    }


def _fold(text: str) -> str:
    return " ".join(text.split()).lower()


def _opening(blocks: tuple[c.Block, ...], words: int = 8) -> str:
    """The first words of a body: what a snippet or excerpt of it shows on other pages."""
    first = next(b.text for b in blocks if b.kind == "p")
    return " ".join(first.split()[:words])


def _blogger(base: str) -> list[dict[str, Any]]:
    blog = c.load_blog()
    meta = blog.meta
    posts = blog.posts
    popular = [p for p in posts if p.slug in meta["popular"]]
    sidebar = [
        meta["profile_text"],
        "View my complete profile",
        *[friend["latest"] for friend in meta["blogroll"]],
        *[link["title"] for link in meta["links"]],
        "Subscribe to: Post Comments (Atom)",
        "Post a Comment",
        "Posted by",
        "Email This",
        "BlogThis!",
        "Share to Facebook",
        "Powered by Blogger",
        "View mobile version",
        meta["footer_text"],
    ]
    out = []
    for i, post in enumerate(posts):
        boilerplate = [
            *sidebar,
            *[_opening(p.blocks) for p in popular if p is not post],
            *[cm.text for cm in post.comments],
            *(["Newer Post"] if i > 0 else []),
            *(["Older Post"] if i + 1 < len(posts) else []),
            *post.not_text,
        ]
        out.append(
            _article(
                "blogger",
                base + post.path,
                post.title,
                post.published.date().isoformat(),
                post.author,
                post.labels,
                post.blocks,
                boilerplate,
            )
        )
    return out


def _wordpress(base: str) -> list[dict[str, Any]]:
    wp = c.load_wordpress()
    meta = wp.meta
    posts = wp.posts
    sidebar = [
        meta["petition_text"],
        "Sign the petition",
        meta["newsletter_text"],
        meta["follow_text"],
        "Share this:",
        "Like this:",
        "Leave a Reply",
        "Your email address will not be published.",
        "Skip to the content",
        "Powered by WordPress",
    ]
    out = []
    for i, post in enumerate(posts):
        related = [p for p in posts if p is not post and set(p.categories) & set(post.categories)]
        related = (related + [p for p in posts if p is not post and p not in related])[:3]
        boilerplate = [
            *sidebar,
            *[p.title for p in posts[:5] if p is not post],  # Recent Posts
            *[_opening(p.blocks) for p in related],  # Jetpack's related-post excerpts
            *[cm.text for cm in post.comments],
            *(["Next post"] if i > 0 else []),
            *(["Previous post"] if i + 1 < len(posts) else []),
        ]
        labels = [t.name for t in post.categories + post.tags]
        out.append(
            _article(
                "wordpress",
                base + post.path,
                post.title,
                post.published.date().isoformat(),
                post.author.name,
                labels,
                post.blocks,
                boilerplate,
            )
        )
    return out


def _magazine(base: str) -> list[dict[str, Any]]:
    mag = c.load_magazine()
    meta = mag.meta
    out = []
    for issue in mag.issues:
        for article in issue.articles:
            boilerplate = [
                "In this issue",
                "Back issues",
                "Contents of this issue",
                meta["tagline"],
                f"Page updated {c.long_date(issue.page_updated)}",
                meta["footer_place"],
                meta["publisher"],
                *[a.title for a in issue.articles if a is not article],
            ]
            out.append(
                _article(
                    "magazine",
                    base + article.path,
                    article.title,
                    issue.date.isoformat(),
                    article.author,
                    [issue.label],
                    article.blocks,
                    boilerplate,
                    article.language,
                    extra_text=article.standfirst,
                    closing_text=article.author or "",
                    date_precision="month",
                )
            )
    return out


def _issue_magazine(site: str, base: str) -> list[dict[str, Any]]:
    """The magazines laid out as real ones are (clarion, quarry, lamplighter): each article dated and
    labelled by its issue, at the precision the issue gives; the author's line is the text's last
    paragraph; an article only a contents page carries has that page's URL."""
    mag = c.load_issue_magazine(site)
    meta = mag.meta
    chrome = [
        meta["tagline"],
        meta["publisher"],
        "Back Issues" if site == "clarion" else "Back issues" if site == "quarry" else "Back numbers",
        "For more info",
        *[name for name, _url in meta.get("info_links", [])],
        "Back to top",
        "Top of page",
        "Contents of this issue",
        "About Us",
        "Previous: No.",
    ]
    out = []
    for issue in mag.issues:
        for article in issue.articles:
            printed = f"by {article.author}" if site == "lamplighter" and article.author else article.author or ""
            boilerplate = [
                *chrome,
                issue.label,  # the issue line above the title, the contents page's heading
                *[a.title for a in issue.articles if a is not article],
            ]
            out.append(
                _article(
                    site,
                    base + article.path,
                    article.title,
                    issue.date.isoformat(),
                    article.author,
                    [issue.label],
                    article.blocks,
                    boilerplate,
                    closing_text=printed,
                    date_precision=issue.precision,
                )
            )
    return out


def _hugo(base: str) -> list[dict[str, Any]]:
    blog = c.load_hugo()
    meta = blog.meta
    posts = blog.posts
    chrome = [
        meta["description"],
        "Home Posts Tags About",  # the top nav, as its words run together once the markup is gone
        meta["newsletter"],
        f"© 2025 {meta['group']}",
        "Built with Hugo",
        "Read next",
        "min read",
    ]
    out = []
    for i, post in enumerate(posts):
        boilerplate = [
            *chrome,
            *[p.title for p in blog.related(post)],  # the "Read next" box, or its strip of cards
            *(["More from the riverbank", *[_opening(p.blocks) for p in blog.related(post)]] if post.cards else []),
            *(["Next post", posts[i - 1].title] if i > 0 else []),
            *(["Previous post", posts[i + 1].title] if i + 1 < len(posts) else []),
        ]
        out.append(
            _article(
                "hugo",
                base + post.path,
                post.title,
                post.published.date().isoformat(),
                post.author,
                post.tags,
                post.blocks,
                boilerplate,
            )
        )
    return out


def expected_campaign(urls: dict[str, str], articles: int = 400) -> list[dict[str, Any]]:
    """The campaign site's articles, newest first, when it serves `articles` of them (its listing
    size and dead links do not change them)."""
    base = urls["campaign"].rstrip("/")
    campaign = c.load_campaign(articles)
    meta = campaign.meta
    chrome = [
        meta["tagline"],
        meta["footer"],
        meta["petition_heading"],
        meta["petition_text"],
        meta["petition_button"],
        meta["share_heading"],
        "Post to Chirp",
        "Send by email",
        meta["related_heading"],
        "Background note 1 on this story",
        "Latest news | Members",
    ]
    return [
        _article(
            "campaign",
            base + a.path,
            a.title,
            a.published.date().isoformat(),
            a.author,
            [],
            a.blocks,
            chrome,
        )
        for a in campaign.articles
    ]


def campaign_paths(articles: int = 400, per_page: int = 2, dead_links: int = 4) -> dict[str, list[str]]:
    """Every path of a campaign site of this size, by role:

    listings  "/", "/page/2/", ... in Older-posts order (ceil(articles / per_page) pages)
    articles  article paths, newest first (as the listings and the sitemap order them)
    dead      the links to pages that do not exist (404), `dead_links` per article, in page order
    other     pages that exist but hold no article: "/robots.txt", "/sitemap.xml", and "/members/"
              (which robots.txt disallows)
    """
    campaign = c.load_campaign(articles)
    pages = math.ceil(articles / per_page)
    return {
        "listings": ["/", *[f"/page/{n}/" for n in range(2, pages + 1)]],
        "articles": [a.path for a in campaign.articles],
        "dead": [f"/archive/{a.slug}/related-{k}/" for a in campaign.articles for k in range(1, dead_links + 1)],
        "other": ["/robots.txt", "/sitemap.xml", "/members/"],
    }


def non_article_paths(site: str) -> list[str]:
    """Paths (with query where needed) of pages that exist and answer 200 but hold no article.

    Blogger's /search/label/... pages and Hugo's /drafts/ exist but robots.txt disallows them for
    every agent. Hugo's /page/1/ and /posts/page/1/ are alias pages (a meta refresh to the list)."""
    if site == "blogger":
        blog = c.load_blog()
        years = sorted({f"/{p.published:%Y}/" for p in blog.posts})
        months = sorted({f"/{p.published:%Y/%m}/" for p in blog.posts})
        return [
            "/",
            f"/p/{blog.about['slug']}.html",
            *years,
            *months,
            *[f"/search/label/{quote(label)}" for label in blog.labels],
            "/feeds/posts/default",
            "/feeds/posts/default?alt=rss",
            "/feeds/posts/summary",
            "/sitemap.xml",
            "/sitemap.xml?page=1",
        ]
    if site == "wordpress":
        wp = c.load_wordpress()
        pages = math.ceil(len(wp.posts) / wp.meta["posts_per_page"])
        return [
            "/",
            *[f"/page/{n}/" for n in range(2, pages + 1)],
            *[f"/category/{t.slug}/" for t in wp.categories],
            *[f"/tag/{t.slug}/" for t in wp.tags],
            *[f"/author/{a.slug}/" for a in wp.authors],
            *sorted({f"/{p.published:%Y}/" for p in wp.posts}),
            *sorted({f"/{p.published:%Y/%m}/" for p in wp.posts}),
            *[p.path for p in wp.pages],
            "/feed/",
            "/wp-sitemap.xml",
            "/wp-sitemap-posts-post-1.xml",
            "/wp-sitemap-posts-page-1.xml",
            "/wp-sitemap-taxonomies-category-1.xml",
            "/wp-sitemap-taxonomies-post_tag-1.xml",
            "/wp-sitemap-users-1.xml",
            f"/events/month/{wp.meta['calendar_month']}/",
            c.load_live_diary()["path"],  # its article is built by a script: without one, no text
        ]
    if site == "magazine":
        mag = c.load_magazine()
        return [
            "/",
            "/index.html",
            "/back-issues.html",
            "/subscribe.html",
            *[p for i in mag.issues for p in (i.path, i.path + "index.html", i.pdf_path)],
        ]
    if site == "hugo":
        blog = c.load_hugo()
        pages = math.ceil(len(blog.posts) / blog.meta["paginate"])
        tags = [f"/tags/{c.urlize(t)}/" for t in blog.tags]
        return [
            "/",
            "/page/1/",
            *[f"/page/{n}/" for n in range(2, pages + 1)],
            "/posts/",
            "/posts/page/1/",
            *[f"/posts/page/{n}/" for n in range(2, pages + 1)],
            "/tags/",
            *tags,
            "/about/",
            "/drafts/",
            "/index.xml",
            "/posts/index.xml",
            *[f"{t}index.xml" for t in tags],
            "/sitemap.xml",
        ]
    if site == "campaign":  # at its default size
        paths = campaign_paths()
        return [*paths["listings"], "/sitemap.xml", "/members/"]
    raise ValueError(f"no sample site named {site!r}")


def sources_toml(
    urls: dict[str, str], with_kind: bool = True, sites: tuple[str, ...] | None = None, delay: float = 0
) -> str:
    """A sources.toml for the four sample sites, one [[source]] table each; `sites` chooses others
    (keys of `urls`: sites=("campaign",) for the campaign site alone, source "common-cause"), and
    `delay` is every source's delay (seconds).

    The format: a TOML file of [[source]] tables (plus an optional [settings] table), keys:

        name             unique slug naming the source (required)
        kind             "blogger" | "wordpress" | "magazine" | "generic"; detected from the site
                         when omitted (with_kind=False leaves it out, to test detection)
        start_urls       list of URLs the crawl starts from (required; http and https only)
        allowed_domains  hosts (host[:port]) the crawl may visit; default: the hosts of start_urls
        labels           labels added to every document of the source
        schedule         cron expression for recurring crawls, e.g. "0 3 * * *"
        max_pages        fetch at most this many pages per run (default: no cap)
        delay            seconds between requests to one host (default 1.0; 0 for the local samples)
        obey_robots      obey robots.txt (default true)
        include          URL regexes: when given, only matching URLs are followed
        exclude          URL regexes never followed
    """
    chosen = DEFAULT_SITES if sites is None else sites
    unknown = [s for s in chosen if s not in KINDS]
    if unknown:
        raise ValueError(f"no sample site named {unknown[0]!r}")
    tables = []
    for name, site, kind, labels in SOURCES:
        if site not in chosen:
            continue
        lines = ["[[source]]", f"name = {json.dumps(name)}"]
        if with_kind:
            lines.append(f"kind = {json.dumps(kind)}")
        lines += [
            f"start_urls = [{json.dumps(urls[site].rstrip('/') + '/')}]",
            f"labels = [{', '.join(json.dumps(label) for label in labels)}]",
            f"delay = {delay:g}",
        ]
        tables.append("\n".join(lines) + "\n")
    return "\n".join(tables)
