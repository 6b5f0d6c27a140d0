"""Bot-challenge and CAPTCHA pages: what a protection service serves instead of the site.

They come with status 200, 403, 429 or 503. They are archived as what they are (the WARC keeps every
response) and never read as an article; the crawl counts them, and a source that meets them is flagged as
blocked in its report (archive.crawls.flag). Recognised by the markers each service puts in its page.
"""

from __future__ import annotations

import re

from samizdat.archive.extract.page import Page

# Statuses a challenge comes with; any other non-200 answer is an error, whatever its body says.
CHALLENGE_STATUSES = frozenset({200, 403, 429, 503})

# (service, pattern over the page's HTML source). Checked in order; the first that matches names it.
SERVICES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        # Not /cdn-cgi/challenge-platform/scripts/jsd/: Cloudflare adds that to the site's own pages too.
        ("Cloudflare", r"/cdn-cgi/challenge-platform/h/\w/orchestrate/|cf-browser-verification|window\._cf_chl_opt"),
        ("DDoS-Guard", r"ddos-guard\.net/|<title>\s*DDoS-Guard"),
        ("Sucuri", r"Sucuri WebSite Firewall|sucuri\.net/privacy-policy"),
        ("Imperva", r"_Incapsula_Resource|Incapsula incident ID"),
        ("Akamai", r"errors\.edgesuite\.net"),
        ("DataDome", r"captcha-delivery\.com|geo\.captcha-delivery"),
        ("PerimeterX", r"px-captcha|/_px/|captcha\.px-cdn\.net"),
        ("AWS WAF", r"token\.awswaf\.com|awswaf\.com/.+challenge"),
    )
)
# A page that is mostly a CAPTCHA widget, whoever serves it.
CAPTCHA = re.compile(r"class=[\"'][^\"']*\b(g-recaptcha|h-captcha|cf-turnstile)\b", re.IGNORECASE)
TITLES = re.compile(
    r"^(just a moment\.*|attention required!? \| cloudflare|checking your browser.*|please wait.*|"
    r"are you a robot\??|verify you are (a )?human|security check|access denied|ddos-guard)$",
    re.IGNORECASE,
)
MAX_TEXT = 600  # a challenge says a sentence or two; a page with more text is the site's own


def challenge_service(page: Page, html: str) -> str | None:
    """The protection service whose challenge this page is ("a bot check" when the page names none), or
    None for the site's own page.
    Only a page with little text of its own can be one: an article that embeds a CAPTCHA in its comment
    form, or mentions Cloudflare, is not."""
    body = page.tree.find(".//body")
    text = " ".join((body.text_content() if body is not None else "").split())
    if len(text) > MAX_TEXT:
        return None
    for name, pattern in SERVICES:
        if pattern.search(html):
            return name
    title = " ".join((page.tree.findtext(".//title") or "").split())
    if CAPTCHA.search(html) or TITLES.match(title):
        return "a bot check"
    return None
