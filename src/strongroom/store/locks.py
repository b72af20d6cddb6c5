"""Per-object locks in the node's staging area, for stores with nothing to lock themselves (an object store has
no rename and no lock): one writer per object (``writing``), readers that hold the object still (``reading``),
and the brief publish step that waits for those readers (``publishing``). :class:`Held` keeps what a store read of an
object while it is held still, so that it is checked once per hold and not once per file read.

They are ``flock`` locks on files in ``staging/locks/`` (both backends use them), which serialise the processes of
one machine; a node whose catalog is PostgreSQL takes each of them in the catalog's database as well
(``across``: :class:`~strongroom.store.pglocks.PostgresObjectLocks`), so that its workers on other machines are
excluded too. Two nodes must never write one storage root.

Must not import: the catalog, the search index, services, faces.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from strongroom.errors import ObjectBusy
from strongroom.filelocks import exclusive
from strongroom.store.paths import object_hash

T = TypeVar("T")


class Across(Protocol):
    """The same three locks taken where every machine of the node sees them (the catalog's database)."""

    def writing(self, object_id: str) -> contextlib.AbstractContextManager[None]: ...

    def reading(self, object_id: str) -> contextlib.AbstractContextManager[None]: ...

    def publishing(
        self, object_id: str, wait: float, timed_out: Callable[[], Exception]
    ) -> contextlib.AbstractContextManager[None]: ...


class ObjectLocks:
    def __init__(self, staging: Path, publish_wait: float = 600.0, across: Across | None = None) -> None:
        self.staging = staging
        self.publish_wait = publish_wait  # seconds a writer waits for readers of the object before it gives up
        self.across = across  # taken after this machine's own lock, always in that order

    def _file(self, object_id: str, kind: str) -> Path:
        locks = self.staging / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        return locks / f"{object_hash(object_id)}.{kind}"

    @contextlib.contextmanager
    def writing(self, object_id: str) -> Iterator[None]:
        """The one writer of the object; a second one is told it is busy at once."""
        with self._file(object_id, "lock").open("a") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ObjectBusy(
                    f"object {object_id!r} is being written by another process",
                    hint="wait for the other deposit to finish, then try again",
                ) from None
            try:
                with self.across.writing(object_id) if self.across else contextlib.nullcontext():
                    yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    @contextlib.contextmanager
    def reading(self, object_id: str, held: Held[Any] | None = None) -> Iterator[None]:
        """Hold the object still; ``held`` (the store's) keeps what is read of it for as long as the lock is on."""
        with self._file(object_id, "read").open("a") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH)
            try:
                with (
                    self.across.reading(object_id) if self.across else contextlib.nullcontext(),
                    held.holding(object_id) if held is not None else contextlib.nullcontext(),
                ):
                    yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    @contextlib.contextmanager
    def publishing(self, object_id: str) -> Iterator[None]:
        """The step that changes what readers see; it waits for readers to finish (``publish_wait`` s)."""

        def timed_out() -> ObjectBusy:
            return ObjectBusy(
                f"object {object_id!r} has been read (audited, exported or voted on) for {self.publish_wait:.0f} s; "
                "nothing was changed",
                hint="try again when the audit or export of this AU has finished",
            )

        deadline = time.monotonic() + self.publish_wait
        with self._file(object_id, "read").open("a") as fh, exclusive(fh, self.publish_wait, timed_out, poll=0.05):
            if self.across is None:
                yield
                return
            with self.across.publishing(object_id, max(0.0, deadline - time.monotonic()), timed_out):
                yield


class Held(Generic[T]):
    """What a store read of an object (its checked root inventory) while a reader of this process holds the object
    still: no write can publish a change to it until the last reader lets go, so while one holds it the store
    need not look again whether the inventory changed (a stat and a glob of its sidecars on disk, a LIST on S3)
    for every one of the thousands of files an audit opens. Readers enter :meth:`holding` once they hold the
    object's read lock and leave it before they let the lock go.

    A value is kept only if it was read during the hold that is still on (``since`` the hold's token): one read
    just before the hold began may predate a write published in between, and is not kept."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._holds: dict[str, tuple[object, int]] = {}  # object id -> (this hold's token, readers in it)
        self._kept: dict[str, T] = {}

    @contextlib.contextmanager
    def holding(self, object_id: str) -> Iterator[None]:
        with self._mutex:
            token, readers = self._holds.get(object_id, (object(), 0))
            self._holds[object_id] = (token, readers + 1)
        try:
            yield
        finally:
            with self._mutex:
                token, readers = self._holds.pop(object_id)
                if readers > 1:
                    self._holds[object_id] = (token, readers - 1)
                else:
                    self._kept.pop(object_id, None)

    def token(self, object_id: str) -> object | None:
        """The current hold of the object (None if no reader holds it): take it before reading what to keep."""
        with self._mutex:
            hold = self._holds.get(object_id)
        return hold[0] if hold else None

    def get(self, object_id: str) -> T | None:
        return self._kept.get(object_id)

    def read(self, object_id: str, read: Callable[[], T]) -> T:
        """What is kept for the object in this hold, or ``read()``'s answer, kept if it was read within the hold."""
        kept = self.get(object_id)
        if kept is not None:
            return kept
        since = self.token(object_id)
        value = read()
        self.keep(object_id, since, value)
        return value

    def keep(self, object_id: str, since: object | None, value: T) -> None:
        """Keep ``value`` for the rest of the hold, if it was read within it (``since`` is still its token)."""
        with self._mutex:
            hold = self._holds.get(object_id)
            if since is not None and hold is not None and hold[0] is since:
                self._kept[object_id] = value
