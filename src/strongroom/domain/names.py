"""The one order of names in listings (titles, publishers): a name's sort key, the name folded as a reader
matches it (Unicode compatibility-decomposed, combining marks dropped, case folded: "Études" is "etudes",
"Ñandú" is "nandu", "Straße" is "strasse", "İstanbul" is "istanbul"), compared code point by code point, then the
row's id for names with the same key.

So a French, Spanish or Portuguese reader finds "Études africaines" among the E's and "Ñandú" among the N's, not
after "Zeta". Neither SQLite nor PostgreSQL (whatever its locale) can compute this fold, and their own collations
differ, so the key is computed here, in Python, stored beside the name (the ``sort_key`` column of ``titles`` and
``publishers``, written with every name and indexed with the id, revision 0020) and compared as bytes: SQLite's
binary comparison and PostgreSQL's "C" collation both compare UTF-8 bytes, which is code point order, which is how
Python compares strings. A listing walked by key in the database and a whole report (KBART) sorted in Python by
``(sort_key(name), id)`` are therefore in the same order on both backends.

The same fold matches words in search (:mod:`strongroom.search.base`): one definition, here.
"""

from __future__ import annotations

import unicodedata

# A key longer than this is cut (names tie beyond it and are ordered by id): a btree index entry must stay under
# PostgreSQL's limit of about 2,700 bytes, and a folded name can be longer than the name (ligatures, "ß").
MAX_KEY = 500


def fold(text: str) -> str:
    """Text as it is matched and ordered: case and diacritics folded ('Étude' and 'etude' are one word)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def sort_key(name: str) -> str:
    """``name`` as listings order it (see the module): folded, at most :data:`MAX_KEY` characters."""
    return fold(name)[:MAX_KEY]
