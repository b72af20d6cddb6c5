"""``au status`` asks each member about one object, not for its whole list (issue 16): the peer API answers
``GET /peer/v1/objects/{id}`` with a member's entry for that object, authenticated exactly as the list is, and
nothing to a stranger or an unsigned caller; a hostile id is refused before anything looks it up. Three nodes
serve their peer APIs over real HTTP (uvicorn on loopback); the third runs the peer API as an older version did,
without the route, and ``au status`` asks it for its list instead. Requests are counted on the serving side."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from memory_network import joined
from strongroom.cli.main import cli
from strongroom.network.client import NoSuchRoute, PeerClient, PeerError
from strongroom.network.config import Member
from strongroom.network.ids import encode_id
from strongroom.node import Node
from strongroom.peer.api import create_peer_app
from tests_support import free_port, serve_app

ONE = "/peer/v1/objects/{oid}"
LIST = "/peer/v1/objects"
NOT_HELD = "strongroom:au/issn:0000-0000/1999"


class Counted:
    """An ASGI app that records the path of every HTTP request before passing it on."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


def older_peer_app(node: Node) -> Any:
    """The peer API as a version before the one-object route served it: the same app without that route."""
    app = create_peer_app(node)
    app.router.routes = [r for r in app.router.routes if getattr(r, "path", None) != ONE]
    return app


@dataclass
class Net:
    nodes: list[Node]
    members: tuple[Member, ...]
    served: list[Counted]
    client: PeerClient  # node 0's
    object_id: str  # held by all three
    au_key: str
    lone_au_key: str  # held by node 0 alone

    def reset(self) -> None:
        for s in self.served:
            s.paths.clear()


@pytest.fixture(scope="module")
def net(
    tmp_path_factory: pytest.TempPathFactory, module_db_factory: Callable[[], str], sample_dir: Path
) -> Iterator[Net]:
    """Built once per backend: the tests only read (and ``Net.reset`` the request counts)."""
    home = tmp_path_factory.mktemp("one-object-route")
    nodes = [Node.create(home / f"n{i}", database_url=module_db_factory()) for i in range(3)]
    ports = [free_port() for _ in nodes]
    members = joined(nodes, [f"http://127.0.0.1:{port}" for port in ports], "http-net")
    served = [Counted(create_peer_app(nodes[0])), Counted(create_peer_app(nodes[1])), Counted(older_peer_app(nodes[2]))]
    clients = [n.membership.client() for n in nodes]
    with ExitStack() as stack:
        for app, port in zip(served, ports, strict=True):
            stack.enter_context(serve_app(app, port=port))
        bags = [p for p in sorted(sample_dir.iterdir()) if p.name.endswith("-bag")][:2]
        first = nodes[0].ingest.deposit(bags[0])
        for node, client in zip(nodes[1:], clients[1:], strict=True):
            assert node.replication.run(client)
        lone = nodes[0].ingest.deposit(bags[1])  # after replication: held by node 0 alone
        built = Net(nodes, members, served, clients[0], first.object_id, first.au_key, lone.au_key)
        try:
            yield built
        finally:
            for c in clients:
                c.close()
            for n in nodes:
                n.close()


def test_a_member_gets_the_entry_its_list_would_give_and_a_signed_404_for_an_object_not_held(net: Net) -> None:
    member = net.members[1]
    [listed] = [e for e in net.client.get_json(member, LIST)["objects"] if e["object_id"] == net.object_id]
    assert net.client.holding(member, net.object_id) == listed == {"object_id": net.object_id, "version": 1}
    assert net.client.holding(member, NOT_HELD) is None
    with pytest.raises(PeerError) as refused:
        net.client.get_json(member, f"{LIST}/{encode_id(NOT_HELD)}")
    assert (refused.value.status, refused.value.signed) == (404, True)
    assert "holds no such object" in refused.value.message


def test_an_older_member_without_the_route_is_told_apart_from_one_that_does_not_hold_the_object(net: Net) -> None:
    with pytest.raises(NoSuchRoute, match="older version"):
        net.client.holding(net.members[2], net.object_id)


