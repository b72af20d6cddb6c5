"""The job queue: the node's background work (audits, polls, harvests, replication rounds, OJS deposits, exports,
reindexing) as jobs, one per unit of work, queued by the scheduler or an operator and run by workers.

Two backends behind one interface (:class:`JobQueue`), chosen from the catalog's URL:

- PostgreSQL: ``procrastinate``'s queue in the catalog's own database (its schema is applied once, idempotently,
  when the node is created or first opens the queue). Any number of ``strongroom worker`` processes on any machine
  take jobs from it; a job's ``lock`` (one per AU or title) keeps two workers off the same unit at once and its
  ``queueing_lock`` keeps the scheduler from queueing a duplicate. A worker that dies stops sending heartbeats;
  :meth:`JobQueue.retry_stalled` puts its job back in the queue (with a back-off, up to ``jobs.max_attempts``).
- SQLite: a small queue of the same shape in ``HOME/jobs.sqlite``, run by the one process that serves the node
  (:meth:`LocalJobs.run_due`), so the embedded default works with no server.

What a job *does* is a face's business (:mod:`strongroom.worker.tasks`); this module only queues, hands out and
accounts for jobs, checks that a job names a unit the node has (:meth:`JobQueue.check`), and says which audits and
harvests the scheduler should queue (:meth:`JobQueue.due_audits`, :meth:`JobQueue.due_harvests`: one query each,
whatever the number of AUs, leaving out what is already waiting or running). Every job carries the time it was
queued (``queued``), so that a job run twice (its worker was killed after the work but before the queue heard of
it) can see the work is already done.

Must not import: any face.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import Engine, and_, case, func, insert, literal, or_, select, update

from strongroom.catalog.models import ArchivalUnit, HarvestConfig, JobProgress, UTCDateTime
from strongroom.clock import Clock
from strongroom.errors import NotFound
from strongroom.settings import JobSettings

TASK_PREFIX = "strongroom."  # procrastinate task names: strongroom.audit, strongroom.poll, ...


class JobKind(StrEnum):
    AUDIT = "audit"  # subject: an AU key
    POLL = "poll"  # subject: an OCFL object id
    HARVEST = "harvest"  # subject: a title key (its web harvest plan)
    OAI_HARVEST = "oai-harvest"  # subject: a title key (its OAI-PMH feed)
    REPLICATE = "replicate"  # one replication round, then release of copies no longer assigned
    DEPOSITS = "deposits"  # one round of OJS (PKP PN) deposit processing
    EXPORT = "export"  # subject: an AU key; args: dest
    REINDEX = "reindex"  # catalogue every stored object again

    @property
    def task_name(self) -> str:
        return TASK_PREFIX + self.value

    @property
    def periodic(self) -> bool:
        """A round the scheduler queues again on its own schedule: one that fails is not retried (a retry waiting
        in the queue would hold back the next round), the next round is its retry."""
        return self in (JobKind.POLL, JobKind.REPLICATE, JobKind.DEPOSITS)


# Units of work that must never run twice at once: per AU or title, and the node-wide rounds.
_LOCK_SCOPE = {
    JobKind.AUDIT: "au",
    JobKind.POLL: "object",
    JobKind.HARVEST: "title",
    JobKind.OAI_HARVEST: "title",
    JobKind.EXPORT: "au",
}


# Scheduled audits: an AU falls due ``every * (1 - AUDIT_SPREAD * phase / AUDIT_PHASES)`` after its last audit (or,
# never audited, its deposit), its phase being its catalog id modulo AUDIT_PHASES. AUs deposited together fall due
# in AUDIT_PHASES groups over the last quarter of the interval, not at once, and drift further apart at each round
# (each phase has its own period); no AU waits longer than the interval.
AUDIT_PHASES = 16
AUDIT_SPREAD = 0.25
# The scheduler keeps at most this many audits waiting or running, topping the queue up at each look, so that a
# backlog (a node of 100,000 AUs switched on, a long outage) is worked through without flooding the queue.
AUDIT_WINDOW = 1000
_IN_CHUNK = 500  # keys per IN (...) of a look-up: SQLite allows few bound parameters


class UnknownSubject(NotFound):
    """A job names an AU, title or object this node does not have; nothing was queued (exit code 4, as for any
    AU, title or item asked for that does not exist)."""


def audit_phase(au_id: int) -> int:
    """The phase of the AU with catalog id ``au_id`` (see :data:`AUDIT_PHASES`)."""
    return au_id % AUDIT_PHASES


def audit_interval(every: dt.timedelta, phase: int) -> dt.timedelta:
    """How long after its last audit an AU of ``phase`` falls due, audits being due ``every``."""
    return every * (1 - AUDIT_SPREAD * phase / AUDIT_PHASES)


class JobState(StrEnum):
    TODO = "todo"
    DOING = "doing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ABORTED = "aborted"


@dataclass(frozen=True)
class Job:
    """A job handed to a worker: what to do (``kind``, ``subject``, ``args``) and how many times it was tried."""

    id: int
    kind: JobKind
    subject: str
    queued: dt.datetime
    args: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class JobRow:
    """A job as operators see it."""

    id: int
    kind: str
    subject: str
    state: str
    attempts: int
    worker: str
    started: dt.datetime | None
    error: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "state": self.state,
            "attempts": self.attempts,
            "worker": self.worker,
            "started": self.started.isoformat() if self.started else None,
            "error": self.error,
        }


@dataclass(frozen=True)
class Progress:
    """How far a job has got, as its worker last reported it (``total`` None: not known in advance), and who
    queued it from the console (``started_by``, an event's actor; '' for the scheduler or the command line)."""

    job_id: int
    kind: str
    subject: str
    done: int
    total: int | None
    message: str
    started_by: str
    updated: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "total": self.total,
            "message": self.message,
            "started_by": self.started_by,
            "updated": self.updated.isoformat(),
        }


