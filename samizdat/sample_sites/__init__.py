"""Bundled sample websites for tests and demos, served over real HTTP on 127.0.0.1.

Four invented sites, built from data/*.toml and Jinja2 templates shaped like the real platforms:
a Blogger blog ("blogger"), a WordPress campaign site ("wordpress"), a hand-written table-layout
magazine ("magazine") and a Hugo-built static blog ("hugo", a "generic" source), each with the quirks
and faults a crawler meets in the wild. truth.py derives the expected crawl results from the same
data files.

    server = start()                 # server.urls == {"blogger": "http://127.0.0.1:PORT", ...}
    expected_articles(server.urls)   # what a perfect crawl and extraction would yield
    server.stop()

A fifth, generated site of any size ("campaign", CampaignSite) is served only when asked for, for the
crawl-order, politeness and speed tests and the ingest benchmark:

    server = start(campaign={"articles": 40, "per_page": 2, "dead_links": 4, "crawl_delay": 0.2})
    expected_campaign(server.urls, articles=40); campaign_paths(40, 2, 4)
    server.edit("campaign", path, "<p>A late correction.</p>")   # a changed article; server.reset()

The four default sites' pages have requisites (stylesheets with an @import chain, a web font, srcset and
<picture> images, a favicon, CSS backgrounds: requisites.py); the Hugo blog's also load a stylesheet and font
from a CDN served beside the sites as http://localhost:PORT (`server.cdn_url`; "cdn" in the printed
addresses), whose robots.txt disallows /private/. The WordPress site's /live/rent-strike-diary/ is built by
JavaScript (server.py says how).

Articles can come and go while served, for watch-mode tests, on every site: `start(withheld={"hugo":
[path]})` (or `--withhold hugo:PATH`) starts with an article unpublished, then `server.publish("hugo",
path)` lists it everywhere, `server.delete("hugo", path)` takes it out of every listing and answers 410
(status=404 for 404), `server.withhold(...)` unpublishes it again, and `server.reset()` restores the start.
"""

from samizdat.sample_sites.server import SampleServer, start
from samizdat.sample_sites.sites import DEFAULT_SITES, MAGAZINE_SITES, SITES, CampaignSite
from samizdat.sample_sites.truth import (
    campaign_paths,
    expected_articles,
    expected_campaign,
    non_article_paths,
    sources_toml,
)

__all__ = [
    "DEFAULT_SITES",
    "MAGAZINE_SITES",
    "SITES",
    "CampaignSite",
    "SampleServer",
    "campaign_paths",
    "expected_articles",
    "expected_campaign",
    "non_article_paths",
    "sources_toml",
    "start",
]
