"""The node's Tantivy index is opened on first use (issue 16, a fast command line): a node whose index is current
on disk opens without importing Tantivy, searches as before once asked, still writes what its search queue holds
when it opens, and still fills an index it finds new, whether at open or only when first used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from strongroom.catalog.models import Item, SearchQueue
from strongroom.clock import FixedClock
from strongroom.node import Node
from strongroom.search import tantivy_index
from strongroom.search.lazy import LazyIndex
from strongroom.search.registry import TANTIVY_DIR, tantivy_schema_version


def count(node: Node, table: type[Item] | type[SearchQueue]) -> int:
    with node.catalog.session() as s:
        return int(s.scalar(select(func.count(table.id))) or 0)


def a_word(node: Node) -> str:
    return max(node.browse.items(limit=1)[0].title.split(), key=len).strip(".,:;()")


def deposited_home(tmp_path: Path, db_url: str, clock: FixedClock, sample_dir: Path) -> Path:
    home = tmp_path / "home"
    with Node.create(home, database_url=db_url, clock=clock) as node:
        node.ingest.deposit(next(p for p in sorted(sample_dir.iterdir()) if p.name.endswith("-bag")))
        assert node.search.count() == count(node, Item) > 0
    return home


def test_a_node_with_a_current_index_opens_it_only_to_search(
    tmp_path: Path, db_url: str, clock: FixedClock, sample_dir: Path
) -> None:
    home = deposited_home(tmp_path, db_url, clock, sample_dir)
    with Node.open(home, clock=clock) as node:
        assert isinstance(node.search, LazyIndex) and not node.search.opened and not node.search.created
        assert node.browse.items()  # listing reads the catalog only
        assert not node.search.opened
        word = a_word(node)
        assert node.browse.items(word)  # a search opens it, and finds
        assert node.search.opened and node.search.count() == count(node, Item)


def test_opening_a_node_does_not_import_tantivy(
    tmp_path: Path, db_url: str, clock: FixedClock, sample_dir: Path
) -> None:
    home = deposited_home(tmp_path, db_url, clock, sample_dir)
    probe = (
        "import sys; from strongroom.node import Node\n"
        f"with Node.open(__import__('pathlib').Path({str(home)!r})) as node: node.browse.items()\n"
        "print('tantivy' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False"]


def test_a_queued_item_is_written_when_the_node_opens(
    tmp_path: Path, db_url: str, clock: FixedClock, sample_dir: Path
) -> None:
    home = deposited_home(tmp_path, db_url, clock, sample_dir)
    with Node.open(home, clock=clock) as node:
        node.search.clear()
        node.indexer.queue_everything()  # as a writer that died before syncing leaves it
    with Node.open(home, clock=clock) as node:
        assert count(node, SearchQueue) == 0 and node.search.count() == count(node, Item)


def test_an_index_of_another_schema_is_rebuilt_at_open(
    tmp_path: Path, db_url: str, clock: FixedClock, sample_dir: Path
) -> None:
    home = deposited_home(tmp_path, db_url, clock, sample_dir)
    (home / TANTIVY_DIR / "strongroom-schema").write_text("0")  # an index another version made
    with Node.open(home, clock=clock) as node:
        assert node.search.created and node.search.count() == count(node, Item)
        assert node.browse.items(a_word(node))


def test_an_index_found_new_only_when_first_used_is_filled_then(
    tmp_path: Path, db_url: str, clock: FixedClock, sample_dir: Path
) -> None:
    home = deposited_home(tmp_path, db_url, clock, sample_dir)
    with Node.open(home, clock=clock) as node:
        assert isinstance(node.search, LazyIndex) and not node.search.opened
        (home / TANTIVY_DIR / "strongroom-schema").write_text("0")  # replaced after the node opened
        assert node.browse.items(a_word(node))  # opened now, found new, filled from the catalog, then searched
        assert node.search.created and node.search.count() == count(node, Item) and count(node, SearchQueue) == 0


def test_the_schema_version_read_as_text_is_the_engines() -> None:
    assert tantivy_schema_version() == tantivy_index.SCHEMA_VERSION
