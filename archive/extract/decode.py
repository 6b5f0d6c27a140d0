"""Bytes to text, the way the page declares it: BOM, then the HTTP header, then <meta>; detection only
when nothing is declared (w3lib implements exactly this order, as browsers do)."""

from __future__ import annotations

import charset_normalizer
from w3lib.encoding import html_to_unicode


def _detect(payload: bytes) -> str | None:
    best = charset_normalizer.from_bytes(payload[:200_000]).best()
    return best.encoding if best else None


def decode_html(payload: bytes, content_type: str | None) -> tuple[str, str]:
    """Returns (encoding, text)."""
    return html_to_unicode(content_type, payload, default_encoding="utf-8", auto_detect_fun=_detect)
