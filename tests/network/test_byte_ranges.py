"""The Range header a peer sends, read strictly (:mod:`strongroom.network.ranges`), and what the peer service makes of a
range against a file's size: never a byte outside the file; a range of an empty file is the whole, empty file (a
repair asks for block 0 of a file that may be empty)."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any, BinaryIO

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.network.ranges import ByteRange, parse_range
from strongroom.services.peer import PeerService, RangeNotSatisfiable

positions = st.integers(min_value=0, max_value=10**12)


@given(positions, positions)
def test_a_first_last_range_reads_back_as_written_or_is_refused_when_it_ends_before_it_starts(a: int, b: int) -> None:
    if b < a:
        with pytest.raises(ValueError, match="ends before it starts"):
            parse_range(f"bytes={a}-{b}")
    else:
        assert parse_range(f"bytes={a}-{b}") == ByteRange(a, b)
    assert parse_range(f"bytes={a}-") == ByteRange(a, None)
    assert parse_range(f"bytes=-{b}") == ByteRange(None, b)


@given(st.one_of(st.builds(ByteRange, positions, st.none() | positions), st.builds(ByteRange, st.none(), positions)))
def test_a_range_selects_what_slicing_the_file_would_and_nothing_past_its_end(asked: ByteRange) -> None:
    for size in (0, 1, 2048, 10**6):
        content = range(size)  # stands for the file's bytes
        if asked.first is None:
            assert asked.last is not None
            expected = content[max(0, size - asked.last) :] if asked.last else content[0:0]
        else:
            expected = content[asked.first : None if asked.last is None else asked.last + 1]
        selected = asked.within(size)
        if asked.first is not None and asked.last is not None and asked.last < asked.first:
            continue  # parse_range never makes one
        if selected is None:
            assert len(expected) == 0
        else:
            first, last = selected
            assert 0 <= first <= last < size
            assert content[first : last + 1] == expected


@pytest.mark.parametrize(
    "header",
    ["bytes=5-0", "bytes=x-1", "bytes=1-x", "bytes=- 5", "bytes=1 -5", "bytes=0-1,2-3", "lines=1-2", "bytes=٣-٤"],
)
def test_anything_but_one_byte_range_in_ascii_digits_is_refused(header: str) -> None:
    with pytest.raises(ValueError):
        parse_range(header)


def test_a_position_too_long_for_int_is_past_any_file() -> None:
    assert parse_range("bytes=0-" + "9" * 5000).within(10) == (0, 9)
    assert parse_range("bytes=" + "9" * 5000 + "-").within(10) is None


class _Store:
    def __init__(self, content: bytes) -> None:
        self.content = content

    def content_size(self, object_id: str, relpath: str) -> int:
        return len(self.content)

    def open_content(self, object_id: str, relpath: str, *, start: int = 0, length: int | None = None) -> BinaryIO:
        return io.BytesIO(self.content[start : None if length is None else start + length])


class _Membership:
    def holders(self, object_id: str) -> list[str]:
        return ["poller"]

    def config(self) -> Any:
        return SimpleNamespace(policy=SimpleNamespace(block_size=2048))  # what a range may be at most


def _service(content: bytes) -> PeerService:
    stub: Any = None
    return PeerService(_Store(content), _Membership(), stub, stub)  # type: ignore[arg-type]


def test_a_range_of_an_empty_file_is_the_whole_empty_file_as_a_repair_of_block_zero_needs() -> None:
    found = _service(b"").file("poller", "oid", "v1/content/empty", ByteRange(0, 2047))
    assert (found.stream.read(), found.size, found.signed_body, found.byte_range) == (b"", 0, True, None)


def test_a_range_past_the_end_of_a_file_is_not_satisfiable_and_names_its_size() -> None:
    with pytest.raises(RangeNotSatisfiable) as refused:
        _service(b"abc").file("poller", "oid", "v1/content/abc", ByteRange(3, None))
    assert (refused.value.status, refused.value.size) == (416, 3)
    found = _service(b"abc").file("poller", "oid", "v1/content/abc", ByteRange(1, 2047))
    assert (found.stream.read(), found.byte_range) == (b"bc", (1, 2, 3))
