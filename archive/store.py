"""The document store (SQLite): one row per article, every distinct captured version kept.

A version is distinct when the extracted content differs (`Document.content_hash`), not the raw bytes:
a page whose sidebar counter changes on every fetch has one version until its article changes.
Search and export show the newest version.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samizdat.archive.document import Document, document_id
from samizdat.archive.sqlitefull import connect
from samizdat.archive.warc import Original, process_alive

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    source TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    latest INTEGER NOT NULL REFERENCES versions(vid)
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE TABLE IF NOT EXISTS versions (
    vid INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS versions_doc ON versions(doc_id, fetched_at);
CREATE TABLE IF NOT EXISTS crawls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,  -- '' while the run goes on
    summary TEXT NOT NULL
);
-- The newest full capture (a response with its payload) of each URL: what a recrawl's conditional
-- request sends (its validators) and what a 304 or a revisit record stands for. Derived from the WARC
-- files like the documents: written by the recorder as it archives, rebuilt by reindex.
-- What the source's feeds listed, and the newest run that saw each entry there: an entry the previous run
-- saw and this one does not has vanished from the feed (then fetched, to see whether it is gone).
CREATE TABLE IF NOT EXISTS listed (
    source TEXT NOT NULL,
    url TEXT NOT NULL,
    run INTEGER NOT NULL,
    PRIMARY KEY (source, url)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS captures (
    url TEXT PRIMARY KEY,
    fetched_at TEXT NOT NULL,
    digest TEXT NOT NULL,
    warc_file TEXT NOT NULL,
    warc_offset INTEGER NOT NULL,
    etag TEXT,
    last_modified TEXT
);
"""
# Columns added after format 1's first release; added to an older store when it is opened.
COLUMNS = (
    ("crawls", "status", "TEXT NOT NULL DEFAULT 'finished'"),  # running | finished | interrupted | failed
    ("crawls", "pid", "INTEGER"),  # the process running it, while it runs
    ("crawls", "job", "TEXT"),  # its job directory (frontier and spider state), relative to the data directory
    # Deleted on the site: when a capture of the article's URL first answered 404 or 410 after it was
    # archived, and the status; cleared by a later capture of the article.
    ("documents", "gone_at", "TEXT"),
    ("documents", "gone_status", "INTEGER"),
)

NEW, CHANGED, UNCHANGED = "new", "changed", "unchanged"
RUNNING, FINISHED, INTERRUPTED, FAILED = "running", "finished", "interrupted", "failed"
WATCH = "watch"  # a run's `mode` when it only looked at what the feeds and sitemaps list as new or changed
# Full crawls only: a watch run finds a few articles and is no baseline for the crawl QA.
FULL_CRAWL = "COALESCE(json_extract(summary, '$.mode'), 'crawl') != 'watch'"


