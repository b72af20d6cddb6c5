"""The deposit record is read a piece at a time (``formats.record_stream``): the same record, and the same errors,
as ``json.loads`` and ``DepositRecord.from_dict`` give, whatever the text's layout and wherever its pieces are cut;
what the streaming reader cannot take is read whole; and cataloguing writes the items as it reads them, never
holding all of a record's items at once."""

from __future__ import annotations

import dataclasses
import gc
import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

import pytest

import strongroom.formats.record_stream as record_stream
import strongroom.services.indexer as indexer
from strongroom.formats.records import (
    AuRecord,
    ContributorRecord,
    DepositRecord,
    FileRecord,
    ItemRecord,
    PublisherRecord,
    RecordError,
    TitleRecord,
)
from strongroom.node import Node
from strongroom.samples import generate_corpus
from strongroom.samples.packages import write_jats_dir


def _record(items: int, files: int) -> DepositRecord:
    return DepositRecord(
        package_form="bagit",
        publisher=PublisherRecord(name="Éditions « Ouest »", country="SN"),
        title=TitleRecord(key="issn:1234-5679", name="Revue\nà deux lignes", languages=("fr", "wo")),
        au=AuRecord(key="issn:1234-5679/2024", label="2024"),
        items=tuple(
            ItemRecord(
                key=f"10.1234/a{n}",
                title=f'Article {n} \u2014 "cité" \\ tab\t \U0001f4da',
                files=(f"payload/a{n}.pdf",),
                contributors=(ContributorRecord("Ndèye Diop", affiliations=("UCAD",)),),
                year=2024 + n % 3,
                abstract="line one\nline two" if n % 2 else None,
            )
            for n in range(items)
        ),
        files={
            f"payload/f{n:03}.pdf": FileRecord("application/pdf", "fulltext", "deposit", f"10.1234/a{n}")
            for n in range(files)
        },
        bag_info={"Source-Organization": ["Éditions « Ouest »"]},
    )


class _Store:
    """Only what Indexer.read_record asks of a store: the record's bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def open_file(self, object_id: str, path: str, version: int | None = None) -> BinaryIO:
        return io.BytesIO(self.data)


@pytest.fixture(autouse=True)
def in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every record here is read in pieces, however small (by default one under a megabyte is parsed whole)."""
    monkeypatch.setattr(indexer, "SMALL_RECORD", 0)


def _read(data: bytes) -> DepositRecord:
    return indexer.Indexer(None, _Store(data), None, agent="test").read_record("o")  # type: ignore[arg-type]


def _whole(data: bytes) -> DepositRecord:
    """What Indexer.read_record gave before it read records in pieces."""
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RecordError(f"object o: strongroom/deposit.json is not JSON: {exc}") from None
    try:
        return indexer._record_from(parsed)
    except RecordError as exc:
        raise RecordError(f"object o: {exc.message}") from None


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 16])
@pytest.mark.parametrize(("items", "files"), [(0, 0), (1, 0), (0, 1), (30, 45)])
def test_read_in_pieces_is_the_same_record(monkeypatch: pytest.MonkeyPatch, chunk: int, items: int, files: int) -> None:
    monkeypatch.setattr(record_stream, "CHUNK", chunk)  # pieces cut inside strings, numbers and characters
    record = _record(items, files)
    for data in (record.to_bytes(), json.dumps(record.to_dict()).encode(), json.dumps(record.to_dict(), indent=7)):
        raw = data if isinstance(data, bytes) else data.encode()
        assert record_stream.read_record(io.BytesIO(raw)) == record
        head = record_stream.read_head(io.BytesIO(raw))
        assert head.record == dataclasses.replace(record, items=())
        assert list(record_stream.iter_items(io.BytesIO(raw))) == list(record.items)


