"""The holdings page (walked by key, ordered by the database) and the whole report and KBART file (sorted in Python)
list titles in one order, the rule of ``domain.names``, on SQLite and PostgreSQL: checked on names that the
database's ``lower()`` and Python's ``casefold`` order differently (German sharp s, Greek final sigma, Turkish dotted
and dotless i, accented capitals) and on two titles of the same name."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from strongroom.catalog.models import ArchivalUnit, Title
from strongroom.domain.names import sort_name
from strongroom.node import Node
from strongroom.services import title_summaries
from tests_support import walk_pages

NOW = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)
NAMES = [
    "Straße Journal",
    "Strasse Journal",
    "STRASSE Review",
    "ß Studies",
    "ΣΟΦΙΑ",
    "Σοφίας Review",
    "σοφιας review",
    "İzmir Review",
    "Izmir Letters",
    "ızmir notes",
    "École Review",
    "ecole review",
    "Zeta",
    "Acta",
    "Acta",  # the same name again: ties are broken by id
]
# A-Z lowered, then code points: what SQLite, PostgreSQL and Python all compute (domain.names)
EXPECTED = [
    "Acta",
    "Acta",
    "ecole review",
    "Izmir Letters",
    "Strasse Journal",
    "STRASSE Review",
    "Straße Journal",
    "Zeta",
    "École Review",
    "ß Studies",
    "İzmir Review",
    "ızmir notes",
    "ΣΟΦΙΑ",
    "Σοφίας Review",
    "σοφιας review",
]


def _catalog(node: Node) -> list[int]:
    """A title per name, each with one committed AU holding one issue (so KBART lists it); their ids in order."""
    with node.catalog.session() as s:
        titles = [Title(key=f"t-{99 - n:02}", name=name, created_at=NOW) for n, name in enumerate(NAMES)]
        for n, title in enumerate(titles):
            s.add(
                ArchivalUnit(
                    key=f"{title.key}/au",
                    title=title,
                    label="1",
                    state="collected",
                    object_id=f"strongroom:au/{title.key}",
                    head_version=1,
                    item_count=1,
                    created_at=NOW,
                    updated_at=NOW,
                    issues=[[str(n + 1), "1", "2024-03-01", 2024]],
                )
            )
        s.flush()
        title_summaries.rebuild(s.connection())  # AUs written here, not through the services that keep them
        s.commit()
    with node.catalog.session() as s:
        return list(s.scalars(select(Title.id).order_by(Title.id)))


def test_the_holdings_page_the_report_and_kbart_list_names_in_one_order(node: Node) -> None:
    ids = _catalog(node)
    holdings = node.holdings
    holdings.max_age = 0
    assert sorted(NAMES, key=sort_name) == EXPECTED  # the rule, spelled out
    walked = [t.name for t in walk_pages(lambda after: holdings.page(after=after, limit=2))]
    report = holdings.report()
    summarised = [line.split("\t")[0] for line in list(holdings.kbart_lines()[1])[1:]]
    from_aus = [line.split("\t")[0] for line in list(holdings.kbart_lines(from_aus=True)[1])[1:]]
    assert walked == EXPECTED
    assert [t.name for t in report.titles] == EXPECTED
    assert summarised == EXPECTED and from_aus == EXPECTED
    # the two titles of the same name: by id (their keys run the other way) on the page and in the report
    actas = [t.key for t in report.titles if t.name == "Acta"]
    assert actas == [t.key for t in walk_pages(lambda after: holdings.page(after=after, limit=1)) if t.name == "Acta"]
    assert actas == [f"t-{99 - NAMES.index('Acta'):02}", f"t-{99 - len(NAMES) + 1:02}"] and ids == sorted(ids)
