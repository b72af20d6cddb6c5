"""Waiting for an exclusive ``flock`` with a deadline: the one loop behind every lock of a node that a second
process should wait for a while rather than be refused at once (the search index's writer, the publish step of an
object). What to say when the wait is over is the caller's: it passes the error to raise.

Must not import: the catalog, the store, the search engines, services, faces.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Callable, Iterator
from typing import IO, Any


@contextlib.contextmanager
def exclusive(fh: IO[Any], wait: float, timed_out: Callable[[], Exception], poll: float = 0.02) -> Iterator[None]:
    """Hold an exclusive lock on the open file ``fh`` for the block, waiting up to ``wait`` seconds for another
    process to let it go; after that, raise ``timed_out()`` (the block does not run)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise timed_out() from None
            time.sleep(poll)
    try:
        yield
    finally:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
