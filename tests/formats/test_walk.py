"""A directory package's walk (``walk_entries``, ``names_under``) and its name checks (``check_tree``): the same
entries as ``os.walk`` gives, read a folder at a time, and names that would be one file elsewhere found in a
temporary database rather than a dictionary of every name."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom.formats import archives
from strongroom.formats.archives import check_tree, names_under
from strongroom.walk import OPEN_FOLDERS, walk_entries


def _os_walk(root: Path, below: str = "") -> set[tuple[str, bool]]:
    """What ``os.walk`` (links to folders not followed) says is under ``root``: each path and whether a folder."""
    found = set()
    for folder, dirnames, filenames in os.walk(os.path.join(root, below)):
        for name in dirnames:
            found.add((os.path.relpath(os.path.join(folder, name), root), True))
        for name in filenames:
            found.add((os.path.relpath(os.path.join(folder, name), root), False))
    return found


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


segments = st.text(alphabet="abAB.-é", min_size=1, max_size=4).filter(lambda s: s not in {".", ".."})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(segments, min_size=1, max_size=4), min_size=1, max_size=12))
def test_the_walk_finds_what_os_walk_finds(tmp_path_factory: pytest.TempPathFactory, paths: list[list[str]]) -> None:
    root = tmp_path_factory.mktemp("tree")
    for parts in paths:
        *folders, name = parts
        parent = root.joinpath(*folders)
        if any(p.is_file() for p in [parent, *parent.parents] if p != root and root in p.parents):
            continue  # a file already stands where a folder would go
        parent.mkdir(parents=True, exist_ok=True)
        if not (parent / name).exists():
            (parent / name).write_bytes(b"x")
    walked = {(rel, is_folder) for rel, _entry, is_folder in walk_entries(root)}
    assert walked == _os_walk(root)
    assert {rel for rel, _full in names_under(root)} == {rel for rel, is_folder in walked if not is_folder}


def test_a_link_to_a_folder_is_named_but_not_walked_into(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "deep" / "secret.txt").write_text("no")
    root = tmp_path / "pkg"
    (root / "data").mkdir(parents=True)
    (root / "data" / "a.pdf").write_bytes(b"%PDF")
    (root / "data" / "link").symlink_to(outside)
    (root / "top.txt").write_text("t")
    walked = {(rel, is_folder) for rel, _entry, is_folder in walk_entries(root)}
    assert walked == {("data", True), ("data/a.pdf", False), ("data/link", True), ("top.txt", False)}
    assert walked == _os_walk(root)
    assert dict(names_under(root, "data")) == {"data/a.pdf": str(root / "data" / "a.pdf")}


def test_a_tree_deeper_than_the_open_folders_is_walked_whole_and_lets_its_descriptors_go(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*[f"d{n}" for n in range(OPEN_FOLDERS * 2)])
    deep.mkdir(parents=True)
    (deep / "bottom.txt").write_text("b")
    before = _open_descriptors()
    walk = walk_entries(tmp_path)
    for rel, _entry, _is_folder in walk:
        if rel.endswith(f"d{OPEN_FOLDERS + 5}"):
            assert _open_descriptors() <= before + OPEN_FOLDERS  # never one a level below the open folders
    assert _open_descriptors() == before
    assert [rel for rel, _full in names_under(tmp_path)] == [
        "/".join([*deep.relative_to(tmp_path).parts, "bottom.txt"])
    ]
    walk = walk_entries(tmp_path)
    next(walk)
    next(walk)
    walk.close()  # a walk left half-way (a consumer that found what it wanted) closes its folders
    assert _open_descriptors() == before


def test_a_folder_that_is_not_there_is_walked_as_empty(tmp_path: Path) -> None:
    assert list(walk_entries(tmp_path / "missing")) == []
    assert list(names_under(tmp_path, "data")) == []


def test_every_name_that_is_one_elsewhere_is_reported_beside_the_name_before_it(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    for folder in ("a", "b"):
        (root / folder).mkdir(parents=True)
    for name in ("Table.csv", "table.csv", "TABLE.csv"):
        (root / "a" / name).write_text(name)
    (root / "b" / "table.csv").write_text("another folder: no clash")
    findings = check_tree(root)
    assert [f.code for f in findings] == ["P006", "P006"]
    reported = {f.path for f in findings}
    named = {f.message.rsplit(" ", 1)[-1] for f in findings}
    assert len(reported) == 2 and reported | named == {"a/Table.csv", "a/table.csv", "a/TABLE.csv"}
    assert all("differs only in case from" in f.message for f in findings)


def test_names_in_two_normalisations_are_found_among_many(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    root.mkdir()
    for n in range(3000):  # past the comparison's batch of rows, so the pair is found in the database
        (root / f"article-{n:05}").mkdir()
    nfc, nfd = (unicodedata.normalize(form, "résumé") for form in ("NFC", "NFD"))
    (root / nfc).mkdir()
    (root / nfd).mkdir()
    (finding,) = check_tree(root)
    assert finding.code == "P006" and "another Unicode normalisation" in finding.message
    assert {finding.path, finding.message.rsplit(" ", 1)[-1]} == {nfc, nfd}


def test_a_name_that_is_not_utf8_is_compared_like_any_other(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    root.mkdir()
    raw = os.fsencode(root)
    for name in (b"caf\xe9.txt", b"CAF\xe9.txt", b"ok.txt"):  # Latin-1 bytes, not UTF-8
        with open(os.path.join(raw, name), "wb") as fh:
            fh.write(b"x")
    findings = check_tree(root)
    assert sorted(f.code for f in findings) == ["P006", "P007", "P007"]  # each name refused, and the pair found
    assert {f.path for f in findings if f.code == "P007"} == {"caf\ufffd.txt", "CAF\ufffd.txt"}  # shown readable
    (same,) = [f for f in findings if f.code == "P006"]
    assert {same.path, same.message.rsplit(" ", 1)[-1]} == {"caf\ufffd.txt", "CAF\ufffd.txt"}


def test_names_compared_under_the_scratch_folder_given_and_nothing_left_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a scratch folder (a deposit's work folder, under the node's home), the names' database is a file there,
    not in the system's temporary folder, and is gone once the check is done, found or not."""
    root = tmp_path / "pkg"
    root.mkdir()
    for name in ("Table.csv", "table.csv"):
        (root / name).write_text(name)
    scratch = tmp_path / "work"
    scratch.mkdir()
    seen: list[list[str]] = []
    real = archives._SameNames.pairs

    def pairs(self: archives._SameNames) -> Iterator[tuple[str, str]]:
        seen.append(sorted(p.name for p in scratch.iterdir()))
        return real(self)

    monkeypatch.setattr(archives._SameNames, "pairs", pairs)
    (finding,) = check_tree(root, scratch=scratch)
    assert finding.code == "P006"
    assert len(seen) == 1 and len(seen[0]) == 1 and seen[0][0].startswith("names-")
    assert list(scratch.iterdir()) == []
