"""``strongroom au status AU`` on a catalog with nothing to recover, SQLite or PostgreSQL, computes the AU's status
without opening the node or importing SQLAlchemy (services.lean_au_status), and prints exactly what the opened node
prints; the node is opened whenever opening it would do something first (here: an intent in the journal, in the
home's files or in PostgreSQL's ``write_intents``).

The lean reader runs the SQL the Core statements of catalog.repo compile to for SQLite and for PostgreSQL, and
converts the values as the catalog's SQLAlchemy types do on each: each is checked here against the compiled
statement, and against what the node's catalog reads."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from strongroom.catalog import repo, tables
from strongroom.cli.main import cli
from strongroom.clock import SystemClock
from strongroom.domain.model import EventOutcome, EventType
from strongroom.errors import ExitCode, NotFound
from strongroom.keys import public_key_text
from strongroom.network.config import Member, NetworkConfig, NetworkPolicy, sign_config
from strongroom.node import Node
from strongroom.services import lean_au_status, lean_catalog
from strongroom.services.network_status import NetworkView
from tests_support import compiled_sql, dead_write_intent

# PostgreSQL's is SQLAlchemy's default driver for it, psycopg (3): the dialect the node's engine compiles for.
DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}
SQLITE_ONLY = pytest.mark.parametrize("module_db_factory", ["sqlite"], indirect=True)  # changes a copy of the home
SILENT = "node-silent"  # the other member: its URL refuses connections at once


# ---- the SQL is the compiled Core statements' ---------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_sql_is_the_catalogs_core_statements_compiled(dialect: str) -> None:
    assert compiled_sql(repo.au_object_id_query("k"), dialect) == lean_au_status.au_object_id_sql("k", dialect)
    events = select(tables.events)
    for limit in (None, 7):
        expected = compiled_sql(repo.Catalog._events_query(events, "k", None, limit), dialect)
        assert lean_au_status.events_of_sql("k", limit, dialect) == expected
    assert tuple(tables.events.c.keys()) == lean_au_status.EVENT_COLUMNS
    for ids in (["a"], ["a", "b", "c"], [f"urn:x:{n}" for n in range(500)]):
        expected = compiled_sql(repo.poll_summaries_query(ids), dialect)
        assert lean_au_status.poll_summaries_sql(ids, dialect) == expected
    assert lean_au_status.POLL_SUMMARY_BATCH == repo.POLL_SUMMARY_BATCH


def test_an_unknown_au_is_the_catalogs_own_not_found() -> None:
    with sqlite3.connect(":memory:") as conn:
        conn.execute("CREATE TABLE archival_units (object_id TEXT, key TEXT)")
        reader = lean_catalog.Reader(conn, "sqlite", (sqlite3.Error,))
        with pytest.raises(NotFound) as lean:
            lean_au_status.CatalogStatusReads(reader, SystemClock()).au_object_id("no/such/au")
    conn.close()
    expected = repo._no_such_au(["no/such/au"])
    assert (str(lean.value), lean.value.exit_code) == (str(expected), expected.exit_code)


# ---- a node with a story to tell ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def home(
    tmp_path_factory: pytest.TempPathFactory, sample_dir: Path, module_db_factory: Callable[[], str]
) -> tuple[Path, str, str]:
    """A node home on the catalog backend under test holding two AUs, in a network of two whose other member does not
    answer; the first AU has polls (an agreement, an alarm), repairs and findings about peers; the second was
    catalogued long ago and never audited (an alarm of the poll interval). Its path and the two AUs' keys."""
    admin, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    home = tmp_path_factory.mktemp("lean-au-status") / "home"
    url = module_db_factory()
    # SQLite: the embedded default, the catalog in the home (a copy of the home is a copy of its catalog)
    with Node.create(home, database_url=None if url.startswith("sqlite") else url) as node:
        for bag in sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag.zip"))[:2]:
            node.ingest.deposit(bag)
        first, second = (au for au, *_ in node.catalog.aus())
        me = public_key_text(node.membership.private_key().public_key())
        members = (
            Member(node.settings.node_id, "http://127.0.0.1:9", me, "A", "GH"),
            Member(SILENT, "http://127.0.0.1:9", public_key_text(other.public_key()), "B", "KE"),
        )
        config = NetworkConfig("lean-net", 1, members, NetworkPolicy(target_copies=2, min_countries=1, quorum=1))
        node.membership.join(sign_config(config, admin), public_key_text(admin.public_key()))
        record = node.events.record
        poller = {"role": "poller", "voters": [SILENT]}
        record(EventType.POLL, EventOutcome.SUCCESS, first.object_id, "agreed", poller | {"outcome": "agree"})
        record(EventType.REPAIR, EventOutcome.SUCCESS, first.object_id, "content/a.pdf from node-silent", {})
        record(EventType.REPAIR, EventOutcome.FAILURE, first.object_id, "content/b.pdf: no landslide", {})
        record(EventType.POLL, EventOutcome.WARNING, first.object_id, "vote refused", {"suspect": "node-liar"})
        record(
            EventType.POLL,
            EventOutcome.WARNING,
            first.object_id,
            "found damaged",
            {"finding": "damaged", "peer": SILENT},
        )
        record(
            EventType.POLL,
            EventOutcome.WARNING,
            first.object_id,
            "too few votes",
            poller | {"outcome": "inconclusive", "alarms": ["too few votes (1 of quorum 1)"]},
        )
        with node.catalog.connection() as conn:  # catalogued a year ago, never audited since
            year_ago = dt.datetime(2025, 12, 1, 8, 30, tzinfo=dt.UTC)
            conn.execute(
                update(tables.archival_units)
                .where(tables.archival_units.c.key == second.key)
                .values(created_at=year_ago)
            )
    return home, first.key, second.key


