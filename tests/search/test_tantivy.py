"""The Tantivy engine in a node (on both catalog databases): chosen by ``search.engine``, kept in step with the
catalog through its search queue (an entry leaves the queue only once Tantivy committed it, so a failure or crash
never leaves a released item unfindable), rebuilt by ``strongroom reindex --search``, and written by one process at
a time (two processes writing at once both get their documents in; one that waits too long is told so)."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from strongroom.catalog.models import SearchQueue
from strongroom.clock import FixedClock
from strongroom.ingest.deposit import DepositOptions
from strongroom.node import Node
from strongroom.search import tantivy_index
from strongroom.search.base import SearchDocument, SearchQuery
from strongroom.search.tantivy_index import SearchIndexBusy, TantivyIndex
from strongroom.settings import load_settings, write_settings
from tests_support import board_release, cli


@pytest.fixture
def tantivy_node(tmp_path: Path, db_url: str, clock: FixedClock) -> Iterator[Node]:
    """A node whose settings choose the Tantivy engine."""
    home = tmp_path / "home"
    Node.create(home, database_url=db_url, clock=clock).close()
    write_settings(dataclasses.replace(load_settings(home), search_engine="tantivy"))
    node = Node.open(home, clock=clock)
    yield node
    node.close()


def queued(node: Node) -> int:
    with node.catalog.session() as s:
        return int(s.scalar(select(func.count(SearchQueue.id))) or 0)


def deposit_one(node: Node, sample_dir: Path) -> str:
    package = next(p for p in sorted(sample_dir.iterdir()) if p.name.endswith("-2023-bag"))
    node.ingest.deposit(package, DepositOptions())
    return node.catalog.titles()[0][0].key


def release(node: Node, title: str) -> None:
    """The board triggers the title and releases it (three members, all for)."""
    board_release(node, "title", [title], licence="https://creativecommons.org/licenses/by-sa/4.0/")


def a_word(node: Node) -> str:
    """A word of the first item's title, for searching."""
    title = node.browse.items(limit=1)[0].title
    return max(title.split(), key=len).strip(".,:;()")


def test_a_node_searches_with_tantivy_and_the_public_sees_only_released_items(
    tantivy_node: Node, sample_dir: Path
) -> None:
    node = tantivy_node
    assert node.search.name == "tantivy" and (node.settings.home / "search" / "tantivy" / "meta.json").is_file()
    title = deposit_one(node, sample_dir)
    items = node.browse.items(limit=None)  # type: ignore[arg-type]
    assert node.search.count() == len(items) > 0 and queued(node) == 0
    word = a_word(node)
    assert node.browse.items(word)  # `strongroom items WORD`: the operators see dark items
    assert node.released().search(word) == ([], 0)  # the portal's /search does not
    assert node.search.search(SearchQuery(word, released_only=True, facets=("country", "year"))).facets == {
        "country": [],
        "year": [],
    }
    release(node, title)  # the release writes the index before its queue entries go
    assert queued(node) == 0
    views, total = node.released().search(word)
    assert total == len(node.browse.items(word)) > 0 and len(views) == min(total, 20)
    public = node.search.search(SearchQuery(word, released_only=True, facets=("title",)))
    assert public.facets["title"] == [(title, public.total)]


