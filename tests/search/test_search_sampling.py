"""The ``tantivy`` engine at size, on a few thousand documents with small thresholds: released and dark words in
separate fields (a public search cannot reach a dark document by any path: exact or sampled, words, phrases,
filters, facets), totals and facet counts estimated from a nested sample above ``exact_below`` matches (flagged,
and close to the exact count), exact and unchanged below it, a limit of 0 that never reaches Tantivy, and an index
of the previous schema rebuilt."""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter
from pathlib import Path

import pytest

from strongroom.search import tantivy_index
from strongroom.search.base import FACETS, SearchDocument, SearchQuery
from strongroom.search.tantivy_index import TantivyIndex, rounded, sample_levels

N = 4_000
COUNTRIES = ("KE", "SN", "BR", "FR", "MX")


def document(i: int) -> SearchDocument:
    """Every document says 'archive'; one in three 'journal'; the dark ones (one in ten) also say 'secret' and
    'hidden treasure', and only they are from country ZZ, publisher 'shadow' and year 1900."""
    released = i % 10 != 0
    words = ["archive", "common words", f"number{i}"]
    if i % 3 == 0:
        words.append("journal")
    if not released:
        words += ["secret", "hidden treasure"]
    return SearchDocument(
        i,
        " ".join(words),
        released,
        country=COUNTRIES[i % len(COUNTRIES)] if released else "ZZ",
        publisher_key=f"press-{i % 7}" if released else "shadow",
        year=2000 + i % 20 if released else 1900,
    )


DOCS = [document(i) for i in range(1, N + 1)]
RELEASED = [d for d in DOCS if d.released]


