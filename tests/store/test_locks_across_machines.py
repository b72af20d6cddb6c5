"""Object locks that reach a node's other machines (issue 16: work on many machines, storage beyond one disk).

Two "machines" here are two lock sets (or two stores over one bucket or one shared root) with staging areas of their
own, so that their file locks cannot see each other, sharing one PostgreSQL catalog: the advisory locks taken in
the catalog's database (``strongroom.store.pglocks``) must exclude them as the file locks exclude one machine's
processes. A killed machine's locks must die with it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from store_support import OID, S3Server, read, staged

from strongroom.errors import ObjectBusy
from strongroom.node import Node
from strongroom.settings import libpq_conninfo
from strongroom.store import pglocks
from strongroom.store.locks import ObjectLocks
from strongroom.store.ocfl import OcflStore
from strongroom.store.pglocks import PostgresObjectLocks
from strongroom.store.s3 import S3Store

on_postgresql = pytest.mark.parametrize("db_factory", ["postgresql"], indirect=True)


@pytest.fixture
def conninfo(db_factory: Callable[[], str]) -> str:
    return libpq_conninfo(db_factory())


def machine(tmp_path: Path, name: str, conninfo: str, publish_wait: float = 600.0) -> ObjectLocks:
    return ObjectLocks(tmp_path / name / "staging", publish_wait, across=PostgresObjectLocks(conninfo))


def waiting_for_an_advisory_lock(conninfo: str) -> bool:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()
    return bool(row and row[0])


def test_file_locks_alone_do_not_reach_another_machine(tmp_path: Path) -> None:
    # what the PostgreSQL locks are for: two staging areas' file locks never see each other
    a, b = ObjectLocks(tmp_path / "a"), ObjectLocks(tmp_path / "b")
    with a.writing(OID), b.writing(OID):
        pass


@on_postgresql
def test_a_second_machine_is_told_at_once_that_the_object_is_being_written(tmp_path: Path, conninfo: str) -> None:
    a, b = machine(tmp_path, "a", conninfo), machine(tmp_path, "b", conninfo)
    with a.writing(OID):
        with pytest.raises(ObjectBusy, match="another machine") as busy, b.writing(OID):
            pytest.fail("two machines wrote one object at once")
        assert "try again" in (busy.value.hint or "")
        with b.writing("strongroom:au/other"):  # another object is not locked
            pass
    with b.writing(OID):  # let go: the other machine may write now
        pass


@on_postgresql
def test_publishing_on_one_machine_waits_for_the_readers_of_another(tmp_path: Path, conninfo: str) -> None:
    a, b = machine(tmp_path, "a", conninfo), machine(tmp_path, "b", conninfo, publish_wait=0.3)
    with a.reading(OID), b.reading(OID):  # readers of both machines share the object
        pass
    with a.reading(OID), pytest.raises(ObjectBusy, match="has been read"), b.publishing(OID):
        pytest.fail("published while another machine's audit held the object")
    with b.publishing(OID):
        pass


@on_postgresql
def test_a_reader_on_another_machine_waits_for_the_publish_step(tmp_path: Path, conninfo: str) -> None:
    a, b = machine(tmp_path, "a", conninfo), machine(tmp_path, "b", conninfo)
    order: list[str] = []

    def read() -> None:
        with b.reading(OID):
            order.append("b read")

    with a.publishing(OID):
        reader = threading.Thread(target=read)
        reader.start()
        for _ in range(400):  # until b's session is queued behind a's lock in the server (at most 20 s)
            if waiting_for_an_advisory_lock(conninfo):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the reader on the other machine never waited for the lock")
        order.append("a published")
    reader.join(timeout=30)
    assert order == ["a published", "b read"]


@on_postgresql
def test_two_nodes_whose_catalogs_share_a_database_do_not_lock_each_other(
    tmp_path: Path, db_factory: Callable[[], str]
) -> None:
    one, other = libpq_conninfo(db_factory()), libpq_conninfo(db_factory())  # two schemas of one database
    with machine(tmp_path, "a", one).writing(OID), machine(tmp_path, "b", other).writing(OID):
        pass


@on_postgresql
def test_a_killed_machine_lets_go_of_what_it_held(tmp_path: Path, conninfo: str) -> None:
    holder = (
        "import sys, time\n"
        "from strongroom.store.pglocks import PostgresObjectLocks\n"
        "with PostgresObjectLocks(sys.argv[1]).writing(sys.argv[2]):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", holder, conninfo, OID], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        b = machine(tmp_path, "b", conninfo)
        with pytest.raises(ObjectBusy), b.writing(OID):
            pytest.fail("the lock of a live machine was taken")
    finally:
        proc.kill()
        proc.wait()
    for _ in range(200):  # the server notices the closed connection (at most 10 s)
        try:
            with b.writing(OID):
                return
        except ObjectBusy:
            time.sleep(0.05)
    pytest.fail("a killed machine's lock was never let go")


def test_an_unreachable_catalog_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    locks = machine(tmp_path, "a", "host=127.0.0.1 port=1 dbname=test user=postgres connect_timeout=2")
    with pytest.raises(Exception, match="catalog's database did not answer") as failed, locks.writing(OID):
        pytest.fail("wrote without the lock")
    assert "PostgreSQL" in (getattr(failed.value, "hint", "") or "")


@on_postgresql
@pytest.mark.parametrize("backend", ["ocfl-local", "ocfl-s3"])
def test_two_machines_committing_one_object_keep_one_whole_version(
    tmp_path: Path, conninfo: str, backend: str, request: pytest.FixtureRequest
) -> None:
    """Machine A is between staging and publishing its version when machine B commits the same object: B is told it
    is busy, and A's version lands whole; B's commit, retried, becomes the next version."""
    if backend == "ocfl-local":  # one root both machines mount (a shared file system)
        first: OcflStore | S3Store = OcflStore.create(tmp_path / "root", tmp_path / "a-staging")
        second: OcflStore | S3Store = OcflStore.open(tmp_path / "root", tmp_path / "b-staging")
    else:
        server: S3Server = request.getfixturevalue("s3_server")
        bucket = server.bucket()
        first = S3Store.create(server.client(), bucket, "node", tmp_path / "a-staging")
        second = S3Store.open(server.client(), bucket, "node", tmp_path / "b-staging")
    for store in (first, second):
        store.locks.across = PostgresObjectLocks(conninfo)
    staged_a = staged(tmp_path / "a", {"article.xml": b"<a>from A</a>"})
    staged_b = staged(tmp_path / "b", {"article.xml": b"<a>from B</a>"})
    paused, go_on = threading.Event(), threading.Event()

    def pause(step: str) -> None:
        if step in ("version-staged", "content-uploaded"):  # staged, not yet published (disk; S3)
            paused.set()
            go_on.wait(30)

    first.fault = pause
    committed: list[int] = []
    writer = threading.Thread(
        target=lambda: committed.append(first.commit_version(OID, staged_a, message="A", user_name="a").version)
    )
    writer.start()
    try:
        assert paused.wait(30), "machine A never staged its version"
        with pytest.raises(ObjectBusy, match="another machine"):
            second.commit_version(OID, staged_b, message="B", user_name="b")
    finally:
        go_on.set()
        writer.join(30)
    assert committed == [1]
    assert read(second, "article.xml") == b"<a>from A</a>"
    assert second.commit_version(OID, staged_b, message="B", user_name="b").version == 2
    assert read(first, "article.xml", 1) == b"<a>from A</a>" and read(first, "article.xml") == b"<a>from B</a>"


@on_postgresql
def test_a_node_on_postgresql_locks_across_machines_and_one_on_sqlite_does_not(
    tmp_path: Path, db_factory: Callable[[], str]
) -> None:
    on_postgresql = Node.create(tmp_path / "pg", database_url=db_factory())
    on_sqlite = Node.create(tmp_path / "sqlite")
    try:
        pg_locks, sqlite_locks = on_postgresql.store.locks, on_sqlite.store.locks  # type: ignore[attr-defined]
        assert isinstance(pg_locks.across, PostgresObjectLocks) and sqlite_locks.across is None
        other_machine = machine(tmp_path, "other", pg_locks.across.conninfo)
        with pg_locks.writing(OID), pytest.raises(ObjectBusy, match="another machine"), other_machine.writing(OID):
            pytest.fail("the node's write did not exclude its other machines")
    finally:
        on_postgresql.close()
        on_sqlite.close()


@on_postgresql
def test_the_locks_own_connections_wait_as_long_as_the_catalogs_url_says(conninfo: str) -> None:
    """The locks' (and the write journal's) sessions wait for the server as the catalog's own connections do: the
    URL's ``connect_timeout`` when it gives one, ten seconds otherwise (it used to be ten seconds whatever the URL
    said)."""
    joiner = "&" if "?" in conninfo else "?"
    with pglocks.connect(f"{conninfo}{joiner}connect_timeout=3", 10) as told:
        assert "connect_timeout=3" in told.info.dsn.split()
    with pglocks.connect(conninfo, 10) as untold:
        assert "connect_timeout=10" in untold.info.dsn.split()
