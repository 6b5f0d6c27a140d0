"""How long extraction takes per page, replayed from a data directory's WARC files.

    samizdat demo && python bench/bench_extract.py --data samizdat-demo [--repeat 3]

Prints the pages per second of reading the WARC files alone and of reading plus extracting, and the
p50/p95 extraction time of an article page.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from samizdat.archive.config import Source
from samizdat.archive.datadir import DataDir
from samizdat.archive.extract import extract
from samizdat.archive.warc import Capture, iter_entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("samizdat-demo"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    datadir = DataDir.open(args.data)
    files = datadir.warc_files()
    t0 = time.perf_counter()
    captures: list[tuple[Source, Capture]] = []
    for path in files:
        source = Source(name="unknown", start_urls=("http://127.0.0.1/",))
        for entry in iter_entries(path, path.name):
            if entry.type == "warcinfo" and isinstance(entry.info.get("samizdat-source"), dict):
                source = Source.from_dict(entry.info["samizdat-source"])  # its kind picks the reader
            elif entry.capture is not None:
                captures.append((source, entry.capture))
    read_seconds = time.perf_counter() - t0
    article_ms: list[float] = []
    other_ms: list[float] = []
    t0 = time.perf_counter()
    for _ in range(args.repeat):
        for source, capture in captures:
            start = time.perf_counter()
            result = extract(capture, source)
            elapsed = (time.perf_counter() - start) * 1000
            (article_ms if result.document else other_ms).append(elapsed)
    extract_seconds = time.perf_counter() - t0
    total = len(captures) * args.repeat
    print(f"WARC files: {len(files)}, responses: {len(captures)}")
    print(f"read WARC            {len(captures) / read_seconds:8.0f} responses/s")
    print(f"extract (all)        {total / extract_seconds:8.1f} responses/s")
    for name, values in (("article pages", article_ms), ("other responses", other_ms)):
        if values:
            q = statistics.quantiles(values, n=20) if len(values) > 1 else values * 19
            print(f"{name:<20} p50 {statistics.median(values):7.1f} ms   p95 {q[18]:7.1f} ms   n={len(values)}")


if __name__ == "__main__":
    main()
