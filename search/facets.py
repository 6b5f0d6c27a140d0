"""Facet counts over the documents a search matched, as plain dicts for HTML and JSON alike.

Counting runs over the per-searcher DocTable (search/doctable.py) with C-level Counter loops, instead of
Whoosh's `groupedby`, which rebuilds its document -> labels map on every query.

Long lists are capped (FACET_LIMITS): the top 50 labels, sources and authors by count. Years and months
are never capped: they feed the date histogram, which needs every bar. Undated documents count in no
year or month.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Final, TypedDict

from samizdat.search.doctable import DocTable

FACET_LIMITS: Final = {"labels": 50, "sources": 50, "authors": 50}


class FacetValue(TypedDict):
    value: str
    count: int


Facets = dict[str, list[FacetValue]]


def count_facets(table: DocTable, docnums: Sequence[int]) -> Facets:
    """{"labels", "sources", "authors", "years", "months"}: lists of {"value", "count"}."""
    labels = Counter(chain.from_iterable(map(table.labels.__getitem__, docnums)))
    return {
        "labels": _by_count(labels, FACET_LIMITS["labels"]),
        "sources": _by_count(Counter(map(table.sources.__getitem__, docnums)), FACET_LIMITS["sources"]),
        "authors": _by_count(Counter(map(table.authors.__getitem__, docnums)), FACET_LIMITS["authors"]),
        "years": _chronological(Counter(map(table.years.__getitem__, docnums))),
        "months": _chronological(Counter(map(table.months.__getitem__, docnums))),
    }


def empty_facets() -> Facets:
    return {"labels": [], "sources": [], "authors": [], "years": [], "months": []}


def _values(counts: Counter[str]) -> Iterable[tuple[str, int]]:
    # "" stands for "no value" in the table: an undated or authorless document is not a facet value.
    return ((value, count) for value, count in counts.items() if value)


def _by_count(counts: Counter[str], limit: int) -> list[FacetValue]:
    ranked = sorted(_values(counts), key=lambda item: (-item[1], item[0]))
    return [{"value": value, "count": count} for value, count in ranked[:limit]]


def _chronological(counts: Counter[str]) -> list[FacetValue]:
    return [{"value": value, "count": count} for value, count in sorted(_values(counts))]
