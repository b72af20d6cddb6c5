"""Publishers and their archive: a publisher's staff sign in (the same accounts, sessions and throttle as an
institution's, :mod:`strongroom.services.accounts`) and follow each of their titles from received to preserved;
anyone may read a title's preservation certificate and look up whether a journal is preserved.

What the public sees here is what the holdings reports already publish (titles, ISSNs, publishers, issues, years,
and now copies, countries and when they were last verified): never an item's title, abstract, DOI or file. The
staff's own view adds the deposits they made and refused, and the path of each AU of their own titles.

"Preserved" is :meth:`strongroom.services.holdings.HoldingsReports.preserved`, the one definition.

Must not import: any face.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from strongroom.catalog.models import Account, ArchivalUnit, AUVersion, Event, Item, Publisher, Title
from strongroom.catalog.repo import Catalog
from strongroom.domain.identifiers import normalise_issn
from strongroom.domain.model import EventOutcome, EventType
from strongroom.domain.text import N_, Text
from strongroom.errors import InvalidIdentifier, NotFound, PackageRejected, StrongroomError
from strongroom.formats.holdings import TitleHolding
from strongroom.ingest.deposit import DepositOptions
from strongroom.network.config import NetworkPolicy
from strongroom.progress import Reporter
from strongroom.services import keyset
from strongroom.services.accounts import add_account, check_new_password, signed_in_account
from strongroom.services.browse import KeyPage
from strongroom.services.deposit import DepositResult, Ingest
from strongroom.services.holdings import HoldingsReports
from strongroom.services.membership import Membership
from strongroom.services.network_status import CopyStatus
from strongroom.services.scratch import work_directory
from strongroom.store.base import ObjectStore

if TYPE_CHECKING:  # the PKP PN service brings the remote fetches and clamd: imported when first used
    from strongroom.services.pkppn import PkpPn

NetworkCopies = Callable[[], list[CopyStatus] | None]  # where the members hold every AU (None: in no network)
_ISSN = re.compile(r"^\d{4}-?\d{3}[\dXx]$")
_DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)?(10\.\d{4,9})(?:/.*)?$", re.IGNORECASE)
MAX_QUERY = 200


@dataclass(frozen=True)
class PublisherStaff:
    """Who signed in: one of a publisher's staff."""

    username: str
    display_name: str
    publisher_key: str
    publisher_name: str
    publisher_country: str | None


@dataclass(frozen=True)
class Problem:
    """Something between an AU (or a title) and "preserved", and what to do about it."""

    what: Text
    fix: Text


@dataclass(frozen=True)
class Received:
    version: int
    at: dt.datetime


@dataclass(frozen=True)
class AuPath:
    """One AU on its path from received to preserved."""

    key: str
    label: str
    received: tuple[Received, ...]  # every version, oldest first
    copies: int  # copies at the head version
    countries: tuple[str, ...]
    last_poll: dt.datetime | None  # the last poll that found the copies agreeing
    preserved: bool
    released: bool
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class OjsDeposit:
    """One issue an OJS journal of the title sent through the PKP PN plugin (:mod:`strongroom.services.pkppn`), and
    where it is: its processing state and what the plugin tells the journal manager, and its preservation."""

    uuid: str
    received: dt.datetime
    volume: str
    issue: str
    pubdate: str
    state: str  # the processing state the plugin shows (depositedByJournal … deposited, or an *-error state)
    message: Text  # what the journal manager is told: where the deposit is, or what to fix
    preservation: str  # '', inProgress or agreement
    preservation_label: Text
    attempts: int = 0
    next_attempt_at: dt.datetime | None = None
    au_key: str | None = None
    au_version: int | None = None
    deposited_at: dt.datetime | None = None
    preserved_at: dt.datetime | None = None

    @property
    def failed(self) -> bool:
        return self.state.endswith("-error")


@dataclass(frozen=True)
class TitlePath:
    key: str
    name: str
    issn_print: str | None
    issn_online: str | None
    aus: tuple[AuPath, ...]
    problems: tuple[Problem, ...]
    # the issues the title's OJS journals deposited through the PKP PN plugin, newest first
    ojs_deposits: tuple[OjsDeposit, ...] = ()

    @property
    def preserved(self) -> bool:
        return any(a.preserved for a in self.aus)


@dataclass(frozen=True)
class RefusedDeposit:
    at: dt.datetime
    by: str
    package: str
    message: str
    findings: tuple[tuple[str, str, str], ...]  # (code, path, message)


