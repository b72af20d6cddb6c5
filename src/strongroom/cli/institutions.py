"""``strongroom institution``: registering and verifying the institutions of the access programme."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from strongroom.cli.browse import _key_heading, _more, key_paging
from strongroom.cli.common import home_option, json_option, open_node, out, print_json
from strongroom.domain.access import InstitutionStatus
from strongroom.services.institutions import ELIGIBLE_TYPES, EXCLUDED_TYPES, Contact


@click.group(name="institution")
def institution_group() -> None:
    """Register, verify and keep the institutions of the access programme."""


@institution_group.command(name="register")
@click.argument("name")
@click.option(
    "--type",
    "kind",
    type=click.Choice(sorted([*ELIGIBLE_TYPES, *EXCLUDED_TYPES])),
    required=True,
    help="What kind of institution (excluded kinds are refused with the reason).",
)
@click.option("--country", required=True, help="ISO 3166 code or name.")
@click.option("--address", default="", help="Postal address.")
@click.option("--director", nargs=2, required=True, metavar="NAME EMAIL", help="The director's name and email.")
@click.option("--librarian", nargs=2, required=True, metavar="NAME EMAIL", help="The librarian's name and email.")
@click.option("--ip", "ips", multiple=True, help="An IP address or range (IPv4 or IPv6) of its network (repeatable).")
@home_option
def institution_register(
    name: str,
    kind: str,
    country: str,
    address: str,
    director: tuple[str, str],
    librarian: tuple[str, str],
    ips: tuple[str, ...],
    home: Path | None,
) -> None:
    """Register NAME; it waits for validation."""
    with open_node(home) as node:
        inst = node.institutions.register(
            name=name,
            type=kind,
            country=country,
            address=address,
            director=Contact(*director),
            librarian=Contact(*librarian),
            ip_ranges=ips,
            by="cli",
        )
    out().print(
        f"Registered {name} as {inst.key}, pending validation"
        + (f" (networks asked for, to confirm when validating: {', '.join(ips)})." if ips else ".")
    )


def _move(key: str, to: InstitutionStatus, reason: str, by: str, home: Path | None) -> None:
    with open_node(home) as node:
        node.institutions.move(key, to, by=by, reason=reason)
    out().print(f"{key} is {to}.")


@institution_group.command(name="validate")
@click.argument("key")
@click.option(
    "--ip",
    "ips",
    multiple=True,
    help="A network to confirm, as asked or corrected (repeatable); these replace the ones the registration asked for.",
)
@click.option("--as-asked", is_flag=True, help="Confirm the networks exactly as the registration asked for them.")
@click.option("--no-ip", is_flag=True, help="Validate without networks (its readers sign in).")
@click.option("--by", default="staff", show_default=True)
@home_option
def institution_validate(
    key: str, ips: tuple[str, ...], as_asked: bool, no_ip: bool, by: str, home: Path | None
) -> None:
    """Validate KEY (a Group B institution starts its six-month trial), confirming its networks: a registration
    only asks for them, and they recognise readers once staff have checked them with the institution."""
    if sum((bool(ips), as_asked, no_ip)) > 1:
        raise click.UsageError("give one of --ip, --as-asked or --no-ip")
    with open_node(home) as node:
        asked = node.institutions.requested_ranges(key) if node.institutions.is_pending(key) else []
        if asked and not (ips or as_asked or no_ip):
            raise click.UsageError(
                f"{key} asked to be recognised by {', '.join(asked)}: check these with the institution, then confirm "
                f"them with --as-asked, give the right ones with --ip (repeatable), or validate without with --no-ip"
            )
        inst = node.institutions.move(key, InstitutionStatus.VALIDATED, by=by, ranges=None if as_asked else tuple(ips))
        networks = node.institutions.requested_ranges(key)
    trial = f"; group B trial until {inst.trial_until}" if inst.trial_until else ""
    out().print(f"{key} is validated{trial}; networks: {', '.join(networks) or 'none (its readers sign in)'}.")


@institution_group.command(name="ranges")
@click.argument("key")
@click.option("--add", "added", multiple=True, help="A network to add (IPv4 or IPv6; repeatable).")
@click.option("--remove", "removed", multiple=True, help="A network to remove, as listed (repeatable).")
@click.option("--by", default="staff", show_default=True)
@home_option
@json_option
def institution_ranges(
    key: str, added: tuple[str, ...], removed: tuple[str, ...], by: str, home: Path | None, as_json: bool
) -> None:
    """Show KEY's networks (IP ranges), or change them with --add and --remove."""
    with open_node(home) as node:
        if added or removed:
            networks = node.institutions.change_ranges(key, add=added, remove=removed, by=by)
        else:
            networks = node.institutions.requested_ranges(key)
    if as_json:
        print_json({"institution": key, "ip_ranges": networks})
    else:
        out().print(f"{key}: {', '.join(networks) or 'no networks (its readers sign in)'}")


