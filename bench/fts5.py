"""The reference for the search benchmarks: the same documents in an SQLite FTS5 table, answering the same
full result page as samizdat's search (exact total, bm25 top 10 with `snippet()`, label/source/author/year/
month facet counts over the matching rows), with the same filters and sort orders.

One SQLite file: `docs` (FTS5 over title and text, Porter stemming like samizdat's English fields; it keeps
its own copy of the text, which `snippet()` reads), `meta` (one row per document) and `labels`. Built in one
process from samizdat's own store, as samizdat's index is.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE meta (
    rowid INTEGER PRIMARY KEY, id TEXT NOT NULL, url TEXT NOT NULL, source TEXT NOT NULL, author TEXT,
    published TEXT, year TEXT, month TEXT, language TEXT
);
CREATE TABLE labels (docid INTEGER NOT NULL, label TEXT NOT NULL);
CREATE VIRTUAL TABLE docs USING fts5(title, text, tokenize = 'porter unicode61 remove_diacritics 2');
"""
INDEXES = """
CREATE INDEX labels_label ON labels(label, docid);
CREATE INDEX labels_doc ON labels(docid, label);
CREATE INDEX meta_published ON meta(published);
CREATE INDEX meta_year ON meta(year);
CREATE INDEX meta_source ON meta(source);
"""
FACET_LIMIT = 50  # as samizdat's FACET_LIMITS for labels, sources and authors
TITLE_WEIGHT = 2.0  # samizdat's title field_boost


@dataclass
class Page:
    """One search as the reference answers it: `terms` are words and phrases (tuples), all required."""

    terms: list[str | tuple[str, ...]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    source: str | None = None
    date_from: str | None = None  # YYYY-MM-DD, inclusive
    date_to: str | None = None
    year: str | None = None
    sort: str = "relevance"
    per_page: int = 10


def build(store_path: Path, path: Path) -> dict[str, float]:
    """Index every newest document version of samizdat's store into a new FTS5 file at `path`; returns
    {"documents", "seconds"} (reading the store included, as samizdat's catch-up reads it)."""
    path.unlink(missing_ok=True)
    started = time.perf_counter()
    source = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    count = 0
    with db:
        rows = source.execute("SELECT v.record FROM documents d JOIN versions v ON v.vid = d.latest ORDER BY d.rowid")
        for count, (record,) in enumerate(rows, 1):
            doc = json.loads(record)
            published = doc.get("published") or None
            db.execute(
                "INSERT INTO meta VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    count,
                    doc["id"],
                    doc["url"],
                    doc["source"],
                    doc.get("author"),
                    published,
                    published[:4] if published else None,
                    published[:7] if published else None,
                    doc.get("language"),
                ),
            )
            db.executemany("INSERT INTO labels VALUES (?, ?)", [(count, label) for label in doc.get("labels") or []])
            db.execute("INSERT INTO docs(rowid, title, text) VALUES (?,?,?)", (count, doc["title"], doc["text"]))
        db.executescript(INDEXES)
    db.execute("ANALYZE")
    db.close()
    source.close()
    return {"documents": count, "seconds": time.perf_counter() - started}


def match_expression(terms: list[str | tuple[str, ...]]) -> str:
    """FTS5 syntax: each word or phrase quoted (no operator can slip in), all required."""
    return " ".join(
        '"' + (" ".join(term) if isinstance(term, tuple) else term).replace('"', "") + '"' for term in terms
    )


