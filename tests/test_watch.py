"""Watching a source between its crawls: the scheduler looks at the feeds and sitemaps every `watch_minutes`
and catches a new post, an edited post and a deleted post within one interval, at a fraction of a crawl's
requests; a watch run is never a QA baseline; a deleted post is kept and shown as gone, also after reindex."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from samizdat.archive.datadir import DataDir
from samizdat.archive.store import Store
from samizdat.sample_sites import expected_articles, sources_toml
from samizdat.scheduler import Scheduler
from samizdat.webui import create_app
from tests.conftest import export_records, run_cli
from tests.helpers import serve_sample_sites
from tests.test_scheduler import Clock, runs_of, settle

SITE = "wordpress"
NOTE = "<p>Update: the landlord withdrew the eviction notices for Alder Court.</p>"


def newest_posts() -> list[str]:
    """The paths of the WordPress sample site's articles, newest first."""
    placeholder = {name: f"http://{name}.invalid" for name in ("blogger", "wordpress", "magazine", "hugo")}
    posts = [a for a in expected_articles(placeholder) if a["site"] == SITE]
    posts.sort(key=lambda a: a["published"], reverse=True)
    return [urlsplit(a["url"]).path for a in posts]


@pytest.fixture()
def site(tmp_path):
    new = newest_posts()[0]
    with serve_sample_sites(tmp_path / "server", "--sites", SITE, "--withhold", f"{SITE}:{new}") as served:
        yield served


def test_a_watched_source_catches_a_new_an_edited_and_a_deleted_post_within_one_interval(site, tmp_path):
    new, edited, deleted = newest_posts()[:3]
    config, data = tmp_path / "sources.toml", tmp_path / "data"
    text = sources_toml(site.urls, sites=(SITE,)).replace("delay = 0\n", 'delay = 0\nschedule = "0 3 * * *"\n')
    config.write_text(text + "watch_minutes = 15\n\n[settings]\nprogress_seconds = 0\ntimeout_seconds = 10\n")
    clock = Clock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    scheduler = Scheduler(config, DataDir.create(data), clock=clock)

    before = len(site.requests())
    settle(scheduler)  # never crawled: a full crawl now
    crawled = len(site.requests()) - before
    first = {r["url"]: r for r in export_records(data)}
    base = site.urls[SITE]
    assert base + new not in first and base + edited in first and base + deleted in first

    site.publish(SITE, new)
    site.edit(SITE, edited, NOTE)
    site.delete(SITE, deleted, 410)
    clock.advance(minutes=14)
    scheduler.tick()
    assert not scheduler.running, "not yet: a watch every 15 minutes"
    clock.advance(minutes=1)
    before = len(site.requests())
    scheduler.tick()
    assert scheduler.running and scheduler.running["tenants-voice"].watch
    settle(scheduler)
    watched = len(site.requests()) - before

    after = {r["url"]: r for r in export_records(data)}
    assert base + new in after  # the new post
    assert "Alder Court" in after[base + edited]["text"]  # the edited post, as a new version
    with Store(data / "store.sqlite") as store:
        assert len(store.versions(after[base + edited]["id"])) == 2
        gone = store.gone(after[base + deleted]["id"])
    assert gone is not None and gone[1] == 410  # the deleted post: kept, and known to be gone
    assert base + deleted in after
    assert watched * 2 < crawled, (watched, crawled)

    full, watch = runs_of(data)
    assert (full["mode"], watch["mode"]) == ("crawl", "watch") and watch["gone"] == 1
    assert watch["articles"] == {"new": 1, "changed": 1, "unchanged": watch["articles"]["unchanged"]}
    # The watch is no baseline for the crawl QA: the last crawl of the source is still the full one.
    listed = json.loads(run_cli("sources", "--json", "--config", config, "--data", data).stdout)["sources"]
    assert listed[0]["last_crawl"] == full["finished_at"] and listed[0]["last_run"]["id"] == watch["id"]

    # The document page and the API say the post is gone from the site; search still finds it.
    client = create_app({"data_dir": data, "config_path": config}).test_client()
    doc_id = after[base + deleted]["id"]
    page = client.get(f"/documents/{doc_id}")
    assert page.status_code == 200 and b"deleted: answered HTTP 410" in page.data
    assert client.get(f"/api/documents/{doc_id}/versions").get_json()["gone"]["status"] == 410
    assert client.get(f"/api/documents/{after[base + edited]['id']}/versions").get_json()["gone"] is None

    # Rebuilt from the WARC files alone, the archive still knows it.
    assert run_cli("reindex", "--data", data).returncode == 0
    with Store(data / "store.sqlite") as store:
        assert store.gone(doc_id) == gone
        assert len(store.versions(after[base + edited]["id"])) == 2


def test_a_deleted_post_that_comes_back_is_no_longer_gone(site, tmp_path):
    deleted = newest_posts()[1]
    config, data = tmp_path / "sources.toml", tmp_path / "data"
    config.write_text(sources_toml(site.urls, sites=(SITE,)) + "\n[settings]\nprogress_seconds = 0\n")
    assert run_cli("crawl", "--config", config, "--data", data).returncode == 0
    doc = next(r for r in export_records(data) if r["url"].endswith(deleted))
    site.delete(SITE, deleted, 404)
    assert run_cli("crawl", "--watch", "--config", config, "--data", data).returncode == 0
    with Store(data / "store.sqlite") as store:
        assert store.gone(doc["id"])[1] == 404
    site.reset()
    time.sleep(1)  # a later capture
    assert run_cli("crawl", "--config", config, "--data", data).returncode == 0
    with Store(data / "store.sqlite") as store:
        assert store.gone(doc["id"]) is None