@institution_group.command(name="reject")
@click.argument("key")
@click.option("--reason", required=True)
@click.option("--by", default="staff", show_default=True)
@home_option
def institution_reject(key: str, reason: str, by: str, home: Path | None) -> None:
    """Reject KEY, with the reason it is told."""
    _move(key, InstitutionStatus.REJECTED, reason, by, home)


@institution_group.command(name="suspend")
@click.argument("key")
@click.option("--reason", required=True)
@click.option("--by", default="staff", show_default=True)
@home_option
def institution_suspend(key: str, reason: str, by: str, home: Path | None) -> None:
    """Suspend KEY's access, with the reason."""
    _move(key, InstitutionStatus.SUSPENDED, reason, by, home)


@institution_group.command(name="pay")
@click.argument("key")
@click.option("--through", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Paid through this date.")
@click.option("--by", default="finance", show_default=True)
@home_option
def institution_pay(key: str, through: dt.datetime, by: str, home: Path | None) -> None:
    """Record a Group B institution's yearly fee (refused for Group A: its access is free)."""
    with open_node(home) as node:
        node.institutions.record_payment(key, through.date(), by=by)
    out().print(f"{key}: paid through {through.date()}.")


@institution_group.command(name="reminders")
@click.option("--within", type=click.IntRange(1), default=30, show_default=True, help="Days ahead.")
@home_option
@json_option
def institution_reminders(within: int, home: Path | None, as_json: bool) -> None:
    """Group B trials and payments that lapse within the next days (send reminders to these librarians)."""
    with open_node(home) as node:
        rows = node.institutions.reminders(within)
    if as_json:
        print_json([{"institution": k, "what": w, "lapses": d} for k, w, d in rows])
    else:
        for k, w, d in rows:
            out().print(f"{k}: {w} lapses on {d}")


@institution_group.command(name="flags")
@home_option
@json_option
def institution_flags(home: Path | None, as_json: bool) -> None:
    """Validated institutions whose country's group has changed since they were validated."""
    with open_node(home) as node:
        rows = node.institutions.flags()
    if as_json:
        print_json([{"institution": k, "country": c, "validated_in": a, "now": b} for k, c, a, b in rows])
    else:
        for k, c, a, b in rows:
            out().print(f"{k} ({c}): validated in group {a}, the country is now {b}")


@click.command(name="institutions")
@click.option("--status", type=click.Choice([s.value for s in InstitutionStatus]), default=None)
@key_paging(100, "institution")
@home_option
@json_option
def institutions_list(
    status: str | None, limit: int, after: str | None, show_all: bool, home: Path | None, as_json: bool
) -> None:
    """The registered institutions.

    By key, one page at a time (--limit, --after, --all); --json gives {"total", "limit", "after",
    "institutions": [...]} ("after": the --after of the next page, null on the last)."""
    with open_node(home) as node:
        page = node.institutions.page(status=status, after=after, limit=None if show_all else limit)
    if as_json:
        print_json({"total": page.total, "limit": page.limit, "after": page.next, "institutions": list(page.rows)})
        return
    rows: tuple[dict[str, Any], ...] = page.rows
    table = Table(title=_key_heading(page, "institution", after))
    for column in ("Key", "Name", "Country", "Status", "Trial until", "Paid through", "Networks"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["key"],
            r["name"],
            r["country"],
            r["status"],
            str(r["trial_until"] or "-"),
            str(r["paid_through"] or "-"),
            ", ".join(r["ip_ranges"]) or "-",
        )
    out().print(table)
    _more(page, "strongroom institutions" + (f" --status {status}" if status else ""))


@institution_group.command(name="account")
@click.argument("key")
@click.argument("username")
@click.option("--named", default="", help="A named user under the institution (its institutional account otherwise).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@home_option
def institution_account(key: str, username: str, named: str, password_stdin: bool, home: Path | None) -> None:
    """Create KEY's institutional account (one per institution) or a named user under it."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    with open_node(home) as node:
        node.accounts.create_account(key, username, password, named=named)
    out().print(f"Account {username} created for {key}" + (f" ({named})." if named else " (institutional)."))
