"""The portal's ``/search`` when the engine estimated the total and the facet counts (a search matching millions
of items): the page says "about" in the reader's language, with the number written as that language writes it,
and marks the facet counts as estimates; an exact search reads as before."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from lxml import html
from portal_fixtures import Archive

from strongroom.portal.app import create_portal
from strongroom.search.base import SearchHits, SearchIndexBusy, SearchQuery


@pytest.fixture(scope="module")
def client(archive: Archive) -> Iterator[TestClient]:
    with TestClient(create_portal(archive.node), base_url="http://127.0.0.1:8080") as c:
        yield c


@pytest.fixture
def estimating(archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    """The node's engine answers as the tantivy engine does at size: its hits, with an estimated total and facets."""
    engine = archive.node.search  # the portal's Released service asks this one
    real = engine.search

    def search(query: SearchQuery) -> SearchHits:
        hits = real(query)
        facets = {name: [(v, n * 1000) for v, n in values] for name, values in hits.facets.items()}
        return dataclasses.replace(hits, total=6_500_000, facets=facets, exact=False)

    monkeypatch.setattr(engine, "search", search)


def shown(client: TestClient, path: str) -> tuple[str, list[str]]:
    page = client.get(path, params={"q": "Ghana"})
    assert page.status_code == 200
    doc = html.fromstring(page.text)
    return " ".join(doc.xpath("string(//p[@class='total'])").split()), [
        " ".join(li.text_content().split()) for li in doc.xpath("//nav[@class='facets']//li")
    ]


@pytest.mark.usefixtures("estimating")
def test_an_estimated_total_reads_about_in_the_readers_language(client: TestClient) -> None:
    total, facets = shown(client, "/search")
    assert total == "about 6,500,000 results"
    assert facets and all(re.search(r"\(≈\d+,\d{3}\)$", f) for f in facets), facets  # (≈3,000)
    total, facets = shown(client, "/fr/search")
    assert total.startswith("environ 6") and total.endswith("000 résultats")  # 6 500 000, as French spaces it
    assert facets and all("(≈" in f for f in facets)
    assert all(re.search(r"\(≈\d+\s\d{3}\)$", f) for f in facets), facets  # 3 000: French groups digits too
    assert shown(client, "/es/search")[0].startswith("unos 6")
    assert shown(client, "/pt/search")[0].startswith("cerca de 6")


def test_an_exact_total_reads_as_before(client: TestClient) -> None:
    total, facets = shown(client, "/search")
    assert total.endswith(" results") and not total.startswith("about") and total.split()[0].isdigit()
    assert facets and not any("≈" in f for f in facets)
    assert "environ" not in shown(client, "/fr/search")[0]


def test_a_search_while_the_index_is_made_anew_asks_the_reader_to_come_back(
    client: TestClient, archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While another process makes the search index anew (a new ``search.shards``) or holds its writer past the
    wait, a search cannot be answered: the reader gets a 503 that says why, in their language, and when to come
    back, not a server error; the rest of the portal answers as ever."""

    def busy(query: SearchQuery) -> SearchHits:
        raise SearchIndexBusy("the search index is being made anew by another process", hint="try again")

    monkeypatch.setattr(archive.node.search, "search", busy)
    for path, heading in (
        ("/search", "Search is being rebuilt"),
        ("/fr/search", "La recherche est en reconstruction"),
        ("/es/search", "La búsqueda se está reconstruyendo"),
        ("/pt/search", "A pesquisa está sendo reconstruída"),
    ):
        page = client.get(path, params={"q": "Ghana"})
        assert page.status_code == 503 and page.headers["retry-after"] == "5"
        assert " ".join(html.fromstring(page.text).xpath("string(//h1)").split()) == heading
    assert client.get("/search").status_code == 200  # no query: nothing asked of the index
    assert client.get("/titles/").status_code == 200
