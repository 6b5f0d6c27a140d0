"""The wiring of the stages: crawl -> store -> index, reindex from the WARC files, export.

The only module (with the CLI) that imports archive, crawler and search together.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from samizdat import report
from samizdat.archive import cdxj
from samizdat.archive.config import Config, Settings, Source
from samizdat.archive.datadir import DataDir
from samizdat.archive.document import Document
from samizdat.archive.errors import DataDirBusy, DataDirError
from samizdat.archive.extract import Facts, merge_facts, read_facts, reader_for
from samizdat.archive.sqlitefull import DatabaseFull
from samizdat.archive.store import INTERRUPTED, Store
from samizdat.archive.urls import normalize_url
from samizdat.archive.warc import (
    FULL_ERRNOS,
    Capture,
    Original,
    iter_entries,
    read_capture,
    rendered_capture,
    seal_leftovers,
)
from samizdat.crawler.extraction import running_pool
from samizdat.search import SearchParams, SearchService
from samizdat.search.catchup import catch_up

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def crawl(
    datadir: DataDir, config: Config, names: Iterable[str], progress: Progress = _quiet, watch: bool = False
) -> tuple[list[dict[str, Any]], int | None]:
    """Crawl the named sources (all when none), each as a durable run: resumed when its last run was
    interrupted. The search index follows the store while it runs. Returns the runs' summaries and the
    signal that stopped the crawl, if one did (its documents are stored and indexed all the same).
    `watch`: only what the sources' feeds and sitemaps list as new or changed (a quick look between full
    crawls, never a baseline for the crawl QA)."""
    from samizdat.crawler.run import run_crawl  # Scrapy and Twisted load only when a crawl runs

    sources = config.select(list(names))
    with datadir.crawl_lock([source.name for source in sources]):
        recover(datadir, progress)
        progress(f"crawling {len(sources)} source(s) into {datadir.root}")
        follow_index = partial(catch_up, datadir.store_path, datadir.index_dir)
        summaries, signum = run_crawl(datadir, sources, config.settings, background=follow_index, watch=watch)
        by_name = {source.name: source for source in sources}
        try:
            with Store(datadir.store_path) as store:
                for summary in summaries:
                    if summary["status"] != INTERRUPTED and not watch:
                        report.assess(store, by_name[summary["source"]], summary)  # quality figures, drop flag
                    store.update_run(
                        summary["run"],
                        status=summary["status"],
                        finished_at=summary["finished_at"],
                        pid=None,
                        summary=summary,
                    )
            catch_up(datadir.store_path, datadir.index_dir, progress=progress)
        except OSError as exc:
            # The disk filled up (the crawl has said so): a run still marked running is found stopped and
            # resumed by the next crawl, and the index catches up with the store then.
            if not isinstance(exc, DatabaseFull) and exc.errno not in FULL_ERRNOS:
                raise
            progress(f"the runs' records and the index wait for room ({exc.strerror}): the next crawl updates them")
    return summaries, signum


def recover(datadir: DataDir, progress: Progress = _quiet) -> None:
    """What a killed process left, put right before anything else writes (call it holding a lock of the data
    directory): WARC files left open by a dead process are cut back to their last complete record and sealed,
    the CDXJ index catches up with the sealed WARC files, runs still marked running by a dead process become
    interrupted (the next crawl resumes them), and the index catches up with the store. What live crawls beside
    this one are writing is left alone."""
    for leftover in seal_leftovers(datadir.warc_dir):
        progress(
            f"{leftover['file']}: left open by a stopped crawl; {leftover['action']} "
            f"({leftover['records']} complete records kept, {leftover['cut_bytes']} bytes cut)"
        )
    try:
        cdxj.catch_up(datadir.root, progress=progress)
    except OSError as exc:  # a derived index: the next command tries again
        logger.warning("%s: the CDXJ index was not brought up to date: %s", datadir.root, exc)
    if datadir.store_path.exists():
        with Store(datadir.store_path) as store:
            stale = store.mark_stale_runs()
        if stale:
            progress(f"{stale} run(s) left running by a stopped process are marked interrupted")
    catch_up(datadir.store_path, datadir.index_dir, progress=progress)


def reindex(
    datadir: DataDir, config: Config | None = None, progress: Progress = _quiet, settings: Settings | None = None
) -> dict[str, int]:
    """Rebuild the store and the index from the WARC files alone; swap them in only when complete. Then every
    CDXJ index is written again from the WARC files (`counts["captures"]`: the lines of the merged one).

    Each WARC file names its source in its warcinfo record. When a sources.toml is given, its current
    definition of a source (labels, kind) wins over the one recorded at crawl time.
    """
    current = {s.name: s for s in config.sources} if config else {}
    settings = settings or (config.settings if config else Settings())
    store_tmp = datadir.root / "store.sqlite.rebuild"
    index_tmp = datadir.root / "index.rebuild"
    for path in (store_tmp, Path(f"{store_tmp}-wal"), Path(f"{store_tmp}-shm")):
        path.unlink(missing_ok=True)
    shutil.rmtree(index_tmp, ignore_errors=True)
    counts = {"files": 0, "responses": 0, "articles": 0, "documents": 0}
    with datadir.writer_lock("reindex"):
        recover(datadir, progress)  # seals the WARC files a killed crawl left open: they are read too
        files = datadir.warc_files()
        if not files:
            raise DataDirError(f"{datadir.root} holds no WARC files; nothing to rebuild from (run `samizdat crawl`)")
        sources, kinds = _scan(files, current)
        facts = _facts(files, sources, kinds)
        gone: list[tuple[str, str, int]] = []
        with Store(store_tmp) as store, running_pool(settings.workers, settings.extract_timeout_seconds) as pool:
            for number, path in enumerate(files, 1):
                source = sources.get(path)
                if source is not None:
                    kind = source.kind or kinds.get(source.name)
                    captures = _captures(datadir.root, path, store, gone)
                    for result in pool.map_extract(captures, source, kind, facts.get(source.name, {})):
                        counts["responses"] += 1
                        if result.document is not None:
                            store.upsert(result.document)
                            counts["articles"] += 1
                counts["files"] = number
                progress(
                    f"reindex: {number}/{len(files)} WARC files, {counts['responses']} responses, "
                    f"{counts['articles']} articles"
                )
            for url, when, status in gone:  # articles deleted on the site, as the crawls saw them
                store.mark_gone(url, when, status)
            counts["documents"] = store.count()
            runs, listed = _history(datadir)
            for row in runs:
                store.copy_run(row)
            for source, urls in listed.items():
                for run, entries in urls.items():
                    store.record_listed(source, entries, run)
        # A rebuild writes everything at once: large batches in two processes, merged once.
        catch_up(store_tmp, index_tmp, batch_size=5000, procs=2, rebuild=True)
        progress(f"reindex: indexed {counts['documents']} documents")
        _swap(datadir, store_tmp, index_tmp)
        counts["captures"] = cdxj.catch_up(datadir.root, rebuild=True, progress=progress)["lines"]
    return counts


def _captures(root: Path, path: Path, store: Store, gone: list[tuple[str, str, int]]) -> Iterator[Capture]:
    """A file's captures as the crawl read them: a 304 or a revisit record stands for the newest full capture
    of its URL before it (recorded in `store` as the files are read, oldest first), read from there and dated
    by the check. What cannot be resolved (its original's file is gone) is logged and left out. 404 and 410
    answers go to `gone`, to be applied once every article is stored. A page captured in a browser is read as
    the browser rendered it (the conversion record written right after its response), as the crawl read it.
    Requisites (records marked WARC-Resource-Type) are never read as pages."""
    held: Capture | None = None  # the last capture, until the next entry shows whether a rendering follows
    for entry in iter_entries(path, f"warc/{path.name}"):
        if entry.type == "rendered" and entry.capture is not None:
            if held is not None and held.url == entry.capture.url:
                yield rendered_capture(held, entry.capture)
                held = None
            continue
        if held is not None:
            yield held
            held = None
        if entry.type == "response" and entry.capture is not None and entry.capture.resource_type:
            # A page's requisite: never a document. Its capture is known, as the crawl knew it (a recrawl
            # asks for it conditionally and writes a revisit when it is unchanged).
            if entry.capture.status == 200:
                store.record_capture(Original.of(entry.capture))
            continue
        if entry.type == "revisit" and entry.info.get("resource_type"):
            continue
        if entry.type == "response" and entry.capture is not None:
            capture = entry.capture
            if capture.status != 304:
                if capture.status == 200:
                    store.record_capture(Original.of(capture))
                elif capture.status in (404, 410):
                    gone.append((normalize_url(capture.url), capture.fetched_at, capture.status))
                held = capture
                continue
            url, date, digest = capture.url, capture.fetched_at, None
        elif entry.type == "revisit":
            url, date, digest = entry.info["url"], entry.info["date"], entry.info["digest"]
        else:
            continue
        original = store.last_capture(url)
        try:
            if original is None or (digest is not None and digest != original.digest):
                raise ValueError("no earlier capture of the same payload")
            resolved = read_capture(root, original.warc_file, original.offset)
        except (OSError, ValueError) as exc:
            logger.warning(
                "%s@%d (%s): left out, its archived original cannot be read: %s", path.name, entry.offset, url, exc
            )
            continue
        resolved.fetched_at = date
        held = resolved
    if held is not None:
        yield held


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


def _history(datadir: DataDir) -> tuple[list[dict[str, Any]], dict[str, dict[int, list[str]]]]:
    """What the old store holds that is history, not derived data, to carry over into the rebuilt one: the
    crawl runs (oldest first), and what the feeds listed at each run (to tell next time which posts vanished)."""
    if not datadir.store_path.exists():
        return [], {}
    with Store(datadir.store_path) as old:
        return list(reversed(old.runs(limit=-1))), old.listed_by_run()


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


def open_archive(root: Path, progress: Progress = _quiet) -> DataDir:
    """Open a data directory for reading, first putting right what a killed process left (see `recover`),
    unless a crawl or reindex is running: that one keeps the archive right itself."""
    datadir = DataDir.open(root)
    try:
        with datadir.writer_lock("recovery"):
            recover(datadir, progress)
    except DataDirBusy:
        pass
    return datadir


def open_search(datadir: DataDir) -> SearchService:
    if not datadir.index_dir.exists():
        raise DataDirError(f"{datadir.root} has no search index yet; run `samizdat crawl` or `samizdat reindex`")
    return SearchService(datadir.index_dir)


def purge(
    datadir: DataDir, by: str, reason: str, doc_id: str | None = None, source: str | None = None
) -> dict[str, Any]:
    """Purge a document or a whole source from the WARC files, the store and the index (archive/purge.py);
    refused, changing nothing, while a crawl or reindex runs."""
    from samizdat.archive.purge import purge_document, purge_source
    from samizdat.search.removal import unindexer

    unindex = unindexer(datadir.store_path, datadir.index_dir)
    if source is not None:
        return purge_source(datadir, source, by, reason, unindex)
    assert doc_id is not None
    return purge_document(datadir, doc_id, by, reason, unindex)


def matching_documents(datadir: DataDir, params: SearchParams) -> Iterator[Document]:
    """Every document the search parameters select, newest version, in the requested order. The search runs
    at the call (a missing index or a bad query fails here, before the caller opens its output); the
    documents are read as they are iterated."""
    with open_search(datadir) as service:
        ids = list(service.iter_ids(params))
    return _documents(datadir, ids)


def _documents(datadir: DataDir, ids: list[str]) -> Iterator[Document]:
    with Store(datadir.store_path) as store:
        yield from store.get_many(ids)
