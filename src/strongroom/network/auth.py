"""Authenticated, replay-protected peer messages.

Every request names its sender and its recipient and carries a timestamp, a fresh nonce and an Ed25519
signature over ``sender, recipient, method, path, timestamp, nonce, sha256(body)``. The receiver accepts it only
when it is the recipient named, from a member of the signed network configuration, with a valid signature, within
the allowed clock skew, and with a nonce it has not seen (remembered across restarts: :mod:`.nonces`); and it
limits how many requests any one peer may make a minute. The cheap checks (headers, recipient, membership, clock)
come first, in :meth:`Verifier.precheck`, so that a body is read only from a plausible member, and never more of it
than the limit. Responses are signed over the request's nonce (which the request's own signature binds to its
sender, recipient, method and path) and the response body, so a vote cannot be forged or moved to another poll.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.errors import ExitCode, StrongroomError
from strongroom.keys import public_key_from_text
from strongroom.network.config import NetworkConfig
from strongroom.network.nonces import MemoryNonces, NonceStore

NODE = "X-Strongroom-Node"
RECIPIENT = "X-Strongroom-To"
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


def _payload(sender: str, recipient: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join(
        ["strongroom-request-2", sender, recipient, method.upper(), path, timestamp, nonce, digest]
    ).encode()


def sign_request(
    node_id: str,
    key: Ed25519PrivateKey,
    method: str,
    path: str,
    body: bytes = b"",
    now: float | None = None,
    *,
    recipient: str,
) -> dict[str, str]:
    """Headers that authenticate a request from ``node_id`` to the member ``recipient`` (and to no other)."""
    timestamp = str(int(now if now is not None else time.time()))
    nonce = secrets.token_hex(16)
    signature = key.sign(_payload(node_id, recipient, method, path, timestamp, nonce, body))
    return {
        NODE: node_id,
        RECIPIENT: recipient,
        TIMESTAMP: timestamp,
        NONCE: nonce,
        SIGNATURE: base64.b64encode(signature).decode(),
    }


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
    """Checks incoming requests addressed to ``node_id``; remembers the nonces it accepted (``nonces``) and each
    peer's recent request times."""

    config: Callable[[], NetworkConfig]
    node_id: str
    clock: Callable[[], float] = time.time
    max_per_minute: int | None = None
    nonces: NonceStore = field(default_factory=MemoryNonces)

    def __post_init__(self) -> None:
        self._recent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def precheck(self, headers: Mapping[str, str]) -> str:
        """The claimed sender, if the headers alone are acceptable (before any body is read), or PeerRejected."""
        node_id, recipient, timestamp, nonce, signature = (
            headers.get(h) for h in (NODE, RECIPIENT, TIMESTAMP, NONCE, SIGNATURE)
        )
        if not (node_id and recipient and timestamp and nonce and signature):
            raise PeerRejected("missing authentication headers")
        if recipient != self.node_id:
            raise PeerRejected(f"this request is addressed to {recipient!r}, not to this node ({self.node_id})", 403)
        if self.config().member(node_id) is None:
            raise PeerRejected(f"unknown node {node_id!r}: not a member of this network", 403)
        try:
            age = abs(self.clock() - int(timestamp))
        except ValueError:
            raise PeerRejected("malformed timestamp") from None
        if age > MAX_SKEW_SECONDS:
            raise PeerRejected(f"stale message ({age:.0f} s from now; at most {MAX_SKEW_SECONDS} s allowed)")
        return node_id

    def verify(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> str:
        """The sending node's id, or PeerRejected."""
        node_id = self.precheck(headers)
        member = self.config().member(node_id)
        assert member is not None  # precheck found it
        timestamp, nonce, signature = headers[TIMESTAMP], headers[NONCE], headers[SIGNATURE]
        try:
            public_key_from_text(member.public_key).verify(
                base64.b64decode(signature, validate=True),
                _payload(node_id, self.node_id, method, path, timestamp, nonce, body),
            )
        except (InvalidSignature, ValueError):
            raise PeerRejected(f"bad signature from {node_id}") from None
        now = self.clock()
        # kept until the timestamp itself would be refused as stale: a replay after that fails the clock check
        if not self.nonces.remember(f"{node_id}/{nonce}", int(timestamp) + MAX_SKEW_SECONDS + 1, now):
            raise PeerRejected(f"replayed message from {node_id} (nonce already seen)")
        self._rate_limit(node_id, now)
        return node_id

    def _rate_limit(self, node_id: str, now: float) -> None:
        limit = self.max_per_minute or self.config().policy.max_requests_per_minute
        with self._lock:
            recent = self._recent.setdefault(node_id, deque())
            while recent and now - recent[0] > 60:
                recent.popleft()
            if len(recent) >= limit:
                raise PeerRejected(f"{node_id} has made {len(recent)} requests in the last minute (limit {limit})", 429)
            recent.append(now)
