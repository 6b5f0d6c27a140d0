"""How to walk a static online magazine: home -> back issues -> issue index -> articles. Each article
waits for its issue index to be read, since its date and label are the issue's."""

from __future__ import annotations

from samizdat.crawler.spiders.generic import SourceSpider
from samizdat.crawler.traps import Trap, rule


class MagazineSpider(SourceSpider):
    name = "magazine"
    kind = "magazine"
    traps: tuple[Trap, ...] = (rule("magazine-scripts", r"/cgi-bin/|[?&](print|format|lang)="),)
