"""Holdings reports: what the archive preserves, title by title and issue by issue, for knowledge bases (KBART),
the Keepers Registry (ONIX-PH) and DOAJ's preservation section.

What is preserved is public (titles, ISSNs, volumes, issues, dates), as CLOCKSS and the Keepers Registry publish
it, dark content included; what is *in* it is not: nothing here reads an item's title, authors, abstract or files,
only the volume, issue and date each issue is grouped by.

"Preserved" is the network's sense (``strongroom network status``): an AU held at its head version by at least
``target_copies`` members in at least ``min_countries`` countries, as the members answer now. A node that has not
joined a network keeps one copy: there an AU is preserved when this node holds it (catalogued at a committed
version and present in storage), and the report's ``basis`` says that it is one copy.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select

from strongroom.catalog.models import ArchivalUnit, Enrolment, Publisher, Title
from strongroom.catalog.repo import Catalog
from strongroom.domain.model import PublisherStatus
from strongroom.errors import NotFound
from strongroom.formats import kbart
from strongroom.formats.holdings import Holdings, IssueHolding, TitleHolding, doaj_values
from strongroom.services.membership import Membership
from strongroom.store.base import ObjectStore

PreservedObjects = Callable[[], set[str] | None]  # object ids the network holds enough copies of (None: in no network)


@dataclass(frozen=True)
class Scope:
    """Which titles a report covers: all, one publisher's, or those enrolled in the access programme."""

    publisher: str | None = None
    programme: bool = False

    def package(self) -> str:
        """The package part of a KBART file name."""
        if self.publisher:
            return kbart.name_part(self.publisher)
        return "AccessProgramme" if self.programme else "AllTitles"


