"""A running job's progress: its reporter writes the ``job_progress`` row at most about once a second (never once
per file), the first report and the end at once; a job run by the worker's code leaves its bytes done, its total
and its summary there, on both catalogs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from strongroom.node import Node
from strongroom.services.jobs import Job, JobKind, JobReporter
from strongroom.worker.run import run_job


class Log:
    """A progress log that only remembers what it was told."""

    def __init__(self) -> None:
        self.notes: list[dict[str, Any]] = []

    def note(self, job_id: int, kind: str, subject: str, **fields: Any) -> None:
        self.notes.append({"job": job_id, "kind": kind, "subject": subject} | fields)


class Ticks:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _job() -> Job:
    return Job(7, JobKind.AUDIT, "issn:1/2024", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), {}, 0)


def test_the_reporter_writes_at_most_once_a_second_and_at_the_end() -> None:
    log, ticks = Log(), Ticks()
    reporter = JobReporter(log, _job(), every=1.0, monotonic=ticks)  # type: ignore[arg-type]
    reporter.stage("auditing", 10_000)
    for i in range(1000):  # a thousand small files in 2.5 seconds
        ticks.t += 0.0025
        reporter.counted(i + 1)
        reporter.advance(10)
    assert len(log.notes) == 1 + 2  # the stage at once, then once a second (at 1 and 2 seconds)
    assert log.notes[0] == {"job": 7, "kind": "audit", "subject": "issn:1/2024", "done": 0, "total": 10_000} | {
        "message": "auditing"
    }
    assert log.notes[-1]["done"] < 10_000 and log.notes[-1]["message"].startswith("auditing: ")
    reporter.finish("audit of issn:1/2024: intact (1000 files)")
    assert log.notes[-1]["done"] == log.notes[-1]["total"] == 10_000
    assert log.notes[-1]["message"] == "audit of issn:1/2024: intact (1000 files)"


def test_a_total_unknown_in_advance_is_what_was_done_at_the_end() -> None:
    log, ticks = Log(), Ticks()
    reporter = JobReporter(log, _job(), monotonic=ticks)  # type: ignore[arg-type]
    reporter.stage("fetching")
    reporter.advance(500)
    reporter.finish("harvest done")
    assert log.notes[0]["total"] is None
    assert (log.notes[-1]["done"], log.notes[-1]["total"]) == (500, 500)


def test_a_job_run_by_the_worker_leaves_its_progress(tmp_path: Path, db_url: str, sample_dir: Path) -> None:
    node = Node.create(tmp_path / "home", database_url=db_url)
    try:
        node.ingest.deposit(sorted(sample_dir.iterdir())[0])
        [(au, *_)] = node.catalog.aus()
        job_id = node.jobs.enqueue(JobKind.AUDIT, au.key)
        assert job_id is not None
        assert node.jobs.progress.of(job_id) is None
        node.jobs.progress.note(job_id, "audit", au.key, message="queued", started_by="console:olu")
        [row] = node.jobs.rows()
        from strongroom.services.jobs import job_from

        summary = run_job(
            node, job_from(row.id, "audit", 0, {"subject": au.key, "queued": dt.datetime.now(dt.UTC).isoformat()})
        )
        progress = node.jobs.progress.of(job_id)
        assert progress is not None
        assert progress.done == progress.total and progress.done > 0
        assert progress.message == summary and progress.started_by == "console:olu"
        assert (shown := node.jobs.row(job_id)) is not None and (shown.id, shown.kind, shown.subject) == (
            row.id,
            "audit",
            au.key,
        )
        assert node.jobs.row(job_id + 1000) is None
    finally:
        node.close()


class Recorder:
    """A job's reporter that keeps each stage with the last count it was told."""

    def __init__(self) -> None:
        self.stages: list[list[Any]] = []

    def stage(self, name: str, total_bytes: int | None = None) -> None:
        self.stages.append([name, 0])

    def advance(self, nbytes: int) -> None:
        pass

    def counted(self, count: int) -> None:
        self.stages[-1][1] = count


def test_a_reindex_job_reports_the_objects_then_the_search_index_and_sums_up_items(
    tmp_path: Path, db_url: str, sample_dir: Path
) -> None:
    from strongroom.worker.tasks import execute

    node = Node.create(tmp_path / "home", database_url=db_url)
    try:
        for package in sorted(sample_dir.iterdir())[:2]:
            node.ingest.deposit(package)
        items = sum(au.item_count for au, *_ in node.catalog.aus())
        recorder = Recorder()
        job = Job(1, JobKind.REINDEX, "", dt.datetime.now(dt.UTC), {}, 0)
        summary = execute(node, job, recorder)
        # every item is queued again by a reindex, so the search index is brought up to date item by item
        assert recorder.stages == [["cataloguing objects", 2], ["updating the search index", items]]
        assert (
            summary
            == f"reindexed 2 object(s) holding {items} item(s), 0 problem(s); {items} search document(s) updated"
        )
    finally:
        node.close()
