"""Full disks: a write that fails because a disk is full becomes :class:`~strongroom.errors.DiskFull`, naming what
filled up (the staging area, the storage root, the catalog, an export destination) and what to do; large writes
check the free space first, where the size is known. Nothing here decides whether a write is kept: the writers'
own atomic sequences make sure a failed one leaves nothing half-written.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from strongroom.errors import DiskFull

MARGIN = 4 * 1024 * 1024  # room left for inventories, the catalog and the journal after a large write
FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


def free_bytes(path: Path) -> int | None:
    """Free space on the filesystem holding ``path`` (or its nearest existing parent); None if it cannot be told."""
    for candidate in (path, *path.parents):
        try:
            if candidate.exists():
                return shutil.disk_usage(candidate).free
        except OSError:
            return None
    return None


def is_full(exc: BaseException | None) -> bool:
    return isinstance(exc, OSError) and exc.errno in FULL


def database_full(exc: BaseException) -> bool:
    """A database driver's error (as SQLAlchemy wraps it) saying its disk is full: SQLite's SQLITE_FULL,
    PostgreSQL's disk_full (53100), or the operating system's ENOSPC."""
    orig = getattr(exc, "orig", exc)
    return (
        "database or disk is full" in str(orig)
        or getattr(orig, "sqlstate", None) == "53100"
        or is_full(getattr(orig, "__cause__", None) or orig)
    )


def disk_full(what: str, path: Path, *, stored: str = "") -> DiskFull:
    """The error for a write to ``what`` (at ``path``) that ran out of space. ``stored`` says what was kept, when
    something was (a version committed before the catalog's disk filled up)."""
    free = free_bytes(path)
    left = f" ({human(free)} free)" if free is not None else ""
    kept = stored or "nothing half-written was kept"
    return DiskFull(
        f"the disk holding {what} is full{left}: {path}; {kept}",
        hint=f"free space on that disk (or move {what} to a larger one), then run the command again",
    )


def ensure_free(path: Path, needed: int, what: str) -> None:
    """Refuse before a large write that would not fit (``needed`` bytes plus a margin)."""
    free = free_bytes(path)
    if free is not None and free < needed + MARGIN:
        raise DiskFull(
            f"{what} has {human(free)} free at {path}, and this needs about {human(needed + MARGIN)}; "
            "nothing was written",
            hint=f"free space on that disk (or move {what} to a larger one), then run the command again",
        )
