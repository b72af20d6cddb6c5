"""Authenticated, replay-protected peer messages.

Every request names its sender and carries a timestamp, a fresh nonce and an Ed25519 signature over
``method, path, timestamp, nonce, sha256(body)``. The receiver accepts it only from a member of the signed
network configuration, with a valid signature, within the allowed clock skew, and with a nonce it has not seen;
and it limits how many requests any one peer may make a minute. Responses are signed over the request's nonce
and the response body, so a vote cannot be forged or moved to another poll on the way back.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.errors import ExitCode, StrongroomError
from strongroom.keys import public_key_from_text
from strongroom.network.config import NetworkConfig

NODE = "X-Strongroom-Node"
TIMESTAMP = "X-Strongroom-Timestamp"
NONCE = "X-Strongroom-Nonce"
SIGNATURE = "X-Strongroom-Signature"
RESPONSE_SIGNATURE = "X-Strongroom-Response-Signature"
MAX_SKEW_SECONDS = 300


class PeerRejected(StrongroomError):
    """A peer message refused; ``status`` is the HTTP status to answer with."""

    exit_code = ExitCode.REMOTE

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


def _payload(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join([method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()]).encode()


def sign_request(
    node_id: str, key: Ed25519PrivateKey, method: str, path: str, body: bytes = b"", now: float | None = None
) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    nonce = secrets.token_hex(16)
    signature = key.sign(_payload(method, path, timestamp, nonce, body))
    return {NODE: node_id, TIMESTAMP: timestamp, NONCE: nonce, SIGNATURE: base64.b64encode(signature).decode()}


def sign_response(key: Ed25519PrivateKey, request_nonce: str, body: bytes) -> str:
    return base64.b64encode(key.sign(request_nonce.encode() + b"\n" + hashlib.sha256(body).digest())).decode()


def _file_payload(request_nonce: str, relpath: str, size: int) -> bytes:
    return f"file\n{request_nonce}\n{relpath}\n{size}".encode()


def sign_file_response(key: Ed25519PrivateKey, request_nonce: str, relpath: str, size: int) -> str:
    """A streamed content file is signed over what it is (path and size), not its bytes: the receiver checks
    the bytes against the inventory's digests, which came in a body-signed response."""
    return base64.b64encode(key.sign(_file_payload(request_nonce, relpath, size))).decode()


def verify_file_response(public_key: str, request_nonce: str, relpath: str, size: int, signature: str | None) -> None:
    if not signature:
        raise PeerRejected("the peer's response is not signed")
    try:
        public_key_from_text(public_key).verify(
            base64.b64decode(signature, validate=True), _file_payload(request_nonce, relpath, size)
        )
    except (InvalidSignature, ValueError):
        raise PeerRejected("the peer's file response signature does not verify") from None


def verify_response(public_key: str, request_nonce: str, body: bytes, signature: str | None) -> None:
    if not signature:
        raise PeerRejected("the peer's response is not signed")
    try:
        public_key_from_text(public_key).verify(
            base64.b64decode(signature, validate=True), request_nonce.encode() + b"\n" + hashlib.sha256(body).digest()
        )
    except (InvalidSignature, ValueError):
        raise PeerRejected("the peer's response signature does not verify") from None


@dataclass
class Verifier:
    """Checks incoming requests; holds the nonces seen recently and each peer's recent request times."""

    config: Callable[[], NetworkConfig]
    clock: Callable[[], float] = time.time
    max_per_minute: int | None = None

    def __post_init__(self) -> None:
        self._nonces: dict[str, float] = {}
        self._recent: dict[str, deque[float]] = {}

    def verify(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> str:
        """The sending node's id, or PeerRejected."""
        node_id, timestamp, nonce, signature = (headers.get(h) for h in (NODE, TIMESTAMP, NONCE, SIGNATURE))
        if not (node_id and timestamp and nonce and signature):
            raise PeerRejected("missing authentication headers")
        member = self.config().member(node_id)
        if member is None:
            raise PeerRejected(f"unknown node {node_id!r}: not a member of this network", 403)
        now = self.clock()
        try:
            age = abs(now - int(timestamp))
        except ValueError:
            raise PeerRejected("malformed timestamp") from None
        if age > MAX_SKEW_SECONDS:
            raise PeerRejected(f"stale message ({age:.0f} s from now; at most {MAX_SKEW_SECONDS} s allowed)")
        try:
            public_key_from_text(member.public_key).verify(
                base64.b64decode(signature, validate=True), _payload(method, path, timestamp, nonce, body)
            )
        except (InvalidSignature, ValueError):
            raise PeerRejected(f"bad signature from {node_id}") from None
        self._forget(now)
        if nonce in self._nonces:
            raise PeerRejected(f"replayed message from {node_id} (nonce already seen)")
        self._nonces[nonce] = now
        self._rate_limit(node_id, now)
        return node_id

    def _forget(self, now: float) -> None:
        if len(self._nonces) > 10_000 or any(now - t > 2 * MAX_SKEW_SECONDS for t in list(self._nonces.values())[:1]):
            self._nonces = {n: t for n, t in self._nonces.items() if now - t <= 2 * MAX_SKEW_SECONDS}

    def _rate_limit(self, node_id: str, now: float) -> None:
        limit = self.max_per_minute or self.config().policy.max_requests_per_minute
        recent = self._recent.setdefault(node_id, deque())
        while recent and now - recent[0] > 60:
            recent.popleft()
        if len(recent) >= limit:
            raise PeerRejected(f"{node_id} has made {len(recent)} requests in the last minute (limit {limit})", 429)
        recent.append(now)
