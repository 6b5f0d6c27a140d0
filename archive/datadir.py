"""The data directory: where everything lives, who may write, and how to tell it is ours."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from samizdat.archive.errors import DataDirBusy, DataDirError
from samizdat.archive.warc import warc_sort_key

MARKER = "samizdat.json"
TAKEDOWNS_NAME = "takedowns.sqlite"
FORMAT_VERSION = 1


class DataDir:
    """Layout: warc/ (the archive of record), store.sqlite, index/, cdxj/ (URL look-ups), jobs/ (unfinished crawl
    runs), logs/, locks/ (which sources are being crawled, whether a scheduler runs), requests/ (crawls asked for
    from the web), accounts.sqlite and session.key (the admin area's), takedowns.sqlite (what is hidden or purged).
    All but warc/, accounts.sqlite and takedowns.sqlite can be rebuilt; a lost jobs/ only means an interrupted
    run starts its walk again."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @property
    def warc_dir(self) -> Path:
        return self.root / "warc"

    @property
    def store_path(self) -> Path:
        return self.root / "store.sqlite"

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    @property
    def cdxj_dir(self) -> Path:
        """The CDXJ index (archive/cdxj.py): one sorted index per sealed WARC file, `index.cdxj` merging them,
        `index.json` saying what it holds. Derived from the WARC files."""
        return self.root / "cdxj"

    @property
    def jobs_dir(self) -> Path:
        """One job directory per unfinished crawl run: its frontier and spider state."""
        return self.root / "jobs"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def accounts_path(self) -> Path:
        """The archivists' accounts and what they did (archive.accounts): not derived, never rebuilt."""
        return self.root / "accounts.sqlite"

    @property
    def takedowns_path(self) -> Path:
        """What is hidden from search, export and the API, and what was purged (archive.takedowns): not
        derived, never rebuilt; back it up with the WARC files."""
        return self.root / TAKEDOWNS_NAME

    def session_secret(self) -> bytes:
        """The key that signs the web UI's session cookies: made on first use, readable by the owner only,
        kept in the data directory (never in the repository)."""
        path = self.root / "session.key"
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        key = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it meanwhile
            return path.read_bytes()
        try:
            os.write(fd, key)
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
        return key

    @classmethod
    def create(cls, root: str | Path) -> DataDir:
        """Open a data directory for writing, making it if needed; refuse a folder that is someone else's."""
        datadir = cls(root)
        marker = datadir.root / MARKER
        if datadir.root.exists() and not datadir.root.is_dir():
            raise DataDirError(f"data directory {datadir.root} is a file, not a directory")
        if datadir.root.exists() and any(datadir.root.iterdir()) and not marker.exists():
            raise DataDirError(
                f"{datadir.root} is not a samizdat data directory (no {MARKER}) and is not empty; choose another --data"
            )
        for path in (datadir.root, datadir.warc_dir, datadir.logs_dir):
            path.mkdir(parents=True, exist_ok=True)
        if not marker.exists():
            marker.write_text(json.dumps({"samizdat": FORMAT_VERSION}) + "\n", encoding="utf-8")
        return datadir

    @classmethod
    def open(cls, root: str | Path) -> DataDir:
        """Open an existing data directory for reading."""
        datadir = cls(root)
        if not datadir.root.is_dir():
            raise DataDirError(
                f"data directory {datadir.root} does not exist; run `samizdat crawl --data {datadir.root}` first "
                "or pass --data"
            )
        marker = datadir.root / MARKER
        if not marker.exists():
            raise DataDirError(f"{datadir.root} is not a samizdat data directory (no {MARKER}); check --data")
        try:
            version = json.loads(marker.read_text(encoding="utf-8")).get("samizdat")
        except (ValueError, AttributeError):
            raise DataDirError(f'{marker} is damaged; it should hold {{"samizdat": {FORMAT_VERSION}}}') from None
        if version != FORMAT_VERSION:
            raise DataDirError(f"{datadir.root} has format {version!r}; this samizdat reads format {FORMAT_VERSION}")
        return datadir

    def warc_files(self) -> list[Path]:
        """The sealed WARC files, oldest first (by the timestamp and serial in their names, whatever the
        source). Files still being written (`*.warc.gz.open`) are not listed."""
        if not self.warc_dir.is_dir():
            return []
        files = [p for p in self.warc_dir.iterdir() if p.name.endswith((".warc.gz", ".warc"))]
        return sorted(files, key=lambda p: warc_sort_key(p.name))

    @contextmanager
    def writer_lock(self, what: str) -> Iterator[None]:
        """The whole data directory to one writer (reindex, recovery): refused at once, with a clear message,
        while any other writer works in it."""
        with _flock(self.root / LOCK_FILE, fcntl.LOCK_EX, what) as holder:
            if holder is not None:
                raise DataDirBusy(f"{self.root} is busy: {holder} is writing to it; wait for it to finish")
            yield

    @contextmanager
    def crawl_lock(self, sources: list[str], what: str = "crawl") -> Iterator[None]:
        """Crawls of different sources share the data directory (the store, the index and the WARC directory
        take concurrent writers); a source is crawled by one process at a time, and no crawl runs during a
        reindex. Refused at once, with a clear message, otherwise."""
        with _flock(self.root / LOCK_FILE, fcntl.LOCK_SH, what) as holder:
            if holder is not None:
                raise DataDirBusy(f"{self.root} is busy: {holder} is writing to it; wait for it to finish")
            with ExitStack() as stack:
                locks = self.root / "locks"
                locks.mkdir(exist_ok=True)
                for name in sorted(set(sources)):
                    holder = stack.enter_context(_flock(locks / f"{name}.lock", fcntl.LOCK_EX, what))
                    if holder is not None:
                        raise DataDirBusy(
                            f"{self.root} is busy: source {name} is being crawled by {holder}; wait for it to finish"
                        )
                yield

    # -- the scheduler, and crawls asked for from the web --------------------------------------------------

    @contextmanager
    def scheduler_lock(self) -> Iterator[None]:
        """Held by `samizdat schedule` while it runs: one scheduler per data directory."""
        (self.root / "locks").mkdir(exist_ok=True)
        with _flock(self.root / "locks" / "scheduler.lock", fcntl.LOCK_EX, "schedule") as holder:
            if holder is not None:
                raise DataDirBusy(f"{self.root} has a scheduler already: {holder}")
            yield

    def scheduler_running(self) -> bool:
        return self._locked(self.root / "locks" / "scheduler.lock")

    def crawling(self, source: str) -> bool:
        """Whether some process crawls the source now (it holds the source's lock)."""
        return self._locked(self.root / "locks" / f"{source}.lock")

    def _locked(self, path: Path) -> bool:
        if not path.exists():
            return False
        with _flock(path, fcntl.LOCK_SH, "a look") as holder:
            return holder is not None

    @property
    def requests_dir(self) -> Path:
        """Crawls asked for from the web, for the scheduler to start: one `<source>.json` each."""
        return self.root / "requests"

    def request_crawl(self, source: str, by: str) -> None:
        self.requests_dir.mkdir(exist_ok=True)
        tmp = self.requests_dir / f".{source}.tmp"
        tmp.write_text(json.dumps({"source": source, "by": by}) + "\n", encoding="utf-8")
        tmp.replace(self.requests_dir / f"{source}.json")

    def crawl_requests(self) -> list[dict[str, str]]:
        if not self.requests_dir.is_dir():
            return []
        found = []
        for path in sorted(self.requests_dir.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                path.unlink(missing_ok=True)  # half a request is no request
                continue
            if isinstance(data, dict) and isinstance(data.get("source"), str):
                found.append({"source": data["source"], "by": str(data.get("by", ""))})
        return found

    def forget_request(self, source: str) -> None:
        (self.requests_dir / f"{source}.json").unlink(missing_ok=True)


LOCK_FILE = ".writer.lock"


@contextmanager
def _flock(path: Path, mode: int, what: str) -> Iterator[str | None]:
    """Hold an flock on `path` for the block, yielding None; or, when another process holds it, yield who
    without waiting. An exclusive holder writes itself into the file; shared holders (crawls) do not, so
    a writer refused by them is told that crawls are running."""
    with open(path, "a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            yield fh.read().strip() or "a running crawl (samizdat runs lists it)"
            return
        if mode == fcntl.LOCK_EX:
            fh.seek(0)
            fh.truncate()
            fh.write(f"samizdat {what} (pid {os.getpid()})")
            fh.flush()
        try:
            yield None
        finally:
            if mode == fcntl.LOCK_EX:
                fh.truncate(0)
            fcntl.flock(fh, fcntl.LOCK_UN)
