"""Snippets: an HTML fragment per hit with the matched words in <mark>, every archived character escaped.

Whoosh's `highlight()` re-analyzes (tokenizes and stems) the whole stored text of every hit: ~1 ms per
250 words, so tens of ms per hit for a long article. Here a cheap case-insensitive regex finds where the
query's words may occur, and only a few windows around those places are analyzed.
"""

from __future__ import annotations

import html
import re
from collections import deque
from typing import Any

from whoosh.highlight import (
    BasicFragmentScorer,
    ContextFragmenter,
    Formatter,
    Fragment,
    get_text,
    set_matched_filter,
)

from samizdat.search.schema import SCHEMA

SNIPPET_CHARS = 200  # the start-of-text snippet; a highlighted one is up to two ~150-character passages
PASSAGES = 2
_WINDOW_BEFORE, _WINDOW_AFTER = 100, 200  # characters analyzed around a candidate match
_MAX_WINDOWS = 6
_MAX_WINDOW_CHARS = 600  # dense matches merge windows; past this a new one starts instead
_BUDGET_CHARS = 1200  # analyzed per hit at most (~1 ms), however long the text and dense the matches
_SPACE = re.compile(r"\s")


class MarkFormatter(Formatter):  # type: ignore[misc]  # whoosh is untyped
    """<mark> around matched words; everything else HTML-escaped, because archived text is untrusted."""

    between = " … "

    def _text(self, text: str) -> str:
        return html.escape(text, quote=False)

    def format_token(self, text: str, token: Any, replace: bool = False) -> str:
        return f"<mark>{html.escape(get_text(text, token, replace), quote=False)}</mark>"


class PassageFragmenter(ContextFragmenter):  # type: ignore[misc]  # whoosh is untyped
    """Whoosh's ContextFragmenter, less its bug: when a fragment's countdown ends exactly at 0, whoosh 2.7
    leaves it at 0 instead of "not in a fragment", so the very next token closes a second fragment with no
    match in it that runs from the start of the text to that token: the passage just shown again, unmarked,
    in the same snippet. Here a finished fragment always ends the countdown, and only fragments holding a
    match are made."""

    def fragment_tokens(self, text: str, tokens: Any) -> Any:
        maxchars, surround = self.maxchars, self.surround
        first: int | None = None  # startchar of the fragment being built
        before: deque[int] = deque()  # startchars of the unmatched tokens just before it (its context)
        countdown = -1  # characters of context still to add after the last match; < 0: not in a fragment
        matches: list[Any] = []
        length = 0
        endchar = 0
        for token in tokens:
            startchar, endchar = token.startchar, token.endchar
            if countdown < 0 and not token.matched:
                before.append(startchar)
                while before and endchar - before[0] > surround:
                    before.popleft()
                continue
            if length + (endchar - startchar) > maxchars:
                countdown = 0
            elif token.matched:
                countdown = surround
                if first is None:
                    first = before[0] if before else startchar
                matches.append(token.copy())
            length += endchar - startchar
            countdown -= endchar - startchar
            if countdown <= 0:
                if matches:
                    yield Fragment(text, matches, startchar=first, endchar=endchar)
                matches, before, first, length, countdown = [], deque(), None, 0, -1
        if matches:
            yield Fragment(text, matches, startchar=first, endchar=endchar)


_FORMATTER = MarkFormatter()
_SCORER = BasicFragmentScorer()


def snippet(text: str, terms: frozenset[str], field_name: str = "text") -> str:
    """The best passages with <mark>ed matches of `terms` (indexed, stemmed words of the text field the
    document was indexed in: "text", "text_ru"), or the escaped start of the text when there are no
    terms or none occurs."""
    if terms:
        marked = _highlight(text, terms, field_name)
        if marked:
            return marked
    return html.escape(leading_text(text), quote=False)


def leading_text(text: str) -> str:
    """About SNIPPET_CHARS characters from the start, whitespace collapsed, cut at a word boundary."""
    text = " ".join(text[: SNIPPET_CHARS * 2].split())
    if len(text) <= SNIPPET_CHARS:
        return text
    cut = text.rfind(" ", 0, SNIPPET_CHARS)
    return text[: cut if cut > SNIPPET_CHARS // 2 else SNIPPET_CHARS] + "…"


def _highlight(text: str, terms: frozenset[str], field_name: str) -> str:
    analyzer = SCHEMA[field_name].analyzer
    fragmenter = PassageFragmenter(maxchars=100, surround=40)
    scored: list[tuple[float, int, int, Any]] = []
    for start, end in _candidate_windows(text, terms):
        window = text[start:end]
        tokens = set_matched_filter(analyzer(window, chars=True, mode="query", removestops=False), terms)
        for fragment in fragmenter.fragment_tokens(window, tokens):
            scored.append((_SCORER(fragment), start + fragment.startchar, start + fragment.endchar, fragment))
    # Best scores first, the earlier passage on a tie; never two that share text; shown in reading order.
    best: list[tuple[float, int, int, Any]] = []
    for item in sorted(scored, key=lambda item: (-item[0], item[1])):
        if not any(item[1] < other[2] and other[1] < item[2] for other in best):
            best.append(item)
        if len(best) == PASSAGES:
            break
    best.sort(key=lambda item: item[1])
    return str(_FORMATTER.format([fragment for *_, fragment in best]))


def _candidate_windows(text: str, terms: frozenset[str]) -> list[tuple[int, int]]:
    """Merged character ranges around the places where a word starting like a term occurs.

    A stem is not always a prefix of the word it came from ("happy" -> "happi"), so the pattern uses the
    stem less its last letter; a false candidate only costs the analysis of its window.
    """
    prefixes = sorted({term[:-1] if len(term) > 3 else term for term in terms}, key=len, reverse=True)
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, prefixes)) + ")", re.IGNORECASE)
    windows: list[tuple[int, int]] = []
    for match in pattern.finditer(text):
        start = _after_space(text, max(0, match.start() - _WINDOW_BEFORE), match.start())
        end = _before_space(text, match.end(), min(len(text), match.start() + _WINDOW_AFTER))
        if windows and start <= windows[-1][1] and end - windows[-1][0] <= _MAX_WINDOW_CHARS:
            windows[-1] = (windows[-1][0], end)
        elif len(windows) == _MAX_WINDOWS or sum(b - a for a, b in windows) >= _BUDGET_CHARS:
            break
        else:
            windows.append((max(start, windows[-1][1]) if windows else start, end))
    return windows


def _after_space(text: str, start: int, limit: int) -> int:
    """Move a window's start past the partial word it may begin in."""
    if start == 0:
        return 0
    space = _SPACE.search(text, start, limit)
    return space.end() if space else start


def _before_space(text: str, limit: int, end: int) -> int:
    """Move a window's end back before the partial word it may end in."""
    if end >= len(text):
        return end
    cut = max(text.rfind(" ", limit, end), text.rfind("\n", limit, end))
    return cut if cut != -1 else end
