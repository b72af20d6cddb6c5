"""The deposit record, the contract for rebuilding the catalog from storage: any record round-trips through its
stored bytes unchanged, the same record always gives the same bytes, records written by earlier versions (fields
left out) still read, and a damaged record is an error that names the field."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.formats.records import (
    AuRecord,
    ContributorRecord,
    DepositRecord,
    FileRecord,
    ItemRecord,
    PublisherRecord,
    RecordError,
    TitleRecord,
    merge_items,
)

text = st.text(min_size=1, max_size=30)
maybe = st.none() | text
words = st.lists(text, max_size=4).map(tuple)

contributors = st.builds(ContributorRecord, name=text, role=text, orcid=maybe, affiliations=words)
items = st.builds(
    ItemRecord,
    key=text,
    title=maybe,
    doi=maybe,
    url=maybe,
    metadata_file=maybe,
    files=words,
    contributors=st.lists(contributors, max_size=3).map(tuple),
    publication_date=st.none() | st.dates().map(lambda d: d.isoformat()),
    year=st.none() | st.integers(1500, 2100),
    volume=maybe,
    issue=maybe,
    pages=maybe,
    abstract=maybe,
    keywords=words,
    language=maybe,
    licence=maybe,
    item_type=text,
)
records = st.builds(
    DepositRecord,
    package_form=text,
    publisher=st.builds(PublisherRecord, name=text, country=maybe, platform=maybe),
    title=st.builds(
        TitleRecord,
        key=text,
        name=text,
        kind=text,
        issn_print=maybe,
        issn_online=maybe,
        isbn=maybe,
        languages=words,
        licence=maybe,
    ),
    au=st.builds(AuRecord, key=text, label=text),
    items=st.lists(items, max_size=4).map(tuple),
    files=st.dictionaries(text, st.builds(FileRecord, media_type=text, role=text, source=text, item=maybe), max_size=4),
    bag_info=st.dictionaries(text, st.lists(text, min_size=1, max_size=2), max_size=3),
)


@given(records)
def test_any_record_round_trips_through_its_bytes(record: DepositRecord) -> None:
    stored = record.to_bytes()
    assert DepositRecord.from_bytes(stored) == record
    assert DepositRecord.from_bytes(stored).to_bytes() == stored  # one canonical form


def test_a_record_an_earlier_version_wrote_still_reads() -> None:
    """Items without metadata were written with only their identity; harvested contributors had no ORCID."""
    old = {
        "format": "strongroom-deposit/1",
        "package_form": "jasper",
        "publisher": {"name": "A Press", "country": "GH", "platform": None},
        "title": {"key": "issn:2536-0035", "name": "A Journal", "kind": "journal", "languages": ["en"]},
        "au": {"key": "issn:2536-0035/2024", "label": "2024"},
        "bag_info": {},
        "items": [
            {"key": "10.1/x", "doi": "10.1/x", "url": None, "metadata_file": None, "files": [], "title": "10.1/x"},
            {"key": "10.1/y", "title": "Y", "contributors": [{"name": "Ama", "role": "author"}], "year": "2024"},
        ],
        "files": {"payload/x.pdf": {"media_type": "application/pdf", "role": "fulltext", "item": "10.1/x"}},
    }
    record = DepositRecord.from_bytes(json.dumps(old).encode())
    assert record.items[0].item_type == "other" and record.items[1].year == 2024
    assert record.items[1].contributors[0] == ContributorRecord("Ama")
    assert record.files["payload/x.pdf"].source == "generated"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda r: r.update(format="something-else/9"), "unknown format"),
        (lambda r: r["items"].append({"title": "no key"}), "key is missing"),
        (lambda r: r["items"].append({"key": "k", "year": "twenty"}), "year must be a whole number"),
        (lambda r: r["items"].append({"key": "k", "keywords": "a, b"}), "keywords must be a list"),
        (lambda r: r.update(title=["not", "an", "object"]), "title must be an object"),
        (lambda r: r["au"].pop("label"), "label is missing"),
    ],
)
def test_a_damaged_record_names_what_is_wrong(change: object, named: str) -> None:
    raw = json.loads(
        DepositRecord(
            "bagit", PublisherRecord("P"), TitleRecord("t", "T"), AuRecord("t/1", "1"), (ItemRecord("a"),)
        ).to_bytes()
    )
    change(raw)  # type: ignore[operator]
    with pytest.raises(RecordError, match=named):
        DepositRecord.from_bytes(json.dumps(raw).encode())
    with pytest.raises(RecordError, match="not JSON"):
        DepositRecord.from_bytes(b"\xff{")
    with pytest.raises(RecordError, match="not JSON"):  # nested past the parser's depth
        DepositRecord.from_bytes(b"[" * 5000)


def test_a_newer_harvest_fills_and_corrects_an_item_and_keeps_the_rest() -> None:
    old = (ItemRecord("a", title="Old title", pages="1-9", keywords=("soil",)), ItemRecord("gone", title="Kept"))
    new = [ItemRecord("a", title="New title", pages=None, abstract="Now with an abstract"), ItemRecord("b")]
    merged = {i.key: i for i in merge_items(old, new)}
    assert list(merged) == ["a", "b", "gone"]  # an item the publisher no longer shows stays: this is an archive
    assert merged["a"] == ItemRecord(
        "a", title="New title", pages="1-9", keywords=("soil",), abstract="Now with an abstract"
    )
