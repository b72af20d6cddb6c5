"""``strongroom publisher-staff`` and ``strongroom staff``: sign-ins for a publisher's staff, to the publisher pages
of the portal, and for the archive's own staff, to the console."""

from __future__ import annotations

from pathlib import Path

import click

from strongroom.cli.common import home_option, open_node, out, password_options, read_password
from strongroom.services.accounts import STAFF_ROLES


@click.command(name="publisher-staff")
@click.argument("publisher")
@click.argument("username")
@click.option("--named", default="", help="The staff member's name, shown on the pages.")
@password_options
@click.option("--by", default="staff", show_default=True, help="Who creates the account (recorded).")
@home_option
def publisher_staff(
    publisher: str,
    username: str,
    named: str,
    password_stdin: bool,
    password_file: Path | None,
    password_env: str | None,
    by: str,
    home: Path | None,
) -> None:
    """Create a sign-in for one of PUBLISHER's staff (a publisher key, as `strongroom publishers` lists them): they
    see their titles' path to preserved and deposit packages on the portal's /publisher/ pages."""
    password = read_password(password_stdin, password_file, password_env)
    with open_node(home) as node:
        node.publishers.create_staff(publisher, username, password, named=named, by=by)
    out().print(f"Account {username} created for {publisher}'s staff" + (f" ({named})." if named else "."))


@click.command(name="staff")
@click.argument("username")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([str(r) for r in STAFF_ROLES]),
    help="What the account may do in the console (repeatable): operator (this node), network-admin (members and "
    "policy), board (proposals and ballots).",
)
@click.option("--board-member", default="", help="A board account: the registered board member it votes as.")
@click.option("--named", default="", help="The person's name, shown in the console.")
@password_options
@click.option("--by", default="staff", show_default=True, help="Who creates the account (recorded).")
@home_option
def staff(
    username: str,
    roles: tuple[str, ...],
    board_member: str,
    named: str,
    password_stdin: bool,
    password_file: Path | None,
    password_env: str | None,
    by: str,
    home: Path | None,
) -> None:
    """Create a console sign-in for the archive's own staff: operators, network administrators and board members
    sign in on the portal's /signin and work on its /console/ pages."""
    password = read_password(password_stdin, password_file, password_env)
    with open_node(home) as node:
        node.accounts.create_staff(username, password, roles, named=named, board_member=board_member, by=by)
    out().print(f"Console account {username} created ({', '.join(sorted(set(roles)))}).")
