"""Bytes to text, the way the page declares it: BOM, then the HTTP header, then <meta>; detection only
when nothing is declared (w3lib implements exactly this order, as browsers do)."""

from __future__ import annotations

import re

import charset_normalizer
from w3lib.encoding import html_to_unicode

from samizdat.archive.document import clean_text

# A numeric character reference: the parser turns it into its character, so "&#x7;" is a BEL like "\x07".
_CHARACTER_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?")


def _detect(payload: bytes) -> str | None:
    best = charset_normalizer.from_bytes(payload[:200_000]).best()
    return best.encoding if best else None


def decode_html(payload: bytes, content_type: str | None) -> tuple[str, str]:
    """Returns (encoding, text)."""
    return html_to_unicode(content_type, payload, default_encoding="utf-8", auto_detect_fun=_detect)


def clean_html(html: str) -> str:
    """The page without the characters no stored text may hold (archive.document.clean_text), written or as
    numeric references: one BEL or ESC in a paragraph makes trafilatura drop the page's whole text."""
    if "&#" in html:  # unwanted references become their characters, which clean_text then removes
        html = _CHARACTER_REFERENCE.sub(_unwanted_reference, html)
    return clean_text(html)


def _unwanted_reference(match: re.Match[str]) -> str:
    hexadecimal, decimal = match.groups()
    try:
        character = chr(int(hexadecimal, 16) if hexadecimal else int(decimal))
    except (ValueError, OverflowError):  # past U+10FFFF
        return ""
    return match.group(0) if clean_text(character) == character else character
