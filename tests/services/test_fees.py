"""Preservation fee tiers by country: free for Group A and Connector countries, reduced for Group B, full
elsewhere; the Connector registry kept by staff."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom.errors import NotFound
from strongroom.node import Node
from strongroom.samples import eligibility as samples
from strongroom.services import eligibility, fees


@pytest.fixture
def programme(node: Node, tmp_path: Path) -> Node:
    eligibility.import_indicators(node.catalog, "world-bank", samples.write_world_bank(tmp_path / "wb.csv"), source="s")
    eligibility.import_indicators(node.catalog, "hdr", samples.write_hdr(tmp_path / "hdr.csv"), source="s")
    eligibility.import_indicators(node.catalog, "ldc", samples.write_ldc(tmp_path / "ldc.txt"), source="s", year=2023)
    return node


@pytest.mark.parametrize(
    ("country", "tier", "amount", "why"),
    [("SN", "free", 0, "Group A"), ("MD", "reduced", 250, "Group B"), ("IN", "full", 1000, "neither")],
)
def test_tiers_follow_the_country(programme: Node, country: str, tier: str, amount: int, why: str) -> None:
    fee = fees.fee_for_country(programme.catalog, programme.settings.fees, country)
    assert (fee.tier, fee.amount, fee.currency) == (tier, amount, "USD") and why in fee.why


def test_connector_countries_are_free_and_the_registry_is_kept(programme: Node) -> None:
    assert fees.fee_for_country(programme.catalog, programme.settings.fees, "MD").tier == "reduced"
    fees.add_connector(programme.catalog, "Moldova", host="National Library of Moldova", since=2023)
    moldova = fees.fee_for_country(programme.catalog, programme.settings.fees, "MD")
    assert moldova.tier == "free" and "Connector country (host: National Library of Moldova, since 2023)" in moldova.why
    assert [c.country for c in fees.connectors(programme.catalog)] == ["MD"]
    fees.remove_connector(programme.catalog, "MD")
    assert fees.fee_for_country(programme.catalog, programme.settings.fees, "MD").tier == "reduced"
    with pytest.raises(NotFound):
        fees.remove_connector(programme.catalog, "MD")


def test_a_publisher_pays_by_its_country(programme: Node, sample_dir: Path) -> None:
    from strongroom.ingest.deposit import DepositOptions

    programme.deposit(next(p for p in sorted(sample_dir.iterdir()) if p.name.startswith("revue")), DepositOptions())
    publisher = programme.publishers()[0][0]
    assert publisher.country == "SN"
    fee = fees.fee_for_publisher(programme.catalog, programme.settings.fees, publisher.key)
    assert fee.tier == "free" and fee.amount == 0
