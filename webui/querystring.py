"""Links that change one thing about the current search: all state lives in the query string, so every
view is bookmarkable and the back button works.

A QueryState holds the current (key, value) pairs in their order, without blanks; each method returns the
URL of a changed copy. Changing a filter drops `page`: page 7 of another result set means nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict

# The parameters of a search; anything else in the address is dropped from the links we build.
SEARCH_KEYS = ("q", "label", "source", "author", "from", "to", "year", "month", "sort", "page", "per_page")
REPEATABLE = frozenset({"label"})
CASELESS = frozenset({"label", "source"})  # filters that ignore case (search/query.py): "mining" selects "Mining"
_WORDS = re.compile(r"\w+")


def selects(key: str, given: str, value: str) -> bool:
    """Whether the filter `key=given` in the address selects the facet value `value` as search/query.py
    matches them: labels and sources in any case, an author by the words of the name."""
    if key in CASELESS:
        return given.casefold() == value.casefold()
    if key == "author":
        words = set(_WORDS.findall(given.casefold()))
        return given == value or (bool(words) and words <= set(_WORDS.findall(value.casefold())))
    return given == value


class QueryState:
    def __init__(self, pairs: Iterable[tuple[str, str]], path: str = "/") -> None:
        self.path = path
        self.pairs = [(k, v.strip()) for k, v in pairs if k in SEARCH_KEYS and v and v.strip()]

    @classmethod
    def from_args(cls, args: MultiDict[str, str], path: str = "/") -> QueryState:
        return cls(args.items(multi=True), path)

    def get(self, key: str) -> str | None:
        return next((v for k, v in self.pairs if k == key), None)

    def getlist(self, key: str) -> list[str]:
        return [v for k, v in self.pairs if k == key]

    def has(self, key: str, value: str | None = None) -> bool:
        return any(k == key and (value is None or selects(k, v, value)) for k, v in self.pairs)

    def url(self, path: str | None = None, drop: Iterable[str] = ()) -> str:
        """This state as a URL (on `path`, default the state's own), without the keys in `drop`."""
        dropped = set(drop)
        pairs = [(k, v) for k, v in self.pairs if k not in dropped]
        query = urlencode(pairs)
        return (path or self.path) + (f"?{query}" if query else "")

    def with_(self, key: str, value: str) -> str:
        """`key` set to `value` (replacing any), back to page 1."""
        pairs = [(k, v) for k, v in self.pairs if k not in (key, "page")]
        return QueryState([*pairs, (key, value)], self.path).url()

    def add(self, key: str, value: str) -> str:
        """`value` added to a repeatable key (a further label); other keys are replaced."""
        if key not in REPEATABLE:
            return self.with_(key, value)
        pairs = [(k, v) for k, v in self.pairs if k != "page" and not (k == key and selects(k, v, value))]
        return QueryState([*pairs, (key, value)], self.path).url()

    def without(self, key: str, value: str | None = None) -> str:
        """The key removed (only the filters selecting that value, when given), back to page 1."""
        pairs = [
            (k, v) for k, v in self.pairs if k != "page" and not (k == key and (value is None or selects(k, v, value)))
        ]
        return QueryState(pairs, self.path).url()

    def page(self, number: int) -> str:
        pairs = [(k, v) for k, v in self.pairs if k != "page"]
        if number > 1:
            pairs.append(("page", str(number)))
        return QueryState(pairs, self.path).url()

    def export(self, fmt: str) -> str:
        """The export of the whole result set: the same filters, no paging."""
        return self.url(f"/export.{fmt}", drop=("page", "per_page"))
