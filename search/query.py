"""Search parameters: validation with messages a person can act on, and their translation into queries.

Whoosh's query parser never rejects input, it silently reinterprets it; so parameters are validated here
and the common malformed queries (unbalanced quotes or parentheses, dangling operators, unknown fields)
are repaired *and reported* as plain-English warnings.
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Final

from whoosh import qparser
from whoosh.qparser import syntax
from whoosh.query import And, DateRange, Every, MultiTerm, NullQuery, Or, Prefix, Query, Term, TermRange, Wildcard

from samizdat.archive.errors import QueryError
from samizdat.search.schema import QUERY_FIELDS, SCHEMA, STEMMED_LANGUAGES, label_term

SORTS: Final = ("relevance", "newest", "oldest")
MAX_PER_PAGE: Final = 100

# The cost guard (see `guard_query` and `check_expansions`). Whoosh runs in Python: every word looked up costs
# a walk through its postings, so what a query may ask for is bounded before it runs; the time budget
# (search/service.py) stops whatever is still too slow.
MAX_QUERY_CHARS: Final = 1000
MAX_QUERY_TERMS: Final = 64  # words, phrases and wildcards in one query
MAX_OR_TERMS: Final = 32  # alternatives joined by OR
MAX_EXPANDED_TERMS: Final = 512  # indexed words the wildcards and ranges of one query may stand for

_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class ParamError(QueryError):
    """A QueryError naming the parameter (the `from_mapping` key) at fault, so the CLI and the web layer
    can point at their own flag or field; the message already starts with it: "from: ..."."""

    def __init__(self, param: str, problem: str):
        super().__init__(f"{param}: {problem}")
        self.param = param
        self.problem = problem


@dataclass
class SearchParams:
    """One search, as the web page, /api/search, the CLI and exports express it.

    Filters combine with AND (every label in `labels` is required). An empty `q` browses all documents
    through the filters; it has no relevance, so `sort="relevance"` then means newest first.
    Constructing one validates it and normalizes blank strings to None: it raises ParamError (a
    QueryError) with the parameter's name.
    """

    q: str = ""
    labels: list[str] = field(default_factory=list)
    source: str | None = None
    author: str | None = None
    date_from: str | None = None  # "YYYY-MM-DD", or "YYYY" / "YYYY-MM" meaning the start of that period
    date_to: str | None = None  # "YYYY-MM-DD", or "YYYY" / "YYYY-MM" meaning the end of that period
    year: str | None = None  # "YYYY"
    month: str | None = None  # "YYYY-MM": a histogram bar's drill-down
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20

    def __post_init__(self) -> None:
        self.q = (self.q or "").strip()
        self.labels = list(dict.fromkeys(label.strip() for label in self.labels if label and label.strip()))
        self.source = _blank_to_none(self.source)
        self.author = _blank_to_none(self.author)
        self.date_from = _blank_to_none(self.date_from)
        self.date_to = _blank_to_none(self.date_to)
        self.year = _blank_to_none(self.year)
        self.month = _blank_to_none(self.month)
        self.sort = (self.sort or "relevance").strip().lower()
        self._validate()

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> SearchParams:
        """From request arguments: a dict, or a werkzeug MultiDict (`getlist` gives repeated labels).

        Keys: q, label (repeatable), source, author, from, to, year, month, sort, page, per_page.
        Unknown keys are ignored, so a form may carry its own.
        """
        return cls(
            q=_single(mapping, "q") or "",
            labels=_multi(mapping, "label"),
            source=_single(mapping, "source"),
            author=_single(mapping, "author"),
            date_from=_single(mapping, "from"),
            date_to=_single(mapping, "to"),
            year=_single(mapping, "year"),
            month=_single(mapping, "month"),
            sort=_single(mapping, "sort") or "relevance",
            page=_whole_number(mapping, "page", 1),
            per_page=_whole_number(mapping, "per_page", 20),
        )

    def date_range(self) -> tuple[dt.date | None, dt.date | None]:
        """The inclusive (first day, last day) the from/to parameters select; None where open."""
        start = _period_bounds("from", self.date_from)[0] if self.date_from else None
        end = _period_bounds("to", self.date_to)[1] if self.date_to else None
        return start, end

    def effective_sort(self) -> str:
        """The order actually used: relevance needs a text query."""
        return "newest" if self.sort == "relevance" and not self.q else self.sort

    def _validate(self) -> None:
        if len(self.q) > MAX_QUERY_CHARS:
            raise ParamError("q", f"the query is {len(self.q)} characters long; use at most {MAX_QUERY_CHARS}")
        if self.q:
            parse_text_query(self.q)  # the cost guard's refusals (ParamError "q: ...") come before any search
        if self.sort not in SORTS:
            raise ParamError("sort", f"{self.sort!r} is not a sort order; use one of {', '.join(SORTS)}")
        if isinstance(self.page, bool) or not isinstance(self.page, int) or self.page < 1:
            raise ParamError("page", f"{self.page!r} is not a page number; use 1 or more")
        if isinstance(self.per_page, bool) or not isinstance(self.per_page, int) or self.per_page < 1:
            raise ParamError("per_page", f"{self.per_page!r} is not a page size; use 1 to {MAX_PER_PAGE}")
        if self.per_page > MAX_PER_PAGE:
            problem = f"{self.per_page} is more than {MAX_PER_PAGE}; use 1 to {MAX_PER_PAGE}"
            raise ParamError("per_page", problem)
        if self.year is not None and not _YEAR.match(self.year):
            raise ParamError("year", f"{self.year!r} is not a year; use YYYY, e.g. 2012")
        if self.month is not None:
            _month_bounds("month", self.month)
        start, end = self.date_range()
        if start and end and start > end:
            raise ParamError("from", f"{self.date_from} is after to={self.date_to}; swap them")


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _single(mapping: Mapping[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return None if value is None else str(value)


def _multi(mapping: Mapping[str, Any], key: str) -> list[str]:
    getlist = getattr(mapping, "getlist", None)
    values = getlist(key) if callable(getlist) else mapping.get(key)
    if values is None:
        return []
    if isinstance(values, str):
        return [values]
    return [str(value) for value in values]


def _whole_number(mapping: Mapping[str, Any], key: str, default: int) -> int:
    raw = _blank_to_none(_single(mapping, key))
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ParamError(key, f"{raw!r} is not a whole number; use 1 or more") from None


def _period_bounds(param: str, value: str) -> tuple[dt.date, dt.date]:
    """First and last day of a YYYY, YYYY-MM or YYYY-MM-DD period."""
    if _YEAR.match(value):
        year = int(value)
        if year < 1:
            raise ParamError(param, f"{value!r} is not a year; use YYYY-MM-DD, YYYY-MM or YYYY")
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    if _MONTH.match(value):
        return _month_bounds(param, value)
    match = _DAY.match(value)
    if match:
        try:
            day = dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            raise ParamError(param, f"{value!r} is not a date; use YYYY-MM-DD (or YYYY-MM, YYYY)") from None
        return day, day
    raise ParamError(param, f"{value!r} is not a date; use YYYY-MM-DD (or YYYY-MM, YYYY)")


def _month_bounds(param: str, value: str) -> tuple[dt.date, dt.date]:
    match = _MONTH.match(value)
    year, month = (int(match[1]), int(match[2])) if match else (0, 0)
    if not match or not 1 <= month <= 12 or year < 1:
        raise ParamError(param, f"{value!r} is not a month; use YYYY-MM, e.g. 2012-03")
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


# --- Filters -------------------------------------------------------------------------------------------


def filter_query(params: SearchParams) -> Query | None:
    """The filters as one query that only restricts (see service: it never contributes to scores).

    A label matches whatever its case ("mining" selects "Mining" and "MINING"); a source is a
    lower-case slug, so its filter is lower-cased; an author matches when every word of the filter is
    a word of the name, in any case and order ("yerlan" and "Dzhaksybekov Yerlan" both select
    "Yerlan Dzhaksybekov"; "yer" selects nothing)."""
    # `label` is the lower-cased copy of `labels`, indexed by the same KEYWORD analysis.
    parts: list[Query] = [Term("label", label_term(label).lower()) for label in params.labels]
    if params.source:
        parts.append(Term("source", params.source.lower()))
    if params.author:
        parts.append(author_query(params.author))
    if params.year:
        parts.append(Term("year", params.year))
    if params.month:
        parts.append(Term("month", params.month))
    start, end = params.date_range()
    if start or end:
        parts.append(DateRange("published_dt", _midnight(start), _midnight(end)))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else And(parts)


def author_query(author: str) -> Query:
    """Every word of `author` among the words of the name (the `author` field's own analysis)."""
    words = list(dict.fromkeys(token.text for token in SCHEMA["author"].analyzer(author)))
    if not words:  # nothing word-like ("—"): only the very same name can match
        return Term("author_exact", author)
    terms: list[Query] = [Term("author", word) for word in words]
    return terms[0] if len(terms) == 1 else And(terms)


def _midnight(day: dt.date | None) -> dt.datetime | None:
    # Documents are indexed at midnight of their day, so an inclusive range of midnights is exact.
    return dt.datetime(day.year, day.month, day.day) if day else None


# --- The text query ------------------------------------------------------------------------------------

_BINARY_OPS = frozenset({"AND", "OR", "ANDNOT", "ANDMAYBE"})
_UNARY_OPS = frozenset({"NOT"})
_TOKEN = re.compile(r'(?P<space>\s*)(?:(?P<quote>"[^"]*")|(?P<paren>[()])|(?P<word>[^\s()"]+))')
_FIELD_PREFIX = re.compile(r"^([^\W\d]\w*):(.*)$", re.DOTALL)


@dataclass
class _Token:
    space: str
    text: str
    kind: str  # "quote" | "paren" | "word" | "op" | "field" (a bare `name:` before a quote or paren)


def parse_text_query(q: str, languages: tuple[str, ...] = ()) -> tuple[Query | None, list[str]]:
    """(query, warnings) for the `q` parameter; None for a blank one (browse everything).

    Supports AND by default, "phrases", OR, NOT, field:value for the QUERY_FIELDS, wildcards (* and ?)
    and (grouping). Malformed input is repaired, searched, and described in the warnings.
    `languages` are the stemmers whose fields the index holds (schema.STEMMED_LANGUAGES, e.g. ("ru",)):
    titles and text are then searched in those fields too, each analysed with its own stemmer.
    """
    if not q.strip():
        return None, []
    cleaned, warnings = repair_query(q)
    if not cleaned:
        # Everything typed was ignored (a lone "AND", "author:"): the warnings say so; browse all.
        return None, warnings
    _check_size(cleaned)
    query = _parser(tuple(sorted(set(languages) & set(STEMMED_LANGUAGES)))).parse(cleaned)
    if query is NullQuery:
        warnings.append(
            f"nothing searchable in {q!r}: very common words (the, and, of...) and punctuation are not "
            "indexed; add a more specific word"
        )
        return NullQuery, warnings
    guarded = guard_query(query)
    if guarded is None:
        warnings.append(f"{q!r} matches every document: all are listed, newest first")
    return guarded, warnings


# --- The cost guard ------------------------------------------------------------------------------------

_TEXT_FIELDS: Final = frozenset(
    name for base in ("title", "text") for name in (base, *(f"{base}_{language}" for language in STEMMED_LANGUAGES))
)
# Fields holding a document's date: a range or a prefix on them is a range of `published_dt`, which Whoosh
# answers from a few numeric terms instead of one term per day in the archive.
_DATE_FIELDS: Final = frozenset({"year", "month", "published"})
_DATE_HELP: Final = "use YYYY, YYYY-MM or YYYY-MM-DD, e.g. published:[2010 TO 2012-06]"


def _check_size(cleaned: str) -> None:
    """Refuse queries with more terms or OR alternatives than the limits: each one is a walk through the
    postings of every document holding it, and the walks of an OR all run to the end."""
    tokens = [m[m.lastgroup or "word"] for m in _TOKEN.finditer(cleaned) if m.lastgroup in ("word", "quote")]
    ors = sum(1 for token in tokens if token == "OR")
    terms = sum(1 for token in tokens if token not in _BINARY_OPS | _UNARY_OPS)
    if ors + 1 > MAX_OR_TERMS:
        raise ParamError("q", f"{ors + 1} alternatives joined by OR; use at most {MAX_OR_TERMS} in one search")
    if terms > MAX_QUERY_TERMS:
        raise ParamError("q", f"{terms} words and phrases in one query; use at most {MAX_QUERY_TERMS}")


def guard_query(query: Query) -> Query | None:
    """The parsed query with its costly parts rewritten to cheap equivalents, or None when it matches every
    document (browse all, the no-query path). Raises ParamError("q", ...) for what has no cheap form.

    - `*` (Every on a title or text field) is every document, instead of a walk through every posting;
    - a range, a prefix or a date on `year`, `month` or `published` is a range of `published_dt`;
    - a wildcard at the start of a word (`*ike`, `?ike`) is refused: Whoosh would read every indexed word.
    Expansions that depend on the archive (`w*` standing for thousands of words) are `check_expansions`'.
    """
    rewritten = _rewrite(query)
    return None if _is_everything(rewritten) else rewritten


def _is_everything(query: Query) -> bool:
    return isinstance(query, Every) and query.fieldname is None


def _rewrite(query: Query) -> Query:
    if not query.is_leaf():
        query = query.apply(_rewrite)
        # Not Whoosh's normalize(): in whoosh 2.7 it turns an And holding Every() into Every().
        if isinstance(query, Or) and any(_is_everything(sub) for sub in query.subqueries):
            return Every()
        if isinstance(query, And) and any(_is_everything(sub) for sub in query.subqueries):
            rest = [sub for sub in query.subqueries if not _is_everything(sub)]
            return Every() if not rest else rest[0] if len(rest) == 1 else And(rest, boost=query.boost)
        return query
    fieldname = getattr(query, "fieldname", None)
    if isinstance(query, Every):
        # `title:*` strictly means "has a title": every document has text or a title, so all documents.
        return Every() if fieldname is None or fieldname in _TEXT_FIELDS else query
    if fieldname in _DATE_FIELDS and isinstance(query, TermRange | Prefix | Wildcard | Term):
        return _date_query(query)
    if isinstance(query, Wildcard):
        if not query.text.strip("*"):
            return Every() if fieldname in _TEXT_FIELDS else Every(fieldname)
        if query.text[0] in "*?":
            raise ParamError(
                "q",
                f"{_describe(query)!r} starts with a wildcard, which means reading every word in the archive; "
                "begin it with at least one letter (e.g. str*ke)",
            )
    return query


def _date_query(query: Query) -> Query:
    """`year:[2010 TO]`, `month:[2012-03 TO]`, `published:2012-03` as a DateRange of `published_dt`."""
    fieldname = query.fieldname
    if fieldname in ("year", "month") and not isinstance(query, TermRange):
        return query  # a term, or a prefix of a few dozen years or months: already cheap
    if isinstance(query, TermRange):
        start = end = None
        if query.start:
            first, last = _query_period(fieldname, query.start)
            start = last + dt.timedelta(days=1) if query.startexcl else first
        if query.end:
            first, last = _query_period(fieldname, query.end)
            end = first - dt.timedelta(days=1) if query.endexcl else last
    else:
        value = query.text.rstrip("*").rstrip("-") if isinstance(query, Prefix | Wildcard) else query.text
        start, end = _query_period(fieldname, value)
    return DateRange("published_dt", _midnight(start), _midnight(end))


def _query_period(fieldname: str, value: str) -> tuple[dt.date, dt.date]:
    try:
        return _period_bounds("q", str(value))
    except ParamError:
        raise ParamError("q", f"{fieldname}:{value} is not a date; {_DATE_HELP}") from None


def _describe(query: Query) -> str:
    """A query leaf as the user would have typed it: `w1*`, `author:[a TO]`, `label:*`."""
    fieldname = getattr(query, "fieldname", None)
    prefix = "" if fieldname is None or fieldname in _TEXT_FIELDS else f"{fieldname}:"
    if isinstance(query, Prefix):
        return f"{prefix}{query.text}*"
    if isinstance(query, TermRange):
        start, end = (f"{bound} " if bound else "" for bound in (query.start, query.end))
        return f"{prefix}[{start}TO{' ' + end.strip() if end else ''}]"
    if isinstance(query, Every):
        return f"{prefix}*"
    return f"{prefix}{getattr(query, 'text', query)}"


def check_expansions(query: Query | None, reader: Any) -> None:
    """Refuse a query whose wildcards, ranges and `field:*` stand for more than MAX_EXPANDED_TERMS indexed
    words in this archive: Whoosh ORs them all, one posting walk each. Counting stops at the limit, so
    the check itself stays cheap."""
    if query is None:
        return
    counts = [(_expansion(leaf, reader, MAX_EXPANDED_TERMS + 1), leaf) for leaf in query.leaves()]
    most, leaf = max(counts, key=lambda pair: pair[0], default=(0, None))
    if most > MAX_EXPANDED_TERMS:
        fix = (
            "a shorter range; for dates, published:[2010 TO 2012-06]"
            if isinstance(leaf, TermRange)
            else "more letters before the *"
        )
        raise ParamError(
            "q", f"{_describe(leaf)!r} stands for more than {MAX_EXPANDED_TERMS} different words in this archive; {fix}"
        )
    if sum(count for count, _ in counts) > MAX_EXPANDED_TERMS:
        raise ParamError(
            "q",
            f"the wildcards and ranges of this query stand for more than {MAX_EXPANDED_TERMS} different words "
            "in this archive together; use fewer or narrower ones",
        )


def _expansion(leaf: Query, reader: Any, cap: int) -> int:
    """How many indexed words `leaf` stands for, counted up to `cap`; 0 for a plain word or phrase."""
    if isinstance(leaf, MultiTerm):
        return sum(1 for _ in islice(leaf.expanded_terms(reader), cap))
    if isinstance(leaf, Every) and leaf.fieldname is not None:
        try:
            return sum(1 for _ in islice(reader.lexicon(leaf.fieldname), cap))
        except (KeyError, ValueError):  # a field no document has
            return 0
    return 0


def repair_query(q: str) -> tuple[str, list[str]]:
    """Fix what Whoosh would silently misread; each fix adds a warning saying what was searched."""
    warnings: list[str] = []
    q = _repair_quotes(q, warnings)
    tokens = [_Token(m["space"], m[m.lastgroup or "word"], m.lastgroup or "word") for m in _TOKEN.finditer(q)]
    tokens = _repair_fields(tokens, warnings)
    tokens = _repair_parentheses(tokens, warnings)
    tokens = _repair_operators(tokens, warnings)
    return "".join(token.space + token.text for token in tokens).strip(), warnings


def _repair_quotes(q: str, warnings: list[str]) -> str:
    if q.count('"') % 2 == 0:
        return q
    last = q.rindex('"')
    warnings.append('unbalanced quote ("): the words after it were searched as plain words, not a phrase')
    return q[:last] + " " + q[last + 1 :]


def _repair_fields(tokens: list[_Token], warnings: list[str]) -> list[_Token]:
    out: list[_Token] = []
    for index, token in enumerate(tokens):
        match = _FIELD_PREFIX.match(token.text) if token.kind == "word" else None
        if not match:
            out.append(token)
            continue
        name, value = match[1], match[2]
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if name.lower() in QUERY_FIELDS:
            token.text = f"{name.lower()}:{value}"
            if value:
                out.append(token)
            elif following is not None and not following.space and following.kind in ("quote", "paren"):
                token.kind = "field"
                out.append(token)
            else:
                warnings.append(f"'{name}:' has no value after it: ignored")
            continue
        if value.startswith("//"):  # "https://..." is a pasted address, not a field
            token.text = f"{name} {value}"
            out.append(token)
            continue
        # The name is dropped rather than searched as a word: AND-ed in, it would usually match nothing.
        warnings.append(
            f"unknown field '{name}:' (fields: {', '.join(QUERY_FIELDS)}): searched what follows it in titles and text"
        )
        token.text = value
        out.append(token if value else _space_only(token))
    return out


def _repair_parentheses(tokens: list[_Token], warnings: list[str]) -> list[_Token]:
    open_at: list[int] = []
    unmatched: set[int] = set()
    for index, token in enumerate(tokens):
        if token.kind != "paren":
            continue
        if token.text == "(":
            open_at.append(index)
        elif open_at:
            open_at.pop()
        else:
            unmatched.add(index)
    unmatched.update(open_at)
    if not unmatched:
        return tokens
    warnings.append("unbalanced parenthesis: the unmatched one was ignored")
    # A field prefix right before a removed "(" would then apply to nothing: drop it too.
    unmatched.update(i - 1 for i in list(unmatched) if i > 0 and tokens[i - 1].kind == "field")
    return [_space_only(t) if i in unmatched else t for i, t in enumerate(tokens)]


def _space_only(token: _Token) -> _Token:
    return _Token(token.space or " ", "", "space")


def _repair_operators(tokens: list[_Token], warnings: list[str]) -> list[_Token]:
    for token in tokens:
        if token.kind == "word" and token.text in _BINARY_OPS | _UNARY_OPS:
            token.kind = "op"
    changed = True
    while changed:  # removing one dangling operator can leave another dangling ("a AND OR")
        changed = False
        live = [t for t in tokens if t.kind != "space"]
        for index, token in enumerate(live):
            if token.kind != "op":
                continue
            before = live[index - 1] if index > 0 else None
            after = live[index + 1] if index + 1 < len(live) else None
            if _dangles(token.text, before, after):
                side = "before" if token.text in _BINARY_OPS and _is_left_edge(before) else "after"
                warnings.append(f"'{token.text}' has nothing {side} it: ignored")
                token.kind, token.text = "space", ""
                token.space = token.space or " "
                changed = True
                break
    return tokens


def _is_left_edge(token: _Token | None) -> bool:
    return token is None or (token.kind == "paren" and token.text == "(") or token.kind in ("op", "field")


def _is_right_edge(token: _Token | None) -> bool:
    return (
        token is None
        or (token.kind == "paren" and token.text == ")")
        or (token.kind == "op" and token.text in _BINARY_OPS)
    )


def _dangles(op: str, before: _Token | None, after: _Token | None) -> bool:
    if op in _UNARY_OPS:
        return _is_right_edge(after)
    return _is_left_edge(before) or _is_right_edge(after)


@functools.cache
def _parser(languages: tuple[str, ...]) -> qparser.QueryParser:
    """Built once per set of languages: parsing keeps no state in the parser, so threads can share it."""
    parser = qparser.MultifieldParser(["title", "text"], SCHEMA, group=qparser.AndGroup)
    # 'single quotes' would search a word unanalyzed (no stemming, case-sensitive): people don't mean that.
    parser.remove_plugin_class(qparser.SingleQuotePlugin)
    parser.add_plugin(qparser.FieldAliasPlugin({"label": ["labels"]}))
    if languages:
        copies = {name: [f"{name}_{language}" for language in languages] for name in ("title", "text")}
        parser.add_plugin(_LanguageFieldsPlugin(copies))
    return parser


class _LanguageFieldsPlugin(qparser.Plugin):  # type: ignore[misc]  # whoosh is untyped
    """`title` and `text` nodes, typed (`text:завод`) or from the default fields, become an OR over the
    same node in each language's field, which analyses the word with its own stemmer.

    Whoosh's CopyFieldPlugin copies to one field only, and before the default fields are applied."""

    def __init__(self, copies: dict[str, list[str]]):
        self.copies = copies

    def filters(self, parser: qparser.QueryParser) -> list[tuple[Any, int]]:
        return [(self.do_copies, 111)]  # after MultifieldPlugin (110) has named the default fields

    def do_copies(self, parser: qparser.QueryParser, group: Any) -> Any:
        for index, node in enumerate(group):
            if isinstance(node, syntax.GroupNode):
                group[index] = self.do_copies(parser, node)
            elif node.has_fieldname and node.fieldname in self.copies:
                nodes = [node]
                for name in self.copies[node.fieldname]:
                    copied = copy.copy(node)
                    copied.set_fieldname(name, override=True)
                    nodes.append(copied)
                group[index] = syntax.OrGroup(nodes)
        return group
