"""What an AU keeps about itself (revision 0016), on both catalogs: the bytes of its head version, written with its
files; its last audit, written with the audit's event (a damaged file: not ok); its poll summary, written with each
poll event, here by real polls between in-process nodes. The console's node page reads them in as many queries for
ten AUs as for one, and its figures equal what a scan of the files and events says."""

from __future__ import annotations

import random
import re
import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from sqlalchemy import func, select

from memory_network import network_of
from strongroom.catalog.models import ArchivalUnit, File
from strongroom.domain.model import EventType
from strongroom.node import Node
from strongroom.portal.console.operator import node_view
from strongroom.samples.damage import flip_one_bit
from tests_support import statements


def selects(node: Node) -> AbstractContextManager[list[str]]:
    return statements(node.catalog.engine)


def _kept(node: Node) -> dict[str, ArchivalUnit]:
    with node.catalog.session() as s:
        return {au.key: au for au in s.scalars(select(ArchivalUnit))}


def _scanned(node: Node) -> dict[int, tuple[int, int]]:
    """AU id -> (files, bytes), by a scan of the files: what the kept figures must equal."""
    with node.catalog.session() as s:
        rows = s.execute(select(File.au_id, func.count(File.id), func.sum(File.size)).group_by(File.au_id))
        return {au_id: (int(n), int(b)) for au_id, n, b in rows}


def test_stored_bytes_are_kept_with_each_version_and_the_node_page_does_not_scan(
    node: Node, sample_dir: Path, tmp_path: Path
) -> None:
    packages = sorted(sample_dir.iterdir())
    work = tmp_path / "pkg"
    shutil.copytree(next(p for p in packages if p.name.endswith("-jats")), work)
    node.ingest.deposit(work)
    with selects(node) as one:
        small = node_view(node)
    for package in packages:
        node.ingest.deposit(package)
    (work / "supplement.csv").write_text("a,b\n" + "1,2\n" * 1000)
    assert node.ingest.deposit(work).version == 2  # a new version: its AU's bytes follow
    with selects(node) as many:
        large = node_view(node)
    assert large["storage"]["aus"] >= 8 > small["storage"]["aus"] == 1
    assert len(many) == len(one)  # the same queries for 1 AU as for every AU and file
    read = [" ".join(q.lower().split()) for q in many]
    assert not [q for q in read if re.search(r"\b(from|join) files\b", q)]  # storage used: never a file row
    assert not [q for q in read if "from events" in q and "group by" in q]  # the last audit: no grouping of events

    scanned = _scanned(node)
    kept = _kept(node)
    assert {au.id: (au.stored_files, au.stored_bytes) for au in kept.values()} == scanned
    storage = large["storage"]
    assert storage["used"] == sum(b for _, b in scanned.values()) and storage["files"] == sum(
        n for n, _ in scanned.values()
    )
    assert {au.id: (files, size) for au, _items, files, size in node.catalog.aus()} == scanned  # as kept


def test_the_audit_keeps_each_aus_last_audit_with_its_event(node: Node, sample_dir: Path) -> None:
    bags = [p for p in sorted(sample_dir.iterdir()) if p.name.endswith("-bag")][:2]
    first, second = (node.ingest.deposit(b) for b in bags)
    health = node.health
    never = health.last_audit()
    assert (never.at, never.audited, never.failing) == (None, 0, [])
    assert {(au.last_audit_at, au.last_audit_ok) for au in _kept(node).values()} == {(None, None)}

    assert node.audits.audit().intact
    flip_one_bit(node.store, second.object_id)
    report = node.audits.audit()
    assert not report.intact
    kept = _kept(node)
    for result in (first, second):
        [latest] = node.catalog.events(object_key=result.au_key, type=EventType.FIXITY_CHECK, limit=1)
        assert kept[result.au_key].last_audit_at == latest.time
        assert kept[result.au_key].last_audit_ok is (latest.outcome == "success")
    assert kept[first.au_key].last_audit_ok is True and kept[second.au_key].last_audit_ok is False
    seen = health.last_audit()
    assert seen.failing == [second.au_key] and seen.audited == 2
    assert seen.at == max(au.last_audit_at for au in kept.values() if au.last_audit_at)
    view = node_view(node)["last_audit"]
    assert view["failing"] == [second.au_key] and view["advice"]

    node.audits.audit([second.au_key])  # still damaged: an audit of one AU keeps only its own
    assert _kept(node)[first.au_key].last_audit_at == kept[first.au_key].last_audit_at


def test_polls_keep_each_aus_summary_and_network_status_reads_it(
    tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path
) -> None:
    nodes = [Node.create(tmp_path / f"n{i}", database_url=db_factory()) for i in range(5)]
    net, clients = network_of(nodes)
    try:
        result = nodes[0].ingest.deposit(next(p for p in sorted(sample_dir.iterdir()) if p.name.endswith("-bag")))
        for node, client in zip(nodes[1:], clients[1:], strict=True):
            assert node.replication.run(client)
        poller, client = nodes[2], clients[2]
        flip_one_bit(poller.store, result.object_id)
        outcome = poller.polls.poll(client, result.object_id, random.Random(1))
        assert outcome.outcome == "disagree" and outcome.repaired and not outcome.unrepaired

        au = _kept(poller)[result.au_key]
        [called] = [
            e
            for e in poller.catalog.events(object_key=result.au_key, type=str(EventType.POLL), limit=None)
            if e.data.get("role") == "poller" and "voters" in e.data
        ]
        assert (au.last_poll_at, au.last_poll_outcome) == (called.time, called.outcome) == (called.time, "success")
        assert au.last_conclusive_poll_at == called.time and au.poll_alarms == []
        for voter in (n for n in nodes if n is not poller and n.settings.node_id in outcome.voters):
            kept = _kept(voter)[result.au_key]
            [receipt] = voter.catalog.events(object_key=result.au_key, type=str(EventType.POLL), limit=1)
            assert receipt.data.get("receipt") == "agree"  # the poller told it its copy agreed
            assert (kept.last_poll_at, kept.last_conclusive_poll_at) == (None, receipt.time)

        _, copies = poller.network_status.copies(client)
        [mine] = [c for c in copies if c.object_id == result.object_id]
        assert mine.last_poll == f"{called.time:%Y-%m-%d %H:%M} success" and mine.alarms == []
        assert poller.network_status.au(client, result.au_key).open_alarms == []

        net.down |= {f"n{i}" for i in range(5) if i != 2}  # no quorum: the next poll alarms, and the alarm stays
        alarmed = poller.polls.poll(client, result.object_id, random.Random(2))
        assert alarmed.alarms
        au = _kept(poller)[result.au_key]
        assert au.last_poll_outcome == "warning" and au.last_conclusive_poll_at == called.time
        [alarm] = au.poll_alarms
        assert "too few votes" in alarm
        _, copies = poller.network_status.copies(client)
        [mine] = [c for c in copies if c.object_id == result.object_id]
        assert mine.alarms == [alarm] and mine.last_poll is not None and mine.last_poll.endswith(" warning")
    finally:
        for n in nodes:
            n.close()
