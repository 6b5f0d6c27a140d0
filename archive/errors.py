"""Errors a person can act on: each message says the problem, the place and, where possible, the fix."""


class SamizdatError(Exception):
    """Base class; the CLI prints the message on one line and exits with status 1."""


class ConfigError(SamizdatError):
    """A bad sources.toml or setting."""


class DataDirError(SamizdatError):
    """A data directory that does not exist, is not samizdat's, or is busy."""


class DataDirBusy(DataDirError):
    """Another process holds the data directory's writer lock (a crawl or a reindex is running)."""


class QueryError(SamizdatError):
    """A search parameter that cannot be used (bad date, sort, page...)."""