@dataclass(frozen=True)
class PublisherView:
    key: str
    name: str
    titles: tuple[TitlePath, ...]
    refused: tuple[RefusedDeposit, ...]  # the latest refused deposits, newest first
    basis: str


@dataclass(frozen=True)
class TitleFacts:
    """What anyone may know of a title's preservation: the holdings' facts, copies, countries, dates."""

    holding: TitleHolding
    copies: int  # the fewest copies any preserved AU has at its head version
    countries: tuple[str, ...]  # countries holding every preserved AU
    since: dt.date | None  # when the first preserved AU was received
    last_verified: dt.datetime | None  # the oldest of the preserved AUs' last verification (poll or audit)
    certificate_url: str

    @property
    def preserved(self) -> bool:
        return self.holding.preserved


@dataclass(frozen=True)
class Certificate:
    facts: TitleFacts
    archive: str  # the node's name
    network: str | None  # the network's name, when the node is in one
    basis: str  # what "preserved" means here
    issued: dt.datetime
    target_copies: int | None = None  # the network's policy (None: the node is in no network)
    min_countries: int | None = None


@dataclass(frozen=True)
class Lookup:
    query: str  # as understood: an ISSN, a DOI prefix (never more of a DOI), or words
    kind: str  # issn, doi-prefix, words, or "" for no query
    results: tuple[TitleFacts, ...] = field(default_factory=tuple)


