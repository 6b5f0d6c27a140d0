"""Each site reader's rules, on small pages written for the rule: dates in the site's own time zone,
authors as the platform names them, labels, what is an article, and the magazine's issue facts."""

from __future__ import annotations

import pytest
import trafilatura

from samizdat.archive.config import Source
from samizdat.archive.extract import extract, merge_facts, read_facts
from samizdat.archive.extract.detect import detect_kind
from samizdat.archive.extract.magazine import issue_key, read_issue
from samizdat.archive.extract.page import Page
from samizdat.archive.extract.rules import parse_human_date
from samizdat.archive.warc import Capture

SOURCE = Source(name="test", start_urls=("http://site.test/",), labels=("Ours",))
PARAS = "".join(
    f"<p>Paragraph {i} tells how the tenants of the block organised, met every week and wrote to the council "
    "until the repairs were finally made.</p>"
    for i in range(4)
)


def capture(url: str, html: str, content_type: str = "text/html; charset=utf-8") -> Capture:
    return Capture(
        url=url,
        status=200,
        headers=[("Content-Type", content_type)],
        payload=html.encode("utf-8"),
        fetched_at="2025-01-10T12:00:00Z",
    )


def blogger_page(stamp: str = "2024-03-05T02:40:00+06:00", labels: str = "Mining, Courts") -> str:
    links = ", ".join(f"<a href='/search/label/{x.strip()}' rel='tag'>{x.strip()}</a>" for x in labels.split(","))
    return f"""<html><head><meta name='generator' content='blogger'><title>Blog: Night</title></head><body>
    <div class='widget Blog'><div class='blog-posts hfeed'>
    <h2 class='date-header'><span>Tuesday, 5 March 2024</span></h2>
    <div class='post hentry' itemprop='blogPost'><h3 class='post-title entry-title'>Night &lt;b&gt; shift</h3>
    <div class='post-body entry-content'>{PARAS}</div>
    <div class='post-footer'><span class='post-author vcard'>Posted by <span class='fn'>Aigerim B</span></span>
    <abbr class='published' title='{stamp}'>2:40 AM</abbr><span class='post-labels'>Labels: {links}</span></div>
    </div><div class='comments' id='comments'><dd class='comment-body'><p>A comment that is not the post.</p></dd></div>
    </div></div><div class='sidebar'><div class='widget Label'><a href='/search/label/Water'>Water</a></div></div>
    </body></html>"""


def test_blogger_date_is_the_blogs_own_day_not_utc():
    doc = extract(capture("http://site.test/2024/03/night.html", blogger_page()), SOURCE, "blogger").document
    assert doc.published == "2024-03-05"  # 02:40 at +06:00 is 4 March in UTC
    assert doc.title == "Night <b> shift" and doc.author == "Aigerim B"
    assert doc.labels == ["Mining", "Courts", "Ours"]
    assert "A comment that is not the post" not in doc.text


def test_blogger_date_header_when_the_timestamp_is_missing():
    html = blogger_page(stamp="")
    assert extract(capture("http://site.test/2024/03/night.html", html), SOURCE, "blogger").document.published == (
        "2024-03-05"
    )


@pytest.mark.parametrize(
    ("path", "page_type"),
    [("/2024/03/", "listing"), ("/search/label/Mining", "listing"), ("/p/about.html", "page"), ("/", "listing")],
)
def test_blogger_pages_that_are_not_posts(path, page_type):
    assert extract(capture("http://site.test" + path, blogger_page()), SOURCE, "blogger").page_type == page_type


