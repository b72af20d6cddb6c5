"""Object locks that reach every machine of a node: PostgreSQL advisory locks, for a node whose catalog is
PostgreSQL (the only kind that has workers on several machines).

The staging area's file locks (:class:`~strongroom.store.locks.ObjectLocks`) exclude the processes of one machine.
A node whose workers run on several machines over one bucket (or one shared root) needs the same three locks on
every machine, and the catalog's database is the one thing they all reach: so each lock is also taken there, as a
session-level advisory lock on a connection of its own, held for as long as the file lock is.

- **writing**: ``pg_try_advisory_lock`` on the object's *write* key; a second writer, on any machine, is told at once
  that the object is busy (as on one machine).
- **reading**: ``pg_advisory_lock_shared`` on the object's *read* key; readers share it.
- **publishing**: ``pg_try_advisory_lock`` on the *read* key, tried until the caller's deadline: the publish step
  waits for the readers of every machine.

The keys are 64-bit hashes computed by the server (``hashtextextended``) of the database, the catalog's schema, the
lock's kind and the object id, so two nodes whose catalogs are schemas of one database never lock each other out,
and every machine of one node computes the same key whatever address it reaches the server at (:func:`lock_key`; the
journal of writes in flight keys its own locks the same way). A lock dies with its connection: a machine that crashes
or is killed lets go of what it held, and nothing has to be cleaned up; one that stops answering without closing its
connections (power, network), about a minute later, as each lock's session sets the server's TCP keepalives.

If the connection is lost while a lock is held (the server restarts, the network fails, an administrator ends the
session), the lock is gone without the holder knowing, and another machine may take it. So before a writer publishes
(:meth:`PostgresObjectLocks.publishing`, entered by the thread that holds ``writing``), its write lock's own session
is asked whether it is still alive (``SELECT 1``; psycopg never reconnects silently, so a connection that answers
still holds its locks): if not, the publish step is refused with a :class:`~strongroom.errors.StorageError` before
it changes anything, and the store throws the staged version away (or leaves it to recovery) as for any failed
write. Only a connection lost during the brief publish step itself goes unnoticed; the file lock still excludes that
machine's own processes, and OCFL's write order keeps a version whole either way.

Must not import: the catalog, the search index, services, faces.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, LiteralString

from strongroom.errors import ObjectBusy, StorageError
from strongroom.settings import DATABASE_CONNECT_TIMEOUT

if TYPE_CHECKING:
    import psycopg


def lock_key(kind: LiteralString, object_id: LiteralString) -> LiteralString:
    """The SQL expression of the key of a lock of ``kind`` on ``object_id`` (both SQL: placeholders or columns),
    computed by the server so that every machine computes the same one."""
    return (
        "hashtextextended(current_database() || '/' || current_schema() || '/' || "
        + kind
        + " || '/' || "
        + object_id
        + ", 0)"
    )


_KEY = lock_key("%s", "%s")
_TRY: LiteralString = "SELECT pg_try_advisory_lock(" + _KEY + ")"
_SHARED: LiteralString = "SELECT pg_advisory_lock_shared(" + _KEY + ")"
WRITE, READ = "strongroom-write", "strongroom-read"
UNREACHABLE = "check that the catalog's PostgreSQL server is up and reachable from this machine"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# A machine that dies without closing its connections (power, network) leaves its sessions, and their locks, to the
# server's TCP keepalives: by default the operating system's, two hours and more. A lock's session asks for its own,
# so that the server ends it (and lets the locks go) about a minute after its machine stopped answering.
KEEPALIVES: LiteralString = (
    "SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3"
)


def connect(conninfo: str, connect_timeout: int) -> psycopg.Connection[tuple[object, ...]]:
    """A session of a lock's own, in autocommit (closing it lets its locks go), waiting ``connect_timeout`` seconds
    for the server unless the catalog's URL says how long (as the catalog's own connections do). Raises psycopg's
    errors."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    if "connect_timeout" not in conninfo_to_dict(conninfo):
        conninfo = make_conninfo(conninfo, connect_timeout=connect_timeout)
    conn = psycopg.connect(conninfo, autocommit=True)
    try:
        conn.execute(KEEPALIVES)
    except BaseException:
        conn.close()
        raise
    return conn


