"""The ``strongroom`` command group and its entry point.

A command's module is imported only when that command runs: ``strongroom --help`` imports none of them, and
``strongroom items`` imports the browsing commands and what they use, never the portal, the harvester or the
network's TLS. The group's help lists every command from :data:`COMMANDS` (a test keeps it equal to each command's
own short help).

Must not import: any command module at module level (name it in :data:`COMMANDS` instead).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from strongroom import __version__
from strongroom.cli.common import StrongroomGroup
from strongroom.errors import ExitCode

# name -> ("module:attribute" under strongroom.cli, the command's short help, untruncated as click makes it).
COMMANDS: dict[str, tuple[str, str]] = {
    "init": (
        "preserve:init",
        "Create a node home: settings, catalog, OCFL storage root and the node's Ed25519 key pair (or the key and id "
        "of a wiped node, restored from its backup).",
    ),
    "deposit": (
        "preserve:deposit",
        "Preserve a publisher's package (BagIt bag, JASPER ZIP, or directory of JATS XML) as a new OCFL version.",
    ),
    "publishers": (
        "browse:publishers",
        "List publishers with their country and how many titles and AUs are preserved.",
    ),
    "titles": ("browse:titles", "List titles (journals and books) with their ISSNs, publisher, AUs and items."),
    "aus": (
        "browse:aus",
        "List archival units (all, or the KEYS given): state, access (dark, or released by a trigger), OCFL version, "
        "items, files and bytes.",
    ),
    "items": (
        "browse:items",
        "List items, or search them: QUERY matches words in titles, authors, abstracts, keywords and DOIs.",
    ),
    "show": (
        "browse:show",
        "Show one item in full, by DOI (any form) or catalog ID, with its stored files and digests.",
    ),
    "events": ("browse:events", "List PREMIS-style events (ingestion, fixity check, export…), newest first."),
    "audit": (
        "preserve:audit",
        "Re-read stored content and check every digest against the OCFL inventories and the catalog.",
    ),
    "export": (
        "preserve:export",
        "Write AU_KEY's current version to DEST as a BagIt bag, with its metadata and PREMIS event log.",
    ),
    "reindex": (
        "preserve:reindex",
        "Catalogue every OCFL object in storage again from its deposit record (what fixes A006 and A007), and with "
        "--search write the search index again from the catalog.",
    ),
    "demo": (
        "demo:demo",
        "Create a node, deposit sample journals, audit them, damage a file on purpose and catch it, release a title.",
    ),
    "simulate": (
        "network:simulate_command",
        "Model a network for years of simulated time with the real tally and repair rules, and report how fast "
        "damage is found and repaired, how many polls alarm, and whether any AU is lost.",
    ),
    "network": ("network:network_group", "Join a preservation network and see its state."),
    "serve": (
        "network:serve_command",
        "Run the node: the peer API (mutual TLS when the configuration lists this node at an https URL, else HTTP) "
        "and the scheduler that replicates and polls.",
    ),
    "poll": (
        "network:poll_command",
        "Poll this node's copy of AU_KEY with its peers now, and repair what a landslide says is damaged.",
    ),
    "au": ("network:au_group", "One archival unit in the network."),
    "board": ("triggers:board_group", "The board members who vote on triggers, each with their own signing key."),
    "trigger": (
        "triggers:trigger_group",
        "Propose, vote on and release triggers: the board's decision to open dark content to everyone.",
    ),
    "harvest": (
        "harvest:harvest_group",
        "Collect titles from their publishers' web sites (OJS or any site) into WARC files.",
    ),
    "crawl-report": (
        "harvest:crawl_report",
        "What the crawls of AU collected: URLs, errors, bytes, new versus unchanged.",
    ),
    "replay": (
        "harvest:replay_command",
        "The archived response for URL in AU, from its WARC through the CDXJ index (body to stdout or --out).",
    ),
    "oai-harvest": (
        "harvest:oai_harvest_command",
        "Harvest BASE_URL's OAI-PMH feed (oai_dc) incrementally into the title's AUs, by year.",
    ),
    "monitor": (
        "monitor:monitor_group",
        "Watch publishers: landing pages, DOIs and OAI-PMH, with the evidence kept for triggers.",
    ),
    "portal": (
        "portal:portal_group",
        "The public portal: released content, free to read, with OAI-PMH, a sitemap and a release feed.",
    ),
    "eligibility": (
        "eligibility:eligibility_show",
        "Explain COUNTRY's status (ISO code or name): the rule that matched with its values, the official list, any "
        "override, and what decides.",
    ),
    "eligibility-import": (
        "eligibility:eligibility_import",
        "Import a World Bank indicator CSV, a UNDP HDR CSV, an LDC list, a healthy life expectancy CSV, or the "
        "official list of eligible countries.",
    ),
    "eligibility-override": (
        "eligibility:eligibility_override",
        "Decide COUNTRY's group by hand, over the rules and the official list; or lift that decision with --clear.",
    ),
    "eligibility-report": (
        "eligibility:eligibility_report",
        "Every eligible country (or every disagreement) with its status explained.",
    ),
    "institution": (
        "institutions:institution_group",
        "Register, verify and keep the institutions of the access programme.",
    ),
    "institutions": ("institutions:institutions_list", "The registered institutions."),
    "publisher-staff": (
        "publisher_staff:publisher_staff",
        "Create a sign-in for one of PUBLISHER's staff (a publisher key, as `strongroom publishers` lists them): "
        "they see their titles' path to preserved and deposit packages on the portal's /publisher/ pages.",
    ),
    "staff": (
        "publisher_staff:staff",
        "Create a console sign-in for the archive's own staff: operators, network administrators and board members "
        "sign in on the portal's /signin and work on its /console/ pages.",
    ),
    "programme": (
        "programme:programme_group",
        "The access programme: titles publishers enrol for Group A (free) and Group B (low cost).",
    ),
    "counter": (
        "programme:counter_command",
        "A COUNTER 5.1 Title (tr) or Item (ir) Report, or a journal Standard View (tr_j1 to tr_j4), as served by "
        "the SUSHI API at /counter/r51/reports/.",
    ),
    "counter-key": (
        "programme:counter_key_command",
        "A new COUNTER_SUSHI API key for an institution's or a publisher's usage reports (the earlier one stops "
        "working).",
    ),
    "fee": (
        "programme:fee_command",
        "The yearly preservation fee for WHO (a publisher's key, or a country), and why.",
    ),
    "connector": (
        "programme:connector_group",
        "The Research4Life Country Connectors: countries whose publishers are preserved free.",
    ),
    "connectors": ("programme:connectors_list", "The Connector countries and their hosts."),
    "holdings": (
        "holdings:holdings_group",
        "Holdings reports: KBART for knowledge bases, ONIX-PH for the Keepers Registry, DOAJ's preservation values.",
    ),
    "pkppn": (
        "pkppn:pkppn_group",
        "OJS journals preserving themselves through the PKP Preservation Network plugin (docs/pkppn.md).",
    ),
    "worker": (
        "jobs:worker_command",
        "Take jobs from the node's job queue and run them until stopped (SIGINT or SIGTERM: running jobs finish "
        "first).",
    ),
    "queue": (
        "jobs:queue_command",
        "Queue jobs for the node's workers (on SQLite, for strongroom serve): audit AU..., poll OBJECT..., harvest "
        "TITLE..., oai-harvest TITLE --base-url URL, export AU --dest DIR, replicate, deposits or reindex.",
    ),
    "jobs": (
        "jobs:jobs_command",
        "The node's job queue: how many jobs of each kind are in each state, then the newest jobs with their AU, "
        "attempts, worker and error.",
    ),
}


def short_help(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters the way click cuts a command's short help in its group's help."""
    if len(text) <= limit:
        return text
    if limit < len("..."):
        return "..."
    import textwrap  # only for the group's help

    return textwrap.shorten(text, limit, placeholder="...", break_on_hyphens=False)