def wordpress_page(body_class: str = "single single-post postid-7") -> str:
    return f"""<html><head><meta name="generator" content="WordPress 6.4">
    <meta property="article:published_time" content="2024-05-13T23:35:00+00:00"></head>
    <body class="{body_class}"><article class="post-7 post type-post hentry">
    <h1 class="entry-title">Rent strike, week six</h1>
    <time class="entry-date published" datetime="2024-05-14T00:35:00+01:00">14 May 2024</time>
    <span class="author vcard"><a class="url fn n" href="/author/js/">Joan Smith</a></span>
    <div class="entry-content">{PARAS}
      <div class="sharedaddy"><h3 class="sd-title">Share this:</h3><a href="?share=x">X</a></div>
      <div id="jp-relatedposts" class="jp-relatedposts"><p>Related: an older post about something.</p></div></div>
    <footer><span class="cat-links"><a href="/category/rr/" rel="category tag">Rent &amp; Repairs</a></span>
    <span class="tags-links"><a href="/tag/rs/" rel="tag">rent strike</a></span></footer></article>
    <aside class="widget-area"><section class="widget"><h2>Sign the petition</h2></section></aside></body></html>"""


def test_wordpress_reads_entry_markup_in_the_sites_time_zone():
    doc = extract(capture("http://site.test/2024/05/14/rent/", wordpress_page()), SOURCE, "wordpress").document
    assert doc.published == "2024-05-14"  # the entry's own time, not the UTC meta tag
    assert (doc.title, doc.author) == ("Rent strike, week six", "Joan Smith")
    assert doc.labels == ["Rent & Repairs", "rent strike", "Ours"]
    for boilerplate in ("Share this", "Related:", "Sign the petition"):
        assert boilerplate not in doc.text


@pytest.mark.parametrize(
    ("body_class", "page_type"),
    [
        ("page-template-default page page-id-2", "page"),
        ("archive category category-housing", "listing"),
        ("home blog paged", "listing"),
    ],
)
def test_wordpress_body_classes_say_what_a_page_is(body_class, page_type):
    page = wordpress_page(body_class)
    assert extract(capture("http://site.test/x/", page), SOURCE, "wordpress").page_type == page_type


ISSUE = """<html><head><title>Red Lantern 159</title></head><body><h1>Red Lantern 159 &mdash; March 2024</h1>
<table><tr><td><a href="one.html">One</a></td></tr><tr><td><a href="two.html">Two</a></td></tr>
<tr><td><a href="three.html">Three</a></td></tr></table></body></html>"""
BACK_ISSUES = """<html><body><table><tr><td>159</td><td>March 2024</td><td><a href="issues/159/">Contents</a></td></tr>
<tr><td>158</td><td>November 2023</td><td><a href="issues/158/">Contents</a></td></tr></table></body></html>"""


def article(ending: str) -> str:
    return f"""<html><body><table><tr><td class="nav"><p><b>In this issue</b></p><ul><li><a href="a.html">A</a></li>
    </ul></td><td class="main"><h1>The co-op</h1><p class="standfirst"><b>It would not die.</b></p>{PARAS}{ending}
    <p><a href="index.html">Contents of this issue</a> | <a href="../../back-issues.html">Back issues</a></p>
    </td></tr></table><div class="footer">Page updated 12 June 2024</div></body></html>"""


@pytest.mark.parametrize(
    ("ending", "author"),
    [
        ("<p><b>Tom Reilly</b></p>", "Tom Reilly"),
        ('<p align="right"><i>Maria Okonkwo</i></p>', "Maria Okonkwo"),
        ('<p class="author">By Dev Mistry</p>', "Dev Mistry"),
        ("<p>— Ольга Кравец</p>", "Ольга Кравец"),
        ("<p>We declare the interest gladly.</p>", None),
        ("", None),
    ],
)
def test_magazine_author_is_the_name_after_the_last_paragraph_or_nobody(ending, author):
    url = "http://site.test/issues/159/co-op.html"
    doc = extract(capture(url, article(ending)), SOURCE, "magazine", {}).document
    assert doc.author == author
    assert doc.text.startswith("It would not die.")  # the standfirst is part of the article
    assert "In this issue" not in doc.text and "Page updated" not in doc.text and "Back issues" not in doc.text


