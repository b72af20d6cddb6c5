"""``strongroom harvest``, ``crawl-report`` and ``replay``: collecting publishers' sites into WARC."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from strongroom.cli.common import home_option, json_option, line, open_node, out, plural, print_json
from strongroom.errors import ExitCode, StrongroomError
from strongroom.formats.text import visible
from strongroom.services.harvests import Harvests

if TYPE_CHECKING:
    from strongroom.node import Node
    from strongroom.services.jobs import Job, JobReporter
    from strongroom.services.jobs_local import LocalJobs
    from strongroom.services.web_harvest import Outcome


class _RunByDefault(click.Group):
    """``strongroom harvest TITLE [--au AU]`` is ``strongroom harvest run TITLE [--au AU]``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(name="harvest", cls=_RunByDefault)
def harvest_group() -> None:
    """Collect titles from their publishers' web sites (OJS or any site) into WARC files.

    `strongroom harvest TITLE [--au AU]` is short for `strongroom harvest run TITLE [--au AU]`."""


@harvest_group.command(name="add")
@click.argument("title")
@click.option("--plan", type=click.Choice(Harvests.plans), required=True, help="The harvest plan.")
@click.option("--start-url", "start_urls", multiple=True, required=True, help="Where the crawl starts (repeatable).")
@click.option("--name", required=True, help="The title's name.")
@click.option("--publisher", required=True, help="The publisher's name.")
@click.option("--country", default=None, help="The publisher's country (ISO 3166 code or name).")
@click.option("--include", multiple=True, help="generic plan: a regular expression URLs must match (repeatable).")
@click.option("--exclude", multiple=True, help="generic plan: a regular expression URLs must not match.")
@click.option("--depth", type=click.IntRange(0, 50), default=None, help="Most links followed from a start URL.")
@click.option("--au-rule", default=None, help="generic plan: a regular expression whose first group names the AU.")
@click.option("--delay", type=click.FloatRange(0), default=1.0, show_default=True, help="Seconds between requests.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 16),
    default=2,
    show_default=True,
    help="Requests to the site at once when --delay is 0 (with a delay, one at a time).",
)
@click.option("--every", "every_days", type=click.IntRange(1), default=None, help="Re-collect every N days.")
@home_option
def harvest_add(
    title: str,
    plan: str,
    start_urls: tuple[str, ...],
    name: str,
    publisher: str,
    country: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    depth: int | None,
    au_rule: str | None,
    delay: float,
    concurrency: int,
    every_days: int | None,
    home: Path | None,
) -> None:
    """Configure how TITLE (a key such as issn:2536-0035) is collected."""
    settings: dict[str, Any] = {
        "start_url": start_urls[0],
        "start_urls": list(start_urls),
        "delay": delay,
        "concurrency": concurrency,
    }
    if include:
        settings["include"] = list(include)
    if exclude:
        settings["exclude"] = list(exclude)
    if depth is not None:
        settings["depth"] = depth
    if au_rule:
        settings["au_rule"] = au_rule
    with open_node(home) as node:
        node.harvests.configure(
            title,
            name=name,
            publisher=publisher,
            country=country,
            plan=plan,
            settings=settings,
            every_days=every_days,
        )
    out().print(f"{title} will be collected with the {plan} plan. Run it with: strongroom harvest run {title}")


@harvest_group.command(name="run")
@click.argument("title")
@click.option("--au", "only_au", default=None, help="Collect only this AU (its label, such as 2024).")
@click.option("--delay", type=click.FloatRange(0), default=None, help="Seconds between requests (overrides the plan).")
@click.option(
    "--pause-after", type=click.IntRange(1), default=None, help="Stop after N fetches, keeping the progress (exit 10)."
)
@home_option
@json_option
def harvest_run(
    title: str, only_au: str | None, delay: float | None, pause_after: int | None, home: Path | None, as_json: bool
) -> None:
    """Collect TITLE now: check the permission statement, crawl, write WARCs, store a new version per AU.

    A crawl that is stopped (Ctrl-C, a crash, --pause-after) keeps what it fetched; running it again resumes it.
    """
    counts = {"collected": 0, "other": 0}

    def progress(o: Outcome) -> None:
        counts["collected" if o.note == "collected" else "other"] += 1
        if not as_json and o.note != "collected":
            out().print(f"  {o.url}: {o.note}", highlight=False)
        elif not as_json and counts["collected"] % 25 == 0:
            out().print(f"  {counts['collected']} collected...", highlight=False)

    with open_node(home) as node:
        result = node.web_harvest.run(title, only_au=only_au, delay=delay, progress=progress, pause_after=pause_after)
    if as_json:
        print_json({"title": result.title_key, "aus": [a.__dict__ for a in result.aus]})
        return
    table = Table(title=f"Harvest of {title}")
    for column in ("AU", "Version", "Captures", "New", "Unchanged", "New bytes", "Articles"):
        table.add_column(column)
    for a in result.aus:
        table.add_row(
            a.au_key, f"v{a.version}", str(a.captures), str(a.new), str(a.unchanged), str(a.new_bytes), str(a.items)
        )
    out().print(table)
    problems = [o for o in result.outcomes if o.missed]
    out().print(
        f"{plural(counts['collected'], 'resource')} collected into {plural(len(result.aus), 'AU')}; "
        f"{len(problems):,} not collected "
        "(see strongroom crawl-report AU)."
    )


