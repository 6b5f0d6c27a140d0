"""Bundled sample websites for tests and demos, served over real HTTP on 127.0.0.1.

Four invented sites, built from data/*.toml and Jinja2 templates shaped like the real platforms:
a Blogger blog ("blogger"), a WordPress campaign site ("wordpress"), a hand-written table-layout
magazine ("magazine") and a Hugo-built static blog ("hugo", a "generic" source), each with the quirks
and faults a crawler meets in the wild. truth.py derives the expected crawl results from the same
data files.

    server = start()                 # server.urls == {"blogger": "http://127.0.0.1:PORT", ...}
    expected_articles(server.urls)   # what a perfect crawl and extraction would yield
    server.stop()
"""

from samizdat.sample_sites.server import SampleServer, start
from samizdat.sample_sites.sites import SITES
from samizdat.sample_sites.truth import expected_articles, non_article_paths, sources_toml

__all__ = ["SITES", "SampleServer", "expected_articles", "non_article_paths", "sources_toml", "start"]