def test_magazine_article_takes_its_issues_date_and_label():
    facts: dict = {}
    merge_facts(facts, read_facts(capture("http://site.test/back-issues.html", BACK_ISSUES), SOURCE, "magazine"))
    assert facts[issue_key("http://site.test/issues/158/x.html")] == {"published": "2023-11-01", "precision": "month"}
    completed = merge_facts(facts, read_facts(capture("http://site.test/issues/159/", ISSUE), SOURCE, "magazine"))
    assert completed == [issue_key("http://site.test/issues/159/")]
    url = "http://site.test/issues/159/co-op.html"
    doc = extract(capture(url, article("")), SOURCE, "magazine", facts).document
    assert (doc.published, doc.date_precision, doc.labels) == ("2024-03-01", "month", ["Red Lantern 159", "Ours"])
    # without its issue, an article is undated: the footer's "Page updated" is never its date
    assert extract(capture(url, article("")), SOURCE, "magazine", {}).document.published is None
    assert extract(capture("http://site.test/issues/159/", ISSUE), SOURCE, "magazine").page_type == "listing"


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ("Clarion Review 41 - July/August 2012", ("2012-07-01", "month", "Clarion Review 41")),
        ("Clarion Review 43 - December/January 2013", ("2012-12-01", "month", "Clarion Review 43")),
        ("Clarion Review 43 - December 2012/January 2013", ("2012-12-01", "month", "Clarion Review 43")),
        ("Red Lantern 159 — March 2024", ("2024-03-01", "month", "Red Lantern 159")),
        ("Quarry Quarterly No. 7 — Spring 2013", ("2013-03-01", "season", "Quarry Quarterly No. 7")),
        ("Winter 2012/13", ("2012-12-01", "season", None)),
        ("The Lamplighter No. 12 · 2011", ("2011-01-01", "year", "The Lamplighter No. 12")),
        ("Special issue, 5 March 2024", ("2024-03-05", "day", "Special issue")),
        ("Issue 160", None),
    ],
)
def test_an_issue_is_dated_by_the_first_day_of_its_period(line, found):
    issue = read_issue(line)
    assert (issue and (issue["published"], issue["precision"], issue["label"])) == found


MORE_INFO = """<html><body><table><tr><td class="main">
<p><font size="5"><b>ClarionReview</b></font> A journal of the shop floor</p>
<p class="issue"><b>Clarion Review 41 - July/August 2012</b></p>
<h1>The depot that said no</h1>{paras}
<p>Ilse Brandvold</p>
<p><b>For more info:</b></p>
<ul><li><a href="http://depot.example/">Depot workers' support group</a></li>
<li><a href="http://news.example/">Strike bulletin</a></li></ul>
<p><a href="../index.html">Home</a> <a href="../about.html">About Us</a> | <a href="../backissues.html">Back Issues</a>
| <a href="../links.html">Links</a> | <a href="#top">Top of page</a></p>
</td></tr></table></body></html>"""


@pytest.mark.parametrize(
    "trailer",
    [
        '<p><b>For more info:</b></p><ul><li><a href="http://x.example/">Support group</a></li></ul>',
        '<h4>Links</h4><p><a href="http://x.example/">Support group</a><br><a href="http://y.example/">Bulletin</a></p>',
        '<p><a href="#top">Back to top</a></p>',
    ],
)
def test_magazine_author_comes_before_a_trailing_block_of_links_which_is_not_text(trailer):
    html = MORE_INFO.format(paras=PARAS).replace(MORE_INFO.split("<p>Ilse Brandvold</p>")[1].split("<p><a")[0], trailer)
    doc = extract(capture("http://site.test/41/depot.html", html), SOURCE, "magazine", {}).document
    assert (doc.title, doc.author) == ("The depot that said no", "Ilse Brandvold")
    assert (doc.published, doc.date_precision, doc.labels) == ("2012-07-01", "month", ["Clarion Review 41", "Ours"])
    assert doc.text.startswith("Paragraph 0") and doc.text.endswith("Ilse Brandvold")
    for chrome in ("For more info", "Support group", "Links", "Back to top", "Top of page", "Clarion Review 41"):
        assert chrome not in doc.text


