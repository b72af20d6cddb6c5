"""Private scratch directories under the node's staging area: one per deposit, harvest, release or repair, locked
while in use and removed afterwards; those of processes that died are removed at the next start."""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def work_directory(staging: Path, prefix: str = "deposit-") -> Iterator[Path]:
    """A private scratch directory, locked while in use and removed afterwards."""
    staging.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=prefix, dir=staging))
    try:
        with (workdir / ".lock").open("w") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def remove_stale_work(staging: Path) -> list[str]:
    """Remove the scratch directories of work that died (their lock is free); leave live ones alone."""
    removed = []
    for workdir in sorted(p for prefix in ("deposit-", "repair-") for p in staging.glob(f"{prefix}*")):
        try:
            with (workdir / ".lock").open("a") as lock:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue
        except OSError:
            pass  # no lock file: the work died before taking it
        shutil.rmtree(workdir, ignore_errors=True)
        removed.append(f"removed the scratch files of an interrupted deposit ({workdir.name})")
    return removed
