"""The fetcher against a loopback server that misbehaves in the ways the crawl must survive: it answers late, says
"come back later", sends more than allowed (declared or not), redirects, speaks HTTP/1.0, or is not there."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler

import pytest

from strongroom.harvest.crawl import _fetch_following
from strongroom.harvest.fetch import Fetcher, FetchError
from strongroom.harvest.plans import make_plan
from tests_support import serving


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, dict[str, int]]]:
    hits: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            hits[self.path] = hits.get(self.path, 0) + 1
            if self.path == "/slow":
                time.sleep(3)
                with contextlib.suppress(OSError):  # the client gave up waiting, as it should
                    self._send(200, b"late")
            elif self.path == "/busy" and hits[self.path] == 1:
                self._send(429, b"later", [("Retry-After", "0")])
            elif self.path == "/big-declared":
                self.send_response(200)
                self.send_header("Content-Length", str(10 * 1024 * 1024))
                self.end_headers()
                self.wfile.write(b"\0" * 1024)  # the client must not wait for the rest
            elif self.path == "/big-undeclared":
                self.protocol_version = "HTTP/1.0"  # no length: the body runs until the server closes
                self.send_response(200)
                self.end_headers()
                try:
                    for _ in range(64):
                        self.wfile.write(b"\0" * 65536)
                except OSError:
                    pass  # the client hung up, as it should
                self.close_connection = True
            elif self.path == "/bad-redirect":
                self._send(302, b"", [("Location", "http://[")])
            elif self.path == "/moved":
                self._send(302, b"", [("Location", "/elsewhere")])
            elif self.path == "/old":
                self.protocol_version = "HTTP/1.0"
                self.send_response(200, "Fine Thanks")
                self.send_header("X-Seen", "yes")
                self.end_headers()
                self.wfile.write(b"old body")
                self.close_connection = True
            else:
                self._send(200, f"page {self.path} ua={self.headers['User-Agent']}".encode())

        def _send(self, status: int, body: bytes, headers: list[tuple[str, str]] | None = None) -> None:
            self.send_response(status)
            for k, v in headers or []:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url, hits


def quick() -> Fetcher:
    return Fetcher(delay=0, retries=1, timeout=1, max_bytes=1024 * 1024, sleep=lambda _: None)


def test_a_page_comes_back_with_its_status_headers_and_body(server: tuple[str, dict[str, int]]) -> None:
    url, _ = server
    page = quick().fetch(f"{url}/a?b=c")
    assert (page.status, page.reason, page.http_version) == (200, "OK", "HTTP/1.1")
    assert page.body.startswith(b"page /a?b=c ua=Strongroom/")  # it names itself
    assert page.header("content-length") == str(len(page.body))
    assert page.request_headers[0] == ("Host", url.removeprefix("http://"))


def test_an_http_1_0_answer_keeps_its_version_and_reason(server: tuple[str, dict[str, int]]) -> None:
    url, _ = server
    page = quick().fetch(f"{url}/old")
    assert (page.status, page.reason, page.http_version, page.body) == (200, "Fine Thanks", "HTTP/1.0", b"old body")
    assert page.header("x-seen") == "yes"


def test_a_redirect_is_returned_not_followed(server: tuple[str, dict[str, int]]) -> None:
    url, hits = server
    moved = quick().fetch(f"{url}/moved")
    assert moved.status == 302 and moved.header("location") == "/elsewhere"
    assert "/elsewhere" not in hits  # the crawler decides whether the target is in scope


def test_too_many_requests_is_retried_after_the_wait_it_asks(server: tuple[str, dict[str, int]]) -> None:
    url, hits = server
    slept: list[float] = []
    fetcher = Fetcher(delay=0, retries=2, timeout=1, sleep=slept.append)
    page = fetcher.fetch(f"{url}/busy")
    assert page.status == 200 and hits["/busy"] == 2
    assert 0 in slept  # Retry-After: 0 was honoured


def test_a_server_that_does_not_answer_times_out_and_is_retried(server: tuple[str, dict[str, int]]) -> None:
    url, hits = server
    before = hits.get("/slow", 0)
    with pytest.raises(FetchError, match="timed out 2 times"):
        quick().fetch(f"{url}/slow")
    assert hits["/slow"] - before == 2


@pytest.mark.parametrize("path", ["/big-declared", "/big-undeclared"])
def test_a_resource_over_the_cap_is_refused_and_the_next_request_is_clean(
    server: tuple[str, dict[str, int]], path: str
) -> None:
    url, _ = server
    fetcher = quick()
    for _ in range(3):
        with pytest.raises(FetchError, match="allowed for one resource"):
            fetcher.fetch(url + path)
        assert fetcher.fetch(f"{url}/after").body.startswith(b"page /after ")


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/x"])
def test_only_http_and_https_are_fetched(target: str) -> None:
    with pytest.raises(FetchError):
        quick().fetch(target)


def test_a_closed_port_is_a_clear_error() -> None:
    with pytest.raises(FetchError, match="libcurl error 7"):
        Fetcher(delay=0, retries=0, timeout=1).fetch("http://127.0.0.1:9/")


def test_one_fetcher_serves_several_threads(server: tuple[str, dict[str, int]]) -> None:
    url, _ = server
    fetcher = quick()
    with ThreadPoolExecutor(4) as pool:
        pages = list(pool.map(fetcher.fetch, [f"{url}/t{i}" for i in range(40)]))
    assert [p.body.split(b" ")[1] for p in pages] == [f"/t{i}".encode() for i in range(40)]
    fetcher.close()
    assert fetcher.fetch(f"{url}/again").status == 200  # usable after close (new connections)


def test_a_redirect_to_no_address_is_noted_not_fatal(server: tuple[str, dict[str, int]]) -> None:
    url, _ = server
    plan = make_plan("generic", {"start_urls": [f"{url}/"]})
    final, hops, notes = _fetch_following(plan, quick(), f"{url}/bad-redirect")
    assert final is None and [h.status for h in hops] == [302]
    assert notes == [(f"{url}/bad-redirect", 302, "not collected: the redirect goes to no address ('http://[')")]
