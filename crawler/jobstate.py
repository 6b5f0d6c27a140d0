"""A run's job state beside its frontier, surviving a kill: `spider.state` (Scrapy's SpiderState extension
writes it only on a clean close; this one also writes it, atomically, whenever the spider changes something it
must not forget: a magazine's issue facts, the articles waiting for them, the kind it detected), the URLs the
run left out, and the SQLite files they live in, set aside and rebuilt when damaged."""

from __future__ import annotations

import io
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

from samizdat.archive.sqlitefull import connect
from samizdat.crawler.diskfull import stopping_when_full

logger = logging.getLogger(__name__)

STATE_FILE = "spider.state"


# What a damaged or foreign pickle raises on loading.
UNLOADABLE = (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, ValueError)


class JobUnpickler(pickle.Unpickler):
    """Reads job files (spider state, queued requests) written before the layers became subpackages of
    samizdat (`archive.warc` is now `samizdat.archive.warc`): a run interrupted then resumes after the upgrade."""

    def find_class(self, module: str, name: str) -> Any:
        if module.split(".")[0] in ("archive", "crawler", "search", "webui"):
            module = f"samizdat.{module}"
        return super().find_class(module, name)


def load_pickle(blob: bytes) -> Any:
    """One of our own job files' pickles (trusted: the job directory is ours)."""
    return JobUnpickler(io.BytesIO(blob)).load()


class DurableSpiderState(SpiderState):
    def spider_opened(self, spider: Any) -> None:
        try:
            path = Path(self.statefn)
            spider.state = load_pickle(path.read_bytes()) if path.exists() else {}
        except UNLOADABLE as exc:
            # Damaged state is rebuilt, never a crash loop: what it held is read again from the archive.
            logger.warning("spider state in %s is damaged (%s); starting with an empty one", self.jobdir, exc)
            spider.state = {}
            spider.crawler.stats.inc_value("samizdat/frontier/state_rebuilt")

    def spider_closed(self, spider: Any) -> None:
        save_state(spider)


def save_state(spider: Any) -> None:
    """Write `spider.state` now (tmp file, fsync, rename): a kill leaves the old state or the new, never half.

    A disk with no room for it keeps the state last written: what is newer (a magazine issue's facts, say) is
    read again from the archive by the next run, as after a kill. The run is being stopped by then, the
    full disk reported by whichever write found it first (crawler.diskfull)."""
    jobdir = job_dir(spider.crawler.settings)
    if not jobdir or not hasattr(spider, "state"):
        return
    path = Path(jobdir, STATE_FILE)
    tmp = path.with_suffix(".tmp")
    with stopping_when_full(spider.crawler, path, "the spider's state"):
        try:
            with open(tmp, "wb") as fh:
                pickle.dump(spider.state, fh, protocol=4)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(path)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise


def load_state(jobdir: Path) -> dict[str, Any]:
    """A job's saved spider state without a spider (to know a detected kind before building one); {} when
    there is none or it is damaged."""
    try:
        state = load_pickle(Path(jobdir, STATE_FILE).read_bytes())
    except UNLOADABLE:
        return {}
    return state if isinstance(state, dict) else {}


def open_job_db(path: Path | None, schema: str, what: str) -> tuple[sqlite3.Connection, bool]:
    """A job's SQLite file (in memory without a job directory), and whether it had to be rebuilt: a damaged
    file is set aside, never a crash loop. Default isolation level: `with db:` is one transaction. `what` the
    file holds names it when a write finds the disk full (DatabaseFull)."""
    if path is None:
        return _open_db(":memory:", schema, what), False
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = _open_db(str(path), schema, what)
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
        return _open_db(str(path), schema, what), True


def _open_db(path: str, schema: str, what: str) -> sqlite3.Connection:
    db = connect(path, what, check_same_thread=False)
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
        self.db, _ = open_job_db(Path(jobdir, self.FILE) if jobdir else None, self.SCHEMA, "the run's skipped URLs")
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
