"""The OCFL storage root: versions, deduplication, path rules, locking, crash recovery at every step, and an
independent validator's verdict."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocfl.layout_0003_hash_and_id_n_tuple import Layout_0003_Hash_And_Id_N_Tuple

from strongroom.errors import ObjectBusy, StorageError
from strongroom.store.fixity import FileStatus, audit_object
from strongroom.store.ocfl import OcflStore, StagedFile, stage_file
from strongroom.store.paths import hash_and_id_path, object_hash

OID = "strongroom:au/issn:2536-0035/2024"


def validate(root: Path) -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ocfl-validate.py"), str(root)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture
def store(tmp_path: Path) -> OcflStore:
    return OcflStore.create(tmp_path / "root", tmp_path / "staging")


def files(tmp_path: Path, contents: dict[str, bytes]) -> list[StagedFile]:
    out = []
    for i, (logical, data) in enumerate(sorted(contents.items())):
        src = tmp_path / "src" / f"{i}-{object_hash(logical)[:8]}"
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_bytes(data)
        out.append(stage_file(logical, src))
    return out


def commit(store: OcflStore, tmp_path: Path, contents: dict[str, bytes], oid: str = OID) -> int:
    return store.commit_version(
        oid, files(tmp_path, contents), message="test", user_name="tester", user_address="mailto:tester@example.org"
    ).version


def test_versions_share_unchanged_content(store: OcflStore, tmp_path: Path) -> None:
    assert commit(store, tmp_path, {"a.pdf": b"A" * 1000, "b/c.xml": b"<c/>"}) == 1
    result = store.commit_version(
        OID,
        files(tmp_path, {"a.pdf": b"A" * 1000, "b/c.xml": b"<c2/>", "d.txt": b"d"}),
        message="fix",
        user_name="tester",
    )
    assert (result.version, result.new_content_files) == (2, 2)
    assert result.modified == ["b/c.xml"] and result.added == ["d.txt"] and result.removed == []
    inventory = store.inventory(OID)
    assert store.state(OID, 1)["a.pdf"] == store.state(OID, 2)["a.pdf"]  # one digest, stored once, used twice
    assert inventory["manifest"][store.state(OID, 2)["a.pdf"]] == ["v1/content/a.pdf"]
    content = sorted(
        p.relative_to(store.object_path(OID)).as_posix()
        for p in store.object_path(OID).rglob("*")
        if p.is_file() and "/content/" in p.as_posix()
    )
    assert content == ["v1/content/a.pdf", "v1/content/b/c.xml", "v2/content/b/c.xml", "v2/content/d.txt"]
    assert store.open_file(OID, "b/c.xml").read() == b"<c2/>"
    assert store.open_file(OID, "b/c.xml", version=1).read() == b"<c/>"
    assert set(inventory["fixity"]["sha256"]) and inventory["digestAlgorithm"] == "sha512"
    validate(store.root)


def test_identical_state_is_not_a_new_version(store: OcflStore, tmp_path: Path) -> None:
    commit(store, tmp_path, {"a": b"1"})
    before = sorted(store.root.rglob("*"))
    again = store.commit_version(OID, files(tmp_path, {"a": b"1"}), message="again", user_name="t")
    assert again.unchanged and again.version == 1
    assert sorted(store.root.rglob("*")) == before


def test_a_file_can_move_without_new_content(store: OcflStore, tmp_path: Path) -> None:
    commit(store, tmp_path, {"old/name.pdf": b"%PDF-same"})
    result = store.commit_version(OID, files(tmp_path, {"new/name.pdf": b"%PDF-same"}), message="mv", user_name="t")
    assert result.new_content_files == 0 and result.added == ["new/name.pdf"] and result.removed == ["old/name.pdf"]
    validate(store.root)


@pytest.mark.parametrize("bad", ["../escape", "/abs", "a//b", "a/./b", "a\\b", "", "dir/..", "a\0b"])
def test_unsafe_logical_paths_are_refused(store: OcflStore, tmp_path: Path, bad: str) -> None:
    src = tmp_path / "x"
    src.write_bytes(b"x")
    staged = stage_file("ok", src)
    with pytest.raises(StorageError, match="logical path"):
        store.commit_version(
            OID, [StagedFile(bad, src, staged.size, staged.sha512, staged.sha256)], message="m", user_name="t"
        )
    assert not store.exists(OID)


def test_file_and_directory_conflict_is_refused(store: OcflStore, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="both a file and a directory"):
        store.commit_version(OID, files(tmp_path, {"a": b"1", "a/b": b"2"}), message="m", user_name="t")


def test_bytes_that_changed_since_hashing_are_refused(store: OcflStore, tmp_path: Path) -> None:
    [staged] = files(tmp_path, {"a.pdf": b"original"})
    staged.source.write_bytes(b"tampered")
    with pytest.raises(StorageError, match="changed while being stored"):
        store.commit_version(OID, [staged], message="m", user_name="t")
    assert not store.exists(OID)
    assert [p.name for p in (tmp_path / "staging").iterdir()] == ["locks"]


def test_a_second_writer_is_told_the_object_is_busy(store: OcflStore, tmp_path: Path) -> None:
    locks = tmp_path / "staging" / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with (locks / f"{object_hash(OID)}.lock").open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        with pytest.raises(ObjectBusy, match="another process"):
            commit(store, tmp_path, {"a": b"1"})


class Crash(Exception):
    pass


@pytest.mark.parametrize("step", ["version-staged", "version-renamed", "inventory-replaced", "committed"])
def test_a_crash_at_any_step_of_an_update_recovers_to_one_version(store: OcflStore, tmp_path: Path, step: str) -> None:
    commit(store, tmp_path, {"a": b"1", "b": b"2"})

    def crash(at: str) -> None:
        if at == step:
            raise Crash(at)

    store.fault = crash
    with pytest.raises(Crash):
        store.commit_version(OID, files(tmp_path, {"a": b"1", "b": b"22"}), message="m", user_name="t")
    # Simulate the process dying: the work directory was removed by the finally block, so put one back the way
    # a killed process leaves it (a dead process runs no finally blocks).
    work = tmp_path / "staging" / f"commit-{object_hash(OID)[:16]}-dead"
    work.mkdir()
    (work / "object-id").write_text(OID)
    fresh = OcflStore.open(store.root, store.staging)
    fresh.recover()
    assert fresh.recover() == []  # idempotent
    expected_version = 1 if step == "version-staged" else 2
    assert fresh.head_version(OID) == expected_version
    assert fresh.open_file(OID, "b").read() == (b"2" if expected_version == 1 else b"22")
    assert not any(f.status is not FileStatus.OK for f in audit_object(fresh, OID).checks)
    validate(store.root)


def test_a_torn_sidecar_is_rewritten_on_recovery(store: OcflStore, tmp_path: Path) -> None:
    commit(store, tmp_path, {"a": b"1"})
    commit(store, tmp_path, {"a": b"2"})
    obj = store.object_path(OID)
    (obj / "inventory.json.sha512").write_bytes((obj / "v1" / "inventory.json.sha512").read_bytes())
    work = store.staging / f"commit-{object_hash(OID)[:16]}-dead"
    work.mkdir()
    (work / "object-id").write_text(OID)
    assert any("sidecar" in a for a in store.recover())
    validate(store.root)


def test_crash_while_creating_an_object_leaves_no_object(store: OcflStore, tmp_path: Path) -> None:
    def crash(at: str) -> None:
        raise Crash(at)

    store.fault = crash
    with pytest.raises(Crash):
        commit(store, tmp_path, {"a": b"1"})
    assert not store.exists(OID)
    assert list(store.iter_object_ids()) == []
    validate(store.root)


def test_damaged_inventories_are_reported(store: OcflStore, tmp_path: Path) -> None:
    commit(store, tmp_path, {"a": b"1"})
    commit(store, tmp_path, {"a": b"2"})
    obj = store.object_path(OID)
    v1 = obj / "v1" / "inventory.json"
    v1.write_text(v1.read_text().replace("tester", "mallory"))
    audit = audit_object(store, OID)
    assert [f.code for f in audit.inventory_findings] == ["A005"]
    (obj / "inventory.json").write_text(json.dumps({"id": OID}))
    with pytest.raises(StorageError):
        store.inventory(OID)
    assert [f.code for f in audit_object(store, OID).inventory_findings] == ["A005"]


def test_sha256_storage_root(tmp_path: Path) -> None:
    store = OcflStore.create(tmp_path / "root", tmp_path / "staging", digest_algorithm="sha256")
    commit(store, tmp_path, {"a": b"1"})
    inv = store.inventory(OID)
    assert inv["digestAlgorithm"] == "sha256" and "sha512" in inv["fixity"]
    assert (store.object_path(OID) / "inventory.json.sha256").exists()
    validate(store.root)


def test_open_refuses_a_directory_that_is_not_a_storage_root(tmp_path: Path) -> None:
    (tmp_path / "nothing").mkdir()
    with pytest.raises(StorageError, match=r"not an OCFL 1\.1 storage root"):
        OcflStore.open(tmp_path / "nothing", tmp_path / "staging")


@given(st.text(min_size=1, max_size=300))
def test_layout_matches_the_reference_implementation(object_id: str) -> None:
    assert hash_and_id_path(object_id) == Layout_0003_Hash_And_Id_N_Tuple().identifier_to_path(object_id)


names = st.sampled_from(["a.pdf", "b.xml", "dir/c.csv", "dir/d.png", "e.txt"])
contents = st.binary(min_size=0, max_size=64)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.dictionaries(names, contents, min_size=1, max_size=5), min_size=1, max_size=5))
def test_any_sequence_of_versions_round_trips(
    tmp_path_factory: pytest.TempPathFactory, versions: list[dict[str, bytes]]
) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    store = OcflStore.create(tmp / "root", tmp / "staging")
    head = 0
    for state in versions:
        result = store.commit_version(OID, files(tmp, state), message="p", user_name="t")
        head = result.version if not result.unchanged else head
        assert result.version == head
        for logical, data in state.items():
            with store.open_file(OID, logical) as fh:
                assert fh.read() == data
    inv = store.inventory(OID)
    content_paths = [cp for cps in inv["manifest"].values() for cp in cps]
    assert len(content_paths) == len(set(content_paths)) == len(inv["manifest"])  # each digest stored once
    for n in range(1, head + 1):
        assert set(store.state(OID, n).values()) <= set(inv["manifest"])
    validate(store.root)


def test_recovery_passes_over_a_commit_that_ends_while_it_looks(
    store: OcflStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's live commit can remove its work directory between recovery's listing and its reading of
    the directory's object id: recovery then has nothing to do there, and says nothing was done (it used to fail
    with FileNotFoundError, taking down the command that opened the node)."""
    work = store.staging / f"commit-{object_hash(OID)[:16]}-live"
    work.mkdir(parents=True)
    (work / "object-id").write_text(OID)
    real = Path.read_text

    def finished_meanwhile(self: Path, *args: Any, **kwargs: Any) -> str:
        if self == work / "object-id":
            shutil.rmtree(work)  # the commit ends and cleans up
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", finished_meanwhile)
    assert store.recover() == []
    assert not work.exists()


