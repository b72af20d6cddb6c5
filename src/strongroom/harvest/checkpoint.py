"""A crawl's progress on disk, so a crawl stopped (Ctrl-C, a crash, ``--pause-after``) resumes where it was
without fetching again what it already has.

The spool is a directory in the node's staging area: ``captures.bin``, every response appended as it arrives
(a length-prefixed JSON header with status, headers and AU, then the body), and ``frontier.json`` (how many
captures count, the addresses seen, the queue, outcomes, items) replaced atomically from time to time. Captures
are flushed before the frontier that counts them is written, so a crash can only lose work, never record work
that was not done; captures after the last frontier are cut off on resume. The spool is removed once the crawl is
stored.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from strongroom.harvest.fetch import Fetched

FORMAT = "strongroom-crawl-spool/1"


class Checkpoint:
    def __init__(self, directory: Path, fingerprint: str) -> None:
        self.directory = directory
        self.fingerprint = fingerprint  # a spool from another plan or settings is not resumed
        self.count = 0
        self._fh: BinaryIO | None = None

    @property
    def _spool(self) -> Path:
        return self.directory / "captures.bin"

    def load(self) -> dict[str, Any] | None:
        """The frontier of an interrupted crawl of the same plan, or None to start afresh. Its captures stay in
        the spool (see ``captures``)."""
        frontier_path = self.directory / "frontier.json"
        try:
            frontier = json.loads(frontier_path.read_text(encoding="utf-8"))
            if frontier.get("format") != FORMAT or frontier.get("fingerprint") != self.fingerprint:
                raise ValueError("another crawl's spool")
            count = int(frontier["captures"])
            end = self._end(count)
        except (OSError, ValueError, KeyError, struct.error):
            shutil.rmtree(self.directory, ignore_errors=True)
            return None
        with self._spool.open("r+b") as fh:
            fh.truncate(end)  # drop captures no frontier counted: they will be fetched again
        self.count = count
        return dict(frontier)

    def _end(self, count: int) -> int:
        """Where the first ``count`` captures end (reading their headers only; a short spool is refused)."""
        size = self._spool.stat().st_size
        with self._spool.open("rb") as fh:
            for _ in range(count):
                _meta(fh)
                (body_len,) = struct.unpack(">Q", fh.read(8))
                if fh.tell() + body_len > size:
                    raise ValueError("truncated spool")
                fh.seek(body_len, os.SEEK_CUR)
            return fh.tell()

    def captures(self) -> Iterator[tuple[str | None, Fetched]]:
        """Every capture spooled so far, in order, read back one at a time (a crawl's bodies are never all held
        in memory at once)."""
        if self._fh is not None:
            self._fh.flush()
        if self.count == 0:
            return
        with self._spool.open("rb") as fh:
            for _ in range(self.count):
                meta = _meta(fh)
                (body_len,) = struct.unpack(">Q", fh.read(8))
                body = fh.read(body_len)
                if len(body) != body_len:
                    raise ValueError("truncated spool")
                yield (
                    meta["au"],
                    Fetched(
                        url=meta["url"],
                        status=meta["status"],
                        reason=meta["reason"],
                        http_version=meta["http_version"],
                        headers=[(str(k), str(v)) for k, v in meta["headers"]],
                        body=body,
                        request_headers=[(str(k), str(v)) for k, v in meta["request_headers"]],
                        when=dt.datetime.fromisoformat(meta["when"]),
                    ),
                )

    def add(self, au: str | None, fetched: Fetched) -> None:
        if self._fh is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._fh = self._spool.open("ab")
        meta = json.dumps(
            {
                "au": au,
                "url": fetched.url,
                "status": fetched.status,
                "reason": fetched.reason,
                "http_version": fetched.http_version,
                "headers": fetched.headers,
                "request_headers": fetched.request_headers,
                "when": fetched.when.isoformat(),
            }
        ).encode()
        self._fh.write(struct.pack(">I", len(meta)) + meta + struct.pack(">Q", len(fetched.body)) + fetched.body)
        self.count += 1

    def save(self, frontier: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._fh is not None:
            self._fh.flush()
        data = {"format": FORMAT, "fingerprint": self.fingerprint, "captures": self.count, **frontier}
        tmp = self.directory / "frontier.json.tmp"
        tmp.write_bytes(json.dumps(data).encode())
        os.replace(tmp, self.directory / "frontier.json")

    def discard(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        shutil.rmtree(self.directory, ignore_errors=True)


def _meta(fh: BinaryIO) -> dict[str, Any]:
    (meta_len,) = struct.unpack(">I", fh.read(4))
    meta = json.loads(fh.read(meta_len))
    if not isinstance(meta, dict):
        raise ValueError("not a capture header")
    return meta
