"""What a member answers is read as an attacker's answer could be: never past a bound. An answer that declares more
than the client reads is refused before a byte of it is read; one that streams on without a length, or that
decompresses to more, is cut off at the bound; a content file must declare its length (which the peer signs), no
more than a repair expects; and an answer that is not the member's (unsigned: a proxy's page, a forger's) is a
PeerError like no answer at all, so that a replication round or a poll goes on with the other members.

The member here is a plain HTTP server on loopback that misbehaves on purpose, over real sockets."""

from __future__ import annotations

import contextlib
import gzip
import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from memory_network import POLICY, clients_of, members_of
from strongroom.keys import public_key_text
from strongroom.network.auth import NONCE, RESPONSE_SIGNATURE, sign_file_response, sign_response
from strongroom.network.client import SMALL_ANSWER, PeerClient, PeerError
from strongroom.network.config import Member, NetworkConfig, sign_config
from strongroom.network.memory import InMemoryNetwork
from strongroom.node import Node
from strongroom.services.votes import VoteCollector
from tests_support import serving

MB = 1024 * 1024
PEER_KEY = Ed25519PrivateKey.generate()


class Sent:
    """What the hostile member wrote before the client hung up."""

    def __init__(self) -> None:
        self.bytes = 0


@contextmanager
def hostile(answer: Callable[[BaseHTTPRequestHandler, Sent], None]) -> Iterator[tuple[PeerClient, Member, Sent]]:
    """A client of a member at a loopback server whose every answer is ``answer(handler, sent)``."""
    sent = Sent()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client hung up, as it should
                answer(self, sent)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.do_GET()

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        member = Member("node-hostile", url, public_key_text(PEER_KEY.public_key()), "Library", "GH")
        client = PeerClient("node-me", Ed25519PrivateKey.generate())
        try:
            yield client, member, sent
        finally:
            client.close()


def _endless(handler: BaseHTTPRequestHandler, sent: Sent) -> None:
    """200, chunked, a megabyte of JSON-ish bytes a chunk, for ever (until the client hangs up)."""
    handler.send_response(200)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    chunk = b"[" + b"0," * (MB // 2 - 1) + b"0"
    for _ in itertools.count():
        handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        sent.bytes += len(chunk)
        if sent.bytes > 1024 * MB:  # a gigabyte: the client should have stopped long before
            return


def _declares(length: int, status: int = 200) -> Callable[[BaseHTTPRequestHandler, Sent], None]:
    def answer(handler: BaseHTTPRequestHandler, sent: Sent) -> None:
        handler.send_response(status)
        handler.send_header("Content-Length", str(length))
        handler.end_headers()
        handler.wfile.write(b"{" * 1024)  # the start of what it says will be 10 GB
        sent.bytes += 1024

    return answer


def test_an_answer_declaring_more_than_is_read_is_refused_before_its_body() -> None:
    with hostile(_declares(10 * 1024 * MB)) as (client, member, _):
        with pytest.raises(PeerError, match=r"10,737,418,240 bytes; at most 268,435,456 are read") as info:
            client.get_json(member, "/peer/v1/objects")
        assert info.value.status == 502
        assert client.bytes_received == 0


def test_a_refusal_is_read_no_further_than_a_small_answer() -> None:
    refused = pytest.raises(PeerError, match=f"at most {SMALL_ANSWER:,} are read")
    with hostile(_declares(10 * 1024 * MB, status=500)) as (client, member, _), refused:
        client.get_json(member, "/peer/v1/objects")


def test_a_block_is_read_no_further_than_the_range_asked_for() -> None:
    refused = pytest.raises(PeerError, match=r"10,485,760 bytes; at most 2,048 are read")
    with hostile(_declares(10 * MB)) as (client, member, _), refused:
        client.object_file(member, "urn:x", "v1/content/a.pdf", (4096, 6143))


def test_an_answer_streamed_without_a_length_is_cut_off_at_the_bound() -> None:
    with hostile(_endless) as (client, member, sent):
        with pytest.raises(PeerError, match=r"sent over 4,194,304 bytes in answer to GET /peer/v1/objects"):
            client.get_json(member, "/peer/v1/objects", limit=4 * MB)
        assert client.bytes_received == 0  # nothing of it was taken as an answer
    assert sent.bytes < 64 * MB  # the client hung up near the bound, not at the server's gigabyte


def test_an_answer_that_decompresses_past_the_bound_is_cut_off() -> None:
    bomb = gzip.compress(b"0" * (64 * MB))

    def answer(handler: BaseHTTPRequestHandler, sent: Sent) -> None:
        handler.send_response(200)
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(bomb)))
        handler.end_headers()
        handler.wfile.write(bomb)
        sent.bytes += len(bomb)

    assert len(bomb) < MB  # small on the wire: only the decoded size can be bounded
    with hostile(answer) as (client, member, _), pytest.raises(PeerError, match="sent over 4,194,304 bytes"):
        client.get_json(member, "/peer/v1/objects", limit=4 * MB)


def test_an_unsigned_answer_is_a_peer_error_not_an_answer() -> None:
    """A reverse proxy's maintenance page, or a forger's list, answered 200: the client's callers catch PeerError
    (an unreachable member), and that is what it is."""

    def answer(handler: BaseHTTPRequestHandler, sent: Sent) -> None:
        body = json.dumps({"objects": [{"object_id": "urn:x", "version": 99}]}).encode()
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    unsigned = pytest.raises(PeerError, match="answered GET /peer/v1/objects, but the peer's response is not signed")
    with hostile(answer) as (client, member, _), unsigned:
        client.get_json(member, "/peer/v1/objects")


