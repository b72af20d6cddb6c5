"""Talking to peers over HTTP or HTTPS: every request signed and addressed, every response's signature checked; over
HTTPS (mutual TLS, :mod:`strongroom.network.tls`) the peer must also present the certificate of the member addressed."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.network.auth import (
    NONCE,
    RESPONSE_SIGNATURE,
    PeerRejected,
    sign_request,
    verify_file_response,
    verify_response,
)
from strongroom.network.config import Member
from strongroom.network.ids import encode_id

if TYPE_CHECKING:  # the TLS module (with cryptography's X.509) is imported only by a client that talks https
    from strongroom.network.tls import TrustedPeers

TIMEOUT = httpx.Timeout(30.0, connect=5.0)
CHUNK = 1 << 20
# The most of a signed answer read into memory (a list of objects, an inventory, a vote: some hundreds of thousands
# of entries); a member's answer past it is refused, never read on (a hostile or broken peer cannot exhaust this
# node's memory). A streamed content file has no such limit: it must declare its length, and is written, not held.
ANSWER_LIMIT = 256 * 1024 * 1024
SMALL_ANSWER = 1024 * 1024  # one object's entry in the list, a receipt's acknowledgement


def _bounded(peer: Member, what: str, response: httpx.Response, limit: int) -> bytes:
    """The body of ``response`` (decoded, as the peer's signature covers it), refused past ``limit`` bytes: before
    any is read when the peer declares more, else as soon as more arrive (a body of no declared length, or one
    that decompresses to more)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PeerError(f"{peer.id} answered {what} with {int(declared):,} bytes; at most {limit:,} are read", 502)
    body = bytearray()
    for chunk in response.iter_bytes(CHUNK):
        body += chunk
        if len(body) > limit:
            raise PeerError(f"{peer.id} sent over {limit:,} bytes in answer to {what}; the rest was not read", 502)
    return bytes(body)


def _json(peer: Member, what: str, body: bytes) -> Any:
    """A signed answer's JSON; PeerError when it is none (not UTF-8, not JSON, or nested past the parser's depth)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise PeerError(f"{peer.id} answered {what} with what is not JSON ({type(exc).__name__})", 502) from None


def _entry(peer: Member, what: str, entry: Any) -> tuple[str, int]:
    """An entry of a list of objects (``{"object_id": ..., "version": N}``) as (id, head version)."""
    if isinstance(entry, dict):
        object_id, version = entry.get("object_id"), entry.get("version")
        if isinstance(object_id, str) and type(version) is int and version >= 1:
            return object_id, version
    raise PeerError(f"{peer.id} answered {what} with an entry that is not an object id and a version", 502)


class PeerError(PeerRejected):
    """A peer could not be reached, refused us, or answered with something we cannot trust; ``signed``: the
    refusal was signed by the peer addressed (its own answer, not a proxy's, an older version's or a forger's)."""

    def __init__(self, message: str, status: int = 401, *, signed: bool = False) -> None:
        super().__init__(message, status)
        self.signed = signed


class NoSuchRoute(PeerError):
    """The peer answered 404 to a route itself, unsigned: it runs an older version without that route."""


def _no_tls() -> ssl.SSLContext:
    """The TLS context of a client without a TLS identity, which talks plain http only (:meth:`PeerClient._ready`
    refuses https peers): one that trusts no certificate at all, so that nothing is ever accepted over TLS, and
    cheap to make (httpx's default loads the system's whole CA bundle, a tenth of a short command's time)."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificates and host names, against no CA


class PeerClient:
    def __init__(
        self,
        node_id: str,
        key: Ed25519PrivateKey,
        *,
        timeout: httpx.Timeout = TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        tls: TrustedPeers | None = None,
    ) -> None:
        self.node_id = node_id
        self.key = key
        self.tls = tls
        # The transport seam: real sockets by default; tests of protocol logic pass an in-memory one.
        self.http = httpx.Client(timeout=timeout, transport=transport, verify=tls.context if tls else _no_tls())
        self.bytes_sent = 0  # request bodies and headers' worth, for measuring a protocol's cost
        self.bytes_received = 0

    def close(self) -> None:
        self.http.close()

    def _ready(self, peer: Member) -> None:
        """Refuse early, and say why, when an https peer cannot be reached with mutual TLS."""
        if not peer.url.startswith("https://"):
            return
        if not peer.certificate:
            raise PeerError(
                f"{peer.id} is listed at {peer.url} but the network configuration has no certificate for it", 503
            )
        if self.tls is None:
            raise PeerError(f"{peer.id} is listed at {peer.url}, and this client has no TLS identity", 503)
        self.tls.refresh()  # members added since: trusted from now on

    def _pinned(self, peer: Member, response: httpx.Response) -> None:
        """Over TLS, the certificate presented must be the one of the member addressed, not any member's."""
        if not peer.url.startswith("https://"):
            return
        from strongroom.network.tls import peer_public_key

        stream = response.extensions.get("network_stream")
        ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
        presented = peer_public_key(ssl_object.getpeercert(True)) if ssl_object is not None else None
        if presented != peer.public_key:
            raise PeerError(f"{peer.url} did not present {peer.id}'s certificate: not the node addressed", 502)

    def request(
        self,
        peer: Member,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        timeout: float | None = None,  # seconds to wait for the answer (a vote's limit is sized to the AU)
        limit: int = ANSWER_LIMIT,
    ) -> bytes:
        """The body of ``peer``'s answer, its signature checked; PeerError when it cannot be reached, refuses, or
        answers with what cannot be trusted (unsigned, signed by another, or over ``limit`` bytes)."""
        self._ready(peer)
        signed = sign_request(self.node_id, self.key, method, path, body, recipient=peer.id)
        what = f"{method} {path}"
        # Streamed, so that the certificate is read from the connection before the body: a peer that answers and
        # closes (an error answered before the request's body was read, say) leaves no TLS session to read it
        # from once the body is in, and its answer was taken for another node's.
        try:
            with self.http.stream(
                method,
                peer.url + path,
                content=body,
                headers={**signed, **(headers or {}), "Content-Type": "application/json"},
                timeout=httpx.Timeout(timeout, connect=5.0) if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            ) as response:
                self._pinned(peer, response)
                status, signature = response.status_code, response.headers.get(RESPONSE_SIGNATURE)
                content = _bounded(peer, what, response, limit if status < 400 else SMALL_ANSWER)
        except httpx.HTTPError as exc:
            raise PeerError(f"{peer.id} at {peer.url} did not answer: {exc}", 503) from None
        self.bytes_sent += len(body) + sum(len(k) + len(v) for k, v in signed.items())
        self.bytes_received += len(content)
        if status >= 400:
            raise _refused(peer, what, status, content, signed=_signed_by(peer, signed[NONCE], content, signature))
        try:
            verify_response(peer.public_key, signed[NONCE], content, signature)
        except PeerRejected as exc:  # not the member's answer (a proxy's page, a forger's): as good as no answer
            raise PeerError(f"{peer.id} at {peer.url} answered {what}, but {exc.message}", 502) from None
        return content

    def get_json(self, peer: Member, path: str, *, limit: int = ANSWER_LIMIT) -> Any:
        return _json(peer, f"GET {path}", self.request(peer, "GET", path, limit=limit))

    def objects(self, peer: Member) -> list[tuple[str, int]]:
        """Every object ``peer`` holds and its head version (its list, ``GET /peer/v1/objects``); PeerError when
        the answer is not such a list."""
        what = "GET /peer/v1/objects"
        answer = self.get_json(peer, "/peer/v1/objects")
        entries = answer.get("objects") if isinstance(answer, dict) else None
        if not isinstance(entries, list):
            raise PeerError(f"{peer.id} answered {what} with what is not a list of objects", 502)
        return [_entry(peer, what, e) for e in entries]

    def holding(self, peer: Member, object_id: str) -> dict[str, Any] | None:
        """``peer``'s entry for one object (as in its list of objects), or None when it says (signed) that it does
        not hold it: one small answer where the list is megabytes. NoSuchRoute when the peer runs a version
        without this route (an unsigned 404): ask it for the list instead."""
        path = f"/peer/v1/objects/{encode_id(object_id)}"
        try:
            answer = self.get_json(peer, path, limit=SMALL_ANSWER)
        except PeerError as exc:
            if exc.status != 404:
                raise
            if not exc.signed:
                raise NoSuchRoute(
                    f"{peer.id} has no route GET /peer/v1/objects/{{id}} (an older version)", 404
                ) from None
            return None
        held, version = _entry(peer, f"GET {path}", answer)
        if held != object_id:
            raise PeerError(f"{peer.id} answered GET {path} with the entry of another object", 502)
        return {"object_id": held, "version": version}

    def post_json(self, peer: Member, path: str, data: Any, *, timeout: float | None = None) -> Any:
        return _json(
            peer, f"POST {path}", self.request(peer, "POST", path, body=json.dumps(data).encode(), timeout=timeout)
        )

    def iter_file(self, peer: Member, object_id: str, relpath: str, *, most: int | None = None) -> Iterator[bytes]:
        """One file of an object as it arrives, in chunks (never held whole in memory); the response's signature
        and length are checked, and the caller checks the bytes against the inventory as it writes them. The peer
        must declare the file's length (it signs it), and no more than ``most`` bytes when the caller knows a bound
        (a repair knows the majority's blocks): a file without one, or larger, is refused before a byte is read."""
        path = f"/peer/v1/objects/{encode_id(object_id)}/file/{quote(relpath)}"
        signed = sign_request(self.node_id, self.key, "GET", path, recipient=peer.id)
        what = f"GET {path}"
        received = 0
        self._ready(peer)
        try:
            with self.http.stream("GET", peer.url + path, headers=signed) as response:
                self._pinned(peer, response)
                if response.status_code >= 400:
                    raise _refused(peer, what, response.status_code, _bounded(peer, what, response, SMALL_ANSWER))
                signature = response.headers.get(RESPONSE_SIGNATURE)
                if relpath.rsplit("/", 1)[-1].startswith("inventory.json"):
                    body = _bounded(peer, what, response, ANSWER_LIMIT)
                    received = len(body)
                    try:  # an inventory is signed over its bytes: checked before any is used
                        verify_response(peer.public_key, signed[NONCE], body, signature)
                    except PeerRejected as exc:
                        raise PeerError(f"{peer.id} sent {relpath}, but {exc.message}", 502) from None
                    yield body
                    return
                declared = response.headers.get("content-length", "")
                if not declared.isdigit():
                    raise PeerError(f"{peer.id} sent {relpath} without declaring its length: not read", 502)
                size = int(declared)
                if most is not None and size > most:
                    raise PeerError(f"{peer.id} declared {size:,} bytes for {relpath}, at most {most:,} expected", 502)
                try:
                    verify_file_response(peer.public_key, signed[NONCE], relpath, size, signature)
                except PeerRejected as exc:
                    raise PeerError(f"{peer.id} sent {relpath}, but {exc.message}", 502) from None
                for chunk in response.iter_bytes(CHUNK):
                    received += len(chunk)
                    if received > size:
                        raise PeerError(f"{peer.id} sent more than the {size:,} bytes of {relpath} it declared", 502)
                    yield chunk
        except httpx.HTTPError as exc:
            raise PeerError(f"{peer.id} at {peer.url} failed while sending {relpath}: {exc}", 503) from None
        finally:
            self.bytes_received += received
        if received != size:
            raise PeerError(f"{peer.id} sent {received} of {size} bytes of {relpath}", 502)

    def object_file(
        self, peer: Member, object_id: str, relpath: str, byte_range: tuple[int, int] | None = None
    ) -> bytes:
        headers = {"Range": f"bytes={byte_range[0]}-{byte_range[1]}"} if byte_range else None
        path = f"/peer/v1/objects/{encode_id(object_id)}/file/{quote(relpath)}"
        # a range's answer is never longer than the range (services.peer serves no more than the file holds)
        limit = byte_range[1] - byte_range[0] + 1 if byte_range else ANSWER_LIMIT
        return self.request(peer, "GET", path, headers=headers, limit=limit)


def _refused(peer: Member, what: str, status: int, body: bytes, *, signed: bool = False) -> PeerError:
    """The error of ``peer``'s refusal of ``what``: its status and the start of what it said."""
    said = body[:200].decode("utf-8", "replace")
    return PeerError(f"{peer.id} refused {what}: {status} {said}", status, signed=signed)


def _signed_by(peer: Member, nonce: str, body: bytes, signature: str | None) -> bool:
    """Whether a refusal was signed by ``peer`` over this request's nonce (every refusal of its peer API is)."""
    try:
        verify_response(peer.public_key, nonce, body, signature)
    except PeerRejected:
        return False
    return True
