"""``network status`` at the archive's size: the catalog is read in the same few queries for one AU as for every
AU the network holds (one row per AU, the poll summary it keeps, never its events), and the answer is what the AU's
own events say."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from strongroom.domain.model import EventOutcome, EventType
from strongroom.node import Node
from tests_support import statements


def counted(node: Node) -> AbstractContextManager[list[str]]:
    return statements(node.catalog.engine)


def test_the_poll_summaries_of_every_au_take_as_many_queries_as_that_of_one(node: Node, sample_dir: Path) -> None:
    for package in sorted(sample_dir.iterdir()):
        node.ingest.deposit(package)
    aus = {au.object_id: au for au, *_ in node.catalog.aus()}
    assert len(aus) >= 8
    first_id = sorted(aus)[0]
    for n in range(3):
        node.events.record(
            EventType.POLL,
            EventOutcome.WARNING,
            first_id,
            f"poll {n}",
            {"role": "poller", "voters": [], "alarms": ["x"]},
        )
    status = node.network_status
    with counted(node) as one:
        single = status._poll_summaries([first_id])
    with counted(node) as every:
        kept = status._poll_summaries([*sorted(aus), "not-catalogued-here"])
    assert len(every) == len(one) > 0
    assert single[first_id] == kept[first_id]
    for object_id, au in aus.items():
        au_key, summary, first_seen = kept[object_id]
        polls = node.catalog.events(object_key=au.key, type=str(EventType.POLL), limit=None)
        assert au_key == au.key and first_seen == au.created_at
        assert summary.last_poll_at == (polls[0].time if polls else None)
        assert summary.alarms == [f"{e.time:%Y-%m-%d %H:%M} {e.detail}" for e in polls]  # newest first
    assert [a.split(" ", 2)[2] for a in kept[first_id][1].alarms] == ["poll 2", "poll 1", "poll 0"]
    assert "not-catalogued-here" not in kept
