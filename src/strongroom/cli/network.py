"""``strongroom simulate``: the network model, for choosing a policy from evidence; and the network's commands
(``network``, ``serve``, ``poll``, ``au status``).

Each command imports what only it uses (the simulation, the administrators' signing, the network overview, rich's
tables and progress bars) when it runs: ``au status`` is an everyday command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from strongroom.cli.common import err, home_option, json_option, line, open_node, out, print_json, styled
from strongroom.domain.poll import Outcome, PollPolicy
from strongroom.errors import ConfigError, ExitCode

if TYPE_CHECKING:
    from strongroom.services.network_overview import NetworkOverview


@click.command(name="simulate")
@click.option("--nodes", default=12, show_default=True, help="Nodes in the network.")
@click.option("--aus", default=10_000, show_default=True, help="Archival units.")
@click.option("--copies", default=7, show_default=True, help="Copies of each AU, on distinct nodes.")
@click.option("--years", default=5.0, show_default=True, help="Simulated time.")
@click.option("--damage-rate", default=0.01, show_default=True, help="Damage events per copy per year.")
@click.option(
    "--hostile", default=0.0, show_default=True, help="Share of nodes that vote falsely and serve bad repairs."
)
@click.option(
    "--node-losses", default=0, show_default=True, help="Nodes whose whole storage is wiped at a random time."
)
@click.option("--poll-interval", default=70.0, show_default=True, help="Days between polls of an AU by each node.")
@click.option("--quorum", default=5, show_default=True, help="Fewest voters for a conclusive poll.")
@click.option("--vote-margin", default=0.75, show_default=True, help="Share of voters that makes a landslide.")
@click.option("--invitations", default=10, show_default=True, help="Voters invited to each poll.")
@click.option("--seed", default=1, show_default=True, help="Random seed (same seed, same result).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def simulate_command(
    nodes: int,
    aus: int,
    copies: int,
    years: float,
    damage_rate: float,
    hostile: float,
    node_losses: int,
    poll_interval: float,
    quorum: int,
    vote_margin: float,
    invitations: int,
    seed: int,
    as_json: bool,
) -> None:
    """Model a network for years of simulated time with the real tally and repair rules, and report how fast
    damage is found and repaired, how many polls alarm, and whether any AU is lost."""
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn

    from strongroom.cli.bars import Bars
    from strongroom.services.simulation import SimulationParams, simulate

    try:
        params = SimulationParams(
            nodes=nodes,
            aus=aus,
            copies=copies,
            years=years,
            damage_rate=damage_rate,
            hostile=hostile,
            node_losses=node_losses,
            poll_interval_days=poll_interval,
            policy=PollPolicy(quorum=quorum, vote_margin=vote_margin, invitations=invitations),
            seed=seed,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    with Bars(
        TextColumn("simulating"), BarColumn(), TimeElapsedColumn(), console=err(), transient=True, disable=as_json
    ) as bar:
        task = bar.add_task("simulating", total=1.0)
        report = simulate(params, progress=lambda share: bar.update(task, completed=share))
    data = report.to_dict()
    if as_json:
        print_json(data)
        return
    c = out()
    c.print(
        f"{nodes} nodes ({round(hostile * nodes)} hostile), {aus} AUs x {copies} copies, {years:g} years, "
        f"damage {damage_rate:g}/copy/year, polls every {poll_interval:g} days, quorum {quorum}, "
        f"margin {vote_margin:g}"
    )
    c.print(f"  polls                {data['polls']}")
    c.print(
        f"  damage events        {data['damage_events']}  (detected {data['detected']}, repaired {data['repaired']})"
    )
    d, r = data["days_to_detect"], data["days_to_repair"]
    c.print(f"  days to detect       mean {d['mean']}, median {d['median']}, 95% {d['p95']}, max {d['max']}")
    c.print(f"  days to repair       mean {r['mean']}, median {r['median']}, 95% {r['p95']}, max {r['max']}")
    c.print(f"  inconclusive polls   {data['inconclusive_polls']} (each raises an alarm)")
    c.print(f"  repairs refused      {data['repairs_refused']} (did not re-hash to the landslide)")
    c.print(f"  bad content accepted {data['bad_content_accepted']}")
    c.print(f"  AUs lost             {data['aus_lost']}; damaged copies left at the end: {data['aus_damaged_at_end']}")


@click.group(name="network")
def network_group() -> None:
    """Join a preservation network and see its state. Administrators also make and sign its configuration."""


@network_group.command(name="keygen")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the administrative private key (mode 0600; keep it offline).",
)
def network_keygen(out_path: Path) -> None:
    """Administrators: create the network's administrative key pair; prints the public key nodes will pin."""
    from strongroom.services import network_admin

    out().print(network_admin.keygen(out_path))


