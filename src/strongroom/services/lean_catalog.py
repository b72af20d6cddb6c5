"""A catalog read without opening the node (issue 16, a fast command line): the one test of whether an everyday
command may answer from the catalog on its own, and the connection it reads on: a SQLite file read with the standard
library's ``sqlite3``, or a PostgreSQL database read with ``psycopg`` alone (SQLAlchemy, the ORM and the node cost a
short command more than its query). Shared by ``strongroom items`` (:mod:`strongroom.services.lean_items`) and
``strongroom au status`` (:mod:`strongroom.services.lean_au_status`), which send the SQL of the snapshot's dialect.

:func:`snapshot` yields None, and the caller opens the node, when:

- the settings choose a search engine other than the default ``tantivy``, or a store other than ``ocfl-local``, or a
  database URL this module does not read exactly as the node does (a SQLite URL with options or escapes, a driver
  other than psycopg, several hosts, connection options other than libpq's plain ones);
- the schema is not at the newest revision (opening migrates it), or an interrupted write waits for recovery (an
  intent in ``HOME/journal``, or on PostgreSQL a row of ``write_intents``; a commit or release work directory in the
  staging area), or the storage root is not one the node would open (it would refuse to);
- the settings or the catalog cannot be read, or the database does not answer or refuses the connection (the node
  then opens, and reports what it finds in its own words).

Must not import: SQLAlchemy, the catalog's engine, the node, the store, faces; psycopg only for a PostgreSQL catalog.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from strongroom.catalog.revisions import head_from_files
from strongroom.errors import StrongroomError
from strongroom.settings import DATABASE_CONNECT_TIMEOUT, Settings, load_settings, resolve_home

# As store.ocfl names them (tests/cli/test_lean_items.py checks that it still does): that module imports the store's
# hashing.
ROOT_NAMASTE = "0=ocfl_1.1"
OCFL_LAYOUT = "0003-hash-and-id-n-tuple-storage-layout"
BUSY_TIMEOUT = 30.0  # seconds, as the catalog's engine waits for a writer's lock

SQLITE, POSTGRESQL = "sqlite", "postgresql"  # the dialects, named as SQLAlchemy names them
Params = Sequence[Any] | Mapping[str, Any]  # positional (SQLite's ?) or named (psycopg's %(name)s)

# A PostgreSQL URL as SQLAlchemy parses it (engine.url._parse_url), narrowed to one plain host name or address.
_POSTGRES_URL = re.compile(
    r"(?:postgresql|postgresql\+psycopg)://"
    r"(?:(?P<user>[^:/@]*)(?::(?P<password>[^@]*))?@)?"
    r"(?P<host>[A-Za-z0-9._-]*)(?::(?P<port>[0-9]{1,5}))?"
    r"(?:/(?P<dbname>[^?]*))?(?:\?(?P<query>.*))?"
)
# The connection options a URL's query may give, passed to libpq as SQLAlchemy passes them: libpq's own, none of
# which changes what a query returns (``options``, e.g. a search_path, is passed alike on both paths). Any other is
# read only by the node (``host`` and ``port`` in a query: SQLAlchemy's several hosts).
_LIBPQ_OPTIONS = frozenset(
    {
        "application_name",
        "channel_binding",
        "connect_timeout",
        "gssencmode",
        "keepalives",
        "keepalives_count",
        "keepalives_idle",
        "keepalives_interval",
        "options",
        "passfile",
        "require_auth",
        "service",
        "sslcert",
        "sslcrl",
        "sslkey",
        "sslmode",
        "sslpassword",
        "sslrootcert",
        "target_session_attrs",
        "tcp_user_timeout",
    }
)


class CatalogUnreadable(StrongroomError):
    """The catalog did not read as the lean reader expects (the node is opened instead, and says what is wrong)."""


# What a lean reader meets when a home or its catalog is not as it expects: the node is then opened, and says what
# is wrong in its own words. (psycopg's errors come as CatalogUnreadable: psycopg is imported only when used.)
CANNOT_READ = (StrongroomError, OSError, sqlite3.Error, ValueError, UnicodeDecodeError)


@dataclass(frozen=True)
class Reader:
    """A connection to the catalog that cannot write, in one read transaction, and the dialect of the SQL it takes;
    its values converted as the catalog's SQLAlchemy types convert them on that dialect."""

    conn: Any  # sqlite3.Connection, or psycopg.Connection (not imported unless the catalog is PostgreSQL)
    dialect: str
    errors: tuple[type[BaseException], ...]  # the driver's, raised as CatalogUnreadable

    def rows(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        try:
            return [tuple(r) for r in self.conn.execute(sql, params).fetchall()]
        except self.errors as exc:
            raise CatalogUnreadable(f"the catalog cannot be read without opening the node: {exc}") from exc

    def first(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        rows = self.rows(sql, params)
        return rows[0] if rows else None

    def utc(self, value: Any) -> dt.datetime | None:
        """A ``UTCDateTime`` column's value: on SQLite ISO text parsed by ``datetime.fromisoformat`` (SQLAlchemy 2's
        SQLite ``DateTime``), on PostgreSQL psycopg's datetime; then made aware in UTC (``UTCDateTime``)."""
        if value is None:
            return None
        time = dt.datetime.fromisoformat(value) if self.dialect == SQLITE else value
        if not isinstance(time, dt.datetime):
            raise TypeError(f"a time of the catalog is {type(time).__name__}, not a datetime")
        return time.replace(tzinfo=dt.UTC) if time.tzinfo is None else time.astimezone(dt.UTC)

    def document(self, value: Any) -> Any:
        """A ``JSON`` column's value (SQL NULL and JSON null alike: None): text SQLite keeps, decoded as SQLAlchemy
        decodes it; on PostgreSQL psycopg's, already decoded (SQLAlchemy's psycopg dialect leaves it as it is)."""
        return json.loads(value) if self.dialect == SQLITE and value is not None else value

    def date(self, value: Any) -> dt.date | None:
        """A ``Date`` column's value: ISO text on SQLite, psycopg's date on PostgreSQL."""
        if value is None or self.dialect != SQLITE:
            return value  # type: ignore[no-any-return]
        return dt.date.fromisoformat(value)


@dataclass(frozen=True)
class Snapshot:
    """The node's settings, and a connection to its catalog that cannot write, in one read transaction."""

    settings: Settings
    reader: Reader

    @property
    def dialect(self) -> str:
        return self.reader.dialect


@contextmanager
def snapshot(home: Path | None) -> Iterator[Snapshot | None]:
    """The catalog of the node at ``home`` to read without opening the node; None when the node must be opened
    (see the module's docstring). What the caller's reads raise is the caller's to catch (:data:`CANNOT_READ`)."""
    catalog: Path | dict[str, Any] | None = None
    try:
        settings = load_settings(resolve_home(home))
        if settings.search_engine in ("", "tantivy") and settings.storage_backend == "ocfl-local":
            url = settings.resolved_database_url()
            catalog = _sqlite_catalog(url) if url.startswith("sqlite") else postgres_connect_args(url)
        if catalog is not None and not _nothing_to_recover(settings):
            catalog = None
    except CANNOT_READ:
        catalog = None
    if catalog is None:
        yield None
        return
    with ExitStack() as stack:
        try:
            if isinstance(catalog, Path):
                reader = stack.enter_context(_sqlite_read_only(catalog))
            else:
                reader = stack.enter_context(_postgres_read_only(catalog))
            current = _revision(reader) == head_from_files() and _no_intent(reader)
        except CANNOT_READ:
            current = False
        yield Snapshot(settings, reader) if current else None


def _sqlite_catalog(url: str) -> Path | None:
    """The catalog's SQLite file, when it is there."""
    prefix = "sqlite:///"
    path = url[len(prefix) :]
    # a URL with options, or one escaping its characters, is left to SQLAlchemy to read
    if not url.startswith(prefix) or not path.startswith("/") or any(c in path for c in "?%#"):
        return None
    file = Path(path)
    return file if file.is_file() else None  # (a missing one is made by opening the node)


def postgres_connect_args(url: str) -> dict[str, Any] | None:
    """What SQLAlchemy's psycopg dialect passes ``psycopg.connect`` for the PostgreSQL URL ``url`` (host, port, user,
    password and database name, the user name, password and database unescaped as SQLAlchemy unescapes them, and the
    query's connection options); None for a URL it may read otherwise (see :data:`_POSTGRES_URL`)."""
    m = _POSTGRES_URL.fullmatch(url)
    if m is None or "#" in url:
        return None
    args: dict[str, Any] = {}
    for name in ("host", "port", "user", "password", "dbname"):
        value = m.group(name)
        if value:  # (SQLAlchemy leaves out what is empty)
            args[name] = int(value) if name == "port" else value if name == "host" else unquote(value)
    options = parse_qsl(m.group("query") or "")
    names = [name for name, _ in options]
    if len(set(names)) != len(names) or not set(names) <= _LIBPQ_OPTIONS:
        return None
    return args | dict(options)


def _nothing_to_recover(settings: Settings) -> bool:
    """No write waits for recovery in the home (no intent in the file journal, no commit or release cut short in the
    staging area), and the storage root is one the node opens."""
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
def _sqlite_read_only(file: Path) -> Iterator[Reader]:
    """A connection to ``file`` that cannot write, in one read transaction (every answer from one snapshot).

    Opened read-write with ``query_only`` rather than ``mode=ro``: a read-only connection cannot remove the WAL's
    ``-wal`` and ``-shm`` files when it is the last to close, and files left by another user (an operator reading as
    root) could lock the node's own service out of its catalog."""
    uri = f"file:{quote(str(file))}?mode=rw"
    with closing(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT, isolation_level=None)) as conn:
        conn.execute("PRAGMA query_only = ON")
        conn.execute("BEGIN")  # closed without a commit: nothing is written
        yield Reader(conn, SQLITE, (sqlite3.Error,))


@contextmanager
def _postgres_read_only(args: dict[str, Any]) -> Iterator[Reader]:
    """A connection to the PostgreSQL catalog in one transaction that cannot write, at REPEATABLE READ (every answer
    from one snapshot), rolled back at the end."""
    import psycopg

    try:
        conn = psycopg.connect(**({"connect_timeout": DATABASE_CONNECT_TIMEOUT} | args), autocommit=True)
    except psycopg.Error as exc:  # no server, a refused login, no such database: the node says so
        raise CatalogUnreadable(f"the catalog's database cannot be reached: {exc}") from exc
    with closing(conn):
        try:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        except psycopg.Error as exc:
            raise CatalogUnreadable(f"the catalog's database refused a read-only transaction: {exc}") from exc
        try:
            yield Reader(conn, POSTGRESQL, (psycopg.Error,))
        finally:
            with suppress(psycopg.Error):
                conn.execute("ROLLBACK")


def _revision(reader: Reader) -> str | None:
    row = reader.first("SELECT version_num FROM alembic_version")
    return None if row is None else str(row[0])


def _no_intent(reader: Reader) -> bool:
    """No write in flight in the catalog's journal (PostgreSQL's: a row of ``write_intents``, journal_postgres),
    whether its writer is alive or died: either way the node is opened (its recovery tells them apart)."""
    return reader.dialect != POSTGRESQL or reader.first("SELECT token FROM write_intents LIMIT 1") is None
