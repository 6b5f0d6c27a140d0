"""The frontier's order on a site built to trap a depth-first crawler: a sitemap listing every article, a
100-page "Older posts" listing, and article pages full of links to missing pages. Every article is archived
before the dead links are walked; the listing is walked to its end whatever the depth limit; robots.txt comes
first and the delay holds between every two requests."""

from __future__ import annotations

import itertools
import subprocess
import sys

from samizdat.sample_sites import sources_toml
from tests.conftest import export_records
from tests.helpers import serve_sample_sites

ARTICLES, PER_PAGE, DEAD_LINKS, DELAY = 200, 2, 4, 0.02
LISTING_PAGES = ARTICLES // PER_PAGE


def test_listed_articles_come_before_dead_links_and_long_listings_are_walked_to_the_end(tmp_path):
    options = ["--sites", "campaign", "--campaign-articles", str(ARTICLES), "--campaign-per-page", str(PER_PAGE)]
    options += ["--campaign-dead-links", str(DEAD_LINKS)]
    with serve_sample_sites(tmp_path / "server", *options) as sites:
        config = tmp_path / "sources.toml"
        config.write_text(
            sources_toml(sites.urls, sites=("campaign",), delay=DELAY)
            # A small depth limit: the 100 listing pages are one step from the start, not 100.
            + "\n[settings]\nprogress_seconds = 0\ntimeout_seconds = 10\ndepth_limit = 3\n",
            encoding="utf-8",
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "samizdat", "crawl", "--config", str(config), "--data", str(tmp_path / "data")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, (out, err[-3000:])
        log = sites.requests()

    assert log[0]["path"] == "/robots.txt"
    # Counted in requests, not seconds (a loaded machine is slow, not wrong): the last article comes before
    # all but a few of the ARTICLES x DEAD_LINKS dead links a depth-first crawl would walk first.
    last_article = max(i for i, r in enumerate(log) if r["path"].startswith("/news/") and r["status"] == 200)
    dead_before = [r for r in log[:last_article] if r["status"] == 404]
    assert len(dead_before) <= 0.05 * ARTICLES * DEAD_LINKS, len(dead_before)
    # depth_limit 3 did not cut the 100-page listing: its next pages are no step further from the start.
    listing = {r["path"] for r in log if r["path"].startswith("/page/") and r["status"] == 200}
    assert len(listing) == LISTING_PAGES - 1  # page 1 is the home page
    gaps = [b["time"] - a["time"] for a, b in itertools.pairwise(log)]
    assert min(gaps) >= DELAY, min(gaps)
    assert len(export_records(tmp_path / "data")) == ARTICLES


def test_two_sources_on_one_host_share_its_crawl_delay_end_to_end(tmp_path):
    """`samizdat crawl` of two sources on one site whose robots.txt asks for a Crawl-delay above both
    sources' delays: robots.txt is asked for first, and no two requests to the host, whichever source sent
    them, come closer than the Crawl-delay."""
    crawl_delay, articles = 0.08, 12
    options = ["--sites", "campaign", "--campaign-articles", str(articles), "--campaign-per-page", "4"]
    options += ["--campaign-dead-links", "1", "--campaign-crawl-delay", str(crawl_delay)]
    with serve_sample_sites(tmp_path / "server", *options) as sites:
        base = sites.urls["campaign"]
        config = tmp_path / "sources.toml"
        config.write_text(
            sources_toml(sites.urls, sites=("campaign",), delay=0.02)
            + f'\n[[source]]\nname = "common-cause-listing"\nstart_urls = ["{base}/page/2/"]\ndelay = 0\n'
            + "\n[settings]\nprogress_seconds = 0\ntimeout_seconds = 10\n",
            encoding="utf-8",
        )
        result = subprocess.run(
            [sys.executable, "-m", "samizdat", "crawl", "--config", str(config), "--data", str(tmp_path / "data")],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
        log = sites.requests()

    assert log[0]["path"] == "/robots.txt"
    fetched = [r["path"] for r in log]
    # Both sources walked the site: its articles were asked for by each.
    assert all(fetched.count(path) >= 2 for path in {p for p in fetched if p.startswith("/news/")}), fetched
    gaps = [b["time"] - a["time"] for a, b in itertools.pairwise(log)]
    assert min(gaps) >= crawl_delay, sorted(gaps)[:5]
    assert {r["source"] for r in export_records(tmp_path / "data")} == {"common-cause", "common-cause-listing"}
