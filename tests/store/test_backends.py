"""The ObjectStore protocol, the same on every backend: each test runs against the local OCFL root and against an
OCFL root in an S3 bucket served over real HTTP (moto's server mode). Versions and deduplication, refused paths
and bytes, the object lock, byte ranges, peer paths, installs from another copy, repairs, removal, the fixity
audit finding damaged, missing and stray files, and a crash at every step of a write recovering to one version."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from store_support import OID, Store, commit, read, staged

from strongroom.errors import ObjectBusy, StorageError
from strongroom.store.base import StagedFile, stage_file
from strongroom.store.fixity import FileStatus, audit_object
from strongroom.store.ocfl import OcflStore
from strongroom.store.paths import object_hash
from strongroom.store.s3 import S3Store

# ---- reaching behind the store, as a failing disk or a careless operator would -----------------------------------


def raw_files(store: Store, oid: str = OID) -> dict[str, bytes]:
    """Every file of the object as stored, by its path inside the object."""
    if isinstance(store, OcflStore):
        root = store.object_path(oid)
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    out = {}
    for rel, _size in store.stored(oid):
        out[rel] = store.client.get_object(Bucket=store.bucket, Key=f"{store.object_key(oid)}/{rel}")["Body"].read()
    return out


def overwrite(store: Store, rel: str, data: bytes, oid: str = OID) -> None:
    if isinstance(store, OcflStore):
        path = store.object_path(oid) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    else:
        store.client.put_object(Bucket=store.bucket, Key=f"{store.object_key(oid)}/{rel}", Body=data)


def delete(store: Store, rel: str, oid: str = OID) -> None:
    if isinstance(store, OcflStore):
        (store.object_path(oid) / rel).unlink()
    else:
        store.client.delete_object(Bucket=store.bucket, Key=f"{store.object_key(oid)}/{rel}")


def reopen(store: Store) -> Store:
    if isinstance(store, OcflStore):
        return OcflStore.open(store.root, store.staging)
    return S3Store.open(store.client, store.bucket, store.prefix, store.staging)


@pytest.fixture
def store(make_store: Any) -> Store:
    return make_store()  # type: ignore[no-any-return]


# ---- versions -------------------------------------------------------------------------------------------------


def test_versions_share_unchanged_content(store: Store, tmp_path: Path) -> None:
    assert commit(store, tmp_path, {"a.pdf": b"A" * 1000, "b/c.xml": b"<c/>"}) == 1
    result = store.commit_version(
        OID, staged(tmp_path, {"a.pdf": b"A" * 1000, "b/c.xml": b"<c2/>", "d.txt": b"d"}), message="fix", user_name="t"
    )
    assert (result.version, result.new_content_files, result.new_bytes) == (2, 2, 6)
    assert (result.added, result.modified, result.removed) == (["d.txt"], ["b/c.xml"], [])
    assert store.exists(OID) and not store.exists("strongroom:au/none")
    assert store.head_version(OID) == 2
    assert [v["version"] for v in store.versions(OID)] == [1, 2]
    assert store.versions(OID)[1]["message"] == "fix"
    assert read(store, "b/c.xml", 1) == b"<c/>" and read(store, "b/c.xml") == b"<c2/>"
    assert store.content_path(OID, "a.pdf") == "v1/content/a.pdf"
    assert [(f.logical_path, f.content_path, f.size) for f in store.files(OID)] == [
        ("a.pdf", "v1/content/a.pdf", 1000),
        ("b/c.xml", "v2/content/b/c.xml", 5),
        ("d.txt", "v2/content/d.txt", 1),
    ]
    assert all(f.sha512 and f.sha256 for f in store.files(OID))
    assert store.stored_bytes(OID) == 1000 + 4 + 5 + 1
    assert [f.source for f in store.current_files(OID)] == [None, None, None]
    # Carrying the head forward stores nothing new.
    again = store.commit_version(OID, store.current_files(OID), message="same", user_name="t")
    assert again.unchanged and again.version == 2
    moved = [StagedFile("z.pdf", None, f.size, f.sha512, f.sha256) for f in store.current_files(OID)[:1]]
    assert store.commit_version(OID, moved, message="moved", user_name="t").new_content_files == 0
    assert read(store, "z.pdf") == b"A" * 1000
    assert list(reopen(store).iter_object_ids()) == [OID]


def test_every_object_is_found_by_walking_the_storage(store: Store, tmp_path: Path) -> None:
    ids = [f"strongroom:au/issn:2536-0035/{year}" for year in (2020, 2021, 2022)]
    for oid in ids:
        commit(store, tmp_path, {"x": oid.encode()}, oid)
    assert sorted(store.iter_object_ids()) == sorted(ids)


@pytest.mark.parametrize("bad", ["../escape", "/abs", "a//b", "a\\b"])
def test_unsafe_logical_paths_are_refused(store: Store, tmp_path: Path, bad: str) -> None:
    src = tmp_path / "f"
    src.write_bytes(b"x")
    with pytest.raises(StorageError, match="invalid logical paths"):
        store.commit_version(OID, [stage_file(bad, src)], message="m", user_name="t")
    assert not store.exists(OID)


def test_bytes_that_changed_since_hashing_leave_nothing(store: Store, tmp_path: Path) -> None:
    commit(store, tmp_path, {"a": b"1"})
    files = staged(tmp_path, {"a": b"1", "b": b"original"})
    assert files[1].source is not None
    files[1].source.write_bytes(b"tampered")
    with pytest.raises(StorageError, match="changed while being stored"):
        store.commit_version(OID, files, message="m", user_name="t")
    assert store.head_version(OID) == 1
    assert sorted(raw_files(store)) == sorted(
        [
            "0=ocfl_object_1.1",
            "inventory.json",
            "inventory.json.sha512",
            "v1/inventory.json",
            "v1/inventory.json.sha512",
            "v1/content/a",
        ]
    )
    assert reopen(store).recover() == []


def test_a_second_writer_is_told_the_object_is_busy(store: Store, tmp_path: Path) -> None:
    import fcntl

    locks = store.staging / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with (locks / f"{object_hash(OID)}.lock").open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        with pytest.raises(ObjectBusy, match="another process"):
            commit(store, tmp_path, {"a": b"1"})


def test_a_sha256_storage_root(make_store: Any, tmp_path: Path) -> None:
    store = make_store("sha256root", digest_algorithm="sha256")
    commit(store, tmp_path, {"a": b"1"})
    inv = store.inventory(OID)
    assert inv["digestAlgorithm"] == "sha256" and "sha512" in inv["fixity"]
    assert "inventory.json.sha256" in raw_files(store)


# ---- reading --------------------------------------------------------------------------------------------------


def test_byte_ranges_read_exactly_the_window(store: Store, tmp_path: Path) -> None:
    data = bytes(range(256)) * 40
    commit(store, tmp_path, {"big.bin": data, "empty": b""})
    cases = [(0, None), (0, 10), (100, 50), (10_000, None), (10_230, 100), (len(data), None), (len(data) + 5, 10)]
    for start, length in cases:
        with store.open_file(OID, "big.bin", start=start, length=length) as fh:
            end = len(data) if length is None else start + length
            assert fh.read() == data[start:end], (start, length)
    with store.open_file(OID, "big.bin", start=5, length=0) as fh:
        assert fh.read() == b""
    with store.open_file(OID, "empty") as fh:
        assert fh.read() == b""
    with store.open_file(OID, "big.bin") as fh:  # a seekable stream, as votes and polls use it
        assert fh.seek(0, io.SEEK_END) == len(data)
        fh.seek(300)
        assert fh.read(4) == data[300:304]
        fh.seek(-2, io.SEEK_END)
        assert fh.read() == data[-2:]
    cp = store.content_path(OID, "big.bin")
    with store.open_content(OID, cp, start=1000, length=24) as fh:
        assert fh.read() == data[1000:1024]
    assert store.content_size(OID, cp) == len(data)


def test_peers_may_read_only_the_objects_files(store: Store, tmp_path: Path) -> None:
    commit(store, tmp_path, {"a": b"1"})
    inventory = store.open_content(OID, "v1/inventory.json").read()
    assert store.open_content(OID, "inventory.json").read() == inventory
    assert store.open_content(OID, "inventory.json.sha512").read().endswith(b"  inventory.json\n")
    for bad in ("0=ocfl_object_1.1", "../x", "v1/content/../inventory.json", "v2/content/a", "v1/content"):
        with pytest.raises(StorageError):
            store.open_content(OID, bad)
    with pytest.raises(StorageError, match="no OCFL object"):
        store.inventory("strongroom:au/none")


# ---- replication and repair --------------------------------------------------------------------------------------


def _versions_from(source: Store, target: Store, versions: range) -> None:
    for n in versions:
        inventory = source.open_content(OID, f"v{n}/inventory.json").read()

        def fetch(cp: str) -> Iterator[bytes]:
            with source.open_content(OID, cp) as fh:
                while chunk := fh.read(7):
                    yield chunk

        assert target.install_version(OID, inventory, fetch) == n


def test_a_copy_installed_from_another_backend_is_identical(make_store: Any, tmp_path: Path) -> None:
    source = make_store("source")
    commit(source, tmp_path, {"a.pdf": b"%PDF" * 500, "b.xml": b"<b/>"})
    commit(source, tmp_path, {"a.pdf": b"%PDF" * 500, "b.xml": b"<b>2</b>", "c": b"c"})
    local = OcflStore.create(tmp_path / "other", tmp_path / "other-staging")
    target = make_store("target")
    _versions_from(source, local, range(1, 3))  # this backend to disk ...
    _versions_from(local, target, range(1, 3))  # ... and back
    assert raw_files(target) == raw_files(source) == raw_files(local)
    assert all(c.status is FileStatus.OK for c in audit_object(target, OID).checks)


def test_an_install_that_does_not_match_installs_nothing(make_store: Any, tmp_path: Path) -> None:
    source = make_store("source")
    commit(source, tmp_path, {"a.pdf": b"%PDF" * 500})
    target = make_store("target")
    inventory = source.open_content(OID, "v1/inventory.json").read()

    def broken(cp: str) -> Iterator[bytes]:
        yield b"%PDF"
        raise StorageError("the peer went away")

    with pytest.raises(StorageError, match="went away"):
        target.install_version(OID, inventory, broken)
    with pytest.raises(StorageError, match="does not match its inventory"):
        target.install_version(OID, inventory, lambda cp: iter([b"not the bytes"]))
    assert not target.exists(OID) and list(target.iter_object_ids()) == []
    assert reopen(target).recover() == []
    if isinstance(target, S3Store):
        assert list(target.stored(OID)) == []


def _malformed(inventory: dict[str, Any]) -> list[tuple[str, bytes, str]]:
    """Inventories another copy could offer for OID (a hostile or broken peer), each with what the store must say."""

    def changed(**fields: Any) -> bytes:
        return json.dumps({**inventory, **fields}).encode()

    digest = next(iter(inventory["manifest"]))
    return [
        ("not json", b"<html>not an inventory</html>", "is not JSON"),
        ("nested past the parser's depth", b"[" * 200_000 + b"]" * 200_000, "is not JSON"),
        ("another object", changed(id="urn:other"), "is not for"),
        ("a list", b"[]", "is not for"),
        ("no algorithm", changed(digestAlgorithm="md5"), "no usable digest algorithm"),
        ("a head not a version", changed(head=1), "is malformed"),
        ("a head of v0", changed(head="v0"), "is malformed"),
        ("a manifest that is a list", changed(manifest=["v1/content/a.pdf"]), "is malformed"),
        ("a manifest entry that is no list", changed(manifest={digest: "v1/content/a.pdf"}), "is malformed"),
        ("a content path that is a number", changed(manifest={digest: [7]}), "is malformed"),
        ("a fixity block that is a list", changed(fixity=[]), "is malformed"),
        ("a path out of the object", changed(manifest={digest: ["v1/../../../etc/x"]}), "'.' or '..' segment"),
    ]


def test_an_offered_inventory_of_the_wrong_shape_is_refused_before_anything_is_fetched(
    make_store: Any, tmp_path: Path
) -> None:
    """What a peer offers for replication is read as a hostile peer could write it: each wrong shape a
    StorageError naming it (which a replication round records, and goes on), no file fetched, nothing written."""
    source = make_store("source")
    commit(source, tmp_path, {"a.pdf": b"%PDF" * 500})
    target = make_store("target")
    inventory = json.loads(source.open_content(OID, "v1/inventory.json").read())
    fetched: list[str] = []

    def fetch(cp: str) -> Iterator[bytes]:
        fetched.append(cp)
        yield b"%PDF" * 500

    for case, offered, why in _malformed(inventory):
        with pytest.raises(StorageError, match=why):
            target.install_version(OID, offered, fetch)
        assert fetched == [], case
    assert not target.exists(OID) and list(target.iter_object_ids()) == []
    assert not (tmp_path / "etc").exists()


def test_a_damaged_file_is_replaced_only_by_the_right_bytes(store: Store, tmp_path: Path) -> None:
    commit(store, tmp_path, {"a.pdf": b"%PDF right", "b": b"b"})
    overwrite(store, "v1/content/a.pdf", b"%PDF wrong")
    with pytest.raises(StorageError, match="does not match"):
        store.replace_content(OID, "v1/content/a.pdf", [b"%PDF also wrong"])
    assert raw_files(store)["v1/content/a.pdf"] == b"%PDF wrong"
    with pytest.raises(StorageError, match="not in the manifest"):
        store.replace_content(OID, "v1/content/zzz", [b"x"])
    store.replace_content(OID, "v1/content/a.pdf", [b"%PDF ", b"right"])
    assert read(store, "a.pdf") == b"%PDF right"
    delete(store, "v1/content/b")
    store.replace_content(OID, "v1/content/b", [b"b"])
    assert all(c.status is FileStatus.OK for c in audit_object(store, OID).checks)


def test_an_object_is_removed_whole(store: Store, tmp_path: Path) -> None:
    other = "strongroom:au/issn:2536-0035/2025"
    commit(store, tmp_path, {"a": b"1"})
    commit(store, tmp_path, {"a": b"2"})
    commit(store, tmp_path, {"o": b"o"}, other)
    store.remove_object(OID)
    assert not store.exists(OID) and list(store.iter_object_ids()) == [other]
    assert list(store.stored(OID)) == []
    with pytest.raises(StorageError, match="no OCFL object"):
        store.remove_object(OID)
    assert read(store, "o", oid=other) == b"o"
    assert commit(store, tmp_path, {"a": b"3"}) == 1  # the id can be used again, from scratch


# ---- audit ----------------------------------------------------------------------------------------------------


def test_the_audit_finds_damaged_missing_and_stray_files(store: Store, tmp_path: Path) -> None:
    commit(store, tmp_path, {"a.pdf": b"%PDF-1.4 " * 100, "b.xml": b"<b/>", "c.txt": b"c"})
    assert {c.status for c in audit_object(store, OID).checks} == {FileStatus.OK}
    overwrite(store, "v1/content/a.pdf", b"%PDF-1.4 " * 99 + b"%PDF-1.5 ")
    delete(store, "v1/content/b.xml")
    overwrite(store, "v1/content/stray.bin", b"who put this here?")
    audit = audit_object(store, OID)
    status = {c.content_path: (c.status, c.code) for c in audit.checks}
    assert status == {
        "v1/content/a.pdf": (FileStatus.DAMAGED, "A001"),
        "v1/content/b.xml": (FileStatus.MISSING, "A002"),
        "v1/content/c.txt": (FileStatus.OK, ""),
        "v1/content/stray.bin": (FileStatus.UNEXPECTED, "A004"),
    }
    overwrite(store, "inventory.json.sha512", b"0" * 128 + b"  inventory.json\n")
    assert [f.code for f in audit_object(store, OID).inventory_findings] == ["A005"]


# ---- crashes --------------------------------------------------------------------------------------------------


class Death(BaseException):
    """A process dying: no ``except Exception`` clean-up runs (the ``finally`` blocks that do run remove only scratch
    files, and a marker of the write is put back by hand where the backend keeps one)."""


STEPS = {"ocfl-local": ["version-staged", "version-renamed", "inventory-replaced", "committed"]}
STEPS["ocfl-s3"] = ["content-uploaded", "version-written", "inventory-replaced", "committed"]
BEFORE_COMMIT_POINT = {"version-staged", "content-uploaded", "version-written"}


@pytest.mark.parametrize("at", range(4))
def test_a_crash_at_any_step_of_an_update_recovers_to_one_version(
    store: Store, backend: str, tmp_path: Path, at: int
) -> None:
    step = STEPS[backend][at]
    commit(store, tmp_path, {"a": b"1", "b": b"2"})

    def die(here: str) -> None:
        if here == step:
            raise Death(here)

    store.fault = die
    with pytest.raises(Death):
        commit(store, tmp_path, {"a": b"1", "b": b"22", "c": b"3"})
    if isinstance(store, OcflStore):  # the local store's work directory went in a finally block: put it back
        work = store.staging / f"commit-{object_hash(OID)[:16]}-dead"
        work.mkdir()
        (work / "object-id").write_text(OID)
    else:  # the S3 store's marker of the write stays, as a dead process leaves it
        assert list((store.staging / "s3-writes").iterdir())
    fresh = reopen(store)
    assert fresh.recover() != []
    assert fresh.recover() == []  # idempotent
    rolled_back = step in BEFORE_COMMIT_POINT
    assert fresh.head_version(OID) == (1 if rolled_back else 2)
    assert read(fresh, "b") == (b"2" if rolled_back else b"22")
    assert {c.status for c in audit_object(fresh, OID).checks} == {FileStatus.OK}
    assert not any(p.startswith("v2/") for p in raw_files(fresh)) if rolled_back else True


def test_a_crash_while_creating_an_object_leaves_no_object(store: Store, tmp_path: Path) -> None:
    def die(here: str) -> None:
        raise Death(here)

    store.fault = die
    with pytest.raises(Death):
        commit(store, tmp_path, {"a": b"1"})
    if isinstance(store, OcflStore):
        work = store.staging / f"commit-{object_hash(OID)[:16]}-dead"
        work.mkdir()
        (work / "object-id").write_text(OID)
    fresh = reopen(store)
    fresh.recover()
    assert not fresh.exists(OID) and list(fresh.iter_object_ids()) == []
    assert list(fresh.stored(OID)) == []
