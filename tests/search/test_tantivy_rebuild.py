"""Writing the whole Tantivy index again (``strongroom reindex --search``): read from the catalog in keyset batches,
written in one commit, with progress; a rebuild cut short leaves the old index whole and every item queued; and
the index folds text the way :func:`~strongroom.search.base.fold` does, whichever way it gets there."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator, Sequence

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from strongroom.catalog.models import Item, SearchQueue
from strongroom.cli.main import cli
from strongroom.node import Node
from strongroom.search.base import SearchDocument, SearchQuery, fold
from strongroom.search.tantivy_index import _QUERY_WORDS, TantivyIndex, folded


def queued(node: Node) -> int:
    with node.catalog.session() as s:
        return int(s.scalar(select(func.count(SearchQueue.id))) or 0)


def items(node: Node) -> int:
    with node.catalog.session() as s:
        return int(s.scalar(select(func.count(Item.id))) or 0)


class Crash(Exception):
    pass


def test_a_rebuild_writes_every_item_from_keyset_batches_with_progress(stocked_tantivy_node: Node) -> None:
    node = stocked_tantivy_node
    total = items(node)
    assert total > 3 and node.search.count() == total
    batches = list(node.indexer.catalog_documents(batch=3))
    ids = [d.id for batch in batches for d in batch]
    assert ids == sorted(set(ids)) and len(ids) == total and all(len(b) <= 3 for b in batches)
    node.search.replace([SearchDocument(10**9, "a stale document nobody catalogued", True)])
    seen: list[tuple[int, int]] = []
    assert node.indexer.rebuild_search(progress=lambda done, of: seen.append((done, of))) == total
    assert seen[-1] == (total, total) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert node.search.count() == total and queued(node) == 0
    assert node.search.search(SearchQuery("stale")).total == 0
    word = max(node.browse.items(limit=1)[0].title.split(), key=len).strip(".,:;()")
    assert node.browse.items(word)


def test_a_rebuild_cut_short_leaves_the_old_index_whole_and_every_item_queued(
    stocked_tantivy_node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = stocked_tantivy_node
    total = node.search.count()
    word = max(node.browse.items(limit=1)[0].title.split(), key=len).strip(".,:;()")
    before = node.search.search(SearchQuery(word)).total
    read = node.indexer.catalog_documents

    def die_midway(batch: int = 2) -> Iterator[list[SearchDocument]]:
        first = next(iter(read(batch=2)))
        yield first
        raise Crash("the process died half way through the rebuild")

    monkeypatch.setattr(node.indexer, "catalog_documents", die_midway)
    with pytest.raises(Crash):
        node.indexer.rebuild_search()
    # nothing was committed: readers (in this process and others) still see the whole old index
    assert TantivyIndex(node.settings.home / "search" / "tantivy").count() == total
    assert node.search.search(SearchQuery(word)).total == before > 0
    assert queued(node) == items(node)  # and everything waits to be written again
    monkeypatch.undo()
    assert "brought the search index up to date" in node.recover()
    assert queued(node) == 0 and node.search.count() == total


def test_reindex_search_catalogues_then_writes_the_index_once(
    stocked_tantivy_node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = stocked_tantivy_node
    batches: list[int] = []
    replace = node.search.replace
    monkeypatch.setattr(node.search, "replace", lambda docs: (batches.append(len(docs)), replace(docs)))
    node.indexer.reindex(search=False)
    assert batches == [] and queued(node) == items(node)  # catalogued and queued, not yet written
    assert node.indexer.rebuild_search() == items(node)
    assert batches == [] and queued(node) == 0  # written by the rebuild, not the queue's small batches


def test_reindex_search_on_a_new_index_writes_it_once(
    stocked_tantivy_node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command opens the node (whose index is new: it was lost) and writes the whole index at its end; opening
    does not write it first as well, and the one rebuild leaves nothing queued."""
    node = stocked_tantivy_node
    home, total = node.settings.home, items(node)
    node.close()
    shutil.rmtree(home / "search" / "tantivy")  # lost, or a new engine: the next open makes an empty one
    rebuilds: list[int] = []
    rebuild = TantivyIndex.rebuild

    def counted(self: TantivyIndex, batches: Iterable[Sequence[SearchDocument]]) -> int:
        rebuilds.append(written := rebuild(self, batches))
        return written

    monkeypatch.setattr(TantivyIndex, "rebuild", counted)
    result = CliRunner().invoke(cli, ["reindex", "--search", "--home", str(home)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert rebuilds == [total] and f"Wrote {total:,} search documents in " in result.output
    with Node.open(home) as reopened:
        assert reopened.search.count() == total and queued(reopened) == 0


SCRIPTS = st.sampled_from(
    [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        "ÉéèêëÀàâäÇçÔôÖöÜüÑñÅåØøŁłßẞæœ",
        "e\u0301a\u0300o\u0308\u0327\u0303",  # letters followed by combining marks
        "ΆάΈέΉήΊίΌόΎύΏώΣσς",
        "ЁёЙйАаБб",
        "مُحَمَّد",
        "ﬁﬂ①²Ⅻ㎏ＡＢｃ",
        "Ǆǅǆİı",
        " \t\n.,-/'\"()",
    ]
)
TEXT = st.lists(SCRIPTS.flatmap(lambda chars: st.text(chars, min_size=1, max_size=8)), max_size=12).map("".join)


@given(TEXT)
def test_the_index_folds_text_as_fold_does(text: str) -> None:
    assert _QUERY_WORDS.analyze(folded(text)) == _QUERY_WORDS.analyze(fold(text))


def test_reindex_search_tells_a_log_its_progress_in_lines(
    stocked_tantivy_node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With its output going to a file (as under cron or systemd) rich draws no bar; the rebuild's progress is
    written as lines instead (every update here, the interval set to nothing), and the summary gives the rate."""
    from strongroom.cli import bars

    node = stocked_tantivy_node
    home, total = node.settings.home, items(node)
    node.close()
    monkeypatch.setattr(bars, "LOG_EVERY", 0.0)
    result = CliRunner().invoke(cli, ["reindex", "--search", "--home", str(home)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    told = [line.split(", ")[0] for line in result.stderr.splitlines()]
    assert f"writing the search index: {total:,} of {total:,} (100%)" in told, result.stderr
    assert f"Wrote {total:,} search documents in " in result.stdout
