"""The per-searcher document table: what facets and date sorting need for every document, in memory.

Whoosh's own answers are slow at 100k documents (FACTS.md): `groupedby` with overlapping facets rebuilds a
document -> labels map on every query (~260 ms), and sorting by a column reads it per hit. Reading one
packed column once per searcher (~0.2 s at 100k documents, only after a commit) makes both cheap.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from samizdat.search.schema import ROW_FIELD, unpack_row

# Above this share of the index, ordering matched documents by walking the precomputed order beats sorting.
_WALK_SHARE = 8


@dataclass(frozen=True)
class Coded:
    """One facet's values as integers, for counting with numpy (search/facets.py): `values[code]` is the value,
    code 0 is "" (no value). A single-valued facet has one code per document; labels, several: document d's
    are `codes[starts[d]:starts[d] + lengths[d]]`."""

    values: list[str]
    codes: npt.NDArray[np.int32]
    lengths: npt.NDArray[np.int32] | None = None  # None: one code per document


def code_single(column: Sequence[str]) -> Coded:
    numbering: dict[str, int] = {"": 0}
    codes = [numbering.setdefault(value, len(numbering)) for value in column]
    return Coded(list(numbering), np.array(codes, dtype=np.int32))


def code_multi(column: Sequence[Sequence[str]]) -> Coded:
    numbering: dict[str, int] = {"": 0}
    flat = [numbering.setdefault(value, len(numbering)) for row in column for value in row]
    lengths = np.array([len(row) for row in column], dtype=np.int32)
    return Coded(list(numbering), np.array(flat, dtype=np.int32), lengths)


@dataclass(frozen=True)
class DocTable:
    """Lists indexed by document number; "" where a document has no value. Deleted documents keep rows
    but never match a query, so they are never read."""

    ids: list[str]
    sources: list[str]
    authors: list[str]
    years: list[str]
    months: list[str]
    labels: list[tuple[str, ...]]
    newest: list[int]  # every docnum: dated newest first, then undated; ties by id
    oldest: list[int]  # every docnum: dated oldest first, then undated; ties by id
    newest_rank: list[int]  # docnum -> its position in `newest`
    oldest_rank: list[int]
    id_rank: list[int]  # docnum -> its position in id order, the tie-break for equal scores
    coded: dict[str, Coded]  # "labels", "sources", "authors", "years", "months": the facets, as numbers

    def order(self, docnums: Collection[int], sort: str) -> list[int]:
        """The given documents in "newest" or "oldest" order."""
        order, rank = (self.oldest, self.oldest_rank) if sort == "oldest" else (self.newest, self.newest_rank)
        if len(docnums) * _WALK_SHARE > len(order):
            wanted = docnums if isinstance(docnums, set | frozenset) else set(docnums)
            return [docnum for docnum in order if docnum in wanted]
        return sorted(docnums, key=rank.__getitem__)

    def order_by_score(self, scored: Sequence[tuple[float, int]]) -> list[int]:
        """(score, docnum) pairs, best score first; equal scores by id, so pages are stable."""
        id_rank = self.id_rank
        return [docnum for _, docnum in sorted(scored, key=lambda pair: (-pair[0], id_rank[pair[1]]))]


def build_table(reader: Any) -> DocTable:
    """Read the packed facet column of every segment of a Whoosh reader (a searcher's reader)."""
    rows: list[bytes] = []
    for leaf, _base in reader.leaf_readers():
        count = leaf.doc_count_all()
        if count and leaf.has_column(ROW_FIELD):
            rows.extend(leaf.column_reader(ROW_FIELD, translate=False))
        else:
            rows.extend([b""] * count)
    unpacked = [unpack_row(raw) for raw in rows]
    ids = [row[0] for row in unpacked]
    isos = [row[3] for row in unpacked]
    by_id = sorted(range(len(rows)), key=ids.__getitem__)
    dated = [docnum for docnum in by_id if isos[docnum]]
    undated = [docnum for docnum in by_id if not isos[docnum]]
    # Stable sorts over the id order, so equal dates stay in id order in both directions.
    newest = sorted(dated, key=isos.__getitem__, reverse=True) + undated
    oldest = sorted(dated, key=isos.__getitem__) + undated
    sources = [row[1] for row in unpacked]
    authors = [row[2] for row in unpacked]
    years = [iso[:4] for iso in isos]
    months = [iso[:7] for iso in isos]
    labels = [row[4] for row in unpacked]
    return DocTable(
        ids=ids,
        sources=sources,
        authors=authors,
        years=years,
        months=months,
        labels=labels,
        newest=newest,
        oldest=oldest,
        newest_rank=_ranks(newest),
        oldest_rank=_ranks(oldest),
        id_rank=_ranks(by_id),
        coded={
            "labels": code_multi(labels),
            "sources": code_single(sources),
            "authors": code_single(authors),
            "years": code_single(years),
            "months": code_single(months),
        },
    )


def _ranks(order: list[int]) -> list[int]:
    ranks = [0] * len(order)
    for position, docnum in enumerate(order):
        ranks[docnum] = position
    return ranks
