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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import or_, select

from strongroom.catalog.models import Publisher, Title
from strongroom.catalog.repo import Catalog
from strongroom.domain.identifiers import normalise_issn, slug
from strongroom.errors import DiskFull, Finding, InvalidIdentifier, PackageRejected, SearchIndexFull
from strongroom.formats.records import DEPOSIT_RECORD
from strongroom.ingest.deposit import DepositOptions, DepositPlan, TitleRef, plan_deposit, write_record

__all__ = ["DepositOptions", "DepositResult", "Ingest"]
from strongroom.ingest.package import Package, open_package
from strongroom.progress import NullReporter, Reporter
from strongroom.services.indexer import Indexer
from strongroom.services.journal import Journal
from strongroom.services.scratch import work_directory
from strongroom.services.versions import carried_release
from strongroom.settings import Settings
from strongroom.space import disk_full, ensure_free, is_full
from strongroom.store.base import ObjectStore, StagedFile, stage_file


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
    added: Sequence[str] = ()  # a store's PathList, on disk past a few thousand paths
    modified: Sequence[str] = ()
    removed: Sequence[str] = ()


def _known_title(catalog: Catalog, package: Package, options: DepositOptions) -> TitleRef | None:
    issns = set()
    candidates = [options.issn] + [
        x for journal in package.facts.journals for x in (journal.issn_print, journal.issn_online)
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


def _other_publisher(catalog: Catalog, package: Package, plan: DepositPlan, publisher_key: str) -> list[Finding]:
    """What makes a package another publisher's than ``publisher_key``'s: a publisher it names itself (in its
    JATS, or in a Strongroom export's record), or a title it would add to that the catalog holds under another."""
    with catalog.session() as s:
        mine = s.scalar(select(Publisher).where(Publisher.key == publisher_key))
        title = s.scalar(select(Title).where(Title.key == plan.record.title.key))
        owner = title.publisher.key if title is not None and title.publisher is not None else None
        expected = slug(mine.name) if mine is not None else publisher_key
    named = {journal.publisher_name for journal in package.facts.journals}
    named.add(plan.record.publisher.name)
    findings = [
        Finding("P054", "", f"the package names the publisher {name!r}, not the depositor's")
        for name in sorted(n for n in named if n and slug(n) != expected)
    ]
    if owner is not None and owner != publisher_key:
        findings.append(Finding("P054", "", f"the title {plan.record.title.name!r} is held under another publisher"))
    return findings


class Ingest:
    """Deposits of publishers' packages."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        store: ObjectStore,
        journal: Journal,
        indexer: Indexer,
        *,
        agent: str,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.journal = journal
        self.indexer = indexer
        self.agent = agent

    def _new_bytes(self, object_id: str, staged: Iterable[StagedFile]) -> int:
        """How much a new version would add to storage: only content the object does not hold yet."""
        if not self.store.exists(object_id):
            return sum(f.size for f in staged)
        inventory = self.store.inventory(object_id)
        held, alg = inventory["manifest"], inventory["digestAlgorithm"]
        return sum(f.size for f in staged if f.digest(alg) not in held)

    def deposit(
        self,
        path: Path,
        options: DepositOptions | None = None,
        *,
        reporter: Reporter | None = None,
        publisher_key: str | None = None,
    ) -> DepositResult:
        """Deposit the package at ``path``. With ``publisher_key`` (a publisher's staff depositing their own), a
        package that names another publisher, or adds to a title held under another, is refused (P054)."""
        reporter = reporter or NullReporter()
        options = options or DepositOptions()
        staging = self.settings.resolved_staging()
        with work_directory(staging) as workdir:
            reporter.stage("opening package")
            # Handed over with no name kept here, so that commit can let the package go once it is stored.
            return self.commit(
                self._open(path, workdir, staging, reporter),
                workdir,
                options,
                name=path.name,
                reporter=reporter,
                publisher_key=publisher_key,
            )

    def _open(self, path: Path, workdir: Path, staging: Path, reporter: Reporter) -> Package:
        try:
            return open_package(path, workdir, self.settings.limits, reporter)
        except OSError as exc:
            if is_full(exc):  # unpacking an archive filled the staging area
                raise disk_full("the staging area", staging) from None
            raise

    def commit(
        self,
        package: Package,
        workdir: Path,
        options: DepositOptions,
        *,
        name: str,
        reporter: Reporter | None = None,
        message: str | None = None,
        publisher_key: str | None = None,
    ) -> DepositResult:
        """Plan and store a package already opened and checked in ``workdir`` (a scratch directory the caller
        owns), as :meth:`deposit` does after opening it; callers that check more between the two (a virus scan)
        use this."""
        reporter = reporter or NullReporter()
        try:
            plan = plan_deposit(package, options, _known_title(self.catalog, package, options))
            if publisher_key is not None and (wrong := _other_publisher(self.catalog, package, plan, publisher_key)):
                raise PackageRejected(
                    f"package {name} belongs to another publisher: nothing was stored",
                    wrong,
                    hint="deposit only your own titles; a title that moved to you is moved by the archive's staff",
                )
            staged = plan.staged()  # read from the package's spool at each pass of the write, never held whole
            staged.append(stage_file(DEPOSIT_RECORD, write_record(plan, workdir)))
        finally:
            package.close()  # the articles' metadata, read back from the spool to write the record, are not needed
        # What the result reports; then the package and the plan (each file's and item's record, written to the
        # deposit record above) are let go, so that the OCFL write and the cataloguing do not hold them as well.
        au_key, object_id, form = plan.au_key, plan.object_id, str(package.form)
        items, files, total = len(package.items), len(package.files), package.total_bytes
        del package, plan
        ensure_free(self.settings.resolved_storage_root(), self._new_bytes(object_id, staged), "the storage root")
        released = carried_release(self.store, object_id)  # a correction to released content stays released
        if released is not None:
            staged.append(released)
        reporter.stage("writing OCFL version", total)
        message = message or f"deposit of {form} package {name} ({items} items)"
        with self.journal.intent(object_id):
            result = self.store.commit_version(
                object_id,
                staged,
                message=message,
                user_name=self.agent,
                user_address=f"urn:strongroom:node:{self.settings.node_id}",
                on_bytes=reporter.advance,
            )
            del staged
            reporter.stage("cataloguing")
            try:
                self.indexer.index(object_id)
            except SearchIndexFull as exc:
                raise SearchIndexFull(
                    f"{exc.message}. The package was stored and catalogued as v{result.version} of "
                    f"{au_key}; search finds it after the next start, once there is room",
                    hint=exc.hint,
                ) from None
            except DiskFull as exc:
                raise DiskFull(
                    f"{exc.message}. The package was stored as v{result.version} of {au_key}; the catalog "
                    "records it at the next start, once there is room",
                    hint=exc.hint,
                ) from None
        return DepositResult(
            au_key=au_key,
            object_id=object_id,
            version=result.version,
            unchanged=result.unchanged,
            package_form=form,
            items=items,
            files=files,
            bytes=total,
            new_files=result.new_content_files,
            new_bytes=result.new_bytes,
            added=result.added,
            modified=result.modified,
            removed=result.removed,
        )
