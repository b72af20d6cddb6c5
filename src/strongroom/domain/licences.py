"""The open licences the board may release content under, as a closed vocabulary: the Creative Commons licences
(BY, BY-SA, BY-ND, BY-NC, BY-NC-SA, BY-NC-ND in versions 4.0, 3.0, 2.5 and 2.0) and the CC0 public domain
dedication, each known by its canonical URL (``https://creativecommons.org/licenses/by/4.0/``) and accepted also
by its SPDX short name (``CC-BY-4.0``, ``CC0-1.0``) or label (``CC BY 4.0``).

A release licence is written into the release record, feeds, OAI-PMH and citations and rendered as a link, so
anything else (``javascript:alert(1)``, a typo, a proprietary licence) is refused wherever a licence enters.

Pure: no I/O.
"""

from __future__ import annotations

import re

KINDS = ("by", "by-sa", "by-nd", "by-nc", "by-nc-sa", "by-nc-nd")
VERSIONS = ("4.0", "3.0", "2.5", "2.0")
CC0 = "https://creativecommons.org/publicdomain/zero/1.0/"
DEFAULT_LICENCE = "https://creativecommons.org/licenses/by/4.0/"


# canonical URL -> label ("CC BY-NC-SA 4.0"), newest versions first
OPEN_LICENCES: dict[str, str] = {
    **{
        f"https://creativecommons.org/licenses/{kind}/{version}/": f"CC {kind.upper()} {version}"
        for version in VERSIONS
        for kind in KINDS
    },
    CC0: "CC0 1.0",
}

_URL = re.compile(
    r"^https?://(?:www\.)?creativecommons\.org/"
    r"(?P<path>licenses/(?P<kind>[a-z-]+)/(?P<version>\d\.\d)|publicdomain/zero/1\.0)"
    r"/?(?:legalcode(?:\.[a-z_-]+)?|deed\.[a-z_-]+)?$",
    re.IGNORECASE,
)
_SHORT = re.compile(r"^CC[\s_-]*(?P<kind>BY(?:[\s_-]*(?:NC|SA|ND))*)[\s_-]+(?P<version>\d\.\d)$", re.IGNORECASE)
_ZERO = re.compile(r"^CC[\s_-]*(?:0|ZERO)(?:[\s_-]+1\.0)?$", re.IGNORECASE)


def open_licence(text: str | None) -> str | None:
    """The canonical URL of the open licence ``text`` names (a URL, short name or label), or None when it names
    none of :data:`OPEN_LICENCES`."""
    if not text:
        return None
    text = text.strip()
    if len(text) > 200:
        return None
    if _ZERO.match(text):
        return CC0
    found = _URL.match(text)
    if found:
        if found.group("kind") is None:
            return CC0
        url = f"https://creativecommons.org/licenses/{found.group('kind').lower()}/{found.group('version')}/"
        return url if url in OPEN_LICENCES else None
    short = _SHORT.match(text)
    if short:
        kind = re.sub(r"[\s_-]+", "-", short.group("kind").lower())
        url = f"https://creativecommons.org/licenses/{kind}/{short.group('version')}/"
        return url if url in OPEN_LICENCES else None
    return None


def licence_label(url: str | None) -> str:
    """``CC BY 4.0`` for a known licence's URL; any other text as it is (shown, never linked)."""
    if not url:
        return ""
    canonical = open_licence(url)
    return OPEN_LICENCES[canonical] if canonical else url


def accepted_licences() -> str:
    """The accepted values, for error messages."""
    short = ", ".join(f"CC-{k.upper()}-4.0" for k in KINDS)
    return f"{short} or CC0-1.0 (also versions 3.0, 2.5 and 2.0), or the licence's URL, e.g. {DEFAULT_LICENCE} or {CC0}"
