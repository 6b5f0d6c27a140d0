"""What changed between two captured versions of a document, as escaped HTML with <ins> and <del>.

Texts are compared paragraph by paragraph first (cheap, and it keeps unchanged paragraphs whole), then
word by word inside each run of changed paragraphs, so that a corrected date or a softened sentence shows
as the few words it is. Long runs of unchanged paragraphs fold into a count, with context kept around
each change. Every archived character is escaped before any markup is added.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from samizdat.archive.document import Document

CONTEXT_PARAGRAPHS = 1  # unchanged paragraphs shown before and after each change
MAX_WORD_DIFF_TOKENS = 20_000  # past this, a changed run is shown as whole paragraphs removed and added
_TOKEN = re.compile(r"\s+|[^\s]+")
_BREAK = "\n\n"  # a paragraph break, as a token of its own inside a changed run
METADATA_FIELDS = (("title", "Title"), ("author", "Author"), ("published", "Date"), ("labels", "Labels"))


@dataclass
class Block:
    """A piece of the text diff: `same` paragraphs, a `changed` run, or `folded` unchanged paragraphs."""

    kind: str  # "same" | "changed" | "folded"
    paragraphs: list[Markup] = field(default_factory=list)
    folded: int = 0  # how many unchanged paragraphs a "folded" block stands for


@dataclass
class FieldChange:
    name: str
    label: str
    before: Any
    after: Any
    html: Markup  # the change inline, <del>/<ins>


@dataclass
class Changes:
    fields: list[FieldChange]
    blocks: list[Block]
    words_added: int
    words_removed: int

    @property
    def text_changed(self) -> bool:
        return any(block.kind == "changed" for block in self.blocks)

    @property
    def empty(self) -> bool:
        return not self.fields and not self.text_changed


def compare(old: Document, new: Document, context: int = CONTEXT_PARAGRAPHS) -> Changes:
    fields = [change for change in (_field_change(old, new, name, label) for name, label in METADATA_FIELDS) if change]
    blocks, added, removed = _text_blocks(paragraphs(old.text), paragraphs(new.text), context)
    return Changes(fields, blocks, added, removed)


def changed_fields(old: Document, new: Document) -> list[str]:
    """The names of what differs (title, author, date, labels, text): a short summary for a list."""
    names = [label.lower() for name, label in METADATA_FIELDS if getattr(old, name) != getattr(new, name)]
    if old.text != new.text:
        names.append("text")
    return names


def paragraphs(text: str) -> list[str]:
    return [" ".join(part.split()) for part in re.split(r"\n\s*\n", text or "") if part.strip()]


def inline_diff(old: str, new: str) -> tuple[Markup, int, int]:
    """Word-level diff of two strings: (html, words added, words removed)."""
    return _word_diff(_TOKEN.findall(old), _TOKEN.findall(new))


def _field_change(old: Document, new: Document, name: str, label: str) -> FieldChange | None:
    before, after = getattr(old, name), getattr(new, name)
    if before == after:
        return None
    if name == "labels":
        gone = [Markup("<del>{}</del>").format(x) for x in before if x not in after]
        kept = [escape(x) for x in after if x in before]
        came = [Markup("<ins>{}</ins>").format(x) for x in after if x not in before]
        html = Markup(", ").join([*kept, *gone, *came])
    else:
        html, _added, _removed = inline_diff(before or "", after or "")
    return FieldChange(name, label, before, after, html)


def _text_blocks(old: list[str], new: list[str], context: int) -> tuple[list[Block], int, int]:
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    opcodes = matcher.get_opcodes()
    blocks: list[Block] = []
    added = removed = 0
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            same = [escape(p) for p in old[i1:i2]]
            keep_before = context if index > 0 else 0  # after a change
            keep_after = context if index < len(opcodes) - 1 else 0  # before a change
            if len(same) > keep_before + keep_after + 1:
                if keep_before:
                    blocks.append(Block("same", same[:keep_before]))
                blocks.append(Block("folded", folded=len(same) - keep_before - keep_after))
                if keep_after:
                    blocks.append(Block("same", same[len(same) - keep_after :]))
            else:
                blocks.append(Block("same", same))
            continue
        run, plus, minus = _changed_run(old[i1:i2], new[j1:j2])
        blocks.append(Block("changed", run))
        added += plus
        removed += minus
    return blocks, added, removed


def _changed_run(old: list[str], new: list[str]) -> tuple[list[Markup], int, int]:
    """Paragraphs replaced, added or removed, diffed word by word across paragraph breaks."""
    old_tokens = _join_tokens(old)
    new_tokens = _join_tokens(new)
    if len(old_tokens) + len(new_tokens) > MAX_WORD_DIFF_TOKENS:
        gone = [Markup("<del>{}</del>").format(p) for p in old]
        came = [Markup("<ins>{}</ins>").format(p) for p in new]
        return gone + came, _words(new), _words(old)
    html, added, removed = _word_diff(old_tokens, new_tokens)
    parts = [Markup(part) for part in html.split(Markup("<br data-break>")) if part]
    return parts, added, removed


def _join_tokens(paras: list[str]) -> list[str]:
    tokens: list[str] = []
    for number, para in enumerate(paras):
        if number:
            tokens.append(_BREAK)
        tokens.extend(_TOKEN.findall(para))
    return tokens


def _word_diff(old: list[str], new: list[str]) -> tuple[Markup, int, int]:
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    out: list[Markup] = []
    added = removed = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.append(_plain(old[i1:i2]))
            continue
        if tag in ("delete", "replace"):
            out.append(_marked("del", old[i1:i2]))
            removed += _count_words(old[i1:i2])
        if tag in ("insert", "replace"):
            out.append(_marked("ins", new[j1:j2]))
            added += _count_words(new[j1:j2])
    return Markup("").join(out), added, removed


def _plain(tokens: list[str]) -> Markup:
    return Markup("").join(Markup("<br data-break>") if t == _BREAK else escape(t) for t in tokens)


def _marked(tag: str, tokens: list[str]) -> Markup:
    """Tokens inside <ins> or <del>; a paragraph break inside a change shows as a pilcrow, and an added one
    also starts a new paragraph."""
    parts: list[Markup] = []
    words: list[str] = []

    def flush() -> None:
        if words:
            parts.append(Markup(f"<{tag}>{{}}</{tag}>").format("".join(words)))
            words.clear()

    for token in tokens:
        if token == _BREAK:
            flush()
            parts.append(Markup(f'<{tag} class="break">¶</{tag}>'))
            if tag == "ins":
                parts.append(Markup("<br data-break>"))
        else:
            words.append(token)
    flush()
    return Markup("").join(parts)


def _count_words(tokens: list[str]) -> int:
    return sum(1 for t in tokens if t != _BREAK and not t.isspace())


def _words(paras: list[str]) -> int:
    return sum(len(p.split()) for p in paras)
