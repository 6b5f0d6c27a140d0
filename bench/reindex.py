"""Reindex: `samizdat reindex` rebuilding store and index from the ingest crawl's WARC files, beside
trafilatura extracting the same pages on two processes, in one run.

    python -m bench.reindex [--pages 2000] [--seed 13] [--quick] [--json]

Input: the data directory of the ingest benchmark's samizdat crawl of the generated site (bench/ingest.py,
kept in bench/.cache/work/); when there is none for this size, the site is served and crawled first.

  samizdat     `python -m samizdat reindex --data DIR`: every response record of the WARC files read back,
               extracted, stored and indexed; rate = response records / wall seconds
  trafilatura  the HTML 200 payloads of the same WARC files, read once with warcio (not timed), then
               `trafilatura.extract(payload, url=...)` over them on a pool of 2 processes (the payloads
               sent to the workers, as a reindex must); rate = payloads / seconds. Twice: its default
               (text only, the issue's reference) and `with_metadata=True` (title, author, date, tags:
               what samizdat's documents carry)

Rows: samizdat responses/s against each; the goal, >= 0.8x, against the default.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
from pathlib import Path
from typing import Any

from bench import CACHE, ROOT, ingest, rate_row, run_measured

WORKERS = 2


def warc_files(data: Path) -> list[Path]:
    return sorted(p for p in (data / "warc").glob("*") if p.name.endswith((".warc", ".warc.gz")))


def warc_payloads(data: Path) -> tuple[int, list[tuple[str, bytes]]]:
    """(response records in the data directory's WARC files, [(url, payload)] of their HTML 200s)."""
    from warcio.archiveiterator import ArchiveIterator

    responses, pages = 0, []
    for path in warc_files(data):
        with open(path, "rb") as f:
            for record in ArchiveIterator(f):
                if record.rec_type != "response":
                    continue
                responses += 1
                http = record.http_headers
                if http is None or http.get_statuscode() != "200":
                    continue
                if "html" not in (http.get_header("Content-Type") or ""):
                    continue
                pages.append((record.rec_headers.get_header("WARC-Target-URI"), record.content_stream().read()))
    return responses, pages


def _extract(job: tuple[str, bytes, bool]) -> bool:
    import trafilatura

    url, payload, with_metadata = job
    return trafilatura.extract(payload, url=url, with_metadata=with_metadata) is not None


def extract_all(pages: list[tuple[str, bytes]], with_metadata: bool) -> dict[str, Any]:
    """trafilatura over every payload on WORKERS processes; the pool's start is timed too."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    pool = multiprocessing.get_context("spawn").Pool(WORKERS)
    jobs = [(url, payload, with_metadata) for url, payload in pages]
    texts = sum(pool.imap_unordered(_extract, jobs, chunksize=8))
    pool.close()
    pool.join()  # the workers waited for: their CPU time is in RUSAGE_CHILDREN
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "payloads": len(pages),
        "texts": texts,
        "per_second": len(pages) / wall,
    }


def crawl_data(pages: int, seed: int, root: Path = ROOT, cache: Path = CACHE) -> Path:
    """The ingest crawl's data directory for this size, crawled now if there is none."""
    data = ingest.work_dir(pages, seed, cache) / "data"
    if not (data.exists() and warc_files(data)):
        print(f"reindex: no crawl of the {pages}-page site yet; crawling it", file=sys.stderr)
        ingest.measure(pages, seed, 1, ("samizdat",), root, cache)
    return data


def measure(pages: int, seed: int, root: Path = ROOT, cache: Path = CACHE) -> dict[str, Any]:
    data = crawl_data(pages, seed, root, cache)
    responses, payloads = warc_payloads(data)
    command = [sys.executable, "-m", "samizdat", "reindex", "--data", str(data)]
    result = run_measured(command, root, ingest.samizdat_env(root))
    if result["returncode"] != 0:
        raise SystemExit(f"samizdat reindex failed:\n{result['stdout'][-2000:]}\n{result['stderr'][-3000:]}")
    ours = {
        "wall_seconds": result["wall_seconds"],
        "responses": responses,
        "per_second": responses / result["wall_seconds"],
        "peak_rss_mb": result["peak_rss_mb"],
        "cpu_seconds": result["cpu_seconds"],
        "output": result["stdout"].strip()[-500:],
    }
    print(f"  samizdat reindex: {ours['wall_seconds']:.1f} s, {responses} responses", file=sys.stderr)
    # trafilatura's default (text only: the reference), and with the metadata samizdat's documents carry.
    theirs = extract_all(payloads, with_metadata=False)
    print(f"  trafilatura: {theirs['wall_seconds']:.1f} s, {theirs['payloads']} payloads", file=sys.stderr)
    meta = extract_all(payloads, with_metadata=True)
    print(f"  trafilatura with metadata: {meta['wall_seconds']:.1f} s", file=sys.stderr)
    return {"pages": pages, "data_dir": str(data), "samizdat": ours, "trafilatura": theirs, "metadata": meta}


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    ours, theirs, meta = result["samizdat"], result["trafilatura"], result["metadata"]
    job = f"reindex the WARC files of that crawl ({ours['responses']} responses): extract, store, index"
    payloads = f"the {theirs['payloads']} HTML payloads, {WORKERS} processes"
    return [
        rate_row(
            job,
            ours["per_second"],
            "responses/s",
            f"trafilatura.extract over {payloads}",
            theirs["per_second"],
            0.8,
            result,
        ),
        rate_row(
            job,
            ours["per_second"],
            "responses/s",
            f"trafilatura.extract(with_metadata=True) over {payloads}",
            meta["per_second"],
            None,
            result,
        ),
    ]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Reindex takes ingest's --pages and --seed: it reads that crawl."""


def run(options: argparse.Namespace) -> list[dict[str, Any]]:
    pages = ingest.pages_of(options)
    print(f"reindex: the {pages}-page site's crawl", file=sys.stderr)
    return rows(measure(pages, options.seed, ingest.samizdat_root(options), ingest.cache_of(options)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"the {ingest.QUICK_PAGES}-page site")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--work-dir", type=Path, default=CACHE, help=f"where generated data is cached ({CACHE})")
    ingest.add_arguments(parser)
    args = parser.parse_args(argv)
    result = measure(ingest.pages_of(args), args.seed, ingest.samizdat_root(args), ingest.cache_of(args))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    ours, theirs = result["samizdat"], result["trafilatura"]
    for name, r, count in (("samizdat reindex", ours, "responses"), (f"trafilatura x{WORKERS}", theirs, "payloads")):
        print(
            f"{name:<18} {r['wall_seconds']:7.1f} s {r['cpu_seconds']:7.1f} CPU s {r[count]:6d} {count:<9} "
            f"{r['per_second']:7.1f}/s"
        )
    print(f"ratio {ours['per_second'] / theirs['per_second']:.2f} (goal >= 0.8)")


if __name__ == "__main__":
    main()
