"""A new version's inventory is written from a scratch table, never held as dicts: the bytes are those the store
wrote when it built the whole inventory and passed it to json.dumps, and the staged files are never held at once."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom.errors import StorageError
from strongroom.store.base import StagedFile, StagedFiles, stage_file
from strongroom.store.ocfl import (
    INVENTORY,
    OcflStore,
    _json_bytes,
    commit_result,
    head_inventory,
    plan_version,
)
from strongroom.store.paths import check_logical_paths
from strongroom.store.versionfiles import Rows, json_pieces

OID = "strongroom:au/issn:2536-0035/2024"
CREATED = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


def _as_rows(value: Any, choose: st.DataObject) -> Any:
    """``value`` with some of its objects (at any depth) made :class:`Rows` of their members in key order."""
    if not isinstance(value, dict):
        return value
    members = {k: _as_rows(v, choose) for k, v in value.items()}
    if choose.draw(st.booleans()):
        items = sorted(members.items())
        return Rows(lambda: iter(items))
    return members


@given(value=st.dictionaries(st.text(max_size=6), json_values, max_size=5), choose=st.data())
def test_json_pieces_are_the_bytes_of_json_dumps(value: dict[str, Any], choose: st.DataObject) -> None:
    written = "".join(json_pieces(_as_rows(value, choose)))
    assert written == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _reference(
    existing: dict[str, Any] | None, files: list[StagedFile], version_message: str
) -> tuple[dict[str, Any] | None, Any]:
    """The inventory (None if unchanged) and CommitResult the store made before, when it held the whole inventory:
    ``plan_version``, the manifest and fixity filled in path order, ``head_inventory``."""
    plan = plan_version(OID, copy.deepcopy(existing), files, "sha512")
    if plan.unchanged:
        return None, None
    manifest: dict[str, list[str]] = plan.inventory["manifest"]
    fixity: dict[str, list[str]] = plan.inventory.setdefault("fixity", {}).setdefault(plan.other, {})
    count = size = 0
    for f in sorted(files, key=lambda f: f.logical_path):
        if f.digest(plan.alg) in manifest:
            continue
        content_path = f"{plan.vname}/content/{f.logical_path}"
        manifest[f.digest(plan.alg)] = [content_path]
        fixity.setdefault(f.digest(plan.other), []).append(content_path)
        count, size = count + 1, size + f.size
    inventory = head_inventory(plan, created=CREATED, message=version_message, user_name="t", user_address="mailto:t")
    return inventory, commit_result(plan, len(files), (count, size))


class _Counted(StagedFile):
    """A staged file that counts how many of its kind are alive."""

    __slots__ = ()
    alive: ClassVar[int] = 0
    most: ClassVar[int] = 0

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        _Counted.alive += 1
        _Counted.most = max(_Counted.most, _Counted.alive)

    def __del__(self) -> None:
        _Counted.alive -= 1


class _FromDisk(StagedFiles):
    """Staged files listed in a text file, made anew at each pass, in logical path order."""

    def __init__(self, listing: Path, files: list[StagedFile]) -> None:
        self.listing = listing
        rows = sorted((f.logical_path, str(f.source), f.size, f.sha512, f.sha256) for f in files)
        listing.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        self.count = len(rows)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[StagedFile]:
        with self.listing.open(encoding="utf-8") as fh:
            for line in fh:
                logical, source, size, sha512, sha256 = json.loads(line)
                yield _Counted(logical, Path(source), size, sha512, sha256)


def _stage(tmp: Path, contents: dict[str, bytes], round_: int) -> list[StagedFile]:
    out = []
    for i, (logical, data) in enumerate(sorted(contents.items())):
        src = tmp / "src" / f"{round_}-{i}"
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_bytes(data)
        out.append(stage_file(logical, src))
    return out


paths = st.sampled_from(["a.pdf", "b/c.xml", "b/d.xml", "e/f/g.txt", "é/ü.txt", "z", "a-b", "a.b"])
versions = st.lists(st.dictionaries(paths, st.sampled_from([b"1", b"2", b"3", b"four"]), max_size=6), max_size=4)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rounds=versions, from_disk=st.booleans())
def test_each_version_s_inventory_is_the_bytes_the_whole_inventory_gave(
    tmp_path_factory: pytest.TempPathFactory, rounds: list[dict[str, bytes]], from_disk: bool
) -> None:
    tmp = tmp_path_factory.mktemp("inv")
    store = OcflStore.create(tmp / "root", tmp / "staging")
    existing: dict[str, Any] | None = None
    for n, contents in enumerate(rounds):
        if not contents:
            continue
        staged = _stage(tmp, contents, n)
        want, want_result = _reference(existing, staged, f"round {n}")
        given_files = _FromDisk(tmp / f"listing-{n}", staged) if from_disk else staged
        result = store.commit_version(
            OID, given_files, message=f"round {n}", user_name="t", user_address="mailto:t", created=CREATED
        )
        if want is None:
            assert result.unchanged
            continue
        written = (store.object_path(OID) / INVENTORY).read_bytes()
        assert written == _json_bytes(want)
        assert result == want_result
        existing = json.loads(written)
    assert not list((tmp / "staging").glob("commit-*"))  # the scratch table went with its work directory


def test_the_store_never_holds_the_staged_files_at_once(tmp_path: Path) -> None:
    store = OcflStore.create(tmp_path / "root", tmp_path / "staging")
    staged = _stage(tmp_path, {f"payload/{n:04}/a.pdf": b"%d" % (n % 150) for n in range(300)}, 0)
    _Counted.alive = _Counted.most = 0
    result = store.commit_version(OID, _FromDisk(tmp_path / "listing", staged), message="m", user_name="t")
    assert result.files == 300 and result.new_content_files == 150
    assert _Counted.alive == 0
    assert _Counted.most <= 3  # one file at a time (a merge may look one ahead), not 300


@pytest.mark.parametrize(
    "bad",
    [["a", "a"], ["a", "a/b"], ["", "x"], ["/abs"], ["a/../b"], ["a\\b"], ["a", "a", "a/b", "c/./d"]],
)
def test_bad_logical_paths_are_refused_with_the_same_message(tmp_path: Path, bad: list[str]) -> None:
    store = OcflStore.create(tmp_path / "root", tmp_path / "staging")
    src = tmp_path / "x"
    src.write_bytes(b"x")
    one = stage_file("x", src)
    staged = [StagedFile(p, src, one.size, one.sha512, one.sha256) for p in bad]
    with pytest.raises(StorageError) as expected:
        check_logical_paths(bad)
    with pytest.raises(StorageError) as got:
        store.commit_version(OID, staged, message="m", user_name="t")
    assert got.value.message == expected.value.message
    assert not store.exists(OID)
