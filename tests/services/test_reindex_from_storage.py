"""A catalog rebuild from storage (``Indexer.reindex``, ``strongroom reindex``): rows that already agree with the
stored objects are read, not written again (their ids stay), rows that disagree are made the record's exactly as a
fresh catalogue makes them, every item is still queued for the search index, and the command shows the objects and
items done and says what it did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import delete, event, select, update

from strongroom.catalog.models import ArchivalUnit, File, Item, SearchQueue
from strongroom.node import Node
from strongroom.services.indexer import ReindexReport
from tests_support import cli


def _bags(sample_dir: Path) -> list[Path]:
    return sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))


def _rows(node: Node) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """The catalog's items and files as the record makes them (ids aside; a file's item by its key)."""
    with node.catalog.session() as s:
        items = {
            tuple(r)
            for r in s.execute(
                select(
                    ArchivalUnit.key, Item.item_key, Item.public_id, Item.title, Item.doi, Item.year, Item.pages
                ).join(ArchivalUnit, Item.au_id == ArchivalUnit.id)
            )
        }
        files = {
            tuple(r)
            for r in s.execute(
                select(
                    ArchivalUnit.key,
                    File.logical_path,
                    Item.item_key,
                    File.size,
                    File.sha512,
                    File.sha256,
                    File.media_type,
                    File.role,
                    File.source,
                    File.version,
                )
                .join(ArchivalUnit, File.au_id == ArchivalUnit.id)
                .outerjoin(Item, File.item_id == Item.id)
            )
        }
    return items, files


def _ids(node: Node) -> tuple[dict[str, int], dict[str, int]]:
    with node.catalog.session() as s:
        items = {str(k): int(i) for k, i in s.execute(select(Item.item_key, Item.id))}
        files = {str(p): int(i) for p, i in s.execute(select(File.logical_path, File.id))}
    return items, files


def test_a_reindex_of_an_unchanged_catalog_writes_no_item_or_file_row(node: Node, sample_dir: Path) -> None:
    results = [node.ingest.deposit(p) for p in _bags(sample_dir)[:2]]
    with node.catalog.session() as s:
        s.execute(delete(SearchQueue))
        total = len(list(s.scalars(select(Item.id))))
    before, ids = _rows(node), _ids(node)
    writes: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        words = statement.split()
        if words[0] in ("INSERT", "UPDATE", "DELETE") and words[1 if words[0] == "UPDATE" else 2] in ("items", "files"):
            writes.append(" ".join(words[:3]))

    event.listen(node.catalog.engine, "before_cursor_execute", seen)
    try:
        report = node.indexer.reindex(search=False)
    finally:
        event.remove(node.catalog.engine, "before_cursor_execute", seen)
    assert writes == []  # every row was read and found as the record has it
    assert sorted(report.done) == sorted(f"{r.au_key} v{r.version}" for r in results) and report.items == total
    assert _rows(node) == before and _ids(node) == ids
    with node.catalog.session() as s:  # every item is queued all the same: the search index is brought up to date
        assert sorted(s.scalars(select(SearchQueue.item_id))) == sorted(ids[0].values())


def test_a_reindex_makes_disagreeing_rows_the_records_and_keeps_the_others(node: Node, sample_dir: Path) -> None:
    node.ingest.deposit(_bags(sample_dir)[0])
    expected, (item_ids, file_ids) = _rows(node), _ids(node)
    with node.catalog.session() as s:
        first, second = s.execute(select(Item.id, Item.item_key).order_by(Item.id).limit(2)).all()
        s.execute(update(Item).where(Item.id == first.id).values(title="Tampered", pages="1-999"))
        changed, dropped = s.execute(select(File.id, File.logical_path).order_by(File.id).limit(2)).all()
        s.execute(update(File).where(File.id == changed.id).values(sha512="0" * 128, size=1))  # A006
        s.execute(delete(File).where(File.id == dropped.id))  # A007: a file the catalog lacks ...
        au_id, item_id = s.execute(select(File.au_id, File.item_id).where(File.item_id.is_not(None))).first()
        s.execute(  # ... and one it lists that the object does not hold
            File.metadata.tables["files"].insert(),
            [
                {
                    "au_id": au_id,
                    "item_id": item_id,
                    "logical_path": "data/ghost.pdf",
                    "size": 3,
                    "sha512": "1" * 128,
                    "sha256": "2" * 64,
                    "media_type": "application/pdf",
                    "role": "pdf",
                    "source": "deposit",
                    "version": 1,
                }
            ],
        )
    assert {f.code for a in node.audits.audit().aus for f in a.findings} == {"A006", "A007"}
    node.indexer.reindex()
    assert _rows(node) == expected and node.audits.audit().intact
    now_items, now_files = _ids(node)
    assert now_items == item_ids  # items keep their ids, and the files that agreed theirs
    kept = {p for p in file_ids if p not in (changed.logical_path, dropped.logical_path)}
    assert {p: now_files[p] for p in kept} == {p: file_ids[p] for p in kept} and "data/ghost.pdf" not in now_files
    assert second.item_key in now_items


def test_reindex_reports_objects_done_of_all_and_the_items_so_far(node: Node, sample_dir: Path) -> None:
    for bag in _bags(sample_dir)[:3]:
        node.ingest.deposit(bag)
    with node.catalog.session() as s:
        per_au = {str(k): int(n) for k, n in s.execute(select(ArchivalUnit.key, ArchivalUnit.item_count))}
    report = ReindexReport()
    seen: list[tuple[int, int, int]] = []
    returned = node.indexer.reindex(progress=lambda n, total: seen.append((n, total, report.items)), report=report)
    assert returned is report and [(n, total) for n, total, _ in seen] == [(1, 3), (2, 3), (3, 3)]
    done = [per_au[entry.rsplit(" ", 1)[0]] for entry in report.done]
    assert [items for _, _, items in seen] == [sum(done[:n]) for n in (1, 2, 3)] and report.items == sum(done)


def test_the_command_says_how_many_objects_and_items_it_catalogued(node: Node, sample_dir: Path) -> None:
    results = [node.ingest.deposit(p) for p in _bags(sample_dir)[:2]]
    items = sum(r.items for r in results)
    home = node.settings.home
    node.close()
    result = cli(home)("reindex")
    assert result.returncode == 0, result.stderr
    [summary] = [line for line in result.stdout.splitlines() if line.startswith("Catalogued")]
    assert summary.startswith(f"Catalogued 2 objects ({items:,} items) in ")
    assert all(f"{r.au_key} v{r.version}" in summary for r in results)  # a few objects are named one by one
    assert f"Updated the search index: {items:,} items." in result.stdout
