"""Processing OJS deposits (:mod:`strongroom.services.pkppn`): one deposit at a time, from the journal's
announcement through download, checks and scanning to an OCFL version of its issue's AU, with each failure's state
and the message its journal manager reads, and back-off when it is tried again.

A deposit is claimed with a lease (so two processes never work on it at once, and a crashed one's claim runs out)
and every write is conditional on its generation (a re-POST by the journal meanwhile drops this run's work).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from strongroom.catalog.models import PkpDeposit, PkpJournal
from strongroom.catalog.repo import Catalog
from strongroom.domain.model import EventOutcome, EventType, TitleKind
from strongroom.domain.text import N_, Text
from strongroom.errors import PackageRejected, StrongroomError
from strongroom.formats import sword
from strongroom.formats.sword import Content
from strongroom.ingest.clamd import ClamdScanner, ScanLimitExceeded, ScannerUnavailable
from strongroom.ingest.deposit import DepositOptions
from strongroom.ingest.package import Package, PackageForm, open_package
from strongroom.ingest.remote import FetchFailed, download, head_size
from strongroom.progress import Reporter
from strongroom.services.deposit import Ingest
from strongroom.services.scratch import work_directory
from strongroom.settings import Settings

SIZE_TOLERANCE = 0.08  # the HEAD's Content-Length may differ from the announced size by this much (as PKP PN)
LEASE = dt.timedelta(hours=1)  # how long one process may work on a deposit before another may take it over
# Finding codes of the Native XML checks (well-formed, its schema, its metadata, the files it names); every other
# refusal of an opened package is the bag's.
XML_FINDINGS = {"P030", "P031", "P032", "P052", "P060", "P061", "P062"}


class Failed(Exception):
    """A processing step failed: the error state and the message for the journal manager. ``retry``: the step is
    tried again (a download, up to ``harvest_attempts`` times); ``node_side``: the trouble is the node's own (its
    virus scanner, its disk), tried again without limit while the deposit waits in ``wait_in``."""

    def __init__(
        self, state: str, message: Text, *, retry: bool = False, node_side: bool = False, wait_in: str = ""
    ) -> None:
        super().__init__(str(message))
        self.state = state
        self.message = message
        self.retry = retry or node_side
        self.node_side = node_side
        self.wait_in = wait_in or "depositedByJournal"


class Superseded(Exception):
    """The journal sent the deposit again while it was processed: this run's work is dropped."""


def content_of(d: PkpDeposit) -> Content:
    """What the journal's Atom entry said of its package."""
    return Content(
        url=d.url,
        size_kb=d.size_kb,
        checksum_type=d.checksum_type,
        checksum_value=d.checksum_value,
        volume=d.volume,
        issue=d.issue,
        pubdate=d.pubdate,
        ojs_version=d.ojs_version,
    )


def au_label(content: Content, deposit_uuid: str) -> str:
    """The AU an issue is stored as, under its journal's title: its year, volume and number."""
    year = content.pubdate[:4] if content.pubdate[:4].isdigit() else ""
    parts = [
        p
        for p in (year, f"v{content.volume}" if content.volume else "", f"n{content.issue}" if content.issue else "")
        if p
    ]
    label = "-".join(parts) if (content.volume or content.issue) else f"deposit-{deposit_uuid[:8].lower()}"
    return "".join(c if c.isalnum() or c in "-._" else "_" for c in label)[:100]


def record(
    catalog: Catalog,
    s: Session,
    object_type: str,
    key: str,
    detail: str,
    outcome: EventOutcome = EventOutcome.SUCCESS,
    *,
    agent: str = "pkppn",
) -> None:
    """An event about a PKP PN journal or deposit."""
    catalog.record_event(
        s, EventType.PKPPN, outcome, agent=agent, object_type=object_type, object_key=key, detail=detail
    )


