"""Deposit: open and check a package, plan where it goes, commit it as a new OCFL version, catalogue it.

Order of writes, chosen so that a crash at any moment leaves a consistent node:

1. everything is read, verified and planned in a private work directory (nothing shared is touched);
2. an intent is written to ``HOME/journal/`` naming the object;
3. the store commits the version atomically (a version directory is renamed into place, then the root
   inventory is replaced);
4. the catalog indexes the object in one transaction, then the intent is removed.

On start-up, :meth:`Node.recover` finishes or discards step 3 and re-runs step 4 for every intent left.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import or_, select

from strongroom.catalog.models import Title
from strongroom.catalog.repo import Catalog
from strongroom.ingest.deposit import (
    DEPOSIT_RECORD,
    DepositOptions,
    TitleRef,
    plan_deposit,
    write_record,
)
from strongroom.ingest.package import Package, open_package
from strongroom.progress import NullReporter, Reporter
from strongroom.services.indexer import index_object
from strongroom.services.release_record import carried_record
from strongroom.settings import Settings
from strongroom.store.hashing import hash_file
from strongroom.store.ocfl import OcflStore, StagedFile


@dataclass(frozen=True)
class DepositResult:
    au_key: str
    object_id: str
    version: int
    unchanged: bool
    package_form: str
    items: int
    files: int
    bytes: int
    new_files: int
    new_bytes: int
    added: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


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


def _known_title(catalog: Catalog, package: Package, options: DepositOptions) -> TitleRef | None:
    from strongroom.domain.identifiers import normalise_issn
    from strongroom.errors import InvalidIdentifier

    issns = set()
    candidates = [options.issn] + [
        x for item in package.items if item.meta for x in (item.meta.journal.issn_print, item.meta.journal.issn_online)
    ]
    for raw in candidates:
        if raw:
            with contextlib.suppress(InvalidIdentifier):  # an invalid ISSN is reported by the plan
                issns.add(normalise_issn(raw))
    if not issns:
        return None
    with catalog.session() as s:
        title = s.scalars(
            select(Title).where(or_(Title.issn_print.in_(issns), Title.issn_online.in_(issns))).order_by(Title.id)
        ).first()
        return TitleRef(title.key, title.name) if title else None


@contextlib.contextmanager
def work_directory(staging: Path) -> Iterator[Path]:
    """A private scratch directory for one deposit, locked while in use and removed afterwards."""
    staging.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="deposit-", dir=staging))
    try:
        with (workdir / ".lock").open("w") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def remove_stale_work(staging: Path) -> list[str]:
    """Remove the scratch directories of deposits that died (their lock is free); leave live ones alone."""
    removed = []
    for workdir in sorted(staging.glob("deposit-*")):
        try:
            with (workdir / ".lock").open("a") as lock:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue
        except OSError:
            pass  # no lock file: the deposit died before taking it
        shutil.rmtree(workdir, ignore_errors=True)
        removed.append(f"removed the scratch files of an interrupted deposit ({workdir.name})")
    return removed


def deposit(
    *,
    settings: Settings,
    catalog: Catalog,
    store: OcflStore,
    journal: Journal,
    agent: str,
    path: Path,
    options: DepositOptions,
    reporter: Reporter | None = None,
) -> DepositResult:
    reporter = reporter or NullReporter()
    with work_directory(settings.resolved_staging()) as workdir:
        reporter.stage("opening package")
        package = open_package(path, workdir, settings.limits, reporter)
        plan = plan_deposit(package, options, _known_title(catalog, package, options))
        record_path = write_record(plan, workdir)
        digests = hash_file(record_path, ("sha512", "sha256"))
        staged = [StagedFile(logical, f.source, f.size, f.sha512, f.sha256) for logical, f in plan.files]
        staged.append(
            StagedFile(DEPOSIT_RECORD, record_path, digests.size, digests.digests["sha512"], digests.digests["sha256"])
        )
        released = carried_record(store, plan.object_id)  # a correction to released content stays released
        if released is not None:
            staged.append(released)
        reporter.stage("writing OCFL version", package.total_bytes)
        message = f"deposit of {package.form} package {path.name} ({len(package.items)} items)"
        journal.begin(plan.object_id)
        result = store.commit_version(
            plan.object_id,
            staged,
            message=message,
            user_name=agent,
            user_address=f"urn:strongroom:node:{settings.node_id}",
            on_bytes=reporter.advance,
        )
        reporter.stage("cataloguing")
        index_object(catalog, store, plan.object_id, agent=agent)
        journal.end(plan.object_id)
        return DepositResult(
            au_key=plan.au_key,
            object_id=plan.object_id,
            version=result.version,
            unchanged=result.unchanged,
            package_form=str(package.form),
            items=len(package.items),
            files=len(package.files),
            bytes=package.total_bytes,
            new_files=result.new_content_files,
            new_bytes=result.new_bytes,
            added=tuple(result.added),
            modified=tuple(result.modified),
            removed=tuple(result.removed),
        )
