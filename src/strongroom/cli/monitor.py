"""``strongroom monitor``: watch whether preserved titles are still available from their publishers."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.table import Table

from strongroom.cli.common import home_option, json_option, line, open_node, out, print_json
from strongroom.services.monitor import Check, TitleStatus


@click.group(name="monitor")
def monitor_group() -> None:
    """Watch publishers: landing pages, DOIs and OAI-PMH, with the evidence kept for triggers."""


@monitor_group.command(name="watch")
@click.argument("title")
@click.option("--landing-url", default=None, help="The title's home or archive page at the publisher.")
@click.option("--oai-url", default=None, help="The publisher's OAI-PMH base URL.")
@click.option("--no-dois", is_flag=True, help="Do not check that the title's DOIs resolve.")
@home_option
def monitor_watch(title: str, landing_url: str | None, oai_url: str | None, no_dois: bool, home: Path | None) -> None:
    """Watch TITLE (its key, see `titles`) at the given addresses; run again to change them."""
    with open_node(home) as node:
        node.monitor().watch(title, landing_url=landing_url, oai_url=oai_url, check_dois=not no_dois)
    out().print(f"Watching {title}. Check now with: strongroom monitor run")


def _print_checks(key: str, checks: list[Check]) -> None:
    failed = [c for c in checks if not c.ok]
    mark = ("available", "green") if len(failed) < len(checks) else ("unreachable", "red")
    out().print(line(f"{key}: ", mark, f" ({len(checks) - len(failed)} of {len(checks)} checks answered)"))
    for c in failed:
        out().print(f"  {c.kind} {c.target}: {c.detail}")


@monitor_group.command(name="run")
@click.option("--every", type=click.IntRange(60), default=None, help="Run again every N seconds until stopped.")
@home_option
def monitor_run(every: int | None, home: Path | None) -> None:
    """Check every watched title now (or on a schedule with --every) and keep the evidence."""
    while True:
        with open_node(home) as node:
            statuses = node.monitor().run(progress=_print_checks)
        candidates = [t for t in statuses if t.candidate]
        out().print(
            f"Checked {len(statuses)} titles: {sum(t.state == 'available' for t in statuses)} available, "
            f"{sum(t.state == 'failing' for t in statuses)} failing, {len(candidates)} trigger candidates."
        )
        for t in candidates:
            out().print(
                f"  candidate: {t.key} (failing since {t.failing_since:%Y-%m-%d}); propose with: "
                f"strongroom trigger propose --title {t.key} --reason platform-failure --from-monitor"
            )
        if every is None:
            return
        time.sleep(every)


def _dict(t: TitleStatus) -> dict[str, object]:
    return {
        "title": t.key,
        "name": t.name,
        "state": t.state,
        "landing_url": t.landing_url,
        "oai_url": t.oai_url,
        "last_checked": t.last_checked,
        "last_ok": t.last_ok,
        "failing_since": t.failing_since,
        "candidate": t.candidate,
        "evidence": t.evidence,
    }


def _table(rows: list[TitleStatus], title: str) -> None:
    table = Table(title=title)
    for column in ("Title", "State", "Last checked", "Last answered", "Failing since"):
        table.add_column(column)
    fmt = "{:%Y-%m-%d %H:%M}"
    for t in rows:
        table.add_row(
            f"{t.name}\n{t.key}",
            t.state,
            fmt.format(t.last_checked) if t.last_checked else "-",
            fmt.format(t.last_ok) if t.last_ok else "-",
            fmt.format(t.failing_since) if t.failing_since else "-",
        )
    out().print(table)


@monitor_group.command(name="status")
@home_option
@json_option
def monitor_status(home: Path | None, as_json: bool) -> None:
    """Every watched title: available, failing, or a trigger candidate."""
    with open_node(home) as node:
        rows = node.monitor().status()
    if as_json:
        print_json([_dict(t) for t in rows])
    else:
        _table(rows, f"{len(rows)} watched titles")


@monitor_group.command(name="candidates")
@home_option
@json_option
def monitor_candidates(home: Path | None, as_json: bool) -> None:
    """Titles unreachable for longer than monitor.failure_days, with their evidence."""
    with open_node(home) as node:
        rows = node.monitor().candidates()
    if as_json:
        print_json([_dict(t) for t in rows])
        return
    _table(rows, f"{len(rows)} trigger candidates")
    for t in rows:
        out().print(f"{t.key}:")
        for evidence in t.evidence[-5:]:
            out().print(f"  {evidence}")
