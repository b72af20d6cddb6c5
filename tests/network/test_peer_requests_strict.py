"""Every peer route reads what a request names strictly and says exactly what is wrong with it (brief B): an object
id that is not the canonical spelling of one, a file path no object can have, a Range header that is not one byte
range, or a body that is not a JSON object is a signed 400 naming the problem, never a 404 a peer would read as
"not held"; a range outside the file is a 416 with ``Content-Range: bytes */SIZE``. Authentication comes first: a
stranger or an unsigned caller gets the same refusal whatever it asks for. Paths are sent from outside as an attacker
would, over a raw HTTP connection (no client normalises them), to one node serving its peer API on loopback."""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from memory_network import joined
from strongroom.network.auth import NONCE, RESPONSE_SIGNATURE, PeerRejected, sign_request, verify_response
from strongroom.network.client import PeerClient
from strongroom.network.config import Member
from strongroom.network.ids import encode_id
from strongroom.node import Node
from strongroom.peer.api import create_peer_app
from tests_support import free_port, serve_app

OBJECTS = "/peer/v1/objects"
BAD_IDS = [  # (segment, what the refusal names)
    ("!!!!", "canonical"),
    ("QR", "canonical"),  # stray bits
    ("__4", "not an encoded object id"),  # not UTF-8
    (encode_id("strongroom:au/x\x00/../../etc/passwd"), "control character"),
    (encode_id("a" * 2049), "over 2048 bytes"),
]


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    signed: bool  # by the serving node, over this request's nonce

    @property
    def detail(self) -> str:
        return str(json.loads(self.body)["detail"])


@dataclass
class Net:
    server: Node  # serves its peer API; holds both objects
    caller: Node  # a member, assigned to hold both
    members: tuple[Member, ...]
    url: str
    object_id: str
    other_id: str  # another object the server holds
    client: PeerClient  # the caller's

    def send(
        self,
        path: str,
        *,
        method: str = "GET",
        body: bytes = b"",
        headers: tuple[tuple[str, str], ...] = (),
        signer: tuple[str, Ed25519PrivateKey] | None = None,
        signed: bool = True,
    ) -> Answer:
        """``path`` sent exactly as given (no normalisation, no quoting), signed by the caller (or ``signer``)."""
        node_id, key = signer or (self.caller.settings.node_id, self.caller.membership.private_key())
        auth = sign_request(node_id, key, method, path, body, recipient=self.server.settings.node_id)
        split = urlsplit(self.url)
        conn = http.client.HTTPConnection(split.hostname or "", split.port, timeout=30)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for name, value in (*(auth.items() if signed else ()), *headers):
                conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        server_key = self.members[0].public_key
        try:
            verify_response(server_key, auth[NONCE], data, response.headers.get(RESPONSE_SIGNATURE))
            by_server = True
        except PeerRejected:
            by_server = False
        return Answer(response.status, response.headers, data, by_server)

    def stored(self, object_id: str, relpath: str) -> bytes:
        with self.server.store.open_content(object_id, relpath) as fh:
            return fh.read()

    def content_paths(self, object_id: str) -> list[str]:
        return sorted(p for p, _ in self.server.store.stored(object_id) if "/content/" in p)


@pytest.fixture(scope="module")
def net(
    tmp_path_factory: pytest.TempPathFactory, module_db_factory: Callable[[], str], sample_dir: Path
) -> Iterator[Net]:
    home = tmp_path_factory.mktemp("peer-requests-strict")
    nodes = [Node.create(home / f"n{i}", database_url=module_db_factory()) for i in range(2)]
    port = free_port()
    members = joined(nodes, [f"http://127.0.0.1:{port}", f"http://127.0.0.1:{free_port()}"], "strict-net")
    client = nodes[1].membership.client()
    with ExitStack() as stack:
        url = stack.enter_context(serve_app(create_peer_app(nodes[0]), port=port))
        bags = [p for p in sorted(sample_dir.iterdir()) if p.name.endswith("-bag")][:2]
        first, second = (nodes[0].ingest.deposit(b) for b in bags)
        built = Net(nodes[0], nodes[1], members, url, first.object_id, second.object_id, client)
        try:
            yield built
        finally:
            client.close()
            for n in nodes:
                n.close()


