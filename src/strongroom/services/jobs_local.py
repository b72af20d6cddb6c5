"""The job queue of a node whose catalog is SQLite: a small queue of the same shape as PostgreSQL's in
``HOME/jobs.sqlite``, run by the one process that serves the node (see :mod:`strongroom.services.jobs` for the
interface both backends share).

Must not import: any face.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from strongroom.clock import Clock
from strongroom.services.jobs import (
    Job,
    JobKind,
    JobRow,
    JobState,
    KnownSubjects,
    ProgressLog,
    job_from,
    job_locks,
    retried,
    retry_delay,
    stalled_delay,
)
from strongroom.settings import JobSettings

_LOCAL_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    args TEXT NOT NULL,
    lock TEXT NOT NULL,
    queueing_lock TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    run_after TEXT NOT NULL,
    worker TEXT NOT NULL DEFAULT '',
    started TEXT,
    error TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_queueing_lock ON jobs (queueing_lock) WHERE state = 'todo';
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, run_after);
"""


class LocalJobs(KnownSubjects):
    """The queue of a node whose catalog is SQLite, in ``HOME/jobs.sqlite``: jobs are run by one process at a time
    (:meth:`run_due`), the one holding the runner's lock (:attr:`runner_lock`: ``strongroom serve`` or
    ``strongroom worker``; a second waits for the first to stop), one job at a time; a process that died mid-job
    leaves it ``doing``, and the next runner's :meth:`retry_stalled` queues it again."""

    backend = "sqlite"

    def __init__(self, path: Path, settings: JobSettings, clock: Clock, *, catalog: Engine) -> None:
        self.path = path
        self.settings = settings
        self.clock = clock
        self.catalog = catalog
        self.progress = ProgressLog(catalog, clock)  # in the catalog, where the console reads it
        with closing(self._connect()) as conn:
            conn.executescript(_LOCAL_SCHEMA)

    @property
    def runner_lock(self) -> Path:
        """The file whose ``flock`` the one process running this queue holds."""
        return self.path.with_name(self.path.stem + ".runner.lock")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _now(self) -> str:
        return self.clock.now().astimezone(dt.UTC).isoformat()

    def enqueue(self, kind: JobKind, subject: str = "", **args: Any) -> int | None:
        with self._write() as conn:
            return self._insert(conn, kind, subject, args)

    def enqueue_many(self, kind: JobKind, subjects: Sequence[str]) -> list[int | None]:
        if not subjects:
            return []
        with self._write() as conn:
            return [self._insert(conn, kind, subject, {}) for subject in subjects]

    def _insert(self, conn: sqlite3.Connection, kind: JobKind, subject: str, args: dict[str, Any]) -> int | None:
        lock, queueing_lock = job_locks(kind, subject)
        payload = json.dumps({"subject": subject, "queued": self.clock.now().isoformat(), **args})
        cur = conn.execute(
            "INSERT INTO jobs (kind, subject, args, lock, queueing_lock, state, run_after) "
            "VALUES (?, ?, ?, ?, ?, 'todo', ?) ON CONFLICT DO NOTHING",
            (kind.value, subject, payload, lock, queueing_lock, self._now()),
        )
        return cur.lastrowid if cur.rowcount else None

    def take(self, worker: str, kinds: Sequence[JobKind] = (), skip: Collection[int] = ()) -> Job | None:
        """The next due job (of ``kinds``, or any; none of ``skip``) whose lock is free, now ``doing``; None when
        there is none."""
        # lists as ",harvest,,audit," and ",3,,7,", matched by instr (no SQL built from values)
        wanted = "".join(f",{k.value}," for k in kinds)
        skipped = "".join(f",{i}," for i in skip)
        with self._write() as conn:
            row = conn.execute(
                "SELECT id, kind, attempts, args FROM jobs j WHERE state = 'todo' AND run_after <= ? "
                "AND (? = '' OR instr(?, ',' || kind || ',') > 0) AND instr(?, ',' || id || ',') = 0 AND NOT EXISTS "
                "(SELECT 1 FROM jobs d WHERE d.state = 'doing' AND d.lock = j.lock) ORDER BY id LIMIT 1",
                (self._now(), wanted, wanted, skipped),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE jobs SET state = 'doing', worker = ?, started = ? WHERE id = ?", (worker, self._now(), row[0])
            )
        return job_from(row[0], row[1], row[2], json.loads(row[3]))

    def finish(self, job: Job, error: str | None = None) -> None:
        """Record the end of ``job``: succeeded, or failed (queued again after a back-off while attempts remain)."""
        with self._write() as conn:
            if error is None:
                conn.execute("UPDATE jobs SET state = 'succeeded', attempts = attempts + 1 WHERE id = ?", (job.id,))
            elif retried(self.settings, job.kind, job.attempts):
                self._requeue(conn, job.id, job.attempts, error)
            else:
                conn.execute(
                    "UPDATE jobs SET state = 'failed', attempts = attempts + 1, error = ? WHERE id = ?",
                    (error[:2000], job.id),
                )

    def _requeue(
        self, conn: sqlite3.Connection, job_id: int, attempts: int, error: str, delay: float | None = None
    ) -> None:
        seconds = retry_delay(self.settings, attempts) if delay is None else delay
        when = self.clock.now() + dt.timedelta(seconds=seconds)
        conn.execute(
            "UPDATE jobs SET state = 'todo', attempts = attempts + 1, run_after = ?, error = ? WHERE id = ?",
            (when.astimezone(dt.UTC).isoformat(), error[:2000], job_id),
        )

    def run_due(
        self,
        execute: Callable[[Job], object],
        *,
        worker: str,
        stopping: threading.Event | None = None,
        kinds: Sequence[JobKind] = (),
    ) -> int:
        """Run every due job (of ``kinds``, or all), one after another, until none is left (or ``stopping`` is set);
        how many ran. ``execute`` raising is the job failing: it is queued again after a back-off, or failed for
        good. A job runs at most once per call (a retry that falls due meanwhile waits for the next)."""
        ran = 0
        tried: set[int] = set()
        while not (stopping is not None and stopping.is_set()):
            job = self.take(worker, kinds, tried)
            if job is None:
                break
            tried.add(job.id)
            try:
                execute(job)
            except Exception as exc:  # the job's failure is recorded on it; the runner goes on with the next
                self.finish(job, f"{type(exc).__name__}: {getattr(exc, 'message', exc)}")
            else:
                self.finish(job)
            ran += 1
        return ran

    def rows(
        self,
        state: JobState | None = None,
        limit: int = 100,
        *,
        job_id: int | None = None,
        before: int | None = None,
    ) -> list[JobRow]:
        wanted = state.value if state else None
        with closing(self._connect()) as conn:
            rows = conn.execute(
                "SELECT id, kind, subject, state, attempts, worker, started, error FROM jobs "
                "WHERE (? IS NULL OR state = ?) AND (? IS NULL OR id = ?) AND (? IS NULL OR id < ?) "
                "ORDER BY id DESC LIMIT ?",
                (wanted, wanted, job_id, job_id, before, before, limit),
            ).fetchall()
        return [
            JobRow(r[0], r[1], r[2], r[3], r[4], r[5], dt.datetime.fromisoformat(r[6]) if r[6] else None, r[7])
            for r in rows
        ]

    def row(self, job_id: int) -> JobRow | None:
        return next(iter(self.rows(limit=1, job_id=job_id)), None)

    def active(self, kind: JobKind) -> set[str]:
        with closing(self._connect()) as conn:
            rows = conn.execute(
                "SELECT DISTINCT subject FROM jobs WHERE state IN ('todo', 'doing') AND kind = ?", (kind.value,)
            ).fetchall()
        return {r[0] for r in rows}

    def counts(self) -> Counter[tuple[str, str]]:
        with closing(self._connect()) as conn:
            rows = conn.execute("SELECT state, kind, count(*) FROM jobs GROUP BY 1, 2").fetchall()
        return Counter({(s, k): n for s, k, n in rows})

    def retry_stalled(self) -> list[int]:
        """Jobs left ``doing`` by a process that died (only one process runs this queue, and it calls this before
        taking any job)."""
        with self._write() as conn:
            stalled = conn.execute("SELECT id, attempts, kind FROM jobs WHERE state = 'doing'").fetchall()
            for job_id, attempts, kind in stalled:
                if attempts + 1 >= self.settings.max_attempts:
                    conn.execute(
                        "UPDATE jobs SET state = 'failed', error = 'interrupted too often; given up' WHERE id = ?",
                        (job_id,),
                    )
                else:
                    delay = stalled_delay(self.settings, JobKind(kind), attempts)
                    self._requeue(conn, job_id, attempts, "interrupted (the process stopped); queued again", delay)
        return [job_id for job_id, *_ in stalled]

    def note_start(self, job_id: int, worker: str) -> None:
        """(Recorded by :meth:`take`.)"""

    def close(self) -> None:
        """(Nothing stays open.)"""

    def note_error(self, job_id: int, error: str) -> None:
        with self._write() as conn:
            conn.execute("UPDATE jobs SET error = ? WHERE id = ?", (error[:2000], job_id))
