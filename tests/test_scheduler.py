"""`samizdat schedule`: the sample sites crawled on cron schedules, the scheduler's clock injected (its crawls
are real `samizdat crawl` processes against real servers); a real scheduler process stopped with SIGTERM."""

from __future__ import annotations

import json
import logging
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from samizdat.archive.datadir import DataDir
from samizdat.archive.schedule import next_slot, previous_slot
from samizdat.archive.store import Store
from samizdat.sample_sites import sources_toml
from samizdat.scheduler import Scheduler
from tests.conftest import run_cli
from tests.test_durable import wait_for

SETTINGS = "\n[settings]\nprogress_seconds = 0\ntimeout_seconds = 10\n"


class Clock:
    """The scheduler's clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def scheduled(urls: dict[str, str], sites: tuple[str, ...], schedule: str, settings: str = "") -> str:
    """sources.toml for the sample sites named, each with the schedule."""
    text = sources_toml(urls, sites=sites)
    return text.replace("delay = 0\n", f'delay = 0\nschedule = "{schedule}"\n') + SETTINGS + settings


def runs_of(data: Path) -> list[dict]:
    with Store(data / "store.sqlite") as store:
        return list(reversed(store.runs(limit=100)))


def settle(scheduler: Scheduler, timeout: float = 120) -> None:
    """Tick (the clock standing still) until no crawl runs."""
    deadline = time.monotonic() + timeout
    scheduler.tick()
    while scheduler.running:
        assert time.monotonic() < deadline, "the scheduled crawls did not end"
        time.sleep(0.2)
        scheduler.tick()


def test_slots_are_read_in_the_configured_time_zone():
    now = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
    assert previous_slot("0 3 * * *", now, "UTC") == datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    # 03:00 in Almaty (UTC+5) is 22:00 UTC the day before.
    assert previous_slot("0 3 * * *", now, "Asia/Almaty") == datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
    assert next_slot("0 3 * * *", now, "Asia/Almaty") == datetime(2026, 12, 1, 22, 0, tzinfo=UTC)
    assert previous_slot("30 10 * * *", now, "UTC") == now  # a slot that is now has come


def test_due_sources_run_once_each_never_twice_at_once_and_catch_up_once(sample_sites, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="samizdat.schedule")
    config, data = tmp_path / "sources.toml", tmp_path / "data"
    config.write_text(scheduled(sample_sites.urls, ("hugo", "magazine"), "0 * * * *", "max_parallel_crawls = 1\n"))
    clock = Clock(datetime(2026, 12, 1, 10, 30, tzinfo=UTC))
    scheduler = Scheduler(config, DataDir.create(data), clock=clock)

    # Never crawled: both due at once, but one crawl at a time, and never the same source twice.
    scheduler.tick()
    assert list(scheduler.running) == ["red-lantern"]
    scheduler.tick()
    assert list(scheduler.running) == ["red-lantern"]
    settle(scheduler)
    assert [(r["source"], r["status"]) for r in runs_of(data)] == [
        ("red-lantern", "finished"),
        ("field-notes", "finished"),
    ]
    scheduler.tick()  # the 10:00 slot is done
    assert not scheduler.running

    # Five hours down: five slots missed, each source crawled once for them.
    clock.advance(hours=5)
    settle(scheduler)
    settle(scheduler)
    assert [r["source"] for r in runs_of(data)] == ["red-lantern", "field-notes"] * 2
    assert json.loads((data / "schedule.json").read_text())["last_slots"] == {
        "field-notes": "2026-12-01T15:00:00+00:00",
        "red-lantern": "2026-12-01T15:00:00+00:00",
    }
    assert sum(r.getMessage().startswith("start field-notes") for r in caplog.records) == 2
    assert sum(r.getMessage().startswith("end red-lantern: finished") for r in caplog.records) == 2

    # A bad edit is reported with its line and changes nothing; a good one is taken at the next tick.
    good = config.read_text()
    config.write_text(good.replace('schedule = "0 * * * *"', 'schedule = "every hour"', 1))
    scheduler.tick()
    assert any("sources.toml:" in r.getMessage() and "every hour" in r.getMessage() for r in caplog.records)
    assert [s.schedule for s in scheduler.config.sources] == ["0 * * * *"] * 2
    config.write_text(good.replace('schedule = "0 * * * *"', 'schedule = "*/10 * * * *"', 1))
    time.sleep(0.01)
    scheduler.tick()  # 15:30 is a slot of the new schedule: red-lantern is due at once
    assert scheduler.config.sources[0].schedule == "*/10 * * * *" and list(scheduler.running) == ["red-lantern"]
    settle(scheduler)
    clock.advance(minutes=10)  # 15:40: red-lantern is due again, field-notes (hourly) is not
    settle(scheduler)
    assert [r["source"] for r in runs_of(data)][4:] == ["red-lantern", "red-lantern"]

    # `samizdat sources` shows each source's schedule, its last run and when it runs next.
    listed = run_cli("sources", "--json", "--config", config, "--data", data)
    assert listed.returncode == 0, listed.stderr
    rows = {row["source"]: row for row in json.loads(listed.stdout)["sources"]}
    assert rows["red-lantern"]["schedule"] == "*/10 * * * *" and rows["red-lantern"]["timezone"] == "UTC"
    assert rows["red-lantern"]["last_run"]["id"] == 6 and rows["red-lantern"]["last_run"]["status"] == "finished"
    assert all(datetime.fromisoformat(row["next_run"]) for row in rows.values())
    text = run_cli("sources", "--config", config, "--data", data).stdout
    assert re.search(
        r"^red-lantern .* #6 finished +\d{4}-\d\d-\d\d \d\d:\d\d UTC +\*/10 \* \* \* \* \(UTC\)$", text, re.M
    )


def hung_server() -> tuple[socket.socket, str]:
    """A server that takes connections and never answers: a crawl of it makes no progress."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    return server, f"http://127.0.0.1:{server.getsockname()[1]}/"


