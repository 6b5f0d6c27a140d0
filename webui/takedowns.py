"""Takedowns in the archivists' area (signed in only): hide a document or a source from search, export and the
API, purge one from the WARC files, lift a hide; the list of what is hidden and purged, with who, when and why.

Every action is a POST with the CSRF token (and the Origin check, app-wide) and a reason; a refused one (no
reason, an unknown document or source, a crawl running during a purge) writes nothing and says why. Each is
also recorded in the audit log. The actions themselves are archive/purge.py's, as for `samizdat takedown`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from samizdat.archive.errors import SamizdatError
from samizdat.archive.purge import hide_document, hide_source, purge_document, purge_source
from samizdat.archive.takedowns import Takedowns
from samizdat.search.removal import unindexer
from samizdat.webui.auth import accounts, current_user, sign_in_required
from samizdat.webui.security import is_document_id, is_source_name
from samizdat.webui.state import archive, store

blueprint = Blueprint("takedowns", __name__, url_prefix="/admin")

CONFIRM = "purge"  # what the purge forms' confirmation checkbox sends


@blueprint.get("/takedowns")
@sign_in_required
def index() -> str:
    path = archive().datadir.takedowns_path
    rows: list[dict[str, Any]] = []
    if path.exists():
        with Takedowns(path) as takedowns:
            rows = takedowns.rows(include_lifted=True)
    hidden_sources = archive().search.hidden()[1]
    return render_template(
        "admin/takedowns.html",
        user=current_user(),
        active=[row for row in rows if not row["lifted_at"]],
        lifted=[row for row in rows if row["lifted_at"]],
        sources=[
            {"name": name, "archived": store().count(name), "hidden": name in hidden_sources}
            for name in store().source_names()
        ],
    )


@blueprint.post("/documents/<doc_id>/hide")
@sign_in_required
def hide_document_view(doc_id: str) -> Any:
    _check_document(doc_id)
    user, reason = current_user() or "", request.form.get("reason", "")
    try:
        number = hide_document(archive().datadir, doc_id, user, reason)
    except SamizdatError as exc:
        flash(f"Not hidden: {exc}")
        return redirect(_document_page(doc_id))
    accounts().record(user, "hide", f"document {doc_id}", reason.strip())
    flash(f"Document {doc_id} is hidden from search, export and the API (takedown {number}).")
    return redirect(_document_page(doc_id))


@blueprint.post("/sources/<name>/hide")
@sign_in_required
def hide_source_view(name: str) -> Any:
    _check_source(name)
    user, reason = current_user() or "", request.form.get("reason", "")
    try:
        number = hide_source(archive().datadir, name, user, reason)
    except SamizdatError as exc:
        flash(f"Not hidden: {exc}")
        return redirect(url_for("takedowns.index"))
    accounts().record(user, "hide", f"source {name}", reason.strip())
    flash(f"Source {name} is hidden from search, export and the API (takedown {number}).")
    return redirect(url_for("takedowns.index"))


@blueprint.post("/documents/<doc_id>/purge")
@sign_in_required
def purge_document_view(doc_id: str) -> Any:
    _check_document(doc_id)
    user, reason = current_user() or "", request.form.get("reason", "")
    if request.form.get("confirm") != CONFIRM:
        flash("Not purged: tick the box that says the purge cannot be undone.")
        return redirect(_document_page(doc_id))
    datadir = archive().datadir
    try:
        result = purge_document(datadir, doc_id, user, reason, unindexer(datadir.store_path, datadir.index_dir))
    except SamizdatError as exc:
        flash(f"Not purged: {exc}")
        return redirect(_document_page(doc_id))
    accounts().record(user, "purge", f"document {doc_id}", reason.strip())
    flash(
        f"Document {doc_id} purged (takedown {result['takedown']}): {result['records']} WARC records removed from "
        f"{len(result['files_rewritten'])} file(s)."
    )
    return redirect(url_for("takedowns.index"))


@blueprint.post("/sources/<name>/purge")
@sign_in_required
def purge_source_view(name: str) -> Any:
    _check_source(name)
    user, reason = current_user() or "", request.form.get("reason", "")
    if request.form.get("confirm") != CONFIRM:
        flash("Not purged: tick the box that says the purge cannot be undone.")
        return redirect(url_for("takedowns.index"))
    datadir = archive().datadir
    try:
        result = purge_source(datadir, name, user, reason, unindexer(datadir.store_path, datadir.index_dir))
    except SamizdatError as exc:
        flash(f"Not purged: {exc}")
        return redirect(url_for("takedowns.index"))
    accounts().record(user, "purge", f"source {name}", reason.strip())
    flash(
        f"Source {name} purged (takedown {result['takedown']}): {len(result['documents'])} documents, "
        f"{len(result['files_removed'])} WARC file(s) removed."
    )
    return redirect(url_for("takedowns.index"))


@blueprint.post("/takedowns/<int:takedown_id>/lift")
@sign_in_required
def lift(takedown_id: int) -> Any:
    user = current_user() or ""
    path = archive().datadir.takedowns_path
    if not path.exists():
        abort(404, f"there is no takedown {takedown_id}; the takedowns page lists them")
    with Takedowns(path) as takedowns:
        if takedowns.get(takedown_id) is None:
            abort(404, f"there is no takedown {takedown_id}; the takedowns page lists them")
        try:
            row = takedowns.lift(takedown_id, user)
        except SamizdatError as exc:
            flash(f"Not lifted: {exc}")
            return redirect(url_for("takedowns.index"))
    what = f"{row['scope']} {row['doc_id'] or row['source']}"
    accounts().record(user, "lift", what, f"takedown {takedown_id}")
    flash(f"Takedown {takedown_id} lifted: {what} is shown again.")
    return redirect(url_for("takedowns.index"))


def _check_document(doc_id: str) -> None:
    if not is_document_id(doc_id):
        abort(404, f"{doc_id!r} is not a document id (16 hexadecimal characters)")


def _check_source(name: str) -> None:
    if not is_source_name(name):
        abort(404, f"{name!r} is not a source name")


def _document_page(doc_id: str) -> str:
    return url_for("pages.document", doc_id=doc_id)
