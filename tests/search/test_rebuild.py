"""A search rebuild cut short loses nothing, on the default engine (Tantivy) and on the catalog database's own: every
item stays queued until the rebuild has written them all, and the next start writes the index again. Tantivy keeps
its old index whole meanwhile (one commit at the end); the catalog's own engines are emptied first and refilled."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from strongroom.catalog.models import Item, SearchQueue
from strongroom.clock import FixedClock
from strongroom.node import Node
from strongroom.search.base import SearchDocument, SearchQuery
from strongroom.settings import load_settings, write_settings


class Crash(Exception):
    pass


def count(node: Node, table: type[Item] | type[SearchQueue]) -> int:
    with node.catalog.session() as s:
        return int(s.scalar(select(func.count(table.id))) or 0)


@pytest.mark.parametrize("engine", ["", "own"])
def test_a_rebuild_cut_short_is_finished_at_the_next_start(
    engine: str, tmp_path: Path, db_url: str, clock: FixedClock, sample_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    Node.create(home, database_url=db_url, clock=clock).close()
    own = "sqlite-fts5" if db_url.startswith("sqlite") else "postgresql"
    if engine == "own":  # the catalog database's own engine, by name
        write_settings(dataclasses.replace(load_settings(home), search_engine=own))
    with Node.open(home, clock=clock) as node:
        assert node.search.name == ("tantivy" if engine == "" else own)
        for package in sorted(sample_dir.iterdir()):
            if package.name.endswith("-bag"):
                node.ingest.deposit(package)
        held = node.search.count()
        assert held == count(node, Item) > 2 and count(node, SearchQueue) == 0
        word = max(node.browse.items(limit=1)[0].title.split(), key=len).strip(".,:;()")
        found = node.search.search(SearchQuery(word)).total
        assert found > 0
        read = node.indexer.catalog_documents

        def die_midway(batch: int = 2) -> Iterator[list[SearchDocument]]:
            yield next(iter(read(batch=2)))
            raise Crash("the process died half way through the rebuild")

        monkeypatch.setattr(node.indexer, "catalog_documents", die_midway)
        with pytest.raises(Crash):
            node.indexer.rebuild_search()
        monkeypatch.undo()
        assert count(node, SearchQueue) == held  # nothing lost: every item waits to be written again
        if engine == "":  # Tantivy committed nothing: the old index, whole, until the rebuild's one commit
            assert node.search.count() == held and node.search.search(SearchQuery(word)).total == found
        else:  # emptied, then refilled batch by batch: partial until the next start
            assert node.search.count() == 2
    with Node.open(home, clock=clock) as node:  # the next start finishes it
        assert count(node, SearchQueue) == 0
        assert node.search.count() == held and node.search.search(SearchQuery(word)).total == found
        assert node.browse.items(word)
