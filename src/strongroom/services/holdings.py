"""Holdings reports: what the archive preserves, title by title and issue by issue, for knowledge bases (KBART),
the Keepers Registry (ONIX-PH) and DOAJ's preservation section.

What is preserved is public (titles, ISSNs, volumes, issues, dates), as CLOCKSS and the Keepers Registry publish
it, dark content included; what is *in* it is not: nothing here reads an item's title, authors, abstract or files,
only the volume, issue and date each issue is grouped by.

"Preserved" is the network's sense (``strongroom network status``): an AU held at its head version by at least
``target_copies`` members in at least ``min_countries`` countries, as the members answer now. A node that has not
joined a network keeps one copy: there an AU is preserved when this node holds it, as the AU's row keeps it
(catalogued at a committed version, and not found missing or damaged by its last fixity audit: the store is not
asked object by object), and the report's ``basis`` says that it is one copy.

Reports are read title by title, a batch of titles at a time (their AUs by the titles' index), so KBART is written
as it is read and a title's page reads that title only. The portal's list of titles is read a page at a time by key
(:meth:`HoldingsReports.page`), in the order of the portal's other lists.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from strongroom.catalog.models import ArchivalUnit, Enrolment, Publisher, Title, TitleSummary
from strongroom.catalog.repo import Catalog
from strongroom.domain.model import PublisherStatus
from strongroom.errors import NotFound
from strongroom.formats import kbart
from strongroom.formats.holdings import Holdings, IssueHolding, TitleHolding, doaj_values
from strongroom.services import keyset
from strongroom.services.browse import KeyPage, after_position
from strongroom.services.membership import Membership
from strongroom.services.title_summaries import held_here, issue_of, kept_issues
from strongroom.store.base import ObjectStore

PreservedObjects = Callable[[], set[str] | None]  # object ids the network holds enough copies of (None: in no network)
TITLE_BATCH = 500  # titles read at a time (their AUs by the titles' index), and object ids in one IN (...)
PAGE_SIZE = 100  # titles on one page of the portal's list, as on its other lists (portal.pages.LIST_SIZE)
# (the same words the certificate translates, portal/certificate.py; what "holds" means is held_here's)
ONE_COPY = "held by this node, which is in no network: one copy"


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
        self.batch = TITLE_BATCH  # titles read at a time
        self.page_size = PAGE_SIZE  # titles on one page of the portal's list
        self._reports: dict[Scope, Holdings] = {}
        self._lock = threading.Lock()

    def title_url(self, key: str) -> str:
        return f"{self.base_url}/holdings/titles/{key}/"

    def _rule(self) -> tuple[Callable[[str, int, bool | None], bool], str]:
        """Whether an AU (its object id, head version and last audit's outcome) is preserved, and what that means
        here in one sentence: the one definition every report and page uses. In a network the members are asked
        once (their answer is reused a while by the node); otherwise the AU's own row answers."""
        if self.membership.joined:
            policy = self.membership.config().policy
            basis = (
                f"held at its head version by at least {policy.target_copies} members of the network in at least "
                f"{policy.min_countries} countries"
            )
            held = set(self.network_preserved() or ())
            return lambda object_id, head_version, _: head_version > 0 and object_id in held, basis
        return lambda _, head_version, last_audit_ok: held_here(head_version, last_audit_ok), ONE_COPY

    def preserved(self, object_ids: Iterable[str]) -> tuple[set[str], str]:
        """Which of ``object_ids`` are preserved, and what "preserved" means here (see :meth:`_rule`)."""
        is_preserved, basis = self._rule()
        wanted = sorted(set(object_ids))
        found: set[str] = set()
        with self.catalog.session() as s:
            for start in range(0, len(wanted), TITLE_BATCH):
                stmt = select(ArchivalUnit.object_id, ArchivalUnit.head_version, ArchivalUnit.last_audit_ok).where(
                    ArchivalUnit.object_id.in_(wanted[start : start + TITLE_BATCH])
                )
                found.update(o for o, version, ok in s.execute(stmt) if is_preserved(o, version, ok))
        return found, basis

    def report(self, scope: Scope | None = None) -> Holdings:
        """The holdings of the titles in ``scope`` (all by default), titles sorted by name; the same report for
        ``max_age`` seconds."""
        scope = scope or Scope()
        kept = self._kept(scope)
        if kept is not None:
            return kept
        generated = self.catalog.clock.now()
        basis, titles = self._walk(scope)
        report = Holdings(self.provider, self.base_url, generated, basis, tuple(titles))
        with self._lock:
            self._reports[scope] = report
        return report

    def _kept(self, scope: Scope) -> Holdings | None:
        """The report of ``scope`` made less than ``max_age`` seconds ago, if any."""
        if self.max_age <= 0:
            return None
        with self._lock:
            kept = self._reports.get(scope)
        if kept is not None and (self.catalog.clock.now() - kept.generated).total_seconds() < self.max_age:
            return kept
        return None

    def _walk(self, scope: Scope, key: str | None = None) -> tuple[str, Iterator[TitleHolding]]:
        """What "preserved" means, and the titles in ``scope`` (or the one title ``key``) in the order of a report,
        read as they are consumed. An unknown publisher raises :class:`NotFound` here, before anything is read."""
        t = Title.__table__.c
        with self.catalog.session() as s:
            stmt = select(t.id).where(*self._in_scope(s, scope))
            if key is not None:
                stmt = stmt.where(t.key == key)
            # by the stored key, as the pages order (domain.names): compared as bytes, the same order on both backends
            order = list(s.scalars(stmt.order_by(t.sort_key, t.id)))
        is_preserved, basis = self._rule()
        return basis, self._titles(order, is_preserved)

    @staticmethod
    def _in_scope(s: Session, scope: Scope) -> list[ColumnElement[bool]]:
        """The conditions on titles that ``scope`` sets. An unknown publisher raises :class:`NotFound`."""
        t = Title.__table__.c
        where: list[ColumnElement[bool]] = []
        if scope.publisher:
            publisher = s.scalar(select(Publisher.id).where(Publisher.key == scope.publisher))
            if publisher is None:
                raise NotFound(f"no publisher {scope.publisher!r}", hint="list them with: strongroom publishers")
            where.append(t.publisher_id == publisher)
        if scope.programme:
            where.append(t.id.in_(select(Enrolment.title_id).where(Enrolment.active.is_(True))))
        return where

    def page(
        self, scope: Scope | None = None, *, after: str | None = None, limit: int | None = None
    ) -> KeyPage[TitleHolding]:
        """The holdings of one page of the titles in ``scope`` (all by default): the ``limit`` (default
        :attr:`page_size`) after the cursor ``after``, with how many titles the scope has in all (counted, not
        read). Walked by key as the portal's other lists are (decision 0009): by the name's sort key, then id
        (:mod:`strongroom.domain.names`: the order of a whole report and of KBART, on SQLite and PostgreSQL alike),
        a seek on the (sort_key, id) index of revision 0020. An ``after`` no page gave raises
        :class:`~strongroom.services.keyset.BadCursor` before anything is read."""
        scope = scope or Scope()
        limit = limit or self.page_size
        # read once, and before anything is read from the catalog: a cursor no page gave is refused first
        position = keyset.decode(after, str, int) if after else None
        t = Title.__table__.c
        sort = t.sort_key
        with self.catalog.session() as s:
            where = self._in_scope(s, scope)
            stmt = select(t.id, sort).where(*where).order_by(sort, t.id)
            if position is not None:
                stmt = stmt.where(after_position(sort, t.id, *position))
            shown, after_last = keyset.fetch_page(
                lambda n: s.execute(stmt.limit(n)).all(), limit, lambda r: keyset.encode(r[1], r[0])
            )
            total = int(s.scalar(select(func.count()).select_from(Title.__table__).where(*where)) or 0)
        is_preserved, _ = self._rule()
        rows = tuple(self._titles([title_id for title_id, _ in shown], is_preserved))
        return KeyPage(rows, limit, after_last, total)

    def _titles(
        self, order: list[int], is_preserved: Callable[[str, int, bool | None], bool]
    ) -> Iterator[TitleHolding]:
        """The holdings of the titles ``order`` names, in that order, :attr:`batch` titles a time: two
        column-only reads per batch (the titles with their publishers; their AUs with the issues each keeps), no
        ORM objects and no item."""
        t, p, au = Title.__table__.c, Publisher.__table__.c, ArchivalUnit.__table__.c
        titles_of = select(
            t.id, t.key, t.name, t.kind, t.issn_print, t.issn_online, t.isbn, p.key, p.name, p.status
        ).select_from(Title.__table__.outerjoin(Publisher.__table__, t.publisher_id == p.id))
        aus_of = select(au.title_id, au.key, au.object_id, au.head_version, au.last_audit_ok, au.issues, au.released_at)
        for start in range(0, len(order), self.batch):
            batch = order[start : start + self.batch]
            with self.catalog.session() as s:
                titles = {row[0]: row for row in s.execute(titles_of.where(t.id.in_(batch))).all()}
                aus: dict[int, list[Any]] = {}
                for row in s.execute(aus_of.where(au.title_id.in_(batch)).order_by(au.id)).all():
                    aus.setdefault(row[0], []).append(row)
            for title_id in batch:
                if title_id in titles:  # (a title deleted since the walk began is left out)
                    yield self._holding(titles[title_id], aus.get(title_id, []), is_preserved)

    def _title_holding(self, title: Any, released: bool, issues: tuple[IssueHolding, ...]) -> TitleHolding:
        _, key, name, kind, issn_print, issn_online, isbn, publisher_key, publisher_name, publisher_status = title
        return TitleHolding(
            key=key,
            name=name,
            kind=kind,
            issn_print=issn_print,
            issn_online=issn_online,
            isbn=isbn,
            publisher_key=publisher_key,
            publisher_name=publisher_name,
            url=self.title_url(key),
            released=released,
            ceased=publisher_status == PublisherStatus.CEASED,
            issues=issues,
        )

    def _holding(
        self, title: Any, aus: list[Any], is_preserved: Callable[[str, int, bool | None], bool]
    ) -> TitleHolding:
        issues: list[IssueHolding] = []
        for _, au_key, object_id, head_version, last_audit_ok, kept, _ in aus:
            if head_version <= 0:
                continue
            issues += kept_issues(au_key, kept, is_preserved(object_id, head_version, last_audit_ok))
        issues.sort(key=kbart.issue_order)
        return self._title_holding(title, bool(aus) and all(row[-1] is not None for row in aus), tuple(issues))

    def title(self, key: str) -> TitleHolding:
        """One title's holdings: that title's AUs only (or the kept report's, while it is fresh)."""
        kept = self._kept(Scope())
        if kept is not None:
            found = next((t for t in kept.titles if t.key == key), None)
        else:
            found = next(self._walk(Scope(), key)[1], None)
        if found is None:
            raise NotFound(f"no title {key!r}", hint="list them with: strongroom titles")
        return found

    def kbart(self, scope: Scope | None = None) -> tuple[str, str]:
        """The KBART file's name and text."""
        name, lines = self.kbart_lines(scope)
        return name, "".join(lines)

    def kbart_lines(self, scope: Scope | None = None, *, from_aus: bool = False) -> tuple[str, Iterator[str]]:
        """The KBART file's name and its lines. On a node in no network they are written from the titles' summaries
        (services.title_summaries: each title's coverage runs, kept with its AUs), reading one row per title that
        has some, so the file costs its rows and not the archive's AUs. In a network (or with ``from_aus``, the
        check of the summaries) "preserved" is the members' answer of the moment, and the lines are written as
        the titles and their AUs are read, a batch of titles at a time. Either way a file of any size starts at
        once and is never held whole. An unknown publisher raises :class:`NotFound` at once, before the first
        line."""
        scope = scope or Scope()
        kept = self._kept(scope)
        if kept is not None:
            generated, titles = kept.generated, iter(kept.titles)
        elif from_aus or self.membership.joined:
            generated = self.catalog.clock.now()
            titles = self._walk(scope)[1]
        else:
            generated = self.catalog.clock.now()
            name = kbart.file_name(self.provider, scope.package(), generated.date())
            return name, kbart.run_lines(self._summarised(scope), generated=generated.date())
        name = kbart.file_name(self.provider, scope.package(), generated.date())
        return name, kbart.lines(titles, generated=generated.date())

    def _summarised(self, scope: Scope) -> Iterator[tuple[TitleHolding, list[list[IssueHolding]]]]:
        """The titles in ``scope`` with coverage under the one-copy rule, in the order of a report, each with its
        runs as its summary keeps them (first and last issue of each). The rows are read by title id a batch at a
        time (only titles with a run: one row per title the file lists), then sorted by name as a report sorts
        them. An unknown publisher raises :class:`NotFound` here, before anything is yielded."""
        t, p, ts = Title.__table__.c, Publisher.__table__.c, TitleSummary.__table__.c
        stmt = (
            select(
                t.id, t.key, t.name, t.kind, t.issn_print, t.issn_online, t.isbn, p.key, p.name, p.status,
                ts.released, ts.coverage, t.sort_key,
            )
            .select_from(
                Title.__table__.join(TitleSummary.__table__, ts.title_id == t.id).outerjoin(
                    Publisher.__table__, t.publisher_id == p.id
                )
            )
            .where(ts.runs > 0)
            .order_by(t.id)
            .limit(self.batch)
        )  # fmt: skip
        rows: list[Any] = []
        with self.catalog.session() as s:
            stmt = stmt.where(*self._in_scope(s, scope))
        after = 0
        while True:
            with self.catalog.session() as s:
                got = s.execute(stmt.where(t.id > after)).all()
            rows += got
            if len(got) < self.batch:
                break
            after = got[-1][0]
        # sorted here, by the stored key the pages' SQL orders by (domain.names), then the key is dropped
        rows.sort(key=lambda r: (r[-1], r[0]))
        return self._runs_of([row[:-1] for row in rows])

    def _runs_of(self, rows: list[Any]) -> Iterator[tuple[TitleHolding, list[list[IssueHolding]]]]:
        for row in rows:
            runs = [[issue_of(first), issue_of(last)] for first, last in row[-1]]
            yield self._title_holding(row[:-2], bool(row[-2]), ()), runs

    def doaj(self, scope: Scope | None = None) -> list[dict[str, object]]:
        """For each title, the values of DOAJ's preservation section."""
        report = self.report(scope)
        return [
            doaj_values(t, service_name=self.provider, policy_url=f"{self.base_url}/holdings/") for t in report.titles
        ]
