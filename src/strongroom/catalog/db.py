"""Engines and migrations: opens the catalog's database (SQLite in WAL mode, or PostgreSQL) and brings its
schema to the newest Alembic revision.

Alembic (and Mako, Pygments with it) costs more to import than the rest of a short command: it is imported only to
migrate. Every other start compares the ``alembic_version`` row with the head read from the revision files.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from strongroom.catalog.revisions import VERSIONS, head_from_files
from strongroom.errors import ConfigError, DiskFull
from strongroom.settings import DATABASE_CONNECT_TIMEOUT
from strongroom.space import database_full, disk_full, free_bytes

if TYPE_CHECKING:
    from alembic.config import Config


def _alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "strongroom.catalog:migrations")
    return cfg


LOW_SPACE = 1024 * 1024  # below this, SQLite's "disk I/O error" is a full disk (it cannot grow its WAL)


def full_database(exc: DBAPIError, engine: Engine) -> DiskFull | None:
    """The DiskFull error a database error really is (SQLITE_FULL, PostgreSQL's disk_full, or SQLite failing to
    grow its files on a disk with next to no room), or None."""
    url = engine.url
    path = Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None
    if database_full(exc) or (
        path is not None and "disk I/O error" in str(exc.orig) and (free_bytes(path) or 0) < LOW_SPACE
    ):
        if path is not None:
            return disk_full("the catalog database", path)
        return DiskFull(
            f"the PostgreSQL server of the catalog ({url.host}) has no room left; the change was not recorded",
            hint="free space on the database server, then run the command again",
        )
    return None


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout on every connection, PostgreSQL a limit on
    the wait for a server that does not answer (:data:`DATABASE_CONNECT_TIMEOUT`, unless the URL sets its own)."""
    kwargs: dict[str, Any] = {}
    try:
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30}
        elif url.startswith("postgresql") and "connect_timeout" not in make_url(url).query:
            kwargs["connect_args"] = {"connect_timeout": DATABASE_CONNECT_TIMEOUT}
        engine = create_engine(url, **kwargs)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise ConfigError(f"cannot use catalog database URL {url!r}: {exc}") from None
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


def _head_from_files() -> str | None:
    """The one head of the revision files in :data:`VERSIONS`, read as text (None: left to Alembic)."""
    return head_from_files(VERSIONS)


@cache
def head_revision() -> str:
    head = _head_from_files()
    if head is None:
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty one), read from Alembic's version table.

    Every start asks this: one SELECT when the table is there (as it is in every catalog but a new one); only when
    that fails is the schema inspected, to tell a new database from one that cannot be read."""
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
        except DBAPIError:
            conn.rollback()  # PostgreSQL refuses every statement after a failed one until then
            if inspect(conn).has_table("alembic_version"):
                raise
            return None


def migrate(engine: Engine) -> bool:
    """Upgrade the schema to the newest revision; returns True when anything was applied."""
    try:
        try:
            before = current_revision(engine)
        except DBAPIError as exc:  # no server, a locked file, or a version table that cannot be read
            if isinstance(exc, OperationalError):
                raise
            raise _cannot_open(exc) from None
        if before == head_revision():
            return False
        from alembic import command

        with engine.begin() as conn:
            cfg = _alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except OperationalError as exc:
        full = full_database(exc, engine)
        if full is not None:
            raise full from None
        raise _cannot_open(exc) from None
    return True


def _cannot_open(exc: DBAPIError) -> ConfigError:
    return ConfigError(
        f"cannot open the catalog database: {exc.orig}",
        hint="check catalog.database_url in strongroom.toml and that the database server is running",
    )
