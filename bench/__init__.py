"""samizdat's benchmark suite: `python -m bench` (bench/__main__.py) runs every part and prints one table.

What the parts share: the cache of generated data, a measured run of a command (wall time and the peak
resident memory of its process tree) and the shape of a row of the table.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(__file__).resolve().parent / ".cache"  # generated sites and documents, kept between runs


# --- memory and CPU of a process tree --------------------------------------------------------------

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
RSS_FROM = "/proc"


def tree_sample(root: int) -> tuple[int, dict[int, float]]:
    """(bytes resident in `root` and all its descendants, CPU seconds each has used so far), from one pass
    over /proc/*/stat (Linux)."""
    stats: dict[int, list[str]] = {}
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    rss, cpu, todo = 0, {}, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        fields = stats.get(pid)
        if fields:
            rss += int(fields[21]) * PAGE_BYTES
            cpu[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    return rss, cpu


def run_measured(
    command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float | None = None
) -> dict[str, Any]:
    """Run `command` to the end: wall seconds, exit status, output, the peak RSS of its process tree and the
    CPU seconds the tree used (both sampled every 0.2 s: a process living less than that is missed, and one
    ending loses its last 0.2 s). CPU seconds move less than wall time when other work shares the machine."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    cpu: dict[int, float] = {}
    output: dict[str, str] = {}

    def drain(name: str, stream: Any) -> None:
        output[name] = stream.read()

    readers = [
        threading.Thread(target=drain, args=(n, s)) for n, s in (("out", process.stdout), ("err", process.stderr))
    ]
    for reader in readers:
        reader.start()
    while process.poll() is None:
        rss, seen = tree_sample(process.pid)
        peak = max(peak, rss)
        for pid, seconds in seen.items():
            cpu[pid] = max(cpu.get(pid, 0.0), seconds)
        if timeout is not None and time.perf_counter() - started > timeout:
            process.kill()
        time.sleep(0.2)
    wall = time.perf_counter() - started
    for reader in readers:
        reader.join()
    return {
        "wall_seconds": wall,
        "returncode": process.returncode,
        "peak_rss_mb": peak / 2**20,
        "cpu_seconds": sum(cpu.values()),
        "stdout": output.get("out", ""),
        "stderr": output.get("err", ""),
    }


# --- rows of the table -----------------------------------------------------------------------------


def rate_row(
    job: str,
    samizdat: float,
    unit: str,
    reference_name: str,
    reference: float,
    goal: float | None,
    details: dict[str, Any],
) -> dict[str, Any]:
    """A row comparing two rates (higher is better): ratio = samizdat / reference, met when ratio >= goal."""
    ratio = samizdat / reference if reference else None
    return {
        "job": job,
        "samizdat": samizdat,
        "unit": unit,
        "reference_name": reference_name,
        "reference": reference,
        "ratio": ratio,
        "goal": f">= {goal:.1f}x" if goal is not None else "-",
        "met": (ratio >= goal) if goal is not None and ratio is not None else None,
        "details": details,
    }
