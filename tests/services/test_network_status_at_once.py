"""``network status`` and ``au status`` ask every other member at once: members that take their time (the network's
trouble, when an operator looks) delay the answer by one wait, not one each. Shown without timing anything: two
members over real HTTP on loopback each answer only once both requests have reached them (a barrier), so asked one
after the other the first would give up waiting and answer 503, and be reported unreachable."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from memory_network import POLICY, members_of
from strongroom.keys import public_key_text
from strongroom.network.auth import NONCE, RESPONSE_SIGNATURE, sign_response
from strongroom.network.client import PeerClient
from strongroom.network.config import Member, NetworkConfig, sign_config
from strongroom.node import Node
from tests_support import serving

WAIT = 60  # seconds a member waits for the other's request: a bound on failure, never a measure


def _member_answering_with(barrier: threading.Barrier, key: Ed25519PrivateKey) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            try:
                barrier.wait(WAIT)
            except threading.BrokenBarrierError:
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = json.dumps({"objects": []}).encode()
            self.send_response(200)
            self.send_header(RESPONSE_SIGNATURE, sign_response(key, self.headers[NONCE], body))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.mark.parametrize("db_factory", ["sqlite"], indirect=True)
def test_the_other_members_are_asked_at_once(tmp_path: Path, db_factory: Callable[[], str]) -> None:
    node = Node.create(tmp_path / "n0", database_url=db_factory())
    barrier = threading.Barrier(2)
    keys = [Ed25519PrivateKey.generate() for _ in range(2)]
    try:
        with (
            serving(_member_answering_with(barrier, keys[0])) as url_a,
            serving(_member_answering_with(barrier, keys[1])) as url_b,
        ):
            others = tuple(
                Member(f"node-{name}", url, public_key_text(key.public_key()), f"Library {name}", country)
                for name, url, key, country in (("a", url_a, keys[0], "KE"), ("b", url_b, keys[1], "SN"))
            )
            admin = Ed25519PrivateKey.generate()
            members = (*members_of([node]), *others)
            node.membership.join(
                sign_config(NetworkConfig("at-once", 1, members, POLICY), admin), public_key_text(admin.public_key())
            )
            client = PeerClient(node.settings.node_id, node.membership.private_key())
            try:
                reachable, _ = node.network_status.copies(client)
            finally:
                client.close()
        assert reachable == {node.settings.node_id: True, "node-a": True, "node-b": True}
    finally:
        node.close()