def test_an_issue_index_carrying_an_article_with_a_page_of_its_own_is_a_listing():
    lead = f'<div class="lead"><h3><a href="depot.html">The depot that said no</a></h3>{PARAS}</div>'
    html = f"""<html><body><h2>Clarion Review 41 - July/August 2012</h2>
    <ul><li><a href="depot.html">The depot that said no</a></li><li><a href="pay.html">Pay talks</a></li></ul>
    {lead}</body></html>"""
    for url in ("http://site.test/41/index.html", "http://site.test/41/"):
        result = extract(capture(url, html), SOURCE, "magazine", {})
        assert (result.page_type, result.document) == ("listing", None)
        assert result.facts == {
            "http://site.test/41": {
                "published": "2012-07-01",
                "precision": "month",
                "label": "Clarion Review 41",
                "index": True,
            }
        }


def test_an_article_only_a_contents_page_carries_is_read_from_it_and_its_articles_wait_for_it():
    url = "http://site.test/issues/2013-spring/contents.html"
    html = f"""<html><body><h1>Quarry Quarterly</h1><h2>Quarry Quarterly No. 7 &mdash; Spring 2013</h2>
    <ul><li><a href="features/walls.html">Dry stone walls</a></li><li><a href="reviews/songs.html">Songs</a></li></ul>
    <div class="editorial"><h3>From the editors</h3>{PARAS}</div>
    <p><a href="../">Back issues</a></p></body></html>"""
    result = extract(capture(url, html), SOURCE, "magazine", {})
    assert result.page_type == "article" and result.needs is None
    doc = result.document
    assert (doc.url, doc.title, doc.author) == (url, "From the editors", None)
    assert (doc.published, doc.date_precision, doc.labels) == (
        "2013-03-01",
        "season",
        ["Quarry Quarterly No. 7", "Ours"],
    )
    assert "Dry stone walls" not in doc.text and "Quarry Quarterly" not in doc.text
    facts: dict = {}
    assert merge_facts(facts, read_facts(capture(url, html), SOURCE, "magazine")) == [url]
    # an article in a section folder waits for the contents page it links to
    page = f"""<html><body><h1>Dry stone walls</h1>{PARAS}<p><i>Moira Tulloch</i></p>
    <p><a href="../contents.html">Contents of this issue</a></p></body></html>"""
    article = extract(
        capture("http://site.test/issues/2013-spring/features/walls.html", page), SOURCE, "magazine", facts
    )
    assert article.needs == url
    doc = article.document
    assert (doc.author, doc.published, doc.date_precision) == ("Moira Tulloch", "2013-03-01", "season")
    assert doc.labels == ["Quarry Quarterly No. 7", "Ours"]


@pytest.mark.parametrize(
    ("html", "kind"),
    [
        ("<html><head><meta name='generator' content='blogger'></head><body></body></html>", "blogger"),
        ("<html><head><link rel='https://api.w.org/' href='/wp-json/'></head><body></body></html>", "wordpress"),
        (
            "<html><body><a href='issues/160/'>160</a><a href='back-issues.html'>Back issues</a></body></html>",
            "magazine",
        ),
        (
            "<html><body><a href='160/index.html'>Contents</a><a href='160/depot.html'>The depot</a>"
            "<p><a href='index.html'>Home</a> | <a href='backissues.html'>Back Issues</a></p></body></html>",
            "magazine",
        ),
        (
            "<html><body><h1>No. 13</h1><p>An essay.</p><a href='/issues/12.html'>No. 12</a>"
            "<a href='/issues/'>Back numbers</a></body></html>",
            "magazine",
        ),
        ("<html><body><a href='/2024/'>2024</a><a href='/page/2/'>Older posts</a></body></html>", None),
        ("<html><head><meta name='generator' content='Hugo 0.121.1'></head><body></body></html>", None),
        ("<html><body><p>Hello</p></body></html>", None),
    ],
)
def test_kind_is_detected_from_the_page(html, kind):
    assert detect_kind(Page.parse(html, "http://site.test/")) == kind


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("Tuesday, 5 March 2024", "2024-03-05"),
        ("March 5, 2024", "2024-03-05"),
        ("Issue 12 · July 2023", "2023-07-01"),
        ("5 марта 2024 г.", "2024-03-05"),
        ("2024-03-05T02:40:00+06:00", "2024-03-05"),
        ("no date here", None),
    ],
)
def test_dates_as_sites_print_them(text, date):
    assert parse_human_date(text) == date


