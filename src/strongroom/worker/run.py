"""Running jobs: a procrastinate worker on PostgreSQL (``strongroom worker``, or a thread of ``strongroom serve``),
and the in-process runner of a node whose catalog is SQLite.

A procrastinate worker takes up to ``concurrency`` jobs at once, each in a thread; it sends a heartbeat every few
seconds, and every few seconds it also looks for the jobs of workers that stopped sending theirs (a machine that
died, a process killed) and queues them again (:meth:`strongroom.services.jobs.JobQueue.retry_stalled`). On SIGINT
or SIGTERM it takes no new job and stops once its running jobs are done; a second signal stops it at once, and
then its jobs are retried by the other workers.

Must not import: the catalog, the store, or SQLAlchemy.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import socket
import threading
from collections.abc import Iterator
from typing import Any

from strongroom.node import Node
from strongroom.services.jobs import (
    TASK_PREFIX,
    Job,
    JobKind,
    JobReporter,
    job_from,
    retried,
    retry_delay,
)
from strongroom.services.jobs_local import LocalJobs
from strongroom.services.jobs_postgres import PostgresJobs
from strongroom.worker.tasks import execute

log = logging.getLogger("strongroom.worker")


def worker_label() -> str:
    """Which worker ran a job, as operators see it: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(node: Node, job: Job) -> str:
    """Run one job, noting who ran it, how far it has got while it runs (at most about once a second, for the
    console) and, when it fails, why."""
    node.jobs.note_start(job.id, worker_label())
    reporter = JobReporter(node.jobs.progress, job)
    try:
        summary = execute(node, job, reporter)
    except Exception as exc:
        error = f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"
        log.warning("job %d (%s %s) failed: %s", job.id, job.kind, job.subject, error)
        node.jobs.note_error(job.id, error)
        raise
    log.info("job %d (%s %s): %s", job.id, job.kind, job.subject, summary)
    try:
        reporter.finish(summary)
    except Exception:  # the work is done: a failed note of its progress does not undo it
        log.exception("job %d: its final progress could not be recorded", job.id)
    return summary


def _app(node: Node, queue: PostgresJobs) -> Any:
    """A procrastinate app whose tasks are the job functions, run on ``node``."""
    from procrastinate import App, JobContext, PsycopgConnector
    from procrastinate.jobs import Job as ProcrastinateJob
    from procrastinate.retry import BaseRetryStrategy, RetryDecision

    settings = queue.settings

    class Retry(BaseRetryStrategy):  # the same policy as for a dead worker's job: jobs.max_attempts, doubling waits
        def get_retry_decision(self, *, exception: BaseException, job: ProcrastinateJob) -> RetryDecision | None:
            if not retried(settings, JobKind(job.task_name.removeprefix(TASK_PREFIX)), job.attempts):
                return None
            return RetryDecision(retry_in={"seconds": int(retry_delay(settings, job.attempts))})

    app = App(connector=PsycopgConnector(conninfo=queue.conninfo))

    def task_for(kind: JobKind) -> Any:
        def task(context: JobContext, **args: Any) -> str:
            assert context.job.id is not None
            return run_job(node, job_from(context.job.id, kind.value, context.job.attempts, args))

        task.__name__ = kind.value.replace("-", "_")
        return task

    for kind in JobKind:
        app.task(name=kind.task_name, pass_context=True, retry=Retry())(task_for(kind))
    return app


