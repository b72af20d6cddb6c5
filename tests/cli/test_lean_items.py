"""``strongroom items`` on a catalog with nothing to recover, SQLite or PostgreSQL, reads the catalog (and the Tantivy
index) without opening the node or importing SQLAlchemy (services.lean_items), and prints exactly what the opened
node prints; the node is opened whenever opening it would do something first (a pending write, an old schema, a
search queue to apply) or the database cannot be reached. Which path ran is told by ``sys.modules`` in a fresh
interpreter: SQLAlchemy is imported on the full path and never on the lean one.

The lean reader runs the SQL the Core statements of services.browse compile to for SQLite and for PostgreSQL
(services.browse_views): each text is checked here against the compiled statement."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy import JSON, Date, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.engine import make_url

from strongroom.catalog import db, tables
from strongroom.catalog.revisions import head_from_files
from strongroom.cli.main import cli
from strongroom.node import Node
from strongroom.search import registry
from strongroom.services import browse, browse_views, lean_catalog, lean_items
from strongroom.settings import load_settings, write_settings
from strongroom.store import ocfl
from tests_support import compiled_sql, dead_write_intent

# PostgreSQL's is SQLAlchemy's default driver for it, psycopg (3): the dialect the node's engine compiles for.
DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}
SQLITE_ONLY = pytest.mark.parametrize("module_db_factory", ["sqlite"], indirect=True)  # changes a SQLite file

# ---- the SQL is the compiled Core statements' ---------------------------------------------------------------------


def test_the_postgresql_dialect_compiled_is_the_nodes() -> None:
    drivers = {make_url(url).get_dialect().driver for url in ("postgresql://h/db", "postgresql+psycopg://h/db")}
    assert drivers == {DIALECTS["postgresql"].driver} == {"psycopg"}


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        "postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dt_0123456789ab",
        "postgresql://u:p%40ss%2Fw:rd@db.example.org/cat%20alog?sslmode=require&options=-csearch_path%3Dx",
        "postgresql:///strongroom",
        "postgresql+psycopg://u@h/db?connect_timeout=5&application_name=strongroom",
    ],
)
def test_a_postgresql_url_connects_with_what_sqlalchemy_passes_psycopg(url: str) -> None:
    _, expected = psycopg_dialect.dialect().create_connect_args(make_url(url))
    expected.pop("context", None)  # (psycopg's adapters, when SQLAlchemy has imported psycopg)
    assert lean_catalog.postgres_connect_args(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg2://u@h/db",  # another driver
        "postgresql+asyncpg://u@h/db",
        "postgresql://u@h/db?host=a&host=b",  # several hosts, as SQLAlchemy reads them
        "postgresql://u@a,b/db",
        "postgresql://u@[::1]/db",
        "postgresql://u@h/db?plugin=x",  # read by SQLAlchemy itself
        "postgresql://u@h/db?options=a&options=b",
        "postgresql://u@h/db?prepare_threshold=0",  # not libpq's
        "postgresql://u@h/db#x",
        "mysql://u@h/db",
    ],
)
def test_an_unusual_database_url_opens_the_node(url: str) -> None:
    assert lean_catalog.postgres_connect_args(url) is None


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_listed_items_sql_is_the_core_statement_compiled(dialect: str) -> None:
    listed = browse_views.LISTED_ITEMS_SQL if dialect == "sqlite" else browse_views.PG_LISTED_ITEMS_SQL
    assert str(browse._LISTED_ITEMS.compile(dialect=DIALECTS[dialect])) == listed
    assert str(browse._ITEM_TOTAL.compile(dialect=DIALECTS[dialect])) == browse_views.ITEM_TOTAL_SQL
    # node.py's question at every start: is anything queued for the search index?
    queued = compiled_sql(select(tables.search_queue.c.id).limit(1), dialect)
    assert browse_views.search_queued_sql(dialect) == queued


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(("limit", "offset"), [(None, 0), (51, 0), (None, 7), (3, 4)])
def test_the_page_sql_is_item_pages_statement_with_its_parameters(limit: int | None, offset: int, dialect: str) -> None:
    expected = compiled_sql(browse._items_after(12, offset).limit(limit), dialect)
    assert browse_views.items_after_sql(12, limit, offset, dialect) == expected


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("ids", [[5], [3, 1, 2], list(range(1, 501))])
def test_the_search_hits_sql_is_item_pages_statement(ids: list[int], dialect: str) -> None:
    assert browse_views.items_in_sql(ids, dialect) == compiled_sql(browse._items_in(ids), dialect)


def test_the_columns_converted_are_the_json_and_date_columns_of_items() -> None:
    columns = {name: tables.items.c[name].type for name in browse_views.ITEM_COLUMNS}
    assert set(browse_views.JSON_COLUMNS) == {n for n, t in columns.items() if isinstance(t, JSON)}
    assert set(browse_views.DATE_COLUMNS) == {n for n, t in columns.items() if isinstance(t, Date)}


def test_the_paths_and_names_are_those_of_the_search_registry_and_the_store() -> None:
    assert (lean_items.TANTIVY_DIR, lean_items.LAST_ENGINE) == (registry.TANTIVY_DIR, registry.LAST_ENGINE)
    assert (lean_catalog.ROOT_NAMASTE, lean_catalog.OCFL_LAYOUT) == (ocfl.ROOT_NAMASTE, ocfl.LAYOUT)
    assert head_from_files() == db.head_revision()


# ---- the same output -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path, module_db_factory: Callable[[], str]) -> Path:
    """A demo-like node home on the catalog backend under test (and Tantivy) holding every sample package; a few
    items have the values a listing shows differently (no date, DOI, year or authors; no keywords at all, a JSON
    null; text that must be escaped)."""
    home = tmp_path_factory.mktemp("lean-items") / "home"
    url = module_db_factory()
    # SQLite: the embedded default, the catalog in the home (a copy of the home is a copy of its catalog)
    with Node.create(home, database_url=None if url.startswith("sqlite") else url) as node:
        for bag in sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag.zip")):
            node.ingest.deposit(bag)
        assert node.search.name == "tantivy"
        items = tables.items.c
        with node.catalog.connection() as conn:
            conn.execute(
                update(tables.items).where(items.id == 2).values(publication_date=None, doi=None, year=None, authors=[])
            )
            conn.execute(
                update(tables.items)
                .where(items.id == 3)
                .values(keywords=JSON.NULL, title=items.title + " \u202e[0m\u0085")
            )
    return home


@pytest.fixture
def lean_ran(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Whether each ``items`` command in this process was answered by the lean reader."""
    answered: list[bool] = []
    real = lean_items.item_page

    def spy(*args: Any, **kwargs: Any) -> Any:
        page = real(*args, **kwargs)
        answered.append(page is not None)
        return page

    monkeypatch.setattr(lean_items, "item_page", spy)
    yield answered