def test_koi8r_declared_in_the_header_only():
    text = "Рабочие завода вышли на митинг и потребовали выплатить зарплату за три месяца. " * 6
    html = f"<html><body><h1>Забастовка</h1><p>{text}</p><p>{text}</p></body></html>"
    cap = Capture(
        url="http://site.test/issues/160/zavod.html",
        status=200,
        headers=[("Content-Type", "text/html; charset=koi8-r")],
        payload=html.encode("koi8_r"),
        fetched_at="2025-01-10T12:00:00Z",
    )
    doc = extract(cap, SOURCE, "magazine", {}).document
    assert doc.title == "Забастовка" and "потребовали выплатить" in doc.text and doc.language == "ru"


# -- the generic reader: article or not by evidence, text at least trafilatura's, the title once -----------

LONG = "".join(
    f"<p>Paragraph {i} of the report on the river: the wardens walked the embankment at dawn, measured the "
    "gauge under the footbridge and wrote down every gully that had blocked since the last storm.</p>"
    for i in range(8)
)


def teaser(i: int, tag: str = "article") -> str:
    return (
        f"<{tag} class='card'><h3><a href='/stories/other-story-number-{i}/'>Another story, number {i}</a></h3>"
        f"<p>A short summary of story {i}, a sentence or two long.</p></{tag}>"
    )


def generic_article(og_type: str = "article", cards: int = 0) -> str:
    strip = f"<section class='more'><h2>More stories</h2>{''.join(teaser(i) for i in range(cards))}</section>"
    return f"""<html><head><title>Wardens at dawn | Valley news</title>
    <meta property="og:type" content="{og_type}"><meta property="og:title" content="Wardens at dawn">
    <meta property="article:published_time" content="2024-03-05T08:00:00+02:00"></head><body>
    <nav><a href="/">Home</a> <a href="/stories/">Stories</a></nav>
    <main><article class="story"><h1>Wardens at dawn</h1><p class="byline">By Ana Ferreira, 5 March 2024</p>
    {LONG}</article>{strip if cards else ""}</main></body></html>"""


@pytest.mark.parametrize(("og_type", "cards"), [("article", 0), ("article", 6), ("website", 0), ("website", 6)])
def test_generic_article_with_a_strip_of_cards_or_og_type_website_is_an_article(og_type, cards):
    url = "http://site.test/stories/wardens-at-dawn-on-the-river/"
    result = extract(capture(url, generic_article(og_type, cards)), SOURCE, "generic")
    assert result.page_type == "article", result.reason
    assert "Paragraph 7 of the report" in result.document.text
    assert "Another story" not in result.document.text and "A short summary" not in result.document.text


def test_generic_title_is_not_the_first_paragraph():
    url = "http://site.test/stories/wardens-at-dawn-on-the-river/"
    doc = extract(capture(url, generic_article()), SOURCE, "generic").document
    assert doc.title == "Wardens at dawn"
    assert not doc.text.startswith("Wardens at dawn") and doc.text.count("Wardens at dawn") == 0


SECTION_FRONT = f"""<html><head><title>Stories | Valley news</title><meta property="og:type" content="website">
</head><body><nav><a href="/">Home</a></nav><main><h1>Stories</h1>{"".join(teaser(i) for i in range(10))}
</main></body></html>"""


