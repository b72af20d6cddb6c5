"""The search queue's batches through one kept Tantivy writer (``TantivyIndex.batches``): every replace or remove
still commits as it returns (another reader sees it at once), one writer serves them all, a failed call rolls back
only itself, and another thread's write never rides on the kept writer: it waits for the lock like another process."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from strongroom.search.base import SearchDocument, SearchIndexBusy, SearchQuery
from strongroom.search.tantivy_index import TantivyIndex


class CountingIndex:
    """Tantivy's index, with the writers it opens counted."""

    def __init__(self, index: Any) -> None:
        self.wrapped, self.writers = index, 0

    def writer(self, *args: Any, **kwargs: Any) -> Any:
        self.writers += 1
        return self.wrapped.writer(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def doc(i: int, text: str = "kept writer") -> SearchDocument:
    return SearchDocument(i, f"document {i} {text}", True)


def seen_elsewhere(directory: Path) -> int:
    return TantivyIndex(directory).count()  # a reader of its own, as another process has


def test_batches_keep_one_writer_and_commit_every_call(tmp_path: Path) -> None:
    directory = tmp_path / "tantivy"
    index = TantivyIndex(directory)
    counting = CountingIndex(index.indexes[0])
    index.indexes[0] = counting
    with index.batches():
        index.replace([doc(1), doc(2)])
        assert seen_elsewhere(directory) == 2  # committed as replace returned, not at the block's end
        index.replace([doc(3)])
        index.remove([1])
        assert seen_elsewhere(directory) == 2
        with index.batches():  # nested: the outer block's writer serves
            index.replace([doc(4)])
    assert counting.writers == 1
    assert index.search(SearchQuery("kept writer")).total == 3 and seen_elsewhere(directory) == 3
    index.replace([doc(5)])  # outside the block: a writer of its own again
    assert counting.writers == 2 and seen_elsewhere(directory) == 4


def test_a_failed_call_in_a_block_rolls_back_only_itself(tmp_path: Path) -> None:
    directory = tmp_path / "tantivy"
    index = TantivyIndex(directory)
    with index.batches():
        index.replace([doc(1)])
        with pytest.raises(ValueError, match="U64"):
            index.replace([doc(2), SearchDocument(-1, "cannot be written", True)])  # an id no unsigned field holds
        index.replace([doc(3)])
    assert (
        sorted(
            index.search(
                SearchQuery("kept writer"),
            ).ids
        )
        == [1, 3]
        and seen_elsewhere(directory) == 2
    )


def test_another_thread_waits_for_the_lock_instead_of_using_the_kept_writer(tmp_path: Path) -> None:
    index = TantivyIndex(tmp_path / "tantivy")
    index.lock_wait = 0.3
    failures: list[BaseException] = []

    def other() -> None:
        try:
            index.replace([doc(9, "from another thread")])
        except BaseException as exc:
            failures.append(exc)

    with index.batches():
        index.replace([doc(1)])
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert len(failures) == 1 and isinstance(failures[0], SearchIndexBusy)
    assert index.search(SearchQuery("another thread")).total == 0  # nothing of it was written by our writer
    other()  # once the block has ended, the other thread's write goes through
    assert index.search(SearchQuery("another thread")).total == 1
