"""``strongroom items`` on the embedded default without opening the node (issue 16, a fast command line): a page of
the item listing, or of a search, read from a SQLite catalog with the standard library's ``sqlite3`` on a
connection that cannot write, and from the Tantivy index with the engine's own code; no SQLAlchemy, no node, no store.

It answers only when the answer is exactly what :meth:`strongroom.services.browse.Browse.item_page` gives on an
opened node, and only when opening the node would do nothing first. :func:`item_page` returns None, and the caller
opens the node, when:

- the catalog is not a SQLite file (PostgreSQL: its driver alone costs more to import than SQLAlchemy), or the
  settings choose a search engine other than the default ``tantivy``, or a store other than ``ocfl-local``;
- the schema is not at the newest revision (opening migrates it), or an interrupted write waits for recovery (an
  intent in ``HOME/journal``, a commit or release work directory in the staging area), or the storage root is not
  one the node would open (it would refuse to);
- for a search: the search engine last fed is not ``tantivy``, its index is not there in the current schema
  (opening fills it), or the search queue holds items (opening brings the index up to date);
- anything cannot be read (the node then opens, and reports what it finds).

A listing without a query reads no search index, so it does not wait for one: a search queue to apply or an index to
fill is left to the next search, or the next command that opens the node.

The SQL is :mod:`strongroom.services.browse_views`' (the Core statements of services.browse, compiled for SQLite).

Must not import: SQLAlchemy, the catalog's engine, the node, the store, faces.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

from strongroom.catalog.revisions import head_from_files
from strongroom.errors import StrongroomError
from strongroom.services.browse_views import (
    DATE_COLUMNS,
    ITEM_COLUMNS,
    ITEM_TOTAL_SQL,
    JSON_COLUMNS,
    SEARCH_QUEUED_SQL,
    ItemRow,
    Page,
    item_row,
    items_after_sql,
    items_in_sql,
)
from strongroom.settings import Settings, load_settings, resolve_home

# As search.registry and store.ocfl name them (tests/cli/test_lean_items.py checks that they still do): those modules
# import SQLAlchemy and the store's hashing.
TANTIVY_DIR = Path("search") / "tantivy"
LAST_ENGINE = Path("search") / "engine"
ROOT_NAMASTE = "0=ocfl_1.1"
OCFL_LAYOUT = "0003-hash-and-id-n-tuple-storage-layout"
IN_BATCH = 500  # ids a statement of a search's hits binds (SQLite allows 32,766 variables)
BUSY_TIMEOUT = 30.0  # seconds, as the catalog's engine waits for a writer's lock

_COLUMNS = (*ITEM_COLUMNS, "au", "journal")


def item_page(
    home: Path | None, query: str | None = None, *, limit: int | None = 50, offset: int = 0, after: int = 0
) -> Page[ItemRow] | None:
    """``Browse.item_page(query, limit=..., offset=..., after=...)`` of the node at ``home``, read without opening
    it; None when the node must be opened for it (see the module's docstring)."""
    try:
        settings = load_settings(resolve_home(home))
        catalog = _sqlite_catalog(settings)
        if catalog is None or not _nothing_to_recover(settings):
            return None
        with _read_only(catalog) as conn:
            if _revision(conn) != head_from_files():
                return None
            if query:
                return _search(settings.home, conn, query, limit, offset)
            return _listing(conn, limit, offset, after)
    except (StrongroomError, OSError, sqlite3.Error, ValueError, UnicodeDecodeError):
        return None  # opening the node reads it again, and says what is wrong


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


def _item(values: Sequence[Any]) -> ItemRow:
    """The row shown for a row of the listed items, its values converted as SQLAlchemy converts them (JSON
    documents, dates)."""
    row = dict(zip(_COLUMNS, values, strict=True))
    for name in JSON_COLUMNS:
        if row[name] is not None:
            row[name] = json.loads(row[name])
    for name in DATE_COLUMNS:
        if row[name] is not None:
            row[name] = dt.date.fromisoformat(row[name])
    return item_row(SimpleNamespace(**row), au=row["au"], journal=row["journal"])


def _listing(conn: sqlite3.Connection, limit: int | None, offset: int, after: int) -> Page[ItemRow]:
    """``Browse.item_page`` without a query."""
    (total,) = conn.execute(ITEM_TOTAL_SQL).fetchone()
    # one row more than the page, as keyset.fetch_page reads it, to know whether another page follows
    sql, params = items_after_sql(after, None if limit is None else limit + 1, offset)
    fetched = conn.execute(sql, params).fetchall()
    page = fetched[:limit]
    last_id = int(page[-1][0]) if len(fetched) > len(page) and page else None
    return Page(tuple(_item(r) for r in page), int(total or 0), offset, limit, last_id)


def _search(home: Path, conn: sqlite3.Connection, query: str, limit: int | None, offset: int) -> Page[ItemRow] | None:
    """``Browse.item_page`` with a query, asked of the Tantivy index as the node asks it (None: the node must open
    first)."""
    directory = home / TANTIVY_DIR
    marker = directory / "strongroom-schema"
    if (home / LAST_ENGINE).read_text(encoding="utf-8").strip() != "tantivy" or not marker.is_file():
        return None
    if conn.execute(SEARCH_QUEUED_SQL, (1, 0)).fetchone() is not None:
        return None
    import tantivy

    from strongroom.search.base import SearchQuery
    from strongroom.search.tantivy_index import SCHEMA_VERSION, TantivyIndex

    # TantivyIndex's own test of an index it opens as it is; any other it would make anew
    if marker.read_text() != SCHEMA_VERSION or not tantivy.Index.exists(str(directory)):
        return None
    index = TantivyIndex(directory)
    if index.created:
        return None
    wanted = limit if limit is not None else max(index.count() - offset, 1)
    hits = index.search(SearchQuery(query, offset=offset, limit=wanted))
    found: dict[int, ItemRow] = {}
    for start in range(0, len(hits.ids), IN_BATCH):
        batch = hits.ids[start : start + IN_BATCH]
        found.update((r[0], _item(r)) for r in conn.execute(items_in_sql(len(batch)), batch))
    rows = tuple(found[i] for i in hits.ids if i in found)
    return Page(rows, hits.total, offset, limit, exact=hits.exact)
