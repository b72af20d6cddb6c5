"""``strongroom harvest scheduled``, the cron entry point: it queues a harvest job for every title whose
re-collection is due, never a second one for a title whose harvest is already waiting or running, and says who runs
them. On PostgreSQL the workers do (and it warns when none is running); on SQLite, when no ``serve`` or ``worker``
runs the node's jobs, it runs the waiting harvests itself with progress, so a node run from cron alone keeps
collecting, and a harvest that failed exits 1 and is tried again at the next run."""

from __future__ import annotations

import fcntl
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from strongroom.samples.ojs_site import OjsSite, serve_site
from tests_support import add_ojs_title, cli

TITLE = "issn:3907-6563"
sqlite_only = pytest.mark.parametrize("db_factory", ["sqlite"], indirect=True)
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def site() -> Iterator[tuple[OjsSite, str]]:
    s = OjsSite()
    with serve_site(s) as url:
        yield s, url


def _node(home: Path, db_url: str, site: tuple[OjsSite, str], *settings: str) -> Run:
    """A node on ``db_url`` with the fixture journal's harvest due every 30 days (never collected: due now)."""
    ojs, url = site
    sr = cli(home)
    assert sr("init", "--database-url", db_url).returncode == 0
    if settings:
        with (home / "strongroom.toml").open("a") as f:
            f.write("\n".join(settings) + "\n")
    added = add_ojs_title(sr, TITLE, f"{url}{ojs.base}/gateway/clockss", "J", "--publisher", "P", "--every", "30")
    assert added.returncode == 0, added.stderr
    return sr


def _scheduled(sr: Run) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    done = sr("harvest", "scheduled", "--json")
    assert "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout), done


def _harvest_jobs(sr: Run) -> list[dict[str, Any]]:
    return [j for j in json.loads(sr("jobs", "--json").stdout)["jobs"] if j["kind"] == "harvest"]


def test_cron_queues_each_due_harvest_once_and_a_runner_collects_it(
    tmp_path: Path, db_url: str, site: tuple[OjsSite, str], workers: Callable[[Path], subprocess.Popen[bytes]]
) -> None:
    home = tmp_path / "home"
    sr = _node(home, db_url, site)
    report, done = _scheduled(sr)
    assert done.returncode == 0 and report["queued"][0]["title"] == TITLE and report["waiting"] == []
    if db_url.startswith("sqlite"):  # nothing else runs this node's jobs: the command collects them itself
        assert report["runner"] == "this process"
        [ran] = report["ran"]
        assert ran["title"] == TITLE and ran["error"] is None and ran["summary"].startswith(f"harvest of {TITLE}: ")
        assert [j["state"] for j in _harvest_jobs(sr)] == ["succeeded"]
    else:  # the workers run them; none is running yet, and the command says so
        assert report["runner"] == "workers" and report["workers"] == 0 and report["ran"] == []
        assert "no worker is taking jobs" in done.stderr and "strongroom worker" in done.stderr
        again, _ = _scheduled(sr)  # queued and waiting: not queued twice
        assert again["queued"] == [] and again["waiting"] == [TITLE]
        [job] = _harvest_jobs(sr)
        assert job["state"] == "todo" and job["subject"] == TITLE
        workers(home)
        deadline = time.monotonic() + 120
        while _harvest_jobs(sr)[0]["state"] != "succeeded":
            assert time.monotonic() < deadline, "the worker never ran the queued harvest"
            time.sleep(0.5)
        assert len(_harvest_jobs(sr)) == 1
        working, said = _scheduled(sr)
        assert working["workers"] >= 1 and "no worker" not in said.stderr
    assert json.loads(sr("harvest", "due", "--json").stdout) == []  # collected: not due again for 30 days
    after, _ = _scheduled(sr)
    assert (after["queued"], after["waiting"], after["ran"]) == ([], [], [])
    assert len(_harvest_jobs(sr)) == 1


@sqlite_only
def test_on_sqlite_the_serving_process_runs_them_and_cron_only_queues(
    tmp_path: Path, db_url: str, site: tuple[OjsSite, str]
) -> None:
    home = tmp_path / "home"
    sr = _node(home, db_url, site)
    with (home / "jobs.runner.lock").open("a+b") as lock:  # as `strongroom serve` holds it while it runs the queue
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        report, done = _scheduled(sr)
        assert done.returncode == 0 and report["runner"] == "another process" and report["ran"] == []
        assert [q["title"] for q in report["queued"]] == [TITLE]
        text = sr("harvest", "scheduled")
        assert text.returncode == 0 and "1 harvest due: 0 queued, 1 already waiting or running" in text.stdout
        assert "strongroom serve or strongroom worker" in text.stdout
        assert [j["state"] for j in _harvest_jobs(sr)] == ["todo"]
        fcntl.flock(lock.fileno(), fcntl.LOCK_UN)  # serve stopped before it got to the harvest
    text = sr("harvest", "scheduled")
    assert text.returncode == 0, text.stderr
    assert f"{TITLE}: collecting (job " in text.stdout and "fetched..." in text.stdout  # progress as it goes
    assert "1 run here: 1 collected, 0 failed." in text.stdout
    assert [j["state"] for j in _harvest_jobs(sr)] == ["succeeded"]


@sqlite_only
def test_a_failed_harvest_exits_1_and_is_tried_again_at_the_next_run(
    tmp_path: Path, db_url: str, site: tuple[OjsSite, str]
) -> None:
    ojs, _ = site
    home = tmp_path / "home"
    sr = _node(home, db_url, site, "[jobs]", "retry_seconds = 0")
    ojs.state.permission = False
    failed = sr("harvest", "scheduled")
    assert failed.returncode == 1 and f"{TITLE}: failed: " in failed.stdout and "permission" in failed.stdout
    assert "1 run here: 0 collected, 1 failed." in failed.stdout
    [job] = _harvest_jobs(sr)
    assert job["state"] == "todo" and job["attempts"] == 1 and "permission" in job["error"]
    ojs.state.permission = True  # the publisher put the statement back
    report, done = _scheduled(sr)
    assert done.returncode == 0 and report["queued"] == [] and report["waiting"] == [TITLE]  # the same job, retried
    assert [r["error"] for r in report["ran"]] == [None]
    [job] = _harvest_jobs(sr)
    assert job["state"] == "succeeded" and job["attempts"] == 2
