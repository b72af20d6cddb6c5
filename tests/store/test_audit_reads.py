"""An audit reads each object's root inventory and its sidecar once, not once per file: while a reader holds an
object still (``reading``), the store keeps the inventory it checked and does not look again whether it changed
(a stat and a glob of the sidecars on disk, a LIST on S3) for every file opened; the hold's end lets it go. And its small files are handed to the hashing threads in batches, not one task each."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from store_support import OID, Store, commit

from strongroom.errors import StorageError
from strongroom.store.fixity import BATCH_BYTES, BATCH_FILES, FileStatus, audit_object, batches, schedule
from strongroom.store.locks import Held
from strongroom.store.ocfl import INVENTORY, OcflStore


@pytest.fixture
def store(make_store: Any) -> Store:
    return make_store()  # type: ignore[no-any-return]


def _count_root_looks(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every time the store looks at the object's root inventory to see whether it changed: a glob of its sidecars
    next to it on disk, a LIST of its keys on S3."""
    looks: list[str] = []
    if isinstance(store, OcflStore):
        root, glob = store.object_path(OID), pathlib.Path.glob

        def spy_glob(self: Path, pattern: str, *args: Any, **kwargs: Any) -> Iterator[Path]:
            if self == root and pattern.startswith(INVENTORY):
                looks.append(pattern)
            return glob(self, pattern, *args, **kwargs)

        monkeypatch.setattr(pathlib.Path, "glob", spy_glob)
    else:
        listing = store._list

        def spy_list(prefix: str) -> Iterator[tuple[str, int, str]]:
            if prefix == f"{store.object_key(OID)}/{INVENTORY}":
                looks.append(prefix)
            return listing(prefix)

        monkeypatch.setattr(store, "_list", spy_list)
    return looks


def test_an_audit_of_fifty_files_looks_at_the_inventory_once(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit(store, tmp_path, {f"pages/{i:02d}.xml": f"<page n='{i}'/>".encode() for i in range(50)})
    looks = _count_root_looks(store, monkeypatch)
    audit = audit_object(store, OID)
    assert len(audit.checks) == 50 and {c.status for c in audit.checks} == {FileStatus.OK}
    assert len(looks) == 1  # before: 55, one for the inventory and one for each file read (the 50, and 4 inventories)
    audit_object(store, OID)
    assert len(looks) == 2  # once again the next audit: what the first hold kept went with it


def test_a_change_after_the_hold_is_seen_and_peers_are_still_refused_within_it(store: Store, tmp_path: Path) -> None:
    commit(store, tmp_path, {"a.xml": b"<a/>"})
    with store.reading(OID):
        assert store.head_version(OID) == 1
        with pytest.raises(StorageError, match="is not a file of object"):
            store.open_content(OID, "v1/content/b.xml")  # the kept inventory still decides what may be read
    commit(store, tmp_path, {"a.xml": b"<a/>", "b.xml": b"<b/>"})
    with store.reading(OID):
        assert store.head_version(OID) == 2
        with store.open_content(OID, "v2/content/b.xml") as fh:
            assert fh.read() == b"<b/>"


def test_only_what_was_read_within_the_hold_still_on_is_kept() -> None:
    held: Held[str] = Held()
    before = held.token("x")  # no reader: read now, it may predate a write published before the hold begins
    with held.holding("x"):
        held.keep("x", before, "read before the hold")
        assert held.get("x") is None
        first = held.token("x")
    with held.holding("x"):
        held.keep("x", first, "read in a hold that has ended")
        assert held.get("x") is None
        held.keep("x", held.token("x"), "read in this hold")
        with held.holding("x"):  # a second reader of the same object shares the hold
            assert held.get("x") == "read in this hold"
        assert held.get("x") == "read in this hold"  # the first reader still holds it
    assert held.get("x") is None and held.token("x") is None


def test_small_files_go_to_the_threads_in_batches_and_a_large_one_alone() -> None:
    expected = {f"v1/content/{i:03d}": {"sha512": "x"} for i in range(200)} | {"v1/content/big": {"sha512": "y"}}
    sizes = {cp: 1000 for cp in expected} | {"v1/content/big": BATCH_BYTES + 1}
    order = schedule(expected, sizes)
    runs = list(batches(order, sizes))
    assert [len(r) for r in runs] == [1, BATCH_FILES, BATCH_FILES, BATCH_FILES, 200 - 3 * BATCH_FILES]
    assert [item for r in runs for item in r] == order  # every file once, in the schedule's order
