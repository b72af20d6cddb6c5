"""Institutions of the access programme: registration (with eligible and excluded types explained on the spot),
duplicate detection, the verification workflow with its audit trail, Group B trial and payment dates with
reminders, IP ranges (IPv4 and IPv6), recognising a reader by address, and flags when a country's group has
changed since an institution was validated.

A registration only asks: it never blocks anyone. Names and networks are checked against the institutions the
programme has verified (validated or suspended), never against other pending registrations, and again when staff
validate one, confirming (or correcting) the networks it asked for. A refusal never names another institution.
Messages a registrant can see are :func:`~strongroom.domain.text.N_` texts, so the portal translates them."""

from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from strongroom.catalog.models import Institution, IpRange, RangeRequest
from strongroom.catalog.repo import Catalog
from strongroom.domain.access import InstitutionStatus, Reader
from strongroom.domain.identifiers import normalise_country
from strongroom.domain.model import EventOutcome, EventType
from strongroom.domain.text import N_, Text
from strongroom.errors import ExitCode, NotFound, StrongroomError
from strongroom.services import keyset
from strongroom.services.browse import KeyPage
from strongroom.services.eligibility import Eligibility

ELIGIBLE_TYPES: dict[str, Text] = {
    "university": N_("national university or college"),
    "professional-school": N_("professional school (medicine, nursing, agriculture, law…)"),
    "research-institute": N_("research institute"),
    "teaching-hospital": N_("teaching hospital or health centre"),
    "government-office": N_("government office or ministry"),
    "national-library": N_("national library"),
    "agricultural-extension": N_("agricultural extension centre"),
    "local-ngo": N_("local non-governmental organisation"),
    "ip-office": N_("national intellectual property office"),
    "workers-employers-organisation": N_("workers' or employers' organisation"),
}
EXCLUDED_TYPES: dict[str, Text] = {
    "international-organisation": N_(
        "international and regional organisations (and their local offices) are not eligible: they have their own "
        "means of access"
    ),
    "association": N_("member associations and societies are not eligible; their members' institutions may register"),
    "individual": N_("individuals are not eligible: readers use their institution's registration"),
    "company": N_("commercial companies are not eligible"),
}
EXCLUDED_LABELS: dict[str, Text] = {  # how the form names the excluded kinds (choosing one says why not)
    "international-organisation": N_("international or regional organisation"),
    "association": N_("member association or society"),
    "individual": N_("individual"),
    "company": N_("commercial company"),
}
TRIAL_DAYS = 183  # six months
SIMILAR = 0.86
KEY_ATTEMPTS = 5  # registrations at once that may take the same next key before one gives up
# The widest network a registration may ask for (the shortest prefix): a /16 is a large university's whole IPv4
# allocation, a /32 an IPv6 allocation to a whole network operator. Staff may confirm wider ones, to these.
REGISTRATION_WIDEST = {4: 16, 6: 32}
STAFF_WIDEST = {4: 8, 6: 24}
VERIFIED = (str(InstitutionStatus.VALIDATED), str(InstitutionStatus.SUSPENDED))


class RangeRequestState(StrEnum):
    """Where an institution's request to change its networks stands."""

    PENDING = "pending"  # waiting for an operator
    CONFIRMED = "confirmed"  # applied
    REFUSED = "refused"  # with a note the institution reads


class RegistrationRefused(StrongroomError):
    exit_code = ExitCode.REFUSED


@dataclass(frozen=True)
class Contact:
    name: str
    email: str


