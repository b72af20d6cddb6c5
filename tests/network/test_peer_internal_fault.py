"""A fault of the serving node's own (a KeyError, ValueError or TypeError out of its store or its peer service) is
a signed 500, logged on that node, never the 404 a peer reads as "this node does not hold the object"; an object
the node does not hold is still the signed 404. Two nodes, the peer API served in memory (the protocol's answer,
not its transport, is under test)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from memory_network import network_of
from strongroom.network.client import PeerError
from strongroom.network.ids import encode_id
from strongroom.node import Node

NOT_HELD = "strongroom:au/issn:0000-0000/1999"


@pytest.mark.parametrize("db_factory", ["sqlite"], indirect=True)
def test_an_internal_fault_is_a_logged_500_not_not_held(
    tmp_path: Path,
    db_factory: Callable[[], str],
    sample_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    nodes = [Node.create(tmp_path / f"n{i}", database_url=db_factory()) for i in range(2)]
    _, clients = network_of(nodes)
    try:
        bag = next(p for p in sorted(sample_dir.iterdir()) if p.name.endswith("-bag"))
        object_id = nodes[0].ingest.deposit(bag).object_id
        [server] = [m for m in nodes[1].membership.config().members if m.id == nodes[0].settings.node_id]
        client = clients[1]
        assert client.holding(server, object_id) == {"object_id": object_id, "version": 1}
        assert client.holding(server, NOT_HELD) is None  # the store's "no such object": a signed 404

        def damaged(object_id: str) -> int:
            raise KeyError("head")  # as an inventory without its head would

        monkeypatch.setattr(nodes[0].store, "head_version", damaged)
        with caplog.at_level(logging.ERROR, logger="strongroom.peer"), pytest.raises(PeerError) as failed:
            client.holding(server, object_id)
        assert (failed.value.status, failed.value.signed) == (500, True)
        assert "internal error" in failed.value.message
        assert "'head'" not in failed.value.message  # the fault's detail stays on the node, in its log
        [logged] = [r for r in caplog.records if r.name == "strongroom.peer"]
        assert logged.levelno == logging.ERROR and logged.exc_info is not None
        assert f"/peer/v1/objects/{encode_id(object_id)}" in logged.getMessage()
    finally:
        for c in clients:
            c.close()
        for n in nodes:
            n.close()
