"""``strongroom programme`` and ``strongroom counter``: publishers' enrolment and usage reports."""

from __future__ import annotations

from pathlib import Path

import click

from strongroom.cli.common import home_option, open_node, out, print_json
from strongroom.services import counter, programme


@click.group(name="programme")
def programme_group() -> None:
    """The access programme: titles publishers enrol for Group A (free) and Group B (low cost)."""


@programme_group.command(name="enroll")
@click.argument("title")
@click.option("--groups", default="A,B", show_default=True, help="A, B or A,B.")
@click.option("--by", default="publisher", show_default=True)
@home_option
def programme_enroll(title: str, groups: str, by: str, home: Path | None) -> None:
    """Enrol TITLE: readers at validated institutions of those groups may read it at /programme/."""
    with open_node(home) as node:
        programme.enroll(node.catalog, title, {g.strip().upper() for g in groups.split(",") if g.strip()}, by=by)
    out().print(f"{title} is enrolled for group {groups}.")


@programme_group.command(name="withdraw")
@click.argument("title")
@click.option("--by", default="publisher", show_default=True)
@home_option
def programme_withdraw(title: str, by: str, home: Path | None) -> None:
    """Take TITLE out of the programme."""
    with open_node(home) as node:
        programme.withdraw(node.catalog, title, by=by)
    out().print(f"{title} is no longer in the programme.")


@click.command(name="counter")
@click.argument("report", type=click.Choice(sorted(counter.REPORTS)))
@click.option("--begin", required=True, help="First month, YYYY-MM.")
@click.option("--end", required=True, help="Last month, YYYY-MM.")
@click.option("--institution", default=None, help="An institution's key (its usage).")
@click.option("--publisher", default=None, help="A publisher's key (usage of its titles).")
@click.option("--country", default=None, help="Only usage from institutions in this country.")
@click.option("--csv", "as_csv", is_flag=True, help="The tabular COUNTER form instead of JSON.")
@home_option
def counter_command(
    report: str,
    begin: str,
    end: str,
    institution: str | None,
    publisher: str | None,
    country: str | None,
    as_csv: bool,
    home: Path | None,
) -> None:
    """A COUNTER 5.1 Title (tr) or Item (ir) Report, as served by the SUSHI API at /counter/r51/reports/."""
    with open_node(home) as node:
        data = counter.report(
            node.catalog, report, begin=begin, end=end, institution=institution, publisher=publisher, country=country
        )
    if as_csv:
        click.echo(counter.as_csv(data), nl=False)
    else:
        print_json(data)
