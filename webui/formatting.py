"""Template filters: times, months and numbers as a reader wants them."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from archive.extract.rules import MONTH_NAMES


def format_time(value: str | None) -> str:
    """An ISO 8601 UTC time as `2024-03-05 14:02 UTC`; anything unparsable as given."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def month_name(value: str, short: bool = False) -> str:
    """`2024-03` as `March 2024`, or `Mar` when short; anything else as given."""
    try:
        year, month = value.split("-")[:2]
        name = MONTH_NAMES[int(month) - 1]
    except (ValueError, IndexError):
        return value
    return name[:3] if short else f"{name} {year}"


def format_number(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def web_url(value: str | None) -> str | None:
    """The URL when it is an http(s) address, else None: an archived page chooses its own canonical URL,
    and a `javascript:` one must never become a link."""
    if value and urlsplit(value.strip()).scheme.lower() in ("http", "https"):
        return value
    return None


def format_counts(counts: dict[str, int], empty: str = "-") -> str:
    """A run's counts by reason or kind, in their order, each name followed by a multiplication sign and its count."""
    return ", ".join(f"{name} ×{count}" for name, count in counts.items()) or empty


FILTERS = {
    "when": format_time,
    "month_name": month_name,
    "number": format_number,
    "web_url": web_url,
    "counts": format_counts,
}
