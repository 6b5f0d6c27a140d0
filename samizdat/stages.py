"""The wiring of the stages: crawl -> store -> index, reindex from the WARC files, export.

The only module (with the CLI) that imports archive, crawler and search together.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from archive.config import Config, Source
from archive.datadir import DataDir
from archive.document import Document
from archive.errors import DataDirError
from archive.extract import Facts, extract, merge_facts, read_facts, reader_for
from archive.store import Store
from archive.warc import iter_entries
from samizdat import report
from search import Indexer, SearchParams, SearchService

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def crawl(datadir: DataDir, config: Config, names: Iterable[str], progress: Progress = _quiet) -> list[dict[str, Any]]:
    """Crawl the named sources (all when none), store their articles and update the index in place."""
    from crawler.run import run_crawl  # Scrapy and Twisted load only when a crawl runs

    sources = config.select(list(names))
    with datadir.writer_lock("crawl"):
        progress(f"crawling {len(sources)} source(s) into {datadir.root}")
        with Store(datadir.store_path) as store:
            since = store.max_version()
        summaries = run_crawl(datadir, sources, config.settings)
        by_name = {source.name: source for source in sources}
        with Store(datadir.store_path) as store:
            for summary in summaries:
                report.assess(store, by_name[summary["source"]], summary)  # quality figures and drop flag
                store.record_crawl(summary["source"], summary["started_at"], summary["finished_at"], summary)
            with Indexer(datadir.index_dir) as indexer:
                indexer.update(store.iter_changed_since(since))
    return summaries


def reindex(datadir: DataDir, config: Config | None = None, progress: Progress = _quiet) -> dict[str, int]:
    """Rebuild the store and the index from the WARC files alone; swap them in only when complete.

    Each WARC file names its source in its warcinfo record. When a sources.toml is given, its current
    definition of a source (labels, kind) wins over the one recorded at crawl time.
    """
    files = datadir.warc_files()
    if not files:
        raise DataDirError(f"{datadir.root} holds no WARC files; nothing to rebuild from (run `samizdat crawl`)")
    current = {s.name: s for s in config.sources} if config else {}
    store_tmp = datadir.root / "store.sqlite.rebuild"
    index_tmp = datadir.root / "index.rebuild"
    for path in (store_tmp, Path(f"{store_tmp}-wal"), Path(f"{store_tmp}-shm")):
        path.unlink(missing_ok=True)
    shutil.rmtree(index_tmp, ignore_errors=True)
    counts = {"files": 0, "responses": 0, "articles": 0, "documents": 0}
    with datadir.writer_lock("reindex"):
        sources, kinds = _scan(files, current)
        facts = _facts(files, sources, kinds)
        with Store(store_tmp) as store:
            for number, path in enumerate(files, 1):
                source = sources.get(path)
                for entry in iter_entries(path, f"warc/{path.name}"):
                    if entry.type == "response" and entry.capture is not None and source is not None:
                        counts["responses"] += 1
                        kind = source.kind or kinds.get(source.name)
                        result = extract(entry.capture, source, kind, facts.get(source.name))
                        if result.document is not None:
                            store.upsert(result.document)
                            counts["articles"] += 1
                counts["files"] = number
                progress(
                    f"reindex: {number}/{len(files)} WARC files, {counts['responses']} responses, "
                    f"{counts['articles']} articles"
                )
            counts["documents"] = store.count()
            with Indexer(index_tmp) as indexer:
                # A rebuild writes everything at once: large batches in two processes, merged once.
                indexer.update(store.iter_latest(), batch_size=5000, procs=2, multisegment=True)
            progress(f"reindex: indexed {counts['documents']} documents")
            for row in _copy_crawl_log(datadir):
                store.record_crawl(*row)
        _swap(datadir, store_tmp, index_tmp)
    return counts


def _scan(files: list[Path], current: dict[str, Source]) -> tuple[dict[Path, Source], dict[str, str]]:
    """Each file's source (its warcinfo record), and the kind each source was found to be during its
    crawls (metadata records, the newest last)."""
    sources: dict[Path, Source] = {}
    kinds: dict[str, str] = {}
    for path in files:
        for entry in iter_entries(path, path.name, responses=False):
            if entry.type == "warcinfo" and isinstance(entry.info.get("samizdat-source"), dict):
                recorded = Source.from_dict(entry.info["samizdat-source"])
                sources[path] = current.get(recorded.name, recorded)
            elif entry.type == "metadata" and entry.info.get("detected-kind"):
                kinds[str(entry.info.get("samizdat-source"))] = str(entry.info["detected-kind"])
    return sources, kinds


def _facts(files: list[Path], sources: dict[Path, Source], kinds: dict[str, str]) -> dict[str, Facts]:
    """What pages say about other pages (a magazine's issue dates), gathered before any article is read,
    as the crawl had gathered them by the time it read the article."""
    facts: dict[str, Facts] = {}
    for path in files:
        source = sources.get(path)
        if source is None or not reader_for(source.kind or kinds.get(source.name)).offers_facts:
            continue
        for entry in iter_entries(path, path.name):
            if entry.type == "response" and entry.capture is not None:
                found = read_facts(entry.capture, source, source.kind or kinds.get(source.name))
                merge_facts(facts.setdefault(source.name, {}), found)
    return facts


def _copy_crawl_log(datadir: DataDir) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Crawl summaries are history, not derived data: carry them over into the rebuilt store."""
    if not datadir.store_path.exists():
        return []
    with Store(datadir.store_path) as old:
        rows = old.db.execute("SELECT source, started_at, finished_at, summary FROM crawls ORDER BY id").fetchall()
    return [(s, a, b, json.loads(summary)) for s, a, b, summary in rows]


def _swap(datadir: DataDir, store_tmp: Path, index_tmp: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{datadir.store_path}{suffix}").unlink(missing_ok=True)
    store_tmp.replace(datadir.store_path)
    old_index = datadir.root / "index.old"
    shutil.rmtree(old_index, ignore_errors=True)
    if datadir.index_dir.exists():
        datadir.index_dir.replace(old_index)
    index_tmp.replace(datadir.index_dir)
    shutil.rmtree(old_index, ignore_errors=True)


def open_search(datadir: DataDir) -> SearchService:
    if not datadir.index_dir.exists():
        raise DataDirError(f"{datadir.root} has no search index yet; run `samizdat crawl` or `samizdat reindex`")
    return SearchService(datadir.index_dir)


def matching_documents(datadir: DataDir, params: SearchParams) -> Iterator[Document]:
    """Every document the search parameters select, newest version, in the requested order."""
    with open_search(datadir) as service:
        ids = list(service.iter_ids(params))
    with Store(datadir.store_path) as store:
        yield from store.get_many(ids)
