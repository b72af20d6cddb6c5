"""``strongroom serve``: the node's daemon. The peer API over HTTP (uvicorn), a scheduler thread and a worker
thread, faces like the others. The scheduler queues the node's background work as jobs
(:mod:`strongroom.services.jobs`) on schedule: a replication round (after which copies no longer assigned to the
node are released once their assigned holders confirm them), a round of OJS deposits, a poll of every AU it
holds within the configured interval, an audit of every AU whose last audit is older than
``jobs.audit_every_days``, and a harvest of every title whose harvest plan is due (``harvest add --every``). The
worker thread runs them: on SQLite it is the only runner; on PostgreSQL it is one procrastinate worker among any
others (``strongroom worker``), or none with ``--no-worker``. Structured (JSON) logs; graceful shutdown on
SIGINT/SIGTERM (the scheduler finishes its current step, the worker its running jobs). A node whose url in the
configuration is https serves mutual TLS with its own certificate (:mod:`strongroom.network.tls`), unless a
TLS-terminating proxy in front of it does (``behind_proxy``)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn

from strongroom.errors import ConfigError, StrongroomError
from strongroom.keys import public_key_text
from strongroom.network.tls import TrustedPeers
from strongroom.node import Node
from strongroom.peer.api import create_peer_app
from strongroom.services.jobs import JobKind
from strongroom.worker.run import WorkerThread

log = logging.getLogger("strongroom.daemon")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


@dataclass(frozen=True)
class Schedule:
    replicate_every: float = 60.0  # seconds between replication rounds
    poll_every: float | None = None  # seconds between polls of one AU; None: the network's poll interval
    deposits_every: float = 60.0  # seconds between rounds of OJS (PKP PN) deposit processing
    due_every: float = 60.0  # seconds between looks for the audits and harvests that are due
    requeue_after: float = 6 * 3600.0  # a due audit or harvest queued this recently (and failed) waits to be queued
    tick: float = 1.0


class Scheduler(threading.Thread):
    def __init__(self, node: Node, schedule: Schedule, on_tick: Callable[[], None] | None = None) -> None:
        super().__init__(name="strongroom-scheduler", daemon=True)
        self.node = node
        self.schedule = schedule
        self.on_tick = on_tick  # e.g. trusting the certificates of members added to the configuration
        self.stopping = threading.Event()
        self.rng = random.Random()  # noqa: S311 - jitter, not a secret
        self.next_poll: dict[str, float] = {}
        # When this scheduler last queued each due audit or harvest: one whose job failed for good is still due,
        # and is queued again only after schedule.requeue_after (not at every look, hammering a site that is down).
        self.queued_at: dict[tuple[JobKind, str], float] = {}

    def run(self) -> None:
        next_replication = next_deposits = next_due = time.monotonic()
        while not self.stopping.is_set():
            now = time.monotonic()
            if self.on_tick is not None:
                self._step("tick", self.on_tick)
            if now >= next_replication:
                self._step("queueing a replication round", lambda: self._enqueue(JobKind.REPLICATE))
                next_replication = now + self.schedule.replicate_every
            if now >= next_deposits:
                self._step("queueing OJS deposit processing", lambda: self._enqueue(JobKind.DEPOSITS))
                next_deposits = now + self.schedule.deposits_every
            self._step("queueing polls", lambda t=now: self._queue_polls(t))
            if now >= next_due:
                self._step("queueing due audits and harvests", self.queue_due)
                next_due = now + self.schedule.due_every
            self.stopping.wait(self.schedule.tick)

    def queue_due(self) -> dict[JobKind, list[str]]:
        """Queue the audits and harvests that are due and not already waiting or running (the queue says which,
        in one query each); what was queued, by kind."""
        now = time.monotonic()
        every = dt.timedelta(days=self.node.settings.jobs.audit_every_days)
        wait = {
            JobKind.AUDIT: min(self.schedule.requeue_after, every.total_seconds()),
            JobKind.HARVEST: self.schedule.requeue_after,
        }
        for key, when in list(self.queued_at.items()):
            if now - when >= wait[key[0]]:
                del self.queued_at[key]
        due = {JobKind.AUDIT: self.node.jobs.due_audits(every), JobKind.HARVEST: self.node.jobs.due_harvests()}
        queued: dict[JobKind, list[str]] = {}
        for kind, subjects in due.items():
            fresh = [s for s in subjects if (kind, s) not in self.queued_at]  # else: queued a moment ago, and failed
            if not fresh or self.stopping.is_set():
                continue
            self.queued_at.update(dict.fromkeys([(kind, s) for s in fresh], now))
            ids = self.node.jobs.enqueue_many(kind, fresh)  # one transaction for the lot
            if done := [s for s, job_id in zip(fresh, ids, strict=True) if job_id is not None]:
                queued[kind] = done
                log.info("queued %d due %s job(s)", len(done), kind)
        return queued

    def _queue_polls(self, now: float) -> None:
        """Queue a poll of every held AU that is due (or that a peer asked to be polled now)."""
        interval = self.schedule.poll_every or self.node.membership.config().policy.poll_interval_days * 86400
        due = self.node.poll_queue.take()
        for object_id in self.node.polls.held():
            when = self.next_poll.setdefault(object_id, now + self.rng.uniform(0, interval))
            if when <= now:
                due.add(object_id)
        for object_id in sorted(due):
            if self.stopping.is_set():
                break
            self._enqueue(JobKind.POLL, object_id)
            self.next_poll[object_id] = time.monotonic() + interval * self.rng.uniform(0.9, 1.1)

    def _enqueue(self, kind: JobKind, subject: str = "") -> None:
        if self.node.jobs.enqueue(kind, subject) is None:
            log.info("%s %s is already queued", kind, subject)

    def _step(self, what: str, fn: object) -> None:
        try:
            fn()  # type: ignore[operator]
        except StrongroomError as exc:
            log.warning("%s failed: %s", what, exc.message)
        except Exception:  # the daemon must outlive any one failed step; the error is logged
            log.exception("%s failed unexpectedly", what)


def transport_security(node: Node, *, behind_proxy: bool) -> TrustedPeers | None:
    """The TLS context to serve with, or None for plain HTTP; ConfigError when the configuration asks for https
    this node cannot give."""
    config = node.membership.config()  # refuse to start without a valid signed configuration
    me = config.member(node.settings.node_id)
    if me is None:
        raise ConfigError(f"the network configuration does not list this node ({node.settings.node_id})")
    own_key = public_key_text(node.membership.private_key().public_key())
    if me.public_key != own_key:
        raise ConfigError(
            f"the configuration lists another public key for {me.id} than this node's own (keys/node.pub)",
            hint="restore the node's key from its backup (strongroom init --restore-key), or ask the "
            "administrators to list this key",
        )
    if not me.url.startswith("https://") or behind_proxy:
        return None
    if not me.certificate:
        raise ConfigError(
            f"the configuration lists this node at {me.url} but has no TLS certificate for it",
            hint="print this node's entry with 'strongroom network member --url "
            f"{me.url}' and send it to the administrators; or, if a TLS-terminating proxy serves that URL, "
            "run 'strongroom serve --behind-proxy'",
        )
    return node.membership.trusted_peers(server=True)


def serve(
    node: Node, host: str, port: int, schedule: Schedule, *, behind_proxy: bool = False, worker: bool = True
) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    tls = transport_security(node, behind_proxy=behind_proxy)
    scheduler = Scheduler(node, schedule, on_tick=tls.refresh if tls else None)
    runner = WorkerThread(node, tick=schedule.tick) if worker or node.jobs.backend == "sqlite" else None
    config = uvicorn.Config(
        create_peer_app(node),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        ssl_context_factory=(lambda cfg, default: tls.context) if tls else None,
    )
    server = uvicorn.Server(config)
    scheme = "https (mutual TLS)" if tls else "http"
    log.info("node %s serving the peer API over %s on %s:%d", node.settings.node_id, scheme, host, port)
    # uvicorn handles SIGTERM gracefully and then re-raises it to whatever handler was installed before; with
    # Python's default the process would die there, before the scheduler is stopped. Ours just lets serve() end.
    signal.signal(signal.SIGTERM, lambda signum, frame: scheduler.stopping.set())
    scheduler.start()
    if runner is not None:
        runner.start()
    try:
        server.run()
    finally:
        scheduler.stopping.set()
        scheduler.join(timeout=60)
        if runner is not None:
            runner.stop(timeout=60)
        log.info("node %s stopped", node.settings.node_id)
