"""``strongroom pkppn``: the OJS journals that deposit through the PKP Preservation Network plugin, their deposits,
accepting or refusing a journal, and one processing round (the scheduler of ``strongroom serve`` runs the same)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from strongroom.cli.common import home_option, json_option, open_node, out, plural, print_json
from strongroom.cli.preserve import BarReporter
from strongroom.errors import ExitCode

STATUSES = ("new", "accepted", "refused")


@click.group(name="pkppn")
def pkppn_group() -> None:
    """OJS journals preserving themselves through the PKP Preservation Network plugin (docs/pkppn.md).

    A journal's manager sets the plugin's network URL to this node's portal address; the journal registers when
    the plugin first asks for the service document, and is accepted automatically when its OJS is recent enough
    and the terms are accepted, or here."""


@pkppn_group.command(name="journals")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only journals in this state.")
@home_option
@json_option
def journals(status: str | None, home: Path | None, as_json: bool) -> None:
    """The journals registered through the plugin: their state, OJS release, terms and deposits."""
    with open_node(home) as node:
        rows = node.pkppn.journals(status)
    if as_json:
        print_json({"total": len(rows), "journals": [r.to_dict() for r in rows]})
        return
    table = Table(
        "Journal UUID",
        "Title",
        "ISSN",
        "Status",
        "OJS",
        "Terms",
        "Deposits",
        "Note",
        title=plural(len(rows), "journal"),
    )
    for r in rows:
        terms = {True: "accepted", False: "not accepted", None: "?"}[r.terms_accepted]
        table.add_row(
            r.uuid, r.title or "-", r.issn or "-", r.status, r.ojs_version or "?", terms, str(r.deposits), r.status_note
        )
    out().print(table)


@pkppn_group.command(name="accept")
@click.argument("journal")
@click.option("--note", default="", help="Why, for the record (shown in `pkppn journals`).")
@home_option
def accept(journal: str, note: str, home: Path | None) -> None:
    """Accept JOURNAL (its UUID, or the start of it): its deposits are processed from the next round on."""
    with open_node(home) as node:
        view = node.pkppn.decide(journal, accept=True, note=note, agent="operator")
    out().print(f"Accepted {view.title or view.uuid} ({view.uuid}); {plural(view.deposits, 'deposit')} on record.")


@pkppn_group.command(name="refuse")
@click.argument("journal")
@click.option("--reason", required=True, help="Shown to the journal's manager in the plugin.")
@home_option
def refuse(journal: str, reason: str, home: Path | None) -> None:
    """Refuse JOURNAL: its plugin is told deposits are not accepted, with --reason, and its deposits are held."""
    with open_node(home) as node:
        view = node.pkppn.decide(journal, accept=False, note=reason, agent="operator")
    out().print(f"Refused {view.title or view.uuid} ({view.uuid}): {reason}")


@pkppn_group.command(name="deposits")
@click.option("--journal", default=None, help="Only this journal's deposits (its UUID or the start of it).")
@click.option("--errors", is_flag=True, help="Only deposits that ended in an error state.")
@home_option
@json_option
def deposits(journal: str | None, errors: bool, home: Path | None, as_json: bool) -> None:
    """Deposits received from journals, newest first, with the two states the plugin shows and what it says."""
    with open_node(home) as node:
        rows = node.pkppn.deposits(journal=journal, state="error" if errors else None)
    if as_json:
        print_json({"total": len(rows), "deposits": [r.to_dict() for r in rows]})
        return
    table = Table(
        "Deposit UUID", "Journal", "Issue", "State", "Preservation", "AU", "Message", title=plural(len(rows), "deposit")
    )
    for r in rows:
        issue = f"vol {r.content.volume or '-'} no {r.content.issue or '-'}"
        au = f"{r.au_key} v{r.au_version}" if r.au_key else "-"
        table.add_row(
            r.uuid, r.journal_title or r.journal_uuid, issue, r.state, r.preservation or "-", au, str(r.message)
        )
    out().print(table)


@pkppn_group.command(name="process")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Process at most this many deposits.")
@home_option
@json_option
def process(limit: int | None, home: Path | None, as_json: bool) -> None:
    """One processing round: shake hands with new journals, fetch, check, scan and store every deposit that is due,
    and look again at the preservation of stored issues. Exit 1 when a deposit ended in an error state."""
    with open_node(home) as node, BarReporter(disable=as_json) as reporter:
        summary = node.pkppn.process(reporter=reporter, limit=limit)
    if as_json:
        print_json(summary.to_dict())
    else:
        c = out()
        for deposit, state, message in summary.outcomes:
            c.print(f"{deposit}  {state}: {message}")
        c.print(
            f"{plural(summary.processed, 'deposit')} processed: {summary.deposited} stored, {summary.failed} failed, "
            f"{summary.retrying} to try again; {plural(summary.waiting, 'deposit')} waiting for a journal to be "
            f"accepted; {summary.preserved} newly preserved; {plural(summary.journals_checked, 'new journal')} "
            f"checked, {summary.journals_accepted} accepted."
        )
    if summary.failed:
        raise SystemExit(ExitCode.PROBLEMS_FOUND)
