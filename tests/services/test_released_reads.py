"""The public read model reads the catalog in a fixed number of SELECTs, whatever the number of items on a page: a
search page (the hits, their files, the facet values' names), an article page, an OAI-PMH/sitemap walk and the
programme's enrolled titles. A regression to one query per item (or per file) makes these fail; they count
statements, never time."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.clock import FixedClock
from strongroom.domain.trigger import ScopeKind, TriggerReason, VoteChoice
from strongroom.ingest.deposit import DepositOptions
from strongroom.inprocess import TestClient
from strongroom.keys import public_key_text
from strongroom.node import Node
from strongroom.portal.app import create_portal
from strongroom.search.base import fold
from strongroom.services.released import SEARCH_FACETS, Released
from strongroom.services.triggers import sign_ballot
from strongroom.settings import load_settings, write_settings
from tests_support import statements

BOARD = {name: Ed25519PrivateKey.generate() for name in ("ama", "bakari", "chiara")}


def counted(node: Node) -> AbstractContextManager[list[str]]:
    return statements(node.catalog.engine)


@dataclasses.dataclass
class Archive:
    node: Node
    dark_title: str  # a title with nothing released, enrolled in the programme for group A


@pytest.fixture(scope="module")
def archive(
    module_db_factory: Callable[[], str], tmp_path_factory: pytest.TempPathFactory, sample_dir: Path
) -> Iterator[Archive]:
    """Every sample package deposited; every title but one released by a board of three; the dark one enrolled for
    group A; the node then reopened on the tantivy engine (which fills its index from the catalog)."""
    home = tmp_path_factory.mktemp("released-reads") / "home"
    clock = FixedClock(dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC))
    with Node.create(home, database_url=module_db_factory(), clock=clock) as node:
        for pkg in sorted(sample_dir.iterdir()):
            if pkg.name != "tmp":
                node.ingest.deposit(pkg, DepositOptions(platform="ojs"))
        for name, key in BOARD.items():
            node.triggers.add_member(name, public_key_text(key.public_key()))
        titles = sorted(t.key for t, *_ in node.catalog.titles())
        dark = titles[0]
        for title in titles[1:]:
            t = node.triggers.propose(ScopeKind.TITLE, [title], TriggerReason.PUBLISHER_CEASED, ["a notice"], "op")
            for name, key in BOARD.items():
                signed_at = "2026-01-15T10:00:00Z"
                ballot = sign_ballot(key, t.key, name, VoteChoice.FOR, signed_at)
                node.triggers.vote(t.key, name, VoteChoice.FOR, signed_at, ballot)
            node.triggers.release(t.key, "op")
        node.programme.enroll(dark, {"A"}, by="op")
    write_settings(dataclasses.replace(load_settings(home), search_engine="tantivy"))
    with Node.open(home, clock=clock) as node:
        assert node.search.name == "tantivy"
        yield Archive(node, dark)


def released_words(released: Released) -> Counter[str]:
    """How many released items hold each word of their titles."""
    found: Counter[str] = Counter()
    for item in released.page(limit=10_000):
        found.update({w for w in fold(item.title).split() if w.isalpha() and len(w) > 3})
    return found


def test_a_search_takes_as_many_selects_for_twenty_hits_as_for_one(archive: Archive) -> None:
    released = archive.node.released()
    words = released_words(released)
    common, _ = words.most_common(1)[0]
    rare = next(w for w, n in words.items() if n == 1)
    with counted(archive.node) as one:
        few = released.find(rare, facets=SEARCH_FACETS)
    with counted(archive.node) as many:
        lots = released.find(common, facets=SEARCH_FACETS, limit=20)
    assert len(few.items) == 1 and len(lots.items) > 3
    assert sum(len(i.files) for i in lots.items) > len(lots.items)  # items with several files each
    assert {"publisher", "title"} <= set(lots.facets)
    # the hits, their files (and whether their AU was harvested), the publisher and title names of the facets
    assert len(many) == len(one) <= 3
    named = {v: name for v, name, _ in lots.facets["title"]}
    assert all(named[i.title_key] == i.title_name for i in lots.items)


def test_facet_names_found_once_are_remembered_while_the_cache_lasts(archive: Archive) -> None:
    released = archive.node.released(cache_seconds=60)
    common, _ = released_words(released).most_common(1)[0]
    first = released.find(common, facets=SEARCH_FACETS)
    with counted(archive.node) as again:
        second = released.find(common, facets=SEARCH_FACETS)
    assert second == first
    assert len(again) == 2  # the hits and their files; the names came from the cache


def test_an_article_takes_the_same_selects_whatever_its_files(archive: Archive) -> None:
    released = archive.node.released()
    items = released.page(limit=10_000)
    fewest = min(items, key=lambda i: len(i.files))
    most = max(items, key=lambda i: len(i.files))
    assert len(most.files) > len(fewest.files)
    with counted(archive.node) as small:
        assert released.item(fewest.public_id) == fewest
    with counted(archive.node) as large:
        assert released.item(most.public_id) == most
    assert len(small) == len(large) <= 2  # the item with its AU, title, publisher and trigger; then its files
    with counted(archive.node) as by_doi:
        assert most.doi is not None and released.item_by_doi(most.doi) == most
    assert len(by_doi) == len(large)


def test_a_walk_takes_the_same_selects_for_a_hundred_items_as_for_one(archive: Archive) -> None:
    released = archive.node.released()
    with counted(archive.node) as one:
        first = released.page(limit=1)
    with counted(archive.node) as hundred:
        page = released.page(limit=100)
    assert len(first) == 1 and len(page) > 10 and page[0] == first[0]
    assert len(one) == len(hundred) <= 2
    assert [i.id for i in page] == sorted(i.id for i in page)


def test_enrolled_titles_take_the_same_selects_for_many_items_as_for_one(archive: Archive) -> None:
    released = archive.node.released()
    with counted(archive.node) as every:
        enrolled = released.enrolled_titles("A")
    ((key, _, items),) = enrolled
    assert key == archive.dark_title and len(items) > 1
    assert released.enrolled_titles("B") == []
    assert all(released.item(i.public_id) is None for i in items)  # dark: not through the public door
    with counted(archive.node) as one:
        found = released.enrolled_item(items[0].public_id)
    assert found == (items[0], frozenset({"A"}))
    assert len(every) == len(one) <= 2


def test_the_search_and_article_pages_read_the_catalog_in_a_fixed_number_of_selects(archive: Archive) -> None:
    node = archive.node
    words = released_words(node.released())
    common, _ = words.most_common(1)[0]
    rare = next(w for w, n in words.items() if n == 1)
    items = node.released().page(limit=10_000)
    with TestClient(create_portal(node), base_url="http://127.0.0.1:8080") as client:
        client.get("/search", params={"q": rare})  # anything read once per process is read now
        client.get(f"/articles/{items[0].public_id}/")
        with counted(node) as one:
            assert client.get("/search", params={"q": rare}).status_code == 200
        with counted(node) as many:
            assert client.get("/search", params={"q": common}).status_code == 200
        assert len(many) == len(one)
        counts = set()
        for item in (items[0], items[len(items) // 2], items[-1]):
            with counted(node) as article:
                assert client.get(f"/articles/{item.public_id}/").status_code == 200
            counts.add(len(article))
        assert len(counts) == 1