@harvest_group.command(name="close")
@click.argument("title")
@click.argument("au")
@home_option
def harvest_close(title: str, au: str, home: Path | None) -> None:
    """Mark AU (a label such as 2023) of TITLE complete: it is not collected again."""
    with open_node(home) as node:
        node.harvests.close_au(title, au)
    out().print(f"{title}/{au} is closed.")


@harvest_group.command(name="due")
@home_option
@json_option
def harvest_due(home: Path | None, as_json: bool) -> None:
    """Titles whose periodic re-collection (--every) is due (`harvest scheduled`, from cron, queues them)."""
    with open_node(home) as node:
        titles = node.harvests.due()
    if as_json:
        print_json(titles)
    else:
        for t in titles:
            out().print(t)


@harvest_group.command(name="scheduled")
@home_option
@json_option
def harvest_scheduled(home: Path | None, as_json: bool) -> None:
    """Queue a harvest of every title whose re-collection (--every) is due: run this from cron, daily.

    A harvest already waiting or running is not queued twice. The node's workers run them (`strongroom worker`, or
    `strongroom serve`'s own). On SQLite, when no `strongroom serve` or `worker` is running the node's jobs, this
    command runs the waiting harvests itself, one after another, with progress, and exits 1 if one failed (it is
    tried again at the next run). --json gives {"backend", "queued", "waiting", "runner", "ran"}."""
    from strongroom.services.jobs_local import LocalJobs
    from strongroom.services.jobs_postgres import PostgresJobs

    with open_node(home) as node:
        due = node.harvests.queue_due(node.jobs)
        report: dict[str, Any] = {
            "backend": node.jobs.backend,
            "queued": [{"title": t, "job": j} for t, j in due.queued],
            "waiting": list(due.waiting),
            "runner": "workers",
            "ran": [],
        }

        def say(text: str) -> None:
            if not as_json:
                out().print(text, highlight=False)

        say(
            f"{plural(len(due.queued) + len(due.waiting), 'harvest')} due: {len(due.queued):,} queued"
            + (f", {len(due.waiting):,} already waiting or running" if due.waiting else "")
            + (f" ({', '.join(due.waiting)})" if 0 < len(due.waiting) <= 10 else "")
            + "."
        )
        if isinstance(node.jobs, LocalJobs):
            from strongroom.worker.run import local_runner

            with local_runner(node.jobs) as here:
                if here:
                    report["runner"] = "this process"
                    report["ran"] = _run_harvests_here(node, node.jobs, say)
                else:
                    report["runner"] = "another process"
                    say("The process that runs this node's jobs (strongroom serve or strongroom worker) runs them.")
        elif isinstance(node.jobs, PostgresJobs):
            alive = node.jobs.live_workers()
            report["workers"] = alive
            if alive:
                say(f"{plural(alive, 'worker')} take jobs from the queue; follow them with: strongroom jobs")
            else:
                click.echo(
                    "warning: no worker is taking jobs from this node's queue; the harvests wait until one starts "
                    "(strongroom worker, or strongroom serve)",
                    err=True,
                )
    if as_json:
        print_json(report)
    failed = [r for r in report["ran"] if r["error"] is not None]
    if report["ran"]:
        say(f"{len(report['ran']):,} run here: {len(report['ran']) - len(failed):,} collected, {len(failed):,} failed.")
    if failed:
        raise SystemExit(ExitCode.PROBLEMS_FOUND)


class _Shown:
    """A harvest job's progress, run by ``harvest scheduled``: to the queue's log (the console shows it), and a line
    here every 25 resources fetched."""

    def __init__(self, log: JobReporter, say: Callable[[str], None]) -> None:
        self.log = log
        self.say = say

    def stage(self, name: str, total_bytes: int | None = None) -> None:
        self.log.stage(name, total_bytes)

    def advance(self, nbytes: int) -> None:
        self.log.advance(nbytes)

    def counted(self, count: int) -> None:
        self.log.counted(count)
        if count % 25 == 0:
            self.say(f"  {self.log.job.subject}: {count:,} fetched...")


