"""Copies a node is no longer assigned, between five in-process nodes over the in-memory transport: kept until every
member now assigned to the AU confirms it holds the same version, then released (gone from the store, the catalog
and the search index, a deletion event in their place), never on an assigned node; a crash between the store's
removal and the catalog's is finished at the next start, and the storage root stays valid (ocfl-py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from memory_network import POLICY, clients_of, members_of
from strongroom.cli.main import cli
from strongroom.keys import public_key_text
from strongroom.network.config import NetworkConfig, NetworkPolicy, sign_config
from strongroom.network.memory import InMemoryNetwork
from strongroom.node import Node
from strongroom.peer.api import create_peer_app
from strongroom.services.copies import CopyOutcome

SMALLER = NetworkPolicy(**{**vars(POLICY), "target_copies": 3, "quorum": 2})
VALIDATOR = Path(sys.executable).parent / "ocfl-validate.py"


class Net:
    """Five nodes holding one AU, then a configuration that assigns it to three of them."""

    def __init__(self, tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path) -> None:
        self.admin = Ed25519PrivateKey.generate()
        self.nodes = [Node.create(tmp_path / f"n{i}", database_url=db_factory()) for i in range(5)]
        self.members = members_of(self.nodes)
        self.net = InMemoryNetwork()
        self.join(1, POLICY)
        for i, n in enumerate(self.nodes):
            self.net.add(f"n{i}", create_peer_app(n))
        self.clients = clients_of(self.nodes, self.net)
        package = sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))[0]
        self.object_id = self.nodes[0].ingest.deposit(package).object_id
        for node, client in zip(self.nodes[1:], self.clients[1:], strict=True):
            assert node.replication.run(client)
        self.au_key = self.nodes[0].events.au_key_for(self.object_id)
        self.join(2, SMALLER)
        holders = set(self.nodes[0].membership.holders(self.object_id))
        self.assigned = [i for i, n in enumerate(self.nodes) if n.settings.node_id in holders]
        self.unassigned = [i for i in range(5) if i not in self.assigned]

    def join(self, serial: int, policy: NetworkPolicy) -> None:
        doc = sign_config(NetworkConfig("memory-net", serial, self.members, policy), self.admin)
        for n in self.nodes:
            n.membership.join(doc, public_key_text(self.admin.public_key()))

    def close(self) -> None:
        for client in self.clients:
            client.close()
        for node in self.nodes:
            node.close()


@pytest.fixture
def net(tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path) -> Iterator[Net]:
    built = Net(tmp_path, db_factory, sample_dir)
    yield built
    built.close()


def validate(root: Path) -> None:
    proc = subprocess.run([str(VALIDATOR), str(root)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_copy_no_longer_assigned_is_released_only_once_every_assigned_holder_has_it(net: Net) -> None:
    assert len(net.assigned) == 3 and len(net.unassigned) == 2
    holder, (i, j) = net.assigned[0], net.unassigned
    node = net.nodes[i]
    assert node.search.count() > 0 and node.catalog.aus()

    # One assigned holder lost its copy: nothing is released anywhere, and the status says why.
    shutil.rmtree(net.nodes[holder].store.object_path(net.object_id))
    [copy] = node.copies.release(net.clients[i])
    assert copy.outcome == CopyOutcome.KEPT and len(copy.confirmed) == 2
    assert "kept until its 3 assigned holders hold v1 (2 do)" in copy.why
    assert node.store.exists(net.object_id) and node.catalog.aus()

    # The holder replicates it again; a dry run says the copy may go and leaves it.
    assert net.nodes[holder].replication.run(net.clients[holder])
    [copy] = node.copies.release(net.clients[i], dry_run=True)
    assert copy.outcome == CopyOutcome.RELEASABLE and node.store.exists(net.object_id)

    [copy] = node.copies.release(net.clients[i])
    assert copy.outcome == CopyOutcome.RELEASED and sorted(copy.confirmed) == sorted(
        net.nodes[k].settings.node_id for k in net.assigned
    )
    assert not node.store.exists(net.object_id) and list(node.store.iter_object_ids()) == []
    assert node.catalog.aus() == [] and node.search.count() == 0
    [event] = node.catalog.events(type="deletion")
    assert event.object_key == net.au_key and event.data["released"] and "released this node's copy" in event.detail
    validate(node.store.root)  # type: ignore[attr-defined]
    assert node.copies.release(net.clients[i]) == []  # nothing more to release

    # The assigned holders keep theirs and still conclude polls; they release nothing.
    for k in net.assigned:
        assert net.nodes[k].copies.release(net.clients[k]) == []
        assert net.nodes[k].store.exists(net.object_id)
    assert net.nodes[holder].polls.poll(net.clients[holder], net.object_id).outcome == "agree"

    # The command, on the other unassigned node, reaches no peer here (their URLs are the in-memory network's):
    # no holder confirms, so it keeps its copy and says why.
    result = CliRunner().invoke(
        cli, ["network", "release-copies", "--json", "--home", str(net.nodes[j].settings.home)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.output)["copies"]
    assert entry["outcome"] == "kept" and entry["au_key"] == net.au_key and len(entry["unreachable"]) == 3
    assert net.nodes[j].store.exists(net.object_id)


def test_an_unreachable_assigned_holder_keeps_the_copy(net: Net) -> None:
    i = net.unassigned[0]
    net.net.down.add(f"n{net.assigned[1]}")  # down: its confirmation cannot be had
    [copy] = net.nodes[i].copies.release(net.clients[i])
    assert copy.outcome == CopyOutcome.KEPT and copy.unreachable == [net.nodes[net.assigned[1]].settings.node_id]
    assert net.nodes[i].store.exists(net.object_id) and net.nodes[i].catalog.aus()


def test_a_crash_between_the_stores_removal_and_the_catalogs_is_finished_at_the_next_start(net: Net) -> None:
    i = net.unassigned[0]
    node = net.nodes[i]

    class Crash(Exception):
        pass

    def crash(step: str) -> None:
        if step == "release-renamed":
            raise Crash(step)

    node.store.fault = crash  # type: ignore[attr-defined]
    with pytest.raises(Crash):
        node.copies.release(net.clients[i])
    validate(node.store.root)  # type: ignore[attr-defined]
    assert not node.store.exists(net.object_id) and node.catalog.aus()  # the catalog does not know yet
    actions = node.recover()
    assert any("finished releasing" in a for a in actions), actions
    assert node.catalog.aus() == [] and node.search.count() == 0
    assert [e.type for e in node.catalog.events(type="deletion")] == ["deletion"]
    assert node.recover() == []


def test_a_copy_being_written_is_kept_and_released_the_next_round(net: Net) -> None:
    i = net.unassigned[0]
    node = net.nodes[i]
    with node.store._lock(net.object_id):  # type: ignore[attr-defined]  # another writer holds the object
        [copy] = node.copies.release(net.clients[i])
    assert copy.outcome == CopyOutcome.KEPT and "being written" in copy.why and node.store.exists(net.object_id)
    [copy] = node.copies.release(net.clients[i])
    assert copy.outcome == CopyOutcome.RELEASED and not node.store.exists(net.object_id)
