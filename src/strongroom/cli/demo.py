"""``strongroom demo``: the guided tour for a newcomer."""

from __future__ import annotations

from pathlib import Path

import click

from strongroom.cli.common import line, out
from strongroom.demo import run_demo
from strongroom.errors import ExitCode


@click.command()
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("strongroom-demo"),
    show_default=True,
    help="Where to build the demo node (re-created on every run).",
)
def demo(home: Path) -> None:
    """Create a node, deposit sample journals, audit them, damage a file on purpose and catch it, release a title."""
    console = out()
    console.print(line(("Strongroom demo", "bold"), ": a preservation node from scratch, in nine steps.\n"))
    summary = run_demo(home.absolute(), console.print)
    console.print()
    ok = summary.first_audit_intact and not summary.second_audit_intact and summary.unchanged_redeposit
    ok = ok and summary.portal_pages == 4 and summary.released_items > 0
    items = sum(d[2] for d in summary.deposits)
    files = sum(d[3] for d in summary.deposits)
    console.print(
        line(
            ("Summary", "bold"),
            f": {len(summary.deposits)} packages, {items} articles and {files} files "
            f"preserved in {len({d[1] for d in summary.deposits})} archival units.",
        )
    )
    console.print(
        line(
            f"The deliberate damage to {summary.damaged_file} was ",
            ("detected", "green") if not summary.second_audit_intact else ("missed", "red"),
            ".",
        )
    )
    console.print(
        f"{summary.released_title} was released by {summary.trigger}: {summary.released_items} articles on the portal."
    )
    console.print(
        f"Look around: strongroom aus --home {summary.home}; "
        f"strongroom items 'sante' --home {summary.home}; strongroom events --home {summary.home}"
    )
    if not ok:
        raise SystemExit(ExitCode.PROBLEMS_FOUND)
