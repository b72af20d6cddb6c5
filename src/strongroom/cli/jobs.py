"""``strongroom worker`` runs the node's jobs; ``strongroom jobs`` shows its queue (docs/jobs.md)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from strongroom.cli.common import home_option, json_option, open_node, out, plural, print_json
from strongroom.services.jobs import JobKind, JobState


@click.command(name="worker")
@click.option(
    "--concurrency", type=click.IntRange(1, 64), default=1, show_default=True, help="How many jobs to run at once."
)
@home_option
def worker_command(concurrency: int, home: Path | None) -> None:
    """Take jobs from the node's job queue and run them until stopped (SIGINT or SIGTERM: running jobs finish
    first). On PostgreSQL start any number, on any machine that reaches the catalog and the storage; on SQLite one
    process runs the queue (this, or `strongroom serve`: a second waits for the first to stop)."""
    import logging

    from strongroom.worker.run import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with open_node(home) as node:
        run_worker(node, concurrency=concurrency)


@click.command(name="jobs")
@click.option(
    "--state",
    type=click.Choice([s.value for s in JobState]),
    default=None,
    help="Only the jobs in this state.",
)
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True, help="How many jobs to list.")
@click.option(
    "--before",
    type=click.IntRange(1),
    default=None,
    metavar="ID",
    help="Only jobs older than job ID (the next page: the command prints the ID to give).",
)
@home_option
@json_option
def jobs_command(state: str | None, limit: int, before: int | None, home: Path | None, as_json: bool) -> None:
    """The node's job queue: how many jobs of each kind are in each state, then the newest jobs with their AU,
    attempts, worker and error."""
    wanted = JobState(state) if state else None
    with open_node(home) as node:
        counts = node.jobs.counts()
        rows = node.jobs.rows(wanted, limit, before=before)
        backend = node.jobs.backend
    older = rows[-1].id if len(rows) == limit else None  # a full page: there may be older jobs
    if as_json:
        print_json(
            {
                "backend": backend,
                "counts": [{"state": s, "kind": k, "jobs": n} for (s, k), n in sorted(counts.items())],
                "jobs": [r.to_dict() for r in rows],
                "before": older,
            }
        )
        return
    if not counts:
        out().print(f"no jobs in the {backend} queue")
        return
    summary = Table("State", "Kind", "Jobs", title=f"{plural(sum(counts.values()), 'job')} ({backend} queue)")
    for (s, k), n in sorted(counts.items()):
        summary.add_row(s, k, str(n))
    out().print(summary)
    table = Table("ID", "Kind", "AU / subject", "State", "Attempts", "Worker", "Started", "Error")
    for r in rows:
        started = r.started.strftime("%Y-%m-%d %H:%M:%S") if r.started else ""
        table.add_row(str(r.id), r.kind, r.subject, r.state, str(r.attempts), r.worker, started, r.error)
    if rows:
        out().print(table)
        if older is not None:
            out().print(f"older: strongroom jobs --before {older}" + (f" --state {state}" if state else ""))
    else:
        out().print(f"no jobs {state}" if state else "no older jobs")


SUBJECTS = {  # what names a job's unit, for the kinds that have one
    JobKind.AUDIT: "AU key",
    JobKind.POLL: "OCFL object id",
    JobKind.HARVEST: "title key",
    JobKind.OAI_HARVEST: "title key",
    JobKind.EXPORT: "AU key",
}


@click.command(name="queue")
@click.argument("kind", type=click.Choice([k.value for k in JobKind]))
@click.argument("subjects", nargs=-1)
@click.option("--dest", type=click.Path(path_type=Path), help="export: the directory to write the AU's bag to.")
@click.option("--base-url", help="oai-harvest: the OAI-PMH feed's base URL.")
@click.option("--set", "set_spec", help="oai-harvest: the set to harvest (default: the whole feed).")
@home_option
@json_option
def queue_command(
    kind: str,
    subjects: tuple[str, ...],
    dest: Path | None,
    base_url: str | None,
    set_spec: str | None,
    home: Path | None,
    as_json: bool,
) -> None:
    """Queue jobs for the node's workers (on SQLite, for strongroom serve): audit AU..., poll OBJECT...,
    harvest TITLE..., oai-harvest TITLE --base-url URL, export AU --dest DIR, replicate, deposits or reindex.

    A job already waiting for the same unit is not queued twice. A key that names no AU, object or title with a
    harvest plan of this node is refused (exit status 2), and then nothing is queued."""
    job_kind = JobKind(kind)
    unit = SUBJECTS.get(job_kind)
    if unit and not subjects:
        raise click.UsageError(f"{kind} needs at least one {unit}")
    if not unit and subjects:
        raise click.UsageError(f"{kind} is one job for the whole node: it takes no {', '.join(subjects)}")
    args: dict[str, str] = {}
    if job_kind == JobKind.EXPORT:
        if dest is None or len(subjects) != 1:
            raise click.UsageError("export queues one AU at a time, with --dest DIR (a directory that does not exist)")
        if dest.exists():
            raise click.UsageError(f"{dest} exists: an export writes a new directory")
        args["dest"] = str(dest.absolute())
    if job_kind == JobKind.OAI_HARVEST:
        if not base_url:
            raise click.UsageError("oai-harvest needs the feed's --base-url")
        args["base_url"] = base_url
        if set_spec:
            args["set_spec"] = set_spec
    with open_node(home) as node:
        node.jobs.check(job_kind, subjects)  # every key, before any job: all are queued, or none
        queued = [(s, node.jobs.enqueue(job_kind, s, **args)) for s in subjects or ("",)]
        backend = node.jobs.backend
    if as_json:
        print_json({"backend": backend, "queued": [{"kind": kind, "subject": s, "job": job} for s, job in queued]})
        return
    for s, job in queued:
        what = f"{kind} of {s}" if s else kind
        out().print(f"queued {what} as job {job}" if job is not None else f"{what} is already queued")
    runner = (
        "strongroom serve or strongroom worker runs them (one at a time)"
        if backend == "sqlite"
        else "any strongroom worker runs them"
    )
    out().print(f"{plural(sum(job is not None for _, job in queued), 'job')} queued; {runner}")
