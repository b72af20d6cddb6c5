"""A commit's path lists (store.base.PathList): kept in a spooled temporary file, not as a string object a path, so a
first version's tens of thousands of added paths do not stay in a deposit's memory until it is printed."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.cli.common import _default
from strongroom.store.base import PathList


@given(st.lists(st.text(), max_size=30))
def test_a_path_list_reads_back_what_it_was_given_in_order(paths: list[str]) -> None:
    kept = PathList(paths)
    assert len(kept) == len(paths) and list(kept) == paths and list(kept) == paths  # read again, the same
    assert kept == paths and kept == tuple(paths) and tuple(paths) == kept
    assert [kept[i] for i in range(len(paths))] == paths and [kept[-1 - i] for i in range(len(paths))] == paths[::-1]
    assert kept[1:3] == paths[1:3]


def test_a_long_list_is_on_disk_not_in_memory_and_two_readers_keep_their_own_place() -> None:
    paths = [f"payload/article-{n:06}/full-text.pdf" for n in range(20_000)]
    kept = PathList(paths)
    assert kept._file._rolled  # past IN_MEMORY bytes: written out to a temporary file
    first, second = iter(kept), iter(kept)
    assert [next(first), next(first), next(second), next(first)] == [paths[0], paths[1], paths[0], paths[2]]
    assert list(second) == paths[1:]


def test_paths_with_newlines_and_any_character_survive() -> None:
    odd = ["a\nb", "é/ü/日本", 'q"uote', "\\back", ""]
    assert list(PathList(odd)) == odd


def test_unequal_lists_and_bad_indexes() -> None:
    kept = PathList(["a", "b"])
    assert kept != ["a"] and kept != ["a", "c"] and kept != ["a", "b", "c"] and kept != "ab"
    with pytest.raises(IndexError):
        kept[2]
    with pytest.raises(IndexError):
        kept[-3]
    assert "2 paths" in repr(kept)


def test_a_path_list_is_printed_as_a_json_array() -> None:
    assert json.dumps({"added": PathList(["x", "y"])}, default=_default) == '{"added": ["x", "y"]}'
