"""The one order of names in listings (titles, publishers): the name with A-Z lowered and nothing else changed,
compared code point by code point, then the row's id.

Why this rule and not Python's ``casefold`` or the database's ``lower()``: a listing walked by key is ordered by
the database, and a whole report (KBART) is sorted in Python, and both must list names in the same order. SQLite's
``lower()`` lowers ASCII only and compares text as UTF-8 bytes; PostgreSQL's lowers every script by the database's
locale and compares by its collation, unless both are ``"C"``, where it too lowers ASCII only and compares bytes.
Byte order of UTF-8 is code point order, which is how Python compares strings. So ASCII lowering and code point
order is the one rule that SQLite, PostgreSQL (whatever its locale) and Python all compute alike, and SQLite's
index on ``lower(name)`` (revision 0017) still serves it. What it does not do: fold "ß" to "ss", "ς" to "σ", "É"
to "é" or Turkish "İ" to "i"; names that differ so are ordered by their code points ("Straße" after "Strasse",
"École" after "Zeta"). :func:`strongroom.catalog.names.sort_name` is the same rule in SQL.
"""

from __future__ import annotations

import string

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def sort_name(name: str) -> str:
    """``name`` as listings order it (see the module): A-Z lowered, every other character as it is."""
    return name.translate(_ASCII_LOWER)
