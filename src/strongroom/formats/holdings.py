"""What a holdings report says, as plain data: per title its identifiers, publisher and preserved issues (volume,
issue, date). The services build it from the catalog (:mod:`strongroom.services.holdings`); the report formats
(:mod:`strongroom.formats.kbart`, :mod:`strongroom.formats.onix_ph`, and the DOAJ values here) only write it.

It holds no item-level metadata (no article titles, authors, abstracts or files): what is preserved is public, as
CLOCKSS and the Keepers Registry publish it; what is in it is not, while it is dark.

Must not import: anything above the base layer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

DOAJ_SERVICE = "other"  # DOAJ's form knows CINES, CLOCKSS, LOCKSS, ... PKP PN; any other archive is "other"


@dataclass(frozen=True)
class IssueHolding:
    """One issue the archive holds: its enumeration, the date of its first article, and whether it is preserved in
    the network's sense (see :class:`Holdings`)."""

    volume: str | None
    issue: str | None
    date: dt.date | None
    au_key: str
    preserved: bool
    exact: bool = True  # False: only the year is known (``date`` is then 1 January of it)

    @property
    def year(self) -> int | None:
        return self.date.year if self.date else None

    def iso_date(self) -> str:
        """The date in ISO 8601 at the precision known: ``2023-07-01``, or ``2023``."""
        if self.date is None:
            return ""
        return self.date.isoformat() if self.exact else f"{self.date.year:04d}"


@dataclass(frozen=True)
class TitleHolding:
    key: str
    name: str
    kind: str  # journal or book
    issn_print: str | None
    issn_online: str | None
    isbn: str | None
    publisher_key: str | None
    publisher_name: str | None
    url: str  # the title's holdings page on the portal
    released: bool  # every AU released to everyone by a trigger (then free to read on the portal)
    issues: tuple[IssueHolding, ...]  # in order of date, then volume and issue
    ceased: bool = False  # its publisher is known to have ceased (no new issues will come)

    @property
    def preserved_issues(self) -> tuple[IssueHolding, ...]:
        return tuple(i for i in self.issues if i.preserved)

    @property
    def preserved(self) -> bool:
        return bool(self.preserved_issues)

    def coverage_years(self) -> tuple[int, int] | None:
        """First and last year of the preserved issues (DOAJ and the ISSN portal show them as ``2019/2025``)."""
        years = [i.year for i in self.preserved_issues if i.year is not None]
        return (min(years), max(years)) if years else None


@dataclass(frozen=True)
class Holdings:
    """The report: who sends it, when, what "preserved" means on this node, and the titles (sorted by name)."""

    provider: str  # the archive's name (the node's, or the network's)
    agency_url: str  # the portal's address
    generated: dt.datetime
    basis: str  # what "preserved" means here, in one sentence
    titles: tuple[TitleHolding, ...]


def doaj_values(title: TitleHolding, *, service_name: str, policy_url: str) -> dict[str, Any]:
    """What a journal enters in DOAJ's preservation section (``bibjson.preservation``) for ``title``: the archive is
    not one of the services DOAJ names, so it is ``other`` with the archive's name as the free text; ``url`` is the
    title's holdings page, where what is preserved (and under which policy) is stated."""
    years = title.coverage_years()
    return {
        "title": title.name,
        "key": title.key,
        "issn_print": title.issn_print,
        "issn_online": title.issn_online,
        "has_preservation": title.preserved,
        "service": [DOAJ_SERVICE] if title.preserved else [],
        "service_other": service_name if title.preserved else None,
        "national_library": [],
        "url": title.url if title.preserved else None,
        "policy_url": policy_url,
        "coverage": f"{years[0]}/{years[1]}" if years else None,
        "preserved_issues": len(title.preserved_issues),
    }


def doaj_text(values: dict[str, Any]) -> str:
    """The same values as a journal manager reads them, one per line."""
    if not values["has_preservation"]:
        return (
            f"{values['title']}: nothing preserved yet. In DOAJ, leave 'Long-term preservation service' unticked "
            "until preserved issues appear here."
        )
    issns = ", ".join(x for x in (values["issn_print"], values["issn_online"]) if x) or "no ISSN"
    return "\n".join(
        [
            f"{values['title']} ({issns}): {values['preserved_issues']} preserved issues, {values['coverage']}",
            "  Long-term preservation service: Other",
            f"  Other (name): {values['service_other']}",
            f"  URL (where the preservation is stated): {values['url']}",
        ]
    )
