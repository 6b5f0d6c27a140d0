"""Signing archivists in, and what every state-changing request must pass.

- Sessions are Flask's signed cookies, keyed by a secret made on first run in the data directory; HttpOnly,
  SameSite=Lax, and Secure when the request came over https.
- Every POST carries a CSRF token (Flask-WTF) and, when the browser sends one, an Origin (else a Referer)
  of this site: a refused request changes nothing and the page says why.
- Failed sign-ins are slowed down per address and per name: after a few, each next try must wait longer.
- A private archive (the `private` setting) shows nothing but the sign-in page to visitors.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import Forbidden, TooManyRequests

from samizdat.archive.accounts import Accounts
from samizdat.webui.errors import WebError, respond
from samizdat.webui.state import EXTENSION, archive

blueprint = Blueprint("auth", __name__, url_prefix="/admin")
csrf = CSRFProtect()

FREE_FAILURES = 3  # failed sign-ins before the waits begin
MAX_WAIT_SECONDS = 300
FAILURE_MEMORY_SECONDS = 3600
OPEN_ENDPOINTS = {"auth.sign_in", "static"}  # reachable without a session in a private archive


class SessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure  # Secure when served over https; a plain-http local archive still works


class Throttle:
    """Failed sign-ins by key (an address, a name): after FREE_FAILURES, try n waits 2**(n - FREE_FAILURES)
    seconds after the last failure, at most MAX_WAIT_SECONDS. Per process, in memory: enough to make
    guessing slow; a restart forgets."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.failures: dict[str, tuple[int, float]] = {}
        self.lock = threading.Lock()

    def wait(self, *keys: str) -> int:
        """Seconds to wait before the next try (0: go ahead)."""
        now = self.clock()
        longest = 0.0
        with self.lock:
            for key in keys:
                count, last = self.failures.get(key, (0, 0.0))
                if now - last > FAILURE_MEMORY_SECONDS:
                    continue
                if count >= FREE_FAILURES:
                    longest = max(longest, last + min(MAX_WAIT_SECONDS, 2 ** (count - FREE_FAILURES)) - now)
        return max(0, int(longest + 0.999))

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self.lock:
            for key in keys:
                count, last = self.failures.get(key, (0, 0.0))
                self.failures[key] = (1 if now - last > FAILURE_MEMORY_SECONDS else count + 1, now)

    def succeeded(self, *keys: str) -> None:
        with self.lock:
            for key in keys:
                self.failures.pop(key, None)


def setup(app: Flask, private: bool) -> None:
    """Sessions, CSRF, the Origin check, the private-archive guard and the sign-in pages (call it after the
    Archive extension is in place: the session key lives in its data directory)."""
    app.secret_key = app.extensions[EXTENSION].datadir.session_secret()
    app.session_interface = SessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME="samizdat_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=False,  # our own Origin/Referer check below covers http as well
        SAMIZDAT_PRIVATE=private,
    )
    app.extensions["samizdat.throttle"] = Throttle()
    csrf.init_app(app)
    app.before_request(check_origin)
    app.before_request(guard_private)
    app.register_error_handler(CSRFError, refused_token)
    app.teardown_appcontext(close_accounts)
    app.register_blueprint(blueprint)


def accounts() -> Accounts:
    """The request's accounts database, closed when the request ends."""
    if "accounts" not in g:
        g.accounts = Accounts(archive().datadir.accounts_path)
    opened: Accounts = g.accounts
    return opened


def close_accounts(_exc: BaseException | None = None) -> None:
    opened = g.pop("accounts", None)
    if opened is not None:
        opened.close()


def current_user() -> str | None:
    """The signed-in archivist, if their account still exists."""
    name = session.get("user")
    if not isinstance(name, str):
        return None
    if not accounts().exists(name):
        session.clear()  # removed with `samizdat user remove`: the session ends with the account
        return None
    return name


def sign_in_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


# -- checks on every request --------------------------------------------------------------------------------


def check_origin() -> None:
    """A state-changing request must come from our own pages: its Origin (or, without one, its Referer)
    names this host. Browsers send Origin with every POST; a request with neither still needs the token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if origin is None:
        return
    parts = urlsplit(origin)
    if parts.netloc != request.host or parts.scheme not in ("http", "https"):
        # "null": a sandboxed frame, a file, or a page that withholds its origin.
        where = f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"an origin of {origin[:80]!r}"
        raise Forbidden(f"refused: this request came from another site ({where}); nothing was changed")


def guard_private() -> Response | None:
    if not current_app.config.get("SAMIZDAT_PRIVATE") or request.endpoint in OPEN_ENDPOINTS:
        return None
    if current_user() is not None:
        return None
    # Requests a signed-in page vouched for without the cookie (webui/wayback.py: a frame's requisites).
    if any(grants() for grants in current_app.extensions.get("samizdat.private_passes", ())):
        return None
    if request.path.startswith("/api/"):
        response = jsonify(
            {"error": "sign-in required", "detail": "this archive is private; sign in at /admin/sign-in"}
        )
        response.status_code = 401
        return response
    return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))


def refused_token(error: CSRFError) -> Response:
    detail = (
        "the form's security token is missing, expired or wrong, so nothing was changed; reload the page and try again"
    )
    return respond(WebError(400, "refused", detail))


# -- the views ----------------------------------------------------------------------------------------------


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (never another host)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("admin.index")


@blueprint.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("admin/sign_in.html", next=target, message=None)
    name = (request.form.get("name") or "").strip().lower()
    password = request.form.get("password") or ""
    throttle: Throttle = current_app.extensions["samizdat.throttle"]
    keys = (f"address:{request.remote_addr}", f"name:{name}")
    wait = throttle.wait(*keys)
    if wait:
        raise TooManyRequests(f"too many failed sign-ins; wait {wait} seconds and try again")
    if not name or not accounts().check(name, password):
        throttle.failed(*keys)
        message = "That name and password do not match an archivist's account."
        return render_template("admin/sign_in.html", next=target, message=message), 401
    throttle.succeeded(*keys)
    session.clear()
    session["user"] = name
    return redirect(target)


@blueprint.post("/sign-out")
def sign_out() -> Any:
    session.clear()
    return redirect(url_for("pages.search"))
