"""Errors a person can act on: each message says the problem, the place and, where possible, the fix."""

from __future__ import annotations


class SamizdatError(Exception):
    """Base class; the CLI prints the message on one line and exits with status 1."""


class ConfigError(SamizdatError):
    """A bad sources.toml or setting. `key` names the source key at fault when there is one, and `problem`
    says what is wrong with it without the file and line (for a message next to a form field)."""

    def __init__(self, message: str, *, key: str | None = None, problem: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.problem = problem or message


class DataDirError(SamizdatError):
    """A data directory that does not exist, is not samizdat's, or is busy."""


class DataDirBusy(DataDirError):
    """Another process holds the data directory's writer lock (a crawl or a reindex is running)."""


class QueryError(SamizdatError):
    """A search parameter that cannot be used (bad date, sort, page...)."""
