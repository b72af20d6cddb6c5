"""A search rebuild cut short (a crash after the index was emptied) loses nothing: every item is still queued, and
the next start writes the index again."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom.node import Node


class Crash(Exception):
    pass


def test_a_rebuild_cut_short_is_finished_at_the_next_start(
    node: Node, sample_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node.ingest.deposit(sample_dir / "ghana-journal-of-agricultural-science-2023-bag")
    held = node.search.count()
    assert held > 0

    emptied = node.search.clear

    def clear_then_die() -> None:
        emptied()
        raise Crash()

    monkeypatch.setattr(node.search, "clear", clear_then_die)  # the process dies the moment the index is emptied
    with pytest.raises(Crash):
        node.indexer.rebuild_search()
    assert node.search.count() == 0
    monkeypatch.undo()
    assert "brought the search index up to date" in node.recover()
    assert node.search.count() == held
