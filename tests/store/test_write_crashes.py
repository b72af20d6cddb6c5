"""Commit (a deposit's write) and install (replication's write) share one write sequence: each is killed at every
point a crash could interrupt it, in a real process that dies there (``os._exit``, no clean-up runs), and the next
start must leave the object valid (ocfl-py, object by object and the whole root) at exactly the old or the new
version, with every file intact and no scratch left. A source that fails mid-file installs nothing. The removal of
an object (a copy this node no longer holds) killed at any point leaves it whole or gone, the root valid throughout."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.errors import StorageError
from strongroom.store.fixity import FileStatus, audit_object
from strongroom.store.ocfl import OcflStore, stage_file

OID = "strongroom:au/issn:2536-0035/2024"
STEPS = ["version-staged", "version-renamed", "inventory-replaced", "committed"]
NEW_OBJECT_STEPS = ["version-staged", "committed"]  # a new object is renamed into place whole, between these
VALIDATOR = Path(sys.executable).parent / "ocfl-validate.py"

CHILD = f"""
import os, sys
from pathlib import Path
from strongroom.store.ocfl import OcflStore, stage_file
root, staging, step, mode, src = sys.argv[1:6]
oid = {OID!r}
store = OcflStore.open(Path(root), Path(staging))
store.fault = lambda at: os._exit(137) if at == step else None
if mode == "remove":
    store.remove_object(oid)
elif mode == "commit":
    files = [stage_file(p.name, p) for p in sorted(Path(src).iterdir())]
    store.commit_version(oid, files, message="crash test", user_name="t")
else:
    source = OcflStore.open(Path(src) / "root", Path(src) / "staging")
    n = store.head_version(oid) + 1 if store.exists(oid) else 1
    with source.open_content(oid, f"v{{n}}/inventory.json") as fh:
        inventory = fh.read()
    def fetch(cp):
        with source.open_content(oid, cp) as fh:
            while chunk := fh.read(7):
                yield chunk
    store.install_version(oid, inventory, fetch)
