"""A package is opened article by article: each article's JATS is parsed once and its metadata spooled to the
deposit's work directory, the package keeps no article's metadata in memory, the plan decides from the facts
gathered on the way, and the deposit record keeps the bytes it had when every article was held at once."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import strongroom.formats.jats as jats
import strongroom.ingest.package as package_module
from strongroom.formats.jats import parse_jats
from strongroom.formats.records import DEPOSIT_RECORD
from strongroom.ingest.deposit import DepositOptions, plan_deposit, write_record
from strongroom.ingest.package import SPOOL, open_package
from strongroom.node import Node
from strongroom.settings import IngestLimits
from tests_support import sample_packages

# sha256 of the deposit record each sample package gave before packages were read article by article (the code of
# commit 72fe718, when the plan held every article's metadata at once): the bytes must not change.
BEFORE = {
    (0, "bag"): "2d15f0e5ff18af4055ad3087c10c133148c36447fc2e5ce2228d23291530aab5",
    (0, "jats"): "c4b0ae185049441f2028f12b90dfbe2c4a949428bcb78a4e45002b3a375cb516",
    (0, "jasper"): "54bb27c206b5d748b811966a9e63f993ccfef570e2bb0656329a1ecd822d20fd",
    (0, "bagzip"): "2d15f0e5ff18af4055ad3087c10c133148c36447fc2e5ce2228d23291530aab5",
    (1, "bag"): "079007537d77486d33c3764e001e9fa7b0487620011a19be592a661596182965",
    (1, "jats"): "a02563d703ddae38fb7ec49342401eac8d3d2bf65ce7f6622551ce77965e684c",
    (1, "jasper"): "cd199c1a0cc7135e41a83a4d3b520079d21a8ab4120cfee0d6704f40721fef0e",
    (1, "bagzip"): "079007537d77486d33c3764e001e9fa7b0487620011a19be592a661596182965",
}


@pytest.mark.parametrize("group", [0, 1])
def test_deposit_records_keep_their_bytes(tmp_path: Path, group: int) -> None:
    for form, path in sample_packages(tmp_path / "pkg", group).items():
        node = Node.create(tmp_path / f"home-{form}")
        try:
            result = node.ingest.deposit(path)
            with node.store.open_file(result.object_id, DEPOSIT_RECORD) as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()
        finally:
            node.close()
        assert digest == BEFORE[group, form], form


@pytest.mark.parametrize("form", ["bag", "jats", "jasper"])
def test_an_opened_package_holds_no_article_metadata(tmp_path: Path, form: str) -> None:
    path = sample_packages(tmp_path / "pkg", 0)[form]
    work = tmp_path / "work"
    package = open_package(path, work, IngestLimits())
    try:
        assert package.items and all(item.meta is None for item in package.items)
        assert (work / SPOOL).is_file()
        root = work / "extracted" if form == "jasper" else path
        with_jats = [item for item in package.items if item.metadata_file]
        assert with_jats
        for item in package.items:
            meta = package.meta(item)
            if item.metadata_file is None:  # a JASPER article with its full texts only
                assert meta is None
                continue
            assert meta is not None
            [source] = [p for p in root.rglob("*.xml") if p.as_posix().endswith("/" + item.metadata_file)]
            assert meta == parse_jats(source.read_bytes(), item.metadata_file)
        assert sum(package.facts.journals.values()) == len(with_jats)
        assert package.facts.years == {2024}
    finally:
        package.close()


def test_each_jats_file_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = sample_packages(tmp_path / "pkg", 0)["jats"]
    parsed: list[str] = []
    real = package_module.parse_xml

    def counting(data: bytes, where: str):  # type: ignore[no-untyped-def]
        parsed.append(where)
        return real(data, where)

    monkeypatch.setattr(package_module, "parse_xml", counting)
    monkeypatch.setattr(jats, "parse_xml", counting)
    package = open_package(path, tmp_path / "work", IngestLimits())
    package.close()
    xml = sorted(p.relative_to(path).as_posix() for p in path.rglob("*.xml"))
    assert sorted(parsed) == xml


def test_the_plan_holds_no_item_and_streams_them_from_the_spool(tmp_path: Path) -> None:
    path = sample_packages(tmp_path / "pkg", 1)["bag"]
    package = open_package(path, tmp_path / "work", IngestLimits())
    plan = plan_deposit(package, DepositOptions())
    assert plan.record.items == () and plan.record.files == {}
    written = write_record(plan, tmp_path).read_bytes()
    whole = plan.whole_record()
    assert len(whole.items) == len(package.items) and len(whole.files) == len(package.files)
    assert written == whole.to_bytes()
    assert hashlib.sha256(written).hexdigest() == BEFORE[1, "bag"]
    package.close()
