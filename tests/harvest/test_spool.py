"""The crawl's spool: every response is kept on disk as it arrives and read back one at a time when the WARCs are
written, so a crawl of a large site never holds all its bodies in memory; an interrupted crawl resumes from it."""

from __future__ import annotations

import datetime as dt
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from strongroom.harvest.checkpoint import Checkpoint
from strongroom.harvest.fetch import Fetched, Fetcher
from strongroom.harvest.permission import STATEMENTS
from strongroom.node import Node
from tests_support import serving

FILES, SIZE = 40, 1024 * 1024  # 40 MiB of bodies in all (the crawl itself needs about 6 MiB at its peak)


def fetched(n: int) -> Fetched:
    return Fetched(
        f"http://site.example/{n}",
        200,
        "OK",
        "HTTP/1.1",
        [("Content-Type", "application/pdf"), ("X-N", str(n))],
        bytes([n % 256]) * (n * 100),
        [("Host", "site.example")],
        dt.datetime(2026, 1, 1, 0, 0, n, tzinfo=dt.UTC),
    )


def test_captures_come_back_as_they_went_in_and_an_interrupted_spool_resumes(tmp_path: Path) -> None:
    spool = Checkpoint(tmp_path / "crawl", "fp")
    for n in range(5):
        spool.add("2023" if n % 2 else None, fetched(n))
    spool.save({"seen": [], "queue": []})
    spool.add("2024", fetched(5))  # fetched after the last save: not counted by any frontier
    expected = [("2023" if n % 2 else None, fetched(n)) for n in range(5)]
    assert list(spool.captures()) == [*expected, ("2024", fetched(5))]

    again = Checkpoint(tmp_path / "crawl", "fp")
    frontier = again.load()
    assert frontier is not None and frontier["seen"] == []
    assert [au for au, _ in again.captures()] == [None, "2023", None, "2023", None]
    assert [f for _, f in again.captures()] == [fetched(n) for n in range(5)]  # the uncounted one is dropped
    assert Checkpoint(tmp_path / "crawl", "another plan").load() is None  # and that spool is removed


def test_a_damaged_spool_is_started_afresh_not_trusted(tmp_path: Path) -> None:
    spool = Checkpoint(tmp_path / "crawl", "fp")
    spool.add("2023", fetched(3))
    spool.save({"seen": [], "queue": []})
    data = (tmp_path / "crawl" / "captures.bin").read_bytes()
    (tmp_path / "crawl" / "captures.bin").write_bytes(data[:-10])  # the body cut short
    assert Checkpoint(tmp_path / "crawl", "fp").load() is None
    assert not (tmp_path / "crawl").exists()


@pytest.fixture
def big_site() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path == "/":
                links = "".join(f'<a href="/f/{i}">file {i}</a>' for i in range(FILES))
                body, kind = f"<html><body><p>{STATEMENTS[0]}</p>{links}</body></html>".encode(), "text/html"
            elif self.path.startswith("/f/"):
                body, kind = bytes([int(self.path[3:])]) * SIZE, "application/octet-stream"
            else:
                body, kind = b"", "text/plain"
                self.send_response(404)
            if self.path == "/" or self.path.startswith("/f/"):
                self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url


def test_a_crawl_never_holds_all_its_bodies_in_memory(node: Node, big_site: str) -> None:
    node.harvests.configure(
        "issn:big",
        name="Big",
        publisher="P",
        country="KE",
        plan="generic",
        settings={"start_urls": [f"{big_site}/"], "delay": 0},
    )
    tracemalloc.start()
    try:
        result = node.web_harvest.run("issn:big", fetcher=Fetcher(delay=0, retries=0, timeout=10))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    [au] = result.aus
    assert au.captures == FILES + 1 and au.new_bytes > FILES * SIZE  # every file collected and stored
    replayed = node.replay.replay(au.au_key, f"{big_site}/f/{FILES - 1}")
    assert replayed.body == bytes([FILES - 1]) * SIZE
    assert peak < FILES * SIZE / 3, f"peak {peak / 1e6:.1f} MB for {FILES * SIZE / 1e6:.1f} MB of bodies"
