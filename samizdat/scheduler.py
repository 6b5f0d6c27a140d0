"""`samizdat schedule`: the long-lived process that crawls each source when its cron `schedule` says.

Every few seconds the scheduler looks at the clock (injectable, for tests) and at each source's schedule,
evaluated by croniter in the `timezone` setting. A source is due when a slot of its schedule has passed
since the last slot it was crawled for; however many slots passed while the scheduler was down, it runs
once. Each crawl is a `samizdat crawl NAME` process of its own (Twisted's reactor runs once per process):
it resumes an interrupted run, records its run in the store and keeps the index up to date.

- The same source never runs twice at once; at most `max_parallel_crawls` run side by side, and two
  sources that share a host wait for each other (the politeness gate is per process).
- sources.toml is read again when it changes; a bad edit is logged with its line and the previous
  definition is kept.
- A source with `watch_minutes` is watched between its crawls: that often, `samizdat crawl NAME --watch`
  reads its feeds, sitemaps and start pages and archives what is new or changed at once, and records the
  posts gone from its feeds that answer 404 or 410 as deleted on the site.
- A crawl whose figures (pages, articles, errors) do not move for `stall_minutes` is stopped (SIGTERM,
  then SIGKILL) and its run recorded as failed (stalled): it never blocks the source's later runs.
- SIGTERM or Ctrl-C stop the scheduler gracefully: running crawls are stopped as interrupted (each drains
  its in-flight requests), to be resumed at their next slot.

The slot each source was last crawled for is kept in `schedule.json` in the data directory.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from samizdat.archive.config import Config, Source, load_config
from samizdat.archive.datadir import DataDir
from samizdat.archive.errors import ConfigError
from samizdat.archive.schedule import STATE_FILE, is_due, last_slot, previous_slot, read_last_slots
from samizdat.archive.store import FAILED, Store

logger = logging.getLogger("samizdat.schedule")

KILL_GRACE_SECONDS = 60.0  # after SIGTERM, how long a crawl may take to drain before SIGKILL


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Crawl:
    """A crawl the scheduler started: its process and what the watchdog saw of it."""

    source: Source
    process: subprocess.Popen[bytes]
    watch: bool = False
    launched: datetime = field(default_factory=utc_now)  # wall time, to match the run's own record
    run_id: int | None = None
    figures: tuple[int, ...] = ()
    moved_at: datetime | None = None  # when its figures last changed
    stalled_at: datetime | None = None  # when the watchdog sent SIGTERM


class Scheduler:
    def __init__(
        self,
        config_path: Path,
        datadir: DataDir,
        clock: Callable[[], datetime] = utc_now,
        command: list[str] | None = None,
    ) -> None:
        self.config_path = Path(config_path)
        self.datadir = datadir
        self.clock = clock
        self.command = command or [sys.executable, "-m", "samizdat", "crawl"]
        self.config: Config = load_config(self.config_path)
        self.config_mtime = self._mtime()
        self.running: dict[str, Crawl] = {}
        self.stopping = threading.Event()
        self.state_path = datadir.root / STATE_FILE
        self.last_slots = read_last_slots(datadir.root)
        self.last_watches = read_last_slots(datadir.root, "last_watches")

    # -- the loop -------------------------------------------------------------------------------------

    def run(self, poll_seconds: float = 5.0) -> None:
        """Tick until stopped (`stop()`, SIGTERM or SIGINT), then stop the running crawls gracefully."""
        logger.info(
            "scheduling %d source(s) from %s (time zone %s, at most %d crawl(s) at once)",
            sum(1 for s in self.config.sources if s.schedule),
            self.config_path,
            self.config.settings.timezone,
            self.config.settings.max_parallel_crawls,
        )
        while not self.stopping.is_set():
            self.tick()
            self.stopping.wait(poll_seconds)
        self.shutdown()

    def stop(self, *_: Any) -> None:
        self.stopping.set()

    def tick(self) -> None:
        """One look at the clock: reload a changed sources.toml, reap finished crawls, stop stalled ones,
        start those that are due."""
        now = self.clock()
        self.reload()
        self.reap()
        self.watch(now)
        self.handle_requests(now)
        for source in self.due(now):
            self.start(source, now)
        for source in self.due_watches(now):
            self.start(source, now, watch=True)

    # -- what is due ----------------------------------------------------------------------------------

    def due(self, now: datetime) -> list[Source]:
        """Sources with a slot passed since the one they were last crawled for."""
        zone = self.config.settings.timezone

        def slot_passed(source: Source) -> bool:
            return source.schedule is not None and is_due(source.schedule, zone, self.last_slot(source.name), now)

        return self.startable(slot_passed)

    def handle_requests(self, now: datetime) -> None:
        """Crawls asked for from the admin area ("crawl now"): started before anything due, within the
        parallel limit; a source already being crawled is not crawled twice (the request is dropped)."""
        known = {source.name: source for source in self.config.sources}
        for request in self.datadir.crawl_requests():
            name, by = request["source"], request["by"] or "someone"
            source = known.get(name)
            if source is None:
                logger.warning("crawl of %s asked for by %s: no such source in sources.toml", name, by)
            elif not source.enabled:
                logger.warning("crawl of %s asked for by %s: the source is disabled", name, by)
            elif name in self.running or self.datadir.crawling(name):
                logger.info("crawl of %s asked for by %s: it is being crawled already", name, by)
            elif len(self.running) >= self.config.settings.max_parallel_crawls:
                continue  # stays asked for until a crawl ends
            else:
                self.start(source, now, asked_by=by)
            self.datadir.forget_request(name)

    def due_watches(self, now: datetime) -> list[Source]:
        """Sources whose `watch_minutes` have passed since their last crawl or watch began."""

        def waited(source: Source) -> bool:
            last = self.last_watches.get(source.name)
            minutes = source.watch_minutes or 0
            return bool(minutes) and (not last or (now - datetime.fromisoformat(last)).total_seconds() >= minutes * 60)

        return self.startable(waited)

    def startable(self, wanted: Callable[[Source], bool]) -> list[Source]:
        """The `wanted` sources that may start now, in sources.toml order: not running, within the parallel
        limit, and not sharing a host with a running crawl (it waits for the crawl of the same site to end)."""
        chosen: list[Source] = []
        busy_hosts = {host for crawl in self.running.values() for host in hosts(crawl.source)}
        for source in self.config.sources:
            if source.name in self.running or not source.enabled:
                continue
            if len(self.running) + len(chosen) >= self.config.settings.max_parallel_crawls:
                break
            if not wanted(source) or hosts(source) & busy_hosts:
                continue
            chosen.append(source)
            busy_hosts |= hosts(source)
        return chosen

    def last_slot(self, name: str) -> datetime | None:
        if name in self.last_slots or not self.datadir.store_path.exists():
            return last_slot(self.last_slots, name, None)
        with Store(self.datadir.store_path) as store:
            return last_slot(self.last_slots, name, store)

    # -- starting, watching, reaping --------------------------------------------------------------------

    def start(self, source: Source, now: datetime, watch: bool = False, asked_by: str | None = None) -> None:
        slot = previous_slot(source.schedule, now, self.config.settings.timezone) if source.schedule else now
        log = open(self.datadir.logs_dir / f"schedule-{source.name}.out", "ab")  # noqa: SIM115 (the child's)
        arguments = [source.name, "--config", str(self.config_path), "--data", str(self.datadir.root)]
        try:
            process = subprocess.Popen(
                [*self.command, *arguments, *(["--watch"] if watch else [])],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a stop reaches its extraction workers too
            )
        finally:
            log.close()
        self.running[source.name] = Crawl(source, process, watch, moved_at=now)
        if not watch:
            self.last_slots[source.name] = slot.isoformat()
        self.last_watches[source.name] = now.isoformat()  # a crawl, too, looks at everything a watch would
        self._save_state()
        if watch:
            logger.info("start %s (watch, pid %d)", source.name, process.pid)
        elif asked_by:
            logger.info("start %s (asked for by %s, pid %d)", source.name, asked_by, process.pid)
        else:
            logger.info("start %s (slot %s, pid %d)", source.name, _minute(slot), process.pid)

    def watch(self, now: datetime) -> None:
        """The watchdog: a crawl whose figures have not moved for `stall_minutes` is stopped."""
        limit = self.config.settings.stall_minutes * 60
        for crawl in self.running.values():
            if crawl.stalled_at is not None:
                if (now - crawl.stalled_at).total_seconds() > KILL_GRACE_SECONDS:
                    self._signal(crawl, signal.SIGKILL)
                continue
            figures = self.figures(crawl)
            if figures != crawl.figures:
                crawl.figures, crawl.moved_at = figures, now
            elif crawl.moved_at is not None and (now - crawl.moved_at).total_seconds() > limit:
                logger.warning("stalled %s: no progress for %.0f minutes; stopping it", crawl.source.name, limit / 60)
                crawl.stalled_at = now
                self._signal(crawl, signal.SIGTERM)

    def figures(self, crawl: Crawl) -> tuple[int, ...]:
        """What moves while a crawl makes progress: its run's pages, replays, articles and errors (saved by
        the crawl every few seconds)."""
        run = self._run_of(crawl)
        if run is None:
            return ()
        articles = run.get("articles") or {}
        return (
            int(run.get("pages", 0)),
            int(run.get("replayed", 0)),
            sum(int(v) for v in articles.values()),
            sum(int(v) for v in (run.get("errors") or {}).values()),
        )

    def reap(self) -> None:
        for name, crawl in list(self.running.items()):
            code = crawl.process.poll()
            if code is None:
                continue
            del self.running[name]
            run = self._run_of(crawl)
            if crawl.stalled_at is not None and run is not None:
                self._record_stalled(run)
                run = self._run_of(crawl)
            self.log_end(crawl, code, run)

    def log_end(self, crawl: Crawl, code: int, run: dict[str, Any] | None) -> None:
        seconds = int((utc_now() - crawl.launched).total_seconds())
        if run is None:
            logger.error("end %s: the crawl exited with status %d before recording a run", crawl.source.name, code)
            return
        articles = run.get("articles") or {}
        outcome = run["status"]
        if run.get("interrupted_by") and outcome != "finished":
            outcome += f" ({run['interrupted_by']})"
        line = (
            f"end {crawl.source.name}{' (watch)' if crawl.watch else ''}: {outcome}, run {run['id']}, "
            f"{run.get('pages', 0)} pages, {articles.get('new', 0)} new, {articles.get('changed', 0)} changed, "
            f"{run.get('gone', 0)} gone, {seconds} s"
        )
        flag = (run.get("flag") or {}).get("reason") if isinstance(run.get("flag"), dict) else None
        if run["status"] == FAILED or flag:
            logger.warning("%s; FLAGGED: %s", line, flag or run.get("failure") or "the crawl failed")
        else:
            logger.info(line)

    # -- stopping -------------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop every running crawl as interrupted (each drains what it has in flight), then reap them."""
        if self.running:
            logger.info("stopping %d running crawl(s); they resume at their next slot", len(self.running))
        for crawl in self.running.values():
            self._signal(crawl, signal.SIGTERM)
        deadline = time.monotonic() + KILL_GRACE_SECONDS
        for crawl in self.running.values():
            try:
                crawl.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(crawl, signal.SIGKILL)
                crawl.process.wait()
        self.reap()
        logger.info("scheduler stopped")

    # -- plumbing ---------------------------------------------------------------------------------------

    def reload(self) -> None:
        mtime = self._mtime()
        if mtime == self.config_mtime:
            return
        self.config_mtime = mtime
        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            logger.error("sources.toml changed but cannot be read, keeping the previous definition: %s", exc)
            return
        self.config = config
        logger.info("reloaded %s: %d source(s)", self.config_path, len(config.sources))

    def _mtime(self) -> float | None:
        try:
            return self.config_path.stat().st_mtime
        except OSError:
            return None

    def _run_of(self, crawl: Crawl) -> dict[str, Any] | None:
        try:
            return self._find_run(crawl)
        except sqlite3.Error as exc:  # a store being created by the crawl that just started: look next tick
            logger.debug("cannot read the runs of %s yet: %s", crawl.source.name, exc)
            return None

    def _find_run(self, crawl: Crawl) -> dict[str, Any] | None:
        """The run the crawl process works on: the one marked with its pid while it runs; once it has ended,
        the source's newest run if that ended after the process started (a crawl too short to be seen
        running). None when the process recorded no run (it failed before: a bad config, a busy source)."""
        if not self.datadir.store_path.exists():
            return None
        with Store(self.datadir.store_path) as store:
            if crawl.run_id is None:
                recent = store.runs(crawl.source.name, limit=3)
                mine = [run for run in recent if run.get("pid") == crawl.process.pid]
                if mine:
                    crawl.run_id = mine[0]["id"]
                elif (
                    recent
                    and recent[0]["finished_at"]
                    and crawl.process.poll() is not None
                    and datetime.fromisoformat(recent[0]["finished_at"]) >= crawl.launched.replace(microsecond=0)
                ):
                    crawl.run_id = recent[0]["id"]
            return store.run(crawl.run_id) if crawl.run_id is not None else None

    def _record_stalled(self, run: dict[str, Any]) -> None:
        with Store(self.datadir.store_path) as store:
            summary = {k: v for k, v in run.items() if k not in ("id", "source", "status", "job", "pid")}
            summary.update(failed=True, failure="stalled", interrupted_by="stalled")
            store.update_run(run["id"], status=FAILED, pid=None, summary=summary)
        job = run.get("job")
        if job:
            shutil.rmtree(self.datadir.root / job, ignore_errors=True)  # a failed run is not resumed

    def _signal(self, crawl: Crawl, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(crawl.process.pid, signum)

    def _save_state(self) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        state = {"last_slots": self.last_slots, "last_watches": self.last_watches}
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(self.state_path)


def hosts(source: Source) -> set[str]:
    return {host.split(":")[0] for host in source.scope}


def _minute(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")
