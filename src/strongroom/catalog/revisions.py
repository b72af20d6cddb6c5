"""The catalog schema's newest revision, read from the migration files as text: what every start compares the
database's ``alembic_version`` with (:mod:`strongroom.catalog.db`), and what ``strongroom items`` compares it with
before reading a SQLite catalog on its own (:mod:`strongroom.services.lean_items`).

Must not import: Alembic, SQLAlchemy (importing either costs more than a short command's work).
"""

from __future__ import annotations

import re
from pathlib import Path

VERSIONS = Path(__file__).parent / "migrations" / "versions"
_REVISION = re.compile(r"^revision(?:\s*:[^=\n]*)?\s*=\s*(['\"])([\w-]+)\1\s*$", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision(?:\s*:[^=\n]*)?\s*=\s*(?:None|(['\"])([\w-]+)\1)\s*$", re.MULTILINE)


def head_from_files(versions: Path = VERSIONS) -> str | None:
    """The one head of the revision files in ``versions``, read as text; None when they are not one plain chain (a
    merge, a branch, a revision written in a way this reading does not know), which Alembic itself then reads."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        rev, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if rev is None or down is None:
            return None
        revisions.add(rev.group(2))
        if down.group(2):
            parents.add(down.group(2))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None
