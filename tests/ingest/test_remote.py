"""Fetching what a journal announced: nothing on a private or local address unless allowed, decided on the address
actually connected to, so a name that changes its answer between the check and the connection (DNS rebinding)
reaches nothing."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest

from strongroom.ingest import remote
from strongroom.ingest.remote import FetchFailed
from tests_support import serving

BODY = b"a package\n" * 100


class Counted(BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Counted.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    do_HEAD = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[int]:
    Counted.requests = []
    with serving(Counted) as url:
        yield int(url.rsplit(":", 1)[1])


def test_a_local_address_is_refused_unless_allowed(local_server: int, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{local_server}/package.zip"
    with pytest.raises(FetchFailed) as refused:
        remote.download(url, tmp_path / "p", limit=10**6, checksum_type="SHA-1", allow_private=False)
    assert "private or local address" in refused.value.reason and not refused.value.retry
    with pytest.raises(FetchFailed):
        remote.head_size(url, allow_private=False)
    assert Counted.requests == []
    fetched = remote.download(url, tmp_path / "p", limit=10**6, checksum_type="SHA-1", allow_private=True)
    assert fetched.size == len(BODY) and Counted.requests == ["/package.zip"]


def test_a_name_that_turns_private_after_the_check_reaches_nothing(
    local_server: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first answer is a public address, every later one the loopback where the local server listens."""
    real = socket.getaddrinfo
    answers: list[str] = []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "journal.example":
            return real(host, port, *args, **kwargs)
        address = "93.184.216.34" if not answers else "127.0.0.1"
        answers.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = f"http://journal.example:{local_server}/package.zip"
    with pytest.raises(FetchFailed) as refused:
        remote.download(url, tmp_path / "p", limit=10**6, checksum_type="SHA-1", allow_private=False)
    assert answers[0] == "93.184.216.34" and "127.0.0.1" in answers[1:]  # checked public, then turned local
    assert "private or local address" in refused.value.reason
    assert Counted.requests == []  # the request never reached the local server
    assert not (tmp_path / "p").exists() or (tmp_path / "p").stat().st_size == 0


def test_only_http_urls_are_fetched(tmp_path: Path) -> None:
    for url in ("file:///etc/passwd", "ftp://example.org/x", "http:///nohost"):
        with pytest.raises(FetchFailed) as refused:
            remote.download(url, tmp_path / "p", limit=10, checksum_type="SHA-1", allow_private=True)
        assert "not an http(s) URL" in refused.value.reason and not refused.value.retry
