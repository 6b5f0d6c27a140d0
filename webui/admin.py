"""The archivists' area (`/admin/`, signed in only): every source with its newest run, next scheduled run and
schedule, and "crawl now"; the runs, newest first, with their figures; one run with the end of its log, live
while it runs (its figures as JSON for the page's script), and "stop"; a source's page with its runs; sources
added, edited, disabled and deleted in sources.toml (archive/sources_file.py).

"Crawl now" is handed to the scheduler when one runs (it starts the crawl at its next tick), else the server
starts `samizdat crawl NAME` in a process of its own. Either way a source is never crawled twice at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for

from samizdat.archive import sources_file
from samizdat.archive.config import KINDS, REDACTED, SOURCE_KEYS, Config, Source, redact_proxy
from samizdat.archive.crawls import describe_run
from samizdat.archive.errors import ConfigError
from samizdat.archive.schedule import last_slot, next_run, read_last_slots
from samizdat.archive.store import RUNNING
from samizdat.archive.warc import process_alive
from samizdat.webui.auth import accounts, current_user, sign_in_required
from samizdat.webui.security import inside, is_source_name
from samizdat.webui.state import archive, store

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
        source, configured = archive().catalog.definition(name, store())
        newest = store().runs(name, limit=1)
        upcoming = next_run(source, zone, last_slot(slots, name, store()), now) if source else None
        rows.append(
            {
                "name": name,
                "schedule": source.schedule if source else None,
                "watch_minutes": source.watch_minutes if source else None,
                "enabled": source.enabled if source else True,
                "next_run": upcoming.isoformat(timespec="seconds") if upcoming else None,
                "last_run": describe_run(newest[0]) if newest else None,
                "archived": store().count(name),
                "configured": configured,
            }
        )
    runs = [describe_run(run) for run in store().runs(limit=30)]
    return render_template(
        "admin/index.html",
        user=current_user(),
        sources=rows,
        runs=runs,
        timezone=zone,
        config_path=archive().config_path,
        config_error=archive().config_error,
    )


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


@blueprint.get("/runs/<int:run_id>.json")
@sign_in_required
def run_json(run_id: int) -> Response:
    """The run's figures so far, for the run page's script (saved by the crawl every few seconds)."""
    response = jsonify(describe_run(run_or_404(run_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/sources/<name>/crawl")
@sign_in_required
def crawl_now(name: str) -> Any:
    config = archive().config
    user = current_user() or ""
    source = configured_source(name)
    assert config is not None  # configured_source found the source in it
    with _children_lock:  # one decision at a time: two quick clicks start one crawl
        message = start_crawl(source, config, user)
    flash(message)
    return redirect(url_for("admin.source", name=name))


def start_crawl(source: Source, config: Config, user: str) -> str:
    """Hand the crawl to the scheduler or start it here, unless the source is disabled or being crawled;
    says which."""
    name, datadir = source.name, archive().datadir
    if not source.enabled:
        return f"{name} is disabled: enable it first to crawl it."
    if datadir.crawling(name) or started_here(name):
        return f"{name} is being crawled already; its run is listed below."
    if datadir.scheduler_running():
        datadir.request_crawl(name, by=user)
        accounts().record(user, "crawl now", name, "handed to the scheduler")
        return f"Crawl of {name} handed to the scheduler: it starts within seconds."
    command = ["crawl", name, "--config", str(config.path), "--data", str(datadir.root)]
    log = open(datadir.logs_dir / f"web-{name}.out", "ab")  # noqa: SIM115 (the child's)
    try:
        _children[name] = subprocess.Popen(
            [sys.executable, "-m", "samizdat", *command],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # it outlives the request, and a stop of the server
        )
    finally:
        log.close()
    accounts().record(user, "crawl now", name, "started by the server")
    return f"Crawl of {name} started."


@blueprint.post("/runs/<int:run_id>/stop")
@sign_in_required
def stop_run(run_id: int) -> Any:
    found = run_or_404(run_id)
    pid = found.get("pid")
    # The recorded pid is only signalled while a crawl of the source holds its lock and the process is a
    # samizdat one: a crawl killed outright leaves its pid behind, free for the system to give to another.
    if (
        found["status"] != RUNNING
        or not pid
        or not process_alive(int(pid))
        or not archive().datadir.crawling(found["source"])
        or not is_samizdat_process(int(pid))
    ):
        flash(f"Run {run_id} is not running ({found['status']}); nothing to stop.")
    else:
        os.kill(int(pid), signal.SIGTERM)  # the crawl drains what is in flight and records the run interrupted
        accounts().record(current_user() or "", "stop", f"run {run_id}", found["source"])
        flash(f"Stopping run {run_id}: what is in flight finishes first; the next crawl resumes it.")
    return redirect(url_for("admin.run", run_id=run_id))


# The crawls this server started, by source: a second "crawl now" before the first crawl holds its lock is
# refused, and an ended one is reaped (waited for) rather than left a zombie.
_children: dict[str, subprocess.Popen[bytes]] = {}
_children_lock = threading.RLock()


def started_here(name: str) -> bool:
    """Whether a crawl of `name` this server started still runs; reaps those that ended."""
    with _children_lock:
        for source, child in list(_children.items()):
            if child.poll() is not None:
                del _children[source]
        return name in _children


def is_samizdat_process(pid: int) -> bool:
    """Whether the process runs samizdat, as far as /proc tells (on systems without it: assumed)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"samizdat" in fh.read(4096)
    except FileNotFoundError:
        return not os.path.isdir("/proc")
    except OSError:
        return True  # not ours to read: the lock and the run record have vouched for it


