"""Holdings in a network: five in-process nodes over the in-memory transport; an AU every member holds is
preserved, one only its depositor holds is not, and the ONIX-PH feed and KBART say exactly that."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from memory_network import network_of
from strongroom.catalog.models import ArchivalUnit, Item
from strongroom.formats import kbart, onix_ph
from strongroom.formats.xmlsafe import parse_xml
from strongroom.node import Node
from strongroom.services.holdings import HoldingsReports

ONIX = "{http://www.editeur.org/onix/serials/SOH}"


def test_only_aus_with_enough_copies_are_reported(
    tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path
) -> None:
    nodes = [Node.create(tmp_path / f"n{i}", database_url=db_factory()) for i in range(5)]
    _, clients = network_of(nodes)
    try:
        first = nodes[0].ingest.deposit(sample_dir / "ghana-journal-of-agricultural-science-2023-bag")
        for node, client in zip(nodes[1:], clients[1:], strict=True):
            assert node.replication.run(client)
        second = nodes[0].ingest.deposit(sample_dir / "ghana-journal-of-agricultural-science-2024-bag.zip")

        def preserved() -> set[str]:
            _, copies = nodes[0].network_status.copies(clients[0])
            return {c.object_id for c in copies if c.preserved}

        reports = HoldingsReports(
            nodes[0].catalog,
            nodes[0].store,
            nodes[0].membership,
            preserved,
            provider="Memory network",
            base_url="http://n0",
        )
        report = reports.report()
        assert "at least 5 members" in report.basis
        [title] = report.titles
        assert {i.au_key for i in title.issues} == {first.au_key, second.au_key}  # both held on this node
        assert {i.au_key for i in title.preserved_issues} == {first.au_key}  # only one in five copies

        with nodes[0].catalog.session() as s:
            wanted = set(
                s.execute(
                    select(Item.volume, Item.issue)
                    .join(ArchivalUnit, Item.au_id == ArchivalUnit.id)
                    .where(ArchivalUnit.key == first.au_key, Item.volume.is_not(None))
                ).all()
            )
        root = parse_xml(onix_ph.write(report), "onix.xml")
        listed = {
            (d.findtext(f".//{ONIX}Level1/{ONIX}Number"), d.findtext(f".//{ONIX}Level2/{ONIX}Number"))
            for d in root.iter(f"{ONIX}PackageDetail")
        }
        assert listed == wanted and len(list(root.iter(f"{ONIX}PackageDetail"))) == len(wanted)
        [row] = kbart.rows(report.titles)
        assert row[kbart.COLUMNS.index("date_last_issue_online")].startswith("2023")

        for node, client in zip(nodes[1:], clients[1:], strict=True):
            assert node.replication.run(client)
        assert {i.au_key for i in reports.title(title.key).preserved_issues} == {first.au_key, second.au_key}
    finally:
        for n in nodes:
            n.close()
