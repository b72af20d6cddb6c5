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
from typing import Protocol

from strongroom.domain.model import EventType
from strongroom.errors import ConfigError
from strongroom.node import Node
from strongroom.progress import NullReporter
from strongroom.progress import Reporter as StageReporter
from strongroom.services.copies import CopyOutcome
from strongroom.services.jobs import Job, JobKind


class Reporter(StageReporter, Protocol):
    """How a job reports its progress: a :class:`strongroom.progress.Reporter` (stages and bytes) that also takes
    a count of things done (files, pages) for its message (the worker's is a
    :class:`~strongroom.services.jobs.JobReporter`)."""

    def counted(self, count: int) -> None: ...


class _Fetched(Protocol):  # a crawl's outcome, as far as its progress needs it
    @property
    def size(self) -> int: ...


class _Quiet(NullReporter):
    def counted(self, count: int) -> None:
        pass


def _audit(node: Node, job: Job, reporter: Reporter) -> str:
    if job.subject:
        last = node.events.latest(job.subject, EventType.FIXITY_CHECK)
        if last is not None and last > job.queued:
            return f"{job.subject} was audited at {last.isoformat()}, after this job was queued; nothing to do"
    seen = {"bytes": 0, "staged": 0}

    def progress(what: str, files: int, nbytes: int, total: int) -> None:  # the audit's counts, as a Reporter's
        if not seen["staged"]:
            reporter.stage(what, total)
            seen["staged"] = 1
        reporter.counted(files)
        reporter.advance(nbytes - seen["bytes"])
        seen["bytes"] = nbytes

    report = node.audits.audit([job.subject] if job.subject else [], progress=progress)
    if job.subject:
        [result] = report.aus
        return f"audit of {job.subject}: {'intact' if result.intact else 'PROBLEMS'} ({result.files} files)"
    problems = [a.au_key for a in report.aus if not a.intact]
    files = sum(a.files for a in report.aus)
    return f"audit of {len(report.aus)} AU(s), {files} files: " + (
        f"PROBLEMS in {', '.join(problems)}" if problems else "all intact"
    )


def _poll(node: Node, job: Job, reporter: Reporter) -> str:
    client = node.membership.client()
    try:
        result = node.polls.poll(client, job.subject, random.Random())  # noqa: S311 - sampling, not a secret
    finally:
        client.close()
    return f"poll of {job.subject}: {result.outcome} with {len(result.voters)} voters"


def _harvest(node: Node, job: Job, reporter: Reporter) -> str:
    last = node.harvests.config(job.subject).last_run
    if last is not None and last > job.queued:
        return f"{job.subject} was harvested at {last.isoformat()}, after this job was queued; nothing to do"
    reporter.stage("fetching")  # how much a crawl fetches is known only at its end
    fetched = [0]

    def progress(outcome: _Fetched) -> None:
        fetched[0] += 1
        reporter.counted(fetched[0])
        reporter.advance(outcome.size)

    result = node.web_harvest.run(job.subject, only_au=job.args.get("only_au"), progress=progress)
    return f"harvest of {job.subject}: " + (", ".join(f"{a.au_key} v{a.version}" for a in result.aus) or "no AU")


def _oai_harvest(node: Node, job: Job, reporter: Reporter) -> str:
    base_url = job.args.get("base_url")
    if not isinstance(base_url, str):
        raise ConfigError(f"OAI-PMH harvest job {job.id} names no base_url", hint="queue it with base_url=URL")
    # Incremental: a second run asks the feed only for what changed since the first (the title's saved state).
    result = node.oai_harvest.run(job.subject, base_url, set_spec=job.args.get("set_spec"))
    return f"OAI-PMH harvest of {job.subject}: {len(result.aus)} AU(s)"


def _replicate(node: Node, job: Job, reporter: Reporter) -> str:
    client = node.membership.client()
    try:
        done = node.replication.run(client)
        released = [c.au_key for c in node.copies.release(client) if c.outcome == CopyOutcome.RELEASED]
    finally:
        client.close()
    return f"replicated {len(done)}, released {len(released)}"


def _deposits(node: Node, job: Job, reporter: Reporter) -> str:
    summary = node.pkppn.process(reporter=reporter)
    return f"OJS deposits: {summary.processed} processed, {summary.deposited} stored, {summary.failed} failed"


def _export(node: Node, job: Job, reporter: Reporter) -> str:
    dest = job.args.get("dest")
    if not isinstance(dest, str):
        raise ConfigError(f"export job {job.id} names no destination", hint="queue it with dest=PATH")
    if Path(dest).exists():  # an export is written aside and renamed into place: there, it is complete
        return f"{dest} already exists; nothing to do"
    result = node.exports.export(job.subject, Path(dest), progress=reporter)
    return f"exported {result.au_key} v{result.version} to {result.dest}"


def _reindex(node: Node, job: Job, reporter: Reporter) -> str:
    # as `strongroom reindex` does: the objects catalogued, then the search index brought up to date, each a stage
    reporter.stage("cataloguing objects")
    report = node.indexer.reindex(progress=lambda n, total: reporter.counted(n), search=False)
    reporter.stage("updating the search index")
    updated = node.indexer.sync_search(progress=lambda n, total: reporter.counted(n))
    return (
        f"reindexed {len(report.done)} object(s) holding {report.items} item(s), {len(report.problems)} problem(s); "
        f"{updated} search document(s) updated"
    )


TASKS: dict[JobKind, Callable[[Node, Job, Reporter], str]] = {
    JobKind.AUDIT: _audit,
    JobKind.POLL: _poll,
    JobKind.HARVEST: _harvest,
    JobKind.OAI_HARVEST: _oai_harvest,
    JobKind.REPLICATE: _replicate,
    JobKind.DEPOSITS: _deposits,
    JobKind.EXPORT: _export,
    JobKind.REINDEX: _reindex,
}


def execute(node: Node, job: Job, reporter: Reporter | None = None) -> str:
    """Do ``job`` on ``node``, reporting its progress to ``reporter``; a one-line summary of what was done."""
    return TASKS[job.kind](node, job, reporter or _Quiet())
