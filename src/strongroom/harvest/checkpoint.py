"""A crawl's progress on disk, so a crawl stopped (Ctrl-C, a crash, ``--pause-after``) resumes where it was
without fetching again what it already has.

The spool is a directory in the node's staging area: every response as ``NNNNNN.json`` (status, headers, AU) plus
``NNNNNN.body``, and ``frontier.json`` (addresses seen, the queue, outcomes, items) rewritten atomically after every
wave of fetches. A response is written before the frontier that counts it, so a crash can only lose work, never
record work that was not done. The spool is removed once the crawl is stored.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any

from strongroom.harvest.fetch import Fetched

FORMAT = "strongroom-crawl-spool/1"


class Checkpoint:
    def __init__(self, directory: Path, fingerprint: str) -> None:
        self.directory = directory
        self.fingerprint = fingerprint  # a spool from another plan or settings is not resumed
        self.count = 0

    def _write(self, path: Path, data: bytes) -> None:
        # Atomic against a crash of the process; not synced to disk (after a power cut the spool may be
        # unreadable, and it is then discarded: the crawl starts again, which loses time, never content).
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def load(self) -> tuple[list[tuple[str | None, Fetched]], dict[str, Any]] | None:
        """Captures and frontier of an interrupted crawl of the same plan, or None to start afresh."""
        frontier_path = self.directory / "frontier.json"
        if not frontier_path.is_file():
            shutil.rmtree(self.directory, ignore_errors=True)
            return None
        frontier = json.loads(frontier_path.read_text(encoding="utf-8"))
        if frontier.get("format") != FORMAT or frontier.get("fingerprint") != self.fingerprint:
            shutil.rmtree(self.directory, ignore_errors=True)
            return None
        try:
            captures = self._captures(int(frontier["captures"]))
        except (OSError, ValueError, KeyError):
            shutil.rmtree(self.directory, ignore_errors=True)
            return None
        self.count = len(captures)
        return captures, frontier

    def _captures(self, count: int) -> list[tuple[str | None, Fetched]]:
        captures = []
        for n in range(count):
            meta = json.loads((self.directory / f"{n:06d}.json").read_text(encoding="utf-8"))
            fetched = Fetched(
                url=meta["url"],
                status=meta["status"],
                reason=meta["reason"],
                http_version=meta["http_version"],
                headers=[tuple(h) for h in meta["headers"]],
                body=(self.directory / f"{n:06d}.body").read_bytes(),
                request_headers=[tuple(h) for h in meta["request_headers"]],
                when=dt.datetime.fromisoformat(meta["when"]),
            )
            captures.append((meta["au"], fetched))
        return captures

    def add(self, au: str | None, fetched: Fetched) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        n = self.count
        self._write(self.directory / f"{n:06d}.body", fetched.body)
        meta = {
            "au": au,
            "url": fetched.url,
            "status": fetched.status,
            "reason": fetched.reason,
            "http_version": fetched.http_version,
            "headers": fetched.headers,
            "request_headers": fetched.request_headers,
            "when": fetched.when.isoformat(),
        }
        self._write(self.directory / f"{n:06d}.json", json.dumps(meta).encode())
        self.count += 1

    def save(self, frontier: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        data = {"format": FORMAT, "fingerprint": self.fingerprint, "captures": self.count, **frontier}
        self._write(self.directory / "frontier.json", json.dumps(data).encode())

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
