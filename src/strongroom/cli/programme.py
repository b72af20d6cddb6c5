"""``strongroom programme`` and ``strongroom counter``: publishers' enrolment and usage reports."""

from __future__ import annotations

from pathlib import Path

import click

from strongroom.cli.common import home_option, json_option, open_node, out, print_json
from strongroom.services.counter import REPORTS


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
        node.programme.enroll(title, {g.strip().upper() for g in groups.split(",") if g.strip()}, by=by)
    out().print(f"{title} is enrolled for group {groups}.")


@programme_group.command(name="withdraw")
@click.argument("title")
@click.option("--by", default="publisher", show_default=True)
@home_option
def programme_withdraw(title: str, by: str, home: Path | None) -> None:
    """Take TITLE out of the programme."""
    with open_node(home) as node:
        node.programme.withdraw(title, by=by)
    out().print(f"{title} is no longer in the programme.")


@click.command(name="counter")
@click.argument("report", type=click.Choice(sorted(REPORTS)))
@click.option("--begin", required=True, help="First month, YYYY-MM (a month that has ended).")
@click.option("--end", required=True, help="Last month, YYYY-MM (cut back to the last month that has ended).")
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
    """A COUNTER 5.1 Title (tr) or Item (ir) Report, or a journal Standard View (tr_j1 to tr_j4), as served
    by the SUSHI API at /counter/r51/reports/."""
    with open_node(home) as node:
        shown = () if REPORTS[report].master else REPORTS[report].attributes  # a Report shows all it can
        data = node.counter.report(
            report,
            begin=begin,
            end=end,
            institution=institution,
            publisher=publisher,
            country=country,
            attributes=shown,
        )
        text = node.counter.as_csv(data) if as_csv else None
    if text is not None:
        click.echo(text, nl=False)
    else:
        print_json(data)


@click.command(name="counter-key")
@click.argument("kind", type=click.Choice(["institution", "publisher"]))
@click.argument("key")
@click.option("--by", default="operator", show_default=True, help="Who issues it (kept with the key).")
@home_option
def counter_key_command(kind: str, key: str, by: str, home: Path | None) -> None:
    """A new COUNTER_SUSHI API key for an institution's or a publisher's usage reports (the earlier one stops
    working). It is shown once; give it to them with the portal's address."""
    with open_node(home) as node:
        api_key = node.sushi.issue_key(kind, key, by=by)
        base = node.settings.portal.base_url.rstrip("/")
    param = "customer_id" if kind == "institution" else "publisher"
    out().print(f"API key for {kind} {key} (shown once, only its hash is kept):")
    click.echo(api_key)
    out().print(f"Reports: {base}/counter/r51/reports/tr?{param}={key}&api_key=KEY&begin_date=YYYY-MM&end_date=YYYY-MM")


@click.command(name="fee")
@click.argument("who")
@home_option
@json_option
def fee_command(who: str, home: Path | None, as_json: bool) -> None:
    """The yearly preservation fee for WHO (a publisher's key, or a country), and why."""
    from strongroom.errors import InvalidIdentifier, NotFound

    with open_node(home) as node:
        try:
            fee = node.fees.fee_for_publisher(who)
        except NotFound:
            try:
                fee = node.fees.fee_for_country(who)
            except InvalidIdentifier:
                raise NotFound(f"{who!r} is neither a publisher's key nor a country") from None
    if as_json:
        print_json(fee.__dict__)
    else:
        out().print(f"{fee.tier}: {fee.amount} {fee.currency} a year ({fee.why}).")


@click.group(name="connector")
def connector_group() -> None:
    """The Research4Life Country Connectors: countries whose publishers are preserved free."""


@connector_group.command(name="add")
@click.argument("country")
@click.option("--host", required=True, help="The host institution.")
@click.option("--since", type=int, required=True, help="The year the country joined.")
@click.option("--contact", default="", help="A contact at the host.")
@home_option
def connector_add(country: str, host: str, since: int, contact: str, home: Path | None) -> None:
    """Add (or update) COUNTRY as a Connector country."""
    with open_node(home) as node:
        node.fees.add_connector(country, host=host, since=since, contact=contact)
    out().print(f"{country}: Connector country hosted by {host}.")


@connector_group.command(name="remove")
@click.argument("country")
@home_option
def connector_remove(country: str, home: Path | None) -> None:
    """COUNTRY is no longer a Connector country."""
    with open_node(home) as node:
        node.fees.remove_connector(country)
    out().print(f"{country} removed from the Connector countries.")


@click.command(name="connectors")
@home_option
@json_option
def connectors_list(home: Path | None, as_json: bool) -> None:
    """The Connector countries and their hosts."""
    with open_node(home) as node:
        rows = [
            {"country": c.country, "host": c.host, "contact": c.contact, "since": c.since}
            for c in node.fees.connectors()
        ]
    if as_json:
        print_json(rows)
    else:
        for r in rows:
            out().print(f"{r['country']}: {r['host']} (since {r['since']})")
