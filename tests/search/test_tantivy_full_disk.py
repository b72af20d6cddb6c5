"""A Tantivy index whose disk fills up, for real (a small tmpfs): whether the failure reaches Python from Tantivy's
own call ("No space left on device") or only as a killed worker thread ("An index writer was killed ... io::Error"),
the write ends in SearchIndexFull (exit 12, "free space") rather than an unexpected error, and once room is made the
index opens with everything committed before the failure and takes new writes."""

from __future__ import annotations

import contextlib
import random
import subprocess
from pathlib import Path

import pytest

from strongroom.errors import SearchIndexFull
from strongroom.search.base import SearchDocument, SearchQuery
from strongroom.search.tantivy_index import TantivyIndex
from tests_support import small_tmpfs

WORDS = ["".join(random.Random(n).choice("abcdefghijklmnop") for _ in range(8)) for n in range(20_000)]


def batch(start: int, size: int) -> list[SearchDocument]:
    rnd = random.Random(start)
    return [SearchDocument(start + i, " ".join(rnd.choice(WORDS) for _ in range(200)), True) for i in range(size)]


@pytest.mark.parametrize("kept_writer", [False, True], ids=["writer-per-call", "kept-writer"])
def test_a_full_disk_under_the_index_is_reported_as_full(tmp_path: Path, kept_writer: bool) -> None:
    with small_tmpfs(tmp_path / "disk", 3 * 1024 * 1024) as disk:
        index = TantivyIndex(disk / "tantivy")
        committed = 0
        writer = index.batches() if kept_writer else contextlib.nullcontext()
        with pytest.raises(SearchIndexFull, match="no room left") as raised, writer:
            for start in range(0, 100_000, 100):
                index.replace(batch(start, 100))
                committed = start + 100
        assert "free space" in (raised.value.hint or "")
        assert committed > 0, "the disk filled before anything was committed: the test proves nothing"
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        reopened = TantivyIndex(disk / "tantivy")
        assert reopened.count() == committed
        reopened.replace([SearchDocument(10**6, "written once room was made", True)])
        assert reopened.search(SearchQuery("room made")).ids == [10**6]
