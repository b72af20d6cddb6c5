"""Preservation fee tiers by country: free for Group A and Connector countries, reduced for Group B, full
elsewhere; the Connector registry kept by staff."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom.errors import NotFound
from strongroom.node import Node
from strongroom.samples import eligibility as samples


@pytest.fixture
def programme(node: Node, tmp_path: Path) -> Node:
    node.eligibility.import_indicators("world-bank", samples.write_world_bank(tmp_path / "wb.csv"), source="s")
    node.eligibility.import_indicators("hdr", samples.write_hdr(tmp_path / "hdr.csv"), source="s")
    node.eligibility.import_indicators("ldc", samples.write_ldc(tmp_path / "ldc.txt"), source="s", year=2023)
    return node


@pytest.mark.parametrize(
    ("country", "tier", "amount", "why"),
    [("SN", "free", 0, "Group A"), ("MD", "reduced", 250, "Group B"), ("IN", "full", 1000, "neither")],
)
def test_tiers_follow_the_country(programme: Node, country: str, tier: str, amount: int, why: str) -> None:
    fee = programme.fees.fee_for_country(country)
    assert (fee.tier, fee.amount, fee.currency) == (tier, amount, "USD") and why in fee.why


def test_connector_countries_are_free_and_the_registry_is_kept(programme: Node) -> None:
    assert programme.fees.fee_for_country("MD").tier == "reduced"
    programme.fees.add_connector("Moldova", host="National Library of Moldova", since=2023)
    moldova = programme.fees.fee_for_country("MD")
    assert moldova.tier == "free" and "Connector country (host: National Library of Moldova, since 2023)" in moldova.why
    assert [c.country for c in programme.fees.connectors()] == ["MD"]
    programme.fees.remove_connector("MD")
    assert programme.fees.fee_for_country("MD").tier == "reduced"
    with pytest.raises(NotFound):
        programme.fees.remove_connector("MD")


def test_a_publisher_pays_by_its_country(programme: Node, sample_dir: Path) -> None:
    from strongroom.ingest.deposit import DepositOptions

    programme.ingest.deposit(
        next(p for p in sorted(sample_dir.iterdir()) if p.name.startswith("revue")), DepositOptions()
    )
    publisher = programme.catalog.publishers()[0][0]
    assert publisher.country == "SN"
    fee = programme.fees.fee_for_publisher(publisher.key)
    assert fee.tier == "free" and fee.amount == 0
