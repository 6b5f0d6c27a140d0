"""Template filters: times, months and numbers as a reader wants them."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from samizdat.archive.extract.rules import MONTH_NAMES
from samizdat.archive.replay import web_path


def format_time(value: str | None) -> str:
    """An ISO 8601 UTC time as `2024-03-05 14:02:09 UTC` (with seconds: two captures a minute apart must
    not read alike); anything unparsable as given."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def month_name(value: str, short: bool = False) -> str:
    """`2024-03` as `March 2024`, or `Mar` when short; anything else as given."""
    try:
        year, month = value.split("-")[:2]
        name = MONTH_NAMES[int(month) - 1]
    except (ValueError, IndexError):
        return value
    return name[:3] if short else f"{name} {year}"


SEASONS = {3: "Spring", 6: "Summer", 9: "Autumn", 12: "Winter"}  # as archive.extract.magazine dates them


def published_as(value: str | None, precision: str | None = None) -> str:
    """`published` as precise as the site gave it: `2012-07-01` at month precision is `July 2012`,
    `2013-03-01` at season precision `Spring 2013`, `2011-01-01` at year precision `2011`; a day as given."""
    if not value:
        return ""
    year, _, rest = value.partition("-")
    month = int(rest[:2]) if rest[:2].isdigit() else 0
    if precision == "month" and 1 <= month <= 12:
        return month_name(value)
    if precision == "season" and month in SEASONS:
        return f"{SEASONS[month]} {year}"
    if precision == "year" and year.isdigit():
        return year
    return value


def format_number(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def format_count(value: int | None, noun: str, plural: str | None = None) -> str:
    """`1 article`, `2 articles`, `1,204 articles`: a number with its noun, singular for exactly one."""
    return f"{format_number(value)} {noun if value == 1 else plural or noun + 's'}"


def web_url(value: str | None) -> str | None:
    """The URL when it is an http(s) address, else None: an archived page chooses its own canonical URL,
    and a `javascript:` one must never become a link."""
    if value and urlsplit(value.strip()).scheme.lower() in ("http", "https"):
        return value
    return None


def format_counts(counts: dict[str, int], empty: str = "-") -> str:
    """A run's counts by reason or kind, in their order, each name followed by a multiplication sign and its count."""
    return ", ".join(f"{name} ×{count}" for name, count in counts.items()) or empty


def web_href(timestamp: str, url: str) -> str:
    """`{{ timestamp|web_href(url) }}`: the /web/ address of a capture (archive/replay.py)."""
    return web_path(timestamp, url)


FILTERS = {
    "web_href": web_href,
    "when": format_time,
    "month_name": month_name,
    "published": published_as,
    "number": format_number,
    "count": format_count,
    "web_url": web_url,
    "counts": format_counts,
}
