"""An audit reads each AU's catalogued files as plain rows (logical path, size, digests), not as mapped File
objects: an AU of thousands of small files is compared with its inventory without an ORM object for each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event

from strongroom.catalog.models import File
from strongroom.node import Node


def test_the_audit_maps_no_file_rows(node: Node, sample_dir: Path) -> None:
    bag = sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))[0]
    node.ingest.deposit(bag)
    loaded: list[Any] = []

    def on_load(target: Any, context: Any) -> None:
        loaded.append(target)

    event.listen(File, "load", on_load)
    try:
        report = node.audits.audit()
    finally:
        event.remove(File, "load", on_load)
    assert report.intact and report.files > 1
    assert loaded == []  # before: one File object for each of the AU's catalogued files