def file_path(object_id: str, relpath: str) -> str:
    return f"{OBJECTS}/{encode_id(object_id)}/file/{quote(relpath)}"


def routes(segment: str) -> list[tuple[str, str, bytes]]:
    """(method, path, body) of every route that names an object, with ``segment`` for its id."""
    vote = {"version": 1, "block_size": 2048, "poll_id": "p1", "poller_nonce": "00" * 16}
    return [
        ("GET", f"{OBJECTS}/{segment}", b""),
        ("GET", f"{OBJECTS}/{segment}/file/inventory.json", b""),
        ("GET", f"{OBJECTS}/{segment}/file/v1/content/data/a.pdf", b""),
        ("POST", f"{OBJECTS}/{segment}/vote", json.dumps(vote).encode()),
        ("POST", f"{OBJECTS}/{segment}/receipt", json.dumps({"poll_id": "p1", "outcome": "agree"}).encode()),
    ]


@pytest.fixture
def untouched(net: Net, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every look-up of the server's store or placement (none may happen for a malformed request)."""
    touched: list[str] = []
    for name in ("exists", "content_size", "open_content", "head_version"):
        monkeypatch.setattr(net.server.store, name, lambda *a, _n=name, **k: touched.append(_n))
    monkeypatch.setattr(net.server.membership, "holders", lambda *a: touched.append("holders") or [])
    return touched


@pytest.mark.parametrize(("segment", "why"), BAD_IDS)
def test_every_route_refuses_a_malformed_id_with_a_signed_400_naming_it_before_any_look_up(
    net: Net, untouched: list[str], segment: str, why: str
) -> None:
    for method, path, body in routes(segment):
        answer = net.send(path, method=method, body=body)
        assert (answer.status, answer.signed) == (400, True), (path, answer.body)
        assert why in answer.detail, (path, answer.detail)
    assert untouched == []


@pytest.mark.parametrize(("segment", "_why"), BAD_IDS[:3])
def test_strangers_and_unsigned_callers_get_the_same_refusal_whatever_the_id(
    net: Net, untouched: list[str], segment: str, _why: str
) -> None:
    stranger = ("node-stranger", Ed25519PrivateKey.generate())
    impostor = (net.caller.settings.node_id, Ed25519PrivateKey.generate())  # a member's id, not its key
    for (method, bad, body), (_, good, _) in zip(routes(segment), routes(encode_id(net.object_id)), strict=True):
        for signer, signed, status in ((stranger, True, 403), (impostor, True, 401), (None, False, 401)):
            answers = [net.send(p, method=method, body=body, signer=signer, signed=signed) for p in (bad, good)]
            assert [a.status for a in answers] == [status, status], (bad, answers[0].body)
            assert answers[0].body == answers[1].body  # nothing about the id: it was never read
    assert untouched == []


def test_a_body_that_is_not_a_json_object_or_a_vote_without_its_fields_is_a_400_naming_it(net: Net) -> None:
    oid = encode_id(net.object_id)
    for route in ("vote", "receipt"):
        for body, why in (
            (b"{not json", "Expecting"),
            (b"[1, 2]", "a JSON list, not an object"),
            (b"\xff", "utf-8"),
            (b"[" * 50_000, "recursion depth"),  # nested past the parser's depth, within the 64 KB a body may be
        ):
            answer = net.send(f"{OBJECTS}/{oid}/{route}", method="POST", body=body)
            assert (answer.status, answer.signed) == (400, True), answer.body
            assert why in answer.detail
    answer = net.send(f"{OBJECTS}/{oid}/vote", method="POST", body=json.dumps({"version": "one"}).encode())
    assert (answer.status, answer.signed) == (400, True), answer.body
    assert "poller_nonce (hex)" in answer.detail


# -- Range ---------------------------------------------------------------------------------------------------------


def a_content_file(net: Net) -> tuple[str, bytes]:
    relpath = next(p for p in net.content_paths(net.object_id) if p.endswith(".xml"))
    return relpath, net.stored(net.object_id, relpath)


@pytest.mark.parametrize(
    ("asked", "first", "last"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=10-10", 10, 10),
        ("bytes=3000-", 3000, None),  # open-ended: the rest of the file (under one block of POLICY)
        ("bytes=-5", -5, None),  # a suffix: the last five bytes
        ("bytes=3000-99999999999999999999999999", 3000, None),  # cut to the file's end
        ("Bytes=0-3", 0, 3),  # the unit is case-insensitive
    ],
)
def test_one_byte_range_is_a_signed_206_of_just_those_bytes(net: Net, asked: str, first: int, last: int | None) -> None:
    relpath, content = a_content_file(net)
    answer = net.send(file_path(net.object_id, relpath), headers=(("Range", asked),))
    expected = content[first : None if last is None else last + 1]
    assert (answer.status, answer.signed) == (206, True), answer.body
    assert answer.body == expected
    start = first if first >= 0 else len(content) + first
    assert answer.headers["Content-Range"] == f"bytes {start}-{start + len(expected) - 1}/{len(content)}"


def test_the_client_still_fetches_one_block_for_a_repair(net: Net) -> None:
    relpath, content = a_content_file(net)
    block = 2048
    last = (len(content) - 1) // block  # the last block: its range runs past the end of the file
    member = net.members[0]
    for index in (0, last):
        asked = (index * block, index * block + block - 1)
        assert net.client.object_file(member, net.object_id, relpath, asked) == content[asked[0] : asked[1] + 1]
    assert b"".join(net.client.iter_file(member, net.object_id, relpath)) == content  # and a whole file


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ((("Range", "bytes=9-3"),), "ends before it starts"),
        ((("Range", "bytes=a-b"),), "malformed byte range"),
        ((("Range", "bytes=-"),), "malformed byte range"),
        ((("Range", "bytes=+1-2"),), "malformed byte range"),
        ((("Range", "bytes=0-1,4-5"),), "ask for one range per request"),
        ((("Range", "bytes="),), "names no range"),
        ((("Range", "items=0-5"),), "only bytes ranges"),
        ((("Range", "0-5"),), "malformed Range header"),
        ((("Range", "bytes=0-1"), ("Range", "bytes=2-3")), "2 Range headers"),
    ],
)
def test_a_malformed_range_is_a_400_naming_it_not_a_404(
    net: Net, untouched: list[str], headers: tuple[tuple[str, str], ...], why: str
) -> None:
    answer = net.send(file_path(net.object_id, "inventory.json"), headers=headers)
    assert (answer.status, answer.signed) == (400, True), answer.body
    assert why in answer.detail
    assert untouched == []


