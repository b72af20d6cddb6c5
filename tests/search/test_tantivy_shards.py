"""The ``tantivy`` engine in shards (``search.shards``): the documents spread over several Tantivy indexes, each
searched on a thread of its own, answer as one index does (the same matches, totals and facet counts; pages that
follow on), each document is in one shard whatever is written after, a change of the count makes the index anew and
the node fills it, and the lean command line reads the shards as the node does."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from strongroom.cli.main import cli
from strongroom.clock import FixedClock
from strongroom.errors import ConfigError
from strongroom.node import Node
from strongroom.search import registry
from strongroom.search.base import FACETS, SearchDocument, SearchIndexBusy, SearchQuery
from strongroom.search.lazy import LazyIndex
from strongroom.search.registry import TANTIVY_DIR
from strongroom.search.tantivy_index import TantivyIndex, shard_of, shard_paths, stored_shards
from strongroom.services import lean_items
from strongroom.settings import load_settings, write_settings

WORDS = [f"w{i}" for i in range(60)]


def corpus(n: int = 1_200) -> list[SearchDocument]:
    """Documents of Zipf-like words (w0 in most, w59 in few), one in eight dark, with every facet."""
    rng = random.Random(16)
    weights = [1 / (r + 1) for r in range(len(WORDS))]
    docs = []
    for i in range(1, n + 1):
        words = rng.choices(WORDS, weights, k=rng.randint(5, 30))
        docs.append(
            SearchDocument(
                i,
                " ".join(words),
                released=i % 8 != 0,
                country=("KE", "SN", "BR", "FR")[i % 4],
                publisher_key=f"press-{i % 9}",
                title_key=f"title-{i % 13}",
                year=1990 + i % 30,
                language=("fr", "en", "pt", None)[i % 4],
            )
        )
    return docs


DOCS = corpus()


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> dict[int, TantivyIndex]:
    made = {}
    for shards in (1, 2, 3):
        index = TantivyIndex(tmp_path_factory.mktemp("shards") / "tantivy", shards=shards)
        index.rebuild([DOCS[start : start + 400] for start in range(0, len(DOCS), 400)])
        index.beside_above = 0  # every search spread over the pool's threads, however few its matches
        made[shards] = index
    return made


QUERIES = [
    SearchQuery("w0", released_only=True, facets=tuple(FACETS)),
    SearchQuery("w7", released_only=True, facets=("country", "year")),
    SearchQuery("w30 w2", released_only=True),
    SearchQuery('"w0 w1"', released_only=True, facets=("publisher",)),
    SearchQuery("w3", released_only=True, filters={"country": "KE"}, facets=("title",)),
    SearchQuery("w0", facets=tuple(FACETS)),  # staff: dark documents too
    SearchQuery("w59 w58"),
]


@pytest.mark.parametrize("shards", [2, 3])
@pytest.mark.parametrize("query", QUERIES, ids=lambda q: f"{q.text}{'' if q.released_only else ' (staff)'}")
def test_shards_find_what_one_index_finds(indexes: dict[int, TantivyIndex], shards: int, query: SearchQuery) -> None:
    whole = dataclasses.replace(query, limit=len(DOCS))
    one, spread = indexes[1].search(whole), indexes[shards].search(whole)
    assert one.exact and spread.exact
    assert one.total > 0 and (spread.total, spread.facets) == (one.total, one.facets)
    assert sorted(spread.ids) == sorted(one.ids) and len(set(spread.ids)) == len(spread.ids)
    if query.released_only:
        assert all(DOCS[i - 1].released for i in spread.ids)


@pytest.mark.parametrize("shards", [2, 3])
def test_facet_counts_summed_over_shards_are_the_exact_counts(indexes: dict[int, TantivyIndex], shards: int) -> None:
    hits = indexes[shards].search(SearchQuery("w0", released_only=True, facets=tuple(FACETS), limit=0))
    matching = [d for d in DOCS if d.released and "w0" in d.text.split()]
    assert hits.total == len(matching)
    for name in FACETS:
        counts = Counter(v for d in matching if (v := d.facet(name)) is not None)
        assert hits.facets[name] == sorted(counts.items(), key=lambda vc: (-vc[1], vc[0])), name


@pytest.mark.parametrize("shards", [2, 3])
def test_pages_over_shards_follow_on_best_first(indexes: dict[int, TantivyIndex], shards: int) -> None:
    index = indexes[shards]
    longest = index.search(SearchQuery("w5", released_only=True, limit=45))
    pages = [index.search(SearchQuery("w5", released_only=True, offset=o, limit=15)).ids for o in (0, 15, 30)]
    assert len(longest.ids) == 45 and [i for page in pages for i in page] == longest.ids
    # best first: the one-shard index's scores differ a little (each shard has its own word statistics), so the
    # test is that the merged top hits are among the best of all, not their exact order
    best = indexes[1].search(SearchQuery("w5", released_only=True, limit=90)).ids
    assert len(set(longest.ids[:15]) & set(best)) >= 14


def test_each_document_is_in_one_shard_whatever_is_written_after(tmp_path: Path) -> None:
    index = TantivyIndex(tmp_path / "tantivy", shards=3)
    index.rebuild([DOCS[:600], DOCS[600:]])
    per_shard = [int(s.num_docs) for s in index._searchers()]
    assert sum(per_shard) == index.count() == len(DOCS)
    assert all(abs(n - len(DOCS) / 3) < len(DOCS) / 10 for n in per_shard), per_shard
    assert Counter(shard_of(d.id, 3) for d in DOCS) == dict(enumerate(per_shard))
    changed = [dataclasses.replace(d, title="rewritten words", released=True) for d in DOCS[:30]]
    index.replace(changed)
    index.replace(changed)  # twice: still one document each
    index.remove([d.id for d in DOCS[30:40]])
    assert index.count() == len(DOCS) - 10
    found = index.search(SearchQuery('"rewritten words"', released_only=True, limit=100))
    assert sorted(found.ids) == [d.id for d in DOCS[:30]] and found.total == 30
    assert not set(index.search(SearchQuery("w0", limit=len(DOCS))).ids) & {d.id for d in DOCS[:40]}
    other = TantivyIndex(tmp_path / "tantivy")  # another process, told nothing: it reads the count kept on disk
    assert not other.created and other.shards == 3 and other.count() == len(DOCS) - 10
    with index.batches():  # the search queue's kept writers: one per shard
        index.replace([dataclasses.replace(DOCS[50], title="kept writers")])
        index.remove([DOCS[51].id])
    assert other.search(SearchQuery('"kept writers"', limit=5)).ids == [DOCS[50].id]
    assert other.count() == len(DOCS) - 11
    index.clear()
    assert other.count() == 0


def test_a_change_of_the_shard_count_makes_the_index_anew(tmp_path: Path) -> None:
    directory = tmp_path / "tantivy"
    first = TantivyIndex(directory)
    assert first.created and first.shards == 1 and stored_shards(directory) == 1
    first.replace(DOCS[:20])
    again = TantivyIndex(directory, shards=2)
    assert again.created and again.count() == 0 and stored_shards(directory) == 2  # the catalog's queue fills it
    assert [p.name for p in shard_paths(directory, 2)] == ["shard-0", "shard-1"]
    assert not (directory / "meta.json").exists()  # no one-shard index is left beside the shards
    again.replace(DOCS[:20])
    assert not TantivyIndex(directory, shards=2).created and TantivyIndex(directory).count() == 20
    back = TantivyIndex(directory, shards=1)
    assert back.created and back.count() == 0 and stored_shards(directory) == 1
    (directory / "strongroom-shards").write_text("many")  # damaged: taken for no index, made anew when opened
    assert stored_shards(directory) is None
    with pytest.raises(ValueError, match=r"search\.shards must be from 1 to 64"):
        TantivyIndex(directory, shards=0)


def test_a_node_told_to_use_shards_fills_them_and_the_command_line_reads_them(
    tmp_path: Path, clock: FixedClock, sample_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    with Node.create(home, clock=clock) as node:
        for bag in sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag.zip")):
            node.ingest.deposit(bag)
        total = node.search.count()
        one = node.browse.item_page("sante", limit=None)
    assert total > 0 and one.total > 0
    write_settings(dataclasses.replace(load_settings(home), search_shards=2))
    with Node.open(home, clock=clock) as node:
        assert node.search.created and node.search.count() == total  # made anew in two shards, filled at open
        assert stored_shards(home / TANTIVY_DIR) == 2
        spread = node.browse.item_page("sante", limit=None)
        assert spread.total == one.total and sorted(r.id for r in spread.rows) == sorted(r.id for r in one.rows)
    with Node.open(home, clock=clock) as node:
        assert isinstance(node.search, LazyIndex) and not node.search.created  # current: opened only to search
    answered: list[bool] = []
    real = lean_items.item_page

    def spy(*args: object, **kwargs: object) -> object:
        page = real(*args, **kwargs)  # type: ignore[arg-type]
        answered.append(page is not None)
        return page

    monkeypatch.setattr(lean_items, "item_page", spy)

    def items(*args: str) -> str:
        result = CliRunner().invoke(cli, ["items", *args, "--home", str(home)], terminal_width=250)
        assert result.exit_code == 0, result.output
        return result.output

    lean = items("sante", "--json", "--all")
    assert answered == [True]  # the lean reader found the shards current and searched them itself
    monkeypatch.setattr(lean_items, "item_page", lambda *a, **k: None)  # the node is opened
    assert items("sante", "--json", "--all") == lean


def test_a_shard_count_out_of_range_is_refused_with_the_fix(tmp_path: Path) -> None:
    Node.create(tmp_path / "home").close()
    write_settings(dataclasses.replace(load_settings(tmp_path / "home"), search_shards=0))
    with pytest.raises(ConfigError, match=r"search\.shards must be from 1 to 64, not 0") as caught:
        Node.open(tmp_path / "home")
    assert "number of cores" in (caught.value.hint or "")
    assert registry.MAX_SHARDS == 64


def test_a_reader_follows_an_index_another_process_made_anew(tmp_path: Path) -> None:
    """A portal opened on one shard goes on answering once another process (a command run with a new
    ``search.shards``) has made the index anew in two: it opens the new one, and says it is busy while it is made."""
    directory = tmp_path / "tantivy"
    reader = TantivyIndex(directory)
    reader.replace(DOCS[:20])
    assert reader.count() == 20
    writer = TantivyIndex(directory, shards=2)
    writer.replace(DOCS[:30])
    assert reader.count() == 30 and reader.shards == 2
    assert sorted(reader.search(SearchQuery("w0", limit=50)).ids) == sorted(
        writer.search(SearchQuery("w0", limit=50)).ids
    )
    (directory / "strongroom-schema").unlink()  # as in the instant of being made again
    with pytest.raises(SearchIndexBusy, match="being made anew"):
        reader.count()


def test_a_writer_opened_before_the_index_was_made_anew_writes_into_the_new_one(tmp_path: Path) -> None:
    """A deposit's process that opened the index in one shard writes after another process made it anew in two:
    its documents go into the index on disk, in the shard each belongs to, not into the directories that were
    removed (where no one would find them, while the catalog's queue took them for written)."""
    directory = tmp_path / "tantivy"
    early = TantivyIndex(directory)
    early.replace(DOCS[:5])
    TantivyIndex(directory, shards=2).replace(DOCS[5:10])
    early.replace(DOCS[10:20])
    with early.batches():  # the search queue's kept writers, taken after the change
        early.replace(DOCS[20:25])
    early.remove([DOCS[5].id])
    fresh = TantivyIndex(directory)
    assert fresh.shards == 2 and fresh.count() == 19
    assert sorted(fresh.search(SearchQuery("w0", limit=50)).ids) == sorted(
        d.id for d in DOCS[6:25] if "w0" in d.text.split()
    )
    assert [int(s.num_docs) for s in fresh._searchers()] == [
        sum(1 for d in DOCS[6:25] if shard_of(d.id, 2) == shard) for shard in (0, 1)
    ]
