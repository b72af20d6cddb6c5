"""Export: an AU's current version as a BagIt bag (RFC 8493) with its deposit record, OCFL inventory and a
PREMIS event log, so the content can leave Strongroom without it.

The bag is built beside the destination and renamed into place, so ``DEST`` is either absent or complete.
Every file is verified against the inventory while it is copied out: damaged content is never exported
silently.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import bagit

from strongroom import __version__
from strongroom.catalog.models import Event
from strongroom.catalog.repo import Catalog
from strongroom.domain.model import EventOutcome, EventType
from strongroom.errors import ExportError
from strongroom.formats.premis import PremisEvent, premis_xml
from strongroom.store.base import ObjectStore
from strongroom.store.hashing import copy_and_hash


@dataclass(frozen=True)
class ExportResult:
    au_key: str
    version: int
    dest: Path
    files: int
    bytes: int


def _check_dest(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ExportError(
            f"export destination {dest} already exists and is not an empty directory",
            hint="choose a new path; an export never overwrites anything",
        )
    if not dest.parent.is_dir():
        raise ExportError(f"the parent directory of {dest} does not exist", hint=f"create {dest.parent} first")


class Exports:
    """AUs written out as BagIt bags."""

    def __init__(self, catalog: Catalog, store: ObjectStore, *, agent: str) -> None:
        self.catalog = catalog
        self.store = store
        self.agent = agent

    def export(self, au_key: str, dest: Path) -> ExportResult:
        catalog, store, agent = self.catalog, self.store, self.agent
        dest = dest.absolute()
        _check_dest(dest)
        with catalog.session() as s:
            au = catalog.get_au(s, au_key)
            object_id, title, label = au.object_id, au.title.name, au.label
            publisher = au.title.publisher.name if au.title.publisher else ""
        inventory = store.inventory(object_id)
        version = int(inventory["head"][1:])
        alg = inventory["digestAlgorithm"]
        work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
        try:
            total = 0
            files = store.files(object_id)
            for f in files:
                target = work / f.logical_path
                target.parent.mkdir(parents=True, exist_ok=True)
                with store.open_file(object_id, f.logical_path) as src:
                    digests = copy_and_hash(src, target, (alg,))
                if digests.digests[alg] != (f.sha512 if alg == "sha512" else f.sha256):
                    raise ExportError(
                        f"{f.logical_path} in AU {au_key} does not match its inventory digest; not exported",
                        hint=f"run: strongroom audit {au_key}  (the content needs repair before it can be exported)",
                    )
                total += digests.size
            meta = work / "strongroom"
            meta.mkdir(exist_ok=True)
            (meta / "inventory.json").write_text(json.dumps(inventory, indent=2, sort_keys=True), encoding="utf-8")
            (meta / "premis.xml").write_bytes(premis_xml(object_id, _premis_events(catalog, au_key)))
            bagit.make_bag(
                str(work),
                bag_info={
                    "Source-Organization": publisher or "unknown",
                    "External-Identifier": object_id,
                    "External-Description": f"{title}, {label} (OCFL version v{version})",
                    "Bag-Software-Agent": f"strongroom {__version__}",
                },
                checksums=["sha256", "sha512"],
            )
            if dest.exists():
                dest.rmdir()
            os.rename(work, dest)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        with catalog.session() as s:
            catalog.record_event(
                s,
                EventType.DISSEMINATION,
                EventOutcome.SUCCESS,
                agent=agent,
                object_type="au",
                object_key=au_key,
                detail=f"exported v{version} as a BagIt bag to {dest}",
                data={"version": version, "files": len(files), "bytes": total},
            )
        return ExportResult(au_key, version, dest, len(files), total)


def _premis_events(catalog: Catalog, au_key: str) -> list[PremisEvent]:
    events: list[Event] = catalog.events(object_key=au_key, limit=None)
    return [PremisEvent(e.uuid, e.type, e.time, e.outcome, e.detail, e.agent) for e in events]
