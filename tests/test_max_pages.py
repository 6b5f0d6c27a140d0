"""max_pages is exact: no more requests reach the site than the cap, redirect hops and retries included;
robots.txt and a page's requisites are not counted. The run's pages figure stays within it too."""

from __future__ import annotations

import re
import urllib.request

from samizdat.sample_sites.requisites import ASSET_PREFIXES
from tests.conftest import run_cli


def site_requests(sample_sites, site: str, since: int) -> list[dict]:
    return [r for r in sample_sites.requests()[since:] if r["site"] == site]


def is_requisite(site: str, path: str) -> bool:
    """A sample site's stylesheet, image, font or favicon (samizdat/sample_sites/requisites.py)."""
    path = path.partition("?")[0]
    return path == "/favicon.ico" or path.startswith(ASSET_PREFIXES[site] + "/") or path.endswith(".css")


def test_max_pages_counts_every_fetch_and_never_robots_txt(sample_sites, tmp_path):
    base = sample_sites.urls["wordpress"]
    with urllib.request.urlopen(base + "/") as response:
        article = re.search(r'href="(' + re.escape(base) + r'/20\d\d/[^"]+)"', response.read().decode("utf-8"))[1]
    with urllib.request.urlopen(article) as response:
        shortlink = re.search(r"rel='shortlink' href='([^']+)'", response.read().decode("utf-8"))[1]
    config = tmp_path / "sources.toml"
    config.write_text(
        f'[[source]]\nname = "capped"\nstart_urls = ["{shortlink}", "{base}/"]\ndelay = 0\nmax_pages = 4\n'
        "[settings]\nprogress_seconds = 0\n",
        encoding="utf-8",
    )
    since = len(sample_sites.requests())
    result = run_cli("crawl", "--config", config, "--data", tmp_path / "data")
    assert result.returncode == 0, result.stdout + result.stderr
    served = site_requests(sample_sites, "wordpress", since)
    assert any(is_requisite("wordpress", r["path"]) for r in served)  # fetched, and not counted
    pages = [r for r in served if r["path"] != "/robots.txt" and not is_requisite("wordpress", r["path"])]
    # The shortlink's redirect hop is one of the four: the site had far more to offer.
    assert len(pages) == 4 and any(r["status"] == 301 for r in pages), pages
    assert any(r["path"] == "/robots.txt" for r in served)
    row = next(line for line in result.stdout.splitlines() if line.startswith("capped "))
    assert int(row.split()[2]) <= 4, row
    assert re.search(r"skipped: .*max_pages x\d+", result.stdout), result.stdout


def test_max_pages_holds_over_a_stopped_and_resumed_run(sample_sites, tmp_path):
    base = sample_sites.urls["hugo"]
    config = tmp_path / "sources.toml"
    # Pages 1.2 s apart and a stop after 1.8 s: one or two pages before it. The requests Scrapy had already
    # handed to the downloader wait for the host's turn, and are kept for the next run rather than sent.
    # (HTML only: each requisite would take a 1.2 s turn of its own.)
    table = f'[[source]]\nname = "capped"\nstart_urls = ["{base}/"]\ndelay = 1.2\nmax_pages = 4\nrequisites = false\n'
    settings = "[settings]\nprogress_seconds = 0\n"
    config.write_text(table + "max_minutes = 0.03\n" + settings, encoding="utf-8")
    since = len(sample_sites.requests())
    first = run_cli("crawl", "--config", config, "--data", tmp_path / "data")
    assert first.returncode == 0 and "interrupted (time limit)" in first.stdout, first.stdout + first.stderr
    before = [r for r in site_requests(sample_sites, "hugo", since) if r["path"] != "/robots.txt"]
    assert 0 < len(before) < 4, before  # the cap is met by the two sessions together
    config.write_text(table + settings, encoding="utf-8")
    second = run_cli("crawl", "--config", config, "--data", tmp_path / "data")
    assert second.returncode == 0 and "finished" in second.stdout, second.stdout + second.stderr
    pages = [r for r in site_requests(sample_sites, "hugo", since) if r["path"] != "/robots.txt"]
    assert len(pages) == 4, pages
