"""The job queue with real worker processes: on PostgreSQL, ``strongroom worker`` processes share the jobs and do
each once; a worker killed mid-job has its job retried by another, which completes it with nothing lost or done
twice; the scheduler queues work instead of doing it. On SQLite the serving process, or one worker, runs the same
jobs."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import sqlalchemy as sa

from strongroom.clock import FixedClock
from strongroom.errors import ConfigError
from strongroom.harvest.permission import STATEMENTS
from strongroom.node import Node
from strongroom.peer.daemon import Schedule, Scheduler
from strongroom.services.jobs import JobKind, JobState
from strongroom.services.jobs_local import LocalJobs
from strongroom.settings import JobSettings, write_settings
from strongroom.worker.run import WorkerThread, run_job
from tests_support import cli, serving

pg_only = pytest.mark.parametrize("db_factory", ["postgresql"], indirect=True)
sqlite_only = pytest.mark.parametrize("db_factory", ["sqlite"], indirect=True)


def _node(tmp_path: Path, db_url: str, sample_dir: Path, packages: int, jobs: JobSettings | None = None) -> Node:
    """A node (real clock: workers are other processes) holding the AUs of ``packages`` sample packages."""
    home = tmp_path / "home"
    node = Node.create(home, database_url=db_url)
    if jobs is not None:
        write_settings(replace(node.settings, jobs=jobs))
        node.close()
        node = Node.open(home)
    for package in sorted(sample_dir.iterdir())[:packages]:
        node.ingest.deposit(package)
    return node


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _registered_workers(node: Node) -> int:
    with node.catalog.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM procrastinate_workers")).scalar_one())


def _fixity_events(node: Node, au_key: str) -> int:
    return len(node.catalog.events(object_key=au_key, type="fixity check"))


@pg_only
def test_two_workers_do_every_audit_exactly_once(
    tmp_path: Path, db_url: str, sample_dir: Path, workers: Callable[[Path], subprocess.Popen[bytes]]
) -> None:
    node = _node(tmp_path, db_url, sample_dir, packages=4)
    aus = [au.key for au, *_ in node.catalog.aus()]
    assert len(aus) >= 4
    assert all(node.jobs.enqueue(JobKind.AUDIT, key) for key in aus)
    assert node.jobs.enqueue(JobKind.AUDIT, aus[0]) is None  # already waiting: never queued twice
    first, second = workers(node.settings.home), workers(node.settings.home)
    wait_for(lambda: node.jobs.counts()[("succeeded", "audit")] == len(aus), "every audit to succeed")
    assert {key: _fixity_events(node, key) for key in aus} == dict.fromkeys(aus, 1)

    wait_for(lambda: _registered_workers(node) == 2, "both workers to be up")  # (a signal before: default death)
    first.send_signal(signal.SIGTERM)  # graceful: both stop by themselves
    second.send_signal(signal.SIGTERM)
    assert (first.wait(30), second.wait(30)) == (0, 0)

    shown = json.loads(cli(node.settings.home)("jobs", "--json").stdout)
    assert shown["backend"] == "postgresql"
    assert shown["counts"] == [{"state": "succeeded", "kind": "audit", "jobs": len(aus)}]
    assert sorted(j["subject"] for j in shown["jobs"]) == sorted(aus)
    assert all(j["attempts"] == 1 and j["worker"] and j["started"] and not j["error"] for j in shown["jobs"])
    node.close()


class StallingSite:
    """A site whose page /slow does not answer until the test releases it."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.asked = threading.Event()
        self.requests: list[str] = []

    def handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests.append(self.path)
                if self.path == "/":
                    body = f'<html><body><p>{STATEMENTS[0]}</p><a href="/fast">f</a><a href="/slow">s</a></body></html>'
                elif self.path in ("/fast", "/slow"):
                    if self.path == "/slow":
                        site.asked.set()
                        site.release.wait(60)
                    body = f"<html><body>the page {self.path}</body></html>"
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pg_only
def test_a_killed_workers_harvest_is_retried_by_another_and_done_once(
    tmp_path: Path, db_url: str, sample_dir: Path, workers: Callable[[Path], subprocess.Popen[bytes]]
) -> None:
    node = _node(tmp_path, db_url, sample_dir, packages=0, jobs=JobSettings(stalled_seconds=2.0, retry_seconds=0))
    site = StallingSite()
    with serving(site.handler()) as url:
        node.harvests.configure(
            "issn:stall",
            name="Stalling",
            publisher="P",
            country="KE",
            plan="generic",
            settings={"start_urls": [f"{url}/"], "delay": 0, "concurrency": 1},
        )
        job_id = node.jobs.enqueue(JobKind.HARVEST, "issn:stall")
        doomed = workers(node.settings.home)
        assert site.asked.wait(120), "the first worker never reached the stalling page"
        doomed.send_signal(signal.SIGKILL)  # mid-job: no goodbye, no status written
        assert doomed.wait(30) == -signal.SIGKILL
        [row] = node.jobs.rows()
        assert (row.id, row.state) == (job_id, "doing")  # the queue still believes it runs

        site.release.set()
        workers(node.settings.home)
        wait_for(lambda: node.jobs.rows()[0].state == "succeeded", "the harvest to be retried and succeed")

    [row] = node.jobs.rows()
    assert row.attempts == 2  # the killed run and the one that finished
    assert "stopped answering" in row.error  # what happened to the first run is shown to operators
    [(au, *_)] = node.catalog.aus()
    assert len(node.store.inventory(au.object_id)["versions"]) == 1  # stored once, not twice
    replayed = node.replay.replay(au.key, f"{url}/slow")
    assert replayed.body == b"<html><body>the page /slow</body></html>"  # nothing lost
    node.close()


