"""Names in the order a French, Spanish or Portuguese reader expects (``domain.names``: accents dropped, case
folded, "ß" as "ss", then the row's id), the same everywhere a list of titles is shown: the portal's /titles/ page,
the holdings page (walked by key, ordered by the database on the stored ``sort_key``), the whole holdings report and
KBART (sorted in Python), and ``strongroom titles --json``, on SQLite and PostgreSQL. Under the old rule (A-Z
lowered, then code points) "Études africaines" came after "Zeta" and "Ñandú" after "Nature"."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from strongroom.catalog import tables
from strongroom.catalog.models import ArchivalUnit, Publisher, Title
from strongroom.domain.names import sort_key
from strongroom.node import Node
from strongroom.portal.app import create_portal
from strongroom.services import title_summaries
from tests_support import walk_pages

NOW = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)
NAMES = [
    "Zeta",
    "Études africaines",
    "Ethnologie",
    "estudos",
    "Ñandú",
    "Nature",
    "straße",
    "Strasse",  # the same key as "straße": ties are broken by id (their title keys run the other way)
    "Acta",
    "ΣΟΦΙΑ",
    "σοφιας review",  # final sigma folds to sigma
    "İzmir Review",  # Turkish dotted capital I folds to i
    "Izmir Letters",
    "Acta",  # the same name again
]
EXPECTED = [
    "Acta",
    "Acta",
    "estudos",
    "Ethnologie",
    "Études africaines",
    "Izmir Letters",
    "İzmir Review",
    "Ñandú",
    "Nature",
    "straße",
    "Strasse",
    "Zeta",
    "ΣΟΦΙΑ",
    "σοφιας review",
]


def _catalog(node: Node) -> list[str]:
    """A title per name, in this order (so ids follow it, and keys run the other way), each with one released AU
    holding one issue (so KBART and the portal list it); their keys in id order."""
    with node.catalog.session() as s:
        for n, name in enumerate(NAMES):
            title = Title(key=f"t-{99 - n:02}", name=name, created_at=NOW)
            s.add(title)
            s.flush()  # one at a time: ids in the order of NAMES
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
                    released_at=NOW,
                    issues=[[str(n + 1), "1", "2024-03-01", 2024]],
                )
            )
        s.flush()
        title_summaries.rebuild(s.connection())  # AUs written here, not through the services that keep them
        s.commit()
    with node.catalog.session() as s:
        return list(s.scalars(select(Title.key).order_by(Title.id)))


def _in_order(node: Node) -> list[str]:
    """The titles' names in the expected order, ties by id (the names alone cannot show "Acta" from "Acta")."""
    keys = _catalog(node)
    assert keys == [f"t-{99 - n:02}" for n in range(len(NAMES))]
    return [name for _, _, name in sorted((sort_key(name), n, name) for n, name in enumerate(NAMES))]


def test_the_rule_folds_accents_case_and_sharp_s() -> None:
    assert [sort_key(n) for n in ("Études", "Straße", "İstanbul", "Ñandú", "ΣΟΦΙΑΣ")] == [
        "etudes",
        "strasse",
        "istanbul",
        "nandu",
        "σοφιασ",
    ]
    assert sort_key("x" * 2000) == "x" * 500  # cut, so that an index entry stays small


