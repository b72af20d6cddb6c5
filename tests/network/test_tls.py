"""Node certificates and the members' trust store, in-process over real TLS sockets on loopback: a certificate is
a pure function of the node's key and id, is accepted in a configuration only beside its own key, and a member
added to the configuration is trusted once the store is refreshed, while strangers are refused at the handshake."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.errors import ConfigError
from strongroom.keys import public_key_text
from strongroom.network.client import PeerClient, PeerError
from strongroom.network.config import Member
from strongroom.network.tls import TrustedPeers, certificate_text, check_certificate, node_certificate, peer_public_key


def keys_dir(tmp_path: Path, name: str, key: Ed25519PrivateKey) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (folder / "node.key").write_bytes(pem)
    return folder


def test_a_certificate_is_derived_from_the_key_alone() -> None:
    key = Ed25519PrivateKey.generate()
    first = certificate_text(node_certificate(key, "node-1"))
    assert certificate_text(node_certificate(key, "node-1")) == first  # restored from a key backup: the same
    check_certificate(first, public_key_text(key.public_key()))
    other = Ed25519PrivateKey.generate()
    with pytest.raises(ConfigError, match="not of the member's public key"):
        check_certificate(first, public_key_text(other.public_key()))

    # A certificate naming the member's key but signed by someone else's key is not the member's.
    cert = node_certificate(key, "node-1")
    forged = (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(cert.issuer)
        .public_key(key.public_key())
        .serial_number(cert.serial_number)
        .not_valid_before(cert.not_valid_before_utc)
        .not_valid_after(cert.not_valid_after_utc)
        .sign(other, None)
    )
    with pytest.raises(ConfigError, match="not signed with the member's own key"):
        check_certificate(certificate_text(forged), public_key_text(key.public_key()))
    with pytest.raises(ConfigError, match="not a certificate"):
        check_certificate("not base64!", public_key_text(key.public_key()))


class Server:
    """A TLS server on loopback that records the key of each client it accepted, or the handshake's error."""

    def __init__(self, trusted: TrustedPeers) -> None:
        self.trusted = trusted
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.results: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            try:
                with self.trusted.context.wrap_socket(conn, server_side=True) as tls:
                    self.results.append(str(peer_public_key(tls.getpeercert(True))))
                    self.answer(tls)
            except (ssl.SSLError, OSError) as exc:
                self.results.append(f"refused: {exc}")

    def answer(self, tls: ssl.SSLSocket) -> None:
        tls.sendall(b"ok")

    def connect(self, context: ssl.SSLContext) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port)) as raw, context.wrap_socket(raw) as tls:
            return tls.recv(2)


@pytest.fixture
def members(tmp_path: Path) -> Iterator[tuple[dict[str, Path], dict[str, Ed25519PrivateKey], list[str]]]:
    keys = {name: Ed25519PrivateKey.generate() for name in ("a", "b", "c")}
    dirs = {name: keys_dir(tmp_path, name, key) for name, key in keys.items()}
    listed = [certificate_text(node_certificate(keys[n], f"node-{n}")) for n in ("a", "b")]
    yield dirs, keys, listed


def test_members_are_trusted_strangers_are_refused_and_new_members_are_added(
    members: tuple[dict[str, Path], dict[str, Ed25519PrivateKey], list[str]],
) -> None:
    dirs, keys, listed = members
    server_store = TrustedPeers(dirs["a"], keys["a"], "node-a", lambda: listed, server=True)
    server = Server(server_store)
    everyone = [*listed, certificate_text(node_certificate(keys["c"], "node-c"))]
    as_b = TrustedPeers(dirs["b"], keys["b"], "node-b", lambda: everyone, server=False).context
    as_c = TrustedPeers(dirs["c"], keys["c"], "node-c", lambda: everyone, server=False).context

    assert server.connect(as_b) == b"ok"
    with pytest.raises((ssl.SSLError, OSError)):
        server.connect(as_c)  # not (yet) a member: refused at the handshake
    listed.append(everyone[2])  # a new configuration lists c
    server_store.refresh()
    assert server.connect(as_c) == b"ok"
    assert server.results[0] == public_key_text(keys["b"].public_key())
    assert server.results[1].startswith("refused")
    assert server.results[2] == public_key_text(keys["c"].public_key())
    server.listener.close()


def test_a_retired_member_is_refused_at_the_handshake_by_a_running_server(
    members: tuple[dict[str, Path], dict[str, Ed25519PrivateKey], list[str]],
) -> None:
    dirs, keys, listed = members
    listed.append(certificate_text(node_certificate(keys["c"], "node-c")))
    everyone = list(listed)
    server_store = TrustedPeers(dirs["a"], keys["a"], "node-a", lambda: listed, server=True)
    server = Server(server_store)
    as_b = TrustedPeers(dirs["b"], keys["b"], "node-b", lambda: everyone, server=False).context
    as_c = TrustedPeers(dirs["c"], keys["c"], "node-c", lambda: everyone, server=False).context
    assert server.connect(as_c) == b"ok"
    listed.remove(everyone[2])  # a new configuration retires c
    server_store.refresh()
    with pytest.raises((ssl.SSLError, OSError)):
        server.connect(as_c)  # refused during the handshake, by the server that trusted it a moment ago
    assert server.connect(as_b) == b"ok"  # the members still listed are trusted as before
    listed.append(everyone[2])  # and one listed again is trusted again
    server_store.refresh()
    assert server.connect(as_c) == b"ok"
    assert server.results[0] == public_key_text(keys["c"].public_key())
    assert server.results[1].startswith("refused")
    assert server.results[2:] == [public_key_text(keys[n].public_key()) for n in ("b", "c")]
    server.listener.close()


class RefusingPeer(Server):
    """A member's TLS server that answers every request with a refusal and closes the connection (``Connection:
    close``, as a server does when it will not keep the connection: leaving a body unread, shutting down)."""

    def answer(self, tls: ssl.SSLSocket) -> None:
        received = b""
        while b"\r\n\r\n" not in received:
            received += tls.recv(65536)
        head, _, body = received.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
        while len(body) < length:
            body += tls.recv(65536)
        refusal = b'{"detail": "busy: another poll of this AU is under way"}'
        tls.sendall(
            b"HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(refusal)}\r\n\r\n".encode()
            + refusal
        )


def test_a_member_that_refuses_and_closes_is_reported_as_refusing_not_as_another_node(
    members: tuple[dict[str, Path], dict[str, Ed25519PrivateKey], list[str]],
) -> None:
    """The certificate a peer presented is read while the connection is open: a peer that answers and closes the
    connection used to leave nothing to read it from once the answer was in, and its answer was reported as another
    node's ("did not present ...'s certificate"), hiding why it refused."""
    dirs, keys, listed = members
    server = RefusingPeer(TrustedPeers(dirs["a"], keys["a"], "node-a", lambda: listed, server=True))
    member = Member(
        "node-a",
        f"https://127.0.0.1:{server.port}",
        public_key_text(keys["a"].public_key()),
        "A",
        "KE",
        certificate=listed[0],
    )
    client = PeerClient(
        "node-b", keys["b"], tls=TrustedPeers(dirs["b"], keys["b"], "node-b", lambda: listed, server=False)
    )
    try:
        with pytest.raises(PeerError) as refused:
            client.post_json(member, "/peer/v1/poll", {"object_id": "x"})
    finally:
        client.close()
        server.listener.close()
    assert refused.value.status == 409 and "another poll of this AU" in str(refused.value)
    assert "did not present" not in str(refused.value)
