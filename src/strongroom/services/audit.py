"""Fixity audit: re-read every stored file once, check its digest against the OCFL inventory (and the fixity
block's second digest too when asked: ``all_digests``), compare the catalog, and record one event per AU naming
the digests it checked.

Each file is *ok*, *damaged*, *missing*, *unreadable* or *unexpected*; a file that could not be read is never
counted as ok, and an AU is intact only when every file is ok and the catalog agrees with the inventory.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from strongroom.catalog.models import ArchivalUnit
from strongroom.catalog.repo import Catalog
from strongroom.domain.model import EventOutcome, EventType
from strongroom.errors import Finding, StorageError
from strongroom.services import title_summaries
from strongroom.services.indexer import Indexer
from strongroom.services.journal import Journal
from strongroom.store.base import ObjectStore
from strongroom.store.fixity import FileStatus, ObjectAudit, audit_object

Progress = Callable[[str, int, int, int], None]  # (what, files done, bytes done, total bytes)


@dataclass
class AUAudit:
    au_key: str
    object_id: str
    files: int = 0
    bytes: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    digests: tuple[str, ...] = ()  # the algorithms the files were checked with (none when none could be read)

    @property
    def intact(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "au": self.au_key,
            "object_id": self.object_id,
            "intact": self.intact,
            "files": self.files,
            "bytes": self.bytes,
            "digests": list(self.digests),
            "counts": {s.value: self.counts[s.value] for s in FileStatus},
            "findings": [{"code": f.code, "path": f.path, "message": f.message} for f in self.findings],
        }


@dataclass
class AuditReport:
    aus: list[AUAudit]
    seconds: float

    @property
    def intact(self) -> bool:
        return all(a.intact for a in self.aus)

    @property
    def files(self) -> int:
        return sum(a.files for a in self.aus)

    @property
    def bytes(self) -> int:
        return sum(a.bytes for a in self.aus)

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for a in self.aus:
            total.update(a.counts)
        return total

    def to_dict(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "files": self.files,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "counts": {s.value: self.totals()[s.value] for s in FileStatus},
            "aus": [a.to_dict() for a in self.aus],
        }


def _compare_catalog(
    result: AUAudit, catalog_files: dict[str, tuple[int, str, str]], catalog_version: int, obj: ObjectAudit
) -> None:
    """Catalog rows must name exactly the files of the version the catalog knows, with the inventory's digests and
    sizes. A newer version in storage is the catalog lagging a write that is still going on (recovery finishes an
    interrupted one at start-up), not a disagreement."""
    if catalog_version not in obj.states or catalog_version > obj.head:
        result.findings.append(
            Finding("A007", result.object_id, f"the catalog knows v{catalog_version}, storage holds up to v{obj.head}")
        )
        return
    head = obj.states[catalog_version]  # logical path -> (sha512, sha256, size) per the inventory
    for path in sorted(set(catalog_files) - set(head)):
        result.findings.append(Finding("A007", path, "in the catalog but not in the inventory's head version"))
    for path in sorted(set(head) - set(catalog_files)):
        result.findings.append(Finding("A007", path, "in the inventory's head version but not in the catalog"))
    for path in sorted(set(head) & set(catalog_files)):
        size, sha512, sha256 = catalog_files[path]
        inv = head[path]
        if (sha512, sha256) != (inv.sha512, inv.sha256):
            result.findings.append(Finding("A006", path, "the catalog's digests differ from the inventory's"))
        elif inv.size is not None and size != inv.size:
            result.findings.append(Finding("A006", path, f"the catalog says {size} bytes, storage holds {inv.size}"))


class Audits:
    """Fixity audits of what the node stores: the storage root is walked, so an object the catalog does not know is
    found too; one damaged object never stops the audit of the others."""

    def __init__(self, catalog: Catalog, store: ObjectStore, indexer: Indexer, journal: Journal, *, agent: str) -> None:
        self.catalog = catalog
        self.store = store
        self.indexer = indexer
        self.journal = journal
        self.agent = agent

    def _targets(self, au_keys: Sequence[str]) -> list[tuple[str, str]]:
        """(object id, AU key) of ``au_keys`` (default: every AU the catalog lists), by AU key: two columns a row,
        so that an audit of a whole node of a hundred thousand AUs never holds their files or mapped rows."""
        if au_keys:
            return [(au.object_id, au.key) for au, *_ in self.catalog.aus(au_keys)]
        with self.catalog.session() as s:
            rows = s.execute(select(ArchivalUnit.object_id, ArchivalUnit.key).order_by(ArchivalUnit.key))
            return [(object_id, key) for object_id, key in rows]

    def _catalogued(self, au_key: str) -> tuple[int, dict[str, tuple[int, str, str]]] | None:
        """The AU's head version and its files, logical path -> (size, sha512, sha256), as the catalog has them when
        the AU's turn comes (None if it has gone since the audit began)."""
        with self.catalog.session() as s:
            au = s.scalar(select(ArchivalUnit).where(ArchivalUnit.key == au_key))
            if au is None:
                return None
            files = {path: (size, sha512, sha256) for path, size, sha512, sha256 in self.catalog.au_files(s, au)}
            return au.head_version, files

    def _uncatalogued(self, known: set[str]) -> tuple[list[AUAudit], set[str]]:
        """Objects in storage the catalog did not know: each is catalogued from its own record (and reported), or
        flagged when it cannot be. Objects a live process is still writing are not findings, nor are the objects of
        writes interrupted since the audit began: those are recovered, as at start-up."""
        found: list[AUAudit] = []
        with self.journal.orphans() as orphans:
            for intent in orphans:
                if self.store.exists(intent.object_id):
                    self.indexer.index(intent.object_id, recovered=True)
                self.journal.end(intent)
        known |= {object_id for object_id, _ in self._targets(())}
        writing = self.journal.in_flight()
        for object_id in self.store.iter_object_ids():
            if object_id in known or object_id in writing:
                continue
            try:
                result = self.indexer.index(object_id)
            except StorageError as exc:
                unknown = AUAudit(object_id, object_id)
                unknown.findings.append(
                    Finding("A009", object_id, f"in storage but not in the catalog, and cannot be catalogued: {exc}")
                )
                found.append(unknown)
                continue
            if not result.indexed:
                continue  # a deposit catalogued it a moment ago: nothing was missing
            audit = AUAudit(result.au_key, object_id)
            audit.findings.append(
                Finding("A009", object_id, f"was in storage but not in the catalog; catalogued now as {result.au_key}")
            )
            found.append(audit)
        return found, writing

    def audit(
        self, au_keys: Sequence[str] = (), *, progress: Progress | None = None, all_digests: bool = False
    ) -> AuditReport:
        """Audit ``au_keys`` (default: everything stored). Every file is checked against its inventory digest;
        with ``all_digests``, against the fixity block's second digest too (in the same read, at more processor
        cost: for an occasional deeper check, not every audit)."""
        started = time.monotonic()
        extra: list[AUAudit] = []
        if not au_keys:  # the whole node: what storage holds, not only what the catalog lists
            extra, _ = self._uncatalogued(set())
        targets = self._targets(au_keys)
        total_bytes = 0
        for object_id, _ in targets:
            with contextlib.suppress(StorageError, KeyError, TypeError, ValueError):
                total_bytes += self.store.stored_bytes(object_id)
        lock = threading.Lock()
        done = {"files": 0, "bytes": 0}

        def on_file(nbytes: int) -> None:
            with lock:
                done["files"] += 1
                done["bytes"] += nbytes
                if progress:
                    progress("auditing", done["files"], done["bytes"], total_bytes)

        results = []
        reported = {a.object_id: a for a in extra}
        for object_id, au_key in targets:
            result = AUAudit(au_key, object_id)
            if object_id in reported:  # found in storage only: its A009 comes first
                result.findings.extend(reported.pop(object_id).findings)
            self._audit_one(result, self._catalogued(au_key), on_file, all_digests)
            self._record(result)
            results.append(result)
        for flagged in reported.values():  # in storage, but no catalog row could be made for it
            self._audit_one(flagged, None, on_file, all_digests)
            self._record(flagged)
            results.append(flagged)
        return AuditReport(results, time.monotonic() - started)

    def _audit_one(
        self,
        result: AUAudit,
        catalogued: tuple[int, dict[str, tuple[int, str, str]]] | None,
        on_file: Callable[[int], None],
        all_digests: bool,
    ) -> None:
        if not self.store.exists(result.object_id):
            result.findings.append(Finding("A008", result.object_id, "the AU's OCFL object is missing from storage"))
            result.counts["missing"] += len(catalogued[1]) if catalogued else 0
            return
        try:
            obj = audit_object(self.store, result.object_id, on_file=on_file, all_digests=all_digests)
        except StorageError as exc:
            result.findings.append(Finding("A005", result.object_id, exc.message))
            return
        except (KeyError, TypeError, ValueError) as exc:  # an inventory whose sidecar matches but is not OCFL
            result.findings.append(Finding("A005", result.object_id, f"the inventory is malformed: {exc!r}"))
            return
        result.files = len(obj.checks)
        result.digests = obj.digests
        result.bytes = sum(c.size or 0 for c in obj.checks)
        for check in obj.checks:
            result.counts[check.status.value] += 1
            if check.status is not FileStatus.OK:
                result.findings.append(Finding(check.code, check.content_path, check.message))
        result.findings.extend(obj.inventory_findings)
        if catalogued is not None and obj.states:  # (no states: the inventory itself is unreadable, said above)
            _compare_catalog(result, catalogued[1], catalogued[0], obj)

    def _record(self, result: AUAudit) -> None:
        """The AU's fixity event, and in the same transaction its last audit as the AU keeps it (when the catalog
        knows the AU: an object found only in storage has no row to keep it on)."""
        with self.catalog.session() as s:
            event = self.catalog.record_event(
                s,
                EventType.FIXITY_CHECK,
                EventOutcome.SUCCESS if result.intact else EventOutcome.FAILURE,
                agent=self.agent,
                object_type="au",
                object_key=result.au_key,
                detail=_summary(result),
                data=result.to_dict(),
            )
            before = s.execute(
                select(ArchivalUnit.title_id, ArchivalUnit.last_audit_ok).where(ArchivalUnit.key == result.au_key)
            ).first()
            s.execute(
                update(ArchivalUnit)
                .where(ArchivalUnit.key == result.au_key)
                .values(last_audit_at=event.time, last_audit_ok=result.intact)
            )
            # KBART's "preserved" on a node in no network reads whether the last audit failed: the title's summary
            # follows it when that changes (a routine audit that finds the AU as intact as before leaves it alone)
            if before is not None and (before.last_audit_ok is False) != (not result.intact):
                title_summaries.refresh(s, [before.title_id])


def _summary(result: AUAudit) -> str:
    n = result.counts
    parts = [f"{n[s.value]} {s.value}" for s in FileStatus if n[s.value]]
    text = f"{result.files} files: " + (", ".join(parts) or "none")
    if result.digests:
        text += f" (checked by {' and '.join(result.digests)})"
    if result.findings:
        text += f"; {len(result.findings)} finding(s): " + ", ".join(sorted({f.code for f in result.findings}))
    return text