def test_every_list_of_titles_shows_names_in_the_readers_order(node: Node) -> None:
    assert _in_order(node) == EXPECTED  # the rule, spelled out
    holdings = node.holdings
    holdings.max_age = 0
    walked = [t.name for t in walk_pages(lambda after: holdings.page(after=after, limit=2))]
    report = holdings.report()
    summarised = [line.split("\t")[0] for line in list(holdings.kbart_lines()[1])[1:]]
    from_aus = [line.split("\t")[0] for line in list(holdings.kbart_lines(from_aus=True)[1])[1:]]
    assert walked == EXPECTED
    assert [t.name for t in report.titles] == EXPECTED
    assert summarised == EXPECTED and from_aus == EXPECTED
    # "straße" and "Strasse" (one key) by id, not by title key, on the page, in the report and in KBART alike
    assert [t.key for t in report.titles if sort_key(t.name) == "strasse"] == ["t-93", "t-92"]
    by_key = [t.key for t in walk_pages(lambda after: holdings.page(after=after, limit=1))]
    assert by_key == [t.key for t in report.titles]
    assert [t.name for t in walk_pages(lambda after: node.browse.title_page(after=after, limit=3))] == EXPECTED
    assert [t.name for t in walk_pages(lambda after: node.browse.released_lists.titles(after=after, limit=3))] == (
        EXPECTED
    )
    assert [t.name for t in node.released().titles()] == EXPECTED

    with TestClient(create_portal(node), base_url="http://127.0.0.1:8080") as client:
        for lang in ("", "/fr"):
            page = client.get(f"{lang}/titles/")
            assert page.status_code == 200
            keys = re.findall(rf'href="{lang}/titles/(t-\d\d)/"', page.text)
            assert keys == by_key, lang

    env = {**os.environ, "COLUMNS": "250"}
    cmd = [sys.executable, "-m", "strongroom.cli.main", "titles", "--all", "--json", "--home", str(node.settings.home)]
    listed = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, timeout=300)
    assert listed.returncode == 0, listed.stderr
    assert [t["key"] for t in json.loads(listed.stdout)["titles"]] == by_key


def test_a_renamed_title_moves_to_its_new_place(node: Node) -> None:
    _catalog(node)
    with node.catalog.session() as s:
        zeta = s.scalars(select(Title).where(Title.name == "Zeta")).one()
        zeta.name = "Ébène"  # the ORM's rename keeps the key
        s.commit()
    with node.catalog.session() as s:
        assert s.scalar(select(Title.sort_key).where(Title.key == "t-99")) == "ebene"
    names = [t.name for t in walk_pages(lambda after: node.browse.title_page(after=after, limit=2))]
    assert names == ["Acta", "Acta", "Ébène", "estudos", *EXPECTED[3:11], *EXPECTED[12:]]


def test_lists_sorted_in_python_order_by_the_stored_key_too(node: Node) -> None:
    """The order has one definition, the stored key: a key apart from its name moves the title and the publisher in
    the lists that are sorted in Python (the holdings report and KBART, the released titles and publishers) too."""
    _catalog(node)
    with node.catalog.session() as s:
        alpha, beta = (
            Publisher(key="p-a", name="Alpha", created_at=NOW),
            Publisher(key="p-b", name="Beta", created_at=NOW),
        )
        s.add_all([alpha, beta])
        s.flush()
        for title in s.scalars(select(Title)):
            title.publisher_id = beta.id if title.name == "Zeta" else alpha.id
        s.commit()
    with node.catalog.engine.begin() as conn:  # keys that put Zeta and Beta first
        conn.execute(update(tables.titles).where(tables.titles.c.name == "Zeta").values(sort_key=""))
        conn.execute(update(tables.publishers).where(tables.publishers.c.key == "p-b").values(sort_key=""))
    expected = ["Zeta", *EXPECTED[:11], *EXPECTED[12:]]
    holdings = node.holdings
    holdings.max_age = 0
    assert [t.name for t in holdings.report().titles] == expected
    assert [line.split("\t")[0] for line in list(holdings.kbart_lines()[1])[1:]] == expected
    released = node.released()
    assert [t.name for t in released.titles()] == expected
    assert [p.key for p in released.publishers()] == ["p-b", "p-a"]
    assert [key for key, _, _ in released.publisher_pages()] == ["p-b", "p-a"]


def test_a_core_insert_without_a_key_gets_its_names(node: Node) -> None:
    """What writes rows without the ORM (bulk loads) gets the key from the name all the same."""

    with node.catalog.engine.begin() as conn:
        conn.execute(tables.publishers.insert(), [{"key": "p", "name": "Éditions Ñ", "created_at": NOW}])
        conn.execute(
            tables.titles.insert(),
            [{"key": "a", "name": "Straße", "created_at": NOW}, {"key": "b", "name": "Études", "created_at": NOW}],
        )
    with node.catalog.engine.connect() as conn:
        assert dict(conn.execute(select(tables.titles.c.key, tables.titles.c.sort_key)).all()) == {
            "a": "strasse",
            "b": "etudes",
        }
        assert conn.execute(select(tables.publishers.c.sort_key)).scalar_one() == "editions n"
