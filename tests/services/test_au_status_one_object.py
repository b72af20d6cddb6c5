"""``au status`` of one AU reads only that AU (issue 16, a fast ``au status``): the node lists its own copy of that
object alone, never walking its store nor reading any other object's inventory, and says what the network-wide
listing says about that AU: the same copies, holders, countries and alarms."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from memory_network import network_of
from strongroom.node import Node


def test_au_status_reads_only_its_own_object_and_agrees_with_the_network_listing(
    tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nodes = [Node.create(tmp_path / f"n{i}", database_url=db_factory()) for i in range(2)]
    _, clients = network_of(nodes)
    try:
        bags = [p for p in sorted(sample_dir.iterdir()) if p.name.endswith("-bag")][:3]
        results = [nodes[0].ingest.deposit(bag) for bag in bags]
        assert nodes[1].replication.run(clients[1])
        node, client = nodes[0], clients[0]
        _, everything = node.network_status.copies(client)
        assert {c.object_id for c in everything} == {r.object_id for r in results}

        asked: list[str] = []
        head_version = node.store.head_version

        def counted(object_id: str) -> int:
            asked.append(object_id)
            return head_version(object_id)

        def walked() -> Iterator[str]:
            raise AssertionError("au status walked the whole store")

        monkeypatch.setattr(node.store, "head_version", counted)
        monkeypatch.setattr(node.store, "iter_object_ids", walked)
        monkeypatch.setattr(node.store, "heads", walked)  # the whole list is made from heads() now
        for result in results:
            asked.clear()
            status = node.network_status.au(client, result.au_key)
            assert asked == [result.object_id]
            [expected] = [c for c in everything if c.object_id == result.object_id]
            assert status.copies == expected
            assert set(status.copies.holding) == {n.settings.node_id for n in nodes}
    finally:
        for c in clients:
            c.close()
        for n in nodes:
            n.close()
