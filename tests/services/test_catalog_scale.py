"""The catalog at size, by its behaviour on both backends: listings walked by key cover every row exactly once
while rows come and go between pages; the counts the AUs keep agree with their items (deep OAI-PMH pages and the
sitemap's parts: tests/portal/test_pages.py and test_oai.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from strongroom.catalog.models import ArchivalUnit, File, Item
from strongroom.domain.identifiers import public_id
from strongroom.node import Node


@pytest.fixture
def deposited(node: Node, sample_dir: Path) -> Node:
    for bag in sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag.zip"))[:2]:
        node.ingest.deposit(bag)
    return node


def _add_item(node: Node, key: str) -> int:
    with node.catalog.session() as s:
        au = s.scalars(select(ArchivalUnit).order_by(ArchivalUnit.id)).first()
        assert au is not None
        item = Item(au_id=au.id, item_key=key, public_id=public_id(au.key, key), title=key, authors=[], keywords=[])
        s.add(item)
        s.flush()
        au.item_count += 1
        return item.id


def test_keyset_pages_cover_every_row_once_while_rows_come_and_go(deposited: Node) -> None:
    browse = deposited.browse
    before = [r.id for r in browse.item_page(limit=None).rows]
    assert len(before) > 4
    seen: list[int] = []
    added: list[int] = []
    page = browse.item_page(limit=2)
    while True:
        seen += [r.id for r in page.rows]
        if page.after is None:
            break
        # between pages: a new item arrives, and an item already shown goes (offset paging would skip a row)
        added.append(_add_item(deposited, f"late-{len(added)}"))
        with deposited.catalog.session() as s:
            s.execute(delete(File).where(File.item_id == seen[0]))
            s.execute(delete(Item).where(Item.id == seen[0]))
        page = browse.item_page(limit=2, after=page.after)
    assert len(seen) == len(set(seen))
    assert set(seen) == set(before) | set(added)


def test_counts_come_from_the_aus_and_agree_with_the_items(deposited: Node) -> None:
    with deposited.catalog.session() as s:
        counted = s.scalar(select(func.count(Item.id))) or 0
        kept = dict(s.execute(select(ArchivalUnit.id, ArchivalUnit.item_count)).all())
        per_au = dict(s.execute(select(Item.au_id, func.count(Item.id)).group_by(Item.au_id)).all())
        volumes = {
            au_id: sum(n for _, _, n in v) for au_id, v in s.execute(select(ArchivalUnit.id, ArchivalUnit.volumes))
        }
    assert kept == per_au and volumes == per_au
    assert deposited.browse.item_page(limit=1).total == counted
