"""samizdat's benchmark suite: every part, one table, one JSON file.

    python -m bench [--quick] [--pages N] [--docs 10000,100000] [--only ingest,reindex,search] [--out PATH]

Parts (each also runs alone: `python -m bench.ingest`, `python -m bench.reindex`, `python -m bench.search`):

  ingest   `samizdat crawl` of a generated WordPress-like site (--pages, default 2,000) beside a plain Scrapy
           crawl, the same crawl calling trafilatura, and trafilatura's own command line (bench/ingest.py)
  reindex  `samizdat reindex` of that crawl's WARC files beside trafilatura on 2 processes (bench/reindex.py)
  search   indexing and the full search page at --docs articles beside SQLite FTS5 (bench/search.py)

Every figure sits beside its reference measured in the same run on the same data: absolute times move between
runs on a shared machine, the ratios are what count. The table's columns: job | samizdat | reference (same
run) | ratio | goal | met. The ratio is samizdat / reference: for rates higher is better (goal ">= ..."), for
times and memory lower is better (goal "<= ..." or "< ..."). `--quick` is a smoke run of the whole suite in
about 90 seconds (150 pages, 2,000 documents). Generated data is cached in bench/.cache/.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sqlite3
import sys
import time
import traceback
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from bench import CACHE, ROOT, ingest, reindex

PARTS = ("ingest", "reindex", "search")
DEFAULT_OUT = ROOT / "bench" / "results" / "latest.json"
PACKAGES = ("samizdat", "scrapy", "twisted", "trafilatura", "whoosh-reloaded", "warcio", "lxml", "psutil")


def load_parts(chosen: tuple[str, ...]) -> tuple[dict[str, ModuleType], dict[str, str]]:
    """The chosen parts' modules, and why any could not be loaded."""
    modules: dict[str, ModuleType] = {"ingest": ingest, "reindex": reindex}
    missing: dict[str, str] = {}
    if "search" in chosen:
        try:
            modules["search"] = importlib.import_module("bench.search")
        except ModuleNotFoundError as error:
            if error.name != "bench.search":
                raise
            missing["search"] = "bench/search.py is not in this checkout: the search part cannot run"
    return {name: modules[name] for name in chosen if name in modules}, missing


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    found["sqlite"] = sqlite3.sqlite_version
    return found


def number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table, ready for the closing note."""
    lines = ["| job | samizdat | reference (same run) | ratio | goal | met |", "|---|---|---|---|---|---|"]
    for row in rows:
        unit = row.get("unit", "")
        reference = "-"
        if row.get("reference") is not None:
            reference = f"{number(row['reference'])} {unit}: {row.get('reference_name', '')}".strip()
        ratio = "-" if row.get("ratio") is None else f"{row['ratio']:.2f}x"
        met = {True: "yes", False: "NO", None: "-"}[row.get("met")]
        cells = [row["job"], f"{number(row.get('samizdat'))} {unit}", reference, ratio, row.get("goal", "-"), met]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run of every part, about 90 s")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts, of: {', '.join(PARTS)}")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"the JSON file (default {DEFAULT_OUT})")
    parser.add_argument("--work-dir", type=Path, default=CACHE, help="where generated data is cached")
    ingest.add_arguments(parser)
    reindex.add_arguments(parser)
    # The search part's own options, when it is there; its absence is said once the run starts.
    known, _ = parser.parse_known_args(argv)
    chosen = tuple(p.strip() for p in known.only.split(",") if p.strip())
    unknown = [p for p in chosen if p not in PARTS]
    if unknown:
        parser.error(f"--only: unknown part {unknown[0]!r} (parts: {', '.join(PARTS)})")
    parts, missing = load_parts(chosen)
    if "search" in parts:
        parts["search"].add_arguments(parser)
    elif "search" in missing:
        parser.add_argument("--docs", help=argparse.SUPPRESS)  # accepted, so that the message below is the error
    options = parser.parse_args(argv)

    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    timings: dict[str, float] = {}
    errors: dict[str, str] = dict(missing)
    for name, why in missing.items():
        print(f"bench: {name}: {why}", file=sys.stderr)
    for name, module in parts.items():
        began = time.perf_counter()
        try:
            rows += module.run(options)
        except (Exception, SystemExit) as error:  # one part failing leaves the others' figures standing
            errors[name] = f"{type(error).__name__}: {error}"
            traceback.print_exc()
            print(f"bench: {name} failed: {errors[name]}", file=sys.stderr)
        timings[name] = time.perf_counter() - began
    total = time.perf_counter() - started

    print()
    print(table(rows))
    for name, why in errors.items():
        print(f"\n{name}: NOT MEASURED: {why}")
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cores": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "machine": platform.machine(),
        },
        "versions": versions(),
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(options).items()},
        "sizes": {
            "pages": ingest.pages_of(options),
            "docs": parts["search"].sizes(options) if "search" in parts else None,
        },
        "seconds": {**timings, "total": total},
        "errors": errors,
        "rows": rows,
    }
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    print(f"\n{len(rows)} rows in {total:.0f} s; written to {options.out}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
