"""Index and search benchmarks: samizdat beside SQLite FTS5 on the same generated articles, in one run.

    python -m bench.search                        # 10,000 and 100,000 articles
    python -m bench.search --quick                # 2,000 articles: a smoke run
    python -m bench.search --docs 10000 --abusive # also the abusive queries and 8 clients behind one of them
    python -m bench.search --docs 10000 --routes  # also p50/p95 of the web UI's other routes

Per size: the index rate and size (samizdat's catch-up of its own store, as `samizdat reindex` runs it, beside
FTS5 filled from the same store in one process); the full search page (exact total, top 10 with snippets,
facets) over a fixed set of 61 queries through `samizdat serve` over HTTP with 1 and 8 clients, beside FTS5
answering the same page in this process with 1 and 8 threads; the phrase queries alone; the HTML search page;
the time from starting `samizdat serve` to its first answer; and the server's peak memory. Data directories
are cached under the work dir (bench/.cache) by size and generator version. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import math
import os
import queue
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import docgen, fts5
from samizdat.archive.datadir import DataDir
from samizdat.archive.store import Store
from samizdat.search.catchup import catch_up

DEFAULT_DOCS = (10_000, 100_000)
QUICK_DOCS = (2_000,)
DEFAULT_WORK_DIR = Path(__file__).resolve().parent / ".cache"
CLIENTS = 8
PER_PAGE = 10  # the page: top 10 with snippets
# As `samizdat reindex` indexes a rebuilt store (samizdat/stages.py): large batches on two processes.
INDEX_BATCH, INDEX_PROCS = 5000, 2
FIRST_SEARCH_GOAL_MS = 300


# --- the data: generated, stored, indexed, cached -------------------------------------------------------


def _data_key(count: int) -> str:
    digest = hashlib.sha1()
    for path in sorted(docgen.SAMPLE_DATA.glob("*.toml")):  # the vocabulary's source: a change means new documents
        digest.update(path.read_bytes())
    return f"search-g{docgen.GENERATOR_VERSION}-{digest.hexdigest()[:8]}-{count}"


def prepare(count: int, work_dir: Path, log: Callable[[str], None]) -> tuple[Path, dict[str, Any]]:
    """The cached directory for `count` articles (built if missing): `data/` (a samizdat data directory with
    its store and index), `fts5.sqlite`, and `build.json` (the index rates and sizes measured when built)."""
    root = work_dir / _data_key(count)
    if (root / "build.json").exists():
        return root, json.loads((root / "build.json").read_text())
    building = root.with_name(root.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    datadir = DataDir.create(building / "data")
    log(f"search: generating {count:,} articles into {building}")
    started = time.perf_counter()
    with Store(datadir.store_path) as store:
        for doc in docgen.documents(count):
            store.upsert(doc)
    generated = time.perf_counter() - started
    log(f"search: stored in {generated:.0f} s; indexing with samizdat (batches of {INDEX_BATCH}, procs={INDEX_PROCS})")
    started = time.perf_counter()
    written = catch_up(datadir.store_path, datadir.index_dir, batch_size=INDEX_BATCH, procs=INDEX_PROCS, rebuild=True)
    samizdat_seconds = time.perf_counter() - started
    log(f"search: samizdat indexed {written:,} in {samizdat_seconds:.0f} s; indexing with FTS5")
    reference = fts5.build(datadir.store_path, building / "fts5.sqlite")
    build = {
        "documents": count,
        "generator_version": docgen.GENERATOR_VERSION,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "generate_and_store_seconds": round(generated, 1),
        "samizdat_index_seconds": round(samizdat_seconds, 2),
        "fts5_index_seconds": round(reference["seconds"], 2),
        "samizdat_index_bytes": _size(datadir.index_dir),
        "fts5_bytes": _size(building / "fts5.sqlite"),
        "store_bytes": _size(datadir.store_path),
        "index_segments": len(list(datadir.index_dir.glob("*.seg"))),
    }
    (building / "build.json").write_text(json.dumps(build, indent=1) + "\n")
    shutil.rmtree(root, ignore_errors=True)
    building.rename(root)
    return root, build


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


# --- the queries ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """One search in the fixed set; `terms` are words and phrases (tuples), all required."""

    kind: str
    terms: tuple[str | tuple[str, ...], ...] = ()
    labels: tuple[str, ...] = ()
    source: str | None = None
    date_from: str | None = None  # YYYY-MM-DD
    date_to: str | None = None
    year: str | None = None
    sort: str = "relevance"
    extra: dict[str, str] = field(default_factory=dict)

    def q(self) -> str:
        """samizdat's syntax: words AND-ed, phrases in quotes."""
        return " ".join(f'"{" ".join(term)}"' if isinstance(term, tuple) else term for term in self.terms)

    def args(self) -> list[tuple[str, str]]:
        """The parameters the search page and /api/search take."""
        pairs = [("q", self.q())] if self.terms else []
        pairs += [("label", label) for label in self.labels]
        for name, value in (("source", self.source), ("from", self.date_from), ("to", self.date_to)):
            if value:
                pairs.append((name, value))
        if self.year:
            pairs.append(("year", self.year))
        if self.sort != "relevance":
            pairs.append(("sort", self.sort))
        return [*pairs, ("per_page", str(PER_PAGE))]

    def page(self) -> fts5.Page:
        return fts5.Page(
            list(self.terms),
            list(self.labels),
            self.source,
            self.date_from,
            self.date_to,
            self.year,
            self.sort,
            PER_PAGE,
        )

    def label(self) -> str:
        """For the per-query details: the query and its other parameters."""
        return " ".join(
            value if name == "q" else f"{name}={value}" for name, value in self.args() if name != "per_page"
        )


