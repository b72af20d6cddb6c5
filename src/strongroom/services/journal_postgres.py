"""The journal of writes in flight kept in the catalog, for a node whose catalog is PostgreSQL: its workers may run
on several machines, each with a home of its own, and an intent kept in one machine's home (the file journal,
:mod:`strongroom.services.journal`) is seen by no other. A machine that died for good after its store committed a
version and before the catalog knew it would leave that version uncatalogued, and an audit on another machine could
not tell that machine's live writes from objects the catalog lacks.

Here an intent is a row of ``write_intents`` (token, object, kind, host, pid, time), inserted and committed before the
store is touched. Its writer holds a session-level advisory lock keyed by the token (keyed as the object locks are,
:func:`strongroom.store.pglocks.lock_key`: database, schema, kind, token) on a connection of its own for as long as
the write runs; on success the row is deleted, then the connection closed. A failed write leaves its row, and its
lock goes with the connection, as with a killed writer or a machine that died: an intent whose lock can be taken
belongs to a dead writer, on *any* machine, and recovery (start-up's or the audit's) on any machine catalogues what
the store committed and ends it. An intent whose lock is held is a live write, wherever it runs: never ended, and
its object is not a finding. Reading the journal (recovery at every start, the audit) uses the catalog's own pool
and transaction-level locks, so a node whose journal is empty pays one query and no extra connection.

Must not import: the catalog's ORM, other services, faces.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, LiteralString, TypeVar

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import InterfaceError, OperationalError

from strongroom.errors import StorageError
from strongroom.services.journal import Intent
from strongroom.settings import DATABASE_CONNECT_TIMEOUT
from strongroom.store.pglocks import UNREACHABLE, connect, first_line, lock_key

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")

INTENT = "strongroom-intent"  # the kind of the intents' advisory locks (the object locks' are strongroom-write/read)
_TAKE: LiteralString = "SELECT pg_try_advisory_lock(" + lock_key("%s", "%s") + ")"
_INSERT: LiteralString = (
    "INSERT INTO write_intents (token, object_id, kind, host, pid, created_at) VALUES (%s, %s, %s, %s, %s, now())"
)
_DELETE: LiteralString = "DELETE FROM write_intents WHERE token = %s"
_ROW_KEY = lock_key(":lock_kind", "token")  # the key of each row's lock, computed from its token column
# Rows whose writer is gone: their lock is free, and is taken here until the reader's transaction ends.
_DEAD = text(
    "SELECT token, object_id, pid, host, kind FROM write_intents "  # noqa: S608 - _ROW_KEY is a constant
    "WHERE pg_try_advisory_xact_lock(" + _ROW_KEY + ") ORDER BY created_at, token"
)
# Rows whose writer is alive: another session holds their lock (a shared try is refused), here or on any machine.
_LIVE = text(
    "SELECT DISTINCT object_id FROM write_intents "  # noqa: S608 - _ROW_KEY is a constant
    "WHERE NOT pg_try_advisory_xact_lock_shared(" + _ROW_KEY + ")"
)
_STILL_THERE = text("SELECT token FROM write_intents WHERE token = ANY(:tokens)")
_ALL = text("SELECT DISTINCT object_id FROM write_intents ORDER BY object_id")
_END = text("DELETE FROM write_intents WHERE token = :token")

_LOST = (OperationalError, InterfaceError)  # the server is down or unreachable, or the connection dropped


class PostgresJournal:
    """Intents of writes in flight as rows of the catalog's ``write_intents``, each held by an advisory lock (see
    the module). ``engine`` is the catalog's (for reading the journal); ``conninfo`` its libpq connection string
    (for the writers' own connections)."""

    def __init__(self, conninfo: str, engine: Engine, connect_timeout: int = DATABASE_CONNECT_TIMEOUT) -> None:
        self.conninfo = conninfo
        self.engine = engine
        self.connect_timeout = connect_timeout
        self.host = socket.gethostname()

    @staticmethod
    def _unreachable(doing: str, exc: BaseException, kept: str = "") -> StorageError:
        reason = first_line(getattr(exc, "orig", None) or exc)  # (SQLAlchemy's error wraps the driver's)
        return StorageError(
            f"cannot {doing}: the catalog's database did not answer or the connection dropped ({reason})"
            + (f"; {kept}" if kept else ""),
            hint=f"{UNREACHABLE}, then try again",
        )

    @contextlib.contextmanager
    def intent(self, object_id: str, kind: str = "write") -> Iterator[None]:
        """Hold an intent for ``object_id`` while the body writes it. On success the intent ends; if the body fails,
        the intent stays (its lock goes with the connection), and recovery on any machine catalogues whatever the
        store committed (or, for a ``release``, takes out of the catalog what the store removed)."""
        import psycopg

        doing = f"record the intent to write object {object_id!r} in the catalog's journal of writes in flight"
        try:
            conn = connect(self.conninfo, self.connect_timeout)  # with the server's keepalives (pglocks)
        except psycopg.Error as exc:
            raise self._unreachable(doing, exc, "nothing was written") from None
        try:
            try:
                token = self._locked_token(conn)  # locked before the row exists: no one sees it unheld
                conn.execute(_INSERT, (token, object_id, kind, self.host, os.getpid()))  # committed (autocommit)
            except psycopg.OperationalError as exc:
                raise self._unreachable(doing, exc, "nothing was written") from None
            yield
            try:
                conn.execute(_DELETE, (token,))
            except psycopg.OperationalError:
                # The write succeeded but the connection dropped meanwhile (its lock with it): end the intent on
                # another connection; failing that, recovery finds the object catalogued and ends it.
                with contextlib.suppress(StorageError):
                    self._end(token)
        finally:
            conn.close()

    @staticmethod
    def _locked_token(conn: psycopg.Connection[tuple[object, ...]]) -> str:
        while True:  # a fresh token's lock is free but for a 64-bit hash collision with a held one: then another
            token = secrets.token_hex(8)
            row = conn.execute(_TAKE, (INTENT, token)).fetchone()
            if row and row[0]:
                return token

    def _read(self, doing: str, read: Callable[[Connection], T]) -> T:
        """``read`` on a connection of the catalog's pool, in a transaction that ends (letting go of the
        transaction-level locks it took) when it returns."""
        try:
            with self.engine.connect() as conn:
                return read(conn)
        except _LOST as exc:
            raise self._unreachable(doing, exc) from None

    @contextlib.contextmanager
    def orphans(self) -> Iterator[list[Intent]]:
        """The intents of writers that died, on any machine, each locked for the caller until the block ends; the
        caller ends each with :meth:`end` once its object is catalogued."""
        doing = "read the journal of writes in flight from the catalog"
        try:
            conn = self.engine.connect()
        except _LOST as exc:
            raise self._unreachable(doing, exc) from None
        try:
            rows = conn.execute(_DEAD, {"lock_kind": INTENT}).all()
            if rows:  # a writer that ended its intent just before its lock was free is not an orphan
                there = set(conn.execute(_STILL_THERE, {"tokens": [r.token for r in rows]}).scalars())
                rows = [r for r in rows if r.token in there]
        except _LOST as exc:
            with contextlib.suppress(*_LOST):
                conn.close()
            raise self._unreachable(doing, exc) from None
        except BaseException:
            conn.close()
            raise
        try:
            yield [Intent(r.token, r.object_id, r.pid, r.host, r.kind) for r in rows]
        finally:
            with contextlib.suppress(*_LOST):
                conn.close()  # the transaction ends: its locks are let go

    def in_flight(self) -> set[str]:
        """Objects a live process is writing now, on any machine (its intent is locked): not yet catalogued, and not
        an error."""
        return self._read(
            "read the journal of writes in flight from the catalog",
            lambda conn: set(conn.execute(_LIVE, {"lock_kind": INTENT}).scalars()),
        )

    def end(self, intent: Intent) -> None:
        self._end(intent.token)

    def _end(self, token: str) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(_END, {"token": token})
        except _LOST as exc:
            raise self._unreachable("end an intent in the catalog's journal of writes in flight", exc) from None

    def pending(self) -> list[str]:
        """The objects of every intent now in the journal (live or not)."""
        return self._read(
            "read the journal of writes in flight from the catalog", lambda conn: list(conn.execute(_ALL).scalars())
        )