def test_an_item_leaves_the_queue_only_once_tantivy_has_it(
    tantivy_node: Node, sample_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = tantivy_node

    def crash(documents: object) -> None:
        raise OSError("the process died before Tantivy committed")

    monkeypatch.setattr(node.search, "replace", crash)
    with pytest.raises(OSError, match="died"):
        deposit_one(node, sample_dir)
    waiting = queued(node)
    assert waiting > 0 and node.search.count() == 0  # catalogued, not yet searchable: still queued
    monkeypatch.undo()
    home = node.settings.home
    node.close()
    with Node.open(home) as restarted:  # recovery writes what was queued
        assert queued(restarted) == 0 and restarted.search.count() == waiting
        assert restarted.browse.items(a_word(restarted))


def test_a_new_or_outdated_tantivy_index_is_filled_from_the_catalog(tantivy_node: Node, sample_dir: Path) -> None:
    node = tantivy_node
    deposit_one(node, sample_dir)
    count = node.search.count()
    home = node.settings.home
    node.close()
    (home / "search" / "tantivy" / "strongroom-schema").write_text("0")  # an index another version made
    with Node.open(home) as reopened:
        assert reopened.search.created and reopened.search.count() == count


def test_reindex_rebuilds_the_tantivy_index_with_progress(tantivy_node: Node, sample_dir: Path) -> None:
    node = tantivy_node
    deposit_one(node, sample_dir)
    count = node.search.count()
    node.search.clear()
    node.search.replace([SearchDocument(999_999, "A stale document the catalog does not know", True)])
    home = node.settings.home
    node.close()
    result = cli(home)("reindex", "--search")
    assert result.returncode == 0, result.stderr
    assert re.search(rf"^Wrote {count:,} search documents in [\d.]+ s \([\d,]+ a second\)\.$", result.stdout, re.M)
    reopened = TantivyIndex(home / "search" / "tantivy")
    assert reopened.count() == count and reopened.search(SearchQuery("stale")).total == 0


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from strongroom.search.base import SearchDocument
    from strongroom.search.tantivy_index import TantivyIndex

    index = TantivyIndex(Path(sys.argv[1]))
    first = int(sys.argv[2])
    for batch in range(20):
        start = first + batch * 10
        index.replace([SearchDocument(i, f"concurrent document {i}", True) for i in range(start, start + 10)])
    print(index.count())
    """
)


def test_two_processes_write_the_same_index_and_neither_loses_a_document(tmp_path: Path) -> None:
    directory = tmp_path / "search" / "tantivy"
    TantivyIndex(directory)
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(directory), str(first)], stdout=subprocess.PIPE, text=True)
        for first in (1, 10_001)
    ]
    for w in writers:
        out, _ = w.communicate(timeout=120)
        assert w.returncode == 0 and int(out) >= 200
    index = TantivyIndex(directory)
    assert index.count() == 400
    assert index.search(SearchQuery("concurrent document", limit=1)).total == 400


HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from strongroom.search.tantivy_index import TantivyIndex

    index = TantivyIndex(Path(sys.argv[1]))
    with index._locked():
        print("locked", flush=True)
        time.sleep(30)
    """
)


def test_a_writer_that_waits_too_long_is_told_and_nothing_is_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "search" / "tantivy"
    index = TantivyIndex(directory)
    index.replace([SearchDocument(1, "kept", True)])
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(directory)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        monkeypatch.setattr(tantivy_index, "LOCK_WAIT", 0.3)
        with pytest.raises(SearchIndexBusy, match="another process") as busy:
            index.replace([SearchDocument(2, "waiting", True)])
        assert "stay queued" in str(busy.value)
        assert index.search(SearchQuery("kept")).ids == [1]  # readers are not blocked by a writer
    finally:
        holder.kill()
        holder.wait()
    index.replace([SearchDocument(2, "waiting", True)])  # the lock died with its process
    assert index.count() == 2


def test_a_deposit_while_another_process_holds_the_index_is_stored_and_indexed_later(
    tantivy_node: Node, sample_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild holds the index's writer for its whole run: a deposit meanwhile is stored and catalogued all the
    same (not refused as busy), its items wait in the search queue, and the next write indexes them."""
    directory = tantivy_node.settings.home / "search" / "tantivy"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(directory)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        monkeypatch.setattr(tantivy_index, "LOCK_WAIT", 0.3)
        title = deposit_one(tantivy_node, sample_dir)
        assert tantivy_node.catalog.titles()[0][0].key == title
        waiting = queued(tantivy_node)
        assert waiting > 0 and tantivy_node.search.count() == 0
    finally:
        holder.kill()
        holder.wait()
    assert tantivy_node.indexer.sync_search() == waiting
    assert queued(tantivy_node) == 0 and tantivy_node.search.count() == waiting


def test_opening_a_node_while_another_process_holds_the_index_leaves_the_queue_for_later(
    tantivy_node: Node, sample_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recovery, which every command runs when it opens the node, does not wait out a rebuild in another process:
    it leaves the queued items queued, says so, and the command goes on; the next write indexes them."""
    directory = tantivy_node.settings.home / "search" / "tantivy"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(directory)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        monkeypatch.setattr(tantivy_index, "LOCK_WAIT", 0.3)
        deposit_one(tantivy_node, sample_dir)
        waiting = queued(tantivy_node)
        assert waiting > 0
        monkeypatch.setattr(tantivy_index, "LOCK_WAIT", 3600.0)  # a write would wait an hour; recovery must not
        assert "left the search queue for the process writing the search index" in tantivy_node.recover()
        assert queued(tantivy_node) == waiting and tantivy_node.search.lock_wait is None  # type: ignore[attr-defined]
    finally:
        holder.kill()
        holder.wait()
    assert "brought the search index up to date" in tantivy_node.recover()
    assert queued(tantivy_node) == 0 and tantivy_node.search.count() == waiting
