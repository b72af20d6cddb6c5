"""The ``strongroom`` command group and its entry point."""

from __future__ import annotations

import sys

import click

from strongroom import __version__
from strongroom.cli import (
    browse,
    demo,
    eligibility,
    harvest,
    holdings,
    institutions,
    monitor,
    network,
    portal,
    preserve,
    programme,
    triggers,
)
from strongroom.cli.common import StrongroomGroup
from strongroom.errors import ExitCode


@click.group(cls=StrongroomGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="strongroom")
def cli() -> None:
    """Strongroom: preserve scholarly journals and books in standard archival formats, and prove they are intact.

    Every command takes --home (default: $STRONGROOM_HOME, else ./strongroom-home).
    """


for command in (
    preserve.init,
    preserve.deposit,
    browse.publishers,
    browse.titles,
    browse.aus,
    browse.items,
    browse.show,
    browse.events,
    preserve.audit,
    preserve.export,
    preserve.reindex,
    demo.demo,
    network.simulate_command,
    network.network_group,
    network.serve_command,
    network.poll_command,
    network.au_group,
    triggers.board_group,
    triggers.trigger_group,
    harvest.harvest_group,
    harvest.crawl_report,
    harvest.replay_command,
    harvest.oai_harvest_command,
    monitor.monitor_group,
    portal.portal_group,
    eligibility.eligibility_show,
    eligibility.eligibility_import,
    eligibility.eligibility_override,
    eligibility.eligibility_report,
    institutions.institution_group,
    institutions.institutions_list,
    programme.programme_group,
    programme.counter_command,
    programme.counter_key_command,
    programme.fee_command,
    programme.connector_group,
    programme.connectors_list,
    holdings.holdings_group,
):
    cli.add_command(command)


def main() -> None:
    try:
        cli.main(prog_name="strongroom")
    except KeyboardInterrupt:
        click.echo("interrupted; a node stays consistent and resumes where it stopped", err=True)
        sys.exit(ExitCode.INTERRUPTED)


if __name__ == "__main__":
    main()