def queries() -> list[Query]:
    """The fixed set (61 searches), picked by rank from the generator's vocabulary and metadata, so that it is
    the same at every size: single words from common to rare, several words, phrases, label, source and
    date filters, filters alone, newest and oldest."""
    vocab = docgen.vocabularies()
    words = [word for word in vocab["en"].content_words() if len(word) >= 4]
    ru = [word for word in vocab["ru"].content_words() if len(word) >= 4]
    cat = docgen.catalog()
    common = [words[i] for i in (4, 8, 16, 25, 40)]
    middle = [words[i] for i in (200, 500, 1000, 2000, 4000)]
    rare = [words[i] for i in (12_000, 25_000, 40_000, 60_000, len(words) - 200)]
    phrases = [vocab["en"].phrases[i] for i in (0, 1, 2, 5, 10, 30, 100, 300, 1000)] + [vocab["ru"].phrases[3]]
    labels = cat.labels
    result = [Query("common word", (word,)) for word in common]
    result += [Query("middle word", (word,)) for word in middle]
    result += [Query("rare word", (word,)) for word in rare]
    # Russian: other forms than the indexed ones, found through the stemmer.
    result += [Query("russian word", (word,)) for word in (ru[10], ru[60] + "ами", ru[400], ru[8000])]
    pairs = [(common[0], common[1]), (common[2], middle[0]), (common[3], middle[2]), (middle[1], middle[3])]
    result += [Query("two words", pair) for pair in [*pairs, (common[1], rare[0])]]
    triples = [(common[0], common[2], common[4]), (common[1], middle[0], middle[4]), (common[3], common[4], middle[1])]
    result += [Query("three words", triple) for triple in triples]
    result += [Query("phrase", (phrase,)) for phrase in phrases]
    result += [Query("phrase and word", (phrases[2], common[1])), Query("phrase and word", (phrases[6], middle[0]))]
    result += [
        Query("word and label", (common[0],), labels=(labels[0],)),
        Query("word and label", (middle[0],), labels=(labels[3],)),
        Query("word and label", (common[2],), labels=(labels[20],)),
        Query("word and label", (common[1],), labels=(labels[0], labels[1])),
        Query("word and dates", (common[0],), date_from="2010-01-01", date_to="2012-12-31"),
        Query("word and dates", (common[1],), year="2020"),
        Query("word and dates", (middle[0],), date_from="2023-06-01"),
        Query("word and dates", (common[2],), date_to="2005-12-31"),
        Query("word and source", (common[0],), source=cat.sources[0]),
        Query("word and source", (middle[1],), source=cat.sources[8]),
        Query("filters only", labels=(labels[0],)),
        Query("filters only", labels=(labels[50],)),
        Query("filters only", year="2015"),
        Query("filters only", source=cat.sources[3]),
        Query("newest/oldest", (common[0],), sort="newest"),
        Query("newest/oldest", (common[0],), sort="oldest"),
        Query("newest/oldest", (middle[0],), sort="newest"),
        Query("newest/oldest", (rare[0],), sort="oldest"),
        Query("newest/oldest", (phrases[1],), sort="newest"),
        Query("newest/oldest", pairs[1], sort="newest"),
        Query("newest/oldest", (common[1],), labels=(labels[0],), sort="oldest"),
        Query("newest/oldest", (common[3],), date_from="2015-01-01", date_to="2019-12-31", sort="newest"),
    ]
    return result


