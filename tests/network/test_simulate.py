"""The network simulation: deterministic, and it behaves as the tally rules say it must."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from strongroom.services.simulation import SimulationParams, simulate

SMALL = {"nodes": 8, "aus": 60, "copies": 7, "years": 1.0, "damage_rate": 0.2}


def test_same_seed_same_report() -> None:
    a = simulate(SimulationParams(**SMALL, seed=3)).to_dict()
    b = simulate(SimulationParams(**SMALL, seed=3)).to_dict()
    assert a == b and a["damage_events"] > 0


def test_honest_network_finds_and_repairs_damage_and_loses_nothing() -> None:
    report = simulate(SimulationParams(**SMALL))
    assert report.damage_events > 20
    assert report.detected >= 0.9 * report.damage_events
    assert report.repaired >= report.detected - 2  # at most a couple still in flight when time runs out
    assert report.bad_content_accepted == 0 and report.aus_lost == 0
    assert max(report.days_to_detect) <= 2 * 70 + 1  # within two poll intervals


def test_hostile_peers_never_get_bad_content_accepted() -> None:
    report = simulate(SimulationParams(**SMALL, hostile=0.375))
    assert report.repairs_refused > 0 or report.inconclusive > 0
    assert report.bad_content_accepted == 0


def test_a_wiped_node_is_rebuilt() -> None:
    report = simulate(SimulationParams(nodes=8, aus=40, copies=7, years=1.0, damage_rate=0.0, node_losses=1))
    assert report.damage_events > 0 and report.repaired == report.damage_events
    assert report.aus_damaged_at_end == 0


def test_too_few_copies_for_the_quorum_only_alarms() -> None:
    report = simulate(SimulationParams(nodes=5, aus=20, copies=5, years=0.5, damage_rate=0.5))
    assert report.repaired == 0 and report.inconclusive == report.polls


def test_cli_json() -> None:
    exe = Path(sys.executable).parent / "strongroom"
    proc = subprocess.run(
        [str(exe), "simulate", "--aus", "30", "--years", "0.5", "--json"], capture_output=True, text=True, check=True
    )
    data = json.loads(proc.stdout)
    assert data["params"]["aus"] == 30 and data["bad_content_accepted"] == 0
    bad = subprocess.run([str(exe), "simulate", "--copies", "1"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "copies" in bad.stderr
