"""Replication and polls between five in-process nodes over an in-memory transport: the protocol logic, fast,
with no sockets (the five-process tests cover the same ground over real HTTP)."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from memory_network import network_of
from strongroom.domain.poll import VoteBinding, blocks_digest, vote_statement
from strongroom.network.auth import NONCE, RESPONSE_SIGNATURE, sign_response
from strongroom.network.client import PeerClient
from strongroom.network.memory import InMemoryNetwork
from strongroom.node import Node


class LyingNetwork(InMemoryNetwork):
    """Like InMemoryNetwork, but the node on ``liar`` answers votes with random hashes, correctly signed."""

    def __init__(self, liar: str) -> None:
        super().__init__()
        self.liar = liar
        self.key: Ed25519PrivateKey | None = None  # the liar's own node key, once its node exists

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.host != self.liar or not request.url.path.endswith("/vote") or response.status_code != 200:
            return response
        vote = json.loads(response.content)
        vote["blocks"] = {p: [random.randbytes(32).hex() for _ in hs] for p, hs in vote["blocks"].items()}
        assert self.key is not None
        binding = VoteBinding(vote["poll_id"], vote["poller"], vote["voter"], vote["object_id"], vote["version"])
        pn, vn = bytes.fromhex(vote["poller_nonce"]), bytes.fromhex(vote["voter_nonce"])
        statement = vote_statement(binding, pn, vn, blocks_digest(vote["blocks"]))
        vote["signature"] = base64.b64encode(self.key.sign(statement)).decode()  # a lie, but its own and signed
        body = json.dumps(vote).encode()
        headers = {RESPONSE_SIGNATURE: sign_response(self.key, request.headers[NONCE], body)}
        return httpx.Response(200, headers=headers, content=body)


def build(
    tmp_path: Path, db_factory: Callable[[], str], net: InMemoryNetwork | None = None
) -> tuple[list[Node], list[PeerClient], InMemoryNetwork]:
    nodes = [Node.create(tmp_path / f"n{i}", database_url=db_factory()) for i in range(5)]
    net, clients = network_of(nodes, net=net)
    return nodes, clients, net


def files_of(node: Node, object_id: str) -> dict[str, bytes]:
    root = node.store.object_path(object_id)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def deposited(
    tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path
) -> tuple[list[Node], list[PeerClient], InMemoryNetwork, str]:
    nodes, clients, net = build(tmp_path, db_factory)
    result = nodes[0].ingest.deposit(sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))[0])
    for node, client in zip(nodes[1:], clients[1:], strict=True):
        assert node.replication.run(client), "each node replicates the new AU"
    return nodes, clients, net, result.object_id


def test_replicas_are_identical_and_catalogued(
    deposited: tuple[list[Node], list[PeerClient], InMemoryNetwork, str],
) -> None:
    nodes, clients, _, object_id = deposited
    reference = files_of(nodes[0], object_id)
    for node in nodes[1:]:
        assert files_of(node, object_id) == reference
        assert node.catalog.aus()[0][0].object_id == object_id
        assert [e.type for e in node.catalog.events(type="replication")] == ["replication"]
    assert nodes[1].replication.run(clients[1]) == []  # nothing more to fetch


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete", "extend"])
def test_each_kind_of_damage_is_repaired(
    deposited: tuple[list[Node], list[PeerClient], InMemoryNetwork, str], damage: str
) -> None:
    nodes, clients, _, object_id = deposited
    victim = nodes[2]
    pdf = next(p for p in sorted(victim.store.object_path(object_id).rglob("*.pdf")))
    original = pdf.read_bytes()
    if damage == "flip":
        mid = len(original) // 2
        pdf.write_bytes(original[:mid] + bytes([original[mid] ^ 4]) + original[mid + 1 :])
    elif damage == "truncate":
        pdf.write_bytes(original[:1100])
    elif damage == "delete":
        pdf.unlink()
    else:
        pdf.write_bytes(original + b"trailing junk")
    result = victim.polls.poll(clients[2], object_id, random.Random(1))
    assert result.outcome == "disagree" and result.repaired and not result.unrepaired
    assert pdf.read_bytes() == original
    assert victim.audits.audit().intact


def test_a_liar_is_outvoted_and_reported(tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path) -> None:
    net = LyingNetwork("n4")
    nodes, clients, _ = build(tmp_path, db_factory, net)
    net.key = nodes[4].membership.private_key()
    object_id = (
        nodes[0].ingest.deposit(sorted(p for p in sample_dir.iterdir() if p.name.endswith("-jats"))[0]).object_id
    )
    for node, client in zip(nodes[1:], clients[1:], strict=True):
        node.replication.run(client)
    before = files_of(nodes[0], object_id)
    result = nodes[0].polls.poll(clients[0], object_id, random.Random(2))
    liar = nodes[4].settings.node_id
    # Once, a lie looks like a damaged copy; told so, an honest node repairs it; a liar disagrees again.
    assert result.outcome == "agree" and liar in result.damaged and liar not in result.suspects
    again = nodes[0].polls.poll(clients[0], object_id, random.Random(2))
    assert again.outcome == "agree" and liar in again.suspects
    assert files_of(nodes[0], object_id) == before


def test_too_few_voters_is_an_alarm_and_changes_nothing(
    deposited: tuple[list[Node], list[PeerClient], InMemoryNetwork, str],
) -> None:
    nodes, clients, net, object_id = deposited
    net.down = {"n2", "n3", "n4"}
    pdf = next(p for p in sorted(nodes[0].store.object_path(object_id).rglob("*.pdf")))
    pdf.write_bytes(b"%PDF-1.4 damaged")
    before = files_of(nodes[0], object_id)
    result = nodes[0].polls.poll(clients[0], object_id)
    assert result.outcome == "inconclusive" and not result.repaired
    assert files_of(nodes[0], object_id) == before
    [event] = [e for e in nodes[0].catalog.events(type="poll") if e.data.get("role") == "poller"]
    assert event.outcome == "warning" and "ALARM" in event.detail


def test_a_voter_in_the_minority_is_told_to_check_itself(
    deposited: tuple[list[Node], list[PeerClient], InMemoryNetwork, str],
) -> None:
    nodes, clients, _, object_id = deposited
    pdf = next(p for p in sorted(nodes[3].store.object_path(object_id).rglob("*.pdf")))
    pdf.write_bytes(b"%PDF-1.4 damaged on the voter")
    result = nodes[0].polls.poll(clients[0], object_id, random.Random(3))
    assert result.outcome == "agree" and nodes[3].settings.node_id in result.damaged
    assert nodes[3].settings.node_id not in result.suspects  # damaged, not (yet) a suspect
    assert nodes[3].poll_queue.take() == {object_id}  # the receipt queued a poll of its own copy
    warning = [e for e in nodes[3].catalog.events(type="poll") if e.outcome == "warning"]
    assert warning and "minority" in warning[0].detail
    fixed = nodes[3].polls.poll(clients[3], object_id, random.Random(4))
    assert fixed.repaired and nodes[3].audits.audit().intact


def test_a_replica_that_does_not_match_the_inventory_is_refused(
    tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path
) -> None:
    nodes, clients, _ = build(tmp_path, db_factory)
    object_id = (
        nodes[0].ingest.deposit(sorted(p for p in sample_dir.iterdir() if p.name.endswith("-jats"))[0]).object_id
    )
    pdf = next(p for p in sorted(nodes[0].store.object_path(object_id).rglob("*.pdf")))
    pdf.write_bytes(pdf.read_bytes().replace(b"%PDF-1.4", b"%PDF-1.7", 1))  # the source's copy went bad
    assert nodes[1].replication.run(clients[1]) == []
    assert not nodes[1].store.exists(object_id)
    [event] = nodes[1].catalog.events(type="replication")
    assert event.outcome == "failure" and "does not match" in event.detail
    assert {p.name for p in nodes[1].settings.resolved_staging().iterdir()} <= {"locks"}
