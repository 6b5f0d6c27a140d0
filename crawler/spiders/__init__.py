"""One spider per site kind. Until the platform spiders land, every kind is walked by the generic one."""

from __future__ import annotations

from crawler.spiders.generic import SourceSpider

SPIDERS: dict[str, type[SourceSpider]] = {"generic": SourceSpider}


def spider_for(kind: str | None) -> type[SourceSpider]:
    return SPIDERS.get(kind or "generic", SourceSpider)