def _items(home: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["items", *args, "--home", str(home)], catch_exceptions=False, terminal_width=250)
    assert result.exit_code == 0, result.output
    return result.output


CASES = [
    (),
    ("--after", "3"),
    ("--after", "10", "--limit", "5"),
    ("--offset", "5"),
    ("--offset", "3", "--after", "60"),
    ("--limit", "7"),
    ("--all",),
    ("--json",),
    ("--json", "--after", "20", "--limit", "3"),
    ("--json", "--all"),
    ("sante",),
    ("sante", "--offset", "2", "--limit", "3"),
    ("sante", "--all", "--json"),
    ('"sante publique"', "--json"),
    ("the",),
    ("zzyzzyva",),  # a word no item has
    ("--json", "qqqq xxxx"),
    ("%",),  # no word at all
]


@pytest.mark.parametrize("args", CASES, ids=" ".join)
def test_the_lean_path_prints_what_the_opened_node_prints(
    home: Path, lean_ran: list[bool], monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    lean = _items(home, *args)
    assert lean_ran == [True]
    monkeypatch.setattr(lean_items, "item_page", lambda *a, **k: None)  # the node is opened
    assert _items(home, *args) == lean
    if args in {("sante",), ("--json",)}:
        assert "item" in lean and len(lean.splitlines()) > 5  # not two empty answers


# ---- which path ran, in a fresh interpreter --------------------------------------------------------------------

RUN = """
import atexit, runpy, sys
out, args = sys.argv[1], sys.argv[2:]
def dump():
    with open(out, "w") as f:
        f.write("sqlalchemy" in sys.modules and "yes" or "no")
atexit.register(dump)
sys.argv = ["strongroom", *args]
runpy.run_module("strongroom", run_name="__main__", alter_sys=True)
"""


def _run(tmp_path: Path, home: Path, *args: str) -> tuple[str, bool]:
    """``strongroom items ARGS --home HOME`` in a fresh interpreter: what it printed, and whether it had imported
    SQLAlchemy (opened the node)."""
    flag = tmp_path / "sqlalchemy"
    proc = subprocess.run(
        [sys.executable, "-c", RUN, str(flag), "items", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, flag.read_text() == "yes"


@pytest.fixture
def own_home(home: Path, tmp_path: Path) -> Path:
    """A copy of the module's home, for a test that changes it (on SQLite: a copy of a PostgreSQL home would share
    its database)."""
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    return copy


def test_a_quiet_node_is_read_without_sqlalchemy(home: Path, tmp_path: Path) -> None:
    for args in [(), ("--json", "--limit", "3"), ("sante",), ("zzyzzyva", "--json")]:
        out, opened = _run(tmp_path, home, *args)
        assert not opened, args
        assert out.strip()


@SQLITE_ONLY
def test_the_lean_path_writes_nothing_and_leaves_no_wal_files(own_home: Path, tmp_path: Path) -> None:
    catalog = own_home / "catalog.sqlite"
    for extra in ("-wal", "-shm"):
        Path(f"{catalog}{extra}").unlink(missing_ok=True)
    before = catalog.read_bytes()
    out, opened = _run(tmp_path, own_home, "--json")
    assert not opened and json.loads(out)["items"]
    assert catalog.read_bytes() == before
    assert not Path(f"{catalog}-wal").exists() and not Path(f"{catalog}-shm").exists()


@SQLITE_ONLY
def test_a_pending_journal_intent_opens_the_node(own_home: Path, tmp_path: Path) -> None:
    expected, _ = _run(tmp_path, own_home, "--json")
    journal = own_home / "journal"
    journal.mkdir(exist_ok=True)
    intent = journal / "0123456789abcdef.json"
    intent.write_text(json.dumps({"object_id": "urn:x:never-written", "pid": 1, "host": ""}), encoding="utf-8")
    out, opened = _run(tmp_path, own_home, "--json")
    assert opened and out == expected
    assert not intent.exists()  # the node's recovery ended the dead writer's intent
    assert _run(tmp_path, own_home, "--json") == (expected, False)  # and the next command reads it lean again


@SQLITE_ONLY
def test_a_commit_cut_short_in_the_staging_area_opens_the_node(own_home: Path, tmp_path: Path) -> None:
    expected, _ = _run(tmp_path, own_home)
    (own_home / "staging" / "commit-cut-short").mkdir(parents=True)
    out, opened = _run(tmp_path, own_home)
    assert opened and out == expected
    assert not (own_home / "staging" / "commit-cut-short").exists()  # the store's recovery removed it


@SQLITE_ONLY
def test_an_old_schema_opens_the_node_which_migrates_it(own_home: Path, tmp_path: Path) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    expected, _ = _run(tmp_path, own_home, "sante", "--json")
    head = db.head_revision()
    previous = ScriptDirectory.from_config(db._alembic_config()).get_revision(head).down_revision
    assert isinstance(previous, str)
    engine = db.make_engine(f"sqlite:///{own_home / 'catalog.sqlite'}")
    with engine.begin() as conn:
        cfg = db._alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, previous)
    try:
        assert db.current_revision(engine) == previous
        out, opened = _run(tmp_path, own_home, "sante", "--json")
        assert opened and out == expected
        assert db.current_revision(engine) == head  # opening the node migrated it
    finally:
        engine.dispose()


@SQLITE_ONLY
def test_a_search_queue_to_apply_opens_the_node_for_a_search_only(own_home: Path, tmp_path: Path) -> None:
    expected, _ = _run(tmp_path, own_home, "sante", "--json")
    with sqlite3.connect(own_home / "catalog.sqlite") as conn:
        conn.execute("INSERT INTO search_queue (item_id) SELECT id FROM items WHERE id <= 5")
    conn.close()
    listing, opened = _run(tmp_path, own_home, "--json")
    assert not opened and json.loads(listing)["total"] > 0  # a listing does not ask the index
    out, opened = _run(tmp_path, own_home, "sante", "--json")
    assert opened and out == expected
    with sqlite3.connect(own_home / "catalog.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM search_queue").fetchone() == (0,)  # applied by the node
    conn.close()


@SQLITE_ONLY
def test_another_search_engine_or_a_missing_index_opens_the_node(own_home: Path, tmp_path: Path) -> None:
    (own_home / "search" / "engine").write_text("sqlite-fts5\n", encoding="utf-8")  # last fed another engine
    out, opened = _run(tmp_path, own_home, "sante", "--json")
    assert opened and json.loads(out)["total"] > 0  # the node filled the index again
    assert (own_home / "search" / "engine").read_text(encoding="utf-8").strip() == "tantivy"
    write_settings(dataclasses.replace(load_settings(own_home), search_engine="sqlite-fts5"))
    assert _run(tmp_path, own_home, "--json")[1]


# ---- a PostgreSQL catalog of its own -----------------------------------------------------------------------------


@pytest.fixture
def pg_home(db_factory: Callable[[], str], sample_dir: Path, tmp_path: Path) -> Path:
    """A node home on a PostgreSQL catalog of its own (a schema of the test server), holding one sample package."""
    home = tmp_path / "pg-home"
    with Node.create(home, database_url=db_factory()) as node:
        node.ingest.deposit(sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag.zip"))[0])
    return home


def _pg_engine(home: Path) -> sa.Engine:
    return sa.create_engine(load_settings(home).resolved_database_url())


def _pg_contents(home: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the catalog at ``home``, in order."""
    engine = _pg_engine(home)
    try:
        with engine.connect() as conn:
            return {
                t.name: [
                    tuple(r)
                    for r in conn.execute(select(t).order_by(*(list(t.primary_key.columns) or list(t.columns))))
                ]
                for t in tables.metadata.sorted_tables
            }
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_factory", ["postgresql"], indirect=True)
def test_a_postgresql_catalog_is_read_without_opening_the_node(pg_home: Path, tmp_path: Path) -> None:
    with Node.open(pg_home) as node:
        expected = [i.id for i in node.browse.items(limit=5)]
        word = max(node.browse.items(limit=1)[0].title.split(), key=len).strip(".,:;()")
        found = node.browse.item_page(word, limit=None)
    out, opened = _run(tmp_path, pg_home, "--json", "--limit", "5")
    assert not opened and [i["id"] for i in json.loads(out)["items"]] == expected and len(expected) == 5
    assert lean_items.item_page(pg_home, word, limit=None) == found and found.total > 0
    with lean_catalog.snapshot(pg_home) as catalog:
        assert catalog is not None and catalog.dialect == "postgresql"


@pytest.mark.parametrize("db_factory", ["postgresql"], indirect=True)
def test_the_lean_path_writes_nothing_to_a_postgresql_catalog(pg_home: Path, tmp_path: Path) -> None:
    import psycopg

    before = _pg_contents(pg_home)
    for args in [("--json",), ("--all",), ("article", "--json")]:
        out, opened = _run(tmp_path, pg_home, *args)
        assert not opened and out.strip()
    assert _pg_contents(pg_home) == before
    with lean_catalog.snapshot(pg_home) as catalog:
        assert catalog is not None
        lean_items._listing(catalog.reader, None, 0, 0)
        # its transaction has written nothing (no transaction id was needed), and cannot
        assert catalog.reader.first("SELECT pg_current_xact_id_if_assigned()") == (None,)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            catalog.reader.conn.execute("DELETE FROM search_queue")


@pytest.mark.parametrize("db_factory", ["postgresql"], indirect=True)
def test_a_pending_write_intent_in_a_postgresql_catalog_opens_the_node(pg_home: Path, tmp_path: Path) -> None:
    expected, _ = _run(tmp_path, pg_home, "--json")
    with dead_write_intent(pg_home) as intents_left:
        out, opened = _run(tmp_path, pg_home, "--json")
        assert opened and out == expected
        assert intents_left() == 0  # the node's recovery ended the dead writer's intent
    assert _run(tmp_path, pg_home, "--json") == (expected, False)  # and the next command reads it lean again


UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/strongroom"  # port 1: refused at once


@SQLITE_ONLY
def test_an_unreachable_database_opens_the_node_which_reports_it(
    own_home: Path, lean_ran: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert lean_catalog.postgres_connect_args(UNREACHABLE) is not None  # a URL the lean path tries
    write_settings(dataclasses.replace(load_settings(own_home), database_url=UNREACHABLE))
    args = ["items", "--json", "--home", str(own_home)]
    lean = CliRunner().invoke(cli, args, terminal_width=250)
    assert lean_ran == [False]  # it tried, and left the error to the node
    monkeypatch.setattr(lean_items, "item_page", lambda *a, **k: None)  # the node is opened
    full = CliRunner().invoke(cli, args, terminal_width=250)
    assert (lean.exit_code, lean.output) == (full.exit_code, full.output)
    assert lean.exit_code != 0 and "127.0.0.1" in lean.output and "database" in lean.output


@pytest.mark.parametrize(
    "ask",
    [{}, {"limit": None}, {"after": 40, "limit": 9}, {"offset": 4, "limit": None}, {"query": "sante", "limit": None}],
    ids=str,
)
def test_the_pages_are_equal_value_for_value(home: Path, ask: dict[str, Any]) -> None:
    """Not only the printed page: every value, of the same type (a date, the authors' documents), as item_page's."""
    lean = lean_items.item_page(home, **ask)
    assert lean is not None
    with Node.open(home) as node:
        full = node.browse.item_page(**ask)
    assert lean == full
    assert [type(v) for r in lean.rows for v in dataclasses.astuple(r)] == [
        type(v) for r in full.rows for v in dataclasses.astuple(r)
    ]
