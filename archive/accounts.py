"""The archivists who may change the archive, and what they did: `accounts.sqlite` in the data directory.

Not derived from the WARC files (so `samizdat reindex` never touches it). Passwords are stored hashed with
werkzeug's scrypt; checking an unknown name costs as much as a known one, so timing tells nothing.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from samizdat.archive.errors import SamizdatError

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # scrypt of a huge password is a denial of service
HASH_METHOD = "scrypt"
# Checked against when the name is unknown: the same work as a real check.
_DUMMY_HASH = generate_password_hash("not a password of anyone", method=HASH_METHOD)

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    password TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_sign_in TEXT
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
"""


class AccountError(SamizdatError):
    """A bad user name or password, or an unknown or existing user."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Accounts:
    def __init__(self, path: str | Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Accounts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_user(self, name: str, password: str) -> None:
        if not NAME.match(name):
            raise AccountError(
                f"user name {name!r}: use 1 to 64 lower-case letters, digits, '.', '-' and '_', starting with a "
                "letter or digit"
            )
        check_password(password)
        try:
            self.db.execute(
                "INSERT INTO users (name, password, created_at) VALUES (?,?,?)",
                (name, generate_password_hash(password, method=HASH_METHOD), now()),
            )
        except sqlite3.IntegrityError:
            raise AccountError(f"user {name!r} exists already; `samizdat user remove {name}` first") from None

    def remove_user(self, name: str) -> None:
        if self.db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 0:
            raise AccountError(f"no user named {name!r}; `samizdat user list` shows them")

    def users(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT name, created_at, last_sign_in FROM users ORDER BY name")
        return [{"name": name, "created_at": created, "last_sign_in": last} for name, created, last in rows]

    def check(self, name: str, password: str) -> bool:
        """Whether the password is the user's; records the sign-in when it is."""
        row = self.db.execute("SELECT password FROM users WHERE name = ?", (name,)).fetchone()
        if len(password) > MAX_PASSWORD:
            return False
        ok = check_password_hash(row[0] if row else _DUMMY_HASH, password) and row is not None
        if ok:
            self.db.execute("UPDATE users SET last_sign_in = ? WHERE name = ?", (now(), name))
        return ok

    def exists(self, name: str) -> bool:
        return self.db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone() is not None

    def record(self, user: str, action: str, target: str, detail: str = "") -> None:
        """What an archivist did (a takedown, a source edited, a crawl started), with when."""
        self.db.execute(
            "INSERT INTO audit (at, user, action, target, detail) VALUES (?,?,?,?,?)",
            (now(), user, action, target, detail),
        )

    def audit(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT at, user, action, target, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,))
        return [dict(zip(("at", "user", "action", "target", "detail"), row, strict=True)) for row in rows]


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password is too long: use at most {MAX_PASSWORD} characters")
