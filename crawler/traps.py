"""URLs a crawl must not follow: crawler traps and pages that never hold an article.

Versioned so that a crawl summary can say which rule set skipped what. Each rule has a name (reported
in the summary's skip counts) and a URL regex; platform spiders add their own rules to these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

RULES_VERSION = "2"


@dataclass(frozen=True)
class Trap:
    name: str
    pattern: re.Pattern[str]


def rule(name: str, regex: str) -> Trap:
    return Trap(name, re.compile(regex, re.IGNORECASE))


GENERIC_TRAPS = (
    # Event calendars page forward and back for ever (The Events Calendar, generic ?month=...).
    rule(
        "calendar",
        r"/(events?|calendar)/.*(\d{4}-\d{2}|\d{4}/\d{2})|[?&](ical|tribe-bar-date|eventDisplay|"
        r"calendar|month|date)=|/events?/(list|month|day|week|today|upcoming|past)(/|$)",
    ),
    rule("admin", r"/wp-admin(/|$)|/wp-login\.php|/xmlrpc\.php|/wp-comments-post\.php|/user/login"),
    rule("share", r"[?&](share|replytocom|action|like_comment|nb)=|/share/?$|/trackback/?$|/embed/?$"),
    rule("comment-feed", r"/comments/feed/?$|/\d{4}/\d{2}/.+/feed/?$|/feeds/\d+/comments/"),
    rule("site-search", r"[?&](s|q|query)=|/\?s="),
    rule("print-view", r"[?&](print|amp|format|output)=|/amp/?$|/print/?$"),
)

_YEAR_MONTH = re.compile(r"(?<!\d)((?:19|20)\d{2})[-/](\d{2})(?!\d)")


def find_trap(url: str, extra: tuple[Trap, ...] = (), now: datetime | None = None) -> str | None:
    """The name of the rule that stops this URL, or None."""
    for trap in (*extra, *GENERIC_TRAPS):
        if trap.pattern.search(url):
            return trap.name
    # A date far in the future is a calendar or a generated page, never an archived article.
    now = now or datetime.now(UTC)
    for year, month in _YEAR_MONTH.findall(url):
        if 1 <= int(month) <= 12 and (int(year), int(month)) > (now.year + 1, now.month):
            return "future-date"
    return None
