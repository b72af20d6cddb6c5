"""Finding captures in a large AU's CDXJ index by binary search: every address's captures are those a full scan
finds, and a replay from an AU of thousands of records returns the right one (revisits resolved)."""

from __future__ import annotations

import datetime as dt
import io
import random
from pathlib import Path

import pytest

from strongroom.errors import NotFound
from strongroom.harvest.cdxj import CdxIndex
from strongroom.harvest.fetch import Fetched
from strongroom.harvest.warc import WarcSink
from strongroom.node import Node
from strongroom.services.harvests import CDXJ, WARCS
from strongroom.store.base import stage_file

BASE = "http://journal.example/index.php/j"
START = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)


def fetched(url: str, body: bytes, when: dt.datetime, status: int = 200) -> Fetched:
    headers = [("Content-Type", "text/html"), ("Content-Length", str(len(body)))]
    return Fetched(url, status, "OK", "HTTP/1.1", headers, body, [("User-Agent", "test")], when)


def large_au(workdir: Path, pages: int) -> tuple[WarcSink, str]:
    """``pages`` pages collected by two crawls (the second finds every third page unchanged: a revisit), and the
    sorted CDXJ index of them all, as a harvest writes it."""
    sink = WarcSink(workdir, prefix="crawl", max_bytes=256 * 1024)  # rotated: the index names several files
    for crawl in range(2):
        for i in range(pages):
            url = f"{BASE}/article/view/{i}"
            body = f"<p>article {i} crawl {0 if i % 3 == 0 else crawl}</p>".encode()
            when = START + dt.timedelta(days=crawl, seconds=i)
            revisit = (url, START.strftime("%Y-%m-%dT%H:%M:%SZ")) if crawl and i % 3 == 0 else None
            sink.write(fetched(url, body, when), revisit)
        sink.write(fetched(f"{BASE}/gone/{crawl}", b"not here", START, status=404))
    sink.close()
    lines = sorted(sink.cdx, key=lambda c: (c.key, c.timestamp))
    return sink, "\n".join(c.text() for c in lines) + "\n"


@pytest.mark.parametrize("mapped", [True, False], ids=["file mapped in memory", "stream sought"])
def test_binary_search_finds_what_a_full_scan_finds(tmp_path: Path, mapped: bool) -> None:
    sink, text = large_au(tmp_path, 3000)
    (tmp_path / "index.cdxj").write_text(text)
    fh = (tmp_path / "index.cdxj").open("rb") if mapped else io.BytesIO(text.encode())
    index = CdxIndex(fh)
    assert index.mapped is mapped
    by_key: dict[str, list[str]] = {}
    for c in sorted(sink.cdx, key=lambda c: (c.key, c.timestamp)):
        by_key.setdefault(c.key, []).append(c.text())
    rng = random.Random(16)
    keys = sorted(by_key)
    for key in [keys[0], keys[-1], *rng.sample(keys, 300)]:  # the ends, where an off-by-one hides, and others
        assert [c.text() for c in index.lines(key)] == by_key[key]
    for absent in ["", "a", keys[0][:-1], keys[-1] + "~", keys[100] + "0", "zzz"]:  # before, after, between
        assert absent in by_key or index.lines(absent) == []
    assert f"{BASE}/article/view/7" in index and f"{BASE}/article/view/30000" not in index
    assert f"{BASE}/gone/0" not in index  # collected, but not a page the AU holds (404)
    assert "http://[" not in index and 7 not in index  # not addresses: held by no AU
    assert CdxIndex(io.BytesIO(b"")).lines(keys[0]) == []
    index.close()
    fh.close()


def test_a_replay_from_a_large_au_returns_the_right_record(node: Node, tmp_path: Path) -> None:
    sink, text = large_au(tmp_path, 2000)
    (tmp_path / "index.cdxj").write_text(text)
    staged = [stage_file(CDXJ, tmp_path / "index.cdxj")]
    staged += [stage_file(WARCS + p.name, p) for p in sink.files]
    assert len(sink.files) > 1 and text.count("\n") > 4000
    object_id = "urn:strongroom:au:test/large"
    node.store.commit_version(object_id, staged, message="harvest", user_name="test")

    for i in (0, 1, 1234, 1999):  # the first page, a changed one, an unchanged one (a revisit), the last
        url = f"{BASE}/article/view/{i}"
        latest = node.replay.replay_object(object_id, url)
        expected = f"<p>article {i} crawl {0 if i % 3 == 0 else 1}</p>".encode()
        when = (START + dt.timedelta(days=1, seconds=i)).strftime("%Y%m%d%H%M%S")
        assert (latest.status, latest.body, latest.timestamp) == (200, expected, when)
        first = node.replay.replay_object(object_id, url, timestamp=START.strftime("%Y%m%d") + "235959")
        assert first.body == f"<p>article {i} crawl 0</p>".encode()
    with pytest.raises(NotFound):
        node.replay.replay_object(object_id, f"{BASE}/article/view/2000")
    with node.replay.index(object_id) as index:
        assert f"{BASE}/article/view/1999" in index and f"{BASE}/article/view/20" in index