# -- sources ------------------------------------------------------------------------------------------------


def configured_source(name: str) -> Source:
    """The source as sources.toml defines it now; 404 when it does not (or the server has no sources.toml)."""
    config = archive().config
    if config is None:
        abort(404, "this server was started without --config: sources are managed in sources.toml by hand")
    for source in config.sources if is_source_name(name) else ():
        if source.name == name:
            return source
    abort(404, f"there is no source {name!r} in {config.path}")


def sources_path() -> Any:
    """sources.toml, or 404 when the server was started without one."""
    path = archive().config_path
    if path is None or archive().config is None:
        abort(404, "this server was started without --config: sources are managed in sources.toml by hand")
    return path


@blueprint.get("/sources/<name>")
@sign_in_required
def source(name: str) -> str:
    """One source: its definition, its actions, and its runs with their figures and logs."""
    found, configured = archive().catalog.definition(name, store()) if is_source_name(name) else (None, False)
    runs = store().runs(name, limit=100) if is_source_name(name) else []
    if found is None and not runs:
        abort(404, f"there is no source {name!r}; the admin page lists them")
    config = archive().config
    upcoming = None
    if found is not None and config is not None:
        last = last_slot(read_last_slots(archive().root), name, store())
        upcoming = next_run(found, config.settings.timezone, last, datetime.now(UTC))
    return render_template(
        "admin/source.html",
        user=current_user(),
        name=name,
        source=found,
        configured=configured,
        runs=[describe_run(run) for run in runs],
        archived=store().count(name),
        next_run=upcoming.isoformat(timespec="seconds") if upcoming else None,
        timezone=config.settings.timezone if config else "UTC",
        proxy=redact_proxy(found.proxy) if found is not None and found.proxy else None,
        revision=sources_file.read(archive().config_path)[1] if configured and archive().config_path else "",
    )


@blueprint.get("/sources/new")
@sign_in_required
def new_source() -> str:
    path = sources_path()
    return source_form(values={}, revision=sources_file.read(path)[1], name=None)


@blueprint.post("/sources/new")
@sign_in_required
def add_source() -> Any:
    path = sources_path()
    values = sources_file.form_values(submitted())
    try:
        sources_file.add(path, values, request.form.get("revision", ""), os.environ)
    except ConfigError as exc:
        return refused_form(exc, values, None)
    accounts().record(current_user() or "", "add source", str(values.get("name")), f"written to {path}")
    flash(f"Source {values.get('name')} added to {path}.")
    return redirect(url_for("admin.source", name=values.get("name")))


@blueprint.get("/sources/<name>/edit")
@sign_in_required
def edit_source(name: str) -> str:
    configured_source(name)
    revision = sources_file.read(sources_path())[1]
    return source_form(values=sources_file.raw_source(sources_path(), name), revision=revision, name=name)


@blueprint.post("/sources/<name>/edit")
@sign_in_required
def save_source(name: str) -> Any:
    configured_source(name)
    path = sources_path()
    values = {**sources_file.form_values(submitted()), "name": name}  # a source is not renamed: its archive
    try:  # is filed under its name
        values = keep_proxy_password(values, sources_file.raw_source(path, name))
        sources_file.edit(path, name, values, request.form.get("revision", ""), os.environ, keep=("enabled",))
    except ConfigError as exc:
        return refused_form(exc, values, name)
    accounts().record(current_user() or "", "edit source", name, f"written to {path}")
    flash(f"Source {name} saved in {path}.")
    return redirect(url_for("admin.source", name=name))