class Reference:
    """One connection (one per thread: sqlite3 releases the GIL while SQLite works)."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self.db.execute("CREATE TEMP TABLE hits (rowid INTEGER PRIMARY KEY)")

    def close(self) -> None:
        self.db.close()

    def search(self, page: Page) -> dict[str, Any]:
        """The full page: total, hits (with snippets when there are terms), facets."""
        where, args = ["1"], []
        for label in page.labels:
            where.append("m.rowid IN (SELECT docid FROM labels WHERE label = ?)")
            args.append(label)
        if page.source:
            where.append("m.source = ?")
            args.append(page.source)
        if page.year:
            where.append("m.year = ?")
            args.append(page.year)
        if page.date_from:
            where.append("m.published >= ?")
            args.append(page.date_from)
        if page.date_to:
            where.append("m.published <= ?")
            args.append(page.date_to)
        filters = " AND ".join(where)
        db = self.db
        db.execute("DELETE FROM temp.hits")
        if page.terms:
            match = match_expression(page.terms)
            joined = f"FROM docs JOIN meta m ON m.rowid = docs.rowid WHERE docs MATCH ? AND {filters}"
            db.execute(f"INSERT INTO temp.hits SELECT docs.rowid {joined}", [match, *args])
            order = f"bm25(docs, {TITLE_WEIGHT}, 1.0)" if page.sort == "relevance" else _date_order(page.sort)
            top = db.execute(
                f"SELECT m.rowid, m.id, m.url, docs.title, m.published, m.source, m.author, "
                f"snippet(docs, 1, '<mark>', '</mark>', ' … ', 24) {joined} ORDER BY {order} LIMIT ?",
                [match, *args, page.per_page],
            ).fetchall()
        else:
            db.execute(f"INSERT INTO temp.hits SELECT m.rowid FROM meta m WHERE {filters}", args)
            sort = "newest" if page.sort == "relevance" else page.sort
            # The title and, as samizdat's snippet with no words to mark, the start of the text.
            text_start = "SELECT title, substr(text, 1, 200) FROM docs WHERE rowid = ?"
            top = []
            for row in db.execute(
                f"SELECT m.rowid, m.id, m.url, m.published, m.source, m.author FROM meta m WHERE {filters} "
                f"ORDER BY {_date_order(sort)} LIMIT ?",
                [*args, page.per_page],
            ).fetchall():
                title, start = db.execute(text_start, (row[0],)).fetchone()
                top.append((*row[:3], title, *row[3:], start))
        total = db.execute("SELECT count(*) FROM temp.hits").fetchone()[0]
        hits = [
            {
                "id": row[1],
                "url": row[2],
                "title": row[3],
                "published": row[4],
                "source": row[5],
                "author": row[6],
                "snippet": row[7],
                "labels": [
                    label
                    for (label,) in db.execute("SELECT label FROM labels WHERE docid = ? ORDER BY label", (row[0],))
                ],
            }
            for row in top
        ]
        return {"total": total, "hits": hits, "facets": self._facets()}

    def _facets(self) -> dict[str, list[dict[str, Any]]]:
        db = self.db

        def rows(sql: str) -> list[dict[str, Any]]:
            # NULL (undated, no author) is dropped here, not in SQL: a WHERE on `meta` makes the planner build a
            # Bloom filter over the whole table, which costs more than the count itself.
            found = [{"value": value, "count": count} for value, count in db.execute(sql) if value is not None]
            return found[:FACET_LIMIT]

        by_count = f"ORDER BY 2 DESC, 1 LIMIT {FACET_LIMIT + 1}"  # one more: NULL may be among them
        # CROSS JOIN keeps the matching rows as the outer loop: the temporary table has no statistics, and
        # the planner otherwise walks a whole index of labels or meta to probe it.
        meta = "FROM temp.hits h CROSS JOIN meta m ON m.rowid = h.rowid"
        return {
            "labels": rows(
                "SELECT l.label, count(*) FROM temp.hits h CROSS JOIN labels l ON l.docid = h.rowid "
                f"GROUP BY 1 {by_count}"
            ),
            "sources": rows(f"SELECT m.source, count(*) {meta} GROUP BY 1 {by_count}"),
            "authors": rows(f"SELECT m.author, count(*) {meta} GROUP BY 1 {by_count}"),
            "years": rows(f"SELECT m.year, count(*) {meta} GROUP BY 1 ORDER BY 1"),
            "months": rows(f"SELECT m.month, count(*) {meta} GROUP BY 1 ORDER BY 1"),
        }


def _date_order(sort: str) -> str:
    # Undated documents last either way, ties by id: as samizdat orders them.
    direction = "ASC" if sort == "oldest" else "DESC"
    return f"m.published IS NULL, m.published {direction}, m.id"
