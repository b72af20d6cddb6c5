"""What each kind of job does: one unit of the node's background work, done through the node's services.

Every job function is idempotent. A job runs a second time when its worker died after the work but before the
queue heard it was done; the function then sees that the work is already there (an audit recorded after the job
was queued, a harvest started after it, an export already at its destination) and does nothing. Work that is
safe to repeat (a poll, a replication round, a deposit round, a reindex) simply runs again.

Must not import: the catalog, the store, or SQLAlchemy (a face reaches use cases through ``node.<service>``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from strongroom.domain.model import EventType
from strongroom.errors import ConfigError
from strongroom.node import Node
from strongroom.services.copies import CopyOutcome
from strongroom.services.jobs import Job, JobKind


def _audit(node: Node, job: Job) -> str:
    last = node.events.latest(job.subject, EventType.FIXITY_CHECK)
    if last is not None and last > job.queued:
        return f"{job.subject} was audited at {last.isoformat()}, after this job was queued; nothing to do"
    [result] = node.audits.audit([job.subject]).aus
    return f"audit of {job.subject}: {'intact' if result.intact else 'PROBLEMS'} ({result.files} files)"


def _poll(node: Node, job: Job) -> str:
    client = node.membership.client()
    try:
        result = node.polls.poll(client, job.subject, random.Random())  # noqa: S311 - sampling, not a secret
    finally:
        client.close()
    return f"poll of {job.subject}: {result.outcome} with {len(result.voters)} voters"


def _harvest(node: Node, job: Job) -> str:
    last = node.harvests.config(job.subject).last_run
    if last is not None and last > job.queued:
        return f"{job.subject} was harvested at {last.isoformat()}, after this job was queued; nothing to do"
    result = node.web_harvest.run(job.subject, only_au=job.args.get("only_au"))
    return f"harvest of {job.subject}: " + (", ".join(f"{a.au_key} v{a.version}" for a in result.aus) or "no AU")


def _oai_harvest(node: Node, job: Job) -> str:
    base_url = job.args.get("base_url")
    if not isinstance(base_url, str):
        raise ConfigError(f"OAI-PMH harvest job {job.id} names no base_url", hint="queue it with base_url=URL")
    # Incremental: a second run asks the feed only for what changed since the first (the title's saved state).
    result = node.oai_harvest.run(job.subject, base_url, set_spec=job.args.get("set_spec"))
    return f"OAI-PMH harvest of {job.subject}: {len(result.aus)} AU(s)"


def _replicate(node: Node, job: Job) -> str:
    client = node.membership.client()
    try:
        done = node.replication.run(client)
        released = [c.au_key for c in node.copies.release(client) if c.outcome == CopyOutcome.RELEASED]
    finally:
        client.close()
    return f"replicated {len(done)}, released {len(released)}"


def _deposits(node: Node, job: Job) -> str:
    summary = node.pkppn.process()
    return f"OJS deposits: {summary.processed} processed, {summary.deposited} stored, {summary.failed} failed"


def _export(node: Node, job: Job) -> str:
    dest = job.args.get("dest")
    if not isinstance(dest, str):
        raise ConfigError(f"export job {job.id} names no destination", hint="queue it with dest=PATH")
    if Path(dest).exists():  # an export is written aside and renamed into place: there, it is complete
        return f"{dest} already exists; nothing to do"
    result = node.exports.export(job.subject, Path(dest))
    return f"exported {result.au_key} v{result.version} to {result.dest}"


def _reindex(node: Node, job: Job) -> str:
    report = node.indexer.reindex()
    return f"reindexed {len(report.done)} object(s), {len(report.problems)} problem(s)"


TASKS: dict[JobKind, Callable[[Node, Job], str]] = {
    JobKind.AUDIT: _audit,
    JobKind.POLL: _poll,
    JobKind.HARVEST: _harvest,
    JobKind.OAI_HARVEST: _oai_harvest,
    JobKind.REPLICATE: _replicate,
    JobKind.DEPOSITS: _deposits,
    JobKind.EXPORT: _export,
    JobKind.REINDEX: _reindex,
}


def execute(node: Node, job: Job) -> str:
    """Do ``job`` on ``node``; a one-line summary of what was done."""
    return TASKS[job.kind](node, job)
