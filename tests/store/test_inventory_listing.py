"""An object's listing read from its inventory in pieces (``store.listing``, issue 16): the same versions, files,
digests and sizes as the inventory read whole, in the same order; the same errors (a listing it cannot read in
pieces is read whole); and what it holds does not grow with the number of files."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

import strongroom.formats.record_stream as record_stream
import strongroom.store.listing as listing_module
from strongroom.errors import StorageError
from strongroom.store.base import StagedFile, stage_file
from strongroom.store.listing import Listing, SpooledListing
from strongroom.store.ocfl import INVENTORY, OcflStore, _sidecar_bytes

OID = "strongroom:au/issn:2536-0035/2024"


def _commit(store: OcflStore, tmp_path: Path, contents: dict[str, bytes], tag: str) -> int:
    staged: list[StagedFile] = []
    for n, (logical, data) in enumerate(sorted(contents.items())):
        src = tmp_path / "src" / tag / str(n)
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_bytes(data)
        staged.append(stage_file(logical, src))
    return store.commit_version(OID, staged, message=f"commit {tag}", user_name="tester").version


@pytest.fixture
def store(tmp_path: Path) -> OcflStore:
    """An object of two versions: non-ASCII paths, two paths with the same bytes, a file carried forward, one
    changed and one removed."""
    store = OcflStore.create(tmp_path / "root", tmp_path / "staging")
    first = {f"payload/Ébène-{n:03}/a.txt": f"{n}".encode() for n in range(40)}
    first["payload/copy.txt"] = b"7"  # the bytes of Ébène-007: one content file, two logical paths
    _commit(store, tmp_path, first, "1")
    second = {**first, "payload/Ébène-003/a.txt": b"changed", "payload/z-new.txt": b"new", "payload/c.txt": b"7"}
    del second["payload/Ébène-010/a.txt"]
    _commit(store, tmp_path, second, "2")
    store.let_go(OID)
    return store


def test_the_listing_read_in_pieces_is_the_inventory_read_whole(
    store: OcflStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(record_stream, "CHUNK", 50)  # pieces cut everywhere
    monkeypatch.setattr(listing_module, "BATCH", 7)
    with store.listing(OID) as listing:
        assert isinstance(listing, SpooledListing)
        listed = {version: list(listing.files(version)) for version in (1, 2, None)}
        assert OID not in store._inventories  # the inventory was not parsed whole (the store would keep it)
        whole = Listing(store, OID)
        assert listing.head == whole.head == 2
        assert listing.versions == whole.versions and listing.versions[1]["message"] == "commit 1"
        for version in (1, 2, None):
            assert listed[version] == store.files(OID, version)
        assert listing.new_content(1) == whole.new_content(1) == (40, sum(len(f"{n}") for n in range(40)))
        assert listing.new_content(2) == whole.new_content(2) == (2, len(b"changed") + len(b"new"))
        assert listing.has("payload/z-new.txt") and not listing.has("payload/Ébène-010/a.txt")
        with listing.open_file("payload/Ébène-003/a.txt") as fh:
            assert fh.read() == b"changed"
        with listing.open_file("payload/Ébène-003/a.txt", 1) as fh:
            assert fh.read() == b"3"
        with pytest.raises(StorageError, match="no file"):
            listing.open_file("payload/Ébène-010/a.txt")


def _rewrite(store: OcflStore, text: str, *, sidecar: bool = True) -> None:
    obj = store.object_path(OID)
    (obj / INVENTORY).write_text(text, encoding="utf-8")
    if sidecar:
        (obj / f"{INVENTORY}.sha512").write_bytes(_sidecar_bytes(text.encode(), "sha512"))


def test_an_inventory_with_a_member_named_twice_is_read_whole(store: OcflStore) -> None:
    """json keeps the last of a member named twice: such an inventory is read whole, as the store reads it."""
    obj = store.object_path(OID)
    text = (obj / INVENTORY).read_text(encoding="utf-8")
    _rewrite(store, text.replace('\n  "head": "v2",', '\n  "head": "v1",\n  "head": "v2",', 1))
    with store.listing(OID) as listing:
        assert type(listing) is Listing
        assert listing.head == 2 and list(listing.files()) == store.files(OID)


def test_an_inventory_that_does_not_match_its_sidecar_gives_the_stores_own_error(store: OcflStore) -> None:
    obj = store.object_path(OID)
    data = json.loads((obj / INVENTORY).read_text(encoding="utf-8"))
    data["versions"]["v2"]["message"] = "tampered"
    _rewrite(store, json.dumps(data, indent=2, sort_keys=True) + "\n", sidecar=False)
    with pytest.raises(StorageError, match="does not match its sidecar"):
        store.listing(OID).__enter__()


def test_a_missing_object_gives_the_stores_own_error(tmp_path: Path) -> None:
    store = OcflStore.create(tmp_path / "root", tmp_path / "staging")
    with pytest.raises(StorageError, match="no OCFL object"), store.listing(OID):
        pass


def _peak_listing(tmp_path: Path, files: int) -> int:
    """Python's peak heap (bytes) while the files of an object of ``files`` files are listed, over what it held
    before."""
    store = OcflStore.create(tmp_path / f"root-{files}", tmp_path / f"staging-{files}")
    _commit(store, tmp_path, {f"payload/article-{n:06}/full-text.pdf": b"%d" % n for n in range(files)}, str(files))
    store.let_go(OID)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        with store.listing(OID) as listing:
            assert sum(1 for _f in listing.files()) == files
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_listing_four_times_the_files_holds_no_more(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The inventory read whole holds about 1 KB a file (1,200 more files: over 1 MB more); listed, the files are
    in the temporary database (SQLite's own memory, a page cache of fixed size, is not Python's heap), and what
    Python holds is a window of text and a batch of rows, whatever the number of files."""
    monkeypatch.setattr(listing_module, "BATCH", 100)
    small, large = _peak_listing(tmp_path, 400), _peak_listing(tmp_path, 1600)
    assert large < small + 64 * 1024, (small, large)
