"""Cataloguing a deposit never parses the object's inventory whole (issue 16): its files, versions and records come
from the store's listing, read from the inventory in pieces; the rows written are those of the inventory read whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import strongroom.store.ocfl as ocfl
from strongroom.node import Node
from strongroom.samples import generate_corpus
from strongroom.samples.packages import write_jats_dir


def _catalogued(node: Node) -> tuple[list[tuple[Any, ...]], ...]:
    """The AU's counts, its versions and its file rows."""
    with node.catalog.engine.connect() as conn:
        return tuple(
            [tuple(row) for row in conn.execute(sa.text(query))]
            for query in (
                "SELECT key, item_count, stored_files, stored_bytes, head_version FROM archival_units",
                "SELECT number, files, bytes, new_files, new_bytes, message FROM au_versions ORDER BY number",
                "SELECT f.logical_path, i.item_key, f.size, f.sha512, f.sha256, f.media_type, f.role, f.source,"
                " f.version FROM files f LEFT JOIN items i ON i.id = f.item_id ORDER BY f.logical_path",
            )
        )


def test_cataloguing_reads_no_inventory_whole(node: Node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = generate_corpus(5, publishers=1, titles_per_publisher=1, years=(2024,), articles_per_issue=6)
    title, _year, articles = corpus.groups()[0]
    object_id = node.ingest.deposit(write_jats_dir(tmp_path / "pkg", articles, title)).object_id
    as_deposited = _catalogued(node)
    assert as_deposited[0][0][2] > 12  # files
    node.indexer.forget(object_id)
    node.store.let_go(object_id)

    def whole(directory: Path) -> dict[str, Any]:
        raise AssertionError(f"the inventory in {directory} was parsed whole")

    monkeypatch.setattr(ocfl, "read_inventory", whole)
    assert node.indexer.index(object_id).indexed
    assert _catalogued(node) == as_deposited
