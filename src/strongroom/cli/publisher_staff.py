"""``strongroom publisher-staff``: sign-ins for a publisher's staff, to the publisher pages of the portal."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from strongroom.cli.common import home_option, open_node, out


@click.command(name="publisher-staff")
@click.argument("publisher")
@click.argument("username")
@click.option("--named", default="", help="The staff member's name, shown on the pages.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@click.option(
    "--password-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Read it from a file."
)
@click.option("--password-env", metavar="VAR", help="Read it from this environment variable.")
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
    if sum((password_stdin, password_file is not None, password_env is not None)) > 1:
        raise click.UsageError("give one of --password-stdin, --password-file or --password-env")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif password_file is not None:
        password = password_file.read_text().splitlines()[0] if password_file.read_text() else ""
    elif password_env is not None:
        if password_env not in os.environ:
            raise click.UsageError(f"the environment variable {password_env} is not set")
        password = os.environ[password_env]
    else:
        password = str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    with open_node(home) as node:
        node.publishers.create_staff(publisher, username, password, named=named, by=by)
    out().print(f"Account {username} created for {publisher}'s staff" + (f" ({named})." if named else "."))