class PostgresObjectLocks:
    """The cross-machine half of :class:`~strongroom.store.locks.ObjectLocks` (see the module)."""

    def __init__(self, conninfo: str, connect_timeout: int = DATABASE_CONNECT_TIMEOUT, poll: float = 0.05) -> None:
        self.conninfo = conninfo
        self.connect_timeout = connect_timeout
        self.poll = poll
        # The session holding each object's write lock in this process (one writer per object: the file lock),
        # asked before publishing whether it still holds it.
        self._writers: dict[str, psycopg.Connection[tuple[object, ...]]] = {}
        self._mutex = threading.Lock()

    @contextlib.contextmanager
    def _session(self, object_id: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        """A connection of the lock's own (its session holds the lock; closing it lets the lock go)."""
        import psycopg

        try:
            conn = connect(self.conninfo, self.connect_timeout)
        except psycopg.Error as exc:
            raise StorageError(
                f"cannot lock object {object_id!r} for the node's other machines: the catalog's database did not "
                f"answer ({first_line(exc)})",
                hint=UNREACHABLE,
            ) from None
        try:
            yield conn
        finally:
            conn.close()  # a session's advisory locks end with it

    @staticmethod
    def _take(conn: psycopg.Connection[tuple[object, ...]], query: LiteralString, kind: str, object_id: str) -> bool:
        import psycopg

        try:
            row = conn.execute(query, (kind, object_id)).fetchone()
        except psycopg.OperationalError as exc:
            raise StorageError(
                f"cannot lock object {object_id!r} for the node's other machines: the catalog's database connection "
                f"dropped ({first_line(exc)}); nothing was changed",
                hint=f"{UNREACHABLE}, then try again",
            ) from None
        return bool(row[0]) if row else False

    @contextlib.contextmanager
    def writing(self, object_id: str) -> Iterator[None]:
        with self._session(object_id) as conn:
            if not self._take(conn, _TRY, WRITE, object_id):
                raise ObjectBusy(
                    f"object {object_id!r} is being written on another machine of this node",
                    hint="wait for the other write (a deposit, a harvest or a repair) to finish, then try again",
                )
            with self._mutex:
                self._writers[object_id] = conn
            try:
                yield
            finally:
                with self._mutex:
                    if self._writers.get(object_id) is conn:
                        del self._writers[object_id]

    def _still_writing(self, object_id: str) -> None:
        """Refuse to publish if this process's write lock on the object was lost with its connection (see the
        module); a publish step that no write of this process holds (none does now) has nothing to check."""
        import psycopg

        with self._mutex:
            conn = self._writers.get(object_id)
        if conn is None:
            return
        try:
            conn.execute("SELECT 1")
        except psycopg.Error as exc:
            raise StorageError(
                f"the write of object {object_id!r} lost its lock on the node's other machines (the catalog's database "
                f"connection dropped: {first_line(exc)}); nothing was published; try again",
                hint=f"{UNREACHABLE}; another machine may have written the object meanwhile, so the write starts over",
            ) from None

    @contextlib.contextmanager
    def reading(self, object_id: str) -> Iterator[None]:
        with self._session(object_id) as conn:
            self._take(conn, _SHARED, READ, object_id)  # waits for a publish step to end
            yield

    @contextlib.contextmanager
    def publishing(self, object_id: str, wait: float, timed_out: Callable[[], Exception]) -> Iterator[None]:
        deadline = time.monotonic() + wait
        with self._session(object_id) as conn:
            while not self._take(conn, _TRY, READ, object_id):
                if time.monotonic() > deadline:
                    raise timed_out()
                time.sleep(self.poll)
            self._still_writing(object_id)  # last, after waiting for readers: the connection may drop meanwhile
            yield
