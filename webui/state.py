"""What the app keeps for its whole life (the data directory, ONE search service, the source catalog) and
what it opens per request (a Store: SQLite in WAL mode, so a crawl may write meanwhile)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app, g

from samizdat.archive.config import Config, load_config
from samizdat.archive.datadir import DataDir
from samizdat.archive.errors import ConfigError
from samizdat.archive.store import Store
from samizdat.search import SearchService
from samizdat.webui.sources import SourceCatalog

EXTENSION = "samizdat"


@dataclass
class Archive:
    datadir: DataDir
    search: SearchService
    config_path: Path | None = None  # sources.toml, when the app was given one
    # The last good reading of sources.toml, and why the file as it is now cannot be read (a bad hand edit).
    config_error: str | None = None
    _config: Config | None = field(default=None, repr=False)
    _stamp: tuple[int, int] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    catalog: SourceCatalog = field(init=False)

    def __post_init__(self) -> None:
        self.catalog = SourceCatalog(self.datadir.root, lambda: self.config)

    @property
    def root(self) -> Path:
        return self.datadir.root

    @property
    def config(self) -> Config | None:
        """sources.toml as it is now: read again whenever the file changed (by hand or from the admin area);
        after a bad edit, the last good reading (and `config_error` says what is wrong)."""
        if self.config_path is None:
            return None
        try:
            info = os.stat(self.config_path)
            stamp = (info.st_mtime_ns, info.st_size)
        except OSError as exc:
            self.config_error = f"{self.config_path}: cannot read it: {exc.strerror}"
            return self._config
        with self._lock:
            if stamp != self._stamp:
                try:
                    self.use(load_config(self.config_path))
                    self.config_error = None
                except ConfigError as exc:
                    self.config_error = str(exc)
                self._stamp = stamp
            return self._config

    def use(self, config: Config) -> None:
        """Take `config` as the current definition (just read, or just written by the admin area)."""
        self._config = config

    def open_store(self) -> Store:
        """A new connection to the store; an empty in-memory one before the first crawl created it, so
        that reading never creates files in the data directory."""
        path = self.datadir.store_path
        return Store(path if path.exists() else ":memory:")


def archive() -> Archive:
    found: Archive = current_app.extensions[EXTENSION]
    return found


def store() -> Store:
    """The request's store, opened on first use and closed when the request ends (see close_store)."""
    if "store" not in g:
        g.store = archive().open_store()
    opened: Store = g.store
    return opened


def close_store(_exc: BaseException | None = None) -> None:
    opened = g.pop("store", None)
    if opened is not None:
        opened.close()
