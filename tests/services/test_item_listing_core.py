"""The item listing reads the Core tables, without the ORM (issue 16, a fast command line), and answers exactly what
the mapped classes say of every item, listed in pages or found by a search, on both catalogs; the mapped classes
are mapped onto those same tables, never a second definition of them. (That ``strongroom items`` then imports no
ORM is tests/cli/test_cli_imports.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from strongroom.catalog import models, models_core, tables
from strongroom.catalog.models import ArchivalUnit, Item
from strongroom.node import Node
from strongroom.services.browse import ItemRow, _item_row


@pytest.fixture
def deposited(node: Node, sample_dir: Path) -> Node:
    for bag in sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag.zip"))[:2]:
        node.ingest.deposit(bag)
    return node


def _through_the_orm(node: Node) -> dict[int, ItemRow]:
    """Every item's row as the mapped classes give it (with its AU and title loaded)."""
    options = selectinload(Item.au).selectinload(ArchivalUnit.title)
    with node.catalog.session() as s:
        return {
            i.id: _item_row(i, au=i.au.key, journal=i.au.title.name) for i in s.scalars(select(Item).options(options))
        }


def test_listed_items_are_what_the_mapped_classes_say(deposited: Node) -> None:
    expected = _through_the_orm(deposited)
    assert len(expected) > 3
    page = deposited.browse.item_page(limit=None)
    assert [r.id for r in page.rows] == sorted(expected)
    assert {r.id: r for r in page.rows} == expected
    first = deposited.browse.item_page(limit=2, offset=1)
    assert first.rows == tuple(expected[i] for i in sorted(expected)[1:3]) and first.after == sorted(expected)[2]
    then = deposited.browse.item_page(limit=2, after=first.after)
    assert then.rows == tuple(expected[i] for i in sorted(expected)[3:5])


def test_found_items_are_what_the_mapped_classes_say(deposited: Node) -> None:
    expected = _through_the_orm(deposited)
    word = max(next(iter(expected.values())).title.split(), key=len).strip(".,:;()")
    page = deposited.browse.item_page(word, limit=None)
    assert page.rows and all(row == expected[row.id] for row in page.rows)


def test_the_mapped_classes_are_mapped_onto_the_core_tables() -> None:
    assert models.Base.metadata is tables.metadata
    core = [
        value
        for value in vars(models_core).values()
        if isinstance(value, type) and issubclass(value, models.Base) and value is not models.Base
    ]
    unmapped = {tables.write_intents}  # read and written only on connections, by services.journal_postgres
    declared = {t for t in tables.metadata.sorted_tables if t.name in vars(tables)}
    assert {c.__table__ for c in core} == declared - unmapped
    for cls in core:
        assert cls.__table__ is getattr(tables, cls.__tablename__) is tables.metadata.tables[cls.__tablename__]
