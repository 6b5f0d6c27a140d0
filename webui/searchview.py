"""The search page's parts computed from the service's result dict and the current query string: facet
links, the publication-date histogram, removable filter chips and paging. Plain data for the template;
every URL comes from QueryState, so each is the current search with one thing changed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from samizdat.search import SearchParams
from samizdat.webui.formatting import month_name
from samizdat.webui.querystring import QueryState

SORT_OPTIONS = (("relevance", "Relevance"), ("newest", "Newest first"), ("oldest", "Oldest first"))
PER_PAGE_OPTIONS = (10, 20, 50, 100)
FACETS = (("labels", "label", "Labels"), ("sources", "source", "Sources"), ("authors", "author", "Authors"))
CHIP_NAMES = {
    "label": "label",
    "source": "source",
    "author": "author",
    "from": "from",
    "to": "to",
    "year": "year",
    "month": "month",
}
PAGE_WINDOW = 2  # page numbers shown on each side of the current one
MAX_YEAR_SPAN = 80  # years between the first and the last bar filled in with empty years, at most


@dataclass
class Link:
    text: str
    url: str
    count: int | None = None
    active: bool = False


@dataclass
class Bar:
    label: str  # "2024" or "Mar"
    title: str  # "2024" or "March 2024"
    count: int
    width: int  # a multiple of 5, 0-100: the CSS class w-<width>
    url: str | None  # None for an empty bar
    active: bool = False


def facet_groups(result: dict[str, Any], state: QueryState) -> list[dict[str, Any]]:
    groups = []
    for key, param, title in FACETS:
        links = []
        for item in result["facets"].get(key, []):
            value = item["value"]
            active = state.has(param, value)
            url = state.without(param, value) if active else state.add(param, value)
            links.append(Link(value, url, item["count"], active))
        groups.append({"key": key, "param": param, "title": title, "links": links})
    return groups


def histogram(result: dict[str, Any], state: QueryState) -> dict[str, Any]:
    """Years, or with `year` chosen that year's twelve months, or with `month` chosen that month.

    Each bar with documents links to the next level down; empty years between the first and the last are
    drawn too, since a gap in a site's archive is something a researcher needs to see.
    """
    facets = result["facets"]
    year, month = state.get("year"), state.get("month")
    dated = sum(item["count"] for item in facets.get("years", []))
    bars: list[tuple[str, int, str | None]]  # (value, count, link)
    if month:
        bars = [(item["value"], item["count"], None) for item in facets.get("months", [])]
        level, title = "month", f"Published in {month_name(month)}"
    elif year:
        counts = {item["value"]: item["count"] for item in facets.get("months", [])}
        values = [f"{year}-{m:02d}" for m in range(1, 13)]
        bars = [(value, counts.get(value, 0), state.with_("month", value)) for value in values]
        level, title = "months", f"Published in {year}, by month"
    else:
        counts = {item["value"]: item["count"] for item in facets.get("years", [])}
        years = sorted(counts)
        if years and years[0].isdigit() and years[-1].isdigit() and int(years[-1]) - int(years[0]) <= MAX_YEAR_SPAN:
            years = [str(y) for y in range(int(years[0]), int(years[-1]) + 1)]
        bars = [(y, counts.get(y, 0), _year_link(state, y)) for y in years]
        level, title = "years", "Published, by year"
    most = max((count for _, count, _ in bars), default=0)
    drawn = [
        Bar(
            label=value if level == "years" else month_name(value, short=True),
            title=value if level == "years" else month_name(value),
            count=count,
            width=_width(count, most),
            url=url if count else None,
            active=value == month,
        )
        for value, count, url in bars
    ]
    return {"level": level, "title": title, "bars": drawn, "undated": max(0, result["total"] - dated)}


def _year_link(state: QueryState, year: str) -> str:
    return QueryState([(k, v) for k, v in state.pairs if k != "month"], state.path).with_("year", year)


def _width(count: int, most: int) -> int:
    if not count or not most:
        return 0
    return max(5, round(count / most * 20) * 5)


def chips(state: QueryState) -> list[Link]:
    """The active filters, each with the URL of the same search without it."""
    return [Link(f"{CHIP_NAMES[k]}: {v}", state.without(k, v)) for k, v in state.pairs if k in CHIP_NAMES]


def pagination(result: dict[str, Any], state: QueryState) -> dict[str, Any]:
    page, per_page, total = result["page"], result["per_page"], result["total"]
    last = max(1, math.ceil(total / per_page))
    shown = sorted({1, last, *range(max(1, page - PAGE_WINDOW), min(last, page + PAGE_WINDOW) + 1)})
    numbers: list[Link | None] = []
    for before, number in zip([0, *shown], shown, strict=False):
        if before and number - before > 1:
            numbers.append(None)  # a gap: "…"
        numbers.append(Link(str(number), state.page(number), active=number == page))
    return {
        "page": page,
        "last": last,
        "first_shown": (page - 1) * per_page + 1 if result["hits"] else 0,
        "last_shown": (page - 1) * per_page + len(result["hits"]),
        "previous": state.page(page - 1) if 1 < page <= last + 1 else None,
        "next": state.page(page + 1) if page < last else None,
        "numbers": numbers if last > 1 else [],
        "past_the_end": page > last and total > 0,
        "last_url": state.page(last),
    }


def sort_options(params: SearchParams) -> list[tuple[str, str, bool]]:
    """(value, text, selected) for the sort menu, which names the order the results are in. Without a
    query relevance means nothing and the results come newest first, so the default option says so; its
    value stays `relevance`, so that a query typed next is ranked by relevance."""
    if params.q:
        return [(value, text, value == params.sort) for value, text in SORT_OPTIONS]
    effective = params.effective_sort()
    newest = "newest" if params.sort == "newest" else "relevance"
    return [(newest, "Newest first", effective == "newest"), ("oldest", "Oldest first", effective == "oldest")]


def per_page_options(current: int) -> list[int]:
    return sorted({*PER_PAGE_OPTIONS, current})
