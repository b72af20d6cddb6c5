"""Institutions of the access programme: registration (with eligible and excluded types explained on the spot),
duplicate detection, the verification workflow with its audit trail, Group B trial and payment dates with
reminders, IP ranges (IPv4 and IPv6, overlaps refused), recognising a reader by address, and flags when a
country's group has changed since an institution was validated."""

from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from strongroom.catalog.models import Institution, IpRange
from strongroom.catalog.repo import Catalog
from strongroom.domain.access import InstitutionStatus, Reader
from strongroom.domain.identifiers import normalise_country
from strongroom.domain.model import EventOutcome, EventType
from strongroom.errors import ExitCode, NotFound, StrongroomError
from strongroom.services.eligibility import Eligibility

ELIGIBLE_TYPES = {
    "university": "national university or college",
    "professional-school": "professional school (medicine, nursing, agriculture, law…)",
    "research-institute": "research institute",
    "teaching-hospital": "teaching hospital or health centre",
    "government-office": "government office or ministry",
    "national-library": "national library",
    "agricultural-extension": "agricultural extension centre",
    "local-ngo": "local non-governmental organisation",
    "ip-office": "national intellectual property office",
    "workers-employers-organisation": "workers' or employers' organisation",
}
EXCLUDED_TYPES = {
    "international-organisation": "international and regional organisations (and their local offices) are not "
    "eligible: they have their own means of access",
    "association": "member associations and societies are not eligible; their members' institutions may register",
    "individual": "individuals are not eligible: readers use their institution's registration",
    "company": "commercial companies are not eligible",
}
TRIAL_DAYS = 183  # six months
SIMILAR = 0.86


class RegistrationRefused(StrongroomError):
    exit_code = ExitCode.REFUSED


@dataclass(frozen=True)
class Contact:
    name: str
    email: str


