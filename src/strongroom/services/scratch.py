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
def _scratch_area(staging: Path) -> Iterator[None]:
    """Held while a scratch directory is made and locked, and while dead ones are swept: without it a sweep could
    find a directory made a moment ago, before its owner locked it, take it for the remains of a dead process and
    remove it under the owner's feet."""
    locks = staging / "locks"  # beside the store's object locks
    locks.mkdir(parents=True, exist_ok=True)
    with (locks / "scratch.lock").open("a") as area:
        fcntl.flock(area.fileno(), fcntl.LOCK_EX)
        yield


@contextlib.contextmanager
def work_directory(staging: Path, prefix: str = "deposit-") -> Iterator[Path]:
    """A private scratch directory, locked while in use and removed afterwards."""
    staging.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as held:
        with _scratch_area(staging):
            workdir = Path(tempfile.mkdtemp(prefix=prefix, dir=staging))
            held.callback(shutil.rmtree, workdir, ignore_errors=True)
            lock = held.enter_context((workdir / ".lock").open("w"))
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        yield workdir


def remove_stale_work(staging: Path) -> list[str]:
    """Remove the scratch directories of work that died (their lock is free); leave live ones alone."""
    removed: list[str] = []
    if not staging.is_dir():
        return removed
    with _scratch_area(staging):
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
