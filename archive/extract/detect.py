"""Which kind of site a page belongs to, from the page itself: generator, platform markup, structure."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from samizdat.archive.extract.page import Page, has_class

# An issue's index or contents page, or an issue that is one page: /issues/159/, /issues/2013-spring/contents.html,
# /issues/12.html; or a numbered directory at the top of the site, /160/ or /160/index.html (not a year).
ISSUE_DIR = re.compile(
    r"/(issues?|editions?|numbers?|archive)/[\w-]*\d[\w-]*(/((index|contents?|toc)\.html?)?|\.html?)$"
    r"|^/(?!(?:19|20)\d\d/)\d{1,4}/((index|contents?|toc)\.html?)?$",
    re.IGNORECASE,
)
BACK_ISSUES = re.compile(r"\b(back|past|previous|old)\s+(issues|numbers|editions)\b", re.IGNORECASE)


def detect_kind(page: Page) -> str | None:
    """blogger, wordpress or magazine, or None when the page shows none of them (a generic site)."""
    generator = page.generator()
    html_links = [el.get("href", "") for el in page.tree.iterfind(".//link[@href]")]
    blogger_feed = any("blogger.com/feeds" in h or h.endswith("/feeds/posts/default") for h in html_links)
    if "blogger" in generator or blogger_feed:
        return "blogger"
    if page.tree.xpath(f".//*[{has_class('post-body')}]") and page.tree.xpath(f".//*[{has_class('blog-posts')}]"):
        return "blogger"
    if "wordpress" in generator or page.link_href("https://api.w.org/") or any("/wp-content/" in h for h in html_links):
        return "wordpress"
    if page.tree.xpath(".//body[contains(@class, 'wp-embed-responsive') or contains(@class, 'wordpress')]"):
        return "wordpress"
    if generator:  # some other engine named itself (Hugo, Ghost, Jekyll...): read it generically
        return None
    issue_links = {urlsplit(u).path for u in page.links() if ISSUE_DIR.search(urlsplit(u).path)}
    link_texts = " ".join(el.text_content() for el in page.tree.iterfind(".//a"))
    if len(issue_links) >= 2 or (issue_links and BACK_ISSUES.search(link_texts)):
        return "magazine"
    return None