async def _requeue_stalled(queue: PostgresJobs, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            retried = await asyncio.to_thread(queue.retry_stalled)
        except Exception:  # the worker outlives a failed look (the database restarting); it looks again
            log.exception("looking for the jobs of stopped workers failed")
            continue
        for job_id in retried:
            log.warning("job %d: its worker stopped answering; queued again", job_id)


async def run_worker_async(node: Node, *, concurrency: int = 1, install_signal_handlers: bool = True) -> None:
    """Run a procrastinate worker on ``node``'s queue until it is stopped (a signal, or this task cancelled)."""
    queue = node.jobs
    if not isinstance(queue, PostgresJobs):
        raise TypeError("a procrastinate worker needs a node whose catalog is PostgreSQL")
    settings = queue.settings
    app = _app(node, queue)
    async with app.open_async():
        requeue = asyncio.create_task(_requeue_stalled(queue, max(0.5, settings.stalled_seconds / 3)))
        try:
            await app.run_worker_async(
                concurrency=concurrency,
                name=worker_label(),
                install_signal_handlers=install_signal_handlers,
                update_heartbeat_interval=max(0.2, settings.stalled_seconds / 4),
                stalled_worker_timeout=settings.stalled_seconds,
                fetch_job_polling_interval=1.0,
                shutdown_graceful_timeout=None,  # a job is finished, never cut short, by a graceful stop
            )
        finally:
            requeue.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await requeue


def run_worker(node: Node, *, concurrency: int = 1) -> None:
    """``strongroom worker``: run until SIGINT or SIGTERM. On SQLite, the node's one local runner (it waits while
    another process, ``strongroom serve``, runs the queue); the first signal lets the running job finish."""
    if isinstance(node.jobs, LocalJobs):
        runner = WorkerThread(node)
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        runner.start()
        while not stop.wait(0.5) and runner.is_alive():
            pass
        runner.stop(timeout=None)
        return
    asyncio.run(run_worker_async(node, concurrency=concurrency))


@contextlib.contextmanager
def local_runner(queue: LocalJobs) -> Iterator[bool]:
    """Become the one process that runs a SQLite node's queue, without waiting: True while this process holds the
    runner's lock (the jobs a stopped process left running are queued again first, as every runner does); False
    when another process (``strongroom serve`` or ``worker``) runs the queue."""
    with queue.runner_lock.open("a+b") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        for job_id in queue.retry_stalled():
            log.warning("job %d was interrupted; queued again", job_id)
        yield True


class WorkerThread(threading.Thread):
    """The jobs of a serving node, run in a thread of the serving process: a procrastinate worker on PostgreSQL,
    and on SQLite the in-process runner, which takes due jobs every ``tick`` seconds."""

    def __init__(self, node: Node, *, concurrency: int = 1, tick: float = 1.0) -> None:
        super().__init__(name="strongroom-worker", daemon=True)
        self.node = node
        self.concurrency = concurrency
        self.tick = tick
        self.stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def run(self) -> None:
        queue = self.node.jobs
        if isinstance(queue, LocalJobs):
            self._run_local(queue)
            return
        asyncio.run(self._run_procrastinate())

    def _run_local(self, queue: LocalJobs) -> None:
        with queue.runner_lock.open("a+b") as lock:
            told = False
            while not self.stopping.is_set():  # one runner per queue: wait while another process runs it
                try:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not told:
                        log.info("another process runs this node's jobs; this one waits until it stops")
                        told = True
                    self.stopping.wait(self.tick)
            else:
                return
            for job_id in queue.retry_stalled():  # left doing by a process that stopped mid-job
                log.warning("job %d was interrupted; queued again", job_id)
            while not self.stopping.is_set():
                try:
                    queue.run_due(lambda job: run_job(self.node, job), worker=worker_label(), stopping=self.stopping)
                except Exception:  # the runner outlives a failed look at its queue; the error is logged
                    log.exception("running the node's jobs failed")
                self.stopping.wait(self.tick)

    async def _run_procrastinate(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        if self.stopping.is_set():
            return
        with contextlib.suppress(asyncio.CancelledError):
            await run_worker_async(self.node, concurrency=self.concurrency, install_signal_handlers=False)

    def stop(self, timeout: float | None = None) -> None:
        """Take no new job, and wait (up to ``timeout`` seconds) for the running ones to finish."""
        self.stopping.set()
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)  # procrastinate stops gracefully when cancelled
        self.join(timeout)
