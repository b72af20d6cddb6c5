"""``strongroom simulate``: the network model, for choosing a policy from evidence."""

from __future__ import annotations

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from strongroom.cli.common import err, out, print_json
from strongroom.domain.poll import PollPolicy
from strongroom.network.simulate import SimulationParams, simulate


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
    with Progress(
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