os._exit(0)
"""


def validate(path: Path, *, object_root: bool = False) -> None:
    """ocfl-py's verdict. On a storage root it answers 0 even when an object inside is invalid, so every object is
    validated on its own as well (it then says "is VALID")."""
    proc = subprocess.run([str(VALIDATOR), str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not object_root or "is VALID" in proc.stdout, proc.stdout + proc.stderr


def version_files(tmp: Path, name: str, contents: dict[str, bytes]) -> Path:
    folder = tmp / name
    folder.mkdir()
    for logical, data in contents.items():
        (folder / logical).write_bytes(data)
    return folder


V1 = {"a.pdf": b"%PDF-1.4 first" * 100, "b.xml": b"<b/>"}
V2 = {"a.pdf": b"%PDF-1.4 first" * 100, "b.xml": b"<b>corrected</b>", "c.csv": b"x,y\n1,2\n"}


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Path]:
    """A copy holding v1 and v2, as another node would (the installs' source)."""
    home = tmp_path / "source"
    store = OcflStore.create(home / "root", home / "staging")
    for n, contents in enumerate((V1, V2), 1):
        folder = version_files(tmp_path, f"src-v{n}", contents)
        store.commit_version(OID, [stage_file(p.name, p) for p in sorted(folder.iterdir())], message="m", user_name="t")
    yield home


def die_at(store: OcflStore, step: str, mode: str, src: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(store.root), str(store.staging), step, mode, str(src)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 137, f"the writer did not die at {step}: {proc.stderr}"


def check_recovered(store: OcflStore, expected: dict[str, bytes] | None) -> None:
    fresh = OcflStore.open(store.root, store.staging)
    fresh.recover()
    assert fresh.recover() == []  # idempotent
    if expected is None:
        assert not fresh.exists(OID) and list(fresh.iter_object_ids()) == []
    else:
        for logical, data in expected.items():
            with fresh.open_file(OID, logical) as fh:
                assert fh.read() == data
        assert set(fresh.state(OID)) == set(expected)
        assert all(c.status is FileStatus.OK for c in audit_object(fresh, OID).checks)
        validate(fresh.object_path(OID), object_root=True)
    validate(fresh.root)
    assert {p.name for p in fresh.staging.iterdir()} <= {"locks"}  # no scratch left behind


@pytest.mark.parametrize("step", NEW_OBJECT_STEPS)
@pytest.mark.parametrize("mode", ["commit", "install"])
def test_a_new_object_killed_at_any_step_is_absent_or_whole(tmp_path: Path, source: Path, mode: str, step: str) -> None:
    store = OcflStore.create(tmp_path / "root", tmp_path / "staging")
    src = version_files(tmp_path, "v1", V1) if mode == "commit" else source
    die_at(store, step, mode, src)
    # A new object is renamed into place whole: before the rename it does not exist, after it, it is v1.
    check_recovered(store, None if step == "version-staged" else V1)


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("mode", ["commit", "install"])
def test_a_new_version_killed_at_any_step_is_rolled_back_or_finished(
    tmp_path: Path, source: Path, mode: str, step: str
) -> None:
    store = OcflStore.create(tmp_path / "root", tmp_path / "staging")
    v1 = version_files(tmp_path, "v1", V1)
    store.commit_version(OID, [stage_file(p.name, p) for p in sorted(v1.iterdir())], message="m", user_name="t")
    src = version_files(tmp_path, "v2", V2) if mode == "commit" else source
    die_at(store, step, mode, src)
    check_recovered(store, V1 if step == "version-staged" else V2)


def test_an_install_whose_source_fails_mid_file_installs_nothing(tmp_path: Path, source: Path) -> None:
    store = OcflStore.create(tmp_path / "root", tmp_path / "staging")
    other = OcflStore.open(source / "root", source / "staging")
    with other.open_content(OID, "v1/inventory.json") as fh:
        inventory = fh.read()

    def broken(content_path: str) -> Iterator[bytes]:
        yield b"%PDF-1.4 fir"
        raise StorageError("the peer went away")

    with pytest.raises(StorageError, match="went away"):
        store.install_version(OID, inventory, broken)

    def wrong(content_path: str) -> Iterator[bytes]:
        yield b"not what the inventory says"

    with pytest.raises(StorageError, match="does not match its inventory"):
        store.install_version(OID, inventory, wrong)
    check_recovered(store, None)


REMOVE_STEPS = {"release-staged": True, "release-renamed": False}  # where it dies -> whether the object stays


@pytest.mark.parametrize("step", REMOVE_STEPS)
def test_a_removal_killed_at_any_step_leaves_the_object_whole_or_gone(tmp_path: Path, source: Path, step: str) -> None:
    store = OcflStore.open(source / "root", source / "staging")
    other = "strongroom:au/issn:2536-0035/2025"  # a neighbour in the storage root, untouched throughout
    folder = version_files(tmp_path, "other", {"o.txt": b"other"})
    store.commit_version(other, [stage_file(p.name, p) for p in folder.iterdir()], message="m", user_name="t")
    die_at(store, step, "remove", source)
    validate(store.root)  # valid at the moment of the crash, before any recovery
    fresh = OcflStore.open(store.root, store.staging)
    assert fresh.recover() != [] and fresh.recover() == []
    kept = REMOVE_STEPS[step]
    assert sorted(fresh.iter_object_ids()) == sorted([other, *([OID] if kept else [])])
    for oid in fresh.iter_object_ids():
        assert all(c.status is FileStatus.OK for c in audit_object(fresh, oid).checks)
        validate(fresh.object_path(oid), object_root=True)
    if kept:
        assert {n: fresh.open_file(OID, n).read() for n in V2} == V2
    validate(fresh.root)
    assert {p.name for p in fresh.staging.iterdir()} <= {"locks"}  # no scratch left behind


def test_a_removal_leaves_no_empty_directories_and_a_valid_root(tmp_path: Path, source: Path) -> None:
    store = OcflStore.open(source / "root", source / "staging")
    store.remove_object(OID)
    assert not store.exists(OID) and list(store.iter_object_ids()) == []
    assert sorted(p.name for p in store.root.iterdir()) == ["0=ocfl_1.1", "extensions", "ocfl_layout.json"]
    validate(store.root)
    assert {p.name for p in store.staging.iterdir()} <= {"locks"}
    with pytest.raises(StorageError, match="no OCFL object"):
        store.remove_object(OID)