def _norm(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return " ".join(w for w in re.findall(r"[a-z0-9]+", folded) if w not in {"the", "of", "and", "de", "la", "du"})


Span = tuple[int, str, str, str]  # IP version, the range, its first and last address as 32 hex digits


def _span(cidr: str, widest: dict[int, int]) -> Span:
    try:
        net = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        raise RegistrationRefused(
            N_("%(range)s is not an IP address or range", range=repr(cidr)),
            hint=N_("e.g. 196.44.0.0/16 or 2001:db8::/48"),
        ) from None
    if net.prefixlen < widest[net.version]:
        raise RegistrationRefused(
            N_(
                "%(range)s is too wide to be one institution's network: the widest accepted is /%(prefix)s",
                range=str(net),
                prefix=widest[net.version],
            ),
            hint=N_("list the institution's own ranges, as its network team or provider assigned them"),
        )
    return net.version, str(net), f"{int(net.network_address):032x}", f"{int(net.broadcast_address):032x}"


def _spans(ranges: tuple[str, ...] | list[str], widest: dict[int, int]) -> list[Span]:
    spans = [_span(c, widest) for c in ranges]
    for i, a in enumerate(spans):
        for b in spans[i + 1 :]:
            if a[0] == b[0] and a[2] <= b[3] and b[2] <= a[3]:
                raise RegistrationRefused(
                    N_("the ranges %(first)s and %(second)s overlap", first=a[1], second=b[1]),
                    hint=N_("list each address once"),
                )
    return spans


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return False
    return True


def _normal(text: str) -> str:
    """A network as the catalog writes it (``10.1.2.0/24`` for ``10.1.2.3/24``); other text as it is."""
    return str(ipaddress.ip_network(text.strip(), strict=False)) if _is_network(text) else text.strip()


def _overlap(s: Session, version: int, first: str, last: str, exclude: int | None = None) -> IpRange | None:
    """A verified institution's range that shares an address with this one (pending registrations never count)."""
    stmt = (
        select(IpRange)
        .join(Institution, IpRange.institution_id == Institution.id)
        .where(
            IpRange.version == version, IpRange.first <= last, IpRange.last >= first, Institution.status.in_(VERIFIED)
        )
    )
    if exclude is not None:
        stmt = stmt.where(IpRange.institution_id != exclude)
    return s.scalars(stmt.options(selectinload(IpRange.institution))).first()


MOVES = {
    InstitutionStatus.PENDING: {InstitutionStatus.VALIDATED, InstitutionStatus.REJECTED},
    InstitutionStatus.VALIDATED: {InstitutionStatus.SUSPENDED},
    InstitutionStatus.SUSPENDED: {InstitutionStatus.VALIDATED, InstitutionStatus.REJECTED},
    InstitutionStatus.REJECTED: set(),
}


class Institutions:
    """The institutions of the access programme: registration, verification, payments and recognition by network."""

    def __init__(self, catalog: Catalog, eligibility: Eligibility) -> None:
        self.catalog = catalog
        self.eligibility = eligibility

    def _event(self, s: Session, key: str, detail: str, who: str, data: dict[str, object] | None = None) -> None:
        self.catalog.record_event(
            s,
            EventType.INSTITUTION,
            EventOutcome.SUCCESS,
            agent=who,
            object_type="institution",
            object_key=key,
            detail=detail,
            data=dict(data or {}),
        )

    def register(
        self,
        *,
        name: str,
        type: str,
        country: str,
        address: str,
        director: Contact,
        librarian: Contact,
        ip_ranges: tuple[str, ...] = (),
        by: str = "web form",
    ) -> Institution:
        """Register an institution (pending validation); refused with the reason for an excluded type, a country that
        is not eligible, missing contacts, a network too wide, or a name or network of an institution the programme
        has already verified (never naming it)."""
        if type in EXCLUDED_TYPES:
            raise RegistrationRefused(N_("%(name)s: %(reason)s", name=name, reason=EXCLUDED_TYPES[type]))
        if type not in ELIGIBLE_TYPES:
            raise RegistrationRefused(
                N_("%(type)s is not an institution type", type=repr(type)),
                hint=N_("one of: %(types)s", types=", ".join(sorted(ELIGIBLE_TYPES))),
            )
        for role, contact in (("director", director), ("librarian", librarian)):
            if not contact.name.strip() or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", contact.email.strip()):
                raise RegistrationRefused(
                    N_("the director's name and email address are both needed")
                    if role == "director"
                    else N_("the librarian's name and email address are both needed"),
                    hint=N_("a registration has two contacts: the director and the librarian"),
                )
        code = normalise_country(country)
        group = self.eligibility.status(code).final
        if group == "none":
            raise RegistrationRefused(
                N_("%(name)s: institutions in %(country)s are not eligible for the programme", name=name, country=code),
                hint=N_("the programme reviews the list of eligible countries every year"),
            )
        spans = _spans(ip_ranges, REGISTRATION_WIDEST)
        # The key is the number after the highest: two registrations at once may both read the same one, and then
        # the unique key refuses the second, which is tried again whole (its checks too: the first one may have
        # taken the same network) with the number the first one left.
        for attempt in range(1, KEY_ATTEMPTS + 1):
            key = self._next_key()
            try:
                return self._add(key, name, type, code, address, director, librarian, spans, by)
            except IntegrityError:
                if attempt == KEY_ATTEMPTS or not self._taken(key):
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _add(
        self,
        key: str,
        name: str,
        type: str,
        code: str,
        address: str,
        director: Contact,
        librarian: Contact,
        spans: list[Span],
        by: str,
    ) -> Institution:
        """Register the institution as ``key`` in one transaction, unless it looks like one already verified or
        its networks overlap another's (:class:`RegistrationRefused`)."""
        with self.catalog.session() as s:
            if self._similar(s, name, code) is not None:
                raise RegistrationRefused(
                    N_(
                        "%(name)s looks like an institution the programme has already registered in %(country)s",
                        name=name,
                        country=code,
                    ),
                    hint=N_("check with the programme whether your institution is registered before registering again"),
                )
            for version, cidr, first, last in spans:
                if _overlap(s, version, first, last) is not None:
                    raise RegistrationRefused(
                        N_("%(range)s overlaps the network of an institution already in the programme", range=cidr),
                        hint=N_(
                            "two institutions cannot share addresses; check the range with your network team, or "
                            "write to the programme if this network is yours"
                        ),
                    )
            inst = Institution(
                key=key,
                name=name.strip(),
                type=type,
                country=code,
                address=address.strip(),
                director={"name": director.name, "email": director.email},
                librarian={"name": librarian.name, "email": librarian.email},
                status=str(InstitutionStatus.PENDING),
                status_reason="",
                registered_at=self.catalog.clock.now(),
            )
            s.add(inst)
            s.flush()
            for version, cidr, first, last in spans:
                s.add(IpRange(institution_id=inst.id, cidr=cidr, version=version, first=first, last=last))
            self._event(s, inst.key, f"registered by {by}: {name} ({type}, {code})", by)
            return inst

    def _next_key(self) -> str:
        """The key after the highest-numbered one (``I-00001`` for the first): by number, not as text, so that
        past ``I-99999`` (six digits) the next is still one more; never reused, even after a deletion."""
        with self.catalog.session() as s:
            # the longest key first, then the highest: the highest number (keys are zero-padded to five digits)
            keys = s.scalars(
                select(Institution.key)
                .where(Institution.key.like("I-%"))
                .order_by(func.length(Institution.key).desc(), Institution.key.desc())
            )
            highest = next((int(k[2:]) for k in keys if re.fullmatch(r"I-[0-9]+", k)), 0)
        return f"I-{highest + 1:05d}"

    def _taken(self, key: str) -> bool:
        """Whether an institution now has ``key`` (another registration took it first)."""
        with self.catalog.session() as s:
            return s.scalar(select(Institution.id).where(Institution.key == key)) is not None

    @staticmethod
    def _similar(s: Session, name: str, country: str, exclude: int | None = None) -> Institution | None:
        """A verified institution in ``country`` with a name very like ``name`` (a probable duplicate)."""
        wanted = _norm(name)
        stmt = select(Institution).where(Institution.country == country, Institution.status.in_(VERIFIED))
        for other in s.scalars(stmt):
            if other.id != exclude and difflib.SequenceMatcher(None, wanted, _norm(other.name)).ratio() >= SIMILAR:
                return other
        return None

    def _get(self, s: Session, key: str) -> Institution:
        inst = s.scalar(select(Institution).where(Institution.key == key).options(selectinload(Institution.ranges)))
        if inst is None:
            raise NotFound(f"no institution {key!r}", hint="list them with: strongroom institutions")
        return inst

    def _set_ranges(self, s: Session, inst: Institution, ranges: tuple[str, ...] | list[str]) -> None:
        """Make ``ranges`` the institution's networks, refused (naming the other: this is for staff) where one
        overlaps a verified institution's."""
        spans = _spans(ranges, STAFF_WIDEST)
        for version, cidr, first, last in spans:
            clash = _overlap(s, version, first, last, exclude=inst.id)
            if clash is not None:
                raise RegistrationRefused(
                    f"{cidr} overlaps {clash.cidr} of {clash.institution.name} ({clash.institution.key}), "
                    f"which the programme has verified",
                    hint="two institutions cannot share addresses: confirm the ranges with both institutions",
                )
        for old in list(inst.ranges):
            s.delete(old)
        s.flush()
        for version, cidr, first, last in spans:
            s.add(IpRange(institution_id=inst.id, cidr=cidr, version=version, first=first, last=last))

    def requested_ranges(self, key: str) -> list[str]:
        """The networks an institution has now (for a pending one: those it asked for, to be confirmed)."""
        with self.catalog.session() as s:
            return [r.cidr for r in self._get(s, key).ranges]

    def is_pending(self, key: str) -> bool:
        with self.catalog.session() as s:
            return self._get(s, key).status == str(InstitutionStatus.PENDING)

    def change_ranges(self, key: str, *, add: tuple[str, ...] = (), remove: tuple[str, ...] = (), by: str) -> list[str]:
        """Add and remove networks of an institution after registration (staff); the networks it has after."""
        with self.catalog.session() as s:
            return self._change_ranges(s, self._get(s, key), add, remove, by)

    def _change_ranges(
        self,
        s: Session,
        inst: Institution,
        add: tuple[str, ...] | list[str],
        remove: tuple[str, ...] | list[str],
        by: str,
    ) -> list[str]:
        key = inst.key
        current = [r.cidr for r in inst.ranges]
        gone = {_normal(c) for c in remove}
        unknown = sorted(gone - set(current))
        if unknown:
            raise StrongroomError(
                f"{key} has no network {', '.join(unknown)}",
                hint=f"its networks: {', '.join(current) or 'none'}",
            )
        added = [_span(c, STAFF_WIDEST)[1] for c in add]
        after = [c for c in current if c not in gone] + [c for c in dict.fromkeys(added) if c not in current]
        self._set_ranges(s, inst, after)
        self._event(
            s,
            key,
            f"networks changed by {by}: {', '.join(after) or 'none'}",
            by,
            {"added": list(add), "removed": sorted(gone)},
        )
        return after

    def move(
        self, key: str, to: InstitutionStatus, *, by: str, reason: str = "", ranges: tuple[str, ...] | None = None
    ) -> Institution:
        """Validate, reject (with a reason), suspend (with a reason) or reinstate; each step is an event.

        Validating a pending registration confirms its networks: ``ranges`` as staff checked them (None: as asked),
        refused where one overlaps a verified institution's, or where its name is a verified institution's."""
        if to in (InstitutionStatus.REJECTED, InstitutionStatus.SUSPENDED) and not reason.strip():
            raise StrongroomError(f"to make an institution {to}, give the reason", hint="pass --reason")
        with self.catalog.session() as s:
            inst = self._get(s, key)
            current = InstitutionStatus(inst.status)
            if to not in MOVES[current]:
                raise StrongroomError(f"{key} is {current}; it cannot become {to}")
            detail = f"{current} -> {to}" + (f": {reason}" if reason else "")
            if to is InstitutionStatus.VALIDATED and current is InstitutionStatus.PENDING:
                twin = self._similar(s, inst.name, inst.country, exclude=inst.id)
                if twin is not None:
                    raise RegistrationRefused(
                        f"{key} ({inst.name}) looks like {twin.name} ({twin.key}), which the programme has verified",
                        hint=f"reject {key} as a duplicate, or check with both institutions",
                    )
                self._set_ranges(s, inst, [r.cidr for r in inst.ranges] if ranges is None else list(ranges))
                s.flush()
                s.refresh(inst)
                confirmed = [r.cidr for r in inst.ranges]
                detail += f"; networks confirmed: {', '.join(confirmed) or 'none'}"
                group = self.eligibility.status(inst.country).final
                inst.group_at_validation = group
                if group == "B":
                    inst.trial_until = self.catalog.clock.now().date() + dt.timedelta(days=TRIAL_DAYS)
            inst.status, inst.status_reason = str(to), reason
            self._event(s, key, detail, by, {"status": str(to)})
            return inst

    def record_payment(self, key: str, paid_through: dt.date, *, by: str) -> None:
        """Record a Group B institution's yearly fee; refused for an institution whose country is in Group A (its
        access is free: there is nothing to pay) or not eligible."""
        with self.catalog.session() as s:
            inst = self._get(s, key)
            group = self.eligibility.status(inst.country).final
            if group != "B":
                raise StrongroomError(
                    f"{key} is in {inst.country}, "
                    + (
                        "a Group A country: its access is free, there is nothing to pay"
                        if group == "A"
                        else "a country that is not eligible: there is no programme fee to pay"
                    ),
                    hint=f"see: strongroom eligibility {inst.country}",
                )
            inst.paid_through = paid_through
            self._event(s, key, f"group B fee paid through {paid_through}", by)

    def reminders(self, within_days: int = 30) -> list[tuple[str, str, str]]:
        """(institution, what lapses, when) for Group B trials and payments lapsing within ``within_days``; an
        institution whose country is in Group A now (free access) is never reminded."""
        today = self.catalog.clock.now().date()
        horizon = today + dt.timedelta(days=within_days)
        out = []
        group: dict[str, str | None] = {}  # each country's group, asked once
        lapsing = or_(Institution.trial_until.between(today, horizon), Institution.paid_through.between(today, horizon))
        with self.catalog.session() as s:
            rows = s.execute(
                select(Institution.key, Institution.country, Institution.trial_until, Institution.paid_through).where(
                    Institution.status == "validated", lapsing
                )
            )
            for key, country, trial_until, paid_through in rows:
                access = max((d for d in (trial_until, paid_through) if d is not None), default=None)
                if access is None or not today <= access <= horizon:
                    continue  # one date lapses soon but the other runs on
                if country not in group:
                    group[country] = self.eligibility.status(country).final
                if group[country] == "B":
                    what = "trial" if access == trial_until and not paid_through else "paid access"
                    out.append((key, what, access.isoformat()))
        return sorted(out, key=lambda r: r[2])

    def flags(self) -> list[tuple[str, str, str, str]]:
        """Validated institutions whose country's group is no longer the one they were validated in."""
        validated = Institution.status == "validated"
        with self.catalog.session() as s:
            pairs = s.execute(select(Institution.country, Institution.group_at_validation).where(validated).distinct())
            # each (country, group then) pair once, with its country's group now: only the pairs that moved are read
            moved: dict[tuple[str, str | None], str] = {}
            for country, then in pairs:
                now = self.eligibility.status(country).final
                if now != then:
                    moved[(country, then)] = now
            out: list[tuple[str, str, str, str]] = []
            for country, then in sorted(moved, key=lambda p: (p[0], str(p[1]))):
                rows = s.scalars(
                    select(Institution.key)
                    .where(
                        validated,
                        Institution.country == country,
                        Institution.group_at_validation.is_(None)
                        if then is None
                        else Institution.group_at_validation == then,
                    )
                    .order_by(Institution.id)
                )
                out.extend((key, country, str(then), moved[(country, then)]) for key in rows)
        return out

    def recognise(self, address: str, *, with_group: bool = True) -> Reader:
        """The reader behind an IP address: its institution, with its state and (unless ``with_group`` is False, for
        usage logging) its country's group now."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return Reader()
        point = f"{int(ip):032x}"
        with self.catalog.session() as s:
            matches = s.scalars(
                select(IpRange)
                .where(IpRange.version == ip.version, IpRange.first <= point, IpRange.last >= point)
                .options(selectinload(IpRange.institution))
            ).all()
            # a verified institution's network wins over what a registration asked for; then the narrowest range
            found = min(
                matches,
                key=lambda r: (r.institution.status not in VERIFIED, int(r.last, 16) - int(r.first, 16), r.id),
                default=None,
            )
            if found is None:
                return Reader()
            inst = found.institution
            return Reader(
                institution=inst.name,
                key=inst.key,
                country=inst.country,
                status=InstitutionStatus(inst.status),
                group=self.eligibility.status(inst.country).final if with_group else "none",
                trial_until=inst.trial_until,
                paid_through=inst.paid_through,
            )

    def listing(self, status: str | None = None) -> list[dict[str, object]]:
        """Every registered institution (or those in one state), by key (:meth:`page` without a limit)."""
        return list(self.page(status=status, limit=None).rows)

    def page(
        self, *, status: str | None = None, after: str | None = None, limit: int | None = 100
    ) -> KeyPage[dict[str, object]]:
        """Registered institutions (or those in one state) by key: the page after the cursor ``after`` (``limit``
        None: all of them), and how many there are (institutions number thousands, not millions: counted). Keys are
        in number order: the shorter first, so that ``I-100000`` comes after ``I-99999`` as it does not as text."""
        length = func.length(Institution.key)
        stmt = select(Institution).options(selectinload(Institution.ranges)).order_by(length, Institution.key)
        counted = select(func.count(Institution.id))
        if status:
            stmt = stmt.where(Institution.status == status)
            counted = counted.where(Institution.status == status)
        if after:
            (last,) = keyset.decode(after, str)
            stmt = stmt.where(or_(length > len(last), and_(length == len(last), Institution.key > last)))
        with self.catalog.session() as s:
            page, cursor = keyset.fetch_page(
                lambda n: list(s.scalars(stmt.limit(n))), limit, lambda i: keyset.encode(i.key)
            )
            rows: tuple[dict[str, object], ...] = tuple(
                {
                    "key": i.key,
                    "name": i.name,
                    "type": i.type,
                    "country": i.country,
                    "status": i.status,
                    "reason": i.status_reason,
                    "group_at_validation": i.group_at_validation,
                    "trial_until": i.trial_until,
                    "paid_through": i.paid_through,
                    "ip_ranges": [r.cidr for r in i.ranges],
                }
                for i in page
            )
            total = int(s.scalar(counted) or 0)
        return KeyPage(rows, limit, cursor, total)

    # ---- what an institution's administrator sees and asks for (the console) ---------------------------------

    def profile(self, key: str) -> dict[str, object]:
        """One institution as its own administrator sees it: its state (with the reason given), its country's
        group now, its trial and paid dates, its networks, and its range change waiting for confirmation."""
        with self.catalog.session() as s:
            inst = self._get(s, key)
            waiting = s.scalar(
                select(RangeRequest).where(
                    RangeRequest.institution_id == inst.id, RangeRequest.state == str(RangeRequestState.PENDING)
                )
            )
            return {
                "key": inst.key,
                "name": inst.name,
                "type": inst.type,
                "country": inst.country,
                "status": inst.status,
                "reason": inst.status_reason,
                "group": self.eligibility.status(inst.country).final,
                "group_at_validation": inst.group_at_validation,
                "trial_until": inst.trial_until,
                "paid_through": inst.paid_through,
                "registered_at": inst.registered_at,
                "ip_ranges": [r.cidr for r in inst.ranges],
                "waiting": _request_row(waiting, inst) if waiting is not None else None,
            }

    def request_ranges(
        self, key: str, *, add: tuple[str, ...] | list[str] = (), remove: tuple[str, ...] | list[str] = (), by: str
    ) -> int:
        """An institution asks to add and remove networks; nothing changes until an operator confirms the request
        (:meth:`confirm_range_request`). Checked now as a registration is (a network too wide, overlapping another
        of its own or a verified institution's, never naming it), so the operator sees only plausible requests.
        The request's number."""
        added = [c.strip() for c in add if c.strip()]
        removed = [c.strip() for c in remove if c.strip()]
        if not added and not removed:
            raise RegistrationRefused(N_("ask to add or remove at least one range"))
        spans = [_span(c, REGISTRATION_WIDEST) for c in added]
        with self.catalog.session() as s:
            inst = self._get(s, key)
            if inst.status not in VERIFIED:
                raise RegistrationRefused(
                    N_("your ranges can be changed once your registration is validated"),
                    hint=N_("the programme confirms the ranges you asked for when it validates the registration"),
                )
            current = [r.cidr for r in inst.ranges]
            for cidr in removed:
                if _normal(cidr) not in current:
                    raise RegistrationRefused(N_("%(range)s is not one of your ranges", range=cidr))
            for _, cidr, _, _ in spans:
                if cidr in current:
                    raise RegistrationRefused(N_("%(range)s is already one of your ranges", range=cidr))
            gone = {_normal(c) for c in removed}
            _spans([c for c in current if c not in gone] + [sp[1] for sp in spans], STAFF_WIDEST)  # no overlap inside
            for version, cidr, first, last in spans:
                if _overlap(s, version, first, last, exclude=inst.id) is not None:
                    raise RegistrationRefused(
                        N_("%(range)s overlaps the network of an institution already in the programme", range=cidr),
                        hint=N_(
                            "two institutions cannot share addresses; check the range with your network team, or "
                            "write to the programme if this network is yours"
                        ),
                    )
            waiting = s.scalar(
                select(RangeRequest.id).where(
                    RangeRequest.institution_id == inst.id, RangeRequest.state == str(RangeRequestState.PENDING)
                )
            )
            if waiting is not None:
                raise RegistrationRefused(
                    N_("a change of your ranges is already waiting for confirmation"),
                    hint=N_("the programme's staff confirm or refuse it; ask again after that"),
                )
            request = RangeRequest(
                institution_id=inst.id,
                added=[sp[1] for sp in spans],
                removed=sorted(gone),
                state=str(RangeRequestState.PENDING),
                requested_by=by,
                requested_at=self.catalog.clock.now(),
            )
            s.add(request)
            s.flush()
            self._event(
                s,
                key,
                f"range change {request.id} asked by {by}: add {', '.join(request.added) or 'none'}; "
                f"remove {', '.join(request.removed) or 'none'}",
                by,
                {"request": request.id, "added": request.added, "removed": request.removed},
            )
            return request.id

    def range_requests(
        self,
        *,
        state: RangeRequestState | None = RangeRequestState.PENDING,
        institution: str | None = None,
        latest: int | None = None,
    ) -> list[dict[str, object]]:
        """Range changes institutions asked for (waiting ones by default), oldest first; with ``latest``, only the
        last ``latest`` of them (read newest first from the database, still given oldest first)."""
        with self.catalog.session() as s:
            stmt = (
                select(RangeRequest)
                .join(Institution, RangeRequest.institution_id == Institution.id)
                .options(selectinload(RangeRequest.institution).selectinload(Institution.ranges))
                .order_by(RangeRequest.requested_at, RangeRequest.id)
            )
            if state is not None:
                stmt = stmt.where(RangeRequest.state == str(state))
            if institution is not None:
                stmt = stmt.where(Institution.key == institution)
            if latest is not None:
                newest = stmt.order_by(None).order_by(RangeRequest.requested_at.desc(), RangeRequest.id.desc())
                return [_request_row(r, r.institution) for r in reversed(list(s.scalars(newest.limit(latest))))]
            return [_request_row(r, r.institution) for r in s.scalars(stmt)]

    def waiting_requests(self, *, after: str | None = None, limit: int | None = 100) -> KeyPage[dict[str, object]]:
        """Range changes waiting for an operator, oldest first (by number): the page after the cursor ``after``
        (``limit`` None: all), and how many are waiting."""
        waiting = RangeRequest.state == str(RangeRequestState.PENDING)
        stmt = (
            select(RangeRequest)
            .where(waiting)
            .options(selectinload(RangeRequest.institution).selectinload(Institution.ranges))
            .order_by(RangeRequest.id)
        )
        if after:
            (last,) = keyset.decode(after, int)
            stmt = stmt.where(RangeRequest.id > last)
        with self.catalog.session() as s:
            page, cursor = keyset.fetch_page(
                lambda n: list(s.scalars(stmt.limit(n))), limit, lambda r: keyset.encode(r.id)
            )
            rows = tuple(_request_row(r, r.institution) for r in page)
            total = int(s.scalar(select(func.count(RangeRequest.id)).where(waiting)) or 0)
        return KeyPage(rows, limit, cursor, total)

    def _waiting(self, s: Session, request_id: int) -> RangeRequest:
        request = s.get(RangeRequest, request_id)
        if request is None:
            raise NotFound(f"no range request {request_id}")
        if request.state != str(RangeRequestState.PENDING):
            raise StrongroomError(f"range request {request_id} is already {request.state} by {request.decided_by}")
        return request

    def confirm_range_request(self, request_id: int, *, by: str) -> list[str]:
        """Apply a waiting range change (as :meth:`change_ranges` does, refused where a network now overlaps a
        verified institution's); the institution's networks after."""
        with self.catalog.session() as s:
            request = self._waiting(s, request_id)
            inst = self._get(s, request.institution.key)
            after = self._change_ranges(s, inst, request.added, request.removed, by)
            request.state, request.decided_by, request.decided_at = (
                str(RangeRequestState.CONFIRMED),
                by,
                self.catalog.clock.now(),
            )
            self._event(s, inst.key, f"range change {request_id} confirmed by {by}", by, {"request": request_id})
            return after

    def refuse_range_request(self, request_id: int, *, note: str, by: str) -> None:
        """Refuse a waiting range change, with a note the institution reads; its networks stay as they are."""
        if not note.strip():
            raise StrongroomError("to refuse a range change, say why: the institution reads the note")
        with self.catalog.session() as s:
            request = self._waiting(s, request_id)
            request.state, request.decided_by, request.decided_at, request.note = (
                str(RangeRequestState.REFUSED),
                by,
                self.catalog.clock.now(),
                note.strip(),
            )
            self._event(
                s,
                request.institution.key,
                f"range change {request_id} refused by {by}: {note.strip()}",
                by,
                {"request": request_id},
            )

    def new_report_key(self, key: str, *, by: str) -> str:
        """A new COUNTER_SUSHI API key for the institution's reports (the earlier one stops working), shown once;
        an event says who made it (never the key)."""
        from strongroom.services.sushi import SushiKeys

        api_key = SushiKeys(self.catalog).issue_key("institution", key, by=by)
        with self.catalog.session() as s:
            self._event(s, key, f"new COUNTER_SUSHI key made by {by}; the earlier one stops working", by)
        return api_key


def _request_row(request: RangeRequest, inst: Institution) -> dict[str, object]:
    return {
        "id": request.id,
        "institution": inst.key,
        "name": inst.name,
        "country": inst.country,
        "current": [r.cidr for r in inst.ranges],
        "added": list(request.added),
        "removed": list(request.removed),
        "state": request.state,
        "requested_by": request.requested_by,
        "requested_at": request.requested_at,
        "decided_by": request.decided_by,
        "decided_at": request.decided_at,
        "note": request.note,
    }