def _run_harvests_here(node: Node, queue: LocalJobs, say: Callable[[str], None]) -> list[dict[str, Any]]:
    """Run the harvest jobs waiting in a SQLite node's queue (this process holds its runner's lock), recording each
    in the queue as a worker would: what ran, with each one's summary or error."""
    from strongroom.services.jobs import JobKind, JobReporter
    from strongroom.worker.run import worker_label
    from strongroom.worker.tasks import execute

    ran: list[dict[str, Any]] = []

    def run(job: Job) -> str:
        say(f"{job.subject}: collecting (job {job.id})")
        reporter = JobReporter(queue.progress, job)
        try:
            summary = execute(node, job, _Shown(reporter, say))
        except Exception as exc:  # the queue records the failure and retries it later (the next run)
            error = str(exc) if isinstance(exc, StrongroomError) else f"{type(exc).__name__}: {exc}"
            say(f"{job.subject}: failed: {error}")
            ran.append({"title": job.subject, "job": job.id, "summary": None, "error": error})
            raise
        reporter.finish(summary)
        say(f"{job.subject}: {summary}")
        ran.append({"title": job.subject, "job": job.id, "summary": summary, "error": None})
        return summary

    queue.run_due(run, worker=worker_label(), kinds=(JobKind.HARVEST,))
    return ran


@click.command(name="crawl-report")
@click.argument("au")
@click.option("--all", "show_all", is_flag=True, help="Every crawl, not only the latest.")
@home_option
@json_option
def crawl_report(au: str, show_all: bool, home: Path | None, as_json: bool) -> None:
    """What the crawls of AU collected: URLs, errors, bytes, new versus unchanged."""
    with open_node(home) as node:
        reports = node.replay.crawl_reports(au)
    if not reports:
        raise click.ClickException(f"{au} has not been harvested")
    chosen = reports if show_all else reports[-1:]
    if as_json:
        print_json(chosen)
        return
    for r in chosen:
        out().print(
            line(
                (str(r["au"]), "bold"),
                f", crawl of {r['started']} ({r['plan']} plan): {r['captures']} captures, {r['new']} new, "
                f"{r['unchanged']} unchanged, {r['new_bytes']:,} new bytes; WARC {', '.join(r['warcs'])}",
            )
        )
        table = Table()
        for column in ("URL", "Status", "Bytes", "Outcome"):
            table.add_column(column)
        for o in r["outcomes"]:
            table.add_row(o["url"], str(o["status"] or "-"), str(o["size"]), o["note"])
        out().print(table)


@click.command(name="replay")
@click.argument("au")
@click.argument("url")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the body here.")
@click.option("--headers", is_flag=True, help="Print the archived status and headers (to stderr).")
@home_option
def replay_command(au: str, url: str, out_path: Path | None, headers: bool, home: Path | None) -> None:
    """The archived response for URL in AU, from its WARC through the CDXJ index (body to stdout or --out)."""
    with open_node(home) as node:
        found = node.replay.replay(au, url)
    if headers:
        click.echo(f"{found.status} (captured {found.timestamp})", err=True)
        for k, v in found.headers:
            click.echo(visible(f"{k}: {v}"), err=True)
    if out_path:
        out_path.write_bytes(found.body)
    else:
        sys.stdout.buffer.write(found.body)


@click.command(name="oai-harvest")
@click.argument("base_url")
@click.option(
    "--title",
    "title_key",
    default=None,
    help="The title the records belong to (see `harvest add`); default: the journal the feed names, found in the "
    "catalog or configured from the feed.",
)
@click.option("--set", "set_spec", default=None, help="Only this OAI-PMH set.")
@click.option("--from", "since", default=None, help="Records changed since (YYYY-MM-DD); default: the last harvest.")
@click.option("--until", default=None, help="Records changed until (YYYY-MM-DD).")
@click.option("--delay", type=click.FloatRange(0), default=None, help="Seconds between requests.")
@home_option
@json_option
def oai_harvest_command(
    base_url: str,
    title_key: str | None,
    set_spec: str | None,
    since: str | None,
    until: str | None,
    delay: float | None,
    home: Path | None,
    as_json: bool,
) -> None:
    """Harvest BASE_URL's OAI-PMH feed (oai_dc) incrementally into the title's AUs, by year.

    Without --title, the title is the journal the records name (OJS writes its name and ISSNs in dc:source); a feed
    of several journals is refused with the sets to choose from (exit 2)."""
    with open_node(home) as node:
        found = None
        if title_key is None:
            found = node.oai_harvest.feed_title(base_url, set_spec=set_spec, delay=delay)
            title_key = found.key
        result = node.oai_harvest.run(title_key, base_url, set_spec=set_spec, since=since, until=until, delay=delay)
    if as_json:
        print_json({**result.__dict__, "title_created": bool(found and found.created)})
        return
    if found is not None:
        what = "configured from the feed" if found.created else "found by the feed's ISSN or name"
        out().print(line("Title ", (found.key, "bold"), f" ({found.name}), {what}."))
    for note in result.notes:
        out().print(f"note: {note}")
    for au_key, version, n in result.aus:
        out().print(f"{au_key}: {plural(n, 'record')}, stored as v{version}")
    out().print(
        f"{plural(result.records, 'record')} in {plural(result.pages, 'response')}"
        + (" (the provider's resumption tokens broke; harvested by date windows)" if result.fallback else "")
        + "."
    )
