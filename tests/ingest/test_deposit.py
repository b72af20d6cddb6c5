"""Deposit end to end on a real node (SQLite and PostgreSQL): every package form, idempotence, corrected
packages, metadata, and an OCFL storage root that the independent ocfl-py validator accepts."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from strongroom.ingest.deposit import DepositOptions
from strongroom.node import Node

Snap = Callable[[Node], tuple[list[str], dict[str, int]]]


def ocfl_validate(root: Path) -> subprocess.CompletedProcess[str]:
    validator = Path(sys.executable).parent / "ocfl-validate.py"
    return subprocess.run([str(validator), str(root)], capture_output=True, text=True, check=False)


def assert_valid_ocfl(node: Node) -> None:
    proc = ocfl_validate(node.settings.resolved_storage_root())
    assert proc.returncode == 0, proc.stdout + proc.stderr


def package(sample_dir: Path, suffix: str) -> Path:
    matches = sorted(p for p in sample_dir.iterdir() if p.name.endswith(suffix))
    assert matches, f"no sample package ending in {suffix}"
    return matches[0]


@pytest.mark.parametrize("suffix", ["-bag", "-bag.zip", "-jasper.zip", "-jats"])
def test_each_form_is_preserved_and_catalogued(node: Node, sample_dir: Path, suffix: str) -> None:
    pkg = package(sample_dir, suffix)
    result = node.ingest.deposit(pkg)
    assert not result.unchanged and result.version == 1
    assert result.items >= 1 and result.files >= result.items
    [(au, items, files, size)] = node.catalog.aus()
    assert au.key == result.au_key and au.head_version == 1
    assert items == result.items
    assert files == result.files + 1  # the payload plus strongroom/deposit.json
    assert size > result.bytes
    assert_valid_ocfl(node)
    events = node.catalog.events(object_key=au.key)
    assert [e.type for e in events] == ["ingestion"]


def test_jats_metadata_reaches_the_catalog(node: Node, sample_dir: Path) -> None:
    node.ingest.deposit(package(sample_dir, "-bag"))
    items = node.browse.items()
    assert items
    item = node.catalog.find_item(items[0].doi or str(items[0].id))
    assert item.title and item.doi and item.doi.startswith("10.5555/")
    assert item.authors and all(a["name"] for a in item.authors)
    assert any(a.get("orcid") for a in item.authors)
    assert item.year and item.publication_date and item.volume and item.abstract
    roles = {f.role for f in item.files}
    assert {"metadata", "fulltext"} <= roles
    pdf = next(f for f in item.files if f.logical_path.endswith(".pdf"))
    assert pdf.media_type == "application/pdf" and len(pdf.sha512) == 128 and len(pdf.sha256) == 64
    [(publisher, _, _)] = node.catalog.publishers()
    assert publisher.country and len(publisher.country) == 2
    [(title, _, _)] = node.catalog.titles()
    assert title.issn_print or title.issn_online
    # Search finds the article by a word of its title and by its DOI.
    word = max(item.title.split(), key=len)
    assert item.id in [i.id for i in node.browse.items(word)]
    assert item.id in [i.id for i in node.browse.items(item.doi)]


def test_same_package_twice_changes_nothing(node: Node, sample_dir: Path, snap: Snap) -> None:
    pkg = package(sample_dir, "-bag.zip")
    first = node.ingest.deposit(pkg)
    before = snap(node)
    again = node.ingest.deposit(pkg)
    assert again.unchanged and again.version == first.version == 1
    assert snap(node) == before


def test_corrected_package_becomes_a_new_version_storing_only_what_changed(
    node: Node, sample_dir: Path, tmp_path: Path
) -> None:
    original = package(sample_dir, "-jats")
    work = tmp_path / "pkg"
    shutil.copytree(original, work)
    first = node.ingest.deposit(work)
    pdf = sorted(work.glob("*.pdf"))[0]
    other = sorted(work.glob("*.pdf"))[1]
    shutil.copyfile(other, pdf)  # the publisher replaces one PDF with a corrected one
    second = node.ingest.deposit(work)
    assert second.version == 2 and not second.unchanged
    assert second.modified == (f"payload/{pdf.name}",)
    assert second.added == () and second.removed == ()
    assert second.new_files == 0  # the corrected bytes already exist in v1: stored once, referenced twice
    (work / "new-supplement.csv").write_text("a,b\n1,2\n")
    third = node.ingest.deposit(work)
    assert third.version == 3 and third.new_files == 2  # the new file and the updated deposit record
    assert first.au_key == second.au_key == third.au_key
    assert_valid_ocfl(node)
    [(au, *_)] = node.catalog.aus()
    assert au.head_version == 3


def test_options_fill_and_override_package_metadata(node: Node, sample_dir: Path) -> None:
    result = node.ingest.deposit(
        package(sample_dir, "-jats"),
        DepositOptions(au="vol-12", publisher_country="Kenya", title="Renamed Journal", platform="ojs"),
    )
    assert result.au_key.endswith("/vol-12")
    [(publisher, _, _)] = node.catalog.publishers()
    assert publisher.country == "KE" and publisher.platform == "ojs"
    [(title, _, _)] = node.catalog.titles()
    assert title.name == "Renamed Journal"


def test_a_second_year_joins_the_same_title(node: Node, sample_dir: Path) -> None:
    bags = sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))
    slugs = {p.name.rsplit("-", 2)[0] for p in bags}
    for pkg in sorted(sample_dir.iterdir()):
        if pkg.name.rsplit("-", 2)[0] in slugs:
            node.ingest.deposit(pkg)
    titles = node.catalog.titles()
    assert any(aus >= 2 for _, aus, _ in titles), "two years of one journal should be two AUs of one title"


def test_a_tar_gz_bag_is_preserved_like_the_directory(node: Node, sample_dir: Path, tmp_path: Path) -> None:
    from strongroom.samples import targz_dir

    bag = package(sample_dir, "-bag")
    archive = targz_dir(bag, tmp_path / "bag.tar.gz")
    from_archive = node.ingest.deposit(archive)
    assert from_archive.version == 1 and from_archive.package_form == "bagit"
    assert node.ingest.deposit(bag).unchanged  # the same content, whatever it was wrapped in
    assert_valid_ocfl(node)
