"""The job queue on PostgreSQL: ``procrastinate``'s queue in the catalog's own database, taken from by any number
of ``strongroom worker`` processes on any machine (see :mod:`strongroom.services.jobs` for the interface both
backends share).

Must not import: any face.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, text

from strongroom.clock import Clock
from strongroom.services.jobs import (
    TASK_PREFIX,
    JobKind,
    JobRow,
    JobState,
    KnownSubjects,
    ProgressLog,
    job_locks,
    stalled_delay,
)
from strongroom.settings import JobSettings, libpq_conninfo

_SCHEMA_LOCK = 0x53524A4F4253  # pg_advisory_xact_lock key: two processes never apply the schema at once

_RUNS_TABLE = """
CREATE TABLE IF NOT EXISTS strongroom_job_runs (
    job_id bigint PRIMARY KEY REFERENCES procrastinate_jobs(id) ON DELETE CASCADE,
    worker text NOT NULL DEFAULT '',
    started timestamp with time zone,
    error text NOT NULL DEFAULT ''
)
"""


class PostgresJobs(KnownSubjects):
    backend = "postgresql"

    def __init__(self, engine: Engine, settings: JobSettings, clock: Clock) -> None:
        from procrastinate import App, SyncPsycopgConnector

        self.engine = self.catalog = engine
        self.settings = settings
        self.clock = clock
        self.conninfo = libpq_conninfo(engine.url.render_as_string(hide_password=False))
        self.progress = ProgressLog(engine, clock)
        self.ensure_schema()
        self.app = App(connector=SyncPsycopgConnector(conninfo=self.conninfo))
        self._open = False
        self._lock = threading.Lock()

    def ensure_schema(self) -> None:
        """Apply procrastinate's schema (and the table of who ran what) unless the database already has it."""
        import psycopg
        from procrastinate.schema import SchemaManager

        with psycopg.connect(self.conninfo) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            if conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone() == (None,):
                conn.execute(SchemaManager.get_schema())
            conn.execute(_RUNS_TABLE)

    @contextmanager
    def _procrastinate(self) -> Iterator[Any]:
        with self._lock:
            if not self._open:
                self.app.open()
                self._open = True
        yield self.app

    def close(self) -> None:
        if self._open:
            self.app.close()
            self._open = False

    def enqueue(self, kind: JobKind, subject: str = "", **args: Any) -> int | None:
        from procrastinate.exceptions import AlreadyEnqueued

        lock, queueing_lock = job_locks(kind, subject)
        with self._procrastinate() as app:
            deferrer = app.configure_task(kind.task_name, lock=lock, queueing_lock=queueing_lock)
            try:
                job_id: int = deferrer.defer(subject=subject, queued=self.clock.now().isoformat(), **args)
            except AlreadyEnqueued:
                return None
        return job_id

    def enqueue_many(self, kind: JobKind, subjects: Sequence[str]) -> list[int | None]:
        from procrastinate.exceptions import AlreadyEnqueued

        if not subjects:
            return []
        queued = self.clock.now().isoformat()
        with self._procrastinate() as app:
            jobs = []
            for subject in subjects:
                lock, queueing_lock = job_locks(kind, subject)
                deferrer = app.configure_task(kind.task_name, lock=lock, queueing_lock=queueing_lock)
                jobs.append(deferrer.make_new_job(subject=subject, queued=queued))
            try:  # one INSERT: all go in, or (one of them already waiting) none
                done = app.job_manager.batch_defer_jobs(jobs=jobs)
            except AlreadyEnqueued:
                return [self.enqueue(kind, subject) for subject in subjects]
        return [job.id for job in done]

    def rows(
        self,
        state: JobState | None = None,
        limit: int = 100,
        *,
        job_id: int | None = None,
        before: int | None = None,
    ) -> list[JobRow]:
        query = text(
            """
            SELECT j.id, j.task_name, j.args ->> 'subject', j.status::text, j.attempts,
                   coalesce(r.worker, ''), coalesce(r.started,
                       (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id AND e.type = 'started')),
                   coalesce(r.error, '')
              FROM procrastinate_jobs j LEFT JOIN strongroom_job_runs r ON r.job_id = j.id
             WHERE j.task_name LIKE 'strongroom.%' AND (CAST(:state AS text) IS NULL OR j.status::text = :state)
               AND (CAST(:id AS bigint) IS NULL OR j.id = :id)
               AND (CAST(:before AS bigint) IS NULL OR j.id < :before)
             ORDER BY j.id DESC LIMIT :limit
            """
        )
        params = {"state": state.value if state else None, "limit": limit, "id": job_id, "before": before}
        with self.engine.connect() as conn:
            rows = conn.execute(query, params).all()
        return [JobRow(r[0], r[1].removeprefix(TASK_PREFIX), r[2] or "", r[3], r[4], r[5], r[6], r[7]) for r in rows]

    def row(self, job_id: int) -> JobRow | None:
        return next(iter(self.rows(limit=1, job_id=job_id)), None)

    def live_workers(self) -> int:
        """How many workers sent a heartbeat within ``jobs.stalled_seconds`` (0: nothing is running the queue)."""
        query = text(
            "SELECT count(*) FROM procrastinate_workers "
            "WHERE last_heartbeat > now() - make_interval(secs => CAST(:seconds AS double precision))"
        )
        with self.engine.connect() as conn:
            return int(conn.scalar(query, {"seconds": self.settings.stalled_seconds}) or 0)

    def active(self, kind: JobKind) -> set[str]:
        query = text(
            "SELECT DISTINCT args ->> 'subject' FROM procrastinate_jobs "
            "WHERE task_name = :task AND status IN ('todo', 'doing')"
        )
        with self.engine.connect() as conn:
            return {s or "" for s in conn.scalars(query, {"task": kind.task_name})}

    def counts(self) -> Counter[tuple[str, str]]:
        query = text(
            "SELECT status::text, task_name, count(*) FROM procrastinate_jobs "
            "WHERE task_name LIKE 'strongroom.%' GROUP BY 1, 2"
        )
        with self.engine.connect() as conn:
            return Counter({(s, t.removeprefix(TASK_PREFIX)): n for s, t, n in conn.execute(query)})

    def retry_stalled(self) -> list[int]:
        from procrastinate import sql
        from procrastinate.jobs import Job as ProcrastinateJob

        retried: list[int] = []
        with self._procrastinate() as app:
            connector = app.connector.get_sync_connector()
            rows = connector.execute_query_all(
                query=sql.queries["select_stalled_jobs_by_heartbeat"],
                queue=None,
                task_name=None,
                seconds_since_heartbeat=self.settings.stalled_seconds,
            )
            for row in rows:
                job = ProcrastinateJob.from_row(row)
                if not job.task_name.startswith(TASK_PREFIX) or job.id is None:
                    continue
                if job.attempts + 1 >= self.settings.max_attempts:
                    connector.execute_query(
                        query=sql.queries["finish_job"], job_id=job.id, status="failed", delete_job=False
                    )
                    self.note_error(job.id, f"its worker stopped answering {job.attempts + 1} times; given up")
                    continue
                kind = JobKind(job.task_name.removeprefix(TASK_PREFIX))
                when = self.clock.now() + dt.timedelta(seconds=stalled_delay(self.settings, kind, job.attempts))
                app.job_manager.retry_job_by_id(job.id, retry_at=when)
                self.note_error(job.id, "its worker stopped answering; queued again")
                retried.append(job.id)
        return retried

    def note_start(self, job_id: int, worker: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO strongroom_job_runs (job_id, worker, started, error) VALUES (:id, :w, now(), '') "
                    "ON CONFLICT (job_id) DO UPDATE SET worker = :w, started = now()"
                ),
                {"id": job_id, "w": worker},
            )

    def note_error(self, job_id: int, error: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO strongroom_job_runs (job_id, error) VALUES (:id, :e) "
                    "ON CONFLICT (job_id) DO UPDATE SET error = :e"
                ),
                {"id": job_id, "e": error[:2000]},
            )