class Publishers:
    """Publishers' staff accounts, their titles' paths to preserved, their deposits, and the public certificate and
    lookup."""

    def __init__(
        self,
        catalog: Catalog,
        store: ObjectStore,
        membership: Membership,
        holdings: HoldingsReports,
        ingest: Ingest,
        network_copies: NetworkCopies,
        *,
        pkppn: Callable[[], PkpPn] | None = None,
        archive_name: str,
        country: str,
        base_url: str,
    ) -> None:
        self.catalog = catalog
        self.store = store
        self.membership = membership
        self.holdings = holdings
        self.ingest = ingest
        self.network_copies = network_copies
        self.pkppn = pkppn  # the PKP PN service, for the OJS journals' deposits (None: none are shown)
        self.archive_name = archive_name
        self.country = country
        self.base_url = base_url.rstrip("/")

    # ---- staff accounts -------------------------------------------------------------------------------------

    def create_staff(self, publisher_key: str, username: str, password: str, *, named: str = "", by: str) -> None:
        """A sign-in for one of ``publisher_key``'s staff (the password rules of institutions' accounts)."""
        check_new_password(password)
        if not username.strip() or len(username) > 200:
            raise StrongroomError("a username needs 1 to 200 characters")
        with self.catalog.session() as s:
            publisher = s.scalar(select(Publisher).where(Publisher.key == publisher_key))
            if publisher is None:
                raise NotFound(f"no publisher {publisher_key!r}", hint="list them with: strongroom publishers")
            add_account(
                s,
                self.catalog.clock.now(),
                username,
                password,
                publisher_id=publisher.id,
                kind="publisher",
                display_name=named,
            )
            self.catalog.record_event(
                s,
                EventType.PUBLISHER,
                EventOutcome.SUCCESS,
                agent=by,
                object_type="publisher",
                object_key=publisher_key,
                detail=f"staff account {username} created" + (f" for {named}" if named else ""),
            )

    def staff_accounts(self, *, after: str | None = None, limit: int | None = 100) -> KeyPage[dict[str, object]]:
        """Publishers' staff sign-ins, newest first (by id): the page after the cursor ``after`` (``limit`` None:
        all), each with its username, name, publisher (key and name) and whether it is active, and how many there
        are."""
        stmt = (
            select(Account.id, Account.username, Account.display_name, Account.active, Publisher.key, Publisher.name)
            .join(Publisher, Account.publisher_id == Publisher.id)
            .order_by(Account.id.desc())
        )
        if after:
            (last,) = keyset.decode(after, int)
            stmt = stmt.where(Account.id < last)
        with self.catalog.session() as s:
            page, cursor = keyset.fetch_page(
                lambda n: s.execute(stmt.limit(n)).all(), limit, lambda r: keyset.encode(r[0])
            )
            total = int(s.scalar(select(func.count(Account.id)).where(Account.publisher_id.is_not(None))) or 0)
        rows = tuple(
            {"username": u, "name": n, "active": a, "publisher_key": pk, "publisher_name": pn}
            for _, u, n, a, pk, pn in page
        )
        return KeyPage(rows, limit, cursor, total)

    def staff(self, token: str) -> PublisherStaff | None:
        """The publisher's staff a session belongs to (None for an institution's session, or an unknown or expired
        token)."""
        with self.catalog.session() as s:
            account = signed_in_account(s, token, self.catalog.clock.now())
            if account is None or account.publisher is None:
                return None
            p = account.publisher
            return PublisherStaff(account.username, account.display_name, p.key, p.name, p.country)

    # ---- the staff's view -----------------------------------------------------------------------------------

    def _copies(self) -> dict[str, CopyStatus]:
        if not self.membership.joined:
            return {}
        return {c.object_id: c for c in self.network_copies() or ()}

    def _policy(self) -> NetworkPolicy | None:
        return self.membership.config().policy if self.membership.joined else None

    def _where(self, object_id: str, copies: dict[str, CopyStatus]) -> tuple[int, tuple[str, ...]]:
        if self.membership.joined:
            c = copies.get(object_id)
            if c is None:
                return 0, ()
            head = max(c.holding.values())
            return sum(1 for v in c.holding.values() if v == head), tuple(c.countries)
        held = self.store.exists(object_id)
        return int(held), ((self.country,) if held and self.country else ())

    def _verified(self, au_keys: Iterable[str]) -> tuple[dict[str, dt.datetime], dict[str, dt.datetime]]:
        """For each AU, the last poll that found its copies agreeing, and the last time any check found it intact
        (that poll, or this node's own audit)."""
        polls: dict[str, dt.datetime] = {}
        checks: dict[str, dt.datetime] = {}
        keys = list(au_keys)
        if not keys:
            return polls, checks
        with self.catalog.session() as s:
            rows = s.scalars(
                select(Event)
                .where(
                    Event.object_type == "au",
                    Event.object_key.in_(keys),
                    Event.type.in_([EventType.POLL, EventType.FIXITY_CHECK]),
                    Event.outcome == EventOutcome.SUCCESS,
                )
                .order_by(Event.time)
            ).all()
            for e in rows:
                if e.type == EventType.POLL:
                    agreed = (e.data.get("role") == "poller" and e.data.get("outcome") == "agree") or e.data.get(
                        "receipt"
                    ) == "agree"
                    if not agreed:
                        continue
                    polls[e.object_key] = e.time
                checks[e.object_key] = e.time
        return polls, checks

    def _problems(self, au: ArchivalUnit, copies: int, countries: int, polled: bool, preserved: bool) -> list[Problem]:
        policy = self._policy()
        out: list[Problem] = []
        if policy is None:
            if copies == 0:
                out.append(
                    Problem(
                        N_("this node does not hold the AU's files"),
                        N_("ask the archive's staff to run an audit; deposit the package again if it is lost"),
                    )
                )
            out.append(
                Problem(
                    N_("only 1 copy: this node is in no network yet"),
                    N_("nothing to do on your side: the archive adds copies once its node joins a network"),
                )
            )
            return out
        if copies < policy.target_copies:
            what = (
                N_("only 1 copy, the network aims for %(target)s", target=policy.target_copies)
                if copies == 1
                else N_(
                    "only %(copies)s copies, the network aims for %(target)s",
                    copies=copies,
                    target=policy.target_copies,
                )
            )
            out.append(Problem(what, N_("nothing to do on your side: members copy new content on their next round")))
        if countries < policy.min_countries:
            out.append(
                Problem(
                    N_(
                        "copies in %(count)s countries, the network aims for %(target)s",
                        count=countries,
                        target=policy.min_countries,
                    ),
                    N_("nothing to do on your side: the network assigns holders in other countries"),
                )
            )
        if not polled:
            out.append(
                Problem(
                    N_("no poll agreement yet"),
                    N_(
                        "the members poll every AU within %(days)s days; ask the archive's staff if it lasts longer",
                        days=format(policy.poll_interval_days, "g"),
                    ),
                )
            )
        return out

    def view(self, publisher_key: str, *, refused_limit: int = 10) -> PublisherView:
        """Every title of ``publisher_key`` with each AU's path from received to preserved, and its latest refused
        deposits."""
        with self.catalog.session() as s:
            publisher = s.scalar(select(Publisher).where(Publisher.key == publisher_key))
            if publisher is None:
                raise NotFound(f"no publisher {publisher_key!r}")
            titles = list(
                s.scalars(
                    select(Title)
                    .where(Title.publisher_id == publisher.id)
                    .options(selectinload(Title.aus).selectinload(ArchivalUnit.versions))
                    .order_by(Title.sort_key, Title.id)  # as listings order names (domain.names)
                )
            )
            aus = [au for t in titles for au in t.aus]
            preserved, basis = self.holdings.preserved(au.object_id for au in aus if au.head_version > 0)
            copies = self._copies()
            polls, _ = self._verified(au.key for au in aus)
            out = []
            for t in titles:
                paths = []
                for au in sorted(t.aus, key=lambda a: a.label):
                    n, countries = self._where(au.object_id, copies)
                    is_preserved = au.head_version > 0 and au.object_id in preserved
                    paths.append(
                        AuPath(
                            key=au.key,
                            label=au.label,
                            received=tuple(Received(v.number, v.created) for v in au.versions),
                            copies=n,
                            countries=countries,
                            last_poll=polls.get(au.key),
                            preserved=is_preserved,
                            released=au.released_at is not None,
                            problems=tuple(
                                self._problems(au, n, len(countries), au.key in polls, is_preserved)
                                if au.head_version > 0
                                else [Problem(N_("nothing received yet"), N_("deposit a package for it"))]
                            ),
                        )
                    )
                title_problems = () if paths else (Problem(N_("nothing received yet"), N_("deposit a package for it")),)
                out.append(TitlePath(t.key, t.name, t.issn_print, t.issn_online, tuple(paths), title_problems))
            events = s.scalars(
                select(Event)
                .where(
                    Event.object_type == "publisher",
                    Event.object_key == publisher_key,
                    Event.type == EventType.INGESTION,
                    Event.outcome == EventOutcome.FAILURE,
                )
                .order_by(Event.time.desc(), Event.id.desc())
                .limit(refused_limit)
            ).all()
            refused = tuple(
                RefusedDeposit(
                    e.time,
                    str(e.data.get("by", "")),
                    str(e.data.get("package", "")),
                    e.detail,
                    tuple((str(f[0]), str(f[1]), str(f[2])) for f in e.data.get("findings", [])),
                )
                for e in events
            )
            return PublisherView(publisher.key, publisher.name, tuple(out), refused, basis)

    def title(self, publisher_key: str, title_key: str) -> TitlePath:
        """One of the publisher's own titles (NotFound for a title of another publisher: the same as no title),
        with the issues its OJS journals deposited through the PKP PN plugin."""
        found = next((t for t in self.view(publisher_key).titles if t.key == title_key), None)
        if found is None:
            raise NotFound(f"no title {title_key!r} of this publisher")
        return replace(found, ojs_deposits=tuple(self.ojs_deposits(found.key)))

    def ojs_deposits(self, title_key: str) -> list[OjsDeposit]:
        """The deposits of the OJS journals whose title is ``title_key``, newest first."""
        if self.pkppn is None:
            return []
        pkppn = self.pkppn()
        return [
            OjsDeposit(
                uuid=d.uuid,
                received=d.received_at,
                volume=d.content.volume,
                issue=d.content.issue,
                pubdate=d.content.pubdate,
                state=d.state,
                message=d.message,
                preservation=d.preservation,
                preservation_label=pkppn.preservation_label(d),
                attempts=d.attempts,
                next_attempt_at=d.next_attempt_at,
                au_key=d.au_key,
                au_version=d.au_version,
                deposited_at=d.deposited_at,
                preserved_at=d.preserved_at,
            )
            for d in pkppn.deposits(title_keys=[title_key])
        ]

    @contextmanager
    def upload_area(self) -> Iterator[Path]:
        """A private scratch directory for an upload on its way in (in the node's staging area, removed afterwards,
        so nothing of a refused or interrupted upload is kept)."""
        with work_directory(self.ingest.settings.resolved_staging(), prefix="upload-") as workdir:
            yield workdir

    def deposit(
        self, staff: PublisherStaff, path: Path, options: DepositOptions, *, reporter: Reporter | None = None
    ) -> DepositResult:
        """Deposit a package for the staff's publisher, checked exactly as ``strongroom deposit`` checks it, with
        the publisher fixed to theirs (a package of another publisher is refused); the deposit, or its refusal, is
        recorded with who made it."""
        options = replace(
            options, publisher=staff.publisher_name, publisher_country=staff.publisher_country, platform="portal"
        )
        by = f"publisher staff {staff.username} ({staff.publisher_key})"
        try:
            result = self.ingest.deposit(path, options, reporter=reporter, publisher_key=staff.publisher_key)
        except StrongroomError as exc:
            findings = exc.findings if isinstance(exc, PackageRejected) else ()
            with self.catalog.session() as s:
                self.catalog.record_event(
                    s,
                    EventType.INGESTION,
                    EventOutcome.FAILURE,
                    agent=by,
                    object_type="publisher",
                    object_key=staff.publisher_key,
                    detail=exc.message,
                    data={
                        "by": staff.username,
                        "package": path.name,
                        "findings": [[f.code, f.path, f.message] for f in findings],
                    },
                )
            raise
        with self.catalog.session() as s:
            self.catalog.record_event(
                s,
                EventType.INGESTION,
                EventOutcome.SUCCESS,
                agent=by,
                object_type="au",
                object_key=result.au_key,
                detail=f"v{result.version} deposited through the publisher pages"
                + (" (unchanged)" if result.unchanged else ""),
                data={"by": staff.username, "package": path.name, "version": result.version},
            )
        return result

    # ---- public: certificates and look-ups ------------------------------------------------------------------

    def certificate_url(self, title_key: str) -> str:
        return f"{self.base_url}/preserved/{title_key}/"

    def _facts(self, keys: set[str] | None) -> list[TitleFacts]:
        report = self.holdings.report()
        holdings = [t for t in report.titles if keys is None or t.key in keys]
        if not holdings:
            return []
        preserved_keys = {i.au_key for t in holdings for i in t.preserved_issues}
        with self.catalog.session() as s:
            rows = s.execute(
                select(ArchivalUnit.key, ArchivalUnit.object_id, func.min(AUVersion.created))
                .join(AUVersion, AUVersion.au_id == ArchivalUnit.id)
                .where(ArchivalUnit.key.in_(preserved_keys))
                .group_by(ArchivalUnit.key, ArchivalUnit.object_id)
            ).all()
        first = {key: (object_id, created) for key, object_id, created in rows}
        copies = self._copies()
        _, checks = self._verified(preserved_keys)
        out = []
        for t in holdings:
            aus = sorted({i.au_key for i in t.preserved_issues} & set(first))
            where = [self._where(first[k][0], copies) for k in aus]
            countries = set.intersection(*(set(c) for _, c in where)) if where else set()
            verified = [checks.get(k) for k in aus]
            out.append(
                TitleFacts(
                    holding=t,
                    copies=min((n for n, _ in where), default=0),
                    countries=tuple(sorted(countries)),
                    since=min((first[k][1] for k in aus), default=None).date() if aus else None,  # type: ignore[union-attr]
                    last_verified=None if not verified or None in verified else min(v for v in verified if v),
                    certificate_url=self.certificate_url(t.key),
                )
            )
        return out

    def certificate(self, title_key: str) -> Certificate:
        """A title's preservation certificate: public, holdings-level facts only."""
        found = self._facts({title_key})
        if not found:
            raise NotFound(f"no title {title_key!r}")
        _, basis = self.holdings.preserved(())
        network = self.membership.config().name if self.membership.joined else None
        policy = self._policy()
        return Certificate(
            found[0],
            self.archive_name,
            network,
            basis,
            self.catalog.clock.now(),
            policy.target_copies if policy else None,
            policy.min_countries if policy else None,
        )

    def lookup(self, query: str, *, limit: int = 50) -> Lookup:
        """Titles by ISSN, by DOI prefix (``10.1234``; a whole DOI is cut to its prefix, so an answer never says
        whether an article is held) or by words of the title."""
        q = " ".join(query.split())[:MAX_QUERY]
        if len(q) < 2:
            return Lookup("", "")
        with self.catalog.session() as s:
            if _ISSN.match(q):
                try:
                    issn = normalise_issn(q)
                except InvalidIdentifier:
                    return Lookup(q, "issn")
                keys = set(s.scalars(select(Title.key).where((Title.issn_print == issn) | (Title.issn_online == issn))))
                kind, q = "issn", issn
            elif doi := _DOI.match(q):
                q, kind = doi.group(1), "doi-prefix"
                escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                keys = set(
                    s.scalars(
                        select(Title.key)
                        .join(ArchivalUnit, ArchivalUnit.title_id == Title.id)
                        .join(Item, Item.au_id == ArchivalUnit.id)
                        .where(func.lower(Item.doi).like(f"{escaped.lower()}/%", escape="\\"))
                        .distinct()
                    )
                )
            else:
                kind = "words"
                stmt = select(Title.key)
                for word in q.split()[:8]:
                    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                    stmt = stmt.where(Title.name.ilike(f"%{escaped}%", escape="\\"))
                keys = set(s.scalars(stmt.limit(limit)))
        return Lookup(q, kind, tuple(self._facts(keys)[:limit]) if keys else ())
