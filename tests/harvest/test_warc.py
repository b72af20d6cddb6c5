"""WARC records of responses that came with chunked transfer coding: the fetcher undoes the chunks, so the record
must not claim they are still there (a reader would undo them a second time)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from strongroom.harvest.fetch import Fetcher
from strongroom.harvest.warc import WarcSink, payload_digest
from tests_support import serving

# content that is itself valid chunked coding: read twice as chunks, it would come back as b"hello"
CONTENT = b"5\r\nhello\r\n0\r\n\r\n"


@pytest.fixture(scope="module")
def chunked_url() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            size = 3 if self.path == "/a" else 7  # the same content, cut differently
            parts = [CONTENT[i : i + size] for i in range(0, len(CONTENT), size)]
            self.wfile.write(b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n")

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url


def test_a_chunked_response_is_recorded_as_its_content(chunked_url: str, tmp_path: Path) -> None:
    fetcher = Fetcher(delay=0, retries=0, timeout=5)
    a, b = fetcher.fetch(f"{chunked_url}/a"), fetcher.fetch(f"{chunked_url}/b")
    assert a.body == b.body == CONTENT
    sink = WarcSink(tmp_path, "t")
    sink.write(a)
    sink.close()
    check = subprocess.run(
        [str(Path(sys.executable).parent / "warcio"), "check", "-v", str(sink.files[0])], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout
    responses = []
    with sink.files[0].open("rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type == "response":
                responses.append((record.http_headers, record.rec_headers, record.content_stream().read()))
    ((http, warc, content),) = responses
    assert http.get_header("Transfer-Encoding") is None
    assert http.get_header("X-Crawler-Transfer-Encoding") == "chunked"
    assert warc.get_header("WARC-Payload-Digest") == payload_digest(CONTENT)
    assert content == CONTENT  # not b"hello": the chunks are undone once, by the fetcher
    # cut differently, the same content has the same digest: a re-crawl stores it as a revisit
    assert payload_digest(a.body) == payload_digest(b.body)
