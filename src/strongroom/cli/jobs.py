"""``strongroom worker`` runs the node's jobs; ``strongroom jobs`` shows its queue (docs/jobs.md)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from strongroom.cli.common import home_option, json_option, open_node, out, plural, print_json
from strongroom.errors import ConfigError
from strongroom.services.jobs import JobState


@click.command(name="worker")
@click.option(
    "--concurrency", type=click.IntRange(1, 64), default=1, show_default=True, help="How many jobs to run at once."
)
@home_option
def worker_command(concurrency: int, home: Path | None) -> None:
    """Take jobs from the node's PostgreSQL job queue and run them until stopped (SIGINT or SIGTERM: running jobs
    finish first); start any number, on any machine that reaches the catalog and the storage."""
    import logging

    from strongroom.worker.run import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with open_node(home) as node:
        if node.jobs.backend != "postgresql":
            raise ConfigError(
                "this node's catalog is SQLite: its jobs are run by 'strongroom serve' itself, not by workers",
                hint="move the catalog to PostgreSQL (catalog.database_url) to share the work among workers",
            )
        run_worker(node, concurrency=concurrency)


@click.command(name="jobs")
@click.option(
    "--state",
    type=click.Choice([s.value for s in JobState]),
    default=None,
    help="Only the jobs in this state.",
)
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True, help="How many jobs to list.")
@home_option
@json_option
def jobs_command(state: str | None, limit: int, home: Path | None, as_json: bool) -> None:
    """The node's job queue: how many jobs of each kind are in each state, then the newest jobs with their AU,
    attempts, worker and error."""
    wanted = JobState(state) if state else None
    with open_node(home) as node:
        counts = node.jobs.counts()
        rows = node.jobs.rows(wanted, limit)
        backend = node.jobs.backend
    if as_json:
        print_json(
            {
                "backend": backend,
                "counts": [{"state": s, "kind": k, "jobs": n} for (s, k), n in sorted(counts.items())],
                "jobs": [r.to_dict() for r in rows],
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
    else:
        out().print(f"no jobs {state}")