class LazyGroup(StrongroomGroup):
    """A group whose commands are named in a table and imported when one is run (or its help is asked for)."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, _, attribute = self.lazy[cmd_name][0].partition(":")
            command = getattr(importlib.import_module(f"strongroom.cli.{module}"), attribute)
            assert isinstance(command, click.Command) and command.name == cmd_name, f"COMMANDS[{cmd_name!r}]"
            self.add_command(command)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their short help, from the table: no command module is imported to list them."""
        names = [n for n in self.list_commands(ctx) if n not in self.commands or not self.commands[n].hidden]
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in self.commands:
                rows.append((name, self.commands[name].get_short_help_str(limit)))
            else:
                rows.append((name, short_help(self.lazy[name][1], limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="strongroom")
def cli() -> None:
    """Strongroom: preserve scholarly journals and books in standard archival formats, and prove they are intact.

    Every command takes --home (default: $STRONGROOM_HOME, else ./strongroom-home).
    """


def main() -> None:
    # httpx's package imports its own command line (``httpx.main``) and with it Pygments, rich.syntax and
    # rich.progress: a third of what ``import httpx`` costs, paid by every command that reaches a peer. This process
    # never runs httpx's command line, so it is left out (httpx then defines a stub ``main``); set here, in the
    # entry point, so that only the ``strongroom`` process goes without it.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    try:
        cli.main(prog_name="strongroom")
    except KeyboardInterrupt:
        click.echo("interrupted; a node stays consistent and resumes where it stopped", err=True)
        sys.exit(ExitCode.INTERRUPTED)


if __name__ == "__main__":
    main()
