"""Cataloguing joins the deposit record's files, read a piece at a time in path order, with the version's files:
the file rows, versions and events written, in batches smaller than the deposit, are those the record read whole
gives (a record whose files are not in path order is read whole and sorted first); the inventory read for it is
not kept by the store afterwards; and the freed memory can be given back to the system (issue 16)."""

from __future__ import annotations

import io
import json
import platform
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import strongroom.formats.record_stream as record_stream
import strongroom.services.indexer as indexer
from strongroom.alloc import give_back
from strongroom.domain.volumes import volume_counts
from strongroom.formats.records import (
    DEPOSIT_RECORD,
    AuRecord,
    DepositRecord,
    FileRecord,
    ItemRecord,
    PublisherRecord,
    TitleRecord,
)
from strongroom.node import Node
from strongroom.samples import generate_corpus
from strongroom.samples.packages import write_jats_dir
from strongroom.store.base import stage_file

FileRow = tuple[Any, ...]


def _rows(node: Node) -> list[FileRow]:
    """Every file row: path, its item's key, size, both digests, media type, role, source, version."""
    with node.catalog.engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                sa.text(
                    "SELECT f.logical_path, i.item_key, f.size, f.sha512, f.sha256, f.media_type, f.role, f.source,"
                    " f.version FROM files f LEFT JOIN items i ON i.id = f.item_id ORDER BY f.logical_path"
                )
            )
        ]


def _expected(node: Node, object_id: str) -> list[FileRow]:
    """The file rows as cataloguing wrote them before the join: the record parsed whole, each version file looked
    up in its dict of files."""
    with node.store.open_file(object_id, DEPOSIT_RECORD) as fh:
        record = DepositRecord.from_bytes(fh.read())
    rows = []
    for f in node.store.files(object_id):
        m = record.files.get(f.logical_path)
        rows.append(
            (
                f.logical_path,
                m.item if m else None,
                f.size,
                f.sha512,
                f.sha256,
                m.media_type if m else "application/json",
                m.role if m else "metadata",
                m.source if m else "generated",
                f.version,
            )
        )
    return sorted(rows)


def _versions_and_events(node: Node) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with node.catalog.engine.connect() as conn:
        versions = [
            tuple(r)
            for r in conn.execute(
                sa.text("SELECT number, files, bytes, new_files, new_bytes, message FROM au_versions ORDER BY number")
            )
        ]
        events = [tuple(r) for r in conn.execute(sa.text("SELECT type, detail FROM events ORDER BY id"))]
    return versions, events


