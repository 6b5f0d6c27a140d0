"""Extraction beside the reactor: a pool of worker processes runs `archive.extract` on every core, each page
under a deadline, while Scrapy's event loop goes on fetching. The crawl and `samizdat reindex` share it.

pebble's pool is used because it can stop one page that runs past its deadline (it ends that worker and
starts another); the standard library's pool cannot. Workers come from a fork server started before the
reactor, so they never inherit its threads or open files.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, TimeoutError
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import lxml.etree
import lxml.html
from pebble import ProcessExpired, ProcessPool

from samizdat.archive.config import Source
from samizdat.archive.extract import Extraction, Facts, extract
from samizdat.archive.extract.decode import decode_html
from samizdat.archive.requisites import Requisite, css_requisites, html_requisites
from samizdat.archive.urls import normalize_url
from samizdat.archive.warc import Capture, read_capture

logger = logging.getLogger(__name__)

_pool: ExtractionPool | None = None


class ExtractionPool:
    def __init__(self, workers: int, timeout_seconds: float) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.timeout_seconds = timeout_seconds
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["samizdat.archive.extract", "samizdat.crawler.extraction"])
        self.pool = ProcessPool(max_workers=self.workers, context=context)

    def submit(self, fn: Callable[..., Any], *args: Any, timeout: float | None = -1.0) -> Future[Any]:
        """Run fn(*args) in a worker; `timeout` -1 means the per-page deadline, None no deadline."""
        deadline = self.timeout_seconds if timeout == -1.0 else timeout
        return self.pool.schedule(fn, args=list(args), timeout=deadline)

    async def extract(
        self, capture: Capture | WarcPointer, source: Source, kind: str | None, facts: Facts
    ) -> Extraction:
        """The extraction of one capture, awaited without blocking the reactor."""
        future = self.submit(extract_detached, capture, source, kind, facts)
        with suppress(TimeoutError, ProcessExpired):  # _result tells them
            await asyncio.wrap_future(future)
        return self._result(capture, future)

    async def requisites(self, capture: Capture, scripts: bool) -> list[Requisite]:
        """What an archived page (or stylesheet) needs to render, found in a worker: parsing a page of a million
        elements takes seconds, which in the reactor would stall every download (and time them out)."""
        future = self.submit(requisites_detached, capture, scripts)
        try:
            found: list[Requisite] = await asyncio.wrap_future(future)
        except (TimeoutError, ProcessExpired) as exc:
            logger.warning("%s: its requisites were not found in time (%s)", describe(capture), type(exc).__name__)
            return []
        return found

    def map_extract(
        self, captures: Iterable[Capture], source: Source, kind: str | None, facts: Facts
    ) -> Iterator[Extraction]:
        """Extract many captures on every worker (a reindex), yielding the results in the captures' order.
        A few tasks per worker are in flight at once, so memory stays bounded whatever the archive's size."""
        window: deque[tuple[Capture, Future[Any]]] = deque()
        for capture in captures:
            window.append((capture, self.submit(extract_unlinked, capture, source, kind, facts)))
            if len(window) >= 4 * self.workers:
                yield self._result(*window.popleft())
        while window:
            yield self._result(*window.popleft())

    def _result(self, capture: Capture, future: Future[Any]) -> Extraction:
        try:
            result: Extraction = future.result()
        except TimeoutError:
            logger.warning("%s: extraction ran past its %g s deadline", describe(capture), self.timeout_seconds)
            return failed(capture, "extract_timeout")
        except ProcessExpired as exc:
            logger.warning("%s: the extraction worker died (%s)", describe(capture), exc)
            return failed(capture, "extract_worker_died")
        except Exception as exc:  # a page our readers fail on, or a capture that cannot be read back
            # One page must not end a crawl or a reindex: it is counted, and its traceback is in the log.
            logger.error("%s: extraction failed (%s: %s)", describe(capture), type(exc).__name__, exc, exc_info=exc)
            return failed(capture, "extract_failed")
        return result

    def close(self) -> None:
        self.pool.close()
        self.pool.join(timeout=30)
        self.pool.stop()


WarcPointer = tuple[str, str, int]  # (data directory, warc_file, offset): a capture to read back in the worker


def extract_detached(capture: Capture | WarcPointer, source: Source, kind: str | None, facts: Facts) -> Extraction:
    """What a worker runs: read the capture (given, or from the archive), extract it, keep its links."""
    if isinstance(capture, tuple):
        root, warc_file, offset = capture
        capture = read_capture(Path(root), warc_file, offset)
    return extract(capture, source, kind, facts).detach()


def extract_unlinked(capture: Capture, source: Source, kind: str | None, facts: Facts) -> Extraction:
    """What a reindex's worker runs: the extraction without the page's links, which a reindex never follows
    (finding them was a fifth of the workers' time)."""
    result = extract(capture, source, kind, facts)
    result.page = None
    return result


def requisites_detached(capture: Capture, scripts: bool) -> list[Requisite]:
    """What a worker runs for a page's requisites: its HTML decoded as extraction decodes it, then parsed. For
    a stylesheet, what it @imports and its url()s."""
    if (capture.header("content-type") or "").split(";")[0].strip().lower() == "text/css":
        return css_requisites(capture.payload.decode(css_charset(capture), "replace"), capture.url)
    _encoding, html = decode_html(capture.payload, capture.header("content-type"))
    try:
        root = lxml.html.fromstring(html)
    except ValueError:  # a str that declares its own encoding: lxml wants the bytes
        root = lxml.html.fromstring(capture.payload)
    except lxml.etree.ParserError:  # empty, or nothing lxml can read: nothing to load
        return []
    return html_requisites(root, capture.url, scripts)


def css_charset(capture: Capture) -> str:
    """A stylesheet's charset as its Content-Type gives it (UTF-8 otherwise, as most are; @charset aside)."""
    for part in (capture.header("content-type") or "").split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value.strip().strip('"'):
            try:
                return codecs.lookup(value.strip().strip('"')).name
            except LookupError:
                break
    return "utf-8"


def failed(capture: Capture | WarcPointer, reason: str) -> Extraction:
    """An extraction that did not finish: counted under errors/<reason>; the capture stays archived."""
    return Extraction("error", describe(capture), reason)


def describe(capture: Capture | WarcPointer) -> str:
    return normalize_url(capture.url) if isinstance(capture, Capture) else f"{capture[1]}@{capture[2]}"


@contextmanager
def running_pool(workers: int, timeout_seconds: float) -> Iterator[ExtractionPool]:
    """The process-wide pool, for as long as a crawl or a reindex runs."""
    global _pool
    _pool = ExtractionPool(workers, timeout_seconds)
    try:
        yield _pool
    finally:
        _pool.close()
        _pool = None


def shared_pool() -> ExtractionPool | None:
    """The running pool, or None (a spider started by hand with `scrapy crawl` extracts in-process)."""
    return _pool
