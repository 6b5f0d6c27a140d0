"""What the app keeps for its whole life (the data directory, ONE search service, the source catalog) and
what it opens per request (a Store: SQLite in WAL mode, so a crawl may write meanwhile)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import current_app, g

from archive.config import Config
from archive.datadir import DataDir
from archive.store import Store
from search import SearchService
from webui.sources import SourceCatalog

EXTENSION = "samizdat"


@dataclass
class Archive:
    datadir: DataDir
    search: SearchService
    catalog: SourceCatalog
    config: Config | None

    @property
    def root(self) -> Path:
        return self.datadir.root

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
