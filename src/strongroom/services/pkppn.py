"""The PKP Preservation Network deposit service: OJS journals preserve themselves by pointing the plugin's network
URL at this node (``docs/pkppn.md``).

A journal registers with its service-document request; it is accepted automatically when its PLN gateway says
its OJS is recent enough and its manager accepted the terms, or by an operator (``strongroom pkppn accept``).
Each deposit (one OJS issue) is received from the plugin's Atom entry and processed by the scheduler, or once by
``strongroom pkppn process``, through the states the plugin shows its journal manager:

``depositedByJournal`` → ``harvested`` (HEAD size check, download) → ``payload-validated`` (checksum) →
``bag-validated`` → ``xml-validated`` (Native XML against the package's own schemas) → ``virus-checked`` (clamd)
→ ``reserialized`` (the deposit record with the ``PKP-PLN-*`` facts) → ``deposited`` (an OCFL version of the
issue's AU under the journal's title, its articles catalogued).

A failure is an ``*-error`` state with a message, in the manager's language, that says what to do; nothing is
stored. A download that fails is tried again after ``retry_seconds``, doubling, up to ``harvest_attempts`` times.
The preservation state is ``inProgress`` once deposited and ``agreement`` once the network holds the AU as
``network status`` counts it preserved (target copies in enough countries); a node in no network keeps one copy,
which is not preservation in the network's sense, so its deposits stay ``inProgress``.

A repeated POST of a deposit the node knows is an update (the plugin's 3.4 and main branches always POST): the
deposit starts again from ``depositedByJournal`` and a changed package becomes a new version of the same AU.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from strongroom.catalog.models import PkpDeposit, PkpJournal
from strongroom.catalog.repo import Catalog
from strongroom.domain.identifiers import normalise_issn
from strongroom.domain.model import EventOutcome, EventType, TitleKind
from strongroom.domain.text import N_, Text
from strongroom.errors import InvalidIdentifier, NotFound, PackageRejected, StrongroomError
from strongroom.formats import sword
from strongroom.formats.sword import Content, EntryError, Term
from strongroom.ingest.clamd import ClamdScanner, ScanLimitExceeded, ScannerUnavailable
from strongroom.ingest.deposit import DepositOptions
from strongroom.ingest.package import Package, PackageForm, open_package
from strongroom.ingest.remote import FetchFailed, download, get_small, head_size
from strongroom.progress import NullReporter, Reporter
from strongroom.services.deposit import Ingest
from strongroom.services.scratch import work_directory
from strongroom.settings import Settings

SIZE_TOLERANCE = 0.08  # the HEAD's Content-Length may differ from the announced size by this much (as PKP PN)
LEASE = dt.timedelta(hours=1)  # how long one process may work on a deposit before another may take it over
HANDSHAKE_LIMIT = 256 * 1024
# Finding codes of the Native XML checks (well-formed, its schema, its metadata, the files it names); every other
# refusal of an opened package is the bag's.
XML_FINDINGS = {"P030", "P031", "P032", "P052", "P060", "P061", "P062"}

# The terms a journal's manager agrees to in the plugin. The plugin keeps the keys, texts and dates it was
# shown and stops every deposit until the terms are accepted again when any of them changes: they are constants,
# never regenerated, so the service document is byte-identical across restarts.
TERMS_UPDATED = "2026-12-01T00:00:00Z"
TERMS = (
    (
        "plugins.generic.pln.terms_of_use.jm_has_authority",
        "2026-12-01T00:00:00Z",
        N_(
            "I have the legal and contractual authority to include this journal's content in a secure "
            "preservation network and, if and when necessary, to make the content available in the Strongroom "
            "network's public portal."
        ),
    ),
    (
        "plugins.generic.pln.terms_of_use.licensing_is_current",
        "2026-12-01T00:00:00Z",
        N_(
            "I agree to keep the journal's licensing information current, so that content released from the "
            "archive carries the licence its authors and publisher chose."
        ),
    ),
    (
        "plugins.generic.pln.terms_of_use.trigger_events",
        "2026-12-01T00:00:00Z",
        N_(
            "I agree that the network's board may release the journal's content, open access under a Creative "
            "Commons licence, if the journal ceases publication, withdraws a title, or its platform fails for "
            "long enough that readers can no longer reach it."
        ),
    ),
)

# What the plugin shows its journal manager for each state: where the deposit is, and what happens next.
STATE_LABELS: dict[str, Text] = {
    "depositedByJournal": N_("Received; the node will download the package shortly."),
    "harvested": N_("The package was downloaded; it is being checked."),
    "payload-validated": N_("The package's checksum matches; its bag is being checked."),
    "bag-validated": N_("The bag is complete; the issue's Native XML is being checked."),
    "xml-validated": N_("The Native XML is valid; the files are being scanned for viruses."),
    "virus-checked": N_("No virus was found; the issue is being stored."),
    "reserialized": N_("The issue is being stored."),
    "deposited": N_("Stored in the archive."),
}
PRESERVATION_LABELS: dict[str, Text] = {
    "": N_("Not stored yet."),
    "inProgress": N_("Stored on this node; the network is making and checking its copies."),
    "agreement": N_("Preserved: the network holds enough verified copies in enough countries."),
}


@dataclass(frozen=True)
class JournalView:
    uuid: str
    title: str
    journal_url: str
    issn: str | None
    publisher_name: str
    email: str
    language: str
    status: str  # new, accepted, refused
    status_note: str
    ojs_version: str | None
    terms_accepted: bool | None
    handshake_at: dt.datetime | None
    handshake_error: str
    deposits: int
    created_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for k in ("handshake_at", "created_at"):
            out[k] = out[k].isoformat() if out[k] else None
        return out


@dataclass(frozen=True)
class DepositView:
    uuid: str
    journal_uuid: str
    journal_title: str
    journal_language: str
    url: str
    content: Content
    state: str
    preservation: str
    message: Text  # what the journal manager is told, to translate
    attempts: int
    next_attempt_at: dt.datetime | None
    au_key: str | None
    au_version: int | None
    received_count: int
    received_at: dt.datetime
    updated_at: dt.datetime
    deposited_at: dt.datetime | None
    preserved_at: dt.datetime | None
    licence: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            k: v for k, v in self.__dict__.items() if k not in ("content", "message", "journal_language")
        }
        out["message"] = str(self.message)
        out["volume"], out["issue"], out["pubdate"] = self.content.volume, self.content.issue, self.content.pubdate
        out["size_kb"] = self.content.size_kb
        for k in ("next_attempt_at", "received_at", "updated_at", "deposited_at", "preserved_at"):
            out[k] = out[k].isoformat() if out[k] else None
        return out


@dataclass
class ProcessSummary:
    journals_checked: int = 0
    journals_accepted: int = 0
    processed: int = 0
    deposited: int = 0
    failed: int = 0
    retrying: int = 0
    waiting: int = 0
    preserved: int = 0
    outcomes: list[tuple[str, str, str]] = field(default_factory=list)  # (deposit, state, message)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "outcomes"} | {
            "outcomes": [{"deposit": d, "state": s, "message": m} for d, s, m in self.outcomes]
        }


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


def _now_iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _issn(raw: str) -> str | None:
    try:
        return normalise_issn(raw) if raw else None
    except InvalidIdentifier:
        return None


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


class PkpPn:
    def __init__(
        self,
        catalog: Catalog,
        settings: Settings,
        ingest: Ingest,
        network_preserved: Callable[[], set[str] | None],
        *,
        base_url: str,
        scanner: Callable[[], ClamdScanner] | None = None,
        allow_private: bool = False,
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        self.config = settings.pkppn
        self.ingest = ingest
        self.network_preserved = network_preserved  # None when the node is in no network
        self.base_url = base_url.rstrip("/")
        self.scanner = scanner or (lambda: ClamdScanner(self.config.clamd))
        self.allow_private = allow_private

    # ---- the service document and journals -------------------------------------------------------------------

    def sword_url(self, path: str) -> str:
        return f"{self.base_url}/api/sword/2.0/{path}"

    def terms(self) -> list[tuple[str, str, Text]]:
        return [(key, updated, text) for key, updated, text in TERMS]

    def service_document(
        self, journal_uuid: str, journal_url: str, language: str, translate: Callable[[Text], str]
    ) -> bytes:
        """The service document for a journal's plugin, registering the journal (and shaking hands with it while
        it is new)."""
        uuid = sword.normal_uuid(journal_uuid)
        journal = self._register(uuid, journal_url=journal_url, language=language)
        if journal.status == "new":
            self.handshake(uuid)
            journal = self.journal(uuid)
        accepting = self.config.accepting and journal.status != "refused"
        if not self.config.accepting:
            message = self.config.accepting_message
        elif journal.status == "refused":
            message = translate(
                N_(
                    "This node's staff did not accept this journal: %(reason)s. Write to them to ask why.",
                    reason=journal.status_note or "-",
                )
            )
        else:
            message = self.config.accepting_message
        return sword.service_document(
            title=self.settings.node_name,
            collection_href=self.sword_url(f"col-iri/{uuid}"),
            accepting=accepting,
            message=message,
            checksum_type=self.config.checksum_type,
            max_upload_kb=self.config.max_upload_mb * 1000,
            terms=[Term(key, updated, translate(text)) for key, updated, text in TERMS],
            terms_updated=TERMS_UPDATED,
        )

    def _register(self, uuid: str, **fields: str) -> JournalView:
        now = self.catalog.clock.now()
        with self.catalog.session() as s:
            journal = s.scalar(select(PkpJournal).where(PkpJournal.uuid == uuid))
            if journal is None:
                journal = PkpJournal(uuid=uuid, status="new", created_at=now, updated_at=now)
                s.add(journal)
                s.flush()
                self._record(
                    s, "journal", uuid, f"OJS journal registered from {fields.get('journal_url') or 'a deposit'}"
                )
            for key, value in fields.items():
                if value:
                    setattr(journal, key, value)
            journal.updated_at = now
            s.flush()
            return self._journal_view(s, journal)

    def _journal_view(self, s: Session, j: PkpJournal) -> JournalView:
        count = len(list(s.scalars(select(PkpDeposit.id).where(PkpDeposit.journal_id == j.id))))
        return JournalView(
            uuid=j.uuid,
            title=j.title,
            journal_url=j.journal_url,
            issn=j.issn,
            publisher_name=j.publisher_name,
            email=j.email,
            language=j.language,
            status=j.status,
            status_note=j.status_note,
            ojs_version=j.ojs_version,
            terms_accepted=j.terms_accepted,
            handshake_at=j.handshake_at,
            handshake_error=j.handshake_error,
            deposits=count,
            created_at=j.created_at,
        )

    def journal(self, ref: str) -> JournalView:
        """A journal by its UUID, or an unambiguous start of it (as operators type them)."""
        with self.catalog.session() as s:
            return self._journal_view(s, self._find_journal(s, ref))

    def _find_journal(self, s: Session, ref: str) -> PkpJournal:
        key = ref.strip().upper()
        if key.startswith("URN:UUID:"):
            key = key[9:]
        found = list(s.scalars(select(PkpJournal).where(PkpJournal.uuid.startswith(key)).limit(2))) if key else []
        if len(found) != 1:
            raise NotFound(
                f"no journal {ref!r}" if not found else f"{ref!r} is the start of more than one journal's UUID",
                hint="list them with: strongroom pkppn journals",
            )
        return found[0]

    def journals(self, status: str | None = None) -> list[JournalView]:
        with self.catalog.session() as s:
            stmt = select(PkpJournal).order_by(PkpJournal.created_at, PkpJournal.id)
            if status:
                stmt = stmt.where(PkpJournal.status == status)
            return [self._journal_view(s, j) for j in s.scalars(stmt)]

    def handshake(self, ref: str) -> JournalView:
        """Ask the journal's PLN gateway which OJS it runs and whether its terms are accepted; accept the journal
        when both are as the settings ask."""
        with self.catalog.session() as s:
            j = self._find_journal(s, ref)
            url, uuid = j.journal_url.rstrip("/"), j.uuid
        now = self.catalog.clock.now()
        gateway = f"{url}/gateway/plugin/PLNGatewayPlugin"
        error, shake = "", None
        if not url:
            error = "the journal has not said where it is (no Journal-URL)"
        else:
            try:
                shake = sword.parse_handshake(
                    get_small(gateway, limit=HANDSHAKE_LIMIT, allow_private=self.allow_private)
                )
            except (FetchFailed, EntryError) as exc:
                error = f"{gateway}: {exc}"
        with self.catalog.session() as s:
            j = self._find_journal(s, uuid)
            j.handshake_at, j.handshake_error, j.updated_at = now, error, now
            if shake is not None:
                j.ojs_version, j.terms_accepted = shake.ojs_release or None, shake.terms_accepted
                if shake.title and not j.title:
                    j.title = shake.title
                recent = sword.release_tuple(shake.ojs_release) >= sword.release_tuple(self.config.min_ojs_version)
                if j.status == "new":
                    if recent and shake.terms_accepted:
                        j.status = "accepted"
                        j.status_note = f"accepted automatically: OJS {shake.ojs_release}, terms accepted"
                        self._record(s, "journal", uuid, j.status_note)
                    elif not recent:
                        j.status_note = (
                            f"OJS {shake.ojs_release or '(unknown)'} is older than {self.config.min_ojs_version}: "
                            "an operator may accept it with strongroom pkppn accept"
                        )
                    else:
                        j.status_note = "the journal's manager has not accepted the terms yet"
            elif j.status == "new":
                j.status_note = f"handshake failed ({error}): an operator may accept it with strongroom pkppn accept"
            return self._journal_view(s, j)

    def decide(self, ref: str, *, accept: bool, note: str, agent: str) -> JournalView:
        """An operator accepts or refuses a journal. A refused journal's plugin is told it is not accepted (with
        ``note``) and its waiting deposits are held; accepting it later releases them."""
        now = self.catalog.clock.now()
        with self.catalog.session() as s:
            j = self._find_journal(s, ref)
            j.status = "accepted" if accept else "refused"
            j.status_note = note or ("accepted by an operator" if accept else "refused by an operator")
            j.updated_at = now
            if accept:  # held deposits go on
                s.execute(
                    update(PkpDeposit)
                    .where(PkpDeposit.journal_id == j.id, PkpDeposit.state == sword.HOLD)
                    .values(state="depositedByJournal", error=None, next_attempt_at=None, updated_at=now)
                )
            verdict = "accepted" if accept else "refused"
            outcome = EventOutcome.SUCCESS if accept else EventOutcome.WARNING
            self._record(s, "journal", j.uuid, f"journal {verdict}: {j.status_note}", outcome, agent=agent)
            return self._journal_view(s, j)

    # ---- deposits ----------------------------------------------------------------------------------------------

    def receive(self, journal_uuid: str, body: bytes, *, deposit_uuid: str | None = None) -> DepositView:
        """A deposit (POST to col-iri) or its edit (PUT to cont-iri/…/edit). A known deposit UUID is an update: it
        starts again from the beginning. Raises EntryError for an entry that cannot be a deposit."""
        juuid = sword.normal_uuid(journal_uuid)
        entry = sword.parse_entry(body)
        if deposit_uuid is not None and sword.normal_uuid(deposit_uuid) != entry.deposit_uuid:
            raise EntryError(f"the entry's id is {entry.deposit_uuid}, but it was sent to deposit {deposit_uuid}")
        if entry.content.checksum_type != self.config.checksum_type:
            raise EntryError(
                f"the checksum is {entry.content.checksum_type}; this node asks for {self.config.checksum_type} "
                "in its service document"
            )
        limit_kb = self.config.max_upload_mb * 1000
        if entry.content.size_kb > limit_kb:
            raise EntryError(f"the package is {entry.content.size_kb} kB; this node takes at most {limit_kb} kB")
        self._register(
            juuid,
            title=entry.title,
            journal_url=entry.journal_url,
            publisher_name=entry.publisher_name,
            publisher_url=entry.publisher_url,
            email=entry.email,
            issn=_issn(entry.issn) or "",
        )
        now = self.catalog.clock.now()
        with self.catalog.session() as s:
            j = s.scalar(select(PkpJournal).where(PkpJournal.uuid == juuid))
            assert j is not None
            d = s.scalar(select(PkpDeposit).where(PkpDeposit.uuid == entry.deposit_uuid))
            if d is not None and d.journal_id != j.id:
                raise EntryError(f"deposit {entry.deposit_uuid} belongs to another journal")
            state = sword.HOLD if j.status == "refused" else "depositedByJournal"
            if d is None:
                d = PkpDeposit(uuid=entry.deposit_uuid, journal_id=j.id, received_count=1, received_at=now)
                s.add(d)
                detail = "deposit received"
            else:
                d.received_count += 1
                detail = f"deposit received again (update {d.received_count - 1}); processing starts over"
            c = entry.content
            d.url, d.size_kb, d.checksum_type, d.checksum_value = c.url, c.size_kb, c.checksum_type, c.checksum_value
            d.volume, d.issue, d.pubdate, d.ojs_version = c.volume, c.issue, c.pubdate, c.ojs_version
            d.licence = dict(entry.licence)
            d.state, d.error, d.attempts, d.next_attempt_at, d.lease_until = state, None, 0, None, None
            d.updated_at = now
            s.flush()
            about = f"{detail}: {c.url} ({c.size_kb} kB, vol {c.volume or '-'} no {c.issue or '-'})"
            self._record(s, "deposit", d.uuid, about, agent=f"journal:{juuid}")
            return self._deposit_view(j, d)

    def _deposit_view(self, j: PkpJournal, d: PkpDeposit) -> DepositView:
        content = Content(
            url=d.url,
            size_kb=d.size_kb,
            checksum_type=d.checksum_type,
            checksum_value=d.checksum_value,
            volume=d.volume,
            issue=d.issue,
            pubdate=d.pubdate,
            ojs_version=d.ojs_version,
        )
        preservation = "agreement" if d.preserved_at else ("inProgress" if d.state == "deposited" else "")
        return DepositView(
            uuid=d.uuid,
            journal_uuid=j.uuid,
            journal_title=j.title,
            journal_language=j.language,
            url=d.url,
            content=content,
            state=d.state,
            preservation=preservation,
            message=self._message(j, d),
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at,
            au_key=d.au_key,
            au_version=d.au_version,
            received_count=d.received_count,
            received_at=d.received_at,
            updated_at=d.updated_at,
            deposited_at=d.deposited_at,
            preserved_at=d.preserved_at,
            licence=dict(d.licence or {}),
        )

    def _message(self, j: PkpJournal, d: PkpDeposit) -> Text:
        if d.error:
            return load_text(d.error)
        if d.state == sword.HOLD:
            if j.status == "refused":
                return N_(
                    "On hold: this node's staff did not accept the journal (%(reason)s).", reason=j.status_note or "-"
                )
            return N_("On hold until this node's staff accept the journal; nothing is needed from you.")
        if d.state == "depositedByJournal" and j.status != "accepted":
            return N_(
                "Received; waiting for this node's staff to accept the journal (the node checks its OJS version "
                "and that the terms were accepted)."
            )
        return STATE_LABELS.get(d.state, N_("Received."))

    def preservation_label(self, view: DepositView) -> Text:
        return PRESERVATION_LABELS[view.preservation]

    def statement(self, deposit_uuid: str, translate: Callable[[Text], str]) -> bytes | None:
        """The statement of a deposit this node holds (whatever journal path it was asked under: a 4xx would
        make the plugin start again from scratch), or None for a deposit it has never received."""
        try:
            uuid = sword.normal_uuid(deposit_uuid)
        except EntryError:
            return None
        view = self.deposit(uuid, missing_ok=True)
        if view is None:
            return None
        return self.render_statement(view, translate)

    def render_statement(self, view: DepositView, translate: Callable[[Text], str]) -> bytes:
        return sword.statement(
            deposit_uuid=view.uuid,
            processing=view.state,
            processing_label=translate(view.message),
            preservation=view.preservation,
            preservation_label=translate(self.preservation_label(view)),
            content=view.content,
            updated=_now_iso(view.updated_at),
            state_href=self.sword_url(f"cont-iri/{view.journal_uuid}/{view.uuid}/state"),
        )

    def deposit(self, ref: str, *, missing_ok: bool = False) -> DepositView | None:
        key = ref.strip().upper()
        with self.catalog.session() as s:
            rows = (
                list(
                    s.execute(
                        select(PkpJournal, PkpDeposit)
                        .join(PkpJournal, PkpDeposit.journal_id == PkpJournal.id)
                        .where(PkpDeposit.uuid.startswith(key))
                        .limit(2)
                    )
                )
                if key
                else []
            )
            if len(rows) == 1:
                return self._deposit_view(rows[0][0], rows[0][1])
        if missing_ok:
            return None
        raise NotFound(
            f"no deposit {ref!r}" if not rows else f"{ref!r} is the start of more than one deposit's UUID",
            hint="list them with: strongroom pkppn deposits",
        )

    def deposits(
        self, *, journal: str | None = None, title_keys: Iterable[str] | None = None, state: str | None = None
    ) -> list[DepositView]:
        """Deposits, newest first: of one journal, of the journals whose titles are ``title_keys`` (a publisher's
        pages), or all; ``state`` may be a state or ``error``."""
        with self.catalog.session() as s:
            stmt = (
                select(PkpJournal, PkpDeposit)
                .join(PkpJournal, PkpDeposit.journal_id == PkpJournal.id)
                .order_by(PkpDeposit.received_at.desc(), PkpDeposit.id.desc())
            )
            if journal:
                stmt = stmt.where(PkpJournal.id == self._find_journal(s, journal).id)
            if title_keys is not None:
                stmt = stmt.where(PkpJournal.title_key.in_(list(title_keys)))
            if state == "error":
                stmt = stmt.where(PkpDeposit.state.in_(sword.ERROR_STATES))
            elif state:
                stmt = stmt.where(PkpDeposit.state == state)
            return [self._deposit_view(j, d) for j, d in s.execute(stmt)]

    # ---- processing --------------------------------------------------------------------------------------------

    def process(self, *, reporter: Reporter | None = None, limit: int | None = None) -> ProcessSummary:
        """One round: shake hands with new journals, process every deposit that is due, and look again at the
        preservation of deposited issues."""
        reporter = reporter or NullReporter()
        summary = ProcessSummary()
        now = self.catalog.clock.now()
        retry_after = dt.timedelta(seconds=self.config.retry_seconds)
        for j in self.journals(status="new"):
            if j.handshake_at is None or now - j.handshake_at >= retry_after:
                summary.journals_checked += 1
                if self.handshake(j.uuid).status == "accepted":
                    summary.journals_accepted += 1
        due = self._due(now)
        if limit is not None:
            due = due[:limit]
        for n, dep_id in enumerate(due, 1):
            reporter.stage(f"deposit {n} of {len(due)}")
            state, message = self._process_one(dep_id, reporter)
            if state is None:
                continue
            summary.processed += 1
            if state == "deposited":
                summary.deposited += 1
            elif state in sword.ERROR_STATES:
                summary.failed += 1
            else:
                summary.retrying += 1
            summary.outcomes.append((self._uuid_of(dep_id), state, message))
        summary.preserved = self.update_preservation()
        with self.catalog.session() as s:
            summary.waiting = len(
                list(
                    s.scalars(
                        select(PkpDeposit.id)
                        .join(PkpJournal, PkpDeposit.journal_id == PkpJournal.id)
                        .where(PkpJournal.status != "accepted", PkpDeposit.state.in_(("depositedByJournal", "hold")))
                    )
                )
            )
        return summary

    def _uuid_of(self, dep_id: int) -> str:
        with self.catalog.session() as s:
            return s.scalar(select(PkpDeposit.uuid).where(PkpDeposit.id == dep_id)) or ""

    def _due(self, now: dt.datetime) -> list[int]:
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

    def _process_one(self, dep_id: int, reporter: Reporter) -> tuple[str | None, str]:
        generation = self._claim(dep_id)
        if generation is None:
            return None, ""
        with self.catalog.session() as s:
            d = s.get(PkpDeposit, dep_id)
            assert d is not None
            j = d.journal
            facts = (j.uuid, j.title, j.issn, j.publisher_name, j.journal_url, j.email, d.uuid, d.attempts)
            content = self._deposit_view(j, d).content
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
            self._record(s, "deposit", duuid, detail, outcome)

    def _record(
        self,
        s: Session,
        object_type: str,
        key: str,
        detail: str,
        outcome: EventOutcome = EventOutcome.SUCCESS,
        *,
        agent: str = "pkppn",
    ) -> None:
        self.catalog.record_event(
            s, EventType.PKPPN, outcome, agent=agent, object_type=object_type, object_key=key, detail=detail
        )

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


def checksum_of(data: bytes, checksum_type: str) -> str:
    """The digest the plugin sends for a package (lower-case hex)."""
    return hashlib.new({"SHA-1": "sha1", "MD5": "md5"}[checksum_type], data).hexdigest()
