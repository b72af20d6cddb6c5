"""``network status`` at the archive's size: the catalog is read in the same few queries for one AU as for every
AU the network holds (it asked two per AU before), and the answer is what the AU's own events say."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event

from strongroom.domain.model import EventOutcome, EventType
from strongroom.node import Node


@contextmanager
def counted(node: Node) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(node.catalog.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(node.catalog.engine, "before_cursor_execute", before)


def test_the_poll_history_of_every_au_takes_as_many_queries_as_that_of_one(node: Node, sample_dir: Path) -> None:
    for package in sorted(sample_dir.iterdir()):
        node.ingest.deposit(package)
    aus = {au.object_id: au.key for au, *_ in node.catalog.aus()}
    assert len(aus) >= 8
    first_id = sorted(aus)[0]
    for n in range(3):
        node.events.record(EventType.POLL, EventOutcome.SUCCESS, first_id, f"poll {n}", {"role": "poller"})
    status = node.network_status
    with counted(node) as one:
        single = status._poll_history([first_id])
    with counted(node) as every:
        history = status._poll_history([*sorted(aus), "not-catalogued-here"])
    assert len(every) == len(one) > 0
    key, polls, first_seen = single[first_id]
    assert (key, [e.id for e in polls], first_seen) == (
        history[first_id][0],
        [e.id for e in history[first_id][1]],
        history[first_id][2],
    )
    for object_id, key in aus.items():
        au_key, polls, first_seen = history[object_id]
        events = node.catalog.events(object_key=key, limit=None)
        assert au_key == key
        assert [e.id for e in polls] == [e.id for e in events if e.type == EventType.POLL]
        assert first_seen == min(e.time for e in events)
    assert [e.detail for e in history[first_id][1]] == ["poll 2", "poll 1", "poll 0"]  # newest first
    assert history["not-catalogued-here"] == ("not-catalogued-here", [], None)