class DepositPipeline:
    def __init__(
        self,
        catalog: Catalog,
        settings: Settings,
        ingest: Ingest,
        network_preserved: Callable[[], set[str] | None],
        *,
        scanner: Callable[[], ClamdScanner],
        allow_private: bool,
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        self.config = settings.pkppn
        self.ingest = ingest
        self.network_preserved = network_preserved  # None when the node is in no network
        self.scanner = scanner
        self.allow_private = allow_private

    def uuid_of(self, dep_id: int) -> str:
        with self.catalog.session() as s:
            return s.scalar(select(PkpDeposit.uuid).where(PkpDeposit.id == dep_id)) or ""

    def due(self, now: dt.datetime) -> list[int]:
        waiting = [s for s in sword.PROCESSING_STATES if s != "deposited"]
        with self.catalog.session() as s:
            return list(
                s.scalars(
                    select(PkpDeposit.id)
                    .join(PkpJournal, PkpDeposit.journal_id == PkpJournal.id)
                    .where(
                        PkpDeposit.state.in_(waiting),
                        PkpJournal.status == "accepted",
                        or_(PkpDeposit.next_attempt_at.is_(None), PkpDeposit.next_attempt_at <= now),
                        or_(PkpDeposit.lease_until.is_(None), PkpDeposit.lease_until <= now),
                    )
                    .order_by(PkpDeposit.received_at, PkpDeposit.id)
                )
            )

    def _claim(self, dep_id: int) -> int | None:
        """Take the deposit for this process (None when another has it); returns its received count, which a
        re-POST raises, so that this run's writes are dropped if the journal sent it again meanwhile."""
        now = self.catalog.clock.now()
        with self.catalog.session() as s:
            result = s.execute(
                update(PkpDeposit)
                .where(PkpDeposit.id == dep_id, or_(PkpDeposit.lease_until.is_(None), PkpDeposit.lease_until <= now))
                .values(lease_until=now + LEASE)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return None
            return s.scalar(select(PkpDeposit.received_count).where(PkpDeposit.id == dep_id))

    def _set(self, dep_id: int, generation: int, **values: Any) -> None:
        now = self.catalog.clock.now()
        with self.catalog.session() as s:
            result = s.execute(
                update(PkpDeposit)
                .where(PkpDeposit.id == dep_id, PkpDeposit.received_count == generation)
                .values(updated_at=now, **values)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise Superseded()

    def run(self, dep_id: int, reporter: Reporter) -> tuple[str | None, str]:
        """Take one deposit through every step it has left; its new state and the message for its manager (None
        when another process has it, or the journal sent it again meanwhile)."""
        generation = self._claim(dep_id)
        if generation is None:
            return None, ""
        with self.catalog.session() as s:
            d = s.get(PkpDeposit, dep_id)
            assert d is not None
            j = d.journal
            facts = (j.uuid, j.title, j.issn, j.publisher_name, j.journal_url, j.email, d.uuid, d.attempts)
            content = content_of(d)
            licence = dict(d.licence or {})
        duuid, attempts = facts[6], facts[7]
        try:
            try:
                result = self._pipeline(dep_id, generation, content, licence, facts, reporter)
            except (OSError, StrongroomError) as exc:  # the node's own trouble (its staging area, its disk)
                reason = exc.message if isinstance(exc, StrongroomError) else f"{exc.strerror or exc}"
                raise Failed("deposit-error", _node_trouble(reason), node_side=True) from exc
            except Failed as failure:
                return self._failed(dep_id, generation, duuid, attempts, failure)
        except Failed as failure:
            return self._failed(dep_id, generation, duuid, attempts, failure)
        except Superseded:
            return None, ""
        return "deposited", f"stored as v{result[1]} of {result[0]}"

    def _failed(self, dep_id: int, generation: int, duuid: str, attempts: int, failure: Failed) -> tuple[str, str]:
        now = self.catalog.clock.now()
        attempts += 1
        if failure.retry and (failure.node_side or attempts < self.config.harvest_attempts):
            seconds = min(self.config.retry_seconds * 2 ** (attempts - 1), 86400)
            when = now + dt.timedelta(seconds=seconds)
            attempt = str(attempts) if failure.node_side else f"{attempts}/{self.config.harvest_attempts}"
            note = N_(
                "%(problem)s This was try %(attempt)s; the node tries again after %(when)s UTC.",
                problem=failure.message,
                attempt=attempt,
                when=when.strftime("%Y-%m-%d %H:%M"),
            )
            self._set(
                dep_id,
                generation,
                state=failure.wait_in,
                error=store_text(note),
                attempts=attempts,
                next_attempt_at=when,
                lease_until=None,
            )
            self._event(duuid, EventOutcome.WARNING, f"{failure.state} (tried again later): {failure.message}")
            return failure.wait_in, str(note)
        self._set(
            dep_id,
            generation,
            state=failure.state,
            error=store_text(failure.message),
            attempts=attempts,
            next_attempt_at=None,
            lease_until=None,
        )
        self._event(duuid, EventOutcome.FAILURE, f"{failure.state}: {failure.message}")
        return failure.state, str(failure.message)

    def _event(self, duuid: str, outcome: EventOutcome, detail: str) -> None:
        with self.catalog.session() as s:
            record(self.catalog, s, "deposit", duuid, detail, outcome)

    def _pipeline(
        self,
        dep_id: int,
        generation: int,
        content: Content,
        licence: dict[str, str],
        facts: tuple[Any, ...],
        reporter: Reporter,
    ) -> tuple[str, int]:
        juuid, jtitle, issn, publisher, jurl, email, duuid, _ = facts
        url, declared = content.url, content.size_kb * 1000
        with work_directory(self.settings.resolved_staging(), prefix="pkppn-") as workdir:
            # 1. harvest: the size the journal's server gives must be near what the deposit said
            try:
                size = head_size(url, allow_private=self.allow_private)
            except FetchFailed as exc:
                raise Failed("harvest-error", _harvest_problem(url, exc.reason), retry=exc.retry) from None
            if size is not None and abs(size - declared) > max(declared * SIZE_TOLERANCE, 1000):
                raise Failed(
                    "harvest-error",
                    N_(
                        "The package at %(url)s is %(actual)s bytes, but the deposit announced about %(declared)s. "
                        "Reset the deposit in the plugin so that it packages and announces the issue again.",
                        url=url,
                        actual=size,
                        declared=declared,
                    ),
                )
            limit = min(self.config.max_upload_mb * 1_000_000, int(declared * (1 + SIZE_TOLERANCE)) + 1000)
            try:
                fetched = download(
                    url,
                    workdir / "package.zip",
                    limit=limit,
                    checksum_type=content.checksum_type,
                    allow_private=self.allow_private,
                )
            except FetchFailed as exc:
                raise Failed("harvest-error", _harvest_problem(url, exc.reason), retry=exc.retry) from None
            self._set(dep_id, generation, state="harvested", error=None)
            # 2. the payload is what the journal announced
            if fetched.digest.lower() != content.checksum_value.lower():
                raise Failed(
                    "payload-error",
                    N_(
                        "The downloaded package's %(type)s checksum is %(actual)s, not %(expected)s as the deposit "
                        "said: the package changed after it was announced. Reset the deposit in the plugin.",
                        type=content.checksum_type,
                        actual=fetched.digest,
                        expected=content.checksum_value,
                    ),
                )
            self._set(dep_id, generation, state="payload-validated")
            # 3 and 4. the bag, then the Native XML against the schemas in the package
            package = self._open(fetched.path, workdir / "open")
            self._set(dep_id, generation, state="bag-validated")
            self._set(dep_id, generation, state="xml-validated")
            # 5. clamd scans every file
            self._scan(package)
            self._set(dep_id, generation, state="virus-checked")
            # 6. the deposit record carries what the plugin said, as PKP PN re-bags with PKP-PLN-* tags
            tags = {
                "PKP-PLN-Deposit-UUID": duuid,
                "PKP-PLN-Journal-UUID": juuid,
                "PKP-PLN-Volume": content.volume,
                "PKP-PLN-Issue": content.issue,
                "PKP-PLN-Pub-Date": content.pubdate,
                "PKP-PLN-Journal-Title": jtitle,
                "PKP-PLN-ISSN": issn or "",
                "PKP-PLN-Journal-URL": jurl,
                "PKP-PLN-Journal-Email": email,
                "PKP-PLN-Publisher": publisher,
                "PKP-PLN-License-URL": licence.get("licenseURL", ""),
                "PKP-PLN-Publishing-Mode": licence.get("publishingMode", ""),
            }
            for key, value in tags.items():
                package.bag_info[key] = [value]
            self._set(dep_id, generation, state="reserialized")
            options = DepositOptions(
                publisher=publisher or None,
                platform="OJS " + content.ojs_version if content.ojs_version else "OJS",
                title=jtitle or None,
                issn=issn,
                au=au_label(content, duuid),
                kind=TitleKind.JOURNAL,
                licence=licence.get("licenseURL") or None,
            )
            try:
                result = self.ingest.commit(
                    package,
                    workdir,
                    options,
                    name=f"PKP PN deposit {duuid}",
                    reporter=reporter,
                    message=f"PKP PN deposit {duuid} from {jurl or juuid} ({len(package.items)} items)",
                )
            except PackageRejected as exc:
                raise Failed("deposit-error", _findings_problem("deposit-error", exc)) from None
            except StrongroomError as exc:  # the node's own trouble (a full disk): not the journal's to fix
                raise Failed(
                    "deposit-error", _node_trouble(exc.message), node_side=True, wait_in="reserialized"
                ) from None
        now = self.catalog.clock.now()
        title_key = result.au_key.rsplit("/", 1)[0]
        self._set(
            dep_id,
            generation,
            state="deposited",
            error=None,
            au_key=result.au_key,
            au_version=result.version,
            deposited_at=now,
            preserved_at=None,
            next_attempt_at=None,
            lease_until=None,
        )
        with self.catalog.session() as s:
            j = s.scalar(select(PkpJournal).where(PkpJournal.uuid == juuid))
            if j is not None:
                j.title_key = title_key
        self._event(
            duuid,
            EventOutcome.SUCCESS,
            f"deposited as v{result.version} of {result.au_key}" + (" (unchanged)" if result.unchanged else ""),
        )
        return result.au_key, result.version

    def _open(self, path: Path, workdir: Path) -> Package:
        workdir.mkdir()
        try:
            package = open_package(path, workdir, self.settings.limits)
        except PackageRejected as exc:
            xml = [f for f in exc.findings if f.code in XML_FINDINGS]
            state = "xml-error" if xml and len(xml) == len(exc.findings) else "bag-error"
            raise Failed(state, _findings_problem(state, exc)) from None
        if package.form != PackageForm.OJS_NATIVE:
            raise Failed(
                "xml-error",
                N_(
                    "The package holds no OJS Native XML export of an issue (it was read as %(form)s). Deposit it "
                    "from OJS's PKP Preservation Network plugin, which packages the issue's export.",
                    form=str(package.form),
                ),
            )
        return package

    def _scan(self, package: Package) -> None:
        try:
            scanner = self.scanner()
            for f in package.files:
                found = scanner.scan_file(f.source)
                if not found.clean:
                    raise Failed(
                        "virus-error",
                        N_(
                            "The virus scanner found %(signature)s in %(file)s. Replace that file in OJS with a "
                            "clean copy, then reset the deposit in the plugin.",
                            signature=found.signature or "a virus",
                            file=f.relpath,
                        ),
                    )
        except (ScannerUnavailable, ScanLimitExceeded) as exc:
            raise Failed(
                "virus-error",
                N_(
                    "The node's virus scanner is not answering (%(reason)s). Nothing is needed from you: the node's "
                    "staff are told and the node tries again.",
                    reason=exc.message,
                ),
                node_side=True,
                wait_in="xml-validated",
            ) from None

    def update_preservation(self) -> int:
        """Mark deposited issues the network now holds enough copies of; returns how many became preserved."""
        with self.catalog.session() as s:
            waiting = list(
                s.execute(
                    select(PkpDeposit.id, PkpDeposit.au_key, PkpDeposit.uuid).where(
                        PkpDeposit.state == "deposited", PkpDeposit.preserved_at.is_(None)
                    )
                )
            )
        if not waiting:
            return 0
        preserved = self.network_preserved()
        if preserved is None:
            return 0
        from strongroom.ingest.deposit import object_id_for

        now = self.catalog.clock.now()
        count = 0
        for dep_id, au_key, duuid in waiting:
            if au_key and object_id_for(au_key) in preserved:
                with self.catalog.session() as s:
                    s.execute(update(PkpDeposit).where(PkpDeposit.id == dep_id).values(preserved_at=now))
                self._event(duuid, EventOutcome.SUCCESS, f"preserved in the network ({au_key})")
                count += 1
        return count


def store_text(text: Text) -> dict[str, Any]:
    """A message as the catalog keeps it (template and values, nested messages too), to translate when shown."""
    return {
        "message": text.template,
        "values": {k: store_text(v) if isinstance(v, Text) else str(v) for k, v in text.values.items()},
    }


def load_text(data: dict[str, Any]) -> Text:
    values = {k: load_text(v) if isinstance(v, dict) else str(v) for k, v in (data.get("values") or {}).items()}
    return Text(str(data.get("message", "")), values)


def _node_trouble(reason: str) -> Text:
    return N_(
        "The node could not finish processing the deposit (%(reason)s). Nothing is needed from you: the node's "
        "staff are told and the node tries again.",
        reason=reason,
    )


def _harvest_problem(url: str, reason: str) -> Text:
    return N_(
        "The node could not download the package from %(url)s: %(reason)s. Check that the journal's site is "
        "reachable from the internet and that the PKP Preservation Network plugin is enabled.",
        url=url,
        reason=reason,
    )


def _findings_problem(state: str, exc: PackageRejected) -> Text:
    problems = "; ".join(f"{f.code} {f.path}: {f.message}".replace("  ", " ") for f in exc.findings[:5])
    if len(exc.findings) > 5:
        problems += f"; and {len(exc.findings) - 5} more"
    if state == "xml-error":
        return N_(
            "The issue's Native XML export does not pass its schema: %(problems)s. Correct the issue's metadata in "
            "OJS where the message points, then reset the deposit in the plugin.",
            problems=problems,
        )
    if state == "deposit-error":
        return N_(
            "The issue could not be catalogued: %(problems)s. Correct the issue's metadata in OJS, then reset the "
            "deposit in the plugin.",
            problems=problems,
        )
    return N_(
        "The package is not a complete, valid BagIt bag: %(problems)s. Reset the deposit in the plugin so that it "
        "packages the issue again; if this happens again, write to the node's staff.",
        problems=problems,
    )
