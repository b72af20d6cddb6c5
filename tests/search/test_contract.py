"""One contract every search engine passes (the catalog database's own, SQLite FTS5 or PostgreSQL, and Tantivy, each
on both catalog databases): every word must match, in any field; case and diacritics are folded; quoted words are
a phrase; query syntax is only ever words; public searches see released documents only, in hits, totals and facet
counts; filters, paging, replacing and removing behave."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.catalog.repo import Catalog
from strongroom.clock import FixedClock
from strongroom.errors import ConfigError
from strongroom.search.base import FACETS, SearchDocument, SearchIndex, SearchQuery
from strongroom.search.registry import ENGINES, open_search

DOCS = [
    SearchDocument(
        1,
        "Soil nitrogen in maize fields",
        True,
        abstract="Fertiliser trials in Ashanti",
        authors=("Kwame Mensah",),
        keywords=("agronomy",),
        identifiers=("10.5555/a",),
        country="GH",
        publisher_key="ghana-science-press-gh",
        title_key="issn:0378-8733",
        year=2024,
        language="en",
    ),
    SearchDocument(
        2,
        "Santé publique au Sénégal",
        False,  # dark: preserved, not released
        abstract="Une étude de la vaccination",
        authors=("Awa Diop",),
        identifiers=("10.5555/b",),
        country="SN",
        publisher_key="presses-dakar-sn",
        title_key="issn:1111-1111",
        year=2023,
        language="fr",
    ),
    SearchDocument(
        3,
        "Kilimo cha mahindi",
        True,
        abstract="Utafiti wa mbolea na mahindi",
        authors=("Juma Mwangi",),
        identifiers=("10.5555/c",),
        country="KE",
        publisher_key="nairobi-press-ke",
        title_key="issn:2222-2222",
        year=2023,
        language="sw",
    ),
    SearchDocument(
        4,
        "Étude de la vaccination au Sénégal",
        True,
        abstract="Vaccination, vaccination et encore vaccination",
        authors=("Fatou Ndiaye",),
        country="SN",
        publisher_key="presses-dakar-sn",
        title_key="issn:1111-1111",
        year=2024,
        language="fr",
    ),
]


@pytest.fixture(params=["own", "tantivy"])
def engine_name(request: pytest.FixtureRequest) -> str:
    """The engine under test: the catalog database's own (empty name) or Tantivy."""
    return "" if request.param == "own" else str(request.param)