class ProgressLog:
    """The ``job_progress`` table of the catalog: what workers report while a job runs, read by the console. One
    row per job, written over (a reporter writes at most about once a second, see :class:`JobReporter`)."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def note(
        self,
        job_id: int,
        kind: str,
        subject: str,
        *,
        done: int | None = None,
        total: int | None = None,
        message: str | None = None,
        started_by: str | None = None,
    ) -> None:
        """Record ``job_id``'s progress (fields left None keep their value)."""
        now = self.clock.now()
        with self.engine.begin() as conn:
            found = conn.execute(select(JobProgress.job_id).where(JobProgress.job_id == job_id)).first()
            values: dict[str, Any] = {"updated_at": now}
            for name, value in (("done", done), ("total", total), ("message", message), ("started_by", started_by)):
                if value is not None:
                    values[name] = value[:2000] if isinstance(value, str) else value
            if found is None:
                conn.execute(
                    insert(JobProgress).values(
                        {"job_id": job_id, "kind": kind, "subject": subject[:500], "done": 0, "message": ""}
                        | {"started_by": ""}
                        | values
                    )
                )
            else:
                conn.execute(update(JobProgress).where(JobProgress.job_id == job_id).values(values))

    def of(self, job_id: int) -> Progress | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(JobProgress.__table__).where(JobProgress.job_id == job_id)).first()
        if r is None:
            return None
        m = r._mapping
        return Progress(
            m["job_id"], m["kind"], m["subject"], m["done"], m["total"], m["message"], m["started_by"], m["updated_at"]
        )


