"""The Document: one article as exported, indexed and stored. Its fields are the export contract."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from samizdat.archive.urls import url_key

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


# What a stored text never holds, whatever the page had: terminal escape sequences (ESC [ ... or the C1 CSI),
# C0 and C1 control characters but tab and newline (NUL, BEL, NEL, DEL...), lone surrogates (numeric
# references such as &#xD800; reach Python as these, and no UTF-8 encoder takes them) and the noncharacters
# (U+FFFE, U+FFFF and the rest); nor U+FFFD, which stands for bytes that were no text in the page's encoding
# and tells a reader nothing. Carriage returns become newlines first.
_ESCAPE_SEQUENCE = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_UNWANTED = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffd"
    + "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17))
    + "]"
)
# Looked for in two steps: `re` scans a class of 34 scattered astral characters some 14 times slower than a
# class of ranges, and most pages have no astral character at all.
_UNWANTED_BMP = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffd\ufffe\uffff]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def clean_text(value: str) -> str:
    """`value` as every export and the store hold text: strict UTF-8 with no control characters but newline
    and tab, no escape sequences, no lone surrogates, no noncharacters and no U+FFFD; the readable text
    around them stays."""
    if not _UNWANTED_BMP.search(value) and not (_ASTRAL.search(value) and _UNWANTED.search(value)):
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _UNWANTED.sub("", _ESCAPE_SEQUENCE.sub("", value))


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
        # Cleaned here, where every Document is built (extraction, crawl and reindex alike, and records read
        # back from the store), so that the store, the index and every export agree and stay clean.
        self.title = clean_text(self.title)
        self.text = clean_text(self.text)
        self.author = clean_text(self.author) if self.author else self.author
        self.published = clean_text(self.published) if self.published else self.published
        self.language = clean_text(self.language) if self.language else self.language
        self.labels = [label for label in (clean_text(v).strip() for v in self.labels) if label]
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
