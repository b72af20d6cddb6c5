"""An empty ``search.engine`` means Tantivy for a node, on both catalog databases (docs/decisions/0011); the catalog
database's own engines stay selectable by name; and a node made when the default was the catalog's own engine
(settings empty, no Tantivy directory) comes up on Tantivy with its index written from the catalog, with progress."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from strongroom.catalog.models import Item, SearchQueue
from strongroom.catalog.repo import Catalog
from strongroom.clock import FixedClock
from strongroom.errors import ConfigError
from strongroom.node import Node
from strongroom.search.base import SearchQuery
from strongroom.search.registry import TANTIVY_DIR, open_search
from strongroom.settings import load_settings, write_settings


def own_engine(db_url: str) -> str:
    return "sqlite-fts5" if db_url.startswith("sqlite") else "postgresql"


def count(node: Node, table: type[Item] | type[SearchQueue]) -> int:
    with node.catalog.session() as s:
        return int(s.scalar(select(func.count(table.id))) or 0)


def test_a_new_node_searches_with_tantivy_in_its_home(node: Node, sample_dir: Path) -> None:
    assert node.settings.search_engine == "" and node.search.name == "tantivy"
    assert (node.settings.home / TANTIVY_DIR / "meta.json").is_file()
    node.ingest.deposit(next(p for p in sorted(sample_dir.iterdir()) if p.name.endswith("-bag")))
    word = max(node.browse.items(limit=1)[0].title.split(), key=len).strip(".,:;()")
    assert node.search.count() == count(node, Item) > 0 and node.browse.items(word)


def test_the_catalog_databases_own_engine_is_chosen_by_name(tmp_path: Path, db_url: str, clock: FixedClock) -> None:
    home = tmp_path / "home"
    Node.create(home, database_url=db_url, clock=clock).close()
    write_settings(dataclasses.replace(load_settings(home), search_engine=own_engine(db_url)))
    with Node.open(home, clock=clock) as node:
        assert node.search.name == own_engine(db_url)


def test_without_a_node_home_empty_means_the_catalog_databases_own(db_url: str) -> None:
    catalog = Catalog.open(db_url, FixedClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    try:
        assert open_search("", catalog.engine).name == own_engine(db_url)  # nowhere to keep an index
        with pytest.raises(ConfigError, match="node's home"):
            open_search("tantivy", catalog.engine)
    finally:
        catalog.close()


def test_a_node_made_on_the_old_default_is_reopened_on_tantivy_with_its_index_written(
    tmp_path: Path, db_url: str, clock: FixedClock, sample_dir: Path
) -> None:
    home = tmp_path / "home"
    Node.create(home, database_url=db_url, clock=clock).close()
    # As the node was before Tantivy became the default: the catalog's own engine, no Tantivy directory.
    write_settings(dataclasses.replace(load_settings(home), search_engine=own_engine(db_url)))
    with Node.open(home, clock=clock) as node:
        for package in sorted(sample_dir.iterdir()):
            if package.name.endswith("-bag"):
                node.ingest.deposit(package)
        items = count(node, Item)
        word = max(node.browse.items(limit=1)[0].title.split(), key=len).strip(".,:;()")
        before = [i.id for i in node.browse.items(word)]
        assert items > 2 and before
    write_settings(dataclasses.replace(load_settings(home), search_engine=""))
    assert load_settings(home).search_engine == ""
    shutil.rmtree(home / TANTIVY_DIR)  # made by this version's Node.create
    assert not (home / TANTIVY_DIR).exists()

    seen: list[tuple[int, int]] = []
    with Node.open(home, clock=clock, progress=lambda done, of: seen.append((done, of))) as node:  # upgraded
        assert seen and seen[-1] == (items, items)  # written from the catalog, with progress
        assert node.search.name == "tantivy" and (home / TANTIVY_DIR / "meta.json").is_file()
        assert node.search.count() == items and count(node, SearchQueue) == 0
        assert sorted(i.id for i in node.browse.items(word)) == sorted(before)
        assert node.search.search(SearchQuery(word, released_only=True)).total == 0  # nothing released: dark
    with Node.open(home, clock=clock) as node:  # and opened again, it is not written again
        assert not node.search.created and node.search.count() == items


def test_an_engine_chosen_again_after_another_ran_is_written_again(
    tmp_path: Path, db_url: str, clock: FixedClock, sample_dir: Path
) -> None:
    home = tmp_path / "home"
    Node.create(home, database_url=db_url, clock=clock).close()  # on tantivy, its index empty
    bags = [p for p in sorted(sample_dir.iterdir()) if p.name.endswith("-bag")]
    write_settings(dataclasses.replace(load_settings(home), search_engine=own_engine(db_url)))
    with Node.open(home, clock=clock) as node:
        node.ingest.deposit(bags[0])  # written to the catalog's own engine only
        items = count(node, Item)
    write_settings(dataclasses.replace(load_settings(home), search_engine=""))
    with Node.open(home, clock=clock) as node:  # tantivy's index is there, but missed that deposit
        assert node.search.name == "tantivy" and node.search.created
        assert node.search.count() == items > 0
        node.ingest.deposit(bags[1])
        items = count(node, Item)
    write_settings(dataclasses.replace(load_settings(home), search_engine=own_engine(db_url)))
    with Node.open(home, clock=clock) as node:  # and back: the catalog's own engine missed the second deposit
        assert node.search.created and node.search.count() == items
    with Node.open(home, clock=clock) as node:
        assert not node.search.created and node.search.count() == items
