"""The archivists' area (`/admin/`, signed in only): every source with its newest run, next scheduled run and
schedule; the runs, newest first, with their figures; one run with the end of its log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, render_template

from archive.crawls import describe_run
from archive.schedule import last_slot, next_run, read_last_slots
from webui.auth import current_user, sign_in_required
from webui.security import inside
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
            }
        )
    runs = [describe_run(run) for run in store().runs(limit=30)]
    return render_template("admin/index.html", user=current_user(), sources=rows, runs=runs, timezone=zone)


@blueprint.get("/runs/<int:run_id>")
@sign_in_required
def run(run_id: int) -> str:
    found = store().run(run_id)
    if found is None:
        abort(404, f"there is no run {run_id}; the admin page lists them")
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