class HoldingsReports:
    def __init__(
        self,
        catalog: Catalog,
        store: ObjectStore,
        membership: Membership,
        network_preserved: PreservedObjects,
        *,
        provider: str,
        base_url: str,
        max_age: float = 0.0,
    ) -> None:
        self.catalog = catalog
        self.store = store
        self.membership = membership
        self.network_preserved = network_preserved  # asks the members: called only when the node is in a network
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        # how long a report is reused: the portal's feeds, title pages and certificates ask for one on every request,
        # and a report reads every AU of the archive
        self.max_age = max_age
        self._reports: dict[Scope, Holdings] = {}
        self._lock = threading.Lock()

    def title_url(self, key: str) -> str:
        return f"{self.base_url}/holdings/titles/{key}/"

    def _preserved(self, object_ids: Iterable[str]) -> tuple[set[str], str]:
        if self.membership.joined:
            policy = self.membership.config().policy
            basis = (
                f"held at its head version by at least {policy.target_copies} members of the network in at least "
                f"{policy.min_countries} countries"
            )
            return set(self.network_preserved() or ()), basis
        held = {o for o in object_ids if self.store.exists(o)}
        return held, "held by this node, which is in no network: one copy"

    def preserved(self, object_ids: Iterable[str]) -> tuple[set[str], str]:
        """Which of ``object_ids`` are preserved, and what "preserved" means here, in one sentence: the one
        definition every report and page uses."""
        found, basis = self._preserved(object_ids)
        return found, basis

    def report(self, scope: Scope | None = None) -> Holdings:
        """The holdings of the titles in ``scope`` (all by default), titles sorted by name; the same report for
        ``max_age`` seconds."""
        scope = scope or Scope()
        with self._lock:
            kept = self._reports.get(scope)
            if kept is not None and (self.catalog.clock.now() - kept.generated).total_seconds() < self.max_age:
                return kept
        report = self._report(scope)
        with self._lock:
            self._reports[scope] = report
        return report

    def _report(self, scope: Scope) -> Holdings:
        """Two column-only reads (the titles with their publishers; the AUs of those titles with the issues each
        keeps), no ORM objects: at 10,000 AUs loading objects cost seconds."""
        t, p, au = Title.__table__.c, Publisher.__table__.c, ArchivalUnit.__table__.c
        with self.catalog.session() as s:
            stmt = select(
                t.id, t.key, t.name, t.kind, t.issn_print, t.issn_online, t.isbn, p.key, p.name, p.status
            ).select_from(Title.__table__.outerjoin(Publisher.__table__, t.publisher_id == p.id))
            if scope.publisher:
                if s.scalar(select(Publisher.id).where(Publisher.key == scope.publisher)) is None:
                    raise NotFound(f"no publisher {scope.publisher!r}", hint="list them with: strongroom publishers")
                stmt = stmt.where(p.key == scope.publisher)
            if scope.programme:
                enrolled = select(Enrolment.title_id).where(Enrolment.active.is_(True))
                stmt = stmt.where(t.id.in_(enrolled))
            titles = s.execute(stmt).all()
            aus = select(au.title_id, au.key, au.object_id, au.head_version, au.issues, au.released_at)
            if scope.publisher or scope.programme:
                aus = aus.where(au.title_id.in_(stmt.with_only_columns(t.id)))
            au_rows = s.execute(aus).all()
        preserved, basis = self._preserved(row[2] for row in au_rows if row[3] > 0)
        by_title: dict[int, list[IssueHolding]] = {}
        au_count: dict[int, int] = {}
        all_released: dict[int, bool] = {}
        for title_id, au_key, object_id, head_version, issues, released_at in au_rows:
            au_count[title_id] = au_count.get(title_id, 0) + 1
            all_released[title_id] = all_released.get(title_id, True) and released_at is not None
            if head_version <= 0:
                continue
            # issue level only, as the AU keeps it (volume, issue and the first date): never an item's metadata
            for volume, issue, first_date, first_year in issues or ():
                date = dt.date.fromisoformat(first_date) if first_date else None
                date = date or (dt.date(first_year, 1, 1) if first_year else None)
                if not (volume or issue or date):
                    continue  # items without enumeration or date (e.g. front matter) say nothing about coverage
                by_title.setdefault(title_id, []).append(
                    IssueHolding(volume, issue, date, au_key, object_id in preserved, exact=first_date is not None)
                )
        out = [
            TitleHolding(
                key=key,
                name=name,
                kind=kind,
                issn_print=issn_print,
                issn_online=issn_online,
                isbn=isbn,
                publisher_key=publisher_key,
                publisher_name=publisher_name,
                url=self.title_url(key),
                released=au_count.get(title_id, 0) > 0 and all_released.get(title_id, False),
                ceased=publisher_status == PublisherStatus.CEASED,
                issues=tuple(
                    sorted(
                        by_title.get(title_id, []),
                        key=lambda i: (
                            i.date or dt.date.max,
                            kbart.enumeration_key(i.volume),
                            kbart.enumeration_key(i.issue),
                        ),
                    )
                ),
            )
            for (
                title_id,
                key,
                name,
                kind,
                issn_print,
                issn_online,
                isbn,
                publisher_key,
                publisher_name,
                publisher_status,
            ) in titles
        ]
        out.sort(key=lambda t: (t.name.casefold(), t.key))
        return Holdings(self.provider, self.base_url, self.catalog.clock.now(), basis, tuple(out))

    def title(self, key: str) -> TitleHolding:
        found = next((t for t in self.report().titles if t.key == key), None)
        if found is None:
            raise NotFound(f"no title {key!r}", hint="list them with: strongroom titles")
        return found

    def kbart(self, scope: Scope | None = None) -> tuple[str, str]:
        """The KBART file's name and text."""
        scope = scope or Scope()
        report = self.report(scope)
        name = kbart.file_name(self.provider, scope.package(), report.generated.date())
        return name, kbart.write(report.titles, generated=report.generated.date())

    def doaj(self, scope: Scope | None = None) -> list[dict[str, object]]:
        """For each title, the values of DOAJ's preservation section."""
        report = self.report(scope)
        return [
            doaj_values(t, service_name=self.provider, policy_url=f"{self.base_url}/holdings/") for t in report.titles
        ]
