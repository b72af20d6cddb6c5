"""An opened package keeps its files and items in a SQLite file of its work directory, not in memory, and a deposit
stores the same OCFL inventory as the code before, when every file's record was held at once."""

from __future__ import annotations

import gc
import hashlib
import re
from pathlib import Path

import pytest

from strongroom.domain.model import FileRole
from strongroom.errors import PackageRejected
from strongroom.ingest.deposit import DepositOptions, plan_deposit
from strongroom.ingest.filespool import PackageFile, PackageSpool, ParsedItem
from strongroom.ingest.package import FILES, open_package
from strongroom.node import Node
from strongroom.settings import IngestLimits
from strongroom.store.base import StagedFile
from tests_support import sample_packages

# sha256 of the root inventory of each sample package's object (the version's time and the node's id put aside) as
# the code of commit 3572f60 wrote it, with every file's record and the inventory held whole; "bag+jats" is the
# second version the JATS directory of the same articles makes on top of the bag's.
BEFORE = {
    (0, "bag"): "82f8c91d1d81d56d5ce1f50054e98d17646e07a33cfc5f9b190751857f1e7ffc",
    (0, "bag+jats"): "2d4d36410b3501f45ceee53eacc35ecfc4da083c43f0b7670dddbd92c21acca8",
    (0, "jats"): "40ef6d927ad98dabe787927b8df5916fe5f1f9ee0dd3be5eba6a9a78e9cc8ecc",
    (0, "jasper"): "507f94a860f671f3444242aa874359e15e4b86a5c8b7bfb938d391ab39c30c42",
    (0, "bagzip"): "41b5562f9760c0273776894e796bcd67fba1ee8cdd7466b4ba5cc11d0a7eaed0",
    (1, "bag"): "1e80b49dbf1983885db8fceba12862acb7b12db462228d3ea11a464184494aa3",
    (1, "bag+jats"): "b2896ef71a9bd17aa3ff5d3e22c4177f7eeb205112c7b5d58b01500c8e682434",
    (1, "jats"): "28cafcc063c0dc7526902b81771504902d817c45dae258c06e6e758d9f232f9b",
    (1, "jasper"): "450f25a2981eb900c474a84ee7b34a742df3c287e3a66ec6682d50d195c1ba2d",
    (1, "bagzip"): "f9e3a904990e4b7e94c3309ee6ead134c076f27fb52fb4f4108c79a2652fd1f0",
}


def _fingerprint(node: Node, object_id: str) -> str:
    text = (node.store.object_path(object_id) / "inventory.json").read_text("utf-8")  # type: ignore[attr-defined]
    text = re.sub(r'"created": "[^"]*"', '"created": "T"', text.replace(node.settings.node_id, "NODE"))
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("group", [0, 1])
def test_deposits_store_the_inventory_they_stored_before(tmp_path: Path, group: int) -> None:
    packages = sample_packages(tmp_path / "pkg", group)
    for form, path in packages.items():
        node = Node.create(tmp_path / f"home-{form}")
        try:
            result = node.ingest.deposit(path)
            assert _fingerprint(node, result.object_id) == BEFORE[group, form], form
            if form == "bag":
                again = node.ingest.deposit(packages["jats"])
                assert (again.object_id, again.version) == (result.object_id, 2)
                assert _fingerprint(node, result.object_id) == BEFORE[group, "bag+jats"]
        finally:
            node.close()


def _alive(kind: type) -> int:
    return sum(isinstance(o, kind) for o in gc.get_objects())


@pytest.mark.parametrize("form", ["bag", "jats", "jasper"])
def test_an_opened_package_holds_no_record_of_its_files_or_items(tmp_path: Path, form: str) -> None:
    path = sample_packages(tmp_path / "pkg", 0)[form]
    work = tmp_path / "work"
    package = open_package(path, work, IngestLimits())
    try:
        gc.collect()
        assert _alive(PackageFile) == 0 and _alive(ParsedItem) == 0
        assert (work / FILES).is_file()
        files = list(package.files)
        assert len(files) == len(package.files) > 0
        assert [f.relpath for f in files] == sorted({f.relpath for f in files})  # by path, each once
        assert package.total_bytes == sum(f.size for f in files)
        assert all(f.source.is_file() and f.size == f.source.stat().st_size for f in files)
        items = list(package.items)
        assert len(items) == len(package.items) > 0
        assert [i.key for i in items] == sorted({i.key for i in items})  # by key, each once
        owned = {f.relpath: f.item_key for f in files}
        for item in items:
            assert item.files == sorted(item.files)
            assert all(owned[f] == item.key for f in item.files)
            if item.metadata_file:
                assert next(f for f in files if f.relpath == item.metadata_file).role == FileRole.METADATA
        del files, items, owned
        # The plan's staged files are read from the spool at each pass of the store, in logical path order.
        staged = plan_deposit(package, DepositOptions()).staged()
        first = [f.logical_path for f in staged]
        gc.collect()
        assert _alive(StagedFile) == 0
        assert first == sorted(first) and len(first) == len(staged) and all(p.startswith("payload/") for p in first)
        assert [f.logical_path for f in staged] == first
    finally:
        package.close()


def _jasper_dir(root: Path, folders: list[str], listed: list[str]) -> Path:
    """A JASPER directory: a text file in each folder, and an identifiers.csv naming the ``listed`` ones."""
    for n, folder in enumerate(folders):
        (root / folder).mkdir(parents=True)
        (root / folder / "article.txt").write_text(f"article {n}\n", encoding="utf-8")
    lines = ["doi,full_text_url,folder"]
    lines += [f"10.5555/{n},https://journal.example/{n},{folder}" for n, folder in enumerate(listed)]
    (root / "identifiers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_a_jasper_folder_owns_its_files_and_none_of_a_neighbour_whose_name_it_starts(tmp_path: Path) -> None:
    """Each row's folder is found in the package spool by a range of paths: 'a' owns 'a/…', not 'a-b/…', 'a.b/…'
    or 'a0/…' (which sort just before and after 'a/'), and a folder no row lists is reported by name, in order."""
    folders = ["a", "a-b", "a.b", "a0", "é"]
    root = _jasper_dir(tmp_path / "pkg", folders, folders)
    package = open_package(root, tmp_path / "work", IngestLimits())
    try:
        owned = {item.key: item.files for item in package.items}
    finally:
        package.close()
    assert owned == {f"10.5555/{n}": [f"{folder}/article.txt"] for n, folder in enumerate(folders)}

    stray = _jasper_dir(tmp_path / "stray", [*folders, "zz", "b"], folders)
    with pytest.raises(PackageRejected) as info:
        open_package(stray, tmp_path / "work-stray", IngestLimits())
    assert [(f.code, f.path) for f in info.value.findings] == [("P050", "b"), ("P050", "zz")]


def test_the_spool_finds_top_level_folders_without_a_set_of_them(tmp_path: Path) -> None:
    spool = PackageSpool(tmp_path / "p.sqlite")
    try:
        spool.add_paths(["identifiers.csv", "a/x.pdf", "a/y/z.xml", "a-b/x.pdf", "a.b/x.pdf", "a0/x", "é/x", "z.txt"])
        assert list(spool.top_folders()) == ["a-b", "a.b", "a", "a0", "é"]  # in the order of their paths
        assert spool.folder_paths("a") == ["a/x.pdf", "a/y/z.xml"]
        assert [spool.has_folder(f) for f in ("a", "a-", "a/y", "b", "z.txt", "")] == [True] + [False] * 5
    finally:
        spool.close()