@network_group.command(name="admin-key")
@click.option(
    "--key",
    "key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The administrative private key file made by 'network keygen'.",
)
def network_admin_key(key_file: Path) -> None:
    """Administrators: print the administrative public key (what nodes pin on their first join) again."""
    from strongroom.services import network_admin

    out().print(network_admin.public_key(key_file))


@network_group.command(name="member")
@click.option("--url", required=True, help="The URL peers reach this node at (https://... for mutual TLS).")
@click.option("--institution", default=None, help="Institution running the node (default: the node's settings).")
@click.option("--country", default=None, help="ISO 3166-1 code of the node's country (default: the settings).")
@home_option
def network_member(url: str, institution: str | None, country: str | None, home: Path | None) -> None:
    """Print this node's member entry (JSON: id, url, public key, institution, country and, for an https URL, its
    TLS certificate) for the administrators to add to the network configuration."""
    with open_node(home) as node:
        entry = node.membership.entry(url, institution or node.settings.institution, country or node.settings.country)
    print_json(entry)


@network_group.command(name="sign")
@click.argument("config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True)
def network_sign(config_file: Path, key_file: Path, out_path: Path) -> None:
    """Administrators: check CONFIG_FILE (JSON: name, serial, members, policy) and sign it; a policy that can
    never work (a quorum the other holders cannot reach, a poll interval the voters' rate limit would refuse) is
    refused, naming the fix."""
    from strongroom.services import network_admin

    config = network_admin.sign(config_file, key_file, out_path)
    out().print(f"Signed {config.name} serial {config.serial} ({len(config.members)} members) -> {out_path}")


@network_group.command(name="join")
@click.argument("signed_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--admin-key",
    default="",
    help="The network's administrative public key (ed25519:...), pinned on "
    "first join; later configurations must be signed by it.",
)
@home_option
def network_join(signed_file: Path, admin_key: str, home: Path | None) -> None:
    """Install a signed network configuration (the first one pins the administrative key)."""
    try:
        document = json.loads(signed_file.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:  # not UTF-8 is a ValueError too
        raise ConfigError(
            f"{signed_file}: not a signed network configuration (not JSON: {exc})",
            hint="join with the file 'strongroom network sign ... --out signed.json' wrote",
        ) from None
    with open_node(home) as node:
        config = node.membership.join(document, admin_key)
    out().print(
        f"Joined {config.name} (serial {config.serial}, {len(config.members)} members). "
        f"Start the node with: strongroom serve"
    )


@network_group.command(name="status")
@home_option
@json_option
def network_status_command(home: Path | None, as_json: bool) -> None:
    """Members and whether they answer; for every AU: copies, where, countries, preserved or not, last poll."""
    from rich.table import Table

    from strongroom.services import network_overview

    with open_node(home) as node:
        client = node.membership.client()
        try:
            reachable, aus = node.network_status.copies(client)
        finally:
            client.close()
        config = node.network_status.config()
        glance = network_overview.of_answers(node.network_status, reachable, aus)
    if as_json:
        print_json(
            {
                "network": config.name,
                "serial": config.serial,
                "members": reachable,
                "aus": [vars(a) for a in aus],
                "overview": glance.to_dict(),
            }
        )
        return
    c = out()
    c.print(
        f"Network {config.name} (serial {config.serial}): target {config.policy.target_copies} copies in "
        f"{config.policy.min_countries} countries"
    )
    _print_overview(glance)
    members = Table("Node", "Institution", "Country", "URL", "Answers")
    for m in config.members:
        members.add_row(m.id, m.institution, m.country, m.url, "yes" if reachable.get(m.id) else styled("no", "red"))
    c.print(members)
    table = Table("AU", "Copies", "Where (version)", "Countries", "Preserved", "Last poll", "Alarms")
    for a in aus:
        where = ", ".join(f"{n} (v{v})" for n, v in sorted(a.holding.items()))
        table.add_row(
            a.au_key,
            str(len(a.holding)),
            where,
            ",".join(a.countries),
            "yes" if a.preserved else styled("no", "yellow"),
            a.last_poll or "never",
            styled(str(len(a.alarms)), "red") if a.alarms else "0",
        )
    c.print(table)
    for a in aus:
        for alarm in a.alarms:
            c.print(f"{a.au_key}: {alarm}", style="red")
        if a.unassigned_here:
            c.print(f"{a.au_key}: {a.unassigned_here}", style="yellow")


def _print_overview(glance: NetworkOverview) -> None:
    """The overview's key numbers in a few lines (the console's network page draws them)."""
    from strongroom.services import network_overview

    c = out()
    verdict = {
        network_overview.Verdict.HEALTHY: ("healthy: every AU at the policy, no alarm open", "green"),
        network_overview.Verdict.BELOW_POLICY: (f"{glance.below_policy} AU(s) below the policy", "yellow"),
        network_overview.Verdict.ALARMS: (f"{glance.open_alarms} alarm(s) open", "red"),
        network_overview.Verdict.SILENT_MEMBERS: ("every AU at the policy, but members do not answer", "yellow"),
        network_overview.Verdict.NOT_IN_NETWORK: ("not in a network", "yellow"),
    }[glance.verdict]
    c.print(line("  verdict     ", verdict))
    c.print(
        f"  AUs         {glance.aus}: {glance.at_policy} at the policy, {glance.below_policy} below; "
        f"alarms open {glance.open_alarms}; members answering {glance.members_answering}/{glance.members_total}"
    )
    c.print(
        "  countries   "
        + "; ".join(f"{k.country}: {k.members} member(s), {k.aus} AU(s), {k.bytes} bytes" for k in glance.countries)
    )
    polls = glance.polls
    c.print(
        f"  polls       {sum(p.agreements for p in polls)} agreed, {sum(p.repairs for p in polls)} repaired, "
        f"{sum(p.inconclusive for p in polls)} inconclusive (last {len(polls)} {glance.poll_period}(s) with polls)"
    )
    times = glance.repair_times
    if times.repaired:
        c.print(
            f"  repairs     {times.repaired}: found to repaired median {times.median_seconds:g} s, "
            f"worst {times.worst_seconds:g} s"
        )
    for below in glance.below[:10]:
        c.print(
            f"  below       {below.au_key}: {below.copies} good copies in {below.countries} countries; "
            + {
                network_overview.Advice.REPLICATE: "assigned holders replicate it in their next round: "
                + ", ".join(below.missing),
                network_overview.Advice.SILENT_HOLDERS: "assigned holders do not answer: " + ", ".join(below.silent),
                network_overview.Advice.ADD_MEMBERS: "the members cannot place enough copies: add members",
            }[below.advice],
            style="yellow",
        )


@network_group.command(name="release-copies")
@click.option("--dry-run", is_flag=True, help="Only say which copies would be released.")
@home_option
@json_option
def network_release_copies(dry_run: bool, home: Path | None, as_json: bool) -> None:
    """Release the copies this node holds but is no longer assigned, once every assigned holder confirms it holds
    the same version (removed from storage, catalog and search; a deletion event each). `serve` does this after
    every replication round."""
    from strongroom.services.copies import CopyOutcome

    with open_node(home) as node:
        client = node.membership.client()
        try:
            copies = node.copies.release(client, dry_run=dry_run)
        finally:
            client.close()
    if as_json:
        print_json({"dry_run": dry_run, "copies": [c.to_dict() for c in copies]})
        return
    c = out()
    if not copies:
        c.print("This node holds no copy it is not assigned.")
    for copy in copies:
        if copy.outcome == CopyOutcome.RELEASED:
            c.print(f"{copy.au_key} v{copy.version}: released ({copy.why})")
        elif copy.outcome == CopyOutcome.RELEASABLE:
            c.print(f"{copy.au_key} v{copy.version}: would be released ({copy.why})")
        else:
            c.print(f"{copy.au_key} v{copy.version}: {copy.why}", style="yellow")


@click.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8470, show_default=True)
@click.option("--replicate-every", default=60.0, show_default=True, help="Seconds between replication rounds.")
@click.option(
    "--poll-every",
    type=float,
    default=None,
    help="Seconds between polls of each AU (default: the network's poll interval).",
)
@click.option(
    "--behind-proxy",
    is_flag=True,
    help="Serve plain HTTP although this node's URL is https: a TLS-terminating proxy in front serves it.",
)
@click.option(
    "--no-worker",
    is_flag=True,
    help="Queue the node's jobs but run none here: 'strongroom worker' processes run them (PostgreSQL only).",
)
@home_option
def serve_command(
    host: str,
    port: int,
    replicate_every: float,
    poll_every: float | None,
    behind_proxy: bool,
    no_worker: bool,
    home: Path | None,
) -> None:
    """Run the node: the peer API (mutual TLS when the configuration lists this node at an https URL, else HTTP)
    and the scheduler that replicates and polls. Stop with Ctrl-C."""
    from strongroom.peer.daemon import Schedule, serve  # uvicorn and the peer API: only when serving

    with open_node(home) as node:
        for problem in node.polls.schedule_problems(poll_every):
            err().print(f"warning: {problem}", style="yellow", soft_wrap=True)
        if no_worker and node.jobs.backend != "postgresql":
            raise ConfigError(
                "--no-worker leaves the jobs to 'strongroom worker' processes, which need a PostgreSQL catalog; "
                "on SQLite the serving process runs them",
                hint="run 'strongroom serve' without --no-worker, or move the catalog to PostgreSQL",
            )
        schedule = Schedule(replicate_every=replicate_every, poll_every=poll_every)
        serve(node, host, port, schedule, behind_proxy=behind_proxy, worker=not no_worker)


@click.command(name="poll")
@click.argument("au_key")
@home_option
@json_option
def poll_command(au_key: str, home: Path | None, as_json: bool) -> None:
    """Poll this node's copy of AU_KEY with its peers now, and repair what a landslide says is damaged."""
    with open_node(home) as node:
        object_id = node.browse.object_id(au_key)
        client = node.membership.client()
        try:
            result = node.polls.poll(client, object_id)
        finally:
            client.close()
    if as_json:
        print_json(vars(result) | {"outcome": str(result.outcome)})
    else:
        out().print(
            f"Poll of {au_key}: {result.outcome} with {len(result.voters)} voters; "
            f"{result.agreed_blocks} blocks agreed; repaired: {', '.join(result.repaired) or 'nothing'}"
            + (f"; NOT repaired: {', '.join(result.unrepaired)}" if result.unrepaired else "")
            + "".join(f"; ALARM: {alarm}" for alarm in result.alarms)
        )
        for peer, why in sorted(result.suspects.items()):
            out().print(line("  suspect ", (peer, "red"), f": {why}"))
        for peer, why in sorted(result.damaged.items()):
            out().print(line("  damaged copy on ", (peer, "yellow"), f": {why}"))
        for peer, why in sorted(result.refusals.items()):
            out().print(f"  no vote from {peer}: {why}")
    if result.unrepaired or result.outcome is Outcome.INCONCLUSIVE:
        raise SystemExit(ExitCode.PROBLEMS_FOUND)


@click.group(name="au")
def au_group() -> None:
    """One archival unit in the network."""


@au_group.command(name="status")
@click.argument("au_key")
@home_option
@json_option
def au_status_command(au_key: str, home: Path | None, as_json: bool) -> None:
    """Copies of AU_KEY and where, its last agreement, open alarms, repairs done and peers reported."""
    from strongroom.services.lean_au_status import au_status

    # read without opening the node when that gives the same answer (a catalog with nothing to recover first)
    status = au_status(home, au_key)
    if status is None:
        with open_node(home) as node:
            client = node.membership.client()
            try:
                status = node.network_status.au(client, au_key)
            finally:
                client.close()
    if as_json:
        data = vars(status) | {"copies": vars(status.copies) if status.copies else None}
        print_json(data)
        return
    c = out()
    c.print(line((status.au_key, "bold"), f" ({status.object_id})"))
    if status.copies:
        where = ", ".join(f"{n} v{v}" for n, v in sorted(status.copies.holding.items()))
        c.print(f"  copies          {len(status.copies.holding)}: {where}")
        c.print(f"  assigned to     {', '.join(status.copies.assigned)}")
        c.print(
            line(
                f"  countries       {', '.join(status.copies.countries)}; preserved: ",
                "yes" if status.copies.preserved else ("no", "yellow"),
            )
        )
        if status.copies.unassigned_here:
            c.print(f"  this node       {status.copies.unassigned_here}", style="yellow")
    else:
        c.print("  copies          none found on any reachable node")
    c.print(f"  last agreement  {status.last_agreement or 'never (no poll by this node has agreed yet)'}")
    c.print(f"  open alarms     {len(status.open_alarms)}")
    for alarm in status.open_alarms:
        c.print(f"    {alarm}", style="red")
    c.print(f"  repairs         {len(status.repairs)}")
    for repair in status.repairs[:10]:
        c.print(f"    {repair}")
    if status.reported_peers:
        c.print(line("  suspect peers   ", (", ".join(status.reported_peers), "red")))
        c.print("    (lied in a vote, served a bad repair, or disagreed again after being told to repair)")
    if status.damaged_peers:
        c.print(line("  damaged copies  ", (", ".join(status.damaged_peers), "yellow")))
        c.print("    (disagreed with a landslide once and were told to repair: damage, not yet suspects)")
