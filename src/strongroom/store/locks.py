"""Per-object locks in the node's staging area, for stores with nothing to lock themselves (an object store has
no rename and no lock): one writer per object (``writing``), readers that hold the object still (``reading``),
and the brief publish step that waits for those readers (``publishing``).

They are ``flock`` locks on files in ``staging/locks/`` (both backends use them), so they serialise the processes
of one node only: two nodes must never write one storage root.

Must not import: the catalog, the search index, services, faces.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from strongroom.errors import ObjectBusy
from strongroom.filelocks import exclusive
from strongroom.store.paths import object_hash


class ObjectLocks:
    def __init__(self, staging: Path, publish_wait: float = 600.0) -> None:
        self.staging = staging
        self.publish_wait = publish_wait  # seconds a writer waits for readers of the object before it gives up

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
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    @contextlib.contextmanager
    def reading(self, object_id: str) -> Iterator[None]:
        with self._file(object_id, "read").open("a") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH)
            try:
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

        with self._file(object_id, "read").open("a") as fh, exclusive(fh, self.publish_wait, timed_out, poll=0.05):
            yield
