"""The journal of writes in flight: before a new version is committed to storage, an intent naming the object is
made durable in ``HOME/journal/``; once the catalog knows the version, the intent is removed. An intent found at
start-up means a write was interrupted between storage and catalog, and recovery catalogues the object."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


class Journal:
    """Intents of writes in flight, one small file per object, fsynced before the store is touched."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, object_id: str) -> Path:
        return self.directory / (hashlib.sha256(object_id.encode()).hexdigest() + ".json")

    def begin(self, object_id: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / ".intent.tmp"
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump({"object_id": object_id}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._path(object_id))

    def end(self, object_id: str) -> None:
        self._path(object_id).unlink(missing_ok=True)

    def pending(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        out = []
        for p in sorted(self.directory.glob("*.json")):
            try:
                out.append(str(json.loads(p.read_text(encoding="utf-8"))["object_id"]))
            except (ValueError, KeyError):
                p.unlink()  # an intent torn mid-write: its object was never touched
        return out