@pytest.mark.parametrize(
    "change",
    [
        {"items": {"not": "a list"}},
        {"files": ["not", "an", "object"]},
        {"items": [{"title": "no key"}]},
        {"files": {"payload/x": "not an object"}},
        {"format": "other/9"},
        {"format": "other/9", "items": [{"title": "no key"}]},  # the record's own error comes first
        {"items": [{"title": "no key"}], "files": {"payload/x": 3}},  # then the items', then the files'
    ],
)
def test_read_in_pieces_gives_the_same_errors(monkeypatch: pytest.MonkeyPatch, change: dict[str, Any]) -> None:
    monkeypatch.setattr(record_stream, "CHUNK", 16)
    data = json.dumps({**_record(3, 3).to_dict(), **change}, indent=2).encode()
    with pytest.raises(RecordError) as expected:
        _whole(data)
    with pytest.raises(RecordError) as got:
        _read(data)
    assert got.value.message == expected.value.message


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf" + _record(2, 2).to_bytes(),  # a byte-order mark
        _record(2, 2).to_bytes() + b"{}",  # text after the record
        _record(2, 2).to_bytes()[:-40],  # cut short
        _record(2, 2).to_bytes().replace(b'"title": "Article 1', b'"title" "Article 1'),  # a syntax error
        b"[1, 2]",  # not an object
        _record(2, 2).to_bytes().replace(b"Article 1", b"Article \xff"),  # not UTF-8
        _record(2, 2).to_bytes().replace(b'"title": "Article 1', b'"title": ' + b"[" * 5000 + b'"'),  # nested too deep
    ],
)
def test_what_is_not_streamable_is_read_whole_with_its_error(data: bytes) -> None:
    with pytest.raises(record_stream.NotStreamable):
        record_stream.read_record(io.BytesIO(data))
    with pytest.raises(RecordError) as expected:
        _whole(data)
    with pytest.raises(RecordError) as got:
        _read(data)
    assert got.value.message == expected.value.message


def test_a_member_named_twice_is_read_as_json_reads_it() -> None:
    text = _record(2, 2).to_bytes().decode()
    data = text.replace('"package_form": "bagit"', '"package_form": "first", "package_form": "bagit"').encode()
    with pytest.raises(record_stream.NotStreamable):
        record_stream.read_record(io.BytesIO(data))
    assert _read(data) == _record(2, 2)
    reader = indexer.Indexer(None, _Store(data), None, agent="test")  # type: ignore[arg-type]
    head, items = reader._record_items("o", 1)  # as the reindex reads it: whole, here
    assert (head, tuple(items)) == (replace(_record(2, 2), items=()), _record(2, 2).items)


def test_cataloguing_holds_one_batch_of_items_at_a_time(
    node: Node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexer, "ITEM_BATCH", 4)
    corpus = generate_corpus(5, publishers=1, titles_per_publisher=1, years=(2024,), articles_per_issue=12)
    title, _year, articles = corpus.groups()[0]
    alive: list[int] = []
    real = indexer._item_row

    def items_alive() -> int:
        return sum(isinstance(o, ItemRecord) for o in gc.get_objects())

    def counting(rec: ItemRecord) -> dict[str, Any]:
        alive.append(items_alive())
        return real(rec)

    monkeypatch.setattr(indexer, "_item_row", counting)
    package = write_jats_dir(tmp_path / "pkg", articles, title)
    gc.collect()
    before = items_alive()  # those other tests left
    result = node.ingest.deposit(package)
    assert result.items == len(articles) >= 20
    assert len(alive) == len(articles)
    assert max(alive) - before <= 2 * 4  # a batch (and the next item read), never the record's every item
    [(au, count, _files, _bytes)] = node.catalog.aus()
    assert count == au.item_count == len(articles)


@pytest.mark.parametrize("small", [1 << 20, 100])
def test_a_small_record_is_parsed_whole_and_a_larger_one_read_from_its_first_bytes_on(
    monkeypatch: pytest.MonkeyPatch, small: int
) -> None:
    """Records up to SMALL_RECORD are parsed whole (faster); past it, the bytes read to find out are read again as
    the start of the pieces: either way the same record, and the same errors."""
    monkeypatch.setattr(indexer, "SMALL_RECORD", small)
    data = _record(30, 45).to_bytes()
    assert len(data) > 100
    parsed: list[bytes] = []
    real = indexer.Indexer._read_whole
    monkeypatch.setattr(indexer.Indexer, "_read_whole", lambda self, o, raw: parsed.append(raw) or real(self, o, raw))
    assert _read(data) == _whole(data)
    assert parsed == ([data] if small > len(data) else [])
    broken = data[:-5]  # cut short
    with pytest.raises(RecordError) as expected:
        _whole(broken)
    with pytest.raises(RecordError) as got:
        _read(broken)
    assert got.value.message == expected.value.message
