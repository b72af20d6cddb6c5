"""The deposit record is written item by item and read back item by item, with the same bytes and the same record
(and the same errors) as ``DepositRecord.to_bytes`` / ``from_bytes``; a version's files are made durable together
by ``fsync_tree``, every file and directory, and a failure to sync one is raised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import strongroom.store.hashing as hashing
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
from strongroom.ingest.deposit import record_pieces
from strongroom.services.indexer import _record_from


def _record(items: int, files: int) -> DepositRecord:
    return DepositRecord(
        package_form="bagit",
        publisher=PublisherRecord(name="Éditions « Ouest »", country="SN"),
        title=TitleRecord(key="issn:1234-5679", name="Revue\nà deux lignes", languages=("fr", "wo")),
        au=AuRecord(key="issn:1234-5679/2024", label="2024"),
        items=tuple(
            ItemRecord(
                key=f"10.1234/a{n}",
                title=f'Article {n} \u2014 "cité" \\ tab\t',
                files=(f"payload/a{n}.pdf", f"payload/a{n}.xml"),
                contributors=(ContributorRecord("Ndèye Diop", affiliations=("UCAD", "IRD")), ContributorRecord("X")),
                year=2024,
                abstract="line one\nline two" if n % 2 else None,
                keywords=() if n % 3 else ("sol", "eau"),
            )
            for n in range(items)
        ),
        files={
            f"payload/f{n:03}.pdf": FileRecord("application/pdf", "fulltext", "deposit", f"10.1234/a{n}")
            for n in reversed(range(files))  # not in order: the record sorts them
        },
        bag_info={"Source-Organization": ["Éditions « Ouest »"], "Empty": []},
    )


@pytest.mark.parametrize(("items", "files"), [(0, 0), (1, 0), (0, 1), (3, 5), (40, 90)])
def test_streamed_record_is_byte_identical(items: int, files: int) -> None:
    record = _record(items, files)
    assert "".join(record_pieces(record)).encode("utf-8") == record.to_bytes()


@pytest.mark.parametrize(("items", "files"), [(0, 0), (3, 5)])
def test_record_read_item_by_item_is_the_same_record(items: int, files: int) -> None:
    record = _record(items, files)
    data = json.loads(record.to_bytes())
    assert _record_from(json.loads(record.to_bytes())) == DepositRecord.from_dict(data) == record


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"items": {"not": "a list"}}, "items must be a list"),
        ({"files": ["not", "an", "object"]}, "files must be an object"),
        ({"items": [{"title": "no key"}]}, "key"),
        ({"format": "other/9"}, "unknown format"),
    ],
)
def test_record_read_item_by_item_gives_the_same_errors(change: dict[str, object], message: str) -> None:
    data = {**json.loads(_record(2, 2).to_bytes()), **change}
    with pytest.raises(RecordError) as expected:
        DepositRecord.from_dict(json.loads(json.dumps(data)))
    with pytest.raises(RecordError) as got:
        _record_from(json.loads(json.dumps(data)))
    assert message in expected.value.message
    assert got.value.message == expected.value.message


def _tree(root: Path) -> tuple[set[str], set[str]]:
    for n in range(12):
        (root / f"d{n % 4}" / "sub").mkdir(parents=True, exist_ok=True)
        (root / f"d{n % 4}" / "sub" / f"f{n}").write_bytes(b"x" * n)
    (root / "top.txt").write_text("top")
    files = {str(p) for p in root.rglob("*") if p.is_file()}
    dirs = {str(p) for p in root.rglob("*") if p.is_dir()} | {str(root)}
    return files, dirs


def test_fsync_tree_syncs_every_file_and_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files, dirs = _tree(tmp_path / "v1")
    synced: list[str] = []
    real = hashing.fsync_dir

    def record(path: Path | str) -> None:
        real(path)
        synced.append(str(path))

    monkeypatch.setattr(hashing, "fsync_dir", record)
    hashing.fsync_tree(tmp_path / "v1", threads=4)
    assert sorted(synced) == sorted(files | dirs)  # each once
    assert set(synced[: len(files)]) == files  # the files' data first, then the directories' entries


def test_fsync_tree_raises_when_a_file_cannot_be_synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path / "v1")
    real = hashing.fsync_dir

    def failing(path: Path | str) -> None:
        if str(path).endswith("f7"):
            raise OSError(5, "Input/output error")
        real(path)

    monkeypatch.setattr(hashing, "fsync_dir", failing)
    with pytest.raises(OSError, match="Input/output error"):
        hashing.fsync_tree(tmp_path / "v1", threads=4)
