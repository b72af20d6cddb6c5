"""Links on a web page resolved against its address, as ``urllib.parse.urljoin`` resolves them, for the crawler
(the links it follows) and the portal's replay (the links it points at archived copies). Links on a journal's pages
are mostly absolute or from the site's root, which urljoin gives back unchanged or after the page's origin: those
skip it (urljoin was a fifth of the crawler's time handling a page, a sixth of a replay's).

Imports nothing but the standard library.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

# an absolute address that urljoin would give back unchanged: a host, and nothing urlunsplit tidies (a query or
# parameters, which may be empty, white space, or an IPv6 host, which it checks)
PLAIN_ABSOLUTE = re.compile(r"https?://[^/?#;\[\]\s][^?;\[\]\s]*\Z")
# a path from the site's root that urljoin would only put after the page's origin (no dot segments either)
PLAIN_ROOTED = re.compile(r"(?!.*/\.)/(?!/)[^?;\s]*\Z")


def page_origin(page_url: str) -> str:
    """The scheme and host of a web page's address ("" for another address)."""
    try:
        parts = urlsplit(page_url)
    except ValueError:
        return ""
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def resolved(page_url: str, origin: str, href: str) -> str:
    """``href`` as ``urljoin(page_url, href)`` resolves it (``origin``: the page's scheme and host), up to what
    urldefrag then takes off (an empty fragment); "" for ``origin`` when the page has none (urljoin, then)."""
    if origin and PLAIN_ABSOLUTE.match(href):
        return href
    if origin and PLAIN_ROOTED.match(href):
        return origin + href
    return urljoin(page_url, href)
