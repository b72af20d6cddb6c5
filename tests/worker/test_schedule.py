"""What the scheduler of ``strongroom serve`` queues on its own besides rounds and polls: an audit of each AU whose
last audit is older than ``jobs.audit_every_days`` (spread, so AUs deposited together do not fall due at once) and
a harvest of each title whose plan is due; each once, never beside a job of the same unit waiting or running. And
``strongroom queue`` refuses keys that name nothing, queueing none of the jobs asked for. On both catalogs."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa

from strongroom.catalog.models import ArchivalUnit
from strongroom.errors import ConfigError
from strongroom.node import Node
from strongroom.peer.daemon import Schedule, Scheduler
from strongroom.services.jobs import JobKind, audit_interval, audit_phase
from tests_support import cli

START = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)
EVERY = dt.timedelta(days=30)  # jobs.audit_every_days by default
# A Schedule whose rounds are far apart: these tests look at audits and harvests only.
QUIET = Schedule(replicate_every=86400, deposits_every=86400)


class SetClock:
    """A clock that stays where the test puts it."""

    def __init__(self, now: dt.datetime) -> None:
        self.t = now

    def now(self) -> dt.datetime:
        return self.t


def _au_ids(node: Node) -> dict[str, int]:
    with node.catalog.engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT key, id FROM archival_units")).all())  # type: ignore[arg-type]


def _deposit(node: Node, sample_dir: Path, packages: int) -> None:
    for package in sorted(sample_dir.iterdir())[:packages]:
        node.ingest.deposit(package)


def test_due_audits_are_queued_once_spread_over_time_and_not_when_recently_audited(
    tmp_path: Path, db_url: str, sample_dir: Path
) -> None:
    clock = SetClock(START)
    node = Node.create(tmp_path / "home", database_url=db_url, clock=clock)
    _deposit(node, sample_dir, 4)
    ids = _au_ids(node)
    due_after = {key: audit_interval(EVERY, audit_phase(au_id)) for key, au_id in ids.items()}
    assert len(ids) == 4 and len(set(due_after.values())) == 4  # four phases: four moments
    assert all(EVERY * 0.75 <= after <= EVERY for after in due_after.values())  # never later than the interval

    assert Scheduler(node, QUIET).queue_due() == {}  # just deposited: nothing is due
    first, second, third, last = sorted(ids, key=lambda key: due_after[key])
    clock.t = START + due_after[second]  # the first two AUs' moment has come, not the others'
    assert Scheduler(node, QUIET).queue_due() == {JobKind.AUDIT: sorted([first, second], key=ids.__getitem__)}
    assert Scheduler(node, QUIET).queue_due() == {}  # a new scheduler (no memory): still waiting, not queued again
    assert node.jobs.due_audits(EVERY) == []

    clock.t = START + EVERY - dt.timedelta(days=1)
    [audited] = node.audits.audit([third]).aus  # audited a day before its scheduled audit would fall due
    assert audited.intact
    clock.t = START + EVERY
    assert Scheduler(node, QUIET).queue_due() == {JobKind.AUDIT: [last]}  # the third was audited a day ago
    counts = node.jobs.counts()
    assert counts[("todo", "audit")] == 3 and sum(counts.values()) == 3
    assert {r.subject for r in node.jobs.rows()} == {first, second, last}

    clock.t = START + EVERY + due_after[third] - dt.timedelta(days=1)  # a phase after its own audit
    assert node.jobs.due_audits(EVERY) == [third]
    node.close()


def test_scheduled_audits_can_be_turned_off_and_fill_a_bounded_window(
    tmp_path: Path, db_url: str, sample_dir: Path
) -> None:
    clock = SetClock(START + EVERY * 2)
    node = Node.create(tmp_path / "home", database_url=db_url, clock=clock)
    clock.t = START
    _deposit(node, sample_dir, 3)
    clock.t = START + EVERY * 2
    assert node.jobs.due_audits(dt.timedelta(0)) == []  # audit_every_days = 0: none
    assert len(node.jobs.due_audits(EVERY, window=2)) == 2  # at most two waiting at once
    [one] = node.jobs.due_audits(EVERY, window=1)
    assert node.jobs.enqueue(JobKind.AUDIT, one) is not None
    assert node.jobs.due_audits(EVERY, window=1) == []  # the window is full
    others = node.jobs.due_audits(EVERY, window=3)
    assert len(others) == 2 and one not in others  # the others, not the one waiting
    ids = node.jobs.enqueue_many(JobKind.AUDIT, [*others, one])  # in one go, but the one waiting not twice
    assert all(ids[:2]) and ids[2] is None
    assert node.jobs.counts() == {("todo", "audit"): 3}
    node.close()


def test_due_harvests_are_queued_once_by_their_plans_interval(tmp_path: Path, db_url: str) -> None:
    clock = SetClock(START)
    node = Node.create(tmp_path / "home", database_url=db_url, clock=clock)
    site = {"start_urls": ["http://127.0.0.1:9/"], "delay": 0}
    for title, every in (("issn:never-run", 7), ("issn:recent", 7), ("issn:by-hand", None)):
        node.harvests.configure(
            title, name=title, publisher="P", country="KE", plan="generic", settings=site, every_days=every
        )
    node.harvests.ran("issn:recent", START - dt.timedelta(days=1))
    node.harvests.ran("issn:by-hand", START - dt.timedelta(days=400))

    assert Scheduler(node, QUIET).queue_due() == {JobKind.HARVEST: ["issn:never-run"]}
    assert Scheduler(node, QUIET).queue_due() == {}  # waiting: not queued twice
    clock.t = START + dt.timedelta(days=6)
    assert Scheduler(node, QUIET).queue_due() == {JobKind.HARVEST: ["issn:recent"]}  # seven days after its last
    assert node.jobs.counts() == {("todo", "harvest"): 2}  # the plan with no interval is harvested by hand only
    node.close()


def test_the_scheduler_queues_a_unit_that_failed_for_good_again_only_after_a_while(tmp_path: Path, db_url: str) -> None:
    clock = SetClock(START)
    node = Node.create(tmp_path / "home", database_url=db_url, clock=clock)
    node.harvests.configure(
        "issn:down",
        name="Down",
        publisher="P",
        country="KE",
        plan="generic",
        settings={"start_urls": ["http://127.0.0.1:9/"]},
        every_days=1,
    )
    scheduler = Scheduler(node, QUIET)
    assert scheduler.queue_due() == {JobKind.HARVEST: ["issn:down"]}
    _fail_every_job(node)  # its job failed for good: nothing of the unit waits any more
    assert node.jobs.due_harvests() == ["issn:down"]  # still due
    assert scheduler.queue_due() == {}  # but this scheduler queued it a moment ago
    assert Scheduler(node, Schedule(requeue_after=0)).queue_due() == {JobKind.HARVEST: ["issn:down"]}
    node.close()


def _fail_every_job(node: Node) -> None:
    if node.jobs.backend == "sqlite":
        with closing(sqlite3.connect(node.settings.home / "jobs.sqlite")) as conn, conn:
            conn.execute("UPDATE jobs SET state = 'failed'")
        return
    with node.catalog.engine.begin() as conn:
        conn.execute(sa.text("UPDATE procrastinate_jobs SET status = 'failed'"))


def test_queue_refuses_keys_that_name_nothing_and_queues_none(tmp_path: Path, db_url: str, sample_dir: Path) -> None:
    node = Node.create(tmp_path / "home", database_url=db_url)
    _deposit(node, sample_dir, 1)
    [(au, *_)] = node.catalog.aus()
    run = cli(node.settings.home)
    for args, says in (
        (("audit", au.key, "issn:0000-0000/1999"), ["no AU issn:0000-0000/1999", "strongroom aus"]),
        (("export", "nope", "--dest", str(tmp_path / "out")), ["no AU nope", "nothing was queued"]),
        (("harvest", "issn:unplanned"), ["no harvest plan for issn:unplanned", "strongroom harvest add"]),
        (("oai-harvest", "issn:unplanned", "--base-url", "http://x/oai"), ["no harvest plan for issn:unplanned"]),
        (("poll", au.key), [f"as the object {au.key}", "OCFL object id"]),  # a key where an object id goes
    ):
        refused = run("queue", *args)
        assert refused.returncode == 4, (args, refused.stderr)
        assert all(s in refused.stderr for s in says), (args, refused.stderr)
    assert node.jobs.counts() == {}  # the good key in the first was not queued either
    done = run("queue", "poll", au.object_id)
    assert done.returncode == 0 and "queued poll of" in done.stdout, done.stderr
    assert node.jobs.counts() == {("todo", "poll"): 1}
    node.close()


def test_a_worker_runs_the_audits_the_scheduler_queued_and_they_are_not_queued_again(
    tmp_path: Path, db_url: str, sample_dir: Path, workers: Callable[[Path], subprocess.Popen[bytes]]
) -> None:
    from test_jobs import wait_for  # (the worker tests' patient wait)

    node = Node.create(tmp_path / "home", database_url=db_url)  # the real clock: the worker is another process
    _deposit(node, sample_dir, 2)
    aus = sorted(_au_ids(node))
    with node.catalog.engine.begin() as conn:  # deposited 40 days ago, never audited since
        conn.execute(sa.update(ArchivalUnit).values(created_at=node.clock.now() - dt.timedelta(days=40)))
    scheduler = Scheduler(node, Schedule(replicate_every=86400, deposits_every=86400, due_every=0.2, tick=0.05))
    scheduler.start()
    try:
        workers(node.settings.home)
        wait_for(lambda: node.jobs.counts()[("succeeded", "audit")] == len(aus), "the scheduled audits to run")
    finally:
        scheduler.stopping.set()
        scheduler.join(30)
    assert {r.subject for r in node.jobs.rows() if r.kind == "audit"} == set(aus)  # each once
    assert {key: len(node.catalog.events(object_key=key, type="fixity check")) for key in aus} == dict.fromkeys(aus, 1)
    assert Scheduler(node, QUIET).queue_due() == {}  # audited just now: not due
    assert node.jobs.counts()[("succeeded", "audit")] == len(aus)
    node.close()


def test_the_audit_interval_is_a_setting_checked_when_the_node_opens(tmp_path: Path) -> None:
    node = Node.create(tmp_path / "home")
    node.close()
    settings_file = tmp_path / "home" / "strongroom.toml"
    plain = settings_file.read_text()
    settings_file.write_text(plain + "\n[jobs]\naudit_every_days = 7\n")
    node = Node.open(tmp_path / "home")
    assert node.settings.jobs.audit_every_days == 7.0
    node.close()
    settings_file.write_text(plain + "\n[jobs]\naudit_every_days = -1\n")
    with pytest.raises(ConfigError) as caught:
        Node.open(tmp_path / "home")
    assert "jobs.audit_every_days" in caught.value.message and "docs/settings.md" in (caught.value.hint or "")
