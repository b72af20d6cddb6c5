"""The permission statement a site must carry before it is collected (CLOCKSS and LOCKSS wording, in English
even on a page in another language, as visible text or inside an HTML comment)."""

from __future__ import annotations

import html
import re

STATEMENTS = (
    "CLOCKSS system has permission to ingest, preserve, and serve this Archival Unit",
    "CLOCKSS system has permission to ingest, preserve, and serve this open access Archival Unit",
    "LOCKSS system has permission to collect, preserve, and serve this Archival Unit",
    "LOCKSS system has permission to collect, preserve, and serve this open access Archival Unit",
)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def _text(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    text = text.replace("<!--", " ").replace("-->", " ")  # a statement inside a comment counts
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", text))).casefold()


def has_permission(body: bytes) -> bool:
    text = _text(body)
    return any(statement.casefold() in text for statement in STATEMENTS)


def how_to_fix(url: str) -> str:
    return (
        f"add this sentence to {url} (as text or as an HTML comment, in English even on a page in another "
        f'language): "{STATEMENTS[0]}"; an open access journal may write "{STATEMENTS[1]}"'
    )
