"""Facet counts over the documents a search matched, as plain dicts for HTML and JSON alike.

Counting runs over the per-searcher DocTable (search/doctable.py), its facets coded as integers once, with
numpy's bincount over the matched documents (3 ms for 50,000 matches at 100k documents, where Counter loops
over the values took 89 ms), instead of Whoosh's `groupedby`, which rebuilds its document -> labels map on
every query.

Long lists are capped (FACET_LIMITS): the top 50 labels, sources and authors by count. Years and months
are never capped: they feed the date histogram, which needs every bar. Undated documents count in no
year or month.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final, TypedDict

import numpy as np
import numpy.typing as npt

from samizdat.search.doctable import Coded, DocTable

FACET_LIMITS: Final = {"labels": 50, "sources": 50, "authors": 50}


class FacetValue(TypedDict):
    value: str
    count: int


Facets = dict[str, list[FacetValue]]


def count_facets(table: DocTable, docnums: Sequence[int]) -> Facets:
    """{"labels", "sources", "authors", "years", "months"}: lists of {"value", "count"}."""
    matched = np.fromiter(docnums, dtype=np.int64, count=len(docnums))
    counts = {name: _count(coded, matched) for name, coded in table.coded.items()}
    return {
        "labels": _by_count(counts["labels"], FACET_LIMITS["labels"]),
        "sources": _by_count(counts["sources"], FACET_LIMITS["sources"]),
        "authors": _by_count(counts["authors"], FACET_LIMITS["authors"]),
        "years": _chronological(counts["years"]),
        "months": _chronological(counts["months"]),
    }


def _count(coded: Coded, matched: npt.NDArray[np.int64]) -> dict[str, int]:
    """{value: how many of the matched documents have it}, values with no match left out."""
    if coded.lengths is None:
        codes = coded.codes[matched]
    else:  # several per document: the matched documents' runs of the flat array
        mask = np.zeros(len(coded.lengths), dtype=bool)
        mask[matched] = True
        codes = coded.codes[np.repeat(mask, coded.lengths)]
    tally = np.bincount(codes, minlength=len(coded.values))
    return {coded.values[code]: int(tally[code]) for code in np.flatnonzero(tally)}


def empty_facets() -> Facets:
    return {"labels": [], "sources": [], "authors": [], "years": [], "months": []}


def _values(counts: dict[str, int]) -> Iterable[tuple[str, int]]:
    # "" stands for "no value" in the table: an undated or authorless document is not a facet value.
    return ((value, count) for value, count in counts.items() if value)


def _by_count(counts: dict[str, int], limit: int) -> list[FacetValue]:
    ranked = sorted(_values(counts), key=lambda item: (-item[1], item[0]))
    return [{"value": value, "count": count} for value, count in ranked[:limit]]


def _chronological(counts: dict[str, int]) -> list[FacetValue]:
    return [{"value": value, "count": count} for value, count in sorted(_values(counts))]
