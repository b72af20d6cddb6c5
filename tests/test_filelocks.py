"""The one flock-with-a-deadline loop (``strongroom.filelocks``), and the two locks built on it: a second holder
waits, and is told with the caller's own error when the wait is over; the lock is free again once let go."""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest

from strongroom.errors import ObjectBusy
from strongroom.filelocks import exclusive
from strongroom.store.locks import ObjectLocks


class Waited(Exception):
    pass


def test_a_second_holder_gets_the_callers_error_after_the_wait_and_the_lock_once_free(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    with path.open("a+b") as first, path.open("a+b") as second:  # two open files: two holders, as two processes
        with exclusive(first, 1.0, Waited), pytest.raises(Waited), exclusive(second, 0.1, Waited):
            pytest.fail("the block ran without the lock")
        with exclusive(second, 0.1, Waited), pytest.raises(BlockingIOError):  # let go: taken at once, and held
            fcntl.flock(first.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_publishing_waits_for_readers_and_says_what_to_do(tmp_path: Path) -> None:
    locks = ObjectLocks(tmp_path, publish_wait=0.1)
    with locks.reading("urn:x:au-1"):
        with pytest.raises(ObjectBusy, match="has been read") as busy, locks.publishing("urn:x:au-1"):
            pytest.fail("published while a reader held the object")
        assert "try again" in (busy.value.hint or "")
    with locks.publishing("urn:x:au-1"):
        pass