def _norm(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return " ".join(w for w in re.findall(r"[a-z0-9]+", folded) if w not in {"the", "of", "and", "de", "la", "du"})


def _span(cidr: str) -> tuple[int, str, str, str]:
    try:
        net = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        raise RegistrationRefused(
            f"{cidr!r} is not an IP address or range", hint="e.g. 196.44.0.0/16 or 2001:db8::/48"
        ) from None
    if net.num_addresses > (1 << 24 if net.version == 4 else 1 << 80):
        raise RegistrationRefused(f"{net} is too wide to be one institution's network", hint="list its own ranges")
    return net.version, str(net), f"{int(net.network_address):032x}", f"{int(net.broadcast_address):032x}"


def _overlap(s: Session, version: int, first: str, last: str, exclude: int | None = None) -> IpRange | None:
    stmt = select(IpRange).where(IpRange.version == version, IpRange.first <= last, IpRange.last >= first)
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
        is not eligible, missing contacts, or a duplicate."""
        if type in EXCLUDED_TYPES:
            raise RegistrationRefused(f"{name}: {EXCLUDED_TYPES[type]}")
        if type not in ELIGIBLE_TYPES:
            raise RegistrationRefused(
                f"{type!r} is not an institution type", hint="one of: " + ", ".join(sorted(ELIGIBLE_TYPES))
            )
        for role, contact in (("director", director), ("librarian", librarian)):
            if not contact.name.strip() or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", contact.email.strip()):
                raise RegistrationRefused(
                    f"the {role}'s name and email address are both needed",
                    hint="a registration has two contacts: the director and the librarian",
                )
        code = normalise_country(country)
        group = self.eligibility.status(code).final
        if group == "none":
            raise RegistrationRefused(
                f"{name}: institutions in {code} are not eligible for the programme",
                hint=f"see: strongroom eligibility {code}",
            )
        spans = [_span(c) for c in ip_ranges]
        for i, a in enumerate(spans):
            for b in spans[i + 1 :]:
                if a[0] == b[0] and a[2] <= b[3] and b[2] <= a[3]:
                    raise RegistrationRefused(f"the ranges {a[1]} and {b[1]} overlap", hint="list each address once")
        with self.catalog.session() as s:
            wanted = _norm(name)
            for other in s.scalars(
                select(Institution).where(Institution.country == code, Institution.status != "rejected")
            ):
                if difflib.SequenceMatcher(None, wanted, _norm(other.name)).ratio() >= SIMILAR:
                    raise RegistrationRefused(
                        f"{name} looks like {other.name} ({other.key}), already registered in {code}",
                        hint="check with the programme whether your institution is registered before registering again",
                    )
            for version, cidr, first, last in spans:
                clash = _overlap(s, version, first, last)
                if clash is not None:
                    raise RegistrationRefused(
                        f"{cidr} overlaps {clash.cidr} of {clash.institution.name} ({clash.institution.key})",
                        hint="two institutions cannot share addresses; check the range with your network team",
                    )
            count = s.scalar(select(func.count(Institution.id))) or 0
            inst = Institution(
                key=f"I-{count + 1:05d}",
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

    def move(self, key: str, to: InstitutionStatus, *, by: str, reason: str = "") -> Institution:
        """Validate, reject (with a reason), suspend (with a reason) or reinstate; each step is an event."""
        if to in (InstitutionStatus.REJECTED, InstitutionStatus.SUSPENDED) and not reason.strip():
            raise StrongroomError(f"to make an institution {to}, give the reason", hint="pass --reason")
        with self.catalog.session() as s:
            inst = s.scalar(select(Institution).where(Institution.key == key))
            if inst is None:
                raise NotFound(f"no institution {key!r}", hint="list them with: strongroom institutions")
            current = InstitutionStatus(inst.status)
            if to not in MOVES[current]:
                raise StrongroomError(f"{key} is {current}; it cannot become {to}")
            inst.status, inst.status_reason = str(to), reason
            if to is InstitutionStatus.VALIDATED and current is InstitutionStatus.PENDING:
                group = self.eligibility.status(inst.country).final
                inst.group_at_validation = group
                if group == "B":
                    inst.trial_until = self.catalog.clock.now().date() + dt.timedelta(days=TRIAL_DAYS)
            self._event(s, key, f"{current} -> {to}" + (f": {reason}" if reason else ""), by, {"status": str(to)})
            return inst

    def record_payment(self, key: str, paid_through: dt.date, *, by: str) -> None:
        with self.catalog.session() as s:
            inst = s.scalar(select(Institution).where(Institution.key == key))
            if inst is None:
                raise NotFound(f"no institution {key!r}")
            inst.paid_through = paid_through
            self._event(s, key, f"group B fee paid through {paid_through}", by)

    def reminders(self, within_days: int = 30) -> list[tuple[str, str, str]]:
        """(institution, what lapses, when) for Group B trials and payments lapsing within ``within_days``."""
        today = self.catalog.clock.now().date()
        horizon = today + dt.timedelta(days=within_days)
        out = []
        with self.catalog.session() as s:
            for inst in s.scalars(select(Institution).where(Institution.status == "validated")):
                access = max((d for d in (inst.trial_until, inst.paid_through) if d is not None), default=None)
                if access is not None and today <= access <= horizon:
                    what = "trial" if access == inst.trial_until and not inst.paid_through else "paid access"
                    out.append((inst.key, what, access.isoformat()))
        return sorted(out, key=lambda r: r[2])

    def flags(self) -> list[tuple[str, str, str, str]]:
        """Validated institutions whose country's group is no longer the one they were validated in."""
        out = []
        with self.catalog.session() as s:
            rows = list(s.scalars(select(Institution).where(Institution.status == "validated")))
        for inst in rows:
            now = self.eligibility.status(inst.country).final
            if now != inst.group_at_validation:
                out.append((inst.key, inst.country, str(inst.group_at_validation), now))
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
            found = s.scalars(
                select(IpRange)
                .where(IpRange.version == ip.version, IpRange.first <= point, IpRange.last >= point)
                .options(selectinload(IpRange.institution))
            ).first()
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
        """Every registered institution (or those in one state), for listings and ``--json``."""
        with self.catalog.session() as s:
            stmt = select(Institution).options(selectinload(Institution.ranges)).order_by(Institution.key)
            if status:
                stmt = stmt.where(Institution.status == status)
            return [
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
                for i in s.scalars(stmt)
            ]
