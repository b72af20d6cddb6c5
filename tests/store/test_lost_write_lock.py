"""A write whose lock on the node's other machines is lost mid-write (its database session ends: the server restarts,
the network fails, an administrator ends it) must not publish: another machine may hold the lock by then. The
session is ended for real (``pg_terminate_backend`` from another connection) while the version is staged; the
publish step is refused with an error that names the object, nothing of the version is visible, and the write,
tried again, goes through. On both backends, and through a node (storage and catalog stay in step)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from store_support import OID, S3Server, commit, read

from strongroom.errors import StorageError
from strongroom.node import Node
from strongroom.settings import libpq_conninfo
from strongroom.store.fixity import FileStatus, audit_object
from strongroom.store.ocfl import OcflStore
from strongroom.store.pglocks import WRITE, PostgresObjectLocks, connect, lock_key
from strongroom.store.s3 import S3Store

on_postgresql = pytest.mark.parametrize("db_factory", ["postgresql"], indirect=True)
STAGED = ("version-staged", "content-uploaded")  # the version is staged, not yet published (disk; S3)


def end_the_writers_session(conninfo: str, object_id: str) -> None:
    """Terminate the server session that holds the object's write lock, as a server restart would."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute("SELECT " + lock_key("%s", "%s"), (WRITE, object_id)).fetchone()
        assert row is not None
        holders = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
            "AND ((classid::bigint << 32) | objid::bigint) = %s",
            (row[0],),
        ).fetchall()
        assert len(holders) == 1, "exactly one session holds the object's write lock"
        ended = conn.execute("SELECT pg_terminate_backend(%s, 10000)", (holders[0][0],)).fetchone()
        assert ended is not None and ended[0] is True


def ending_the_session_when_staged(conninfo: str, object_id: str = OID) -> Callable[[str], None]:
    def fault(step: str) -> None:
        if step in STAGED:
            end_the_writers_session(conninfo, object_id)

    return fault


@on_postgresql
@pytest.mark.parametrize("backend", ["ocfl-local", "ocfl-s3"])
def test_a_write_whose_lock_was_lost_publishes_nothing_and_a_retry_succeeds(
    tmp_path: Path, db_factory: Callable[[], str], backend: str, request: pytest.FixtureRequest
) -> None:
    conninfo = libpq_conninfo(db_factory())
    if backend == "ocfl-local":
        store: OcflStore | S3Store = OcflStore.create(tmp_path / "root", tmp_path / "staging")
    else:
        server: S3Server = request.getfixturevalue("s3_server")
        store = S3Store.create(server.client(), server.bucket(), "node", tmp_path / "staging")
    store.locks.across = PostgresObjectLocks(conninfo)
    assert commit(store, tmp_path / "v1", {"article.xml": b"<a>one</a>"}) == 1

    store.fault = ending_the_session_when_staged(conninfo)
    with pytest.raises(StorageError, match="lost its lock") as lost:
        commit(store, tmp_path / "v2", {"article.xml": b"<a>two</a>", "new.pdf": b"%PDF"})
    message = str(lost.value)
    assert OID in message and "database connection dropped" in message and "nothing was published" in message
    assert "try again" in message and "PostgreSQL" in (lost.value.hint or "")
    assert store.head_version(OID) == 1 and read(store, "article.xml") == b"<a>one</a>"  # nothing published

    store.fault = lambda step: None
    assert commit(store, tmp_path / "v2", {"article.xml": b"<a>two</a>", "new.pdf": b"%PDF"}) == 2
    assert read(store, "article.xml") == b"<a>two</a>" and read(store, "article.xml", 1) == b"<a>one</a>"
    assert {c.status for c in audit_object(store, OID).checks} == {FileStatus.OK}  # and nothing left over


@on_postgresql
def test_a_deposit_whose_lock_was_lost_leaves_storage_and_catalog_in_step(
    tmp_path: Path, db_url: str, sample_dir: Path
) -> None:
    bag = sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))[0]
    node = Node.create(tmp_path / "home", database_url=db_url)
    try:
        conninfo = node.settings.postgres_conninfo()
        assert conninfo is not None
        ended: list[str] = []

        def fault(step: str) -> None:
            if step in STAGED:
                [object_id] = {p.read_text() for p in node.settings.resolved_staging().glob("commit-*/object-id")}
                end_the_writers_session(conninfo, object_id)
                ended.append(object_id)

        node.store.fault = fault  # type: ignore[attr-defined]
        with pytest.raises(StorageError, match=r"lost its lock.*nothing was published"):
            node.ingest.deposit(bag)
        assert ended and list(node.store.iter_object_ids()) == [] and node.catalog.aus() == []
        node.recover()  # the failed write's intent: its object was never stored, so it is simply ended
        assert node.journal.pending() == []
        assert node.audits.audit().intact

        node.store.fault = lambda step: None  # type: ignore[attr-defined]
        assert node.ingest.deposit(bag).version == 1
        [(au, *_)] = node.catalog.aus()
        assert au.object_id == ended[0] and node.store.head_version(au.object_id) == 1
        assert node.audits.audit().intact
    finally:
        node.close()


@on_postgresql
def test_a_locks_session_has_the_server_notice_a_silent_machine_within_a_minute(db_factory: Callable[[], str]) -> None:
    # a machine that dies without closing its connections would otherwise hold its locks for the operating system's
    # keepalive time (two hours and more): its journal intents and object locks with them
    with connect(libpq_conninfo(db_factory()), 5) as conn:
        over_tcp = not conn.info.host.startswith("/")  # (on a Unix socket, which has none, the server says 0)
        idle, interval, count = (
            conn.execute(query).fetchone()
            for query in ("SHOW tcp_keepalives_idle", "SHOW tcp_keepalives_interval", "SHOW tcp_keepalives_count")
        )
    assert (idle, interval, count) == ((("30",), ("10",), ("3",)) if over_tcp else (("0",), ("0",), ("0",)))
