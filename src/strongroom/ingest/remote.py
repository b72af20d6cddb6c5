"""Fetching a package a journal announced (the PKP PN plugin's ``pkp:content`` URL): a HEAD for its size, then a
streamed download into a scratch file, hashed while it arrives and cut off past a limit.

The URL comes from an unauthenticated request, so by default nothing on a loopback, private, link-local or
reserved address is fetched (a stranger must not make the node read its own admin ports or a cloud's metadata
service); ``allow_private`` lifts that for a node serving journals on its own network, and for tests. The check is
made where the connection is opened, on the very address connected to: a name that resolves to a public address
when checked and to a private one a moment later (DNS rebinding) reaches nothing, and every redirect is checked the
same way. (So these fetches go direct, never through a proxy named in the environment: a proxy would resolve the
name itself, out of reach of the check.)
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from strongroom import __version__

USER_AGENT = f"Strongroom/{__version__} (PKP PN deposit service)"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
CHUNK = 1024 * 1024
HASHES = {"SHA-1": "sha1", "MD5": "md5"}


class FetchFailed(Exception):
    """The package could not be fetched; ``reason`` says why in words for a journal manager and a log."""

    def __init__(self, reason: str, *, retry: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry  # False when trying again cannot help (the answer was definite)


@dataclass(frozen=True)
class Fetched:
    path: Path
    size: int
    digest: str  # lower-case hex, of the algorithm asked for


def _scheme_and_host(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchFailed(f"{url[:200]!r} is not an http(s) URL", retry=False)
    return parts.scheme, parts.hostname


def public_address(host: str, port: int) -> str:
    """The address to connect to for ``host``: resolved once, refused unless every address it has is public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchFailed(f"the host {host} cannot be resolved ({exc})") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if not address.is_global:
            raise FetchFailed(
                f"{host} is at {address}, a private or local address this node does not fetch from", retry=False
            )
    if not addresses:
        raise FetchFailed(f"the host {host} has no address")
    return str(addresses[0])


def check_address(url: str, *, allow_private: bool) -> None:
    """Refuse at once a URL that is not http(s), or whose host resolves to a non-public address unless allowed
    (the connection itself is checked again: :class:`_PublicOnly`)."""
    scheme, host = _scheme_and_host(url)
    if not allow_private:
        public_address(host, urlsplit(url).port or (443 if scheme == "https" else 80))


class _PublicOnly(httpcore.SyncBackend):
    """Opens a connection only to the public address the name resolved to, the one just checked; TLS still checks
    the certificate against the name."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            address = public_address(host, port)
        except FetchFailed as exc:
            raise httpcore.ConnectError(exc.reason) from None
        return super().connect_tcp(address, port, timeout, local_address, socket_options)


def _transport(allow_private: bool) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(trust_env=False)
    if not allow_private:
        # httpx has no public way to give its transport a network backend; the pool is what it would build, with
        # the backend that checks every address connected to (tests/ingest/test_remote.py proves it is used)
        transport._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(), network_backend=_PublicOnly())
    return transport


def _client(*, allow_private: bool, timeout: httpx.Timeout | float = TIMEOUT) -> httpx.Client:
    """A client that refuses non-http(s) URLs on every request it sends, redirects included, and connects to public
    addresses only unless ``allow_private``."""

    def checked(request: httpx.Request) -> None:
        _scheme_and_host(str(request.url))

    return httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        max_redirects=5,
        headers={"User-Agent": USER_AGENT},
        event_hooks={"request": [checked]},
        transport=_transport(allow_private),
    )


def head_size(url: str, *, allow_private: bool) -> int | None:
    """The size the server gives in a HEAD's Content-Length (None when it gives none)."""
    check_address(url, allow_private=allow_private)
    try:
        with _client(allow_private=allow_private) as client:
            response = client.head(url)
    except httpx.HTTPError as exc:
        raise FetchFailed(f"{url} did not answer ({type(exc).__name__}: {exc})") from None
    if response.status_code != 200:
        raise FetchFailed(f"{url} answered HTTP {response.status_code} to a HEAD request")
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def download(url: str, dest: Path, *, limit: int, checksum_type: str, allow_private: bool) -> Fetched:
    """Stream ``url`` into ``dest``, hashing as it arrives; more than ``limit`` bytes stops it."""
    check_address(url, allow_private=allow_private)
    hasher = hashlib.new(HASHES[checksum_type])
    size = 0
    try:
        with _client(allow_private=allow_private) as client, client.stream("GET", url) as response:
            if response.status_code != 200:
                raise FetchFailed(f"{url} answered HTTP {response.status_code}")
            with dest.open("wb") as out:
                for chunk in response.iter_bytes(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise FetchFailed(f"{url} sent more than the {limit} bytes expected", retry=False)
                    hasher.update(chunk)
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise FetchFailed(f"{url} did not answer in full ({type(exc).__name__}: {exc})") from None
    return Fetched(dest, size, hasher.hexdigest())


def get_small(url: str, *, limit: int, allow_private: bool, timeout: float = 10.0) -> bytes:
    """A small document (the journal's handshake), at most ``limit`` bytes."""
    check_address(url, allow_private=allow_private)
    body = bytearray()
    try:
        with (
            _client(allow_private=allow_private, timeout=timeout) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise FetchFailed(f"{url} answered HTTP {response.status_code}")
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limit:
                    raise FetchFailed(f"{url} sent more than {limit} bytes", retry=False)
    except httpx.HTTPError as exc:
        raise FetchFailed(f"{url} did not answer ({type(exc).__name__}: {exc})") from None
    return bytes(body)