@pytest.mark.parametrize("path", ["/stories/", "/tags/wardens/", "/river-and-weather"])
def test_generic_section_fronts_and_tag_pages_are_listings_with_their_evidence(path):
    result = extract(capture("http://site.test" + path, SECTION_FRONT), SOURCE, "generic")
    assert result.page_type == "listing"
    assert "10 entries of like size" in result.reason or "listing path" in result.reason
    assert "(-" in result.reason  # each piece of evidence with its weight


def test_generic_static_page_is_a_page():
    html = """<html><head><meta property="og:type" content="website"><title>About us</title></head><body>
    <main><h1>About us</h1><p>We are a residents' group of the valley, formed after the flood of 2021, and
    we meet on the first Thursday of every month.</p><p>Membership is free to anyone who lives here.</p>
    </main></body></html>"""
    result = extract(capture("http://site.test/about/", html), SOURCE, "generic")
    assert result.page_type == "page" and "og:type website" in result.reason


def test_generic_text_survives_an_empty_body_element_and_a_body_classed_like_a_sidebar():
    html = f"""<html><head><meta property="og:type" content="article"></head>
    <body class="single no-sidebars has-sidebar"><div class="entry-content"></div>
    <div class="story-text">{LONG}</div><div class="sidebar"><p>Sign our petition today.</p></div></body></html>"""
    result = extract(capture("http://site.test/stories/wardens-at-dawn-on-the-river/", html), SOURCE, "generic")
    assert result.page_type == "article", result.reason
    assert "Paragraph 0 of the report" in result.document.text and "Paragraph 7" in result.document.text
    assert "Sign our petition" not in result.document.text


def test_date_precision_is_the_last_export_field_and_old_records_load_without_it():
    from samizdat.archive.document import EXPORT_FIELDS, Document

    assert EXPORT_FIELDS[-1] == "date_precision" and EXPORT_FIELDS[:3] == ("id", "url", "source")
    old = {k: v for k, v in Document("http://s.test/a", "s", "magazine", "T", "x").to_record().items()}
    del old["date_precision"]
    assert Document.from_record(old).date_precision is None
    doc = extract(capture("http://site.test/2024/03/night.html", blogger_page()), SOURCE, "blogger").document
    assert (doc.published, doc.to_record()["date_precision"]) == ("2024-03-05", "day")
    undated = extract(capture("http://site.test/issues/159/co-op.html", article("")), SOURCE, "magazine", {})
    assert (undated.document.published, undated.document.date_precision) == (None, None)


def test_generic_text_takes_the_paragraphs_trafilatura_finds_outside_the_body_element_but_no_read_next():
    # Microdata marks the story up to a "continued" block as its body; trafilatura alone reads the theme's
    # wrapper, finds the end, and also keeps the "read next" teaser, which our cleanup removes on purpose.
    ending = "".join(
        f"<p>Closing paragraph {i}: the council answered in May, and the new gauges went up on every footbridge "
        "of the valley before the first autumn storm.</p>"
        for i in range(2)
    )
    html = f"""<html><head><meta property="og:type" content="article"><title>Wardens at dawn</title></head>
    <body><article><h1>Wardens at dawn</h1><div class="entry-content"><div itemprop="articleBody">{LONG}</div>
    <div class="story-continued">{ending}</div>
    <div class="read-next"><p>Read next: the volunteers of the lower town rebuilt the levee with sandbags over
    two long weekends.</p></div></div></article></body></html>"""
    result = extract(capture("http://site.test/stories/wardens-at-dawn-on-the-river/", html), SOURCE, "generic")
    text = result.document.text
    order = [text.index(s) for s in ("Paragraph 7 of the report", "Closing paragraph 0", "Closing paragraph 1")]
    assert order == sorted(order)
    assert "Read next" not in text and "volunteers of the lower town" not in text
    assert text.count("Paragraph 7 of the report") == 1
    alone = trafilatura.extract(html, include_comments=False, include_tables=True) or ""
    assert "Closing paragraph 1" in alone and "Read next" in alone  # what the merge takes, and what it leaves


