"""The durable frontier: a Scrapy scheduler whose queue, seen set and in-flight requests live in one SQLite file
in the job directory (JOBDIR), so a crawl killed with `kill -9` resumes where it stopped.

Scrapy's own disk queues (queuelib) save their bookkeeping (`active.json`, the queue heads) only on a clean
close, and its dupefilter file is buffered: after a kill they lose or repeat requests. Here every enqueue is one
SQLite transaction that marks the URL seen and queues it together, and a request taken from the queue stays in
the file, marked in flight, until the engine has finished with it (downloaded, archived, its callback's links
queued and its items stored). A restart puts in-flight requests back in the queue; the WARC replay middleware
then answers those already archived from the archive, so at most the requests that were on the wire are
fetched again.

A source's `max_pages` is kept here, exactly: no more requests than that are handed to the downloader over
the whole run (its sessions after a kill or a stop included), counting redirect hops and retries, which the
spider cannot see coming; robots.txt and the spider's own `data:` requests are not counted. What is due past
the cap is left out, counted as skipped (`max_pages`).

It implements Scrapy's scheduler interface only, so a shared queue (scrapy-redis's scheduler) can replace it
through the SCHEDULER setting without touching the spiders.
"""

from __future__ import annotations

import logging
import pickle
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.core.scheduler import BaseScheduler
from scrapy.crawler import Crawler
from scrapy.utils.job import job_dir
from scrapy.utils.request import request_from_dict

from samizdat.crawler.diskfull import stopping_when_full
from samizdat.crawler.jobstate import load_pickle, open_job_db

logger = logging.getLogger(__name__)

FILE_NAME = "frontier.sqlite"
QUEUED_STAT = "samizdat/frontier/queued"
QUEUED, IN_FLIGHT = 0, 1
CHECKPOINT_SECONDS = 1.0  # how often finished in-flight requests are cleared (more often costs writes)

SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (fp TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    priority INTEGER NOT NULL,
    state INTEGER NOT NULL,
    request BLOB NOT NULL,
    counted INTEGER NOT NULL DEFAULT 0  -- 1 once handed out and counted against max_pages
);
CREATE INDEX IF NOT EXISTS queue_next ON queue(state, priority DESC, id);
CREATE TABLE IF NOT EXISTS counts (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
"""
FETCHED = "fetched"  # requests handed out that count against max_pages, over the whole run


class DurableScheduler(BaseScheduler):
    def __init__(self, crawler: Crawler, jobdir: str | None) -> None:
        self.crawler = crawler
        self.path = Path(jobdir, FILE_NAME) if jobdir else None
        self.db: sqlite3.Connection | None = None
        self.spider: Spider | None = None
        self.queued = 0
        self.in_flight: dict[int, Request] = {}
        self.memory: list[Request] = []  # requests that cannot be serialized (none of ours; a safety net)
        self.draining: str | None = None  # why the crawl is winding down: nothing new is handed out
        self.held = False  # keep every in-flight request for the next run (see `hold`)
        self.kept: set[Request] = set()  # in-flight requests never sent: the next run sends them (see `keep`)
        # The fingerprints of the `seen` table, in memory: a page links to a hundred URLs already seen, and
        # each would otherwise be serialized and cost a transaction before the table said so.
        self.seen: set[str] = set()
        self.max_pages: int | None = None
        self.fetched = 0  # requests handed out that count against max_pages, this run's sessions together
        self._checked_at = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DurableScheduler:
        return cls(crawler, job_dir(crawler.settings))

    # -- Scrapy's scheduler interface -------------------------------------------------------------------

    def open(self, spider: Spider) -> None:
        self.spider = spider
        self.max_pages = getattr(getattr(spider, "source", None), "max_pages", None)
        resumed, opened = 0, False
        with stopping_when_full(self.crawler):
            self.db = self._connect()
            with self.db:
                # Requests that were in flight when the last process stopped are due again, and counted again
                # when handed out: they leave the count now.
                recount = self.db.execute("SELECT COUNT(*) FROM queue WHERE state = ? AND counted", (IN_FLIGHT,))
                self.fetched = max(0, self._count(FETCHED) - int(recount.fetchone()[0]))
                self._set_count(FETCHED, self.fetched)
                resumed = self.db.execute(
                    "UPDATE queue SET state = ?, counted = 0 WHERE state = ?", (QUEUED, IN_FLIGHT)
                ).rowcount
            opened = True
        if not opened or self.db is None:
            # No room for the frontier: the crawl stops before it fetches anything, the file as it was for the
            # next run. The start requests go to a frontier in memory, and no further.
            self.hold()
            self.drain("disk full")
            if self.db is not None:
                self.db.close()
            self.db, _ = open_job_db(None, SCHEMA, "the crawl's frontier")
            return
        self.seen = {fp for (fp,) in self.db.execute("SELECT fp FROM seen")}
        self.queued = int(self.db.execute("SELECT COUNT(*) FROM queue").fetchone()[0])
        if self.queued:
            logger.info("resuming: %d requests queued (%d were in flight)", self.queued, resumed)
        self._stats("samizdat/frontier/resumed_in_flight", resumed)
        self._stats("samizdat/frontier/resumed_queued", self.queued - resumed)

    def close(self, reason: str) -> None:
        if self.db is None:
            return
        self.checkpoint(force=True)
        self.db.close()
        self.db = None

    def has_pending_requests(self) -> bool:
        return not self.draining and (self.queued > 0 or bool(self.memory))

    def enqueue_request(self, request: Request) -> bool:
        assert self.db is not None
        fingerprint = self.crawler.request_fingerprinter.fingerprint(request).hex()  # type: ignore[union-attr]
        if not request.dont_filter and fingerprint in self.seen:
            self._stats("samizdat/frontier/duplicates")
            return False
        try:
            blob = pickle.dumps(request.to_dict(spider=self.spider), protocol=4)
        except (ValueError, TypeError, AttributeError, pickle.PicklingError):
            blob = None
        stored = False
        # A full disk: the request is neither seen nor queued (one transaction), and the page that linked to
        # it stays in flight (the crawl holds it), so the next run reads that page again and finds the link.
        with stopping_when_full(self.crawler), self.db:
            if not request.dont_filter:
                cursor = self.db.execute("INSERT OR IGNORE INTO seen (fp) VALUES (?)", (fingerprint,))
                if cursor.rowcount == 0:
                    self._stats("samizdat/frontier/duplicates")
                    return False
            if blob is not None:
                self.db.execute(
                    "INSERT INTO queue (priority, state, request) VALUES (?, ?, ?)", (request.priority, QUEUED, blob)
                )
            stored = True
        if not stored:
            return False
        if not request.dont_filter:
            self.seen.add(fingerprint)  # once committed: a full disk leaves it unseen, for the next run
        if blob is not None:
            self.queued += 1
        if blob is None:
            self.memory.append(request)
            self._stats("scheduler/unserializable")
        self._stats("scheduler/enqueued")
        return True

    def next_request(self) -> Request | None:
        self.checkpoint()
        if self.draining:
            return None
        while self.memory:
            request = self.memory.pop(0)
            if not self._over_cap(request):
                return request
        assert self.db is not None
        while self.queued and not self.draining:
            row = None
            with stopping_when_full(self.crawler), self.db:
                row = self.db.execute(
                    "SELECT id, request FROM queue WHERE state = ? ORDER BY priority DESC, id LIMIT 1", (QUEUED,)
                ).fetchone()
                if row is None:
                    self.queued = 0
                    return None
                self.db.execute("UPDATE queue SET state = ? WHERE id = ?", (IN_FLIGHT, row[0]))
            if self.draining:  # the disk filled up marking it in flight: it stays queued for the next run
                return None
            self.queued -= 1
            try:
                request = request_from_dict(load_pickle(row[1]), spider=self.spider)
            except Exception as exc:  # a callback renamed since the request was queued, a damaged row
                logger.warning("dropping a queued request that no longer loads: %s", exc)
                self._stats("samizdat/frontier/unloadable")
                self._finish([row[0]])
                continue
            if self._over_cap(request, row[0]):
                self._finish([row[0]])
                continue
            self.in_flight[row[0]] = request
            self._stats("scheduler/dequeued")
            return request
        return None

    def __len__(self) -> int:
        return self.queued + len(self.memory)

    # -- ours ---------------------------------------------------------------------------------------------

    def _over_cap(self, request: Request, row: int | None = None) -> bool:
        """Whether max_pages leaves this request out (recorded as skipped); else it is counted, when it counts.
        A page's requisites never count: they are part of the page."""
        if not self.max_pages or request.meta.get("requisite") or not counts_as_page(request.url):
            return False
        if self.fetched >= self.max_pages:
            skip = getattr(self.spider, "skip", None)
            if skip is not None:
                skip(request.url, "max_pages")
            return True
        self.fetched += 1
        if self.db is not None:
            with stopping_when_full(self.crawler), self.db:
                self._set_count(FETCHED, self.fetched)
                if row is not None:
                    self.db.execute("UPDATE queue SET counted = 1 WHERE id = ?", (row,))
        return False

    def _count(self, name: str) -> int:
        assert self.db is not None
        row = self.db.execute("SELECT value FROM counts WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def _set_count(self, name: str, value: int) -> None:
        assert self.db is not None
        self.db.execute("INSERT OR REPLACE INTO counts (name, value) VALUES (?, ?)", (name, value))

    def hold(self) -> None:
        """Keep every request now in flight for the next run, whatever becomes of it (the disk is full: its
        response may not have been archived). The next run hands them out again; those that were archived are
        answered from the archive."""
        self.held = True

    def keep(self, request: Request) -> None:
        """Keep one in-flight request for the next run: it was still waiting for its host's turn when the
        crawl began to stop, and was not sent."""
        self.kept.add(request)

    def drain(self, reason: str) -> None:
        """Hand out nothing more: the engine finishes what is in flight, then goes idle and closes. The queue
        stays in the file for the next run."""
        self.draining = self.draining or reason

    def checkpoint(self, force: bool = False) -> None:
        """Forget the in-flight requests the engine has finished with: their response is archived, their
        links queued and their items stored. Requests still in the engine stay marked, to be redone after
        a kill."""
        now = time.monotonic()
        if self.held or not self.in_flight or (not force and now - self._checked_at < CHECKPOINT_SECONDS):
            return
        self._checked_at = now
        busy = engine_in_progress(self.crawler)
        if busy is None:
            return  # cannot tell: keep them all (a restart replays them from the archive)
        done = [rid for rid, request in self.in_flight.items() if request not in busy and request not in self.kept]
        self._finish(done)

    def _finish(self, ids: list[int]) -> None:
        if not ids or self.db is None:
            return
        with stopping_when_full(self.crawler), self.db:
            self.db.executemany("DELETE FROM queue WHERE id = ?", [(rid,) for rid in ids])
        if self.held:  # the disk filled up: they stay in the file, and are read again by the next run
            return
        for rid in ids:
            self.in_flight.pop(rid, None)

    def _connect(self) -> sqlite3.Connection:
        # A damaged frontier is set aside and the crawl starts its walk again: the replay middleware answers
        # every page this run archived from the WARC files.
        db, rebuilt = open_job_db(self.path, SCHEMA, "the crawl's frontier")
        if rebuilt:
            self._stats("samizdat/frontier/rebuilt")
        columns = {row[1] for row in db.execute("PRAGMA table_info(queue)")}
        if "counted" not in columns:  # a frontier written before max_pages was kept here
            with db:
                db.execute("ALTER TABLE queue ADD COLUMN counted INTEGER NOT NULL DEFAULT 0")
        return db

    def _stats(self, key: str, count: int = 1) -> None:
        if self.crawler.stats is not None:
            if count:
                self.crawler.stats.inc_value(key, count)
            # The queue's length, for the run's figures (live progress; what an interrupted run left).
            self.crawler.stats.set_value(QUEUED_STAT, len(self))


def counts_as_page(url: str) -> bool:
    """Whether a request counts against max_pages: any http(s) fetch but robots.txt."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and parts.path != "/robots.txt"


def engine_in_progress(crawler: Crawler) -> Any:
    """The requests the engine is still working on (downloading or scraping, items included), or None.

    Scrapy keeps them in its engine slot until the callback's output has been handled; it offers no signal
    for that moment, so we look at the slot, and fall back to "everything is still busy" if it changes."""
    slot = getattr(crawler.engine, "_slot", None)
    return getattr(slot, "inprogress", None)
