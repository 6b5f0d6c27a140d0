"""The Document: one article as exported, indexed and stored. Its fields are the export contract."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from archive.urls import url_key

# Order matters: it is the column order of the CSV export.
EXPORT_FIELDS = (
    "id",
    "url",
    "source",
    "kind",
    "title",
    "author",
    "published",
    "labels",
    "text",
    "language",
    "fetched_at",
    "warc_file",
    "warc_offset",
    "digest",
    "date_precision",
)


def document_id(canonical_url: str) -> str:
    """A stable id: a function of the canonical URL alone, so crawl and reindex agree."""
    return hashlib.sha1(url_key(canonical_url).encode("utf-8")).hexdigest()[:16]


@dataclass
class Document:
    url: str
    source: str
    kind: str
    title: str
    text: str
    author: str | None = None
    published: str | None = None  # "YYYY-MM-DD" as the site shows it, never shifted to UTC
    labels: list[str] = field(default_factory=list)
    language: str | None = None
    fetched_at: str = ""  # ISO 8601 UTC, from the WARC record
    warc_file: str = ""  # relative to the data directory
    warc_offset: int = 0  # byte offset of the response record
    digest: str = ""  # WARC-Payload-Digest of the response
    # How much of `published` the site gave: "day", "month" (an issue of "July/August 2012" is dated
    # 2012-07-01), "season" or "year"; None when undated. Records stored before it load with None.
    date_precision: str | None = None
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            self.id = document_id(self.url)

    def to_record(self) -> dict[str, Any]:
        """The export record, with the contract's field order."""
        data = asdict(self)
        return {name: data[name] for name in EXPORT_FIELDS}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Document:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in record.items() if k in names})

    def content_hash(self) -> str:
        """What makes two captures distinct versions: the extracted content, not the raw bytes
        (a sidebar's counter changes the payload digest on every fetch)."""
        h = hashlib.sha1()
        for part in (self.title, self.author or "", self.published or "", "\x1f".join(self.labels), self.text):
            h.update(part.encode("utf-8"))
            h.update(b"\x1e")
        return h.hexdigest()
