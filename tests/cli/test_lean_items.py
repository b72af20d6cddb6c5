"""``strongroom items`` on a SQLite catalog with nothing to recover reads the catalog (and the Tantivy index) without
opening the node or importing SQLAlchemy (services.lean_items), and prints exactly what the opened node prints; the
node is opened whenever opening it would do something first (a pending write, an old schema, a search queue to
apply) or the catalog is PostgreSQL. Which path ran is told by ``sys.modules`` in a fresh interpreter: SQLAlchemy
is imported on the full path and never on the lean one.

The lean reader runs the SQL the Core statements of services.browse compile to for SQLite (services.browse_views):
each text is checked here against the compiled statement."""

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
from click.testing import CliRunner
from sqlalchemy import JSON, Date, select
from sqlalchemy.dialects import sqlite

from strongroom.catalog import db, tables
from strongroom.catalog.revisions import head_from_files
from strongroom.cli.main import cli
from strongroom.node import Node
from strongroom.search import registry
from strongroom.services import browse, browse_views, lean_catalog, lean_items
from strongroom.settings import load_settings, write_settings
from strongroom.store import ocfl

DIALECT = sqlite.dialect()

# ---- the SQL is the compiled Core statements' ---------------------------------------------------------------------


def _compiled(stmt: Any) -> tuple[str, tuple[Any, ...]]:
    c = stmt.compile(dialect=DIALECT, compile_kwargs={"render_postcompile": True})
    return str(c), tuple(c.params[name] for name in c.positiontup or ())


def test_the_listed_items_sql_is_the_core_statement_compiled_for_sqlite() -> None:
    assert str(browse._LISTED_ITEMS.compile(dialect=DIALECT)) == browse_views.LISTED_ITEMS_SQL
    assert str(browse._ITEM_TOTAL.compile(dialect=DIALECT)) == browse_views.ITEM_TOTAL_SQL
    # node.py's question at every start: is anything queued for the search index?
    assert _compiled(select(tables.search_queue.c.id).limit(1)) == (browse_views.SEARCH_QUEUED_SQL, (1, 0))


@pytest.mark.parametrize(("limit", "offset"), [(None, 0), (51, 0), (None, 7), (3, 4)])
def test_the_page_sql_is_item_pages_statement_with_its_parameters(limit: int | None, offset: int) -> None:
    expected = _compiled(browse._items_after(12, offset).limit(limit))
    assert browse_views.items_after_sql(12, limit, offset) == expected


@pytest.mark.parametrize("ids", [[5], [3, 1, 2], list(range(1, 501))])
def test_the_search_hits_sql_is_item_pages_statement(ids: list[int]) -> None:
    assert (browse_views.items_in_sql(len(ids)), tuple(ids)) == _compiled(browse._items_in(ids))


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
def home(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Path:
    """A demo-like node home on the embedded default (SQLite, Tantivy) holding every sample package; a few items
    have the values a listing shows differently (no date, DOI, year or authors; text that must be escaped)."""
    home = tmp_path_factory.mktemp("lean-items") / "home"
    with Node.create(home) as node:
        for bag in sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag.zip")):
            node.ingest.deposit(bag)
        assert node.search.name == "tantivy"
    with sqlite3.connect(home / "catalog.sqlite") as conn:
        conn.execute("UPDATE items SET publication_date = NULL, doi = NULL, year = NULL, authors = '[]' WHERE id = 2")
        conn.execute("UPDATE items SET keywords = 'null', title = title || ' \u202e[0m\u0085' WHERE id = 3")
    conn.close()
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
    """A copy of the module's home, for a test that changes it."""
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    return copy


def test_a_quiet_sqlite_node_is_read_without_sqlalchemy(home: Path, tmp_path: Path) -> None:
    for args in [(), ("--json", "--limit", "3"), ("sante",), ("zzyzzyva", "--json")]:
        out, opened = _run(tmp_path, home, *args)
        assert not opened, args
        assert out.strip()


def test_the_lean_path_writes_nothing_and_leaves_no_wal_files(own_home: Path, tmp_path: Path) -> None:
    catalog = own_home / "catalog.sqlite"
    for extra in ("-wal", "-shm"):
        Path(f"{catalog}{extra}").unlink(missing_ok=True)
    before = catalog.read_bytes()
    out, opened = _run(tmp_path, own_home, "--json")
    assert not opened and json.loads(out)["items"]
    assert catalog.read_bytes() == before
    assert not Path(f"{catalog}-wal").exists() and not Path(f"{catalog}-shm").exists()


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


def test_a_commit_cut_short_in_the_staging_area_opens_the_node(own_home: Path, tmp_path: Path) -> None:
    expected, _ = _run(tmp_path, own_home)
    (own_home / "staging" / "commit-cut-short").mkdir(parents=True)
    out, opened = _run(tmp_path, own_home)
    assert opened and out == expected
    assert not (own_home / "staging" / "commit-cut-short").exists()  # the store's recovery removed it


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


def test_another_search_engine_or_a_missing_index_opens_the_node(own_home: Path, tmp_path: Path) -> None:
    (own_home / "search" / "engine").write_text("sqlite-fts5\n", encoding="utf-8")  # last fed another engine
    out, opened = _run(tmp_path, own_home, "sante", "--json")
    assert opened and json.loads(out)["total"] > 0  # the node filled the index again
    assert (own_home / "search" / "engine").read_text(encoding="utf-8").strip() == "tantivy"
    write_settings(dataclasses.replace(load_settings(own_home), search_engine="sqlite-fts5"))
    assert _run(tmp_path, own_home, "--json")[1]


@pytest.mark.parametrize("db_factory", ["postgresql"], indirect=True)
def test_a_postgresql_catalog_opens_the_node(db_factory: Callable[[], str], sample_dir: Path, tmp_path: Path) -> None:
    home = tmp_path / "pg-home"
    with Node.create(home, database_url=db_factory()) as node:
        node.ingest.deposit(sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag.zip"))[0])
        expected = [i.id for i in node.browse.items(limit=5)]
    out, opened = _run(tmp_path, home, "--json", "--limit", "5")
    assert opened and [i["id"] for i in json.loads(out)["items"]] == expected
    assert lean_items.item_page(home) is None


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
