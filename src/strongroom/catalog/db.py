"""Engines and migrations: opens the catalog's database (SQLite in WAL mode, or PostgreSQL) and brings its
schema to the newest Alembic revision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from strongroom.errors import ConfigError, DiskFull
from strongroom.space import database_full, disk_full, free_bytes


def _alembic_config() -> Config:
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
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    try:
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


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine) -> bool:
    """Upgrade the schema to the newest revision; returns True when anything was applied."""
    try:
        before = current_revision(engine)
        if before == head_revision():
            return False
        with engine.begin() as conn:
            cfg = _alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except OperationalError as exc:
        full = full_database(exc, engine)
        if full is not None:
            raise full from None
        raise ConfigError(
            f"cannot open the catalog database: {exc.orig}",
            hint="check catalog.database_url in strongroom.toml and that the database server is running",
        ) from None
    return True
