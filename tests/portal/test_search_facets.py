"""The portal's ``/search`` on the ``tantivy`` engine, over real HTTP, on both catalogs: ranked results narrowed by
facet links (country, publisher, title, year, language) that combine and work without JavaScript, quoted phrases,
in the four languages; and no query, filter or facet count reveals a dark item. The archive holds released and
dark content side by side (``portal_fixtures``); what the pages must show is worked out here from the catalog,
not from the index."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from lxml import html
from portal_fixtures import Archive, LivePortal, build_archive, start_portal, stop

from strongroom.node import Node
from strongroom.search.base import FACETS, SearchDocument, fold
from strongroom.settings import load_settings, write_settings

ARTICLE = re.compile(r"/articles/([0-9a-f]{16})/")
WORD = re.compile(r"[^\W_]+")


@dataclasses.dataclass
class Site:
    archive: Archive
    portal: LivePortal
    released: list[SearchDocument]
    dark: list[SearchDocument]


@pytest.fixture(scope="module")
def site(
    module_db_factory: Callable[[], str], tmp_path_factory: pytest.TempPathFactory, sample_dir: Path
) -> Iterator[Site]:
    """The archive of the portal tests, its node switched to the tantivy engine (the index is filled from the
    catalog when the node opens), served by `strongroom portal serve` in its own process."""
    home = tmp_path_factory.mktemp("tantivy-archive") / "home"
    archive = build_archive(home, module_db_factory(), sample_dir)
    archive.node.close()
    write_settings(dataclasses.replace(load_settings(home), search_engine="tantivy"))
    with Node.open(home) as node:
        assert node.search.name == "tantivy"
        documents = [d for batch in node.indexer.catalog_documents() for d in batch]
        assert node.search.count() == len(documents)
    portal = start_portal(home)
    yield Site(
        archive,
        portal,
        [d for d in documents if d.released],
        [d for d in documents if not d.released],
    )
    stop(portal)


def words(document: SearchDocument) -> set[str]:
    return set(WORD.findall(fold(document.text)))


@dataclasses.dataclass
class Page:
    total: int
    hits: list[str]  # public ids of the results
    facets: dict[str, dict[str, tuple[int, str]]]  # facet -> value -> (count, link)
    body: str


def get(site: Site, path: str, **params: str) -> Page:
    response = httpx.get(site.portal.url + path, params=params or None, timeout=30)
    assert response.status_code == 200
    doc = html.fromstring(response.content)
    shown = re.search(r"([\d,]+)\s", doc.xpath("string(//p[@class='total'])"))
    assert shown is not None
    current = {**dict(parse_qsl(urlsplit(path).query)), **params}
    facets: dict[str, dict[str, tuple[int, str]]] = {}
    for link in doc.xpath("//nav[@class='facets']//a"):
        href = str(link.get("href"))
        query = dict(parse_qsl(urlsplit(href).query))
        count = re.search(r"\((\d+)\)\s*$", link.getparent().text_content())
        assert count is not None
        (name,) = [n for n in FACETS if query.get(n) != current.get(n)]  # the filter this link adds
        facets.setdefault(name, {})[query[name]] = (int(count.group(1)), href)
    return Page(int(shown.group(1).replace(",", "")), ARTICLE.findall(response.text), facets, response.text)


def expected(documents: list[SearchDocument], word: str, **filters: str) -> tuple[int, dict[str, Counter[str]]]:
    """How many released documents hold ``word`` and pass ``filters``, and their facet values, from the catalog."""
    hits = [d for d in documents if fold(word) in words(d) and all(d.facet(n) == v for n, v in filters.items())]
    facets = {n: Counter(v for d in hits if (v := d.facet(n)) is not None) for n in FACETS}
    return len(hits), {n: c for n, c in facets.items() if c}


def shared_words(site: Site, how_many: int) -> list[str]:
    """Words found in both released and dark items, the most widespread first."""
    released: Counter[str] = Counter(w for d in site.released for w in words(d) if len(w) > 3 and w.isalpha())
    dark = {w for d in site.dark for w in words(d)}
    return [w for w, _ in released.most_common() if w in dark][:how_many]


def test_facet_counts_are_those_of_released_items_and_every_link_narrows_to_them(site: Site) -> None:
    chosen = shared_words(site, 3)
    assert chosen, "the archive has no word in both released and dark items"
    for word in chosen:
        page = get(site, "/search", q=word)
        total, facets = expected(site.released, word)
        assert page.total == total > 0 and set(page.hits) <= site.archive.released_ids
        shown = {n: {v: c for v, (c, _) in values.items()} for n, values in page.facets.items()}
        assert shown == facets  # every value, every count: released items only
        for name, values in page.facets.items():
            for value, (count, link) in values.items():
                narrowed = get(site, link)
                assert narrowed.total == count == expected(site.released, word, **{name: value})[0]
                assert set(narrowed.hits) <= site.archive.released_ids
                assert name not in narrowed.facets  # the value chosen is shown as a filter, not offered again
                assert f"{name}=" in narrowed.body and "Remove" in narrowed.body


def test_filters_combine(site: Site) -> None:
    word = shared_words(site, 1)[0]
    page = get(site, "/search", q=word)
    country, (_, link) = next(iter(page.facets["country"].items()))
    narrowed = get(site, link)
    year, (count, both) = next(iter(narrowed.facets["year"].items()))
    combined = get(site, both)
    assert combined.total == count == expected(site.released, word, country=country, year=year)[0] > 0
    assert dict(parse_qsl(urlsplit(both).query)) == {"q": word, "country": country, "year": year}


def test_no_query_filter_or_facet_count_reveals_a_dark_item(site: Site) -> None:
    released_values = {n: {d.facet(n) for d in site.released} for n in FACETS}
    dark_only = {n: {d.facet(n) for d in site.dark} - released_values[n] - {None} for n in FACETS}
    assert dark_only["country"] and dark_only["publisher"] and dark_only["title"], dark_only  # the test can fail
    released_words = {w for d in site.released for w in words(d)}
    dark_words = sorted({w for d in site.dark for w in words(d)} - released_words)
    assert len(dark_words) > 10
    for word in dark_words[:: max(1, len(dark_words) // 25)]:  # words only dark items hold: nothing at all
        page = get(site, "/search", q=word)
        assert (page.total, page.hits, page.facets) == (0, [], {})
    for word in shared_words(site, 5):  # words of both: no dark-only value among the facets, whatever the filter
        page = get(site, "/search", q=word)
        for name in FACETS:
            assert not set(page.facets.get(name, {})) & dark_only[name], (word, name)
            for value in sorted(v for v in dark_only[name] if v is not None):
                filtered = get(site, "/search", q=word, **{name: value})
                assert (filtered.total, filtered.hits, filtered.facets) == (0, [], {}), (word, name, value)
    for q in (f'"{dark_words[0]} {dark_words[1]}"', f"{dark_words[0]} {shared_words(site, 1)[0]}"):
        assert get(site, "/search", q=q).total == 0


def test_a_quoted_phrase_matches_its_words_together_and_in_that_order(site: Site) -> None:
    def holding(*phrase: str) -> int:
        """Released documents in which the words follow each other in this order."""
        wanted = " " + " ".join(fold(w) for w in phrase) + " "
        return sum(wanted in " " + " ".join(WORD.findall(fold(d.text))) + " " for d in site.released)

    pairs = [
        tuple(WORD.findall(d.title)[n : n + 2]) for d in site.released for n in range(len(WORD.findall(d.title)) - 1)
    ]
    first, second = next((a, b) for a, b in pairs if a.isalpha() and b.isalpha() and holding(b, a) < holding(a, b))
    assert get(site, "/search", q=f'"{first} {second}"').total == holding(first, second) > 0
    assert get(site, "/search", q=f'"{second} {first}"').total == holding(second, first)
    loose = get(site, "/search", q=f"{second} {first}").total  # unquoted: both words anywhere
    assert loose >= holding(first, second) + holding(second, first)


@pytest.mark.parametrize(
    ("lang", "heading", "remove"),
    [
        ("en", "Narrow the results", "Remove"),
        ("fr", "Affiner les résultats", "Retirer"),
        ("es", "Afinar los resultados", "Quitar"),
        ("pt", "Refinar os resultados", "Remover"),
    ],
)
def test_the_facets_speak_the_readers_language(site: Site, lang: str, heading: str, remove: str) -> None:
    word = shared_words(site, 1)[0]
    page = get(site, f"/{lang}/search", q=word)
    assert heading in page.body and page.facets["country"]
    _, link = next(iter(page.facets["language"].values()))
    assert remove in get(site, link).body
