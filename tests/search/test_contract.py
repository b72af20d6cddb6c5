"""One contract every search engine passes (SQLite FTS5 and PostgreSQL, each on its own catalog database): every
word must match, in any field; case and diacritics are folded; query syntax is only ever words; public searches
see released documents only, in hits, totals and facet counts; filters, paging, replacing and removing behave."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from strongroom.catalog.repo import Catalog
from strongroom.clock import FixedClock
from strongroom.errors import ConfigError
from strongroom.search.base import SearchDocument, SearchIndex, SearchQuery
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


@pytest.fixture
def index(db_url: str) -> Iterator[SearchIndex]:
    catalog = Catalog.open(db_url, FixedClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    engine = open_search("", catalog.engine)
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


def test_query_syntax_is_only_words(index: SearchIndex) -> None:
    for hostile in ['" OR 1=1 --', "title:*", "NEAR(a b)", "'); DROP TABLE items; --", "*", "a & !b | c:*", "\\"]:
        hits = index.search(SearchQuery(hostile))
        assert hits.total == len(hits.ids)
    assert index.search(SearchQuery("   ")).ids == [] and index.count() == 4


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


def test_an_engine_opened_again_keeps_its_documents(db_url: str) -> None:
    catalog = Catalog.open(db_url, FixedClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    first = open_search("", catalog.engine)
    first.replace(DOCS)
    again = open_search("", catalog.engine)
    assert not again.created and again.count() == 4
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
    catalog.close()