@pytest.fixture
def index(db_url: str, engine_name: str, tmp_path: Path) -> Iterator[SearchIndex]:
    catalog = Catalog.open(db_url, FixedClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    engine = open_search(engine_name, catalog.engine, tmp_path / "home")
    assert engine.created and engine.count() == 0
    engine.replace(DOCS)
    yield engine
    catalog.close()


def ids(engine: SearchIndex, text: str, **kw: object) -> list[int]:
    return engine.search(SearchQuery(text, limit=50, **kw)).ids  # type: ignore[arg-type]


def test_every_word_must_match_in_any_field(index: SearchIndex) -> None:
    assert ids(index, "maize") == [1]  # title
    assert ids(index, "Diop") == [2]  # author
    assert ids(index, "mbolea") == [3]  # abstract
    assert ids(index, "agronomy") == [1]  # keyword
    assert ids(index, "10.5555/c") == [3]  # identifier
    assert ids(index, "mahindi utafiti") == [3]
    assert ids(index, "maize Diop") == []


def test_case_and_diacritics_are_folded(index: SearchIndex) -> None:
    assert sorted(ids(index, "etude")) == [2, 4]
    assert sorted(ids(index, "ÉTUDE")) == [2, 4]
    assert sorted(ids(index, "senegal")) == [2, 4]
    assert ids(index, "SANTE publique") == [2]


HOSTILE = [
    '" OR 1=1 --',
    "title:*",
    "NEAR(a b)",
    "'); DROP TABLE items; --",
    "*",
    "a & !b | c:*",
    "\\",
    '"unbalanced quote',
    '""',
    '"" "" "',
    "maize AND NOT nitrogen",
    "maize OR Diop",
    "NOT maize",
    "title:maize",
    "country:GH",
    "released:1",
    "id:1 OR id:2",
    "(maize) [soil] {fields}",
    "maize^10 soil~2 fie*ds",
    "+maize -soil",
    "/regex.*/",
    "\x00 \u202e \ufeff maize",
    "🌽 maïs Ṁaize ＭＡＩＺＥ",
    "a" * 10_000,
    "maize " * 5_000,
    "-".join(["x"] * 2_000),
]


def test_query_syntax_is_only_words(index: SearchIndex) -> None:
    for hostile in HOSTILE:
        hits = index.search(SearchQuery(hostile, facets=tuple(FACETS), released_only=True))
        assert hits.total == len(hits.ids) and set(hits.ids) <= {1, 3, 4}
    assert index.search(SearchQuery("   ")).ids == [] and index.count() == 4
    # words that look like operators are only words: every one of them must be in a hit
    assert ids(index, "maize AND NOT nitrogen") == []
    assert ids(index, "maize OR Diop") == []
    assert ids(index, "title:maize") == []  # 'title' is not a word of document 1
    assert ids(index, "(maize) [soil] {fields}") == [1]
    assert ids(index, "+maize -soil") == [1]


def test_quoted_words_are_a_phrase(index: SearchIndex) -> None:
    assert sorted(ids(index, "vaccination senegal")) == [2, 4]
    assert ids(index, '"vaccination au senegal"') == [4]  # in that order, side by side (not in document 2)
    assert ids(index, '"senegal au vaccination"') == []
    assert ids(index, '"Kilimo cha" "wa mbolea"') == [3]
    assert ids(index, '"sante publique" senegal') == [2]
    assert ids(index, '"maize"') == [1]
    assert ids(index, '"soil nitrogen" "fertiliser trials" Mensah') == [1]
    assert ids(index, '"soil fields"') == []


def test_no_query_filter_or_facet_count_reveals_a_dark_document(index: SearchIndex) -> None:
    """Public searches against a reference: hits, totals and every facet count are exactly those of the released
    documents among all matches, for every word, pair, phrase and filter tried; words and facet values only dark
    documents have are never seen."""
    rng = random.Random(7)
    vocabulary = ["maize", "sorghum", "cassava", "millet", "yields", "rainfall", "soil", "market"]
    documents = []
    for n in range(200, 280):
        released = rng.random() < 0.5
        words = rng.sample(vocabulary, 3) + ([] if released else ["clandestine"])
        documents.append(
            SearchDocument(
                n,
                " ".join(words),
                released,
                abstract=" ".join(rng.choices(vocabulary, k=8)),
                country=rng.choice(["GH", "KE"]) if released else rng.choice(["GH", "KE", "ZZ"]),
                publisher_key=rng.choice(["p-a", "p-b"] if released else ["p-a", "p-b", "p-dark"]),
                title_key=rng.choice(["t-1", "t-2"] if released else ["t-1", "t-2", "t-dark"]),
                year=rng.choice([2021, 2022] if released else [2021, 2022, 1999]),
                language=rng.choice(["en", "fr"] if released else ["en", "fr", "xx"]),
            )
        )
    index.replace(documents)
    by_id = {d.id: d for d in [*DOCS, *documents]}
    dark = {d.id for d in documents if not d.released} | {2}
    queries = [
        *vocabulary,
        "maize soil",
        "market yields rainfall",
        '"maize sorghum"',
        "clandestine",
        "clandestine maize",
    ]
    filters: list[dict[str, str]] = [{}]
    for name in FACETS:
        values = {d.facet(name) for d in documents} - {None}
        filters += [{name: str(v)} for v in sorted(values)]
    for text in queries:
        for chosen in filters:
            every = index.search(SearchQuery(text, filters=chosen, limit=500))
            public = index.search(
                SearchQuery(text, released_only=True, filters=chosen, facets=tuple(FACETS), limit=500)
            )
            expected = [i for i in every.ids if i not in dark]
            assert public.ids == expected and public.total == len(expected), (text, chosen)
            for name in FACETS:
                counts = Counter(by_id[i].facet(name) for i in expected)
                counts.pop(None, None)
                assert dict(public.facets[name]) == counts, (text, chosen, name)
                assert {"ZZ", "p-dark", "t-dark", "1999", "xx"}.isdisjoint(dict(public.facets[name]))
    assert index.search(SearchQuery("clandestine", released_only=True, facets=tuple(FACETS))).total == 0
    assert index.search(SearchQuery("clandestine")).total > 0  # the operators' search sees them


def test_public_searches_never_see_a_dark_document(index: SearchIndex) -> None:
    public = index.search(SearchQuery("senegal", released_only=True, facets=("country", "publisher", "year")))
    assert public.ids == [4] and public.total == 1
    assert public.facets["country"] == [("SN", 1)]
    assert public.facets["year"] == [("2024", 1)]
    assert index.search(SearchQuery("Diop", released_only=True)).total == 0
    assert index.search(SearchQuery("Diop")).total == 1  # the operators' search sees it


def test_filters_and_facets(index: SearchIndex) -> None:
    hits = index.search(SearchQuery("vaccination", filters={"language": "fr"}, facets=("country", "language")))
    assert sorted(hits.ids) == [2, 4] and hits.facets["language"] == [("fr", 2)]
    assert ids(index, "vaccination", filters={"year": "2023"}) == [2]
    assert ids(index, "vaccination", filters={"publisher": "nairobi-press-ke"}) == []
    with pytest.raises(ValueError, match="no facet"):
        SearchQuery("x", filters={"colour": "red"})


def test_ranking_puts_the_closer_match_first(index: SearchIndex) -> None:
    # Document 4 says "vaccination" five times, document 2 once.
    assert ids(index, "vaccination") == [4, 2]


def test_paging_covers_every_hit_once(index: SearchIndex) -> None:
    index.replace([SearchDocument(100 + n, f"Common word number {n}", True) for n in range(25)])
    pages = [index.search(SearchQuery("common word", offset=o, limit=10)) for o in (0, 10, 20)]
    assert [len(p.ids) for p in pages] == [10, 10, 5] and {p.total for p in pages} == {25}
    seen = [i for p in pages for i in p.ids]
    assert sorted(seen) == [100 + n for n in range(25)]


def test_replace_remove_and_clear(index: SearchIndex) -> None:
    index.replace([SearchDocument(1, "Sorghum yields", True, country="GH")])
    assert ids(index, "maize") == [] and ids(index, "sorghum") == [1]
    index.replace([SearchDocument(2, "Santé publique au Sénégal", True, country="SN")])  # now released
    assert ids(index, "sante", released_only=True) == [2]
    index.remove([1, 999])
    assert ids(index, "sorghum") == [] and index.count() == 3
    index.clear()
    assert index.count() == 0 and ids(index, "senegal") == []


def test_an_engine_opened_again_keeps_its_documents(db_url: str, engine_name: str, tmp_path: Path) -> None:
    catalog = Catalog.open(db_url, FixedClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    first = open_search(engine_name, catalog.engine, tmp_path)
    first.replace(DOCS)
    again = open_search(engine_name, catalog.engine, tmp_path)
    assert not again.created and again.count() == 4
    assert again.search(SearchQuery("senegal", facets=("country",))).facets["country"] == [("SN", 2)]
    catalog.close()


def test_engines_are_chosen_by_name_and_refused_on_the_wrong_database(db_url: str) -> None:
    catalog = Catalog.open(db_url, FixedClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    own = "sqlite-fts5" if catalog.engine.dialect.name == "sqlite" else "postgresql"
    other = next(name for name in ENGINES if name != own)
    assert open_search(own, catalog.engine).name == own
    with pytest.raises(ConfigError, match="needs a"):
        open_search(other, catalog.engine)
    with pytest.raises(ConfigError, match="not a search engine"):
        open_search("lucene", catalog.engine)
    with pytest.raises(ConfigError, match="node's home"):
        open_search("tantivy", catalog.engine)  # its index lives in a node's home
    catalog.close()


def test_tantivy_runs_beside_either_catalog_database(db_url: str, tmp_path: Path) -> None:
    catalog = Catalog.open(db_url, FixedClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    engine = open_search("tantivy", catalog.engine, tmp_path / "home")
    assert engine.name == "tantivy" and engine.created
    assert (tmp_path / "home" / "search" / "tantivy" / "meta.json").is_file()
    catalog.close()
