"""The Whoosh schema and how a Document becomes one indexed record.

Whoosh is used only inside `search/`, so that it can be replaced; nothing here leaks Whoosh types into the
public API of the package.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from whoosh import columns, fields
from whoosh.analysis import Analyzer, LowercaseFilter, RegexTokenizer, StemmingAnalyzer
from whoosh.lang import stemmer_for_language

from samizdat.archive.document import Document

# Fields a user may name in a query (`author:okonkwo`); `labels:` is an alias of `label:`. `published:` takes
# dates and date ranges (`published:[2010 TO 2012-06]`), searched as ranges of `published_dt` (search/query.py).
QUERY_FIELDS = (
    "title", "text", "author", "source", "label", "labels", "language", "kind", "year", "month", "published",
)  # fmt: skip

# One packed, unindexed column per document carrying everything facets and date sorting need, so the
# per-searcher cache is built from a single sequential column read instead of 100k stored-field lookups.
ROW_FIELD = "facet_row"
_FIELD_SEP = "\x1f"
_LABEL_SEP = "\x1e"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")

# Documents are stemmed in their own language. English (and every language without a stemmer here) uses
# `title`/`text` with the Porter stemmer, which leaves non-Latin words as written (lower-cased). A language
# below gets its own `title_<stemmer>`/`text_<stemmer>` pair with Snowball's stemmer. Kazakh has no
# Snowball stemmer: it shares the Russian fields, because Kazakh pages quote Russian and the language
# detector confuses the two on short texts; Kazakh suffixes (-лар, -ға, -ның) are mostly left alone.
STEMMERS = {"ru": "ru", "kk": "ru"}  # document language -> stemmer of its fields
STEMMED_LANGUAGES = tuple(sorted(set(STEMMERS.values())))  # the field suffixes, e.g. ("ru",)


def stemming_analyzer(stemmer: str | None = None) -> Analyzer:
    """Words lower-cased, stop words and one-letter words dropped, then stemmed (Porter for English).

    Every language uses the same stop words (English ones): a query is parsed over the fields of
    several languages, and a word dropped in one field but kept in another would then have to occur
    in documents of that other language only ("the strike" would find no English document)."""
    if stemmer is None:
        return StemmingAnalyzer()
    return StemmingAnalyzer(stemfn=stemmer_for_language(stemmer))


def text_field(language: str | None) -> str:
    """The indexed text field of a document in `language`: "text", or "text_ru" for Russian and Kazakh."""
    stemmer = STEMMERS.get(language or "")
    return f"text_{stemmer}" if stemmer else "text"


def build_schema() -> fields.Schema:
    """The index schema. Changing it requires a rebuild (Indexer.clear() recreates the index)."""
    stemming = stemming_analyzer()
    # Names are not stemmed ("Okonkwo" must not become "okonkwo" minus a suffix) but are case-insensitive.
    names = RegexTokenizer() | LowercaseFilter()
    per_language: dict[str, fields.FieldType] = {}
    for stemmer in STEMMED_LANGUAGES:
        analyzer = stemming_analyzer(stemmer)
        # Indexed only: the text is stored once, in `title`/`text` (see record_for).
        per_language[f"title_{stemmer}"] = fields.TEXT(analyzer=analyzer, field_boost=2.0)
        per_language[f"text_{stemmer}"] = fields.TEXT(analyzer=analyzer)
    return fields.Schema(
        id=fields.ID(unique=True, stored=True),
        url=fields.ID(stored=True),
        source=fields.ID(stored=True),
        kind=fields.ID(stored=True),
        title=fields.TEXT(analyzer=stemming, stored=True, field_boost=2.0),
        text=fields.TEXT(analyzer=stemming, stored=True),
        author=fields.TEXT(analyzer=names, stored=True),
        author_exact=fields.ID(),
        published=fields.ID(stored=True, sortable=True),
        published_dt=fields.DATETIME(),
        year=fields.ID(),
        month=fields.ID(),
        # Exact label values for filters; stored as the original list (see record_for).
        labels=fields.KEYWORD(commas=True, lowercase=False, stored=True, scorable=True),
        # A lower-cased copy so that `label:housing` in a query ignores case.
        label=fields.KEYWORD(commas=True, lowercase=True),
        language=fields.ID(stored=True),
        # How much of `published` the site gave (day, month, season, year): shown as "July 2012".
        date_precision=fields.STORED(),
        **per_language,
        **{ROW_FIELD: fields.COLUMN(columns.VarBytesColumn())},
    )


SCHEMA = build_schema()


def schema_signature(schema: fields.Schema) -> dict[str, str]:
    """What must match for an existing index to be usable: field names and their types."""
    return {name: type(schema[name]).__name__ for name in schema.names()}


def label_term(label: str) -> str:
    """The indexed form of one label: commas separate labels in the KEYWORD field, so they cannot
    appear inside one. Filters go through the same function, so a label with a comma still matches."""
    return " ".join(label.replace(",", " ").split())


def parse_published(value: str | None) -> dt.date | None:
    """A real calendar date from the start of `published`, or None (undated, or not a date)."""
    if not value:
        return None
    match = _ISO_DATE.match(value.strip())
    if not match:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _clean(value: str | None) -> str:
    """Control characters are our separators in the packed row; no real label or name needs them."""
    return _CONTROL.sub(" ", value or "").strip()


def pack_row(doc: Document, day: dt.date | None) -> bytes:
    """id, source, author, ISO date and labels in one byte string (see unpack_row)."""
    labels = _LABEL_SEP.join(dict.fromkeys(_clean(label) for label in doc.labels if _clean(label)))
    parts = (_clean(doc.id), _clean(doc.source), _clean(doc.author), day.isoformat() if day else "", labels)
    return _FIELD_SEP.join(parts).encode("utf-8")


def unpack_row(raw: bytes) -> tuple[str, str, str, str, tuple[str, ...]]:
    """(id, source, author, iso_date, labels); empty strings where a value is missing."""
    if not raw:
        return "", "", "", "", ()
    doc_id, source, author, iso, labels = raw.decode("utf-8").split(_FIELD_SEP)
    return doc_id, source, author, iso, tuple(labels.split(_LABEL_SEP)) if labels else ()


def record_for(doc: Document) -> dict[str, Any]:
    """The keyword arguments for `writer.update_document` for one Document."""
    day = parse_published(doc.published)
    labels = list(dict.fromkeys(label for label in doc.labels if label.strip()))  # a repeat must not count twice
    indexed_labels = ",".join(label_term(label) for label in labels)
    title, text = doc.title or "", doc.text or ""
    field = text_field(doc.language)
    record: dict[str, Any] = {
        "id": doc.id,
        "url": doc.url,
        "source": doc.source,
        "kind": doc.kind,
        "title": title,
        "text": text,
        "labels": indexed_labels,
        # Whoosh stores what `_stored_<field>` says: keep the real list, commas and all.
        "_stored_labels": labels,
        "label": indexed_labels,
        ROW_FIELD: pack_row(doc, day),
    }
    if doc.author and doc.author.strip():
        record["author"] = doc.author.strip()
        record["author_exact"] = doc.author.strip()
    if doc.published:
        record["published"] = doc.published
    if day is not None:
        record["published_dt"] = dt.datetime(day.year, day.month, day.day)
        record["year"] = f"{day.year:04d}"
        record["month"] = f"{day.year:04d}-{day.month:02d}"
    if doc.language:
        record["language"] = doc.language
    if doc.published and doc.date_precision:
        record["date_precision"] = doc.date_precision
    if field != "text":
        # Indexed in its language's fields only (one stemming per document, so no word counts twice),
        # and still stored in `title`/`text`, which every reader of stored fields uses.
        suffix = field.removeprefix("text")
        record.update({f"title{suffix}": title, f"text{suffix}": text})
        record.update({"title": "", "_stored_title": title, "text": "", "_stored_text": text})
    return record
