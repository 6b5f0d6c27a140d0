"""Benchmark search/: index N synthetic documents, then time searches and facet counting.

    python bench/bench_search.py                 # 20,000 documents
    python bench/bench_search.py --docs 5000 --procs 2
    python bench/bench_search.py --ru-share 0.3      # 30% of the documents in Russian
    python bench/bench_search.py --abusive           # abusive queries before/after the guard and budget

Prints figures only; nothing here asserts a time (these shared machines vary 10-30% between runs).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive.document import Document
from archive.errors import QueryError
from search import Indexer, SearchParams, SearchService
from search.doctable import build_table
from search.facets import count_facets
from search.query import _parser, repair_query

TOPIC_WORDS = [
    "rent",
    "strike",
    "tenants",
    "landlord",
    "eviction",
    "evicted",
    "police",
    "picket",
    "union",
    "bakery",
    "shipyard",
    "council",
    "housing",
    "court",
    "hearing",
    "wages",
    "workers",
    "meeting",
    "leaflet",
    "repairs",
    "protest",
    "march",
    "newspaper",
    "editorial",
    "history",
]
# Russian documents (--ru-share): word forms made from stems and case endings, so that the Russian stemmer
# has real work and a query in one form finds the others.
RU_STEMS = ["завод", "хлеб", "профсоюз", "шахт", "зарплат", "город", "суд", "митинг", "рабоч", "директор"]
RU_ENDINGS = ["", "а", "у", "ом", "е", "ы", "ов", "ам", "ами", "ах"]
RU_WORDS = [stem + ending for stem in RU_STEMS for ending in RU_ENDINGS]
LABELS = [f"Label {n}" for n in range(60)] + ["Rent strike", "Housing", "Police", "Strikes", "Union"]
SOURCES = ["tenants-voice", "red-press", "kz-news", "harbour-blog", "union-weekly"]
WORDS_PER_DOC = 250


def synthetic_docs(count: int, seed: int = 7, ru_share: float = 0.0) -> Iterator[Document]:
    rng = random.Random(seed)
    # A Zipf-like vocabulary: a few very common words, a long tail of rare ones, like real text.
    vocabulary = TOPIC_WORDS + [f"w{n}x" for n in range(20_000)]
    weights = [1.0 / (rank + 1) for rank in range(len(vocabulary))]
    ru_vocabulary = RU_WORDS + [f"с{n}ш" + rng.choice(RU_ENDINGS) for n in range(20_000)]
    ru_weights = [1.0 / (rank + 1) for rank in range(len(ru_vocabulary))]
    authors = [f"Author {n}" for n in range(300)]
    for n in range(count):
        russian = rng.random() < ru_share
        if russian:
            words = rng.choices(ru_vocabulary, weights=ru_weights, k=WORDS_PER_DOC)
        else:
            words = rng.choices(vocabulary, weights=weights, k=WORDS_PER_DOC)
        undated = rng.random() < 0.03
        year, month, day = rng.randint(2005, 2024), rng.randint(1, 12), rng.randint(1, 28)
        yield Document(
            url=f"https://{SOURCES[n % len(SOURCES)]}.example/post/{n}",
            source=SOURCES[n % len(SOURCES)],
            kind="blogger",
            title=" ".join(rng.choices((ru_vocabulary if russian else vocabulary)[:400], k=6)).capitalize(),
            text=" ".join(words) + ".",
            author=rng.choice(authors) if rng.random() < 0.9 else None,
            published=None if undated else f"{year:04d}-{month:02d}-{day:02d}",
            labels=sorted(set(rng.choices(LABELS, weights=[1.0 / (i + 1) for i in range(len(LABELS))], k=3))),
            language="ru" if russian else "en",
        )


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def time_calls(call: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def query_shapes(russian: bool) -> dict[str, list[SearchParams]]:
    pairs = [("rent", "strike"), ("police", "picket"), ("union", "bakery"), ("tenants", "eviction")]
    shapes = {
        "single word": [SearchParams(q=w) for w in TOPIC_WORDS],
        "two words (AND)": [SearchParams(q=f"{a} {b}") for a, b in pairs],
        "phrase": [SearchParams(q=f'"{a} {b}"') for a, b in pairs],
        "rare word": [SearchParams(q=f"w{n}x") for n in range(5000, 5040)],
        "filter only (source)": [SearchParams(source=s) for s in SOURCES],
        "label filter": [SearchParams(labels=[label]) for label in LABELS[:20]],
        "word + label, newest": [SearchParams(q=w, labels=["Label 0"], sort="newest") for w in TOPIC_WORDS],
        "browse all, oldest": [SearchParams(sort="oldest")],
    }
    if russian:  # another form than the one most documents hold: found through the stem
        shapes["russian word form"] = [SearchParams(q=stem + "ами") for stem in RU_STEMS]
    return shapes


ABUSIVE = [
    "*",
    "published:[2010 TO]",
    "[2010 TO]",  # how `published:[2010 TO]` was read while `published` was no query field
    "year:[2010 TO]",
    "*ike",
    "w1*",
    "[a TO]",
    " ".join(f"w{n}x" for n in range(60)),  # an AND of common words that never all meet
    " OR ".join(f"w{n}x" for n in range(30)),
    '"w0x w1x w2x"',
]
REFERENCE = "rent strike"


def abusive_figures(index_dir: Path) -> None:
    """Each abusive query as it ran before (parsed without the guard, every match collected with no
    budget, on one searcher: what SearchService did) and through SearchService now, beside a reference."""
    with SearchService(index_dir, refresh_seconds=3600) as service:
        service.search(SearchParams(q=REFERENCE))
        state = service._current()
        assert state is not None
        with state.borrow() as pooled:
            searcher = pooled.searcher
            print(f"\n{'query':<32} {'before s':>9} {'hits':>7}   {'now s':>7} {'hits':>7}  answer")
            for q in [REFERENCE, *ABUSIVE]:
                start = time.perf_counter()
                raw = _parser(state.languages()).parse(repair_query(q)[0])
                before_hits = len(searcher.search(raw, limit=None).top_n)
                before = time.perf_counter() - start
                start = time.perf_counter()
                try:
                    result = service.search(SearchParams(q=q))
                    now_hits, answer = str(result["total"]), "; ".join(w[:60] for w in result["warnings"]) or "200"
                except QueryError as exc:
                    now_hits, answer = "-", f"400 {str(exc)[:70]}"
                now = time.perf_counter() - start
                print(f"{q[:32]:<32} {before:>9.2f} {before_hits:>7} {now:>7.2f} {now_hits:>7}  {answer}")
        print(f"\n8 clients searching {REFERENCE!r} while one abusive search runs (seconds per client)")
        for q in ("*", ABUSIVE[-2]):
            for mode in ("one lock (before)", "pool (now)"):
                waits = concurrent_clients(service, state, q, serialized=mode.startswith("one"))
                print(f"  {q[:24]!r:<27} {mode:<18} median {statistics.median(waits):5.2f}  max {max(waits):5.2f}")


def concurrent_clients(service: SearchService, state: Any, abusive: str, serialized: bool) -> list[float]:
    """Start the abusive search, then 8 clients; before = every search under one lock and the abusive
    query unguarded (as SearchService was), now = SearchService as it is."""
    lock = threading.Lock()
    started = threading.Event()
    waits: list[float] = []

    def run_abusive() -> None:
        if serialized:
            with lock, state.borrow() as pooled:
                started.set()
                raw = _parser(state.languages()).parse(repair_query(abusive)[0])
                pooled.searcher.search(raw, limit=None)
        else:
            started.set()
            service.search(SearchParams(q=abusive))

    def run_client() -> None:
        start = time.perf_counter()
        if serialized:
            with lock:
                service.search(SearchParams(q=REFERENCE))
        else:
            service.search(SearchParams(q=REFERENCE))
        waits.append(time.perf_counter() - start)

    abuser = threading.Thread(target=run_abusive)
    abuser.start()
    started.wait()
    clients = [threading.Thread(target=run_client) for _ in range(8)]
    for thread in clients:
        thread.start()
    for thread in [*clients, abuser]:
        thread.join()
    return waits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000, help="documents to index (default 20000)")
    parser.add_argument("--repeat", type=int, default=30, help="timed searches per query shape")
    parser.add_argument("--batch-size", type=int, default=5000, help="documents per commit")
    parser.add_argument("--procs", type=int, default=1, help="indexing processes (2 for multisegment)")
    parser.add_argument("--ru-share", type=float, default=0.0, help="share of Russian documents (default 0)")
    parser.add_argument("--abusive", action="store_true", help="only the abusive queries, before and after")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        index_dir = Path(tmp) / "index"
        docs = list(synthetic_docs(args.docs, ru_share=args.ru_share))
        start = time.perf_counter()
        with Indexer(index_dir) as indexer:
            indexer.update(docs, batch_size=args.batch_size, procs=args.procs, multisegment=args.procs > 1)
        seconds = time.perf_counter() - start
        print(f"indexed {args.docs} documents in {seconds:.1f} s: {args.docs / seconds:.0f} docs/s")
        if args.abusive:
            abusive_figures(index_dir)
            return

        with SearchService(index_dir, refresh_seconds=3600) as service:
            start = time.perf_counter()
            service.search(SearchParams(q="rent"))
            print(f"first search (opens the searcher, builds the document table): "
                  f"{(time.perf_counter() - start) * 1000:.0f} ms")  # fmt: skip

            rows = []
            for shape, variants in query_shapes(args.ru_share > 0).items():
                samples: list[float] = []
                totals: list[int] = []
                for i in range(args.repeat):
                    params = variants[i % len(variants)]
                    start = time.perf_counter()
                    totals.append(service.search(params)["total"])
                    samples.append((time.perf_counter() - start) * 1000)
                rows.append((shape, statistics.median(totals), *percentiles(samples)))

            # Facet counting alone, over a broad match: the part groupedby made slow.
            state = service._current()
            assert state is not None
            with state.borrow() as pooled:
                table = state.table(pooled)
                start = time.perf_counter()
                build_table(pooled.searcher.reader())
            print(f"document table rebuild (after each commit): {(time.perf_counter() - start) * 1000:.0f} ms")
            everything = list(range(len(table.ids)))
            half = everything[::2]
            rows.append(("facets only, all docs", len(everything), *percentiles(
                time_calls(lambda: count_facets(table, everything), args.repeat))))  # fmt: skip
            rows.append(("facets only, half", len(half), *percentiles(
                time_calls(lambda: count_facets(table, half), args.repeat))))  # fmt: skip

        print(f"\n{'query shape':<24} {'hits (median)':>13} {'p50 ms':>8} {'p95 ms':>8}")
        for shape, hits, p50, p95 in rows:
            print(f"{shape:<24} {hits:>13.0f} {p50:>8.1f} {p95:>8.1f}")


if __name__ == "__main__":
    main()
