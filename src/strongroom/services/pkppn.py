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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from strongroom.catalog.models import PkpDeposit, PkpJournal
from strongroom.catalog.repo import Catalog
from strongroom.domain.identifiers import normalise_issn
from strongroom.domain.model import EventOutcome
from strongroom.domain.text import N_, Text
from strongroom.errors import InvalidIdentifier, NotFound
from strongroom.formats import sword
from strongroom.formats.sword import Content, EntryError, Term
from strongroom.ingest.clamd import ClamdScanner
from strongroom.ingest.remote import FetchFailed, get_small
from strongroom.progress import NullReporter, Reporter
from strongroom.services.deposit import Ingest
from strongroom.services.pkppn_pipeline import DepositPipeline, content_of, load_text, record
from strongroom.settings import Settings

HANDSHAKE_LIMIT = 256 * 1024

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


ACCEPTING = N_("This Strongroom node accepts deposits from OJS journals.")
NOT_ACCEPTING = N_(
    "This Strongroom node is not taking deposits at the moment. Your journal's issues stay in OJS and will be "
    "sent when it takes them again."
)


def _now_iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _issn(raw: str) -> str | None:
    try:
        return normalise_issn(raw) if raw else None
    except InvalidIdentifier:
        return None


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
        self.base_url = base_url.rstrip("/")
        self.scanner = scanner or (lambda: ClamdScanner(self.config.clamd))
        self.allow_private = allow_private
        self.pipeline = DepositPipeline(
            catalog,
            settings,
            ingest,
            network_preserved,
            scanner=self.scanner,
            allow_private=allow_private,
        )

    def update_preservation(self) -> int:
        """Mark deposited issues the network now holds enough copies of; returns how many became preserved."""
        return self.pipeline.update_preservation()

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
            message = self.config.accepting_message or translate(NOT_ACCEPTING)
        elif journal.status == "refused":
            message = translate(
                N_(
                    "This node's staff did not accept this journal: %(reason)s. Write to them to ask why.",
                    reason=journal.status_note or "-",
                )
            )
        else:
            message = self.config.accepting_message or translate(ACCEPTING)
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
                registered = f"OJS journal registered from {fields.get('journal_url') or 'a deposit'}"
                record(self.catalog, s, "journal", uuid, registered)
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
                        record(self.catalog, s, "journal", uuid, j.status_note)
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
            record(self.catalog, s, "journal", j.uuid, f"journal {verdict}: {j.status_note}", outcome, agent=agent)
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
            record(self.catalog, s, "deposit", d.uuid, about, agent=f"journal:{juuid}")
            return self._deposit_view(j, d)

    def _deposit_view(self, j: PkpJournal, d: PkpDeposit) -> DepositView:
        content = content_of(d)
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
        due = self.pipeline.due(now)
        if limit is not None:
            due = due[:limit]
        for n, dep_id in enumerate(due, 1):
            reporter.stage(f"deposit {n} of {len(due)}")
            state, message = self.pipeline.run(dep_id, reporter)
            if state is None:
                continue
            summary.processed += 1
            if state == "deposited":
                summary.deposited += 1
            elif state in sword.ERROR_STATES:
                summary.failed += 1
            else:
                summary.retrying += 1
            summary.outcomes.append((self.pipeline.uuid_of(dep_id), state, message))
        summary.preserved = self.pipeline.update_preservation()
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
