"""The journal of writes in flight of a node whose catalog is PostgreSQL is kept in the catalog, where every machine
of the node sees it (issue: a worker machine that died for good between storing a version and cataloguing it).

Two "machines" here are two homes (settings, keys, staging area and journal directory of their own) over one
PostgreSQL catalog and one storage root, as workers on two machines are. Machine A's writer is a real process: it is
SIGKILLed after the store committed its version and before the catalog knew it, or held there while alive. Machine
B's start-up recovery, and separately its audit, must catalogue the dead writer's version, and must neither end nor
catalogue (nor report as A009) the live writer's object."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from strongroom.catalog.db import make_engine, migrate
from strongroom.errors import StorageError
from strongroom.node import Node
from strongroom.services.journal_postgres import PostgresJournal
from strongroom.settings import libpq_conninfo, load_settings, write_settings

on_postgresql = pytest.mark.parametrize("db_factory", ["postgresql"], indirect=True)
OID = "strongroom:au/issn:2536-0035/2024"

# A's writer: deposits ``argv[2]``; once the store has committed the version, it dies (``kill``) or says so and waits
# for ``argv[4]`` to exist before cataloguing (``hold``).
WRITER = """
import os, signal, sys, time
from pathlib import Path
import strongroom.services.indexer as indexer
real = indexer.Indexer.index
def committed(self, object_id, **kw):
    if sys.argv[3] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    Path(sys.argv[4] + ".committed").write_text(object_id)
    while not Path(sys.argv[4]).exists():
        time.sleep(0.05)
    return real(self, object_id, **kw)
indexer.Indexer.index = committed
from strongroom.node import Node
with Node.open(Path(sys.argv[1])) as node:
    node.ingest.deposit(Path(sys.argv[2]))
"""


@pytest.fixture
def machines(tmp_path: Path, db_url: str) -> tuple[Path, Path]:
    """Two homes of one node: B's settings are A's but for the home, with A's storage root (a shared file system)."""
    a, b = tmp_path / "a", tmp_path / "b"
    Node.create(a, database_url=db_url).close()
    settings = load_settings(a)
    b.mkdir()
    shutil.copytree(a / "keys", b / "keys")
    write_settings(dataclasses.replace(settings, home=b, storage_root=settings.resolved_storage_root()))
    return a, b


def _bag(sample_dir: Path) -> Path:
    return sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))[0]


def _write_on(home: Path, package: Path, mode: str, go: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(home), str(package), mode, str(go)])


def _until_not_in_flight(node: Node) -> None:
    """The server lets go of a killed process's locks once it notices the closed connection (at most 10 s)."""
    for _ in range(200):
        if not node.journal.in_flight():
            return
        time.sleep(0.05)
    pytest.fail("a killed writer's intent is still held")


def _killed_after_storing(a: Path, sample_dir: Path, tmp_path: Path) -> None:
    writer = _write_on(a, _bag(sample_dir), "kill", tmp_path / "go")
    assert writer.wait(timeout=120) == -9


@on_postgresql
def test_another_machine_recovers_the_version_of_a_writer_that_died(
    machines: tuple[Path, Path], sample_dir: Path, tmp_path: Path
) -> None:
    a, b = machines
    _killed_after_storing(a, sample_dir, tmp_path)  # machine A is never started again
    with Node.open(b, recover=False) as node:
        [object_id] = node.store.iter_object_ids()
        assert node.catalog.aus() == []  # stored, not catalogued
        _until_not_in_flight(node)
        actions = node.recover()
        assert any("after an interrupted write" in action for action in actions), actions
        [(au, items, *_)] = node.catalog.aus()
        assert au.object_id == object_id and au.head_version == 1 and items > 0
        assert node.journal.pending() == []  # ended
        assert node.audits.audit().intact


@on_postgresql
def test_another_machines_audit_recovers_the_version_of_a_writer_that_died(
    machines: tuple[Path, Path], sample_dir: Path, tmp_path: Path
) -> None:
    a, b = machines
    _killed_after_storing(a, sample_dir, tmp_path)
    with Node.open(b, recover=False) as node:
        _until_not_in_flight(node)
        report = node.audits.audit()
        assert report.intact, [f for au in report.aus for f in au.findings]  # recovered, not a finding (A009)
        [(au, *_)] = node.catalog.aus()
        assert au.head_version == 1 and [audited.au_key for audited in report.aus] == [au.key]
        assert node.journal.pending() == []