@pytest.mark.parametrize("write", ["commit", "remove"])
def test_a_recovery_while_a_work_directory_is_made_leaves_it_alone(
    store: OcflStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write: str
) -> None:
    """Any process that opens the node recovers the staging area, and may do so at the very moment a live write
    makes its work directory. The directory must name its object from the moment recovery can see it: made empty in
    place, it used to be taken for a crashed write's and removed, failing the live write."""
    commit(store, tmp_path, {"a.pdf": b"A"})
    other = OcflStore.open(store.root, store.staging)  # another process's view of the same node
    real = Path.mkdir
    recovered: list[list[str]] = []

    def recovering_meanwhile(self: Path, *args: Any, **kwargs: Any) -> None:
        real(self, *args, **kwargs)
        if self.parent == store.staging and self.name != "locks":
            recovered.append(other.recover())

    monkeypatch.setattr(Path, "mkdir", recovering_meanwhile)
    if write == "commit":
        assert commit(store, tmp_path, {"a.pdf": b"B"}) == 2
        monkeypatch.undo()
        with store.open_file(OID, "a.pdf") as fh:
            assert fh.read() == b"B"
    else:
        store.remove_object(OID)
        monkeypatch.undo()
        assert not store.object_path(OID).exists()
    assert recovered and recovered == [[]] * len(recovered)  # recovery ran inside every making, and did nothing
    assert sorted(p.name for p in store.staging.iterdir()) == ["locks"]
    validate(store.root)


def test_recovery_removes_a_work_directory_a_crash_left_half_made(store: OcflStore) -> None:
    """A crash between making a work directory and naming it leaves a directory holding at most the object's id.
    Recovery leaves a fresh one (a live write's, for an instant) and removes one an hour old."""
    fresh = store.staging / f".nascent-commit-{object_hash(OID)[:16]}-fresh"
    old = store.staging / f".nascent-release-{object_hash(OID)[:16]}-old"
    for d in (fresh, old):
        d.mkdir()
    (old / "object-id").write_text(OID)
    hour_ago = time.time() - 3700
    os.utime(old, (hour_ago, hour_ago))
    assert store.recover() == [f"removed unused work directory {old.name}"]
    assert fresh.is_dir() and not old.exists()