@dataclass
class Version:
    fetched_at: str
    document: Document


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # isolation_level=None: we open transactions ourselves, so that each upsert is one short
        # transaction (several crawlers in one process write through their own connections).
        # A write that finds the disk full raises DatabaseFull (a crawl stops cleanly on it: crawler.diskfull).
        self.db = connect(self.path, "the document store", isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.executescript(SCHEMA)
        if self._missing_columns():
            # Looked at again in a write transaction: two processes opening a new store at once must not
            # both add a column.
            with self._transaction():
                for table, name, spec in self._missing_columns():
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {spec}")

    def _missing_columns(self) -> list[tuple[str, str, str]]:
        present = {
            (table, row[1])
            for table in ("crawls", "documents")
            for row in self.db.execute(f"PRAGMA table_info({table})")
        }
        return [(table, name, spec) for table, name, spec in COLUMNS if (table, name) not in present]

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def upsert(self, doc: Document) -> str:
        """Add a captured version; returns "new", "changed" or "unchanged".

        A capture repeats the version captured just before it (by capture time) when its content hash is
        the same; only then is it "unchanged". Captures may arrive out of order (reindex reads files in
        name order), so "latest" is always the newest by capture time.
        """
        content_hash = doc.content_hash()
        record = json.dumps(doc.to_record(), ensure_ascii=False)
        with self._transaction():
            row = self.db.execute("SELECT first_seen, last_seen FROM documents WHERE id = ?", (doc.id,)).fetchone()
            if row is None:
                vid = self._add_version(doc, content_hash, record)
                self.db.execute(
                    "INSERT INTO documents (id, url, source, first_seen, last_seen, latest) VALUES (?,?,?,?,?,?)",
                    (doc.id, doc.url, doc.source, doc.fetched_at, doc.fetched_at, vid),
                )
                return NEW
            previous = self.db.execute(
                "SELECT content_hash FROM versions WHERE doc_id = ? AND fetched_at <= ? "
                "ORDER BY fetched_at DESC, vid DESC LIMIT 1",
                (doc.id, doc.fetched_at),
            ).fetchone()
            first_seen, last_seen = min(row[0], doc.fetched_at), max(row[1], doc.fetched_at)
            # Captured again after it was gone: back on the site.
            self.db.execute(
                "UPDATE documents SET gone_at = NULL, gone_status = NULL WHERE id = ? AND gone_at < ?",
                (doc.id, doc.fetched_at),
            )
            if previous is not None and previous[0] == content_hash:
                self.db.execute(
                    "UPDATE documents SET first_seen = ?, last_seen = ? WHERE id = ?", (first_seen, last_seen, doc.id)
                )
                return UNCHANGED
            self._add_version(doc, content_hash, record)
            latest = self.db.execute(
                "SELECT vid FROM versions WHERE doc_id = ? ORDER BY fetched_at DESC, vid DESC LIMIT 1", (doc.id,)
            ).fetchone()[0]
            self.db.execute(
                "UPDATE documents SET first_seen = ?, last_seen = ?, latest = ? WHERE id = ?",
                (first_seen, last_seen, latest, doc.id),
            )
            return CHANGED

    def _add_version(self, doc: Document, content_hash: str, record: str) -> int:
        cursor = self.db.execute(
            "INSERT INTO versions (doc_id, content_hash, fetched_at, record) VALUES (?,?,?,?)",
            (doc.id, content_hash, doc.fetched_at, record),
        )
        return int(cursor.lastrowid or 0)

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)

    def get(self, doc_id: str) -> Document | None:
        row = self.db.execute(
            "SELECT v.record FROM documents d JOIN versions v ON v.vid = d.latest WHERE d.id = ?", (doc_id,)
        ).fetchone()
        return Document.from_record(json.loads(row[0])) if row else None

    def get_many(self, ids: Iterable[str]) -> Iterator[Document]:
        """The newest version of each id, in the order given; unknown ids are skipped."""
        for doc_id in ids:
            doc = self.get(doc_id)
            if doc is not None:
                yield doc

    def iter_latest(self, source: str | None = None) -> Iterator[Document]:
        sql = "SELECT v.record FROM documents d JOIN versions v ON v.vid = d.latest"
        args: tuple[Any, ...] = ()
        if source:
            sql += " WHERE d.source = ?"
            args = (source,)
        for (record,) in self.db.execute(sql + " ORDER BY d.url", args):
            yield Document.from_record(json.loads(record))

    def iter_changed_since(self, since_vid: int) -> Iterator[Document]:
        """Documents whose newest version came after version `since_vid` (see `max_version`): to index."""
        rows = self.db.execute(
            "SELECT v.record FROM documents d JOIN versions v ON v.vid = d.latest WHERE d.latest > ?", (since_vid,)
        )
        for (record,) in rows:
            yield Document.from_record(json.loads(record))

    def max_version(self) -> int:
        return int(self.db.execute("SELECT COALESCE(MAX(vid), 0) FROM versions").fetchone()[0])

    def versions(self, doc_id: str) -> list[Version]:
        rows = self.db.execute(
            "SELECT fetched_at, record FROM versions WHERE doc_id = ? ORDER BY fetched_at, vid", (doc_id,)
        )
        return [Version(fetched_at, Document.from_record(json.loads(record))) for fetched_at, record in rows]

    def source_names(self) -> list[str]:
        """Every source with an archived document or a recorded crawl, sorted (read-only)."""
        rows = self.db.execute("SELECT source FROM documents UNION SELECT source FROM crawls ORDER BY 1")
        return [name for (name,) in rows]

    def mark_gone(self, url: str, when: str, status: int) -> str | None:
        """A capture of `url` answered 404 or 410: the document archived from it (if any, captured before
        `when`) is recorded as deleted on the site, from the first such answer on. Returns its id."""
        with self._transaction():
            row = self.db.execute(
                "SELECT id FROM documents WHERE (url = ? OR id = ?) AND last_seen < ? ORDER BY last_seen DESC LIMIT 1",
                (url, document_id(url), when),
            ).fetchone()
            if row is None:
                return None
            self.db.execute(
                "UPDATE documents SET gone_at = ?, gone_status = ? WHERE id = ? AND gone_at IS NULL",
                (when, status, row[0]),
            )
            return str(row[0])

    def gone(self, doc_id: str) -> tuple[str, int] | None:
        """(when, HTTP status) the document was first seen deleted on the site, or None (read-only)."""
        row = self.db.execute("SELECT gone_at, gone_status FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return (str(row[0]), int(row[1])) if row and row[0] else None

    def record_listed(self, source: str, urls: Iterable[str], run: int) -> None:
        """The entries one of the source's feeds lists now, seen by run `run`."""
        with self._transaction():
            self.db.executemany(
                "INSERT INTO listed (source, url, run) VALUES (?,?,?) ON CONFLICT(source, url) DO UPDATE"
                " SET run = MAX(run, excluded.run)",
                [(source, url, run) for url in urls],
            )

    def listed_by_run(self) -> dict[str, dict[int, list[str]]]:
        """{source: {run: feed entries it was the last to see}} (read-only; for a reindex to carry over)."""
        found: dict[str, dict[int, list[str]]] = {}
        for source, url, run in self.db.execute("SELECT source, url, run FROM listed"):
            found.setdefault(source, {}).setdefault(int(run), []).append(url)
        return found

    def vanished(self, source: str, run: int) -> list[str]:
        """Feed entries the source's previous feed-reading run saw and run `run` did not (read-only)."""
        rows = self.db.execute(
            "SELECT url FROM listed WHERE source = ? AND run = "
            "(SELECT MAX(run) FROM listed WHERE source = ? AND run < ?) ORDER BY url",
            (source, source, run),
        )
        return [url for (url,) in rows]

    def capture_span(self, doc_id: str) -> tuple[str, str] | None:
        """(first_seen, last_seen): the first and the newest capture of a document, whether or not the
        newest changed anything; None for an unknown id (read-only)."""
        row = self.db.execute("SELECT first_seen, last_seen FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def count(self, source: str | None = None) -> int:
        if source:
            return int(self.db.execute("SELECT COUNT(*) FROM documents WHERE source = ?", (source,)).fetchone()[0])
        return int(self.db.execute("SELECT COUNT(*) FROM documents").fetchone()[0])

    # -- purges: documents removed from the archive of record ------------------------------------------------

    def document_ids(self, source: str) -> list[str]:
        """The ids of a source's documents (read-only)."""
        return [row[0] for row in self.db.execute("SELECT id FROM documents WHERE source = ? ORDER BY id", (source,))]

    def remove_purged(
        self,
        ids: Iterable[str],
        urls: Iterable[str] = (),
        moved: dict[str, dict[int, int]] | None = None,
        removed_files: Iterable[str] = (),
    ) -> dict[str, int]:
        """After a purge rewrote or removed WARC files, in one transaction: the documents `ids` go with all their
        versions, the capture and feed-listing rows of `urls` and of `removed_files` go, and every record
        pointer into a rewritten file is moved (`moved`: warc_file -> {old offset: new offset}). A pointer
        to a record the rewrite left out stays as it was (counted as `unresolved`). Returns the counts."""
        counts = {"documents": 0, "versions": 0, "captures": 0, "moved": 0, "unresolved": 0}
        with self._transaction():
            for doc_id in dict.fromkeys(ids):
                counts["versions"] += self.db.execute("DELETE FROM versions WHERE doc_id = ?", (doc_id,)).rowcount
                counts["documents"] += self.db.execute("DELETE FROM documents WHERE id = ?", (doc_id,)).rowcount
            for url in dict.fromkeys(urls):
                counts["captures"] += self.db.execute("DELETE FROM captures WHERE url = ?", (url,)).rowcount
                self.db.execute("DELETE FROM listed WHERE url = ?", (url,))
            for warc_file in dict.fromkeys(removed_files):
                counts["captures"] += self.db.execute("DELETE FROM captures WHERE warc_file = ?", (warc_file,)).rowcount
            for warc_file, offsets in (moved or {}).items():
                rows = self.db.execute(
                    "SELECT vid, record FROM versions WHERE json_extract(record, '$.warc_file') = ?", (warc_file,)
                ).fetchall()
                for vid, raw in rows:
                    record = json.loads(raw)
                    new = offsets.get(int(record.get("warc_offset") or 0))
                    if new is None:
                        counts["unresolved"] += 1
                    elif new != record["warc_offset"]:
                        record["warc_offset"] = new
                        self.db.execute(
                            "UPDATE versions SET record = ? WHERE vid = ?",
                            (json.dumps(record, ensure_ascii=False), vid),
                        )
                        counts["moved"] += 1
                captured = self.db.execute(
                    "SELECT url, warc_offset FROM captures WHERE warc_file = ?", (warc_file,)
                ).fetchall()
                for url, offset in captured:
                    new = offsets.get(int(offset))
                    if new is None:
                        counts["unresolved"] += 1
                    elif new != offset:
                        self.db.execute("UPDATE captures SET warc_offset = ? WHERE url = ?", (new, url))
                        counts["moved"] += 1
        return counts

    # -- captures: the newest full capture of each URL, for recrawls ---------------------------------------

    def record_capture(self, original: Original) -> None:
        """Remember a full capture of its URL unless a newer one is known (reindex reads files in name order)."""
        self.db.execute(
            "INSERT INTO captures (url, fetched_at, digest, warc_file, warc_offset, etag, last_modified)"
            " VALUES (?,?,?,?,?,?,?) ON CONFLICT(url) DO UPDATE SET fetched_at = excluded.fetched_at,"
            " digest = excluded.digest, warc_file = excluded.warc_file, warc_offset = excluded.warc_offset,"
            " etag = excluded.etag, last_modified = excluded.last_modified"
            " WHERE excluded.fetched_at >= captures.fetched_at",
            (
                original.url,
                original.date,
                original.digest,
                original.warc_file,
                original.offset,
                original.etag,
                original.last_modified,
            ),
        )

    def last_capture(self, url: str) -> Original | None:
        """The newest full capture of exactly this URL, or None (read-only)."""
        row = self.db.execute(
            "SELECT url, fetched_at, digest, warc_file, warc_offset, etag, last_modified FROM captures WHERE url = ?",
            (url,),
        ).fetchone()
        return Original(*row) if row else None

    def record_crawl(
        self, source: str, started_at: str, finished_at: str, summary: dict[str, Any], status: str = FINISHED
    ) -> int:
        with self._transaction():
            cursor = self.db.execute(
                "INSERT INTO crawls (source, started_at, finished_at, summary, status) VALUES (?,?,?,?,?)",
                (source, started_at, finished_at, json.dumps(summary, sort_keys=True), status),
            )
            return int(cursor.lastrowid or 0)

    # -- runs: every crawl of a source is recorded when it starts, and updated as it goes ------------------

    def start_run(self, source: str, started_at: str, job: str) -> int:
        run_id = self.record_crawl(source, started_at, "", {}, status=RUNNING)
        self.update_run(run_id, pid=os.getpid(), job=job)
        return run_id

    def update_run(self, run_id: int, **fields: Any) -> None:
        """Set any of status, finished_at, summary (a dict), pid, job."""
        if "summary" in fields:
            fields["summary"] = json.dumps(fields["summary"], sort_keys=True)
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._transaction():
            self.db.execute(f"UPDATE crawls SET {assignments} WHERE id = ?", (*fields.values(), run_id))

    def copy_run(self, run: dict[str, Any]) -> int:
        """Add a run as `runs()` gave it (from another store: a reindex carries the history over)."""
        fixed = ("id", "source", "started_at", "finished_at", "status", "job", "pid")
        summary = json.dumps({k: v for k, v in run.items() if k not in fixed}, sort_keys=True)
        with self._transaction():
            # The same id: WARC files and job directories name their run by it.
            self.db.execute(
                "INSERT INTO crawls (id, source, started_at, finished_at, status, job, pid, summary)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (*(run[k] or "" if k == "finished_at" else run[k] for k in fixed), summary),
            )
        return int(run["id"])

    def mark_stale_runs(self) -> int:
        """Runs left `running` by a process that died: interrupted. Runs of live processes (crawls of other
        sources beside this one) are left alone."""
        with self._transaction():
            rows = self.db.execute("SELECT id, pid FROM crawls WHERE status = ?", (RUNNING,)).fetchall()
            stale = [(run_id,) for run_id, pid in rows if not pid or pid == os.getpid() or not process_alive(pid)]
            self.db.executemany(f"UPDATE crawls SET status = '{INTERRUPTED}', pid = NULL WHERE id = ?", stale)
            return len(stale)

    def resumable_run(self, source: str) -> dict[str, Any] | None:
        """The source's newest full crawl when it was interrupted (to be resumed), else None. Watch runs (a
        quick look at feeds and sitemaps between crawls) are never resumed, nor do they end a crawl."""
        runs = [run for run in self.runs(source, limit=50) if run.get("mode") != WATCH]
        return runs[0] if runs and runs[0]["status"] == INTERRUPTED else None

    def run(self, run_id: int) -> dict[str, Any] | None:
        """One run, as `runs()` gives it, or None."""
        found = self.runs(limit=1, run_id=run_id)
        return found[0] if found else None

    def runs(self, source: str | None = None, limit: int = 50, run_id: int | None = None) -> list[dict[str, Any]]:
        """Runs newest first: {id, source, status, started_at, finished_at, job, pid, **summary}."""
        sql = "SELECT id, source, status, started_at, finished_at, job, pid, summary FROM crawls"
        args: tuple[Any, ...] = ()
        if source:
            sql += " WHERE source = ?"
            args = (source,)
        elif run_id is not None:
            sql += " WHERE id = ?"
            args = (run_id,)
        rows = self.db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit))
        return [
            {
                **json.loads(summary),
                "id": run_id,
                "source": name,
                "status": status,
                "started_at": started,
                "finished_at": finished or None,
                "job": job,
                "pid": pid,
            }
            for run_id, name, status, started, finished, job, pid, summary in rows
        ]

    def last_crawls(self) -> dict[str, dict[str, Any]]:
        """The newest complete crawl summary of each source (finished or failed; not running or interrupted)."""
        rows = self.db.execute(
            "SELECT source, started_at, finished_at, summary FROM crawls c WHERE id = (SELECT MAX(id) FROM crawls"
            f" WHERE source = c.source AND status IN ('finished', 'failed') AND {FULL_CRAWL})"
        )
        return {
            source: {"started_at": started, "finished_at": finished, **json.loads(summary)}
            for source, started, finished, summary in rows
        }

    def quality(
        self,
        source: str,
        source_labels: Iterable[str] = (),
        seen_since: str | None = None,
        min_text_chars: int = 500,
    ) -> dict[str, Any]:
        """How complete the newest versions of a source's documents are, in one SQL pass.

        Counts `articles` and those `with_date`, `with_author`, `with_labels` (a label other than the
        source's own `source_labels`, which every document gets) and `with_text` (at least
        `min_text_chars` characters), with `shares` of each (None when there are no articles).
        `seen_since` (ISO 8601 UTC, compared as text with the capture times) keeps only the documents
        captured at or after it: the articles one crawl found.
        """
        sql = (
            "SELECT COUNT(*),"
            " SUM(TRIM(COALESCE(json_extract(v.record, '$.published'), '')) != ''),"
            " SUM(TRIM(COALESCE(json_extract(v.record, '$.author'), '')) != ''),"
            " SUM(EXISTS (SELECT 1 FROM json_each(v.record, '$.labels') l"
            "  WHERE l.value NOT IN (SELECT value FROM json_each(:own)))),"
            " SUM(length(COALESCE(json_extract(v.record, '$.text'), '')) >= :min_text)"
            " FROM documents d JOIN versions v ON v.vid = d.latest WHERE d.source = :source"
        )
        args: dict[str, Any] = {
            "own": json.dumps(sorted(set(source_labels))),
            "min_text": min_text_chars,
            "source": source,
        }
        if seen_since is not None:
            sql += " AND d.last_seen >= :since"
            args["since"] = seen_since
        row = self.db.execute(sql, args).fetchone()
        articles = int(row[0])
        counts = dict(zip(("date", "author", "labels", "text"), (int(x or 0) for x in row[1:]), strict=True))
        return {
            "articles": articles,
            **{f"with_{name}": count for name, count in counts.items()},
            "shares": {name: round(count / articles, 4) if articles else None for name, count in counts.items()},
        }

    def crawl_history(self, source: str, limit: int = 10) -> list[dict[str, Any]]:
        """The source's crawl summaries, newest first, each with its `id`, `started_at` and `finished_at`."""
        rows = self.db.execute(
            "SELECT id, started_at, finished_at, summary FROM crawls WHERE source = ?"
            f" AND status IN ('finished', 'failed') AND {FULL_CRAWL} ORDER BY id DESC LIMIT ?",
            (source, limit),
        )
        return [
            {**json.loads(summary), "id": crawl_id, "started_at": started, "finished_at": finished}
            for crawl_id, started, finished, summary in rows
        ]

    def previous_crawl(self, source: str, before_id: int | None = None) -> dict[str, Any] | None:
        """The newest finished crawl of the source that did not fail (before crawl `before_id`, when given).

        A failed crawl found nothing and an interrupted one saw part of the site: neither is a baseline to
        compare the next one with.
        """
        row = self.db.execute(
            "SELECT id, started_at, finished_at, summary FROM crawls WHERE source = ? AND id < ?"
            " AND status = 'finished' AND COALESCE(json_extract(summary, '$.failed'), 0) = 0"
            f" AND {FULL_CRAWL} ORDER BY id DESC LIMIT 1",
            (source, before_id if before_id is not None else 2**63 - 1),
        ).fetchone()
        if row is None:
            return None
        crawl_id, started, finished, summary = row
        return {**json.loads(summary), "id": crawl_id, "started_at": started, "finished_at": finished}


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
