"""Revision 0020 gives the titles and publishers a catalog already holds their names' sort keys (domain.names),
computed in Python a batch at a time, and replaces the listings' name indexes by (sort_key, id) ones; downgrading
restores revision 0019's schema. On both backends."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from strongroom.catalog.db import _alembic_config, current_revision, head_revision, make_engine, migrate
from strongroom.domain.names import sort_key

NOW = "2026-01-15 09:00:00"
# more titles than one batch of the backfill (1,000), so that a second batch is read after the first's last id
NAMES = ["Études africaines", "Straße", "Ñandú", "İstanbul Review", "Zeta"] + [f"Title {n}" for n in range(1000)]


def _to(engine: sa.Engine, revision: str, *, down: bool = False) -> None:
    with engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def _indexes(engine: sa.Engine, table: str) -> set[str]:
    """The table's index names, read from the database's own catalog (SQLAlchemy skips SQLite's expression indexes,
    as 0019's are)."""
    if engine.dialect.name == "postgresql":
        query = "SELECT indexname FROM pg_indexes WHERE tablename = :t AND schemaname = current_schema()"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
    with engine.connect() as conn:
        return set(conn.execute(sa.text(query), {"t": table}).scalars())


def test_revision_0020_fills_the_sort_keys_and_downgrades(db_url: str) -> None:
    engine = make_engine(db_url)
    _to(engine, "0019")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO publishers (id, key, name, status, created_at) "
                f"VALUES (1, 'p', 'Éditions du Sénégal', 'active', '{NOW}')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO titles (id, key, publisher_id, name, kind, languages, created_at) "
                f"VALUES (:id, :key, 1, :name, 'journal', '[]', '{NOW}')"
            ),
            [{"id": n, "key": f"t-{n}", "name": name} for n, name in enumerate(NAMES, 1)],
        )
        conn.execute(  # a row that refers to a title: the migration must not copy the titles table
            sa.text(
                "INSERT INTO archival_units (id, key, title_id, label, state, object_id, head_version, created_at, "
                f"updated_at) VALUES (1, 't-1/2024', 1, '2024', 'collected', 'obj', 1, '{NOW}', '{NOW}')"
            )
        )
    assert migrate(engine) is True and current_revision(engine) == head_revision()
    with engine.connect() as conn:
        keys = dict(conn.execute(sa.text("SELECT name, sort_key FROM titles")).all())
        publisher = conn.execute(sa.text("SELECT sort_key FROM publishers")).scalar_one()
        ordered = list(conn.execute(sa.text("SELECT name FROM titles ORDER BY sort_key, id LIMIT 3")).scalars())
    assert keys == {name: sort_key(name) for name in NAMES}
    assert keys["Études africaines"] == "etudes africaines" and keys["Straße"] == "strasse"
    assert publisher == "editions du senegal"
    assert ordered == ["Études africaines", "İstanbul Review", "Ñandú"]
    assert "ix_titles_sort_key" in _indexes(engine, "titles") and "ix_titles_sort_name" not in _indexes(
        engine, "titles"
    )
    assert "ix_publishers_sort_key" in _indexes(engine, "publishers")
    with engine.connect() as conn:  # the key is required now
        columns = {c["name"]: c for c in sa.inspect(conn).get_columns("titles")}
    assert columns["sort_key"]["nullable"] is False

    _to(engine, "0019", down=True)
    assert current_revision(engine) == "0019"
    with engine.connect() as conn:
        assert "sort_key" not in {c["name"] for c in sa.inspect(conn).get_columns("titles")}
        assert "sort_key" not in {c["name"] for c in sa.inspect(conn).get_columns("publishers")}
        assert conn.execute(sa.text("SELECT count(*) FROM titles")).scalar_one() == len(NAMES)
    assert "ix_titles_sort_name" in _indexes(engine, "titles") and "ix_titles_sort_key" not in _indexes(
        engine, "titles"
    )
    assert "ix_publishers_sort_name" in _indexes(engine, "publishers")
    assert migrate(engine) is True and current_revision(engine) == head_revision()  # and up again
    engine.dispose()