# --- samizdat serve ---------------------------------------------------------------------------------------


class Server:
    """`samizdat serve` on a free port against a data directory, in its own process."""

    def __init__(self, data: Path, threads: int = CLIENTS) -> None:
        command = [sys.executable, "-m", "samizdat", "serve", "--data", str(data.resolve()), "--port", "0"]
        # Its log (waitress, recovery lines) goes to a file: read only to say why it did not start.
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115  (closed by stop())
        self.started = time.perf_counter()
        # cwd: a directory with no sources.toml, so the server reads none.
        self.process = subprocess.Popen(
            [*command, "--threads", str(threads)],
            cwd=data.resolve().parent,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # "serving <data> at http://127.0.0.1:<port>/ ...": listening
        self.ready_ms = (time.perf_counter() - self.started) * 1000
        found = re.search(r"http://[^\s/]+/", line)
        if found is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)  # its last words are in the log once it has exited
            self.log.seek(0)
            why = self.log.read()[-2000:]
            self.stop()
            raise RuntimeError(f"samizdat serve did not start: {line!r} {why}")
        address = urllib.parse.urlsplit(found.group())
        self.host, self.port = address.hostname or "127.0.0.1", int(address.port or 80)

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=120)

    def peak_rss_mb(self, key: str = "VmHWM") -> float:
        """The process's peak resident memory (VmHWM; VmRSS: now)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def get(connection: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read()


def api_path(query: Query) -> str:
    return "/api/search?" + urllib.parse.urlencode(query.args())


def html_path(query: Query) -> str:
    return "/?" + urllib.parse.urlencode(query.args())


# --- timing -------------------------------------------------------------------------------------------------


def percentile(samples: list[float], share: float) -> float:
    """Nearest rank: the smallest sample with at least `share` of them at or below it."""
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(len(ordered) * share) - 1))] if ordered else float("nan")


def timed_pass(
    items: list[Query], clients: int, make: Callable[[], tuple[Callable[[Query], Any], Callable[[], None]]]
) -> list[tuple[float, Any]]:
    """Answer every item once with `clients` workers side by side, each with its own connection made by `make`
    (a (call, close) pair); returns (milliseconds, answer) per item, in the items' order."""
    results: list[tuple[float, Any]] = [(0.0, None)] * len(items)
    work: queue.Queue[int] = queue.Queue()
    for number in range(len(items)):
        work.put(number)
    errors: list[BaseException] = []

    def worker() -> None:
        call, close = make()
        try:
            while True:
                try:
                    number = work.get_nowait()
                except queue.Empty:
                    return
                started = time.perf_counter()
                answer = call(items[number])
                results[number] = ((time.perf_counter() - started) * 1000, answer)
        except BaseException as exc:  # reported by the caller's thread
            errors.append(exc)
        finally:
            close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def samizdat_client(
    server: Server, html: bool = False
) -> Callable[[], tuple[Callable[[Query], Any], Callable[[], None]]]:
    def make() -> tuple[Callable[[Query], Any], Callable[[], None]]:
        connection = server.connect()

        def call(query: Query) -> Any:
            status, body = get(connection, html_path(query) if html else api_path(query))
            if status != 200:
                raise RuntimeError(f"{query.label()}: HTTP {status}: {body[:300]!r}")
            return None if html else body

        return call, connection.close

    return make


