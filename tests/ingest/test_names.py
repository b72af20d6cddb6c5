"""Names that would be one file somewhere: the same name in two Unicode normalisations (NFC 'é', NFD 'e' + '´'), or
names that differ only in case, are refused as P006 in every package form, with nothing written."""

from __future__ import annotations

import shutil
import tarfile
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from strongroom.errors import PackageRejected
from strongroom.node import Node

NFC = unicodedata.normalize("NFC", "résumé.csv")
NFD = unicodedata.normalize("NFD", "résumé.csv")


def _jats(sample_dir: Path, tmp: Path) -> Path:
    return shutil.copytree(sorted(p for p in sample_dir.iterdir() if p.name.endswith("-jats"))[0], tmp / "pkg")


def directory(sample_dir: Path, tmp: Path, a: str, b: str) -> Path:
    pkg = _jats(sample_dir, tmp)
    (pkg / a).write_bytes(b"1")
    (pkg / b).write_bytes(b"2")
    return pkg


def zipped(sample_dir: Path, tmp: Path, a: str, b: str) -> Path:
    pkg = _jats(sample_dir, tmp)
    out = tmp / "pkg.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for f in sorted(pkg.iterdir()):
            zf.write(f, f"pkg/{f.name}")
        zf.writestr(f"pkg/{a}", "1")
        zf.writestr(f"pkg/{b}", "2")
    return out


def tarred(sample_dir: Path, tmp: Path, a: str, b: str) -> Path:
    pkg = _jats(sample_dir, tmp)
    out = tmp / "pkg.tar.gz"
    with tarfile.open(out, "w:gz") as tf:
        for f in sorted(pkg.iterdir()):
            tf.add(f, f"pkg/{f.name}")
        for name, data in ((a, b"1"), (b, b"2")):
            (tmp / "x").write_bytes(data)
            tf.add(tmp / "x", f"pkg/{name}")
    return out


@pytest.mark.parametrize("make", [directory, zipped, tarred], ids=["directory", "zip", "tar.gz"])
@pytest.mark.parametrize(("a", "b"), [(NFC, NFD), ("Table.csv", "table.csv")], ids=["normalisation", "case"])
def test_names_that_would_be_one_file_are_refused(
    node: Node, sample_dir: Path, tmp_path: Path, make: Callable[[Path, Path, str, str], Path], a: str, b: str
) -> None:
    package = make(sample_dir, tmp_path, a, b)
    with pytest.raises(PackageRejected) as refused:
        node.ingest.deposit(package)
    assert [f.code for f in refused.value.findings] == ["P006"]
    assert node.catalog.aus() == [] and list(node.store.iter_object_ids()) == []


def test_two_folders_that_would_be_one_are_refused_once_by_their_names(
    node: Node, sample_dir: Path, tmp_path: Path
) -> None:
    """Names are compared a folder at a time: 'Figures/' and 'figures/' are reported as the pair of folders, not
    again for each file the two hold under one name."""
    pkg = _jats(sample_dir, tmp_path)
    for folder in ("Figures", "figures"):
        (pkg / folder / "deep").mkdir(parents=True)
        (pkg / folder / "deep" / "fig1.png").write_bytes(folder.encode())
    with pytest.raises(PackageRejected) as refused:
        node.ingest.deposit(pkg)
    (finding,) = refused.value.findings
    assert finding.code == "P006"
    assert {finding.path, finding.message.rsplit(" ", 1)[-1]} == {"Figures", "figures"}
    assert "differs only in case" in finding.message
    assert node.catalog.aus() == [] and list(node.store.iter_object_ids()) == []