def _file(length: str | None, body: bytes) -> Callable[[BaseHTTPRequestHandler, Sent], None]:
    """A content file, signed by the member for the length it declares (``None``: chunked, no length)."""

    def answer(handler: BaseHTTPRequestHandler, sent: Sent) -> None:
        relpath = "v1/content/a.pdf"
        signature = sign_file_response(PEER_KEY, handler.headers[NONCE], relpath, int(length or -1))
        handler.send_response(200)
        handler.send_header(RESPONSE_SIGNATURE, signature)
        if length is None:
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            handler.wfile.write(f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
        else:
            handler.send_header("Content-Length", length)
            handler.end_headers()
            handler.wfile.write(body)
        sent.bytes += len(body)

    return answer


def test_a_content_file_must_declare_its_length() -> None:
    with hostile(_file(None, b"%PDF-1.7 ...")) as (client, member, _):
        received: list[bytes] = []
        with pytest.raises(PeerError, match="without declaring its length"):
            received.extend(client.iter_file(member, "urn:x", "v1/content/a.pdf"))
        assert received == []


def test_a_content_file_longer_than_a_repair_expects_is_refused_before_a_byte() -> None:
    with hostile(_file(str(10 * MB), b"x" * MB)) as (client, member, _):
        received: list[bytes] = []
        with pytest.raises(PeerError, match=r"declared 10,485,760 bytes for v1/content/a.pdf, at most 8,192"):
            received.extend(client.iter_file(member, "urn:x", "v1/content/a.pdf", most=8192))
        assert received == []
    with hostile(_file("12", b"%PDF-1.7 ...")) as (client, member, _):  # within the bound: read as ever
        assert b"".join(client.iter_file(member, "urn:x", "v1/content/a.pdf", most=8192)) == b"%PDF-1.7 ..."


@pytest.mark.parametrize("db_factory", ["sqlite"], indirect=True)
def test_a_replication_round_goes_on_past_a_member_whose_answer_is_not_its_own(
    tmp_path: Path, db_factory: Callable[[], str]
) -> None:
    """Two nodes, the second answering as a proxy would (200, unsigned): the first's replication round ends, having
    installed nothing, where it used to end in the signature's exception."""
    nodes = [Node.create(tmp_path / f"n{i}", database_url=db_factory()) for i in range(2)]
    try:
        admin = Ed25519PrivateKey.generate()
        document = sign_config(NetworkConfig("hostile-net", 1, members_of(nodes), POLICY), admin)
        for n in nodes:
            n.membership.join(document, public_key_text(admin.public_key()))
        proxy = FastAPI()

        @proxy.get("/peer/v1/objects")
        def objects() -> JSONResponse:
            return JSONResponse({"objects": [{"object_id": "urn:strongroom:forged", "version": 1}]})

        net = InMemoryNetwork()
        net.add("n1", proxy)
        client = clients_of(nodes, net)[0]
        try:
            assert nodes[0].replication.run(client) == []
        finally:
            client.close()
    finally:
        for n in nodes:
            n.close()


def _signed(body: bytes) -> Callable[[BaseHTTPRequestHandler, Sent], None]:
    """``body``, 200, signed by the member over the request's nonce: the member's own answer, whatever it says."""

    def answer(handler: BaseHTTPRequestHandler, sent: Sent) -> None:
        handler.send_response(200)
        handler.send_header(RESPONSE_SIGNATURE, sign_response(PEER_KEY, handler.headers[NONCE], body))
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
        sent.bytes += len(body)

    return answer


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html>maintenance</html>", "not JSON"),
        (b"\xff\xfe{}", "not JSON"),
        (b"[" * 200_000 + b"]" * 200_000, "not JSON"),  # nested past the parser's depth: RecursionError
        (b'{"objects": "everything"}', "not a list of objects"),
        (b"[]", "not a list of objects"),
        (b'{"objects": [{"object_id": "urn:x", "version": "1"}]}', "not an object id and a version"),
        (b'{"objects": [{"object_id": 7, "version": 1}]}', "not an object id and a version"),
        (b'{"objects": [{"object_id": "urn:x", "version": true}]}', "not an object id and a version"),
        (b'{"objects": [{"object_id": "urn:x", "version": 0}]}', "not an object id and a version"),
        (b'{"objects": ["urn:x"]}', "not an object id and a version"),
    ],
)
def test_a_signed_list_that_is_not_a_list_of_objects_is_a_peer_error(body: bytes, why: str) -> None:
    with hostile(_signed(body)) as (client, member, _), pytest.raises(PeerError, match=why) as info:
        client.objects(member)
    assert info.value.status == 502


def test_a_well_formed_signed_list_is_read_as_ids_and_versions() -> None:
    body = json.dumps({"objects": [{"object_id": "urn:x", "version": 3}, {"object_id": "urn:y", "version": 1}]})
    with hostile(_signed(body.encode())) as (client, member, _):
        assert client.objects(member) == [("urn:x", 3), ("urn:y", 1)]


def test_an_entry_for_another_object_is_not_the_one_asked_for() -> None:
    body = json.dumps({"object_id": "urn:other", "version": 2}).encode()
    refused = pytest.raises(PeerError, match="the entry of another object")
    with hostile(_signed(body)) as (client, member, _), refused:
        client.holding(member, "urn:asked")


def test_a_vote_that_is_not_json_is_a_refusal_and_the_poll_goes_on() -> None:
    """A voter answering its invitation with signed bytes that are no vote used to end the poll in the poller with
    a ValueError; it is one invited peer that gave no vote."""
    with hostile(_signed(b"[" * 200_000)) as (client, member, _):
        ballot = VoteCollector("node-me", POLICY).collect(client, [member], "urn:x", 1, 10_000)
    assert ballot.valid == {}
    assert "not JSON" in ballot.refusals[member.id]
