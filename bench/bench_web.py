"""Benchmark webui/: build the app on a data directory and time requests of a few kinds with Flask's
test client (no network: the figures are the app's own work, template rendering included).

    samizdat demo --no-serve --data /tmp/webdemo
    python bench/bench_web.py --data /tmp/webdemo
    python bench/bench_web.py --data /tmp/webdemo --requests 500 --config /tmp/webdemo/sources.toml

Prints p50/p95 per route; nothing here asserts a time (these shared machines vary 10-30% between runs).
The words, labels, sources and documents requested are taken from the archive itself.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive.store import Store
from webui import create_app


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def sample_requests(data: Path, rng: random.Random) -> dict[str, list[str]]:
    """Per route kind, a list of URLs to cycle through, built from the archive's own content."""
    with Store(data / "store.sqlite") as store:
        docs = list(store.iter_latest())
    if not docs:
        raise SystemExit(f"{data} holds no documents: crawl or run `samizdat demo` first")
    rng.shuffle(docs)
    words = sorted({w.lower() for d in docs for w in d.title.split() if w.isalpha() and len(w) > 4})
    labels = sorted({label for d in docs for label in d.labels})
    sources = sorted({d.source for d in docs})
    years = sorted({d.published[:4] for d in docs if d.published})
    ids = [d.id for d in docs[:50]]
    pick = rng.choice
    return {
        "/ (browse)": ["/"],
        "/?q=word": [f"/?q={pick(words)}" for _ in range(20)],
        "/?q=word&label": [f"/?q={pick(words)}&label={pick(labels)}" for _ in range(20)],
        "/?year (months)": [f"/?year={y}" for y in years],
        "/api/search?q": [f"/api/search?q={pick(words)}" for _ in range(20)],
        "/api/search?q=a OR b": [f"/api/search?q={pick(words)}+OR+{pick(words)}" for _ in range(20)],
        "/documents/<id>": [f"/documents/{i}" for i in ids],
        "/documents/<id>/captured": [f"/documents/{i}/captured" for i in ids],
        "/documents/<id>/raw": [f"/documents/{i}/raw" for i in ids],
        "/api/documents/<id>": [f"/api/documents/{i}" for i in ids],
        "/sources": ["/sources"],
        "/sources/<name>": [f"/sources/{s}" for s in sources],
        "/export.jsonl?source": [f"/export.jsonl?source={s}" for s in sources],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a samizdat data directory")
    parser.add_argument("--config", type=Path, default=None, help="its sources.toml (optional)")
    parser.add_argument("--requests", type=int, default=200, help="requests per route kind (default 200)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    app = create_app({"data_dir": args.data, "config_path": args.config})
    client = app.test_client()
    client.get("/api/search")  # opens the searcher and builds its facet table once, as a server does
    print(f"app ready in {(time.perf_counter() - started) * 1000:.0f} ms (first search included)")

    routes = sample_requests(args.data, random.Random(args.seed))
    print(f"{'route':<28} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} {'max ms':>8}  status")
    for name, urls in routes.items():
        times: list[float] = []
        statuses: dict[int, int] = {}
        for number in range(args.requests):
            url = urls[number % len(urls)]
            t0 = time.perf_counter()
            response = client.get(url)
            _body: Any = response.data  # read streamed bodies (exports) to the end
            times.append((time.perf_counter() - t0) * 1000)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        status = ", ".join(f"{code} x{count}" for code, count in sorted(statuses.items()))
        print(
            f"{name:<28} {len(times):>5} {percentile(times, 0.50):>8.1f} {percentile(times, 0.95):>8.1f} "
            f"{statistics.fmean(times):>8.1f} {max(times):>8.1f}  {status}"
        )
    app.extensions["samizdat"].search.close()


if __name__ == "__main__":
    main()