@pytest.fixture
def deposited(node: Node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A deposit of 14 articles (more files than several batches), its record read in pieces; its object id."""
    monkeypatch.setattr(indexer, "SMALL_RECORD", 0)
    monkeypatch.setattr(indexer, "FILE_BATCH", 4)
    monkeypatch.setattr(indexer, "ITEM_BATCH", 3)
    monkeypatch.setattr(record_stream, "CHUNK", 64)  # pieces cut everywhere
    corpus = generate_corpus(7, publishers=1, titles_per_publisher=1, years=(2024,), articles_per_issue=7)
    title, _year, articles = corpus.groups()[0]
    result = node.ingest.deposit(write_jats_dir(tmp_path / "pkg", articles, title))
    assert result.files > 3 * 4
    return result.object_id


def test_file_rows_written_in_batches_are_those_of_the_record_read_whole(node: Node, deposited: str) -> None:
    rows = _rows(node)
    assert rows == _expected(node, deposited)
    assert sum(1 for row in rows if row[1] is not None) == len(rows) - 1  # every payload file has its article
    versions, events = _versions_and_events(node)
    assert [v[:3] for v in versions] == [(1, len(rows), sum(r[2] for r in rows))]
    assert versions[0][3] == len(rows)  # every file is new in v1
    assert [e for e in events if e[0] == "ingestion"] == [("ingestion", f"v1: {versions[0][5]}")]


def test_a_record_with_its_files_out_of_path_order_is_joined_all_the_same(
    node: Node, deposited: str, tmp_path: Path
) -> None:
    """A record not written by Strongroom may name its files in any order: it is read whole, its files sorted
    (read in pieces, files out of order could not be refused when named twice without a set of every path)."""
    with node.store.open_file(deposited, DEPOSIT_RECORD) as fh:
        data = json.loads(fh.read())
    data["files"] = dict(reversed(list(data["files"].items())))
    changed = tmp_path / "deposit.json"
    changed.write_bytes(json.dumps(data, indent=2).encode())
    with pytest.raises(record_stream.NotStreamable):
        record_stream.read_head(io.BytesIO(changed.read_bytes()), files=False)
    staged = [f for f in node.store.current_files(deposited) if f.logical_path != DEPOSIT_RECORD]
    node.store.commit_version(deposited, [*staged, stage_file(DEPOSIT_RECORD, changed)], message="c", user_name="t")
    assert node.indexer.index(deposited).indexed
    rows = _rows(node)
    assert rows == _expected(node, deposited)
    assert dict((r[0], r[8]) for r in rows)[DEPOSIT_RECORD] == 2  # the new record is v2's
    versions, _events = _versions_and_events(node)
    assert [v[0] for v in versions] == [1, 2] and versions[1][3] == 1  # v2 brought one new file


def test_the_record_read_without_its_files_then_its_files_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(record_stream, "CHUNK", 16)
    record = DepositRecord(
        package_form="bagit",
        publisher=PublisherRecord(name="Éditions « Ouest »", country="SN"),
        title=TitleRecord(key="issn:1234-5679", name="Revue", languages=("fr",)),
        au=AuRecord(key="issn:1234-5679/2024", label="2024"),
        items=tuple(ItemRecord(key=f"10.1234/a{n}", title=f"Article {n}", files=(f"p/a{n}.pdf",)) for n in range(5)),
        files={
            f"p/f{n:02}.pdf": FileRecord("application/pdf", "fulltext", "deposit", f"10.1234/a{n}") for n in range(9)
        },
    )
    raw = record.to_bytes()
    assert raw.index(b'"files"') < raw.index(b'"items"')  # written with sorted keys: the files come first
    head = record_stream.read_head(io.BytesIO(raw), files=False)
    assert head.record.files == {}
    assert head.record == replace(record, items=(), files={})
    assert list(record_stream.iter_files(io.BytesIO(raw))) == sorted(record.files.items())
    assert list(record_stream.iter_items(io.BytesIO(raw))) == list(record.items)  # the files passed over


def test_the_inventory_read_to_catalogue_is_not_kept(node: Node, deposited: str) -> None:
    store = node.store
    assert deposited not in store._inventories  # type: ignore[attr-defined]
    assert store.inventory(deposited)["id"] == deposited  # read again when asked for
    assert deposited in store._inventories  # type: ignore[attr-defined]
    store.let_go(deposited)
    assert deposited not in store._inventories  # type: ignore[attr-defined]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_memory_is_given_back_on_glibc() -> None:
    assert give_back() is True


def _items(node: Node) -> dict[str, tuple[Any, ...]]:
    """Every item row by key: its id, title, volume and year."""
    with node.catalog.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT item_key, id, title, volume, year FROM items ORDER BY id"))
        return {key: tuple(rest) for key, *rest in rows}


def _recatalogue(node: Node, object_id: str, data: dict[str, Any], tmp_path: Path) -> None:
    """``data`` as the object's deposit record in a new version, catalogued."""
    changed = tmp_path / "deposit.json"
    changed.write_bytes(json.dumps(data, indent=2).encode())
    staged = [f for f in node.store.current_files(object_id) if f.logical_path != DEPOSIT_RECORD]
    node.store.commit_version(object_id, [*staged, stage_file(DEPOSIT_RECORD, changed)], message="c", user_name="t")
    assert node.indexer.index(object_id).indexed


def test_a_key_given_again_in_a_later_batch_is_the_item_last_given_where_the_first_was(
    node: Node, deposited: str, tmp_path: Path
) -> None:
    """Cataloguing keeps no list or set of the record's keys: a key given again after a batch has been written (only
    in a record Strongroom did not write) is found among the items written, and the item is the one last given,
    with the first one's id, as reading the record whole into a dict by key gives; the AU's counts agree."""
    before = _items(node)
    with node.store.open_file(deposited, DEPOSIT_RECORD) as fh:
        data = json.loads(fh.read())
    first = data["items"][0]
    data["items"].append(dict(first, title="Given again, last", volume="99"))  # past the first batch of 3
    _recatalogue(node, deposited, data, tmp_path)
    after = _items(node)
    assert set(after) == set(before)  # no item more, none less
    assert after[first["key"]] == (before[first["key"]][0], "Given again, last", "99", before[first["key"]][3])
    assert {k: v for k, v in after.items() if k != first["key"]} == {
        k: v for k, v in before.items() if k != first["key"]
    }
    with node.catalog.engine.connect() as conn:
        count, volumes = conn.execute(sa.text("SELECT item_count, volumes FROM archival_units")).one()
    if isinstance(volumes, str):  # SQLite gives the JSON text
        volumes = json.loads(volumes)
    assert count == len(after)
    by_volume: dict[tuple[Any, Any], int] = {}
    for _id, _title, volume, year in after.values():
        by_volume[(volume, year)] = by_volume.get((volume, year), 0) + 1
    assert volumes == volume_counts((volume, year, n) for (volume, year), n in by_volume.items())


def test_items_the_record_no_longer_gives_are_removed_after_the_rest_are_written(
    node: Node, deposited: str, tmp_path: Path
) -> None:
    before = _items(node)
    with node.store.open_file(deposited, DEPOSIT_RECORD) as fh:
        data = json.loads(fh.read())
    kept = data["items"][::2]
    data["items"] = kept
    _recatalogue(node, deposited, data, tmp_path)
    after = _items(node)
    assert after == {i["key"]: before[i["key"]] for i in kept}
    rows = _rows(node)
    assert {key for _path, key, *_rest in rows if key is not None} <= set(after)  # no file of a removed item