def test_the_watchdog_stops_a_stalled_crawl_and_records_it_failed(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="samizdat.schedule")
    server, url = hung_server()
    config, data = tmp_path / "sources.toml", tmp_path / "data"
    config.write_text(
        f'[[source]]\nname = "hung"\nkind = "generic"\nstart_urls = ["{url}"]\ndelay = 0\nschedule = "0 3 * * *"\n'
        "\n[settings]\nprogress_seconds = 0\ntimeout_seconds = 600\nstall_minutes = 1\n"
    )
    clock = Clock(datetime(2026, 12, 1, 10, 30, tzinfo=UTC))
    scheduler = Scheduler(config, DataDir.create(data), clock=clock)
    try:
        scheduler.tick()
        crawl = scheduler.running["hung"]
        wait_for(lambda: (data / "store.sqlite").exists() and runs_of(data))
        scheduler.tick()  # sees the run, figures at zero
        for _ in range(20):  # a minute and more without progress, then the grace time for SIGTERM
            clock.advance(seconds=20)
            scheduler.tick()
            if not scheduler.running:
                break
            time.sleep(0.5)
        assert not scheduler.running and crawl.process.returncode is not None
    finally:
        server.close()
        for crawl in scheduler.running.values():
            crawl.process.kill()
    (run,) = runs_of(data)
    assert run["status"] == "failed" and run["failure"] == "stalled"
    assert not (data / run["job"]).exists()  # a failed run is not resumed
    assert any(r.getMessage().startswith("stalled hung") for r in caplog.records)
    assert any(r.getMessage().startswith("end hung: failed") and "FLAGGED" in r.getMessage() for r in caplog.records)


def test_sigterm_stops_the_scheduler_and_its_crawls_gracefully_to_be_resumed(sample_sites, tmp_path):
    config, data = tmp_path / "sources.toml", tmp_path / "data"
    slow = scheduled(sample_sites.urls, ("wordpress",), "0 3 * * *").replace("delay = 0\n", "delay = 0.2\n")
    config.write_text(slow)
    process = subprocess.Popen(
        [sys.executable, "-m", "samizdat", "schedule", "--config", config, "--data", data, "--poll-seconds", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: (data / "store.sqlite").exists() and runs_of(data) and runs_of(data)[0].get("pages", 0) > 5)
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    (run,) = runs_of(data)
    assert run["status"] == "interrupted" and "SIGTERM" in run["interrupted_by"]
    log = (data / "logs" / "scheduler.log").read_text()
    assert "start tenants-voice" in log and "end tenants-voice: interrupted" in log and "scheduler stopped" in log
    # The next crawl resumes the run the stop interrupted.
    result = run_cli("crawl", "--config", config, "--data", data)
    assert result.returncode == 0, result.stderr
    (run,) = runs_of(data)
    assert run["status"] == "finished" and run["sessions"] == 2


def test_one_scheduler_per_data_directory(sample_sites, tmp_path):
    config, data = tmp_path / "sources.toml", tmp_path / "data"
    config.write_text(scheduled(sample_sites.urls, ("hugo",), "0 3 * * *"))
    with DataDir.create(data).scheduler_lock():
        second = run_cli("schedule", "--config", config, "--data", data)
    assert second.returncode == 1 and "has a scheduler already" in second.stderr and "Traceback" not in second.stderr
    assert not (data / "store.sqlite").exists()  # it crawled nothing