def test_a_comment_inside_a_paragraph_does_not_cut_it_and_a_table_with_header_cells_stays_a_table():
    films = "".join(f"<tr><td>19{i}0</td><td><p>Film number {i} of the loop</p></td></tr>" for i in range(5))
    html = f"""<html><head><meta property="og:type" content="article"></head><body><article><h1>Loops</h1>
    <p>The first <!-- ad slot --> paragraph names every time-loop film the critics counted, and why.</p>{LONG}
    <table class="wikitable"><tr><th>Year</th><th>Film</th></tr>{films}</table></article></body></html>"""
    text = extract(capture("http://site.test/stories/films-that-loop-in-time/", html), SOURCE, "generic").document.text
    assert "The first paragraph names every time-loop film" in text
    assert "| 1940 | Film number 4 of the loop |" in text  # a row of a data table, not two loose blocks


def section(i: int, heading: str = "<h2>Step {i}: what the wardens did</h2>") -> str:
    return (
        f"<section class='module'>{heading.format(i=i)}<p>In step {i} the wardens walked the embankment at dawn "
        "and measured the gauge under the footbridge, as the river authority had asked them to.</p><p>They wrote "
        f"down every gully that had blocked since the last storm, and in step {i} sent the list to the council "
        "before noon.</p></section>"
    )


def sectioned_page(sections: str) -> str:
    return f"""<html><head><meta property="og:type" content="website"><title>Ten steps | Valley news</title>
    </head><body><nav><a href="/">Home</a></nav><main><div class="content">{sections}</div></main></body></html>"""


def test_a_long_article_in_sections_is_an_article_and_cards_in_sections_are_not():
    url = "http://site.test/guides/ten-steps-for-the-river-wardens"
    article_page = sectioned_page("".join(section(i) for i in range(10)))
    result = extract(capture(url, article_page), SOURCE, "generic")
    assert result.page_type == "article", result.reason
    assert "Step 9: what the wardens did" in result.document.text
    cards = sectioned_page(
        "".join(section(i, "<h2><a href='/guides/step-{i}-of-the-wardens'>Step {i}</a></h2>") for i in range(10))
    )
    result = extract(capture("http://site.test/guides/", cards), SOURCE, "generic")
    assert result.page_type != "article"


def test_small_cards_beside_an_article_not_marked_as_one_do_not_make_it_a_listing():
    cards = "".join(teaser(i) for i in range(12))
    html = f"""<html><head><meta property="og:type" content="website"><title>Wardens at dawn</title>
    <script type="application/ld+json">{{"@type": "NewsArticle", "headline": "Wardens at dawn"}}</script></head>
    <body><main><div class="story"><h1>Wardens at dawn</h1>{"".join(section(i) for i in range(6))}</div>
    <div class="more">{cards}</div></main></body></html>"""
    result = extract(capture("http://site.test/stories/wardens-at-dawn-on-the-river/", html), SOURCE, "generic")
    assert result.page_type == "article", result.reason
    assert "Another story" not in result.document.text
    # The same cards with no article beside them: a listing.
    front = f"<html><head><title>Stories</title></head><body><main><h1>Stories</h1>{cards}</main></body></html>"
    assert extract(capture("http://site.test/stories/", front), SOURCE, "generic").page_type == "listing"


@pytest.mark.parametrize(
    ("path", "article"),
    [
        ("/topics/rivers-and-floods/the-wardens-who-walk-at-dawn", True),
        ("/category/rivers/local-rivers-and-floods/", False),  # a nested category, however it is named
        ("/tags/wardens-at-dawn", False),
    ],
)
def test_an_article_slug_below_a_listing_folder_is_weighed_not_refused(path, article):
    # Evidence enough for an article, but not against a listing path (og:type article, one long text block).
    html = f"""<html><head><meta property="og:type" content="article"><title>Wardens</title></head><body>
    <main><div class="story"><h1>Wardens</h1>{LONG}</div></main></body></html>"""
    result = extract(capture("http://site.test" + path, html), SOURCE, "generic")
    assert (result.page_type == "article") is article, result.reason


