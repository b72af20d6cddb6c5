"""Keyset cursors: where the next page of a listing starts, as one URL- and shell-safe token.

A listing walked by key (decision 0009) asks for the rows after the last one shown, by its sort key and its id as
the tie-breaker, never by skipping rows. The token carries those values (base64url of a JSON array), so a page
costs the same deep in a listing as at its start, and nothing is looked up to read it: a token names a position,
never a row, and a changed one only moves the position. A token that cannot be read is :class:`BadCursor` (the CLI
exits 2, the portal answers 400). Imports nothing but the standard library and the error tree.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from strongroom.errors import ExitCode, StrongroomError

R = TypeVar("R")
C = TypeVar("C")

MAX_KEY = 1000  # characters of the longest sort key a listing walks by (a title's name)
# The token of such a key and an id, whatever its script: JSON writes a character in at most 6 bytes (a control
# character escaped as \uXXXX; a letter outside the BMP is 4 bytes of UTF-8), base64 makes 3 bytes 4 characters.
MAX_TOKEN = 4 * -(-(6 * MAX_KEY + 40) // 3)


class BadCursor(StrongroomError):
    """A page's ``after`` token that no listing made (cut, altered or from another listing)."""

    exit_code = ExitCode.USAGE


def encode(*values: str | int) -> str:
    """The token of a position: the sort key's values, last row first, then its id."""
    raw = json.dumps(list(values), ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str, *kinds: type[Any]) -> tuple[Any, ...]:
    """The values of ``token``, one of each of ``kinds`` (str or int) in order; :class:`BadCursor` otherwise."""
    if len(token) > MAX_TOKEN:
        raise _bad(token)
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):  # RecursionError: nested past the parser
        raise _bad(token) from None
    if not isinstance(values, list) or len(values) != len(kinds):
        raise _bad(token)
    for value, kind in zip(values, kinds, strict=True):
        if type(value) is not kind or (kind is int and not 0 <= value < 1 << 63):
            raise _bad(token)
    return tuple(values)


def fetch_page(
    fetch: Callable[[int | None], Sequence[R]], limit: int | None, cursor: Callable[[R], C]
) -> tuple[Sequence[R], C | None]:
    """One page of a listing walked by key: ``fetch(n)`` reads the listing's first ``n`` rows from its position
    (None: all of them). One row more than ``limit`` is read, so that whether another page follows is known without
    counting; the answer is the page's rows (``limit`` of them at most; all when ``limit`` is None) and the cursor
    of the page after, ``cursor(last row shown)`` (usually :func:`encode` of its sort key and id), or None when this
    page is the last."""
    fetched = fetch(None if limit is None else limit + 1)
    page = fetched[:limit]
    return page, cursor(page[-1]) if len(fetched) > len(page) and page else None


def _bad(token: str) -> BadCursor:
    shown = token if len(token) <= 40 else token[:37] + "..."
    return BadCursor(
        f"the page position {shown!r} is not one this listing gave",
        hint="copy the --after value (or the next page's link) exactly as the previous page gave it, "
        "or start from the first page",
    )
