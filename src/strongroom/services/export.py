"""Export: an AU's current version as a BagIt bag (RFC 8493) with its deposit record, OCFL inventory and a
PREMIS event log, so the content can leave Strongroom without it.

The bag is built beside the destination and renamed into place, so ``DEST`` is either absent or complete; the
partial folder of an export that was killed is removed by the next export beside it. The object is held still
while it is read, so a deposit into the same AU never makes an export half old and half new.
Every file is verified against the inventory while it is copied out: damaged content is never exported
silently.
"""

from __future__ import annotations

import fcntl
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
from strongroom.errors import ExportError, StorageError
from strongroom.formats.premis import PremisEvent, premis_xml
from strongroom.progress import NullReporter, Reporter
from strongroom.space import disk_full, ensure_free, is_full
from strongroom.store.base import ObjectStore
from strongroom.store.hashing import copy_and_hash


@dataclass(frozen=True)
class ExportResult:
    au_key: str
    version: int
    dest: Path
    files: int
    bytes: int


PARTIAL = ".partial-"


def _check_dest(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ExportError(
            f"export destination {dest} already exists and is not an empty directory",
            hint="choose a new path; an export never overwrites anything",
        )
    if not dest.parent.is_dir():
        raise ExportError(f"the parent directory of {dest} does not exist", hint=f"create {dest.parent} first")


def remove_stale_exports(parent: Path) -> list[str]:
    """Remove the partial folders of exports that died (their lock is free); leave those in progress alone."""
    removed = []
    for partial in sorted(parent.glob(f".*{PARTIAL}*")):
        try:
            fd = os.open(partial, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the live export holds its folder locked
        except BlockingIOError:
            continue
        finally:
            os.close(fd)
        shutil.rmtree(partial, ignore_errors=True)
        removed.append(partial.name)
    return removed


class Exports:
    """AUs written out as BagIt bags."""

    def __init__(self, catalog: Catalog, store: ObjectStore, *, agent: str) -> None:
        self.catalog = catalog
        self.store = store
        self.agent = agent

    def export(self, au_key: str, dest: Path, *, progress: Reporter | None = None) -> ExportResult:
        """Write ``au_key``'s head version to ``dest`` (a new directory) as a BagIt bag; ``progress`` hears the bytes
        copied (one stage, its total the object's stored size)."""
        dest = dest.absolute()
        _check_dest(dest)
        with self.catalog.session() as s:
            au = self.catalog.get_au(s, au_key)
            object_id, title, label = au.object_id, au.title.name, au.label
            publisher = au.title.publisher.name if au.title.publisher else ""
        remove_stale_exports(dest.parent)
        ensure_free(dest.parent, self.store.stored_bytes(object_id), "the export destination")
        work = Path(tempfile.mkdtemp(prefix=f".{dest.name}{PARTIAL}", dir=dest.parent))
        lock = os.open(work, os.O_RDONLY)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)  # the folder stays locked while this export is alive
            with self.store.reading(object_id):  # no new version appears halfway through the copy
                version, files, total = self._copy(au_key, object_id, work, progress or NullReporter())
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
        except OSError as exc:
            shutil.rmtree(work, ignore_errors=True)
            if is_full(exc):
                raise disk_full("the export destination", dest.parent) from None
            raise ExportError(f"the export to {dest} failed: {exc.strerror or exc}; nothing was left there") from None
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        finally:
            os.close(lock)
        with self.catalog.session() as s:
            self.catalog.record_event(
                s,
                EventType.DISSEMINATION,
                EventOutcome.SUCCESS,
                agent=self.agent,
                object_type="au",
                object_key=au_key,
                detail=f"exported v{version} as a BagIt bag to {dest}",
                data={"version": version, "files": files, "bytes": total},
            )
        return ExportResult(au_key, version, dest, files, total)

    def _copy(self, au_key: str, object_id: str, work: Path, progress: Reporter) -> tuple[int, int, int]:
        """Copy the head version's files out, each checked against the inventory while it is copied, with the
        deposit record, the inventory and the PREMIS event log; (version, files, bytes)."""
        inventory = self.store.inventory(object_id)
        version = int(inventory["head"][1:])
        alg = inventory["digestAlgorithm"]
        files = self.store.files(object_id)
        progress.stage("exporting", sum(f.size or 0 for f in files))
        total = 0
        for f in files:
            target = work / f.logical_path
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with self.store.open_file(object_id, f.logical_path) as src:
                    digests = copy_and_hash(src, target, (alg,))
            except StorageError as exc:
                raise StorageError(
                    f"{f.logical_path} in AU {au_key} cannot be read ({exc.message}); not exported",
                    hint=f"run: strongroom audit {au_key}  (the content needs repair before it can be exported)",
                ) from None
            if digests.digests[alg] != (f.sha512 if alg == "sha512" else f.sha256):
                raise StorageError(
                    f"{f.logical_path} in AU {au_key} does not match its inventory digest; not exported",
                    hint=f"run: strongroom audit {au_key}  (the content needs repair before it can be exported)",
                )
            total += digests.size
            progress.advance(digests.size)
        meta = work / "strongroom"
        meta.mkdir(exist_ok=True)
        (meta / "inventory.json").write_text(json.dumps(inventory, indent=2, sort_keys=True), encoding="utf-8")
        (meta / "premis.xml").write_bytes(premis_xml(object_id, _premis_events(self.catalog, au_key)))
        return version, len(files), total


def _premis_events(catalog: Catalog, au_key: str) -> list[PremisEvent]:
    events: list[Event] = catalog.events(object_key=au_key, limit=None)
    return [PremisEvent(e.uuid, e.type, e.time, e.outcome, e.detail, e.agent) for e in events]
