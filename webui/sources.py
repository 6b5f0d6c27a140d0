"""Per-source figures for the source pages and /api/sources: how complete the archive of a site is.

The figures come from archive/crawls.py, as those of `samizdat report NAME --json` do, in their shape
with a few more fields: kind, schedule, last crawl, articles, quality shares, skipped URLs by reason, errors
by kind, history. A source is defined by sources.toml when the app has one; without it, by the definition
its crawl recorded in the warcinfo record at the start of its WARC files (schedule, labels, start URLs), so
the pages work on a bare data directory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from samizdat.archive.config import Config, Source
from samizdat.archive.crawls import (
    HISTORY_CRAWLS,
    SHARES,
    describe_crawl,
    describe_kind,
    explain_flag,
    read_quality,
    share_percent,
    summarize_crawl,
)
from samizdat.archive.store import Store
from samizdat.archive.warc import iter_entries, resolve_warc_path


class SourceCatalog:
    """Which sources exist and how each is defined; thread-safe, shared by the app's requests."""

    def __init__(self, root: Path, config: Callable[[], Config | None]) -> None:
        self.root = root
        self.config = config  # sources.toml as it is now
        self._recorded: dict[str, Source | None] = {}  # WARC file -> the source its warcinfo names
        self._lock = threading.Lock()

    def names(self, store: Store) -> list[str]:
        """The sources of sources.toml first, in its order, then any other source the archive holds."""
        config = self.config()
        configured = [s.name for s in config.sources] if config else []
        return configured + [name for name in store.source_names() if name not in configured]

    def definition(self, name: str, store: Store) -> tuple[Source | None, bool]:
        """(the source's definition or None, whether sources.toml defines it)."""
        config = self.config()
        if config:
            for source in config.sources:
                if source.name == name:
                    return source, True
        crawl = store.last_crawls().get(name)
        for warc_file in (crawl or {}).get("warc_files") or []:
            recorded = self._from_warc(str(warc_file))
            if recorded is not None and recorded.name == name:
                return recorded, False
        return None, False

    def _from_warc(self, warc_file: str) -> Source | None:
        with self._lock:
            if warc_file in self._recorded:
                return self._recorded[warc_file]
        source = None
        try:
            path: Path | None = resolve_warc_path(self.root, f"warc/{Path(warc_file).name}")
        except (OSError, ValueError):
            path = None
        if path is not None:
            entries = iter_entries(path, path.name, responses=False)
            try:
                # The warcinfo record comes first; reading on would decompress the whole file.
                entry = next(entries, None)
                info = entry.info.get("samizdat-source") if entry and entry.type == "warcinfo" else None
                source = Source.from_dict(info) if isinstance(info, dict) else None
            except (OSError, ValueError, TypeError):
                source = None
            finally:
                close = getattr(entries, "close", None)  # a generator: close it, and its file, now
                if close is not None:
                    close()
        with self._lock:
            self._recorded[warc_file] = source
        return source


def source_figures(name: str, catalog: SourceCatalog, store: Store, history: bool = True) -> dict[str, Any] | None:
    """Everything about one source, or None when neither sources.toml nor the archive knows it."""
    source, in_config = catalog.definition(name, store)
    crawls = store.crawl_history(name, HISTORY_CRAWLS if history else 1)
    archived = store.count(name)
    if source is None and not crawls and not archived:
        return None
    last = crawls[0] if crawls else None
    own_labels = list(source.labels) if source else []
    quality = read_quality(store, name, own_labels, last) if last else None
    figures: dict[str, Any] = {
        "source": name,
        **describe_kind(source, last),
        "schedule": source.schedule if source else None,
        "start_urls": list(source.start_urls) if source else [],
        "labels": own_labels,
        "defined_by": "sources.toml" if in_config else ("crawl record" if source else None),
        "archived": archived,
        "articles": quality["articles"] if quality else None,
        "quality": quality,
        "percent": _percents(quality),
        "last_crawl": describe_crawl(last) if last else None,
        "flagged": bool(last and last.get("flag")),
        "flag": explain_flag(last),
    }
    if history:
        figures["history"] = [summarize_crawl(crawl) for crawl in crawls]
    return figures


def all_figures(catalog: SourceCatalog, store: Store) -> list[dict[str, Any]]:
    rows = (source_figures(name, catalog, store, history=False) for name in catalog.names(store))
    return [row for row in rows if row is not None]


def _percents(quality: dict[str, Any] | None) -> dict[str, int | None]:
    """Shares as whole percentages rounded down, from the counts: 100 means every article."""
    return {name: share_percent(quality, name) for name, _ in SHARES}