@pytest.mark.parametrize("asked", ["bytes={size}-", "bytes={size}-{big}", "bytes=-0"])
def test_a_range_outside_the_file_is_a_416_giving_the_size(net: Net, asked: str) -> None:
    relpath, content = a_content_file(net)
    answer = net.send(
        file_path(net.object_id, relpath), headers=(("Range", asked.format(size=len(content), big=len(content) * 9)),)
    )
    assert (answer.status, answer.signed) == (416, True), answer.body
    assert answer.headers["Content-Range"] == f"bytes */{len(content)}"
    assert f"a file of {len(content)} bytes" in answer.detail
    assert content not in answer.body


# -- paths ---------------------------------------------------------------------------------------------------------


def test_paths_that_leave_the_object_are_refused_and_read_nothing(net: Net, untouched: list[str]) -> None:
    oid = encode_id(net.object_id)
    store = net.server.store
    other = os.path.relpath(store.object_path(net.other_id), store.object_path(net.object_id))  # "../../../../4f2/.."
    traversals = {
        "../../../../../../etc/passwd": "'..' segment",
        "%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd": "'..' segment",  # decoded by the server: the same path
        "v1/content/../../inventory.json": "'..' segment",
        f"{quote(other)}/inventory.json": "'..' segment",  # the other object's root
        "./inventory.json": "'..' segment",
        "v1//content/x": "empty",
        "%2Fetc%2Fpasswd": "not a relative",  # an absolute path, its slashes encoded
        "/etc/passwd": "not a relative",  # ... or not: .../file//etc/passwd
        "inventory.json%00.sha512": "NUL",
        "v1\\content": "not a relative",
        "": "empty file path",
    }
    for relpath, why in traversals.items():
        answer = net.send(f"{OBJECTS}/{oid}/file/{relpath}")
        assert (answer.status, answer.signed) == (400, True), (relpath, answer.body)
        assert why in answer.detail, (relpath, answer.detail)
        assert b"root:" not in answer.body
    assert untouched == []


