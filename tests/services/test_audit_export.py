"""Audit and export on a real node: every kind of damage is found and named, unreadable is never ok, and an
export is a valid BagIt bag with the deposited JATS and a PREMIS event log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import bagit
import pytest
from lxml import etree

from strongroom.errors import ExportError, NotFound, StorageError
from strongroom.node import Node


@pytest.fixture
def stocked(node: Node, sample_dir: Path) -> Node:
    for suffix in ("-bag", "-jats"):
        node.ingest.deposit(sorted(p for p in sample_dir.iterdir() if p.name.endswith(suffix))[0])
    return node


def _content_files(node: Node, au_index: int = 0) -> tuple[str, Path, list[Path]]:
    au = node.catalog.aus()[au_index][0]
    root = node.store.object_path(au.object_id)
    inventory = node.store.inventory(au.object_id)
    paths = sorted(root / cp for cps in inventory["manifest"].values() for cp in cps)
    return au.key, root, paths


def test_intact_archive_audits_clean_and_records_events(stocked: Node) -> None:
    report = stocked.audits.audit()
    assert report.intact
    totals = report.totals()
    assert totals["ok"] == report.files > 0
    assert report.bytes > 0
    for au, *_ in stocked.catalog.aus():
        [event] = stocked.catalog.events(object_key=au.key, type="fixity check")
        assert event.outcome == "success"


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete", "unreadable", "extra"])
def test_damage_is_detected_and_named(stocked: Node, damage: str) -> None:
    au_key, _, files = _content_files(stocked)
    target = next(p for p in files if p.suffix == ".pdf")
    expected = {
        "flip": "damaged",
        "truncate": "damaged",
        "delete": "missing",
        "unreadable": "unreadable",
        "extra": "unexpected",
    }[damage]
    if damage == "flip":
        data = bytearray(target.read_bytes())
        data[100] ^= 0x01
        target.write_bytes(bytes(data))
    elif damage == "truncate":
        with target.open("r+b") as fh:
            fh.truncate(target.stat().st_size - 1)
    elif damage == "delete":
        target.unlink()
    elif damage == "unreadable":
        # Tests may run as root, for whom chmod 000 does not stop reads; a directory in the file's place does.
        target.unlink()
        target.mkdir()
    else:
        (target.parent / "stray.bin").write_bytes(b"who put this here?")
    report = stocked.audits.audit()
    assert not report.intact
    [bad] = [a for a in report.aus if not a.intact]
    assert bad.au_key == au_key
    assert bad.counts[expected] == 1
    assert bad.counts["ok"] == bad.files - 1  # every other file is still checked and found ok
    assert any(f.path.endswith(target.name) or f.path.endswith("stray.bin") for f in bad.findings)
    [event] = stocked.catalog.events(object_key=au_key, type="fixity check")
    assert event.outcome == "failure"
    # The other AU is still reported intact: damage is reported where it is.
    assert any(a.intact for a in report.aus)


def test_unreadable_is_never_counted_as_ok(stocked: Node) -> None:
    _, _, files = _content_files(stocked)
    target = files[0]
    target.unlink()
    target.mkdir()
    report = stocked.audits.audit()
    assert report.totals()["ok"] == report.files - 1
    assert report.totals()["unreadable"] == 1


def test_catalog_disagreement_is_reported(stocked: Node) -> None:
    au_key = stocked.catalog.aus()[0][0].key
    with stocked.catalog.engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(
            text(
                "UPDATE files SET sha256 = :bad WHERE id = (SELECT min(f.id) FROM files f "
                "JOIN archival_units a ON a.id = f.au_id WHERE a.key = :k)"
            ),
            {"bad": "0" * 64, "k": au_key},
        )
    report = stocked.audits.audit([au_key])
    assert not report.intact
    assert {f.code for a in report.aus for f in a.findings} & {"A006"}


def test_audit_of_unknown_au_is_not_found(stocked: Node) -> None:
    with pytest.raises(NotFound):
        stocked.audits.audit(["issn:0000-0000/1999"])


def test_export_is_a_valid_bag_with_jats_and_premis(stocked: Node, tmp_path: Path) -> None:
    au = stocked.catalog.aus()[0][0]
    result = stocked.exports.export(au.key, tmp_path / "out")
    bag = bagit.Bag(str(result.dest))
    bag.validate()
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "bagit.py"), "--validate", str(result.dest)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = result.dest / "data"
    assert list(data.glob("payload/**/*.xml")), "the deposited JATS travels with the export"
    record = json.loads((data / "strongroom" / "deposit.json").read_text())
    assert record["au"]["key"] == au.key
    premis = etree.parse(str(data / "strongroom" / "premis.xml"))
    ns = {"p": "http://www.loc.gov/premis/v3"}
    assert "ingestion" in premis.xpath("//p:event/p:eventType/text()", namespaces=ns)
    assert bag.info["External-Identifier"] == au.object_id
    [event] = stocked.catalog.events(object_key=au.key, type="dissemination")
    assert event.outcome == "success"


def test_export_refuses_to_overwrite_and_to_export_damage(stocked: Node, tmp_path: Path) -> None:
    au_key, _, files = _content_files(stocked)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("keep me")
    with pytest.raises(ExportError, match="not an empty directory"):
        stocked.exports.export(au_key, tmp_path / "taken")
    assert (tmp_path / "taken" / "x").read_text() == "keep me"
    target = next(p for p in files if p.suffix == ".pdf")
    data = bytearray(target.read_bytes())
    data[50] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(StorageError, match="strongroom audit"):  # damaged storage, not a bad destination
        stocked.exports.export(au_key, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_private_key_is_owner_only(node: Node) -> None:
    mode = os.stat(node.settings.keys_dir / "node.key").st_mode & 0o777
    assert mode == 0o600