def test_a_data_table_whose_header_cells_are_headings_stays_a_table():
    rows = "".join(
        f"<tr><td><p>Item {i}</p></td><td><p>{i * 80}g</p></td><td><p>{i * 160}g</p></td></tr>" for i in range(6)
    )
    html = f"""<html><head><meta property="og:type" content="article"></head><body><article><h1>Menus</h1>{LONG}
    <table><tr><td><h4>Ingredient</h4></td><td><h4>One person</h4></td><td><h4>Two people</h4></td></tr>{rows}
    </table></article></body></html>"""
    text = extract(
        capture("http://site.test/stories/menus-for-a-week-on-a-budget/", html), SOURCE, "generic"
    ).document.text
    assert "| Item 5 | 400g | 800g |" in text


def test_merge_takes_only_the_sentences_a_run_on_paragraph_adds_and_headings_whose_words_recur():
    from samizdat.archive.extract.generic import merge

    ours = "\n\n".join(
        [
            "The Long Trail",
            "The long trail runs along the river for twelve miles and passes four bridges on its way.",
            "Walkers start at the old mill, where the car park is free on weekdays and busy at weekends.",
        ]
    )
    run_on = (
        "Updated in May, after the council reopened the path along the east bank to walkers, riders and their dogs. "
        "The long trail runs along the river for twelve miles and passes four bridges on its way. "
        "Walkers start at the old mill, where the car park is free on weekdays and busy at weekends."
    )
    merged = merge(ours, run_on)
    assert merged.count("twelve miles") == 1 and "Updated in May, after the council reopened the path" in merged
    # A heading whose every word triple recurs in the paragraphs is still missing from them.
    walks = "We walked the old mill trail on Sunday.\n\nThen the mill trail loop took us home."
    theirs = "The Old Mill Trail Loop\n\nThen the mill trail loop took us home."
    assert merge(walks, theirs).startswith("The Old Mill Trail Loop\n\nWe walked")  # before what it precedes


@pytest.mark.parametrize(
    ("url", "canonical", "expected"),
    [
        ("http://site.test/stories/wardens/?utm_source=x", "/stories/wardens/", "http://site.test/stories/wardens/"),
        ("http://site.test/p/123.html", "http://other.test/stories/wardens/", "http://site.test/p/123.html"),
        # Every article of some themes names the home page: each keeps its own address.
        ("http://site.test/stories/wardens/", "/", "http://site.test/stories/wardens/"),
        ("http://site.test/", "http://site.test/", "http://site.test/"),
    ],
)
def test_an_article_is_archived_under_its_canonical_url_of_the_same_site_but_never_the_home_page(
    url, canonical, expected
):
    html = generic_article().replace("<head>", f"<head><link rel='canonical' href='{canonical}'>")
    assert extract(capture(url, html), SOURCE, "generic").url == expected


def test_absurd_table_spans_are_cut_and_a_page_of_fifty_thousand_links_is_read():
    # Spans as hostile pages write them: the text extractor would draw every spanned cell, for minutes.
    rows = "".join(
        f'<tr><td colspan="1000000" rowspan="65534">cell {i}</td><td colspan="x">b</td></tr>' for i in range(300)
    )
    html = f"<html><head><title>T</title></head><body><article>{LONG}<table>{rows}</table></article></body></html>"
    page = Page.parse(html, "http://site.test/stories/a-table-of-spans-for-tests/")
    assert {c.get("colspan") for c in page.tree.iter("td")} == {"20", "1"}
    assert {c.get("rowspan") for c in page.tree.iter("td") if c.get("rowspan")} == {"10"}
    text = extract(capture(page.url, html), SOURCE, "generic").document.text
    assert "cell 299" in text and len(text) < 200_000
    links = "".join(f'<a href="/p/{i}">link {i}</a> ' for i in range(50_000))
    result = extract(capture("http://site.test/links/", f"<html><body>{links}</body></html>"), SOURCE, "generic")
    assert result.page_type == "page" and "100% of the text is links" in result.reason
