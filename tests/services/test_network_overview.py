"""The network overview's numbers from a catalog (SQLite and PostgreSQL): a node in no network shows its own
holdings; at size the matrix shows titles and the copies a histogram, and says so; polls are counted by day or by
week with empty periods kept; detection-to-repair times run from the first audit or poll that found damage to the
repair that fixed it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from strongroom.domain.model import EventOutcome, EventType
from strongroom.ingest.deposit import DepositOptions
from strongroom.node import Node
from strongroom.services.network_overview import (
    MATRIX_COLUMNS,
    PER_AU_BARS,
    Advice,
    Verdict,
    gather,
    overview,
)
from strongroom.services.network_status import CopyStatus


class StepClock:
    def __init__(self) -> None:
        self.t = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)  # a Monday

    def now(self) -> dt.datetime:
        return self.t


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


def test_a_node_in_no_network_shows_its_own_holdings(node: Node, sample_dir: Path) -> None:
    result = node.ingest.deposit(sample_dir / "ghana-journal-of-agricultural-science-2023-bag", DepositOptions())
    o = gather(node.network_status, None, "Library", "GH")
    assert o.verdict is Verdict.NOT_IN_NETWORK and not o.in_network and o.target_copies is None
    assert o.aus == 1 and o.below == [] and o.at_policy == 0
    [me] = o.members
    assert me.node_id == node.settings.node_id and me.answers and me.aus == 1 and me.bytes > 0
    assert [(k.country, k.members, k.aus, k.bytes) for k in o.countries] == [("GH", 1, 1, me.bytes)]
    assert o.matrix.cells == [(f"GH {me.node_id}", result.au_key, "v1")]
    assert o.copies[0].au_key == result.au_key and o.copies[0].copies == 1
    data = o.to_dict()
    assert data["verdict"] == "not-in-network" and data["histogram"] == {"1": 1}


def test_at_size_the_charts_are_capped_and_say_so(node: Node) -> None:
    members = [("a", "A", "GH"), ("b", "B", "KE"), ("c", "C", "SN")]
    copies = []
    for i in range(100):
        holding = {"a": 1, "b": 1} | ({"c": 1} if i % 4 else {})
        copies.append(CopyStatus(f"obj-{i:03}", f"au-{i:03}", ["a", "b", "c"], holding, [], i % 4 != 0, None))
    o = overview(
        node.catalog,
        "a",
        copies,
        {"a": True, "b": True, "c": False},
        members,
        network="n",
        serial=1,
        target_copies=3,
        min_countries=3,
    )
    assert o.aus == 100 and o.below_policy == 25 and o.at_policy == 75
    assert o.verdict is Verdict.BELOW_POLICY
    assert o.histogram == {2: 25, 3: 75}
    assert len(o.copies) == PER_AU_BARS and "copies-capped" in o.notes
    assert [c.copies for c in o.copies[:25]] == [2] * 25  # fewest first
    assert o.matrix.kind == "titles" and len(o.matrix.columns) == MATRIX_COLUMNS and o.matrix.total_columns == 100
    assert "matrix-capped" in o.notes
    assert all(b.advice is Advice.SILENT_HOLDERS and b.silent == ["c"] for b in o.below)
    assert [(m.node_id, m.aus) for m in o.members] == [("a", 100), ("b", 100), ("c", 75)]


def _poll(node: Node, clock: StepClock, at: dt.datetime, object_id: str, **data: object) -> None:
    clock.t = at
    node.events.record(
        EventType.POLL,
        EventOutcome.SUCCESS,
        object_id,
        "poll",
        {"role": "poller", "voters": ["x", "y"], "outcome": "agree", "repaired": [], "unrepaired": []} | data,
    )


def test_polls_and_repair_times_from_the_events(node: Node, clock: StepClock, sample_dir: Path) -> None:
    au = node.ingest.deposit(sample_dir / "ghana-journal-of-agricultural-science-2023-bag", DepositOptions())
    start = clock.t
    day = dt.timedelta(days=1)
    _poll(node, clock, start, au.object_id)
    _poll(node, clock, start + day, au.object_id, outcome="inconclusive")
    _poll(node, clock, start + 20 * day, au.object_id, outcome="disagree", unrepaired=["payload/a.xml"])
    clock.t = start + 20 * day + dt.timedelta(hours=1)  # a vote for a peer: not a poll this node called
    node.events.record(EventType.POLL, EventOutcome.SUCCESS, au.object_id, "vote", {"role": "voter"})
    clock.t = start + 22 * day
    node.events.record(EventType.REPAIR, EventOutcome.SUCCESS, au.object_id, "repaired", {"path": "payload/a.xml"})
    _poll(node, clock, start + 22 * day, au.object_id, outcome="disagree", repaired=["payload/a.xml"])
    _poll(node, clock, start + 40 * day, au.object_id)
    node.events.record(EventType.FIXITY_CHECK, EventOutcome.FAILURE, au.object_id, "damaged", {})
    o = gather(node.network_status, None, "Library", "GH")
    assert o.poll_period == "week"  # 40 days of polls
    assert [(p.start, p.agreements, p.repairs, p.inconclusive) for p in o.polls] == [
        ("2026-03-02", 1, 0, 1),
        ("2026-03-09", 0, 0, 0),
        ("2026-03-16", 0, 1, 0),
        ("2026-03-23", 0, 1, 0),
        ("2026-03-30", 0, 0, 0),
        ("2026-04-06", 1, 0, 0),
    ]
    t = o.repair_times
    assert t.repaired == 1 and t.median_seconds == t.worst_seconds == 2 * 86400
    assert t.open_damage == [au.au_key]  # the audit of day 40 found damage not repaired yet
    [episode] = t.episodes
    assert episode.found == (start + 20 * day).isoformat() and episode.repaired == (start + 22 * day).isoformat()


def test_polls_by_day_within_a_month(node: Node, clock: StepClock, sample_dir: Path) -> None:
    au = node.ingest.deposit(sample_dir / "ghana-journal-of-agricultural-science-2023-bag", DepositOptions())
    start = clock.t
    _poll(node, clock, start, au.object_id)
    _poll(node, clock, start + dt.timedelta(days=2), au.object_id)
    o = gather(node.network_status, None, "Library", "GH")
    assert o.poll_period == "day"
    assert [(p.start, p.agreements) for p in o.polls] == [("2026-03-02", 1), ("2026-03-03", 0), ("2026-03-04", 1)]
    assert o.repair_times.repaired == 0 and o.repair_times.median_seconds is None
