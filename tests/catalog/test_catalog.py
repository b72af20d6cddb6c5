"""The catalog's schema, migrations and look-ups on both backends (search: tests/search)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from strongroom.catalog.db import current_revision, head_revision, make_engine, migrate
from strongroom.catalog.models import ArchivalUnit, Item, Publisher, Title, all_models, include_name
from strongroom.catalog.repo import Catalog
from strongroom.clock import FixedClock
from strongroom.domain.identifiers import public_id
from strongroom.domain.model import EventOutcome, EventType
from strongroom.errors import NotFound


def _seed(catalog: Catalog) -> None:
    now = catalog.clock.now()
    with catalog.session() as s:
        pub = Publisher(key="p", name="Ghana Science Press", country="GH", status="active", created_at=now)
        title = Title(
            key="issn:0378-8733",
            name="Ghana Journal of Science",
            publisher=pub,
            languages=["en"],
            created_at=now,
            kind="journal",
        )
        au = ArchivalUnit(
            key="issn:0378-8733/2024",
            title=title,
            label="2024",
            state="collected",
            object_id="strongroom:au/issn:0378-8733/2024",
            head_version=1,
            created_at=now,
            updated_at=now,
        )
        s.add_all([pub, title, au])
        s.flush()
        texts = [
            ("10.5555/a", "Soil nitrogen in maize fields", "Kwame Mensah", "Fertiliser trials in Ashanti"),
            ("10.5555/b", "Santé publique au Sénégal", "Awa Diop", "Une étude de la vaccination"),
            ("10.5555/c", "Kilimo cha mahindi", "Juma Mwangi", "Utafiti wa mbolea"),
        ]
        for doi, t, author, abstract in texts:
            item = Item(
                au_id=au.id,
                item_key=doi,
                public_id=public_id(au.key, doi),
                doi=doi,
                title=t,
                authors=[{"name": author}],
                keywords=[],
                abstract=abstract,
                item_type="research-article",
            )
            s.add(item)


def test_migrations_create_the_models_schema(db_url: str, clock: FixedClock) -> None:
    engine = make_engine(db_url)
    assert migrate(engine) is True
    assert current_revision(engine) == head_revision()
    assert migrate(engine) is False  # already at head: nothing applied
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_name": include_name}), all_models())
    assert diff == [], f"models and migrations disagree: {diff}"
    engine.dispose()


def test_lookups_and_events(db_url: str, clock: FixedClock) -> None:
    catalog = Catalog.open(db_url, clock)
    _seed(catalog)
    assert catalog.find_item("https://doi.org/10.5555/B").title == "Santé publique au Sénégal"
    with pytest.raises(NotFound, match="no item"):
        catalog.find_item("10.5555/zzz")
    with pytest.raises(NotFound, match="strongroom aus"):
        catalog.aus(["nope/2020"])
    with catalog.session() as s:
        catalog.record_event(
            s,
            EventType.FIXITY_CHECK,
            EventOutcome.SUCCESS,
            agent="test",
            object_type="au",
            object_key="issn:0378-8733/2024",
            detail="3 files ok",
        )
    events = catalog.events(object_key="issn:0378-8733/2024")
    assert [(e.type, e.outcome) for e in events] == [("fixity check", "success")]
    assert events[0].time == dt.datetime(2026, 1, 15, 9, 0, 1, tzinfo=dt.UTC)
    [(pub, ntitles, naus)] = catalog.publishers()
    assert (pub.country, ntitles, naus) == ("GH", 1, 1)
    catalog.close()


def test_upgrading_a_catalog_with_items_gives_each_its_public_id(db_url: str) -> None:
    """Revision 0003 adds public ids to a catalog that already holds items (nodes created before it existed)."""
    from alembic import command

    from strongroom.catalog.db import _alembic_config

    engine = make_engine(db_url)
    with engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    now = "2026-01-15 09:00:00"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f"INSERT INTO titles (id, key, name, kind, languages, created_at) VALUES (1, 'issn:x', 'X', 'journal', '[]', '{now}')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO archival_units (id, key, title_id, label, state, object_id, head_version, created_at, "
                f"updated_at) VALUES (1, 'issn:x/2024', 1, '2024', 'collected', 'obj', 1, '{now}', '{now}')"
            )
        )
        for n, key in enumerate(("10.5555/a", "10.5555/b"), 1):
            conn.execute(
                sa.text(
                    "INSERT INTO items (id, au_id, item_key, title, authors, keywords, item_type, search_text) "
                    "VALUES (:id, 1, :key, 'T', '[]', '[]', 'research-article', '')"
                ),
                {"id": n, "key": key},
            )
        conn.execute(
            sa.text(
                "INSERT INTO items (id, au_id, item_key, title, authors, keywords, item_type, search_text, "
                "volume, issue, publication_date, year) VALUES (3, 1, '10.5555/c', 'T', '[]', '[]', "
                "'research-article', '', '12', '3', '2024-03-05', 2024)"
            )
        )
    assert migrate(engine) is True and current_revision(engine) == head_revision()
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT item_key, public_id FROM items")).all())
        queued = sorted(conn.execute(sa.text("SELECT item_id FROM search_queue")).scalars())
        count, volumes, issues = conn.execute(sa.text("SELECT item_count, volumes, issues FROM archival_units")).one()
    assert rows == {k: public_id("issn:x/2024", k) for k in ("10.5555/a", "10.5555/b", "10.5555/c")}
    assert queued == [1, 2, 3]  # revision 0011: every item waits for the search engine the node opens next
    volumes = json.loads(volumes) if isinstance(volumes, str) else volumes
    issues = json.loads(issues) if isinstance(issues, str) else issues
    # revision 0014: the AU's counts, volumes and issues, from its items
    assert (count, volumes) == (3, [["12", 2024, 1], ["other", None, 2]])
    assert issues == [[None, None, None, None], ["12", "3", "2024-03-05", 2024]]
    engine.dispose()
