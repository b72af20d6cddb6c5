"""Reading a WARC record for a replay: the plain reader gives what warcio gives for every record it takes, and
leaves to warcio what it cannot read the same way; a replay through the kept index and mapped WARC files gives
what a replay read from storage gives, and sees a new crawl's index at once."""

from __future__ import annotations

import datetime as dt
import gzip
import io
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from strongroom.harvest.fetch import Fetched
from strongroom.harvest.warc import WarcSink
from strongroom.node import Node
from strongroom.services.harvests import CDXJ, WARCS
from strongroom.services.replay import plain_response
from strongroom.store.base import stage_file

WHEN = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
URL = "https://journal.example/index.php/j/article/view/"


def page(url: str, body: bytes, headers: list[tuple[str, str]], status: int = 200) -> Fetched:
    return Fetched(url, status, "OK", "HTTP/1.1", headers, body, [("User-Agent", "test")], WHEN)


def crawl(workdir: Path, prefix: str = "crawl", extra: bytes = b"") -> WarcSink:
    sink = WarcSink(workdir, prefix=prefix)
    html = [("Content-Type", "text/html; charset=utf-8")]
    sink.write(page(URL + "1", "<p>R\u00e9sum\u00e9</p>".encode() + extra, html))
    sink.write(page(URL + "2", b"", [("Content-Type", "text/plain"), ("X-Empty", "")]))
    sink.write(page(URL + "3", b"missing", html, status=404))
    sink.write(page(URL + "4", b"<p>chunked</p>", [*html, ("Transfer-Encoding", "chunked")]))  # recorded as X-…
    sink.write(page(URL + "5", gzip.compress(b"<p>zipped</p>"), [*html, ("Content-Encoding", "gzip")]))
    sink.write(page(URL + "6", b"<p>latin</p>", [("Content-Type", "text/html"), ("X-Name", "caf\u00e9")]))
    sink.write(page(URL + "7", b"<p>spaced</p>", [("Content-Type", "text/html"), ("X-Pad", "  a  ")]))
    later = page(URL + "1", "<p>R\u00e9sum\u00e9</p>".encode() + extra, html)
    later.when = WHEN + dt.timedelta(days=1)
    sink.write(later, revisit_of=(URL + "1", "2024-03-01T00:00:00Z"))
    sink.close()
    return sink


def warcio_read(raw: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    for record in ArchiveIterator(io.BytesIO(raw)):
        http = record.http_headers
        assert http is not None
        return int(http.get_statuscode()), list(http.headers), record.content_stream().read()
    raise AssertionError("no record")


def test_the_plain_reader_reads_what_warcio_reads_or_leaves_it_to_warcio(tmp_path: Path) -> None:
    sink = crawl(tmp_path)
    data = sink.files[0].read_bytes()
    taken = set()
    for line in sink.cdx:
        offset, length = int(line.fields["offset"]), int(line.fields["length"])
        raw = data[offset : offset + length]
        plain = plain_response(raw)
        if plain is not None:
            assert plain == warcio_read(raw), line.fields["url"]
            taken.add(line.fields["url"] + (" revisit" if line.fields["mime"] == "warc/revisit" else ""))
    # what has a content coding or is a revisit is left to warcio
    assert taken == {URL + n for n in "123467"}
    assert plain_response(b"") is None and plain_response(b"\x1f\x8bnot gzip") is None
    assert plain_response(gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\n\r\n")) is None
    for http in (  # a header that is not ASCII, a continued one, a line ending in LF alone: warcio's to read
        "HTTP/1.1 200 OK\r\nX-Name: caf\u00e9\r\n\r\nbody".encode(),
        b"HTTP/1.1 200 OK\r\nX-Long: a\r\n  b\r\n\r\nbody",
        b"HTTP/1.1 200 OK\nX-Bare: a\r\n\r\nbody",
    ):
        head = f"WARC/1.1\r\nWARC-Type: response\r\nWARC-Target-URI: http://x/\r\nContent-Length: {len(http)}\r\n"
        raw = gzip.compress(head.encode() + b"\r\n" + http + b"\r\n\r\n")
        assert plain_response(raw) is None and warcio_read(raw)[2] == b"body"


def test_a_replay_through_the_kept_index_gives_what_storage_gives_and_sees_a_new_crawl(
    node: Node, tmp_path: Path
) -> None:
    object_id = "urn:strongroom:au:test/kept"
    for n, extra in enumerate([b"", b" (second crawl)"]):
        here = tmp_path / str(n)
        here.mkdir()
        sink = crawl(here, prefix=f"crawl{n}", extra=extra)
        lines = sorted(sink.cdx, key=lambda c: (c.key, c.timestamp))
        (here / "index.cdxj").write_text("".join(c.text() + "\n" for c in lines))
        staged = [stage_file(CDXJ, here / "index.cdxj"), *(stage_file(WARCS + p.name, p) for p in sink.files)]
        node.store.commit_version(object_id, staged, message="harvest", user_name="test")
        for _ in range(2):  # the first time opens and maps the index; the second reads what is kept
            for i in "1234567":
                with node.replay.index(object_id) as index:
                    assert index.mapped
                    kept = node.replay.replay_object(object_id, URL + i, index=index)
                fresh = node.replay._read_record(object_id, next(c for c in lines if c.fields["url"] == URL + i))
                assert (kept.status, kept.headers, kept.body) == fresh
            assert node.replay.replay_object(object_id, URL + "1").body == "<p>R\u00e9sum\u00e9</p>".encode() + extra