@pg_only
def test_the_scheduler_queues_work_instead_of_doing_it(tmp_path: Path, db_url: str, sample_dir: Path) -> None:
    node = _node(tmp_path, db_url, sample_dir, packages=0)
    scheduler = Scheduler(node, Schedule(replicate_every=3600, deposits_every=3600, tick=0.05))
    scheduler.start()
    try:
        wait_for(lambda: len(node.jobs.rows()) >= 2, "the scheduler to queue its rounds", timeout=20)
    finally:
        scheduler.stopping.set()
        scheduler.join(10)
    assert node.jobs.counts() == {("todo", "replicate"): 1, ("todo", "deposits"): 1}  # queued, and nothing ran
    node.close()


def test_the_serving_process_runs_jobs_in_a_thread_and_stops_it_cleanly(
    tmp_path: Path, db_url: str, sample_dir: Path
) -> None:
    node = _node(tmp_path, db_url, sample_dir, packages=1)
    [key] = [au.key for au, *_ in node.catalog.aus()]
    runner = WorkerThread(node, tick=0.1)  # what 'strongroom serve' starts (unless --no-worker, on PostgreSQL)
    runner.start()
    try:
        node.jobs.enqueue(JobKind.AUDIT, key)
        wait_for(lambda: node.jobs.counts()[("succeeded", "audit")] == 1, "the serving process to run the audit")
    finally:
        runner.stop(timeout=30)
    assert not runner.is_alive()
    assert _fixity_events(node, key) == 1
    node.close()


@sqlite_only
def test_on_sqlite_the_serving_process_runs_the_same_jobs(
    tmp_path: Path, db_url: str, sample_dir: Path, clock: FixedClock
) -> None:
    node = Node.create(tmp_path / "home", database_url=db_url, clock=clock)
    for package in sorted(sample_dir.iterdir())[:2]:
        node.ingest.deposit(package)
    assert isinstance(node.jobs, LocalJobs)
    aus = [au.key for au, *_ in node.catalog.aus()]
    assert all(node.jobs.enqueue(JobKind.AUDIT, key) for key in aus)
    assert node.jobs.enqueue(JobKind.AUDIT, aus[0]) is None
    broken = node.jobs.enqueue(JobKind.EXPORT, aus[0])  # no destination: it fails, and is retried later
    ran = node.jobs.run_due(lambda job: run_job(node, job), worker="test")
    assert ran == len(aus) + 1
    assert {key: _fixity_events(node, key) for key in aus} == dict.fromkeys(aus, 1)
    [failed] = [r for r in node.jobs.rows() if r.id == broken]
    assert (failed.state, failed.attempts) == ("todo", 1)  # back in the queue, after a back-off
    assert "names no destination" in failed.error
    assert node.jobs.run_due(lambda job: run_job(node, job), worker="test") == 0  # not yet due

    shown = json.loads(cli(node.settings.home)("jobs", "--json", "--state", "succeeded").stdout)
    assert shown["backend"] == "sqlite"
    assert {(c["state"], c["kind"]): c["jobs"] for c in shown["counts"]} == {
        ("succeeded", "audit"): len(aus),
        ("todo", "export"): 1,
    }
    assert sorted(j["subject"] for j in shown["jobs"]) == sorted(aus)
    bad = cli(node.settings.home)("jobs", "--state", "finished")
    assert bad.returncode == 2 and "'finished' is not one of" in bad.stderr and "succeeded" in bad.stderr
    node.close()


@sqlite_only
def test_on_sqlite_a_job_interrupted_by_a_crash_is_queued_again(tmp_path: Path, db_url: str) -> None:
    node = Node.create(tmp_path / "home", database_url=db_url)
    assert isinstance(node.jobs, LocalJobs)
    job_id = node.jobs.enqueue(JobKind.REINDEX)
    taken = node.jobs.take("crashed")  # the process dies holding it
    assert taken is not None and taken.id == job_id
    assert node.jobs.take("another") is None  # one job of a unit at a time
    again = Node.open(node.settings.home)
    assert isinstance(again.jobs, LocalJobs)
    assert again.jobs.retry_stalled() == [job_id]
    [row] = again.jobs.rows()
    assert (row.state, row.attempts) == (JobState.TODO, 1) and "interrupted" in row.error
    again.close()
    node.close()


def test_bad_job_settings_are_refused_with_the_fix(tmp_path: Path) -> None:
    node = Node.create(tmp_path / "home")
    node.close()
    settings_file = tmp_path / "home" / "strongroom.toml"
    settings_file.write_text(settings_file.read_text() + "\n[jobs]\nmax_attempts = 0\n")
    with pytest.raises(ConfigError) as caught:
        Node.open(tmp_path / "home")
    assert "max_attempts" in caught.value.message and "docs/settings.md" in (caught.value.hint or "")