@pytest.mark.parametrize(
    ("segment", "why"),
    [
        ("!!!!", "canonical"),  # not base64url at all
        (encode_id("strongroom:au/x") + "=", "canonical"),  # padded: another spelling of the same id
        ("QR", "canonical"),  # stray bits: "QQ" is the spelling of "A"
        ("__4", "not an encoded object id"),  # not UTF-8
        (encode_id("strongroom:au/x\x00/../../etc/passwd"), "control character"),
        (encode_id("a" * 2049), "over 2048 bytes"),
        (encode_id("a" * 30000), "ids are at most 2048 bytes"),  # refused before it is decoded
    ],
)
def test_a_hostile_id_is_refused_before_anything_looks_it_up(
    net: Net, segment: str, why: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up: list[str] = []
    monkeypatch.setattr(net.nodes[1].store, "exists", looked_up.append)
    with pytest.raises(PeerError) as refused:
        net.client.get_json(net.members[1], f"{LIST}/{segment}")
    assert (refused.value.status, refused.value.signed) == (400, True)
    assert why in refused.value.message
    assert looked_up == []


def test_a_traversing_id_is_only_an_id_this_node_does_not_hold(net: Net) -> None:
    assert net.client.holding(net.members[1], "../../../../etc/passwd") is None


def test_a_stranger_and_an_unsigned_caller_learn_nothing(net: Net) -> None:
    member = net.members[1]
    held, not_held = (f"{LIST}/{encode_id(o)}" for o in (net.object_id, NOT_HELD))
    stranger = PeerClient("node-stranger", Ed25519PrivateKey.generate())
    impostor = PeerClient(net.members[0].id, Ed25519PrivateKey.generate())  # a member's id, not its key
    try:
        for caller, status in ((stranger, 403), (impostor, 401)):
            answers = []
            for path in (held, not_held):
                with pytest.raises(PeerError) as refused:
                    caller.get_json(member, path)
                assert refused.value.status == status
                answers.append(refused.value.message.replace(path, "PATH"))
            assert answers[0] == answers[1]  # the same refusal whether or not the object is held
            assert net.object_id not in answers[0] and '"version"' not in answers[0]
        unsigned = [httpx.get(member.url + path) for path in (held, not_held)]
        assert [r.status_code for r in unsigned] == [401, 401]
        assert unsigned[0].content == unsigned[1].content and b"version" not in unsigned[0].content
    finally:
        stranger.close()
        impostor.close()


def _au_status(net: Net, au_key: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["au", "status", au_key, "--home", str(net.nodes[0].settings.home), "--json"])
    assert result.exit_code == 0, result.output
    status: dict[str, Any] = json.loads(result.output)
    return status


def test_au_status_asks_each_member_about_its_object_and_an_older_member_for_its_list(net: Net) -> None:
    _, everything = net.nodes[0].network_status.copies(net.client)  # the whole lists: what au status must agree with
    [expected] = [c for c in everything if c.object_id == net.object_id]
    one = f"{LIST}/{encode_id(net.object_id)}"
    net.reset()
    status = _au_status(net, net.au_key)
    assert net.served[1].paths == [one]  # one small answer, never the list
    assert net.served[2].paths == [one, LIST]  # no such route there: its list instead
    assert net.served[0].paths == []  # this node reads its own copy
    assert status["copies"] == vars(expected)
    assert set(status["copies"]["holding"]) == {m.id for m in net.members}


def test_au_status_of_an_object_a_member_does_not_hold_takes_its_404_without_asking_for_its_list(net: Net) -> None:
    lone = net.nodes[0].browse.object_id(net.lone_au_key)
    net.reset()
    status = _au_status(net, net.lone_au_key)
    assert net.served[1].paths == [f"{LIST}/{encode_id(lone)}"]
    assert net.served[2].paths == [f"{LIST}/{encode_id(lone)}", LIST]
    assert status["copies"]["holding"] == {net.members[0].id: 1}