@on_postgresql
def test_a_live_write_on_one_machine_is_left_alone_by_another(
    machines: tuple[Path, Path], sample_dir: Path, tmp_path: Path
) -> None:
    a, b = machines
    go = tmp_path / "go"
    writer = _write_on(a, _bag(sample_dir), "hold", go)
    try:
        deadline = time.monotonic() + 120
        while not go.with_suffix(".committed").exists():
            assert writer.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        object_id = go.with_suffix(".committed").read_text()
        with Node.open(b) as node:  # start-up recovery on machine B
            assert node.catalog.aus() == []  # not catalogued by B's recovery
            report = node.audits.audit()
            assert report.intact and report.aus == []  # in flight on machine A: not a finding (no A009)
            assert node.catalog.aus() == [] and node.journal.pending() == [object_id]  # nor ended
            assert node.journal.in_flight() == {object_id}
        go.touch()
        assert writer.wait(timeout=120) == 0
    finally:
        go.touch()
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    with Node.open(b) as node:
        [(au, *_)] = node.catalog.aus()
        assert au.object_id == object_id and node.journal.pending() == []


@pytest.fixture
def journal(db_url: str) -> Iterator[PostgresJournal]:
    engine = make_engine(db_url)
    migrate(engine)
    yield PostgresJournal(libpq_conninfo(db_url), engine)
    engine.dispose()


@on_postgresql
def test_an_intent_is_durable_before_the_body_runs_and_ends_with_it(journal: PostgresJournal) -> None:
    with journal.intent(OID, kind="release"):
        with journal.engine.connect() as conn:  # committed: another session sees it
            row = conn.execute(sa.text("SELECT object_id, kind, pid FROM write_intents")).one()
        assert row.object_id == OID and row.kind == "release" and row.pid > 0
        assert journal.in_flight() == {OID}
        with journal.orphans() as orphans:
            assert orphans == []  # its writer is alive
    assert journal.pending() == [] and journal.in_flight() == set()


@on_postgresql
def test_a_failed_write_leaves_its_intent_to_recovery_which_holds_it(journal: PostgresJournal) -> None:
    with pytest.raises(RuntimeError), journal.intent(OID):
        raise RuntimeError("the write failed")
    assert journal.pending() == [OID] and journal.in_flight() == set()
    seen_by_another: list[set[str]] = []
    with journal.orphans() as orphans:
        [intent] = orphans
        assert intent.object_id == OID and intent.kind == "write"
        # held for this recovery until its block ends: another process sees it taken, and cannot take it too
        other = threading.Thread(target=lambda: seen_by_another.append(journal.in_flight()))
        other.start()
        other.join(30)
        assert seen_by_another == [{OID}]
        journal.end(intent)
    assert journal.pending() == []


def test_an_unreachable_catalog_is_named_and_the_write_never_runs() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2"
    journal = PostgresJournal(libpq_conninfo(url), make_engine(url), connect_timeout=2)
    with pytest.raises(StorageError, match="did not answer") as failed, journal.intent(OID):
        pytest.fail("wrote without an intent")
    assert "nothing was written" in str(failed.value) and "PostgreSQL" in (failed.value.hint or "")
    with pytest.raises(StorageError, match="journal of writes in flight"):
        journal.in_flight()
    journal.engine.dispose()


# A's writer as the code before revision 0021 ran it on a PostgreSQL node: its intent in a file of its home.
BEFORE_THE_UPGRADE = WRITER.replace(
    "from strongroom.node import Node\n",
    "from strongroom.node import Node\n"
    "from functools import cached_property\n"
    "from strongroom.services.journal import FileJournal\n"
    "Node.journal = cached_property(lambda self: FileJournal(self.settings.home / 'journal'))\n"
    "Node.journal.__set_name__(Node, 'journal')\n",
)


@on_postgresql
def test_a_write_cut_short_before_the_journal_moved_to_the_catalog_is_still_recovered(
    machines: tuple[Path, Path], sample_dir: Path, tmp_path: Path
) -> None:
    a, _ = machines
    writer = subprocess.Popen([sys.executable, "-c", BEFORE_THE_UPGRADE, str(a), str(_bag(sample_dir)), "kill", "-"])
    assert writer.wait(timeout=120) == -9
    assert list((a / "journal").glob("*.json"))  # the intent the upgraded node must still honour
    with Node.open(a) as node:  # start-up recovery on the same machine, upgraded
        [(au, items, *_)] = node.catalog.aus()
        assert au.head_version == 1 and items > 0
        assert node.journal.pending() == []
    assert not list((a / "journal").glob("*.json"))
