"""Institution keys (``I-00001``...): the number after the highest, never a count (which repeats a key once one is
missing, and two registrations at once both take), still one more past ``I-99999``, and two registrations at once
on either catalog both succeed with distinct keys (the second, refused by the unique key, is tried again)."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from strongroom.catalog.models import Institution
from strongroom.node import Node
from strongroom.samples import eligibility as samples
from strongroom.services.institutions import Contact, Institutions

DIRECTOR = Contact("Dr Amina Juma", "director@muhas.example.ac.tz")
LIBRARIAN = Contact("Grace Mushi", "library@muhas.example.ac.tz")


@pytest.fixture
def programme(node: Node, tmp_path: Path) -> Node:
    node.eligibility.import_indicators("world-bank", samples.write_world_bank(tmp_path / "wb.csv"), source="s")
    node.eligibility.import_indicators("hdr", samples.write_hdr(tmp_path / "hdr.csv"), source="s")
    node.eligibility.import_indicators("ldc", samples.write_ldc(tmp_path / "ldc.txt"), source="s", year=2023)
    return node


def register(node: Node, n: int) -> str:
    return node.institutions.register(
        name=f"University number {n}",
        type="university",
        country="TZ",
        address="Dar es Salaam",
        director=DIRECTOR,
        librarian=LIBRARIAN,
        ip_ranges=(f"10.{n}.0.0/24",),
    ).key


def _existing(node: Node, key: str) -> None:
    """An institution already under ``key`` (one imported, say, or the one left after another was removed)."""
    with node.catalog.session() as s:
        s.add(
            Institution(
                key=key,
                name=f"Imported {key}",
                type="university",
                country="TZ",
                address="Dodoma",
                director={"name": "D", "email": "d@example.org"},
                librarian={"name": "L", "email": "l@example.org"},
                status="pending",
                status_reason="",
                registered_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            )
        )


def test_the_key_follows_the_highest_not_the_count(programme: Node) -> None:
    _existing(programme, "I-00002")  # one institution, whose key is not I-00001
    assert register(programme, 1) == "I-00003"
    assert register(programme, 2) == "I-00004"


def test_keys_go_on_past_five_digits(programme: Node) -> None:
    _existing(programme, "I-99999")
    assert register(programme, 1) == "I-100000"
    assert register(programme, 2) == "I-100001"  # not I-99999 + 1 again, as the highest text would give


def test_two_registrations_at_once_both_succeed_with_distinct_keys(
    programme: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both read the same next key before either writes (held at a barrier): the second is refused by the unique
    key, and tried again with the next one."""
    real = Institutions._next_key
    both_read = threading.Barrier(2, timeout=30)
    first_reads: set[int] = set()
    reads: list[str] = []

    def next_key(self: Institutions) -> str:
        key = real(self)
        reads.append(key)
        if threading.get_ident() not in first_reads:
            first_reads.add(threading.get_ident())
            both_read.wait()
        return key

    monkeypatch.setattr(Institutions, "_next_key", next_key)
    keys: dict[int, str] = {}
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            keys[n] = register(programme, n)
        except BaseException as exc:  # reported below, with the thread's own traceback
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(keys.values()) == ["I-00001", "I-00002"]
    assert reads == ["I-00001", "I-00001", "I-00002"]  # the same key read twice; the refused one read again
    assert sorted(i["key"] for i in programme.institutions.listing()) == ["I-00001", "I-00002"]


def test_the_list_of_institutions_is_in_number_order_past_five_digits(programme: Node) -> None:
    _existing(programme, "I-99999")
    register(programme, 1)  # I-100000
    _existing(programme, "I-10000")
    walked, after = [], None
    while True:
        page = programme.institutions.page(after=after, limit=1)
        walked += [str(i["key"]) for i in page.rows]
        if page.next is None:
            break
        after = page.next
    assert walked == ["I-10000", "I-99999", "I-100000"]
    assert [i["key"] for i in programme.institutions.listing()] == walked