def test_a_path_encoded_twice_is_decoded_once(net: Net) -> None:
    # "%252e%252e" is the name "%2e%2e", not "..": no object has it (the old route decoded it twice)
    answer = net.send(f"{OBJECTS}/{encode_id(net.object_id)}/file/%252e%252e/%252e%252e/inventory.json")
    assert (answer.status, answer.signed) == (404, True), answer.body
    assert "'%2e%2e/%2e%2e/inventory.json' is not a file of object" in answer.detail


def test_another_objects_file_is_not_a_file_of_this_object(net: Net) -> None:
    mine = set(net.content_paths(net.object_id))
    theirs = next(p for p in net.content_paths(net.other_id) if p not in mine)
    answer = net.send(file_path(net.object_id, theirs))
    assert (answer.status, answer.signed) == (404, True), answer.body
    assert "is not a file of object" in answer.detail
    assert net.stored(net.other_id, theirs) not in answer.body
    assert net.send(file_path(net.other_id, theirs)).status == 200  # the file is there, under its own object


def test_a_member_not_assigned_to_the_object_gets_none_of_its_files(net: Net, monkeypatch: pytest.MonkeyPatch) -> None:
    relpath, content = a_content_file(net)
    monkeypatch.setattr(net.server.membership, "holders", lambda object_id: [net.server.settings.node_id])
    for headers in ((), (("Range", "bytes=0-9"),)):
        for path in (relpath, "inventory.json"):
            answer = net.send(file_path(net.object_id, path), headers=headers)
            assert (answer.status, answer.signed) == (403, True), answer.body
            assert "is not assigned to hold" in answer.detail
            assert content[:10] not in answer.body and b"manifest" not in answer.body


def test_a_range_longer_than_one_block_is_refused_naming_the_limit(net: Net, monkeypatch: pytest.MonkeyPatch) -> None:
    # a range is read whole to be signed: a member asking for bytes=0- of a large file must not make the node hold
    # the file in memory; one block of the network's policy is what a repair asks for
    relpath, content = a_content_file(net)
    config = net.server.membership.config()
    small = replace(config, policy=replace(config.policy, block_size=1024))
    monkeypatch.setattr(net.server.membership, "config", lambda: small)
    assert len(content) > 1024
    answer = net.send(file_path(net.object_id, relpath), headers=(("Range", "bytes=0-"),))
    assert (answer.status, answer.signed) == (400, True), answer.body
    assert "at most 1024 bytes (one block)" in answer.detail and content[:1024] not in answer.body
    one_block = net.send(file_path(net.object_id, relpath), headers=(("Range", "bytes=0-1023"),))
    assert (one_block.status, one_block.body) == (206, content[:1024])