def fts5_client(path: Path) -> Callable[[], tuple[Callable[[Query], Any], Callable[[], None]]]:
    def make() -> tuple[Callable[[Query], Any], Callable[[], None]]:
        reference = fts5.Reference(path)
        return (lambda query: reference.search(query.page())), reference.close

    return make


# --- rows ----------------------------------------------------------------------------------------------------


def row(
    job: str,
    value: float,
    unit: str,
    reference_name: str,
    reference: float | None,
    goal: str = "-",
    lower_is_better: bool = True,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    ratio = None if not reference else round(value / reference, 3)
    met: bool | None = None
    if goal.startswith("<=") and ratio is not None:
        met = ratio <= float(goal.split()[1].rstrip("x"))
    elif goal.startswith(">=") and ratio is not None:
        met = ratio >= float(goal.split()[1].rstrip("x"))
    elif goal.startswith("<") and goal.endswith("ms"):
        met = value < float(goal.split()[1])
    del lower_is_better  # the goal string says which way is better
    return {
        "job": job,
        "samizdat": round(value, 3),
        "unit": unit,
        "reference_name": reference_name,
        "reference": None if reference is None else round(reference, 3),
        "ratio": ratio,
        "goal": goal,
        "met": met,
        "details": details or {},
    }


def _size_label(count: int) -> str:
    return f"{count // 1000}k" if count % 1000 == 0 else str(count)


def measure(count: int, work_dir: Path, log: Callable[[str], None], html: bool = True) -> list[dict[str, Any]]:
    """Every row for one size."""
    root, build = prepare(count, work_dir, log)
    size = _size_label(count)
    fts5_name = "SQLite FTS5, one process"
    rows = [
        row(
            f"search: index {size} articles (catch-up, procs={INDEX_PROCS})",
            count / build["samizdat_index_seconds"],
            "docs/s",
            fts5_name,
            count / build["fts5_index_seconds"],
            ">= 0.5x",
            details={k: v for k, v in build.items() if k.endswith(("seconds", "segments", "_at", "note"))},
        ),
        row(
            f"search: index size at {size}",
            build["samizdat_index_bytes"] / 2**20,
            "MB",
            "SQLite FTS5 file (text, metadata, labels)",
            build["fts5_bytes"] / 2**20,
            details={"store_mb": round(build["store_bytes"] / 2**20, 1)},
        ),
    ]
    items = queries()
    phrase_numbers = [n for n, query in enumerate(items) if query.kind == "phrase"]
    server = Server(root / "data")
    try:
        connection = server.connect()
        started = time.perf_counter()
        status, _body = get(connection, api_path(items[0]))
        first_ms = (time.perf_counter() - started) * 1000
        connection.close()
        if status != 200:
            raise RuntimeError(f"first search answered HTTP {status}")
        log(f"search {size}: serve ready in {server.ready_ms:.0f} ms, first search {first_ms:.0f} ms")
        memory = {"peak_after_first_search_mb": round(server.peak_rss_mb(), 1)}
        samizdat_one = timed_pass(items, 1, samizdat_client(server))
        memory["peak_after_1_client_mb"] = round(server.peak_rss_mb(), 1)
        log(f"search {size}: 1 client done (p95 {percentile([t for t, _ in samizdat_one], 0.95):.0f} ms)")
        samizdat_eight = timed_pass(items * 2, CLIENTS, samizdat_client(server))
        memory[f"peak_after_{CLIENTS}_clients_mb"] = round(server.peak_rss_mb(), 1)
        log(f"search {size}: {CLIENTS} clients done")
        samizdat_html = timed_pass(items, 1, samizdat_client(server, html=True)) if html else []
        peak_mb = server.peak_rss_mb()
        # File-backed pages are the index's segment files mapped by each pooled searcher; anonymous ones the heap.
        for key in ("VmRSS", "RssAnon", "RssFile"):
            memory[f"{key}_at_end_mb"] = round(server.peak_rss_mb(key), 1)
    finally:
        server.stop()
    reference_path = root / "fts5.sqlite"
    timed_pass(items[:5], 1, fts5_client(reference_path))  # warm the page cache, as the server's warm-up did
    fts5_one = timed_pass(items, 1, fts5_client(reference_path))
    fts5_eight = timed_pass(items * 2, CLIENTS, fts5_client(reference_path))

    answers = [json.loads(body) for _, body in samizdat_one]
    s_one, r_one = [t for t, _ in samizdat_one], [t for t, _ in fts5_one]
    s_eight, r_eight = [t for t, _ in samizdat_eight], [t for t, _ in fts5_eight]
    agree = [answers[n]["total"] == fts5_one[n][1]["total"] for n in range(len(items))]
    per_query = [
        {
            "query": query.label(),
            "kind": query.kind,
            "samizdat_ms": round(s_one[n], 1),
            "fts5_ms": round(r_one[n], 1),
            "samizdat_total": answers[n]["total"],
            "fts5_total": fts5_one[n][1]["total"],
            "warnings": answers[n]["warnings"],
        }
        for n, query in enumerate(items)
    ]
    common = {
        "queries": len(items),
        "per_page": PER_PAGE,
        "totals_equal": sum(agree),
        "cut_by_budget": sum(1 for answer in answers if any("budget" in w for w in answer["warnings"])),
    }
    page_job = f"search: full page at {size}"
    kinds = dict.fromkeys(query.kind for query in items)
    by_kind = {
        kind: {
            engine: round(max(times[n] for n, query in enumerate(items) if query.kind == kind), 1)
            for engine, times in (("samizdat_max_ms", s_one), ("fts5_max_ms", r_one))
        }
        for kind in kinds
    }
    one_details = {**common, "by_kind": by_kind, "per_query": per_query}
    rows += [
        row(
            f"{page_job}, p50, 1 client",
            percentile(s_one, 0.5),
            "ms",
            f"{fts5_name} (same page)",
            percentile(r_one, 0.5),
        ),
        row(
            f"{page_job}, p95, 1 client",
            percentile(s_one, 0.95),
            "ms",
            f"{fts5_name} (same page)",
            percentile(r_one, 0.95),
            "<= 1.0x",
            details=one_details,
        ),
        row(
            f"{page_job}, p95, {CLIENTS} clients",
            percentile(s_eight, 0.95),
            "ms",
            f"FTS5, {CLIENTS} threads",
            percentile(r_eight, 0.95),
            "<= 1.0x",
            details={
                "requests": len(s_eight),
                "samizdat_p50_ms": round(percentile(s_eight, 0.5), 1),
                "fts5_p50_ms": round(percentile(r_eight, 0.5), 1),
            },
        ),
        row(
            f"{page_job}, phrases only, p95, 1 client",
            percentile([s_one[n] for n in phrase_numbers], 0.95),
            "ms",
            f"{fts5_name} (same page)",
            percentile([r_one[n] for n in phrase_numbers], 0.95),
            "<= 1.0x",
            details={"queries": len(phrase_numbers)},
        ),
    ]
    if samizdat_html:
        rows.append(
            row(
                f"{page_job}, HTML page /, p95, 1 client",
                percentile([t for t, _ in samizdat_html], 0.95),
                "ms",
                f"{fts5_name} (same page, no HTML)",
                percentile(r_one, 0.95),
                details={"p50_ms": round(percentile([t for t, _ in samizdat_html], 0.5), 1)},
            )
        )
    rows += [
        row(
            f"search: `samizdat serve` start to ready at {size}",
            server.ready_ms,
            "ms",
            "-",
            None,
            details={"includes": "interpreter start, open_archive (recovery check), create_app"},
        ),
        row(
            f"search: first search after serve is ready at {size}",
            first_ms,
            "ms",
            "-",
            None,
            f"< {FIRST_SEARCH_GOAL_MS} ms",
            details={"query": items[0].label(), "page_cache": "warm (built or run before)"},
        ),
        row(
            f"search: `samizdat serve` peak RSS at {size}",
            peak_mb,
            "MB",
            "-",
            None,
            details={"after": "first search, 1-client, 8-client and HTML passes", **memory},
        ),
    ]
    return rows


# --- options: abusive queries, the web UI's other routes (printed, no reference) ------------------------------


def abusive_queries() -> list[str]:
    common = docgen.vocabularies()["en"].content_words()
    return [
        "*",
        "published:[2010 TO]",
        "[2010 TO]",  # how `published:[2010 TO]` was read while `published` was no query field
        "year:[2010 TO]",
        "*ike",
        "w1*",
        "[a TO]",
        " ".join(common[:60]),  # an AND of common words that never all meet
        " OR ".join(common[:30]),
        '"the council tenants"',
    ]


def abusive_figures(index_dir: Path) -> None:
    """Each abusive query as it ran before the cost guard and time budget (parsed without the guard, every
    match collected on one searcher) and through SearchService now; then 8 clients searching a common word
    while one abusive search runs, all under one lock (before) and with the searcher pool (now)."""
    from samizdat.archive.errors import QueryError
    from samizdat.search import SearchParams, SearchService
    from samizdat.search.query import _parser, repair_query

    reference = queries()[0].q()
    with SearchService(index_dir, refresh_seconds=3600) as service:
        service.search(SearchParams(q=reference))
        state = service._current()
        assert state is not None
        with state.borrow() as pooled:
            log(f"\n{'query':<32} {'before s':>9} {'hits':>7}   {'now s':>7} {'hits':>7}  answer")
            for q in [reference, *abusive_queries()]:
                started = time.perf_counter()
                raw = _parser(state.languages()).parse(repair_query(q)[0])
                before_hits = len(pooled.searcher.search(raw, limit=None).top_n)
                before = time.perf_counter() - started
                started = time.perf_counter()
                try:
                    result = service.search(SearchParams(q=q))
                    now_hits, answer = str(result["total"]), "; ".join(w[:60] for w in result["warnings"]) or "200"
                except QueryError as exc:
                    now_hits, answer = "-", f"400 {str(exc)[:70]}"
                now = time.perf_counter() - started
                log(f"{q[:32]:<32} {before:>9.2f} {before_hits:>7} {now:>7.2f} {now_hits:>7}  {answer}")

        def contended(abusive: str, serialized: bool) -> list[float]:
            lock, started, waits = threading.Lock(), threading.Event(), []

            def abuse() -> None:
                if serialized:
                    with lock, state.borrow() as pooled:
                        started.set()
                        pooled.searcher.search(_parser(state.languages()).parse(repair_query(abusive)[0]), limit=None)
                else:
                    started.set()
                    service.search(SearchParams(q=abusive))

            def client() -> None:
                begun = time.perf_counter()
                with lock if serialized else contextlib.nullcontext():
                    service.search(SearchParams(q=reference))
                waits.append(time.perf_counter() - begun)

            abuser = threading.Thread(target=abuse)
            abuser.start()
            started.wait()
            clients = [threading.Thread(target=client) for _ in range(CLIENTS)]
            for thread in clients:
                thread.start()
            for thread in [*clients, abuser]:
                thread.join()
            return waits

        log(f"\n{CLIENTS} clients searching {reference!r} while one abusive search runs (seconds per client)")
        for q in ("*", abusive_queries()[-3]):
            for mode in ("one lock (before)", "pool (now)"):
                waits = contended(q, serialized=mode.startswith("one"))
                log(f"  {q[:24]!r:<27} {mode:<18} median {statistics.median(waits):5.2f}  max {max(waits):5.2f}")


def route_figures(data: Path, requests: int = 50) -> None:
    """p50/p95 of the web UI's routes through `samizdat serve`, with words, labels, sources and documents
    taken from the archive itself (what bench_web.py measured with Flask's test client)."""
    with Store(data / "store.sqlite") as store:
        docs = [doc for doc, _ in zip(store.iter_latest(), range(2000), strict=False)]
    words = sorted({w.lower() for d in docs for w in d.title.split() if w.isalpha() and len(w) > 4})
    labels = sorted({label for d in docs for label in d.labels})
    sources = sorted({d.source for d in docs})
    years = sorted({d.published[:4] for d in docs if d.published})
    ids = [d.id for d in docs[:50]]
    rng = random.Random(7)

    def pick(values: list[str]) -> str:
        return urllib.parse.quote(rng.choice(values))

    routes = {
        "/ (browse)": ["/"],
        "/?q=word": [f"/?q={pick(words)}" for _ in range(20)],
        "/?q=word&label": [f"/?q={pick(words)}&label={pick(labels)}" for _ in range(20)],
        "/?year (months)": [f"/?year={y}" for y in years],
        "/api/search?q=a OR b": [f"/api/search?q={pick(words)}+OR+{pick(words)}" for _ in range(20)],
        "/documents/<id>": [f"/documents/{i}" for i in ids],
        "/api/documents/<id>": [f"/api/documents/{i}" for i in ids],
        "/sources": ["/sources"],
        "/sources/<name>": [f"/sources/{s}" for s in sources],
        "/export.jsonl?source": [f"/export.jsonl?source={s}" for s in sources[:3]],
    }
    server = Server(data)
    try:
        connection = server.connect()
        get(connection, "/api/search")  # opens the searcher, as any first search does
        log(f"\n{'route':<28} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  status")
        for name, paths in routes.items():
            times, statuses = [], Counter()
            for number in range(min(requests, 5) if name.startswith("/export") else requests):
                started = time.perf_counter()
                status, _body = get(connection, paths[number % len(paths)])
                times.append((time.perf_counter() - started) * 1000)
                statuses[status] += 1
            status_text = ", ".join(f"{code} x{count}" for code, count in sorted(statuses.items()))
            log(
                f"{name:<28} {len(times):>5} {percentile(times, 0.5):>8.1f} {percentile(times, 0.95):>8.1f} "
                f"{max(times):>8.1f}  {status_text}"
            )
        connection.close()
    finally:
        server.stop()


# --- the runner's interface --------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("search")
    group.add_argument(
        "--docs", default=None, help="article counts, comma-separated (default 10000,100000; --quick 2000)"
    )
    group.add_argument("--no-html", action="store_true", help="skip the HTML search page pass")
    group.add_argument(
        "--abusive", action="store_true", help="also the abusive queries, before/after the guard (printed)"
    )
    group.add_argument("--routes", action="store_true", help="also p50/p95 of the web UI's other routes (printed)")


def sizes(options: argparse.Namespace) -> list[int]:
    if getattr(options, "docs", None):
        return [int(part.replace("_", "")) for part in str(options.docs).split(",") if part.strip()]
    return list(QUICK_DOCS if getattr(options, "quick", False) else DEFAULT_DOCS)


def work_dir(options: argparse.Namespace) -> Path:
    return Path(getattr(options, "work_dir", None) or getattr(options, "cache", None) or DEFAULT_WORK_DIR)


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(options: argparse.Namespace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for count in sizes(options):
        rows += measure(count, work_dir(options), log, html=not getattr(options, "no_html", False))
        root = work_dir(options) / _data_key(count)
        if getattr(options, "abusive", False):
            abusive_figures(root / "data" / "index")
        if getattr(options, "routes", False):
            route_figures(root / "data")
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"

    print(f"{'job':<62} {'samizdat':>14} {'reference (same run)':>34} {'ratio':>7} {'goal':>9}  met")
    for item in rows:
        reference = "-" if item["reference"] is None else f"{number(item['reference'])} {item['unit']}"
        ratio = "-" if item["ratio"] is None else f"{item['ratio']:.2f}x"
        met = {True: "yes", False: "NO", None: ""}[item["met"]]
        samizdat = f"{number(item['samizdat'])} {item['unit']}"
        print(f"{item['job']:<62} {samizdat:>14} {reference:>34} {ratio:>7} {item['goal']:>9}  {met}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 articles only: a smoke run")
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as JSON here")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="where generated data is cached")
    parser.add_argument("--build-only", action="store_true", help="only build (and cache) the data directories")
    add_arguments(parser)
    options = parser.parse_args()
    if options.build_only:
        for count in sizes(options):
            prepare(count, options.work_dir, log)
        return
    rows = run(options)
    print_table(rows)
    if options.out:
        options.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"cores": os.cpu_count(), "python": sys.version.split()[0], "rows": rows}
        options.out.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
