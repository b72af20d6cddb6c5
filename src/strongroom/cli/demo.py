"""``strongroom demo``: the guided tour for a newcomer, of one node or (``--network``) of a small network."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from strongroom.cli.common import err, line, out
from strongroom.demo import run_demo
from strongroom.errors import ExitCode


@click.command()
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to build the demo (re-created on every run).  [default: strongroom-demo, or "
    "strongroom-network-demo with --network]",
)
@click.option(
    "--network",
    is_flag=True,
    help="Run a small network instead: local nodes, each its own 'strongroom serve' process in a country of its "
    "own, replicating, polling and repairing a copy damaged on purpose; with the first node's console.",
)
@click.option(
    "--nodes",
    type=click.IntRange(3, 5),
    default=None,
    help="With --network: how many nodes (3 to 5).  [default: 3]",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535 - 5),
    default=None,
    help="With --network: the first node's port; the others and the portal take the next ones.  [default: 8470]",
)
@click.option(
    "--no-wait", is_flag=True, help="With --network: stop every process after the summary instead of at Ctrl-C."
)
def demo(home: Path | None, network: bool, nodes: int | None, port: int | None, no_wait: bool) -> None:
    """Create a node, deposit sample journals, audit them, damage a file on purpose and catch it, release a title.

    With --network: start 3 to 5 local nodes, each its own 'strongroom serve' process, sign their network's
    configuration, deposit the samples at the first, replicate them, damage one copy and poll until it is repaired;
    the first node's console is served until Ctrl-C (see docs/console/demo-network.md)."""
    if not network:
        for given, name in ((nodes is not None, "--nodes"), (port is not None, "--port"), (no_wait, "--no-wait")):
            if given:
                raise click.UsageError(f"{name} is an option of the network demo: add --network")
        _single(home or Path("strongroom-demo"))
        return
    _network(home or Path("strongroom-network-demo"), nodes or 3, port or 8470, wait=not no_wait)


def _single(home: Path) -> None:
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


@contextmanager
def _track(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """One step's progress bar on stderr, gone when the step ends (its result is printed instead)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn())
    console = err()
    with Progress(
        *columns, TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda done: bar.update(task, completed=done)


def _network(home: Path, nodes: int, port: int, *, wait: bool) -> None:
    from strongroom.demo_network import NetworkDemo

    console = out()
    console.print(
        line(("Strongroom network demo", "bold"), f": {nodes} nodes in {nodes} countries, on this machine.\n")
    )
    with NetworkDemo(home.absolute(), nodes, port, say=console.print, track=_track) as tour:
        s = tour.run()
        console.print()
        console.print(
            line(
                ("Summary", "bold"),
                f": {len(s.nodes)} nodes ("
                + ", ".join(f"{n.name} {n.country}" for n in s.nodes)
                + f"), {s.aus} AUs, {s.copies} copies; {s.preserved} of {s.aus} AUs preserved in "
                f"{len(s.countries)} countries; {s.polls} polls.",
            )
        )
        console.print(
            line(
                f"The damage to {s.damaged_file} in {s.damaged_au} on {s.damaged_node} was ",
                ("found", "green") if s.found else ("not found", "red"),
                " and ",
                ("repaired", "green") if s.repaired else ("NOT repaired", "red"),
                f"; a later poll {'agreed' if s.confirmed else 'did not agree'}. All in {s.seconds:.0f} s.",
            )
        )
        console.print(
            line(
                "Console: ",
                (s.console_url, "bold"),
                f"  user {s.username}, password ",
                (s.password, "bold"),
                " (shown only now).",
            )
        )
        damaged = next(n.home for n in s.nodes if n.name == s.damaged_node)
        console.print(
            f"Look around: strongroom network status --home {s.nodes[0].home}; strongroom events --type repair "
            f"--home {damaged}; each node's log is serve.log in its home."
        )
        if wait:
            console.print(line(("Ctrl-C", "bold"), f" stops the {len(tour.children)} processes."))
            try:
                tour.wait()
            except KeyboardInterrupt:
                console.print()
        count = tour.stop()
        console.print(f"Stopped {count} processes; ports {port} to {port + nodes} are free again.")
    if not s.ok:
        raise SystemExit(ExitCode.PROBLEMS_FOUND)
