"""Listings walked by key, on both catalogs: walking every page of publishers, titles, AUs, events and the portal's
released titles and publishers yields every row once, in the listing's order (names that differ only in case, and
equal names, are ordered by id); a cursor that no page gave is refused as a usage error; and a page costs the same
few statements however many rows the catalog holds."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event

from strongroom.catalog.models import ArchivalUnit, Publisher, Title
from strongroom.domain.model import EventOutcome, EventType
from strongroom.domain.names import sort_key
from strongroom.errors import ExitCode
from strongroom.node import Node
from strongroom.services import keyset
from tests_support import statements as every_statement
from tests_support import walk_pages

NOW = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)
# Names whose sort keys (domain.names) are equal in groups: several differ only in case, and some are equal, so
# the id must break ties, across page boundaries too.
NAMES = ["alpha", "Alpha", "beta", "Beta", "beta", "gamma", "Delta", "delta", "epsilon", "Zeta", "zeta", "eta"]


def _seed(node: Node, publishers: int = 7, titles_each: int = 5) -> dict[str, Any]:
    """Publishers and titles with the names above; every third title dark, every fifth released with no items
    (both must stay off the public lists), the others released with items."""
    seeded: dict[str, Any] = {"released_titles": set(), "released_publishers": set()}
    with node.catalog.session() as s:
        for p in range(publishers):
            pub = Publisher(key=f"pub-{p}", name=NAMES[p % len(NAMES)], country="GH" if p % 2 else "KE", created_at=NOW)
            s.add(pub)
            s.flush()
            for t in range(titles_each):
                n = p * titles_each + t
                title = Title(key=f"t-{n:03}", publisher_id=pub.id, name=NAMES[n % len(NAMES)], created_at=NOW)
                s.add(title)
                s.flush()
                dark, empty = n % 3 == 0, n % 5 == 0
                s.add(
                    ArchivalUnit(
                        key=f"t-{n:03}/2020",
                        title_id=title.id,
                        label="2020",
                        object_id=f"obj-{n:03}",
                        item_count=0 if empty else 4,
                        created_at=NOW,
                        updated_at=NOW,
                        released_at=None if dark else NOW,
                    )
                )
                if not dark and not empty:
                    seeded["released_titles"].add(title.key)
                    seeded["released_publishers"].add(pub.key)
        for i in range(23):  # events at a handful of times: many share one, so the id orders them
            node.catalog.record_event(
                s,
                EventType.FIXITY_CHECK,
                EventOutcome.SUCCESS,
                agent="test",
                object_type="au",
                object_key=f"t-{i % 4:03}/2020",
                time=NOW + dt.timedelta(minutes=i % 3),
            )
    return seeded


@pytest.mark.parametrize("size", [1, 3, 100])
def test_walking_every_page_yields_every_row_once_in_order(node: Node, size: int) -> None:
    _seed(node)
    browse = node.browse
    with node.catalog.session() as s:
        titles = sorted(s.query(Title.name, Title.id, Title.key).all(), key=lambda r: (sort_key(r[0]), r[1]))
        publishers = sorted(
            s.query(Publisher.name, Publisher.id, Publisher.key).all(), key=lambda r: (sort_key(r[0]), r[1])
        )
    assert [t.key for t in walk_pages(lambda a: browse.title_page(after=a, limit=size))] == [k for *_, k in titles]
    assert [p.name for p in walk_pages(lambda a: browse.publisher_page(after=a, limit=size))] == [
        n for n, *_ in publishers
    ]
    assert [a.key for a in walk_pages(lambda a: browse.au_page(after=a, limit=size))] == sorted(
        a.key for a in browse.aus()
    )
    everything = list(browse.event_page(limit=None).rows)
    assert len(everything) >= 23 and [e.time for e in everything] == sorted((e.time for e in everything), reverse=True)
    assert [e.uuid for e in walk_pages(lambda a: browse.event_page(after=a, limit=size))] == [
        e.uuid for e in everything
    ]
    one_au = [e.uuid for e in browse.event_page(object_key="t-001/2020", limit=None).rows]
    assert [
        e.uuid for e in walk_pages(lambda a: browse.event_page(object_key="t-001/2020", after=a, limit=size))
    ] == one_au
    first = browse.title_page(limit=size)
    assert first.total == len(titles) and browse.au_page(limit=size).total == len(titles)


@pytest.mark.parametrize("size", [1, 4, 100])
def test_the_public_lists_walk_released_titles_and_publishers_only(node: Node, size: int) -> None:
    seeded = _seed(node)
    lists = node.browse.released_lists
    walked = list(walk_pages(lambda a: lists.titles(after=a, limit=size)))
    assert {t.key for t in walked} == seeded["released_titles"] and len(walked) == len(seeded["released_titles"])
    assert [sort_key(t.name) for t in walked] == sorted(sort_key(t.name) for t in walked)
    assert all(t.items > 0 for t in walked)
    assert lists.titles(limit=size).total == len(seeded["released_titles"])
    # the same titles and counts as the read model's whole list (services/released.py), a page at a time
    whole = node.released().titles()
    assert sorted((t.key, t.items) for t in walked) == sorted((t.key, t.items) for t in whole)

    pubs = list(walk_pages(lambda a: lists.publishers(after=a, limit=size)))
    assert {p.key for p in pubs} == seeded["released_publishers"]
    assert sorted((p.key, p.titles, p.items) for p in pubs) == sorted(
        (p.key, p.titles, p.items) for p in node.released().publishers()
    )
    ghana = list(walk_pages(lambda a: lists.publishers(country="GH", after=a, limit=size)))
    assert ghana and {p.country for p in ghana} == {"GH"}
    assert lists.publishers(country="GH", limit=size).total == len(ghana)
    of_one = list(walk_pages(lambda a: lists.titles(publisher_key="pub-1", after=a, limit=size)))
    assert {t.publisher_key for t in of_one} == {"pub-1"}
    assert {t.key for t in of_one} == {k for k in seeded["released_titles"] if k in {f"t-{n:03}" for n in range(5, 10)}}


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "%%%",
        keyset.encode("alpha"),  # one value where two are wanted
        keyset.encode(1, "alpha"),  # the wrong kinds
        keyset.encode("alpha", -1),
        "W10",  # []
        "e30",  # {}
        "x" * (keyset.MAX_TOKEN + 1),
        base64.urlsafe_b64encode(b"[" * 3000).decode(),  # nested past the parser's depth, within MAX_TOKEN
    ],
)
def test_a_cursor_no_page_gave_is_a_usage_error(node: Node, cursor: str) -> None:
    _seed(node, publishers=1, titles_each=2)
    for load in (
        lambda: node.browse.title_page(after=cursor),
        lambda: node.browse.publisher_page(after=cursor),
        lambda: node.browse.event_page(after=cursor),
        lambda: node.browse.released_lists.titles(after=cursor),
        lambda: node.browse.released_lists.publishers(after=cursor),
    ):
        with pytest.raises(keyset.BadCursor) as refused:
            load()
        assert refused.value.exit_code == ExitCode.USAGE and refused.value.hint
    with pytest.raises(keyset.BadCursor):
        node.browse.event_page(after=keyset.encode("not a time", 3))


def test_a_page_costs_the_same_statements_however_many_rows(node: Node) -> None:
    def statements(load: Callable[[], object]) -> int:
        with every_statement(node.catalog.engine, ()) as seen:
            load()
        return len(seen)

    def costs() -> list[int]:
        page = node.browse.title_page(limit=3)
        lists = node.browse.released_lists
        return [
            statements(lambda: node.browse.title_page(after=page.next, limit=3)),
            statements(lambda: node.browse.publisher_page(limit=3)),
            statements(lambda: node.browse.au_page(limit=3)),
            statements(lambda: node.browse.event_page(limit=3)),
            statements(lambda: lists.titles(limit=3)),
            statements(lambda: lists.publishers(limit=3)),
        ]

    _seed(node, publishers=2, titles_each=3)
    small = costs()
    _seed_more(node)
    assert costs() == small and max(small) <= 4


def _seed_more(node: Node) -> None:
    with node.catalog.session() as s:
        pub = Publisher(key="pub-more", name="More", country="GH", created_at=NOW)
        s.add(pub)
        s.flush()
        for n in range(60):
            title = Title(key=f"more-{n:03}", publisher_id=pub.id, name=f"More {n}", created_at=NOW)
            s.add(title)
            s.flush()
            s.add(
                ArchivalUnit(
                    key=f"more-{n:03}/2020",
                    title_id=title.id,
                    label="2020",
                    object_id=f"more-{n:03}",
                    item_count=2,
                    created_at=NOW,
                    updated_at=NOW,
                    released_at=NOW,
                )
            )


@given(st.lists(st.one_of(st.text(max_size=30), st.integers(min_value=0, max_value=2**62)), min_size=1, max_size=3))
def test_a_cursor_reads_back_what_it_was_made_of(values: list[str | int]) -> None:
    kinds = [type(v) for v in values]
    assert keyset.decode(keyset.encode(*values), *kinds) == tuple(values)


@given(st.text(max_size=60))
def test_any_text_as_a_cursor_is_read_or_refused_never_an_accident(text: str) -> None:
    with contextlib.suppress(keyset.BadCursor):  # anything else (a ValueError, a TypeError) fails the test
        keyset.decode(text, str, int)


def test_a_page_of_titles_or_publishers_is_a_seek_in_the_name_index(node: Node) -> None:
    """The statement a page after a cursor runs can use (sort_key, id), so no sort of every title is needed
    (on PostgreSQL with sequential scans and sorts discouraged, as a big table would have them)."""
    _seed(node, publishers=3, titles_each=3)
    for load, index in (
        (lambda a: node.browse.title_page(after=a, limit=2), "ix_titles_sort_key"),
        (lambda a: node.browse.publisher_page(after=a, limit=2), "ix_publishers_sort_key"),
    ):
        cursor = load(None).next
        seen: list[tuple[str, Any]] = []

        def before(conn: Any, cur: Any, statement: str, parameters: Any, *rest: Any, seen: list[Any] = seen) -> None:
            seen.append((statement, parameters))

        event.listen(node.catalog.engine, "before_cursor_execute", before)
        try:
            load(cursor)
        finally:
            event.remove(node.catalog.engine, "before_cursor_execute", before)
        statement, parameters = seen[0]  # the page's rows come first
        with node.catalog.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            cur = raw.cursor()
            if node.catalog.engine.dialect.name == "postgresql":
                cur.execute("SET enable_seqscan = off")
                cur.execute("SET enable_sort = off")
                cur.execute("EXPLAIN " + statement, parameters)
            else:
                cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            plan = " ".join(str(row) for row in cur.fetchall())
            cur.close()
        assert index in plan, plan


@pytest.mark.parametrize(
    "name",
    [
        "論" * keyset.MAX_KEY,  # three bytes a character in UTF-8
        "𝔄" * keyset.MAX_KEY,  # four: outside the BMP
        "\x01" * keyset.MAX_KEY,  # six once JSON escapes it
    ],
)
def test_the_longest_name_in_any_script_makes_a_cursor_that_is_read_back(name: str) -> None:
    # a 1,000-character title in Chinese used to make a token longer than MAX_TOKEN, so its "next" link was refused
    token = keyset.encode(name, 2**62)
    assert len(token) <= keyset.MAX_TOKEN
    assert keyset.decode(token, str, int) == (name, 2**62)
