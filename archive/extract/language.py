"""Language from the text itself; the page's lang attribute only when there is too little text."""

from __future__ import annotations

import py3langid


def detect_language(text: str, declared: str | None) -> str | None:
    sample = text[:3000]
    if len(sample.strip()) < 40:
        return declared
    lang, _score = py3langid.classify(sample)
    return str(lang)
