"""Nonces of peer requests already accepted, remembered for as long as their timestamps are valid, across restarts.

A captured request replayed to the same node within the allowed clock skew must be refused even if the node was
restarted in between, so every accepted nonce is appended to a file under the node's home and fsynced before the
request is answered. Entries whose validity has ended are dropped when the file is compacted (rewritten whole,
fsynced, renamed over the old one). One ``strongroom serve`` process answers peers for a home; it alone writes.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Protocol

COMPACT_AFTER = 4096  # lines appended before the file is rewritten without expired entries


class NonceStore(Protocol):
    def remember(self, key: str, valid_until: float, now: float) -> bool:
        """Record ``key`` until ``valid_until``; False when it is already held (a replay)."""
        ...


class MemoryNonces:
    """Nonces held in memory only: for tests and tools that never restart."""

    def __init__(self) -> None:
        self._held: dict[str, float] = {}
        self._lock = threading.Lock()

    def remember(self, key: str, valid_until: float, now: float) -> bool:
        with self._lock:
            if len(self._held) > 10_000:
                self._held = {k: t for k, t in self._held.items() if t >= now}
            held = self._held.get(key)
            if held is not None and held >= now:
                return False
            self._held[key] = valid_until
            return True


class FileNonces:
    """Nonces in an append-only file (``<valid_until> <key>`` a line), each fsynced before it counts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._held: dict[str, float] = {}
        self._appended = 0
        try:
            text = path.read_text(encoding="ascii", errors="replace")
        except FileNotFoundError:
            text = ""
        for line in text.splitlines():
            until, _, key = line.partition(" ")
            try:
                self._held[key] = max(float(until), self._held.get(key, 0.0))
            except ValueError:
                continue  # a line torn by a crash mid-write: its request was never answered

    def remember(self, key: str, valid_until: float, now: float) -> bool:
        if not key or any(c.isspace() for c in key):
            return False
        with self._lock:
            held = self._held.get(key)
            if held is not None and held >= now:
                return False
            self._held[key] = valid_until
            if self._appended >= COMPACT_AFTER:
                self._compact(now)
            else:
                self._append(f"{valid_until:.0f} {key}\n")
            return True

    def _append(self, line: str) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        self._appended += 1

    def _compact(self, now: float) -> None:
        self._held = {k: t for k, t in self._held.items() if t >= now}
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, "".join(f"{t:.0f} {k}\n" for k, t in self._held.items()).encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self._appended = 0
