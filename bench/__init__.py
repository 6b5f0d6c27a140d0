"""samizdat's benchmark suite: `python -m bench` (bench/__main__.py) runs every part and prints one table.

What the parts share: the cache of generated data, a measured run of a command (wall time and the peak
resident memory of its process tree) and the shape of a row of the table.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(__file__).resolve().parent / ".cache"  # generated sites and documents, kept between runs


# --- memory of a process tree ----------------------------------------------------------------------


def _tree_rss_proc(root: int) -> int:
    """Bytes resident in `root` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo, page = 0, [root], os.sysconf("SC_PAGE_SIZE")
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/statm", encoding="ascii") as f:
                total += int(f.read().split()[1]) * page
        except OSError:
            pass
    return total


def _tree_rss_psutil(root: int) -> int:
    import psutil

    try:
        process = psutil.Process(root)
        total = process.memory_info().rss
        for child in process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return total
    except psutil.Error:
        return 0


try:
    import psutil  # noqa: F401  (optional: /proc does the same, slower)

    tree_rss = _tree_rss_psutil
    RSS_FROM = "psutil"
except ImportError:
    tree_rss = _tree_rss_proc
    RSS_FROM = "/proc"


def run_measured(
    command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float | None = None
) -> dict[str, Any]:
    """Run `command` to the end: wall seconds, exit status, output, and the peak RSS of its process tree
    (sampled every 0.1 s)."""
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
    output: dict[str, str] = {}

    def drain(name: str, stream: Any) -> None:
        output[name] = stream.read()

    readers = [
        threading.Thread(target=drain, args=(n, s)) for n, s in (("out", process.stdout), ("err", process.stderr))
    ]
    for reader in readers:
        reader.start()
    while process.poll() is None:
        peak = max(peak, tree_rss(process.pid))
        if timeout is not None and time.perf_counter() - started > timeout:
            process.kill()
        time.sleep(0.1)
    wall = time.perf_counter() - started
    for reader in readers:
        reader.join()
    return {
        "wall_seconds": wall,
        "returncode": process.returncode,
        "peak_rss_mb": peak / 2**20,
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