@sqlite_only
def test_on_sqlite_one_worker_runs_the_queue_and_a_second_takes_over_when_it_stops(
    tmp_path: Path, db_url: str, sample_dir: Path, workers: Callable[[Path], subprocess.Popen[bytes]]
) -> None:
    """A node in no network has no ``serve`` to run its jobs: ``strongroom worker`` runs them, one process at a
    time (the queue assumes one runner); a second waits, and takes over when the first stops."""
    node = _node(tmp_path, db_url, sample_dir, 2)
    home = node.settings.home
    first = workers(home)
    wait_for(lambda: (home / "jobs.runner.lock").exists(), "the first worker to take the runner's lock")
    time.sleep(1)  # the first is running the queue before the second starts
    second = workers(home)
    aus = [au.key for au, *_ in node.catalog.aus()]
    job = node.jobs.enqueue(JobKind.AUDIT, aus[0])
    wait_for(lambda: any(r.id == job and r.state == "succeeded" for r in node.jobs.rows()), "the first audit")
    [row] = [r for r in node.jobs.rows() if r.id == job]
    assert row.worker.endswith(f":{first.pid}")  # the second ran nothing while the first ran the queue
    first.send_signal(signal.SIGTERM)
    assert first.wait(60) == 0
    job = node.jobs.enqueue(JobKind.AUDIT, aus[1])
    wait_for(lambda: any(r.id == job and r.state == "succeeded" for r in node.jobs.rows()), "the second audit")
    [row] = [r for r in node.jobs.rows() if r.id == job]
    assert row.worker.endswith(f":{second.pid}")
    assert {key: _fixity_events(node, key) for key in aus} == dict.fromkeys(aus, 1)
    node.close()


@sqlite_only
def test_a_failed_round_is_not_retried_and_never_holds_back_the_next(tmp_path: Path, db_url: str) -> None:
    node = Node.create(tmp_path / "home", database_url=db_url)
    first = node.jobs.enqueue(JobKind.REPLICATE)
    assert node.jobs.run_due(lambda job: run_job(node, job), worker="test") == 1
    [row] = node.jobs.rows()
    assert (row.id, row.state) == (first, "failed") and "has not joined a network" in row.error
    assert node.jobs.enqueue(JobKind.REPLICATE) not in (None, first)  # the scheduler's next round goes in
    node.close()


def test_an_operator_queues_jobs_from_the_command_line(tmp_path: Path, db_url: str, sample_dir: Path) -> None:
    """``strongroom queue``: audits of the AUs named, each once however often asked; an export with its destination;
    wrong uses refused with a usage error; the jobs then run like any other."""
    node = _node(tmp_path, db_url, sample_dir, packages=2)
    aus = sorted(au.key for au, *_ in node.catalog.aus())
    run = cli(node.settings.home)
    done = run("queue", "audit", *aus, "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert [q["subject"] for q in shown["queued"]] == aus and all(q["job"] for q in shown["queued"])
    again = run("queue", "audit", aus[0])
    assert again.returncode == 0 and "already queued" in again.stdout
    export = run("queue", "export", aus[0], "--dest", str(tmp_path / "out"))
    assert export.returncode == 0 and "queued export of" in export.stdout
    for wrong, says in (
        (("audit",), "needs at least one AU key"),
        (("reindex", "x"), "takes no x"),
        (("export", aus[0]), "--dest"),
        (("export", aus[0], "--dest", str(tmp_path)), "exists"),
        (("oai-harvest", "issn:x"), "--base-url"),
        (("bogus",), "is not one of"),
    ):
        refused = run("queue", *wrong)
        assert refused.returncode == 2 and says in refused.stderr, (wrong, refused.stderr)
    counts = node.jobs.counts()
    assert counts[("todo", "audit")] == len(aus) and counts[("todo", "export")] == 1
    walked, before = [], None  # `strongroom jobs` a job a page, following each page's cursor back to the oldest
    while True:
        page = json.loads(run("jobs", "--limit", "1", "--json", *(["--before", str(before)] if before else [])).stdout)
        walked += [j["id"] for j in page["jobs"]]
        if page["before"] is None:
            break
        before = page["before"]
    assert walked == sorted({r.id for r in node.jobs.rows(limit=1000)}, reverse=True) and len(walked) == len(aus) + 1
    runner = WorkerThread(node, tick=0.1)  # what strongroom serve runs (and, on PostgreSQL, any worker)
    runner.start()
    try:
        wait_for(lambda: node.jobs.counts()[("succeeded", "audit")] == len(aus), "the queued audits to run")
        wait_for(lambda: node.jobs.counts()[("succeeded", "export")] == 1, "the queued export to run")
    finally:
        runner.stop(timeout=30)
    assert {key: _fixity_events(node, key) for key in aus} == dict.fromkeys(aus, 1)
    assert (tmp_path / "out" / "bagit.txt").is_file()
    node.close()