@pytest.fixture
def lean_ran(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Whether each ``au status`` command in this process was answered without opening the node (an error the lean
    path raised counts as answered)."""
    answered: list[bool] = []
    real = lean_au_status.au_status

    def spy(*args: Any, **kwargs: Any) -> Any:
        answered.append(True)
        status = real(*args, **kwargs)
        answered[-1] = status is not None
        return status

    monkeypatch.setattr(lean_au_status, "au_status", spy)
    yield answered


def _au_status(home: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["au", "status", *args, "--home", str(home)], terminal_width=250)


@pytest.mark.parametrize("json_flag", [(), ("--json",)], ids=["text", "json"])
@pytest.mark.parametrize("which", [1, 2])
def test_the_lean_path_prints_what_the_opened_node_prints(
    home: tuple[Path, str, str],
    lean_ran: list[bool],
    monkeypatch: pytest.MonkeyPatch,
    which: int,
    json_flag: tuple[str, ...],
) -> None:
    path, key = home[0], home[which]
    lean = _au_status(path, key, *json_flag)
    assert lean.exit_code == 0, lean.output
    assert lean_ran == [True]
    monkeypatch.setattr(lean_au_status, "au_status", lambda *a, **k: None)  # the node is opened
    full = _au_status(path, key, *json_flag)
    assert (full.exit_code, full.output) == (0, lean.output)
    if json_flag:  # not two empty answers
        status = json.loads(lean.output)
        if which == 1:
            assert status["last_agreement"] and len(status["repairs"]) == 2
            assert status["reported_peers"] == ["node-liar"] and status["damaged_peers"] == [SILENT]
            assert status["open_alarms"] == [status["open_alarms"][0]] and "too few votes" in status["open_alarms"][0]
        else:
            assert status["last_agreement"] is None
            assert [a.split(":")[0] for a in status["open_alarms"]] == ["ALARM"]  # not audited within the interval
        assert set(status["copies"]["assigned"]) == {SILENT, status["copies"]["holding"].popitem()[0]}


def test_no_read_of_the_catalog_is_open_while_the_peers_are_asked(
    home: tuple[Path, str, str], lean_ran: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catalog is read ahead, and its connection closed, before any peer is asked: a member that takes its
    timeout to answer no longer keeps a read transaction open on the catalog (holding back SQLite's checkpoints, or
    PostgreSQL's vacuum) all that time."""
    open_now: list[str] = []
    seen: list[list[str]] = []

    def counted(name: str) -> None:
        real = getattr(lean_catalog, name)

        @contextlib.contextmanager
        def opened(*args: Any, **kwargs: Any) -> Iterator[Any]:
            with real(*args, **kwargs) as reader:
                open_now.append(name)
                try:
                    yield reader
                finally:
                    open_now.remove(name)

        monkeypatch.setattr(lean_catalog, name, opened)

    counted("_sqlite_read_only")
    counted("_postgres_read_only")
    real_listing = NetworkView._listing

    def asked(client: Any, member: Any, only: str | None) -> Any:
        seen.append(list(open_now))
        return real_listing(client, member, only)

    monkeypatch.setattr(NetworkView, "_listing", staticmethod(asked))
    result = _au_status(home[0], home[1], "--json")
    assert result.exit_code == 0, result.output
    assert lean_ran == [True]
    assert seen == [[]], "a catalog connection was open while a peer was asked"
    assert json.loads(result.output)["last_agreement"]  # the catalog's answers, read ahead, are in the status


def test_an_unknown_au_is_the_same_error_and_exit_code(
    home: tuple[Path, str, str], lean_ran: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    lean = _au_status(home[0], "no/such/au")
    assert lean_ran == [True]  # the lean path raised the error itself
    assert lean.exit_code == ExitCode.NOT_FOUND
    assert "no archival unit no/such/au" in lean.output and "strongroom aus" in lean.output
    monkeypatch.setattr(lean_au_status, "au_status", lambda *a, **k: None)  # the node is opened
    full = _au_status(home[0], "no/such/au")
    assert (full.exit_code, full.output) == (lean.exit_code, lean.output)


def test_the_reads_are_the_catalogs_value_for_value(home: tuple[Path, str, str]) -> None:
    """Every value, of the same type (aware datetimes in UTC, decoded JSON documents), as the node's catalog reads."""
    path, *keys = home
    with lean_catalog.snapshot(path) as catalog, Node.open(path) as node:
        assert catalog is not None
        lean = lean_au_status.CatalogStatusReads(catalog.reader, SystemClock())
        ids = [lean.au_object_id(k) for k in keys]
        assert ids == [node.catalog.au_object_id(k) for k in keys]
        assert lean.poll_summaries([*ids, "not-here"]) == node.catalog.poll_summaries([*ids, "not-here"])
        for key in keys:
            every = len(node.catalog.event_rows(object_key=key, limit=None))
            assert every >= (7 if key == keys[0] else 1)  # its ingestion, and the six recorded
            for limit in (None, 2):
                full = [r._asdict() for r in node.catalog.event_rows(object_key=key, limit=limit)]
                rows = [dataclasses.asdict(r) for r in lean.event_rows(object_key=key, limit=limit)]
                assert rows == full and len(rows) == min(limit or every, every)
                assert [{k: type(v) for k, v in r.items()} for r in rows] == [
                    {k: type(v) for k, v in r.items()} for r in full
                ]
                assert all(r["time"].tzinfo is not None and r["time"].utcoffset().total_seconds() == 0 for r in rows)
        summary = lean.poll_summaries(ids)[ids[0]][1]
        assert summary.last_poll_at is not None and summary.last_poll_at.tzinfo is not None and summary.alarms


# ---- what the lean path leaves, and when the node is opened instead ----------------------------------------------


@pytest.fixture
def own_home(home: tuple[Path, str, str], tmp_path: Path) -> Path:
    """A copy of the module's home, for a test that changes it (on SQLite: a copy of a PostgreSQL home would share
    its database)."""
    copy = tmp_path / "home"
    shutil.copytree(home[0], copy)
    return copy


def _answer(home: Path, au_key: str) -> str:
    result = _au_status(home, au_key, "--json")
    assert result.exit_code == 0, result.output
    return result.output


@SQLITE_ONLY
def test_the_lean_path_writes_nothing_and_leaves_no_wal_files(
    home: tuple[Path, str, str], own_home: Path, lean_ran: list[bool]
) -> None:
    catalog = own_home / "catalog.sqlite"
    for extra in ("-wal", "-shm"):
        Path(f"{catalog}{extra}").unlink(missing_ok=True)
    before = catalog.read_bytes()
    assert json.loads(_answer(own_home, home[1]))["au_key"] == home[1]
    assert lean_ran == [True]
    assert catalog.read_bytes() == before
    assert not Path(f"{catalog}-wal").exists() and not Path(f"{catalog}-shm").exists()


@SQLITE_ONLY
def test_a_pending_journal_intent_opens_the_node(
    home: tuple[Path, str, str], own_home: Path, lean_ran: list[bool]
) -> None:
    expected = _answer(own_home, home[1])
    journal = own_home / "journal"
    journal.mkdir(exist_ok=True)
    intent = journal / "0123456789abcdef.json"
    intent.write_text(json.dumps({"object_id": "urn:x:never-written", "pid": 1, "host": ""}), encoding="utf-8")
    assert _answer(own_home, home[1]) == expected
    assert not intent.exists()  # the node's recovery ended the dead writer's intent
    assert _answer(own_home, home[1]) == expected  # and the next command reads it lean again
    assert lean_ran == [True, False, True]


@pytest.mark.parametrize("module_db_factory", ["postgresql"], indirect=True)
def test_a_pending_write_intent_in_a_postgresql_catalog_opens_the_node(
    home: tuple[Path, str, str], lean_ran: list[bool]
) -> None:
    expected = _answer(home[0], home[1])
    with dead_write_intent(home[0]) as intents_left:
        assert _answer(home[0], home[1]) == expected
        assert intents_left() == 0  # the node's recovery ended the dead writer's intent
    assert _answer(home[0], home[1]) == expected  # and the next command reads it lean again
    assert lean_ran == [True, False, True]
