"""Each title's summary (table ``title_summaries``): what the sitemap and KBART read of a title, kept so that they
cost their output (one row per title) and not the archive's AUs (issue 16: "sitemaps, KBART and exports streamed,
in time proportional to their output").

A title's row is computed from its AUs alone (:func:`summarise`, pure) and rewritten by :func:`refresh` in the
same transaction as any change to one of its AUs: the indexer's cataloguing of a version (items, kept counts and
issues, a release record) and its forgetting an object, a trigger's release, a fixity audit's outcome (KBART's
"preserved" on a node in no network reads it). A whole rebuild (:func:`rebuild`) is what ``strongroom reindex``,
the migration that made the table (revision 0018) and the benchmarks' bulk loader run.

What the row holds, and what reads it:

- ``last_released``, ``volumes``, ``volume_count``: the released AUs holding items, their latest release and the
  distinct volume keys they keep (:meth:`Released.title_volumes`, :meth:`Released.page_counts`);
- ``released``: every AU of the title released (KBART's notes and access type);
- ``coverage``, ``runs``: the coverage runs KBART writes (:func:`strongroom.formats.kbart.coverage_runs`, first and
  last issue of each) of the issues preserved under the one-copy rule (:func:`held_here`). In a network "preserved"
  is the members' answer of the moment, which no row can keep: there KBART still reads the AUs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from strongroom.catalog.models import ArchivalUnit, Title, TitleSummary
from strongroom.formats import kbart
from strongroom.formats.holdings import IssueHolding

BATCH = 500  # titles refreshed in one statement's IN (...), and AUs read at a time by a rebuild (in titles)

# An AU as a summary reads it, in AU id order: (released_at, item_count, volumes, issues, head_version,
# last_audit_ok, key).
AU_COLUMNS = (
    ArchivalUnit.title_id,
    ArchivalUnit.released_at,
    ArchivalUnit.item_count,
    ArchivalUnit.volumes,
    ArchivalUnit.issues,
    ArchivalUnit.head_version,
    ArchivalUnit.last_audit_ok,
    ArchivalUnit.key,
)


def held_here(head_version: int, last_audit_ok: bool | None) -> bool:
    """Whether a node in no network holds an AU, from what the AU's row keeps: a committed version catalogued
    (written from storage by the indexer), which its last fixity audit, if any, did not find missing or damaged."""
    return head_version > 0 and last_audit_ok is not False


def kept_issues(au_key: str, kept: Any, preserved: bool) -> Iterator[IssueHolding]:
    """The issues an AU keeps ([[volume, issue, first date, first year], ...]) as holdings, issue level only, never
    an item's metadata; an issue with no enumeration and no date (e.g. front matter) says nothing about coverage."""
    for volume, issue, first_date, first_year in kept or ():
        date = dt.date.fromisoformat(first_date) if first_date else None
        date = date or (dt.date(first_year, 1, 1) if first_year else None)
        if not (volume or issue or date):
            continue
        yield IssueHolding(volume, issue, date, au_key, preserved, exact=first_date is not None)


@dataclass(frozen=True)
class Summary:
    last_released: dt.datetime | None
    volumes: list[str]
    released: bool
    coverage: list[list[list[Any]]]

    def row(self, title_id: int) -> dict[str, Any]:
        return {
            "title_id": title_id,
            "last_released": self.last_released,
            "volumes": self.volumes,
            "volume_count": len(self.volumes),
            "released": self.released,
            "coverage": self.coverage,
            "runs": len(self.coverage),
        }


def _issue(i: IssueHolding) -> list[Any]:
    return [i.volume, i.issue, i.date.isoformat() if i.date else None, i.exact]


def issue_of(value: Sequence[Any]) -> IssueHolding:
    """An issue as a summary keeps it, back as a holding (preserved; its AU is not kept)."""
    volume, issue, date, exact = value
    return IssueHolding(volume, issue, dt.date.fromisoformat(date) if date else None, "", True, exact=bool(exact))


def summarise(aus: Iterable[Sequence[Any]]) -> Summary:
    """A title's summary from its AUs, in AU id order, each (released_at, item_count, volumes, issues,
    head_version, last_audit_ok, key): what the sitemap and a KBART file written from the AUs would show."""
    last: dt.datetime | None = None
    volumes: set[str] = set()
    every_released = True
    any_au = False
    issues: list[IssueHolding] = []
    for released_at, item_count, kept_volumes, kept, head_version, last_audit_ok, key in aus:
        any_au = True
        every_released = every_released and released_at is not None
        if released_at is not None and (item_count or 0) > 0:
            last = released_at if last is None or released_at > last else last
            if isinstance(kept_volumes, list):
                volumes.update(str(v[0]) for v in kept_volumes if isinstance(v, list) and v)
        if held_here(head_version, last_audit_ok):
            issues.extend(kept_issues(key, kept, True))
    issues.sort(key=kbart.issue_order)  # as a report sorts a title's issues (stable: AU order, then kept order)
    runs = kbart.coverage_runs(issues)
    return Summary(last, sorted(volumes), any_au and every_released, [[_issue(r[0]), _issue(r[-1])] for r in runs])


def _write(conn: Connection, title_ids: Sequence[int]) -> None:
    """Rewrite the rows of ``title_ids`` from their AUs (a title with no AU left has none).

    On PostgreSQL the titles' rows are locked first (in id order), so that two transactions changing AUs of one
    title take turns here: the second reads its AUs once the first has committed, its own change and the first's
    both seen, and rewrites the row the first wrote. Unlocked, it read the AUs without the first's change and then
    collided with the first's new row (a primary-key violation that failed its whole transaction). SQLite's writers
    take turns anyway."""
    c = ArchivalUnit.__table__.c
    lock = conn.dialect.name == "postgresql"
    for start in range(0, len(title_ids), BATCH):
        batch = list(title_ids[start : start + BATCH])
        if lock:
            t = Title.__table__.c
            conn.execute(select(t.id).where(t.id.in_(batch)).order_by(t.id).with_for_update())
        aus: dict[int, list[Any]] = {}
        stmt = select(*(c[col.key] for col in AU_COLUMNS)).where(c.title_id.in_(batch)).order_by(c.id)
        for row in conn.execute(stmt):
            aus.setdefault(row[0], []).append(row[1:])
        conn.execute(delete(TitleSummary).where(TitleSummary.title_id.in_(batch)))
        rows = [summarise(aus[t]).row(t) for t in batch if t in aus]
        if rows:
            conn.execute(insert(TitleSummary), rows)


def refresh(s: Session, title_ids: Iterable[int | None]) -> None:
    """Rewrite the summaries of ``title_ids`` from their AUs as this transaction now holds them (pending ORM changes
    are flushed first): called by whatever changes an AU, in its transaction."""
    wanted = sorted({t for t in title_ids if t is not None})
    if wanted:
        s.flush()
        _write(s.connection(), wanted)


def rebuild(conn: Connection) -> int:
    """Every title's summary again from the AUs (rows of titles with no AU removed); returns the titles summarised."""
    conn.execute(delete(TitleSummary))
    c = ArchivalUnit.__table__.c
    titles = list(conn.scalars(select(c.title_id).distinct().order_by(c.title_id)))
    _write(conn, titles)
    return len(titles)
