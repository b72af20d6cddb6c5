"""A SQLite catalog read without opening the node (issue 16, a fast command line): the one test of whether an everyday
command may answer from the catalog file with the standard library's ``sqlite3``, and the connection it reads on.
Shared by ``strongroom items`` (:mod:`strongroom.services.lean_items`) and ``strongroom au status``
(:mod:`strongroom.services.lean_au_status`).

:func:`snapshot` yields None, and the caller opens the node, when:

- the catalog is not a SQLite file (PostgreSQL: its driver alone costs more to import than SQLAlchemy), or the
  settings choose a search engine other than the default ``tantivy``, or a store other than ``ocfl-local``;
- the schema is not at the newest revision (opening migrates it), or an interrupted write waits for recovery (an
  intent in ``HOME/journal``, a commit or release work directory in the staging area), or the storage root is not
  one the node would open (it would refuse to);
- the settings or the catalog cannot be read (the node then opens, and reports what it finds).

Must not import: SQLAlchemy, the catalog's engine, the node, the store, faces.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from strongroom.catalog.revisions import head_from_files
from strongroom.errors import StrongroomError
from strongroom.settings import Settings, load_settings, resolve_home

# As store.ocfl names them (tests/cli/test_lean_items.py checks that it still does): that module imports the store's
# hashing.
ROOT_NAMASTE = "0=ocfl_1.1"
OCFL_LAYOUT = "0003-hash-and-id-n-tuple-storage-layout"
BUSY_TIMEOUT = 30.0  # seconds, as the catalog's engine waits for a writer's lock

# What a lean reader meets when a home or its catalog is not as it expects: the node is then opened, and says what
# is wrong in its own words.
CANNOT_READ = (StrongroomError, OSError, sqlite3.Error, ValueError, UnicodeDecodeError)


@dataclass(frozen=True)
class Snapshot:
    """The node's settings, and a connection to its catalog that cannot write, in one read transaction."""

    settings: Settings
    conn: sqlite3.Connection


@contextmanager
def snapshot(home: Path | None) -> Iterator[Snapshot | None]:
    """The catalog of the node at ``home`` to read without opening the node; None when the node must be opened
    (see the module's docstring). What the caller's reads raise is the caller's to catch (:data:`CANNOT_READ`)."""
    catalog: Path | None = None
    try:
        settings = load_settings(resolve_home(home))
        catalog = _sqlite_catalog(settings)
        if catalog is not None and not _nothing_to_recover(settings):
            catalog = None
    except CANNOT_READ:
        catalog = None
    if catalog is None:
        yield None
        return
    with ExitStack() as stack:
        try:
            conn = stack.enter_context(_read_only(catalog))
            current = _revision(conn) == head_from_files()
        except CANNOT_READ:
            current = False
        yield Snapshot(settings, conn) if current else None


def _sqlite_catalog(settings: Settings) -> Path | None:
    """The catalog's SQLite file, when the node is on the embedded default and that file is there."""
    if settings.search_engine not in ("", "tantivy") or settings.storage_backend != "ocfl-local":
        return None
    url, prefix = settings.resolved_database_url(), "sqlite:///"
    path = url[len(prefix) :]
    # a URL with options, or one escaping its characters, is left to SQLAlchemy to read
    if not url.startswith(prefix) or not path.startswith("/") or any(c in path for c in "?%#"):
        return None
    file = Path(path)
    return file if file.is_file() else None  # (a missing one is made by opening the node)


def _nothing_to_recover(settings: Settings) -> bool:
    """No write waits for recovery (no intent in the journal, no commit or release cut short in the staging area),
    and the storage root is one the node opens."""
    journal = settings.home / "journal"
    if journal.is_dir() and any(journal.glob("*.json")):
        return False
    staging = settings.resolved_staging()
    if staging.is_dir() and any(p for pattern in ("commit-*", "release-*") for p in staging.glob(pattern)):
        return False
    root = settings.resolved_storage_root()
    if not (root / ROOT_NAMASTE).is_file() or (root / ROOT_NAMASTE).read_bytes() != b"ocfl_1.1\n":
        return False
    layout = json.loads((root / "ocfl_layout.json").read_text(encoding="utf-8"))
    return isinstance(layout, dict) and layout.get("extension") == OCFL_LAYOUT


@contextmanager
def _read_only(file: Path) -> Iterator[sqlite3.Connection]:
    """A connection to ``file`` that cannot write, in one read transaction (every answer from one snapshot).

    Opened read-write with ``query_only`` rather than ``mode=ro``: a read-only connection cannot remove the WAL's
    ``-wal`` and ``-shm`` files when it is the last to close, and files left by another user (an operator reading as
    root) could lock the node's own service out of its catalog."""
    uri = f"file:{quote(str(file))}?mode=rw"
    with closing(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT, isolation_level=None)) as conn:
        conn.execute("PRAGMA query_only = ON")
        conn.execute("BEGIN")  # closed without a commit: nothing is written
        yield conn


def _revision(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])
