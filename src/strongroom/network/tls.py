"""Mutual TLS between nodes, with no certificate authority: each node's certificate is self-signed with its own
Ed25519 node key, and the signed network configuration lists every member's certificate beside its key.

A node's certificate is a pure function of its key and id (Ed25519 signatures are deterministic and every field is
fixed), so a node restored from a backup of its key has the same certificate, and an operator can print it again
at any time (``strongroom network member``). Both ends of a connection trust exactly the certificates the
configuration lists (a stranger without one is refused during the handshake, before any HTTP is read), and the
client also pins the certificate of the member it addressed, so one member cannot stand in for another. TLS 1.3
only: OpenSSL 3 signs its handshakes with Ed25519 keys there.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import ssl
from collections.abc import Callable, Iterable
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from strongroom.errors import ConfigError
from strongroom.keys import PRIVATE_KEY_FILE, public_key_from_text, public_key_text

CERTIFICATE_FILE = "node.crt"
_NOT_BEFORE = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
_NOT_AFTER = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)  # identity lives as long as the key


def node_certificate(key: Ed25519PrivateKey, node_id: str) -> x509.Certificate:
    """The node's self-signed certificate: the same bytes every time for the same key and id."""
    public = key.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node_id)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(int.from_bytes(hashlib.sha256(raw).digest()[:16], "big") >> 1 or 1)
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .sign(key, None)
    )


def certificate_text(certificate: x509.Certificate) -> str:
    """The form a member entry carries: base64 of the DER bytes, on one line."""
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")


def _load(text: str) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise ConfigError(f"not a certificate (base64 DER expected): {exc}") from None


def check_certificate(text: str, public_key: str) -> None:
    """ConfigError unless ``text`` is a certificate of ``public_key``, self-signed with it."""
    certificate = _load(text)
    key = certificate.public_key()
    if not isinstance(key, Ed25519PublicKey) or public_key_text(key) != public_key:
        raise ConfigError(
            "the certificate is not of the member's public key",
            hint="print the entry again on the node itself: strongroom network member --url URL",
        )
    try:
        public_key_from_text(public_key).verify(certificate.signature, certificate.tbs_certificate_bytes)
    except InvalidSignature:
        raise ConfigError("the certificate is not signed with the member's own key") from None


def peer_public_key(der: bytes | None) -> str | None:
    """The Ed25519 key (``ed25519:...``) of the certificate a peer presented, or None."""
    if not der:
        return None
    key = x509.load_der_x509_certificate(der).public_key()
    return public_key_text(key) if isinstance(key, Ed25519PublicKey) else None


def write_certificate(keys_dir: Path, key: Ed25519PrivateKey, node_id: str) -> Path:
    """Write the node's certificate beside its key (derived: rewriting it changes nothing) and return its path."""
    path = keys_dir / CERTIFICATE_FILE
    pem = node_certificate(key, node_id).public_bytes(serialization.Encoding.PEM)
    if not path.exists() or path.read_bytes() != pem:
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pem)
        tmp.replace(path)
    return path


class TrustedPeers:
    """An SSL context that presents this node's certificate and trusts exactly the members' certificates, kept up to
    date by :meth:`refresh` as the configuration changes.

    OpenSSL can add a trust anchor to a context but not take one out, so when a member is retired a server builds a
    fresh context that trusts only the members still listed, and every handshake from then on is moved onto it at
    its first step (the server-name callback, which runs before the client's certificate is asked for): a retired
    member is refused at the handshake by a running server, without a restart. ``context`` stays the one the server
    listens with. A client only adds: it pins the certificate of the member it addresses, and addresses no
    retired member."""

    def __init__(
        self,
        keys_dir: Path,
        key: Ed25519PrivateKey,
        node_id: str,
        certificates: Callable[[], Iterable[str]],
        *,
        server: bool,
    ) -> None:
        self._identity = (keys_dir, key, node_id)
        self._server = server
        self.context = self._new_context()
        self._current = self.context  # what handshakes are verified with: ``context`` until a member is retired
        if server:
            self.context.sni_callback = self._choose
        self._certificates = certificates
        self._loaded: set[str] = set()
        self.refresh()

    def _new_context(self) -> ssl.SSLContext:
        keys_dir, key, node_id = self._identity
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if self._server else ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        context.check_hostname = False  # identity is the pinned key, not a host name
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_cert_chain(write_certificate(keys_dir, key, node_id), keys_dir / PRIVATE_KEY_FILE)
        return context

    def _choose(
        self, ssl_object: ssl.SSLObject | ssl.SSLSocket, server_name: str | None, context: ssl.SSLContext
    ) -> None:
        if self._current is not context:
            ssl_object.context = self._current

    def refresh(self) -> None:
        listed = {c for c in self._certificates() if c}
        if self._server and self._loaded - listed:  # a member retired: a fresh trust store without it
            fresh = self._new_context()
            if listed:
                fresh.load_verify_locations(cadata=b"".join(base64.b64decode(c) for c in sorted(listed)))
            self._current, self._loaded = fresh, listed
            return
        new = sorted(listed - self._loaded)
        if new:
            self._current.load_verify_locations(cadata=b"".join(base64.b64decode(c) for c in new))
            self._loaded.update(new)
