"""The archivists' area (`/admin/`, signed in only): every source with its newest run, next scheduled run and
schedule, and "crawl now"; the runs, newest first, with their figures; one run with the end of its log, live
while it runs, and "stop".

"Crawl now" is handed to the scheduler when one runs (it starts the crawl at its next tick), else the server
starts `samizdat crawl NAME` in a process of its own. Either way a source is never crawled twice at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for

from archive.crawls import describe_run
from archive.schedule import last_slot, next_run, read_last_slots
from archive.store import RUNNING
from archive.warc import process_alive
from webui.auth import accounts, current_user, sign_in_required
from webui.security import inside, is_source_name
from webui.state import archive, store

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

LOG_TAIL_BYTES = 64 * 1024  # the end of a run's log shown on its page; the file may be far larger


@blueprint.get("/")
@sign_in_required
def index() -> str:
    now = datetime.now(UTC)
    slots = read_last_slots(archive().root)
    config = archive().config
    zone = config.settings.timezone if config else "UTC"
    rows: list[dict[str, Any]] = []
    for name in archive().catalog.names(store()):
        source, _ = archive().catalog.definition(name, store())
        newest = store().runs(name, limit=1)
        upcoming = next_run(source, zone, last_slot(slots, name, store()), now) if source else None
        rows.append(
            {
                "name": name,
                "schedule": source.schedule if source else None,
                "watch_minutes": source.watch_minutes if source else None,
                "next_run": upcoming.isoformat(timespec="seconds") if upcoming else None,
                "last_run": describe_run(newest[0]) if newest else None,
                "archived": store().count(name),
                "configured": bool(config and any(s.name == name for s in config.sources)),
            }
        )
    runs = [describe_run(run) for run in store().runs(limit=30)]
    return render_template("admin/index.html", user=current_user(), sources=rows, runs=runs, timezone=zone)


def run_or_404(run_id: int) -> dict[str, Any]:
    found = store().run(run_id)
    if found is None:
        abort(404, f"there is no run {run_id}; the admin page lists them")
    return found


@blueprint.get("/runs/<int:run_id>")
@sign_in_required
def run(run_id: int) -> str:
    found = run_or_404(run_id)
    log = None
    path = inside(archive().root, str(found.get("log_file") or ""))
    if path is not None:
        with open(path, "rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(max(0, size - LOG_TAIL_BYTES))
            log = fh.read().decode("utf-8", "replace")
            if size > LOG_TAIL_BYTES:
                log = log.partition("\n")[2]  # from the first whole line
    return render_template(
        "admin/run.html", user=current_user(), run=describe_run(found), log=log, log_file=found.get("log_file")
    )


@blueprint.post("/sources/<name>/crawl")
@sign_in_required
def crawl_now(name: str) -> Any:
    config = archive().config
    user = current_user() or ""
    if not is_source_name(name) or config is None or name not in {s.name for s in config.sources}:
        abort(404, f"there is no source {name!r} in sources.toml (serve the archive with --config to crawl from here)")
    datadir = archive().datadir
    if datadir.crawling(name):
        flash(f"{name} is being crawled already; its run is listed below.")
    elif datadir.scheduler_running():
        datadir.request_crawl(name, by=user)
        accounts().record(user, "crawl now", name, "handed to the scheduler")
        flash(f"Crawl of {name} handed to the scheduler: it starts within seconds.")
    else:
        log = open(datadir.logs_dir / f"web-{name}.out", "ab")  # noqa: SIM115 (the child's)
        try:
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "samizdat",
                    "crawl",
                    name,
                    "--config",
                    str(config.path),
                    "--data",
                    str(datadir.root),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # it outlives the request, and a stop of the server
            )
        finally:
            log.close()
        accounts().record(user, "crawl now", name, "started by the server")
        flash(f"Crawl of {name} started.")
    return redirect(url_for("admin.index"))


@blueprint.post("/runs/<int:run_id>/stop")
@sign_in_required
def stop_run(run_id: int) -> Any:
    found = run_or_404(run_id)
    pid = found.get("pid")
    if found["status"] != RUNNING or not pid or not process_alive(int(pid)):
        flash(f"Run {run_id} is not running ({found['status']}); nothing to stop.")
    else:
        os.kill(int(pid), signal.SIGTERM)  # the crawl drains what is in flight and records the run interrupted
        accounts().record(current_user() or "", "stop", f"run {run_id}", found["source"])
        flash(f"Stopping run {run_id}: what is in flight finishes first; the next crawl resumes it.")
    return redirect(url_for("admin.run", run_id=run_id))
