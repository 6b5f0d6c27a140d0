"""URL canonicalization: the many spellings of one page collapse to one URL and one key."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that never change what a page shows: trackers, share and reply links, comment anchors.
TRACKING_PARAMS = re.compile(
    r"^(utm_[a-z]+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_ga|igshid|ref_src|replytocom|share|showComment)$",
    re.IGNORECASE,
)
DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(url: str, drop_params: re.Pattern[str] | None = None) -> str:
    """Lower-case scheme and host, drop the default port, the fragment and tracking parameters.

    The path keeps its own spelling (trailing slash included): the site decides that, through its
    redirects and rel=canonical. `drop_params` adds a site kind's own no-op parameters (Blogger's `m`).
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not TRACKING_PARAMS.match(k)
        and not (drop_params and drop_params.match(k))
        and not (k == "m" and v in ("0", "1"))  # Blogger's mobile/desktop switch, never WordPress's ?m=YYYYMM
    ]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def url_key(url: str) -> str:
    """The identity of a page: its normalized URL with the trailing slash and query order ignored."""
    parts = urlsplit(normalize_url(url))
    path = parts.path.rstrip("/") or "/"
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def host_port(url: str) -> str:
    """host[:port] of a URL, the unit of a source's scope (sample sites share 127.0.0.1)."""
    return urlsplit(normalize_url(url)).netloc
