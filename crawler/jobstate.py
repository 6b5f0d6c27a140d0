"""A run's job state beside its frontier, surviving a kill: `spider.state` (Scrapy's SpiderState extension
writes it only on a clean close; this one also writes it, atomically, whenever the spider changes something it
must not forget: a magazine's issue facts, the articles waiting for them, the kind it detected), the URLs the
run left out, and the SQLite files they live in, set aside and rebuilt when damaged."""

from __future__ import annotations

import logging
import os
import pickle
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from scrapy.extensions.spiderstate import SpiderState
from scrapy.utils.job import job_dir

logger = logging.getLogger(__name__)

STATE_FILE = "spider.state"


class DurableSpiderState(SpiderState):
    def spider_opened(self, spider: Any) -> None:
        try:
            super().spider_opened(spider)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError) as exc:
            # Damaged state is rebuilt, never a crash loop: what it held is read again from the archive.
            logger.warning("spider state in %s is damaged (%s); starting with an empty one", self.jobdir, exc)
            spider.state = {}
            spider.crawler.stats.inc_value("samizdat/frontier/state_rebuilt")

    def spider_closed(self, spider: Any) -> None:
        save_state(spider)


def save_state(spider: Any) -> None:
    """Write `spider.state` now (tmp file, fsync, rename): a kill leaves the old state or the new, never half."""
    jobdir = job_dir(spider.crawler.settings)
    if not jobdir or not hasattr(spider, "state"):
        return
    path = Path(jobdir, STATE_FILE)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(spider.state, fh, protocol=4)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def load_state(jobdir: Path) -> dict[str, Any]:
    """A job's saved spider state without a spider (to know a detected kind before building one); {} when
    there is none or it is damaged."""
    try:
        with open(Path(jobdir, STATE_FILE), "rb") as fh:
            state = pickle.load(fh)  # our own file: trusted
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def open_job_db(path: Path | None, schema: str) -> tuple[sqlite3.Connection, bool]:
    """A job's SQLite file (in memory without a job directory), and whether it had to be rebuilt: a damaged
    file is set aside, never a crash loop. Default isolation level: `with db:` is one transaction."""
    if path is None:
        return _open_db(":memory:", schema), False
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = _open_db(str(path), schema)
        if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise sqlite3.DatabaseError("quick_check failed")
        return db, False
    except sqlite3.DatabaseError as exc:
        aside = path.with_name(f"{path.name}.damaged-{int(time.time())}")
        logger.warning("job state %s is damaged (%s); set aside as %s, rebuilding", path, exc, aside.name)
        for suffix in ("", "-wal", "-shm"):
            src = Path(f"{path}{suffix}")
            if src.exists():
                src.replace(Path(f"{aside}{suffix}"))
        return _open_db(str(path), schema), True


def _open_db(path: str, schema: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    # NORMAL: a commit survives the process being killed (the OS has it); only a power cut can lose the last few.
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(schema)
    return db


class SkippedUrls:
    """The URLs a run left out (by depth, max_pages, a trap rule, offsite, ...), once each per reason, in the
    job directory: a page read twice (a resumed run reads its in-flight pages again) counts nothing twice."""

    FILE = "skipped.sqlite"
    SCHEMA = "CREATE TABLE IF NOT EXISTS skipped (reason TEXT, url TEXT, PRIMARY KEY (reason, url)) WITHOUT ROWID;"

    def __init__(self, jobdir: str | None) -> None:
        self.db, _ = open_job_db(Path(jobdir, self.FILE) if jobdir else None, self.SCHEMA)
        self.db.isolation_level = None  # each insert commits on its own

    def add(self, reason: str, url: str) -> bool:
        """Record a left-out URL; True the first time this run leaves it out for this reason."""
        return self.db.execute("INSERT OR IGNORE INTO skipped VALUES (?, ?)", (reason, url)).rowcount == 1

    def close(self) -> None:
        self.db.close()

    @classmethod
    def counts(cls, jobdir: Path) -> dict[str, int]:
        """{reason: URLs} over every session of the run so far (read-only; {} when none were left out)."""
        path = Path(jobdir, cls.FILE)
        if not path.exists():
            return {}
        try:
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
                return dict(db.execute("SELECT reason, COUNT(*) FROM skipped GROUP BY reason"))
        except sqlite3.DatabaseError:
            return {}