class JobReporter:
    """A :class:`strongroom.progress.Reporter` for a running job: bytes done of the current stage, written to the
    :class:`ProgressLog` at most once every ``every`` seconds (the first report and :meth:`finish` at once), never
    once per file. :meth:`counted` adds a second number to the message (files, pages) where the caller knows it."""

    def __init__(
        self,
        log: ProgressLog,
        job: Job,
        *,
        every: float = 1.0,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        import time

        self.log = log
        self.job = job
        self.every = every
        self._monotonic = monotonic or time.monotonic
        self._last: float | None = None
        self._lock = threading.Lock()
        self.name = ""
        self.done = 0
        self.total: int | None = None
        self.count: int | None = None
        self.writes = 0

    def stage(self, name: str, total_bytes: int | None = None) -> None:
        with self._lock:
            self.name, self.total, self.done, self.count = name, total_bytes, 0, None
        self._write(force=True)

    def advance(self, nbytes: int) -> None:
        with self._lock:
            self.done += nbytes
        self._write()

    def counted(self, count: int) -> None:
        """How many things (files, pages) the current stage has done, for the message; written with the next
        :meth:`advance`."""
        with self._lock:
            self.count = count

    def finish(self, summary: str) -> None:
        """The job ended well: the bar full, and its summary as the message."""
        with self._lock:
            if self.total is None or self.done > self.total:
                self.total = self.done
            self.done = self.total
            self.name = summary
            self.count = None
        self._write(force=True)

    def message(self) -> str:
        return self.name if self.count is None else f"{self.name}: {self.count}"

    def _write(self, *, force: bool = False) -> None:
        now = self._monotonic()
        with self._lock:
            if not force and self._last is not None and now - self._last < self.every:
                return
            self._last = now
            done, total, message = self.done, self.total, self.message()
            self.writes += 1
        self.log.note(self.job.id, self.job.kind.value, self.job.subject, done=done, total=total, message=message)


def job_locks(kind: JobKind, subject: str) -> tuple[str, str]:
    """(lock, queueing lock): one job of the unit runs at a time; one of each kind and unit waits in the queue."""
    scope = _LOCK_SCOPE.get(kind)
    lock = f"{scope}:{subject}" if scope else f"node:{kind.value}"
    return lock, f"{kind.value}:{subject}"


def job_from(job_id: int, kind: str, attempts: int, args: dict[str, Any]) -> Job:
    """A job as a worker receives it, from the stored row's kind and arguments."""
    extra = {k: v for k, v in args.items() if k not in ("subject", "queued")}
    return Job(
        job_id,
        JobKind(kind.removeprefix(TASK_PREFIX)),
        str(args.get("subject", "")),
        dt.datetime.fromisoformat(str(args["queued"])),
        extra,
        attempts,
    )


def retry_delay(settings: JobSettings, attempts: int) -> float:
    """Seconds before a job tried ``attempts`` times is tried again: ``retry_seconds``, doubling each time."""
    return float(settings.retry_seconds * 2 ** max(0, attempts))


def stalled_delay(settings: JobSettings, kind: JobKind, attempts: int) -> float:
    """Seconds before the job of a worker that died is run again: a round at once (it holds back the next one)."""
    return 0.0 if kind.periodic else retry_delay(settings, attempts)


def retried(settings: JobSettings, kind: JobKind, attempts: int) -> bool:
    """Whether a job of ``kind`` that failed after ``attempts`` earlier tries is tried again."""
    return not kind.periodic and attempts + 1 < settings.max_attempts


class JobQueue(Protocol):
    backend: str
    progress: ProgressLog  # how far each running job has got, as its worker reports it

    def enqueue(self, kind: JobKind, subject: str = "", **args: Any) -> int | None:
        """Queue a job; its id, or None when the same job (kind and subject) is already waiting."""
        ...

    def enqueue_many(self, kind: JobKind, subjects: Sequence[str]) -> list[int | None]:
        """Queue a job of ``kind`` for each of ``subjects``, in one transaction; each one's id, or None when the
        same job is already waiting (as :meth:`enqueue`)."""
        ...

    def rows(self, state: JobState | None = None, limit: int = 100, *, before: int | None = None) -> list[JobRow]:
        """The newest jobs (in ``state``, with an id below ``before``: the next page), newest first."""
        ...

    def row(self, job_id: int) -> JobRow | None:
        """One job as operators see it (None: no such job)."""
        ...

    def counts(self) -> Counter[tuple[str, str]]:
        """How many jobs there are per (state, kind)."""
        ...

    def retry_stalled(self) -> list[int]:
        """Put the jobs of workers that stopped (no heartbeat) back in the queue, or fail those tried too often."""
        ...

    def note_start(self, job_id: int, worker: str) -> None: ...

    def note_error(self, job_id: int, error: str) -> None: ...

    def close(self) -> None: ...

    def active(self, kind: JobKind) -> set[str]:
        """The subjects of the jobs of ``kind`` waiting or running."""
        ...

    def check(self, kind: JobKind, subjects: Sequence[str]) -> None:
        """Refuse (:class:`UnknownSubject`) subjects that name no AU, title or object of this node."""
        ...

    def due_audits(self, every: dt.timedelta, *, window: int = AUDIT_WINDOW) -> list[str]:
        """The AUs whose scheduled audit is due and not waiting or running, oldest first."""
        ...

    def due_harvests(self) -> list[str]:
        """The titles whose harvest plan's re-collection is due and not waiting or running."""
        ...


class KnownSubjects:
    """What both queues share: checking the units jobs name, and finding the audits and harvests that are due, in
    the catalog (``catalog``)."""

    catalog: Engine
    clock: Clock

    def active(self, kind: JobKind) -> set[str]:
        raise NotImplementedError

    def check(self, kind: JobKind, subjects: Sequence[str]) -> None:
        unknown = unknown_subjects(self.catalog, kind, subjects)
        if unknown:
            raise unknown_error(kind, unknown)

    def due_audits(self, every: dt.timedelta, *, window: int = AUDIT_WINDOW) -> list[str]:
        active = self.active(JobKind.AUDIT)
        room = window - len(active)
        if room <= 0 or every <= dt.timedelta(0):
            return []
        keys = due_audit_keys(self.catalog, self.clock.now(), every, limit=window + len(active))
        return [k for k in keys if k not in active][:room]

    def due_harvests(self) -> list[str]:
        active = self.active(JobKind.HARVEST)
        return [t for t in due_harvest_titles(self.catalog, self.clock.now()) if t not in active]


def unknown_subjects(catalog: Engine, kind: JobKind, subjects: Sequence[str]) -> list[str]:
    """Those of ``subjects`` (in order, once each) that name nothing a job of ``kind`` can work on: an AU key for
    audits and exports, the OCFL object id of an AU for polls, a title with a harvest plan for harvests."""
    column = {
        JobKind.AUDIT: ArchivalUnit.key,
        JobKind.EXPORT: ArchivalUnit.key,
        JobKind.POLL: ArchivalUnit.object_id,
        JobKind.HARVEST: HarvestConfig.title_key,
        JobKind.OAI_HARVEST: HarvestConfig.title_key,
    }.get(kind)
    wanted = list(dict.fromkeys(subjects))
    if column is None or not wanted:
        return []
    found: set[str] = set()
    with catalog.connect() as conn:
        for start in range(0, len(wanted), _IN_CHUNK):
            found.update(conn.scalars(select(column).where(column.in_(wanted[start : start + _IN_CHUNK]))))
    return [s for s in wanted if s not in found]


def unknown_error(kind: JobKind, unknown: Sequence[str]) -> UnknownSubject:
    """The refusal of a job naming ``unknown``, with where to find the right keys."""
    named = ", ".join(unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
    if kind in (JobKind.HARVEST, JobKind.OAI_HARVEST):
        return UnknownSubject(
            f"no harvest plan for {named} on this node; nothing was queued",
            hint="a harvest takes the key of a title with a harvest plan (strongroom harvest add TITLE --plan PLAN "
            "makes one; the console's jobs page lists them)",
        )
    if kind == JobKind.POLL:
        return UnknownSubject(
            f"no AU of this node is stored as the object {named}; nothing was queued",
            hint="a poll takes an AU's OCFL object id, not its key (strongroom au status AU shows it; strongroom "
            "aus lists the AUs)",
        )
    return UnknownSubject(
        f"no AU {named} on this node; nothing was queued",
        hint="give the keys of this node's AUs: strongroom aus lists them",
    )


def due_audit_keys(catalog: Engine, now: dt.datetime, every: dt.timedelta, *, limit: int) -> list[str]:
    """Up to ``limit`` AUs (with content) whose audit is due at ``now``, the longest unaudited first, in one query:
    the range of the ``last_audit_at`` index up to the loosest cutoff, then each AU's own by its phase."""
    cutoffs = [now - audit_interval(every, phase) for phase in range(AUDIT_PHASES)]
    loosest = max(cutoffs)
    au = ArchivalUnit
    since = func.coalesce(au.last_audit_at, au.created_at)
    own_cutoff = case(
        {phase: literal(cutoff, UTCDateTime()) for phase, cutoff in enumerate(cutoffs)},
        value=au.id % AUDIT_PHASES,
    )
    query = (
        select(au.key)
        .where(
            or_(au.last_audit_at <= loosest, and_(au.last_audit_at.is_(None), au.created_at <= loosest)),
            since <= own_cutoff,
            au.head_version > 0,
        )
        .order_by(since, au.id)
        .limit(limit)
    )
    with catalog.connect() as conn:
        return list(conn.scalars(query))


def due_harvest_titles(catalog: Engine, now: dt.datetime) -> list[str]:
    """Titles whose harvest plan has an interval (``every_days``) and was last run that long ago, or never (as
    :meth:`strongroom.services.harvests.Harvests.due` says), in one query."""
    query = (
        select(HarvestConfig.title_key, HarvestConfig.every_days, HarvestConfig.last_run)
        .where(HarvestConfig.every_days.is_not(None))
        .order_by(HarvestConfig.title_key)
    )
    with catalog.connect() as conn:
        rows = conn.execute(query).all()
    return [
        title for title, every_days, last in rows if last is None or now - last >= dt.timedelta(days=every_days or 0)
    ]