@pytest.fixture(scope="module", params=[1, 2], ids=["one shard", "two shards"])
def index(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> TantivyIndex:
    made = TantivyIndex(tmp_path_factory.mktemp("sampling") / "tantivy", shards=request.param)
    made.rebuild([DOCS[start : start + 500] for start in range(0, N, 500)])
    return made


@pytest.fixture
def sampled(index: TantivyIndex) -> TantivyIndex:
    """The index with thresholds small enough that a few thousand matches are estimated from a sample."""
    index.exact_below, index.sample_target, index.probe_level = 500, 400, 3
    yield index
    index.exact_below, index.sample_target, index.probe_level = (
        tantivy_index.EXACT_BELOW,
        tantivy_index.SAMPLE_TARGET,
        tantivy_index.PROBE_LEVEL,
    )


def facet_counts(docs: list[SearchDocument], name: str) -> dict[str, int]:
    return dict(Counter(v for d in docs if (v := d.facet(name)) is not None))


def test_sample_levels_are_nested_and_halve() -> None:
    levels = [sample_levels(i) for i in range(1, 65_537)]
    assert all(list(r) == list(range(len(r))) for r in levels)  # level L implies every level below it
    for level in (1, 4, 8):
        share = sum(1 for r in levels if level in r) / len(levels)
        assert share == pytest.approx(1 / 2**level, rel=0.2)
    assert rounded(6_512_384) == 6_500_000 and rounded(1_049) == 1_000 and rounded(0.4) == 0


def test_a_search_with_many_matches_is_estimated_flagged_and_close(sampled: TantivyIndex) -> None:
    hits = sampled.search(SearchQuery("archive", released_only=True, facets=tuple(FACETS), limit=10))
    assert not hits.exact
    assert hits.total == pytest.approx(len(RELEASED), rel=0.1)
    assert len(hits.ids) == 10
    countries = dict(hits.facets["country"])
    for value, exact in facet_counts(RELEASED, "country").items():
        assert countries[value] == pytest.approx(exact, rel=0.25)
    staff = sampled.search(SearchQuery("archive", facets=("year",), limit=10))
    assert not staff.exact and staff.total == pytest.approx(N, rel=0.1)


def test_below_the_threshold_counts_are_exact_and_as_before(index: TantivyIndex) -> None:
    """What a search gave before sampling: every match counted, every facet counted over all of them."""
    journal = [d for d in RELEASED if "journal" in d.text]
    query = SearchQuery("journal", released_only=True, facets=tuple(FACETS), limit=len(DOCS))
    hits = index.search(query)
    assert hits.exact and hits.total == len(journal)
    assert sorted(hits.ids) == sorted(d.id for d in journal)
    for name in FACETS:
        expected = sorted(facet_counts(journal, name).items(), key=lambda vc: (-vc[1], vc[0]))
        assert hits.facets[name] == expected[: tantivy_index.FACET_LIMIT]
    filtered = index.search(SearchQuery("journal", released_only=True, filters={"country": "KE"}, limit=len(DOCS)))
    assert filtered.exact and filtered.total == sum(1 for d in journal if d.country == "KE")


@pytest.mark.parametrize("thresholds", ["exact", "sampled"])
def test_public_search_never_reaches_a_dark_document(
    index: TantivyIndex, thresholds: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if thresholds == "sampled":  # every search goes through the sample, however few its matches
        monkeypatch.setattr(index, "exact_below", 0)
        monkeypatch.setattr(index, "sample_target", 50)
        monkeypatch.setattr(index, "probe_level", 0)
    dark_ids = {d.id for d in DOCS if not d.released}

    def public(text: str, **filters: str) -> tuple[list[int], int, dict[str, list[tuple[str, int]]]]:
        hits = index.search(
            SearchQuery(text, released_only=True, filters=filters, facets=tuple(FACETS), limit=len(DOCS))
        )
        return hits.ids, hits.total, hits.facets

    for text in ("secret", '"hidden treasure"', "hidden", "secret archive", "number10"):
        assert public(text) == ([], 0, {name: [] for name in FACETS}), text
    for filters in ({"country": "ZZ"}, {"publisher": "shadow"}, {"year": "1900"}):
        assert public("archive", **filters)[:2] == ([], 0), filters
    assert index.search(SearchQuery("archive", released_only=True)).exact == (thresholds == "exact")
    ids, total, facets = public("archive")
    assert total > 0 and not dark_ids & set(ids)
    assert all(v not in ("ZZ", "shadow", "1900") for values in facets.values() for v, _ in values)
    staff = index.search(SearchQuery('"hidden treasure"', limit=len(DOCS)))
    assert set(staff.ids) == dark_ids and staff.total > 0
    assert set(index.search(SearchQuery("number10 archive")).ids) == {10}  # staff find a dark one by its own words


def test_a_limit_of_zero_counts_without_asking_tantivy_for_no_hits(sampled: TantivyIndex) -> None:
    for q in ("journal", "archive"):  # exact and sampled
        hits = sampled.search(SearchQuery(q, released_only=True, facets=("country",), limit=0, offset=5))
        assert hits.ids == [] and hits.total > 0 and hits.facets["country"]


def test_deep_pages_of_a_sampled_search_follow_on(sampled: TantivyIndex) -> None:
    whole = sampled.search(SearchQuery("archive", released_only=True, limit=60))
    pages = [sampled.search(SearchQuery("archive", released_only=True, offset=o, limit=20)) for o in (0, 20, 40)]
    assert not whole.exact and [i for p in pages for i in p.ids] == whole.ids
    assert sampled.search(SearchQuery("archive", released_only=True, limit=60)) == whole  # the same every time


def test_an_index_of_the_previous_schema_is_made_again(tmp_path: Path) -> None:
    first = TantivyIndex(tmp_path / "tantivy")
    assert first.created
    first.replace(DOCS[:10])
    (tmp_path / "tantivy" / "strongroom-schema").write_text("1")  # released and dark words in one field
    again = TantivyIndex(tmp_path / "tantivy")
    assert again.created and again.count() == 0  # the catalog's queue fills it again
    again.replace(DOCS[:10])
    assert not TantivyIndex(tmp_path / "tantivy").created


@pytest.mark.parametrize("thresholds", ["exact", "sampled"])
def test_top_hits_found_beside_the_counting_give_the_same_answer(
    index: TantivyIndex, thresholds: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above ``beside_above`` estimated matches the top hits are searched on another thread while the total and the
    facets are counted (and the total comes from the facets' pass); the answer is the one found in turn."""
    if thresholds == "sampled":
        monkeypatch.setattr(index, "exact_below", 500)
        monkeypatch.setattr(index, "sample_target", 400)
        monkeypatch.setattr(index, "probe_level", 3)
    threads: list[str] = []
    top = tantivy_index._top

    def spied(*args: object) -> object:
        threads.append(threading.current_thread().name)
        return top(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(tantivy_index, "_top", spied)
    queries = [
        SearchQuery("archive", released_only=True, facets=tuple(FACETS), limit=10),
        SearchQuery("archive", released_only=True, limit=10, offset=20),  # no facets: the total counted alone
        SearchQuery("journal", released_only=True, filters={"country": "KE"}, facets=("year",), limit=5),
        SearchQuery("archive", facets=("country", "publisher"), limit=10),  # staff: dark documents too
    ]
    monkeypatch.setattr(index, "beside_above", 10**12)
    in_turn = [index.search(q) for q in queries]
    assert threads and not any(t.startswith("strongroom-search") for t in threads)
    threads.clear()
    monkeypatch.setattr(index, "beside_above", 0)
    beside = [index.search(q) for q in queries]
    assert beside == in_turn
    # on one shard the top hits go beside the counting when there is a sample or facets to count; over shards
    # every shard's top hits go to the pool
    spread = [q for q in queries if q.facets or thresholds == "sampled" or index.shards > 1]
    assert sum(t.startswith("strongroom-search") for t in threads) == len(spread) * index.shards
    assert any(not h.exact for h in beside) == (thresholds == "sampled")


def test_a_forked_child_searches_beside_the_counting_too(index: TantivyIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool's threads are not inherited by a forked child (a server forking its workers after a search): the
    child makes its own rather than queueing work for threads that do not exist there."""
    monkeypatch.setattr(index, "beside_above", 0)
    query = SearchQuery("archive", released_only=True, facets=("country",), limit=10)
    expected = index.search(query)  # the parent's pool now has a thread
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer within the parent's wait, or be killed
        try:
            signal.alarm(20)
            ok = index.search(query) == expected
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    try:
        with os.fdopen(read, "rb") as answer:
            assert answer.read() == b"1"
    finally:
        os.waitpid(pid, 0)
