"""Every start checks the catalog's schema: on a catalog at the newest revision that is one SELECT of Alembic's
version row (no schema inspection, no Alembic); a new database is still told apart (and migrated), and a database
that cannot be read is still an error naming the fix."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from strongroom.catalog import db
from strongroom.errors import ConfigError


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return seen


def test_a_current_catalog_is_checked_with_one_select(db_url: str) -> None:
    engine = db.make_engine(db_url)
    try:
        assert db.migrate(engine) is True  # a new database: migrated
        seen = _statements(engine)
        assert db.migrate(engine) is False  # at the head: nothing to do
        assert seen == ["SELECT version_num FROM alembic_version"]
        assert db.current_revision(engine) == db.head_revision()
    finally:
        engine.dispose()


def test_a_new_database_has_no_revision_and_stays_usable(db_url: str) -> None:
    engine = db.make_engine(db_url)
    try:
        assert db.current_revision(engine) is None
        with engine.connect() as conn:  # the failed SELECT left no broken transaction behind (PostgreSQL)
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
        assert db.migrate(engine) is True
        assert db.current_revision(engine) == db.head_revision()
    finally:
        engine.dispose()


def test_a_version_table_that_cannot_be_read_is_an_error_not_a_new_catalog(db_url: str) -> None:
    """A catalog whose version table is there but unreadable must not be taken for an empty one (and migrated)."""
    engine = db.make_engine(db_url)
    try:
        db.migrate(engine)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE alembic_version"))
            conn.execute(text("CREATE TABLE alembic_version (something_else INTEGER)"))
        with pytest.raises(ConfigError, match="cannot open the catalog database") as caught:
            db.migrate(engine)
        assert "check catalog.database_url" in (caught.value.hint or "")
    finally:
        engine.dispose()