@blueprint.post("/sources/<name>/disable")
@sign_in_required
def disable_source(name: str) -> Any:
    return switch_source(name, enabled=False)


@blueprint.post("/sources/<name>/enable")
@sign_in_required
def enable_source(name: str) -> Any:
    return switch_source(name, enabled=True)


def switch_source(name: str, enabled: bool) -> Any:
    configured_source(name)
    path = sources_path()
    try:
        sources_file.set_enabled(path, name, enabled, request.form.get("revision", ""), os.environ)
    except ConfigError as exc:
        flash(f"Nothing changed: {exc.problem}")
        return redirect(url_for("admin.source", name=name))
    action = "enable source" if enabled else "disable source"
    accounts().record(current_user() or "", action, name, f"written to {path}")
    flash(
        f"{name} is enabled again: its schedule applies."
        if enabled
        else f"{name} is disabled: it is not crawled on schedule; its archive stays searchable."
    )
    return redirect(url_for("admin.source", name=name))


@blueprint.get("/sources/<name>/delete")
@sign_in_required
def confirm_delete(name: str) -> str:
    configured_source(name)
    return render_template(
        "admin/delete_source.html",
        user=current_user(),
        name=name,
        archived=store().count(name),
        revision=sources_file.read(sources_path())[1],
        path=sources_path(),
    )


@blueprint.post("/sources/<name>/delete")
@sign_in_required
def delete_source(name: str) -> Any:
    configured_source(name)
    path = sources_path()
    if archive().datadir.crawling(name):
        flash(f"{name} is being crawled: stop its run first, then delete it.")
        return redirect(url_for("admin.source", name=name))
    try:
        sources_file.delete(path, name, request.form.get("revision", ""), os.environ)
    except ConfigError as exc:
        flash(f"Nothing changed: {exc.problem}")
        return redirect(url_for("admin.source", name=name))
    accounts().record(current_user() or "", "delete source", name, f"removed from {path}")
    flash(f"{name} removed from {path}. What it archived stays in the archive (a takedown hides or purges it).")
    return redirect(url_for("admin.index"))


def submitted() -> dict[str, str]:
    """The form's fields, each its last value: a checkbox follows a hidden "false" of the same name, so an
    unticked box still says so."""
    return {key: values[-1] for key, values in request.form.lists() if values}


def source_form(
    values: dict[str, Any],
    revision: str,
    name: str | None,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
) -> str:
    return render_template(
        "admin/source_form.html",
        user=current_user(),
        name=name,
        fields=form_fields(values),
        kinds=KINDS,
        revision=revision,
        errors=errors or {},
        problem=problem,
        path=sources_path(),
    )


def refused_form(exc: ConfigError, values: dict[str, Any], name: str | None) -> tuple[str, int]:
    """The form again with what was typed, the problem next to its field; nothing was written."""
    path = sources_path()
    revision = request.form.get("revision", "")
    if isinstance(exc, sources_file.StaleRevision):
        revision = sources_file.read(path)[1]  # saving again overwrites the other change knowingly
    elif exc.key in SOURCE_KEYS:
        return source_form(values, revision, name, errors={exc.key: exc.problem}), 400
    return source_form(values, revision, name, problem=exc.problem), 400


def keep_proxy_password(values: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The form shows the proxy with its password as ***: sent back unchanged, the password in the file stays.
    Any other change to the proxy (another user, host or port) needs the password typed again."""
    proxy, before = values.get("proxy"), current.get("proxy")
    unchanged = isinstance(before, str) and redact_proxy(before) == proxy
    if isinstance(proxy, str) and f":{REDACTED}@" in proxy and unchanged:
        return {**values, "proxy": before}
    return values


def form_fields(values: dict[str, Any]) -> list[dict[str, Any]]:
    """Every source key for the form, in the documented order, with its help and its value as text."""
    fields = []
    for key, spec in SOURCE_KEYS.items():
        if key == "enabled":
            continue  # its own buttons
        value = values.get(key)
        if spec.type is list:
            widget, text = "lines", "\n".join(str(v) for v in value or [])
        elif spec.type is bool:
            widget, text = "checkbox", spec.default if value is None else value
        else:
            widget, text = ("kind" if key == "kind" else "text"), "" if value is None else str(value)
            if key == "proxy" and text:
                text = redact_proxy(text)  # never sent to the browser; saved back unchanged, it is kept
        default = spec.default if spec.default not in (None, [], True, False) else None
        fields.append({"key": key, "widget": widget, "value": text, "help": spec.help, "default": default})
    return fields
