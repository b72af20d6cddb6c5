"""The journal of writes in flight: before a new version is committed to storage, an intent naming the object, the
process and the host is made durable in ``HOME/journal/``; once the catalog knows the version, the intent is
removed. The writing process holds a lock on its intent for as long as it lives, so an intent whose lock is free
belongs to a process that died: only then may start-up recovery catalogue its object and end it. A running command
never touches another live process's intent, and an intent written on another host (a shared home) is left to that
host.

This file journal (:class:`FileJournal`) is a SQLite node's; a node whose catalog is PostgreSQL, whose workers may run
on several machines, keeps its journal in the catalog instead (:mod:`strongroom.services.journal_postgres`), where
every machine sees every intent. Both are a :class:`Journal`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from strongroom.space import disk_full, is_full

STALE_SECONDS = 60


@dataclass(frozen=True)
class Intent:
    token: str  # the intent's own name in its journal
    object_id: str
    pid: int
    host: str
    kind: str = "write"  # "write": a new version; "release": the removal of a copy this node no longer holds
    path: Path | None = None  # the file journal's intent file


class Journal(Protocol):
    """Intents of writes in flight: what the services that write, recovery and the audit need of a journal."""

    def intent(self, object_id: str, kind: str = "write") -> contextlib.AbstractContextManager[None]:
        """Hold an intent for ``object_id`` while the body writes it: it is durable before the body runs, ends when
        the body succeeds, and stays (no longer held) when the body fails, for recovery."""
        ...

    def orphans(self) -> contextlib.AbstractContextManager[list[Intent]]:
        """The intents whose writer died, each held for the caller until the block ends."""
        ...

    def in_flight(self) -> set[str]:
        """Objects a live process is writing now: not yet catalogued, and not an error."""
        ...

    def end(self, intent: Intent) -> None: ...

    def pending(self) -> list[str]:
        """The objects of every intent now in the journal (live or not)."""
        ...


class FileJournal:
    """Intents of writes in flight, one small file per write, fsynced before the store is touched."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.host = socket.gethostname()

    @contextlib.contextmanager
    def intent(self, object_id: str, kind: str = "write") -> Iterator[None]:
        """Hold an intent for ``object_id`` while the body writes it. On success the intent ends; if the body fails,
        the intent stays (its lock is released), and recovery catalogues whatever the store committed (or, for a
        ``release``, takes out of the catalog what the store removed)."""
        token = secrets.token_hex(8)
        path = self.directory / f"{token}.json"
        tmp = self.directory / f".{token}.tmp"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as exc:
            if is_full(exc):
                raise disk_full("the node's home (its journal)", self.directory) from None
            raise
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # held until this write is over
            try:
                json.dump({"object_id": object_id, "pid": os.getpid(), "host": self.host, "kind": kind}, fh)
                fh.flush()
                os.fsync(fh.fileno())
                os.replace(tmp, path)
                dirfd = os.open(self.directory, os.O_RDONLY)
                try:
                    os.fsync(dirfd)
                finally:
                    os.close(dirfd)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                if is_full(exc):
                    raise disk_full("the node's home (its journal)", self.directory) from None
                raise
            yield
            path.unlink(missing_ok=True)

    def _read(self, path: Path) -> Intent | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Intent(
                path.stem,
                str(data["object_id"]),
                int(data.get("pid", 0)),
                str(data.get("host", "")),
                str(data.get("kind", "write")),
                path,
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @contextlib.contextmanager
    def orphans(self) -> Iterator[list[Intent]]:
        """The intents of writers on this host that died, each locked for the caller until the block ends; the
        caller ends each with :meth:`end` once its object is catalogued."""
        found: list[Intent] = []
        handles = []
        try:
            if self.directory.is_dir():
                for path in sorted(self.directory.glob("*.json")):
                    try:
                        fh = path.open("r", encoding="utf-8")
                    except FileNotFoundError:
                        continue  # ended by its owner meanwhile
                    try:
                        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        fh.close()
                        continue  # its owner is alive: not ours to touch
                    intent = self._read(path)
                    if intent is None:  # torn mid-write by a crash: its object was never touched
                        path.unlink(missing_ok=True)
                        fh.close()
                        continue
                    if intent.host and intent.host != self.host:
                        fh.close()
                        continue  # written on another host that shares this home: left to that host
                    handles.append(fh)
                    found.append(intent)
                for tmp in self.directory.glob(".*.tmp"):  # an intent whose writer died before it was made durable
                    with contextlib.suppress(OSError), tmp.open("r") as fh:
                        if time.time() - os.fstat(fh.fileno()).st_mtime > STALE_SECONDS:
                            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                            tmp.unlink()
            yield found
        finally:
            for fh in handles:
                fh.close()

    def in_flight(self) -> set[str]:
        """Objects a live process is writing now (its intent is locked): not yet catalogued, and not an error."""
        live: set[str] = set()
        if not self.directory.is_dir():
            return live
        for path in self.directory.glob("*.json"):
            try:
                with path.open("r", encoding="utf-8") as fh:
                    try:
                        fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                    except BlockingIOError:
                        intent = self._read(path)
                        if intent is not None:
                            live.add(intent.object_id)
            except OSError:
                continue
        return live

    def end(self, intent: Intent) -> None:
        (intent.path or self.directory / f"{intent.token}.json").unlink(missing_ok=True)

    def pending(self) -> list[str]:
        """The objects of every intent now in the journal (live or not)."""
        if not self.directory.is_dir():
            return []
        return sorted({i.object_id for p in self.directory.glob("*.json") if (i := self._read(p)) is not None})
