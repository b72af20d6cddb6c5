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
and every machine of one node computes the same key whatever address it reaches the server at. A lock dies with its
connection: a machine that crashes or is killed lets go of what it held, and nothing has to be cleaned up. If the
connection is lost while a lock is held (the server restarts), the lock is gone without the holder knowing; the
file lock still excludes that machine's own processes, and OCFL's write order keeps a version whole either way.

Must not import: the catalog, the search index, services, faces.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, LiteralString

from strongroom.errors import ObjectBusy, StorageError

if TYPE_CHECKING:
    import psycopg

# The key of an object's lock of one kind, computed by the server so that every machine computes the same one.
_KEY = "hashtextextended(current_database() || '/' || current_schema() || '/' || %s || '/' || %s, 0)"
_TRY: LiteralString = "SELECT pg_try_advisory_lock(" + _KEY + ")"
_SHARED: LiteralString = "SELECT pg_advisory_lock_shared(" + _KEY + ")"
WRITE, READ = "strongroom-write", "strongroom-read"


class PostgresObjectLocks:
    """The cross-machine half of :class:`~strongroom.store.locks.ObjectLocks` (see the module)."""

    def __init__(self, conninfo: str, connect_timeout: int = 10, poll: float = 0.05) -> None:
        self.conninfo = conninfo
        self.connect_timeout = connect_timeout
        self.poll = poll

    @contextlib.contextmanager
    def _session(self, object_id: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        """A connection of the lock's own (its session holds the lock; closing it lets the lock go)."""
        import psycopg

        try:
            conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=self.connect_timeout)
        except psycopg.Error as exc:
            raise StorageError(
                f"cannot lock object {object_id!r} for the node's other machines: the catalog's database did not "
                f"answer ({str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__})",
                hint="check that the catalog's PostgreSQL server is up and reachable from this machine",
            ) from None
        try:
            yield conn
        finally:
            conn.close()  # a session's advisory locks end with it

    @staticmethod
    def _take(conn: psycopg.Connection[tuple[object, ...]], query: LiteralString, kind: str, object_id: str) -> bool:
        row = conn.execute(query, (kind, object_id)).fetchone()
        return bool(row[0]) if row else False

    @contextlib.contextmanager
    def writing(self, object_id: str) -> Iterator[None]:
        with self._session(object_id) as conn:
            if not self._take(conn, _TRY, WRITE, object_id):
                raise ObjectBusy(
                    f"object {object_id!r} is being written on another machine of this node",
                    hint="wait for the other write (a deposit, a harvest or a repair) to finish, then try again",
                )
            yield

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
            yield
