"""``strongroom eligibility``: which countries' institutions get free (A) or low-cost (B) access, and why."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from strongroom.cli.common import home_option, json_option, line, open_node, out, print_json
from strongroom.domain.eligibility import DEFAULT_RULE_SET, RULE_SETS, Group
from strongroom.services.eligibility import KINDS, CountryStatus


def _dict(st: CountryStatus) -> dict[str, Any]:
    return {
        "country": st.country,
        "name": st.name,
        "year": st.year,
        "final": st.final,
        "decided_by": st.decided_by,
        "computed": str(st.computed.group),
        "rule_set": st.computed.rule_set,
        "matched": st.computed.matched,
        "undecided": st.computed.missing,
        "listed": st.listed,
        "list": st.list_source,
        "override": st.override,
        "disagreement": st.disagreement,
        "indicators": st.indicators.__dict__,
        "years_used": st.years_used,
        "ldc_year": st.ldc_year,
        "basis": st.basis,
        "notes": st.notes,
    }


def _basis(rows: list[CountryStatus]) -> str:
    """The data a whole report used: the year, the indicator years found, the LDC list's year."""
    if not rows:
        return ""
    years: dict[str, set[int]] = {}
    for r in rows:
        for name, y in r.years_used.items():
            years.setdefault(name, set()).add(y)
    shown = {"gni": "GNI", "gni_per_capita": "GNI per capita", "hdi": "HDI", "hale": "healthy life expectancy"}
    parts = [
        f"{label} {'-'.join(str(y) for y in sorted({min(years[name]), max(years[name])}))}"
        for name, label in shown.items()
        if name in years
    ]
    ldc = rows[0].ldc_year
    return (
        f"Eligibility for {rows[0].year} from the newest indicators published before it "
        f"({', '.join(parts) or 'none imported'}) and " + (f"the UN LDC list for {ldc}." if ldc else "no UN LDC list.")
    )


@click.command(name="eligibility")
@click.argument("country")
@click.option(
    "--year",
    type=int,
    default=None,
    help="The year eligibility is for (default: this year); the indicators are the newest published before it and "
    "the UN LDC list is the one in force in it.",
)
@click.option("--rules", "rule_set", type=click.Choice(sorted(RULE_SETS)), default=DEFAULT_RULE_SET, show_default=True)
@home_option
@json_option
def eligibility_show(country: str, year: int | None, rule_set: str, home: Path | None, as_json: bool) -> None:
    """Explain COUNTRY's status (ISO code or name): the rule that matched with its values, the official list, any
    override, and what decides."""
    with open_node(home) as node:
        st = node.eligibility.status(country, year=year, rule_set=rule_set)
    if as_json:
        print_json(_dict(st))
        return
    names = {"A": "Group A (free access)", "B": "Group B (low-cost access)", "none": "not eligible"}
    out().print(
        line((f"{st.name} ({st.country})", "bold"), f", {st.year}: {names[st.final]}, decided by the {st.decided_by}.")
    )
    out().print(f"Data: {st.basis}.")
    out().print(f"Rules ({st.computed.rule_set}): {st.computed.explanation}")
    for gap in st.computed.missing:
        out().print(f"  undecided: {gap}")
    if st.list_source:
        out().print(f"Official list {st.list_source}: {names[st.listed or 'none']}")
    else:
        out().print("No official list imported: the rules decide until one is.")
    if st.override:
        o = st.override
        out().print(f"Override by {o['by']} on {o['at'][:10]}: {names[o['group']]} ({o['reason']})")
    if st.disagreement:
        out().print("The rules and the official list disagree: staff should review this country.", style="yellow")
    for note in st.notes:
        out().print(f"note: {note}")


@click.command(name="eligibility-import")
@click.argument("kind", type=click.Choice([*KINDS, "official-list"]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", required=True, help="Where the file came from (a URL or a citation), kept with the data.")
@click.option("--year", type=int, default=None, help="ldc: the year the list applies to.")
@click.option("--effective", type=click.DateTime(["%Y-%m-%d"]), default=None, help="official-list: effective date.")
@home_option
def eligibility_import(
    kind: str, path: Path, source: str, year: int | None, effective: dt.datetime | None, home: Path | None
) -> None:
    """Import a World Bank indicator CSV, a UNDP HDR CSV, an LDC list, a healthy life expectancy CSV, or the
    official list of eligible countries."""
    with open_node(home) as node:
        if kind == "official-list":
            if effective is None:
                raise click.UsageError("an official list needs --effective YYYY-MM-DD")
            listed = node.eligibility.import_official_list(path, source=source, effective=effective.date())
            out().print(f"Imported the official list effective {listed.effective}: {len(listed.entries)} countries.")
            return
        record = node.eligibility.import_indicators(kind, path, source=source, year=year)
    out().print(f"Imported {record.values} {kind} values from {source}; {len(record.skipped)} rows skipped.")
    if kind == "ldc":
        out().print(f"The UN LDC list for {year} applies to eligibility for {year} and later, until a newer list.")
    for skipped in record.skipped[:10]:
        out().print(f"  skipped {skipped}")


@click.command(name="eligibility-override")
@click.argument("country")
@click.argument("group", type=click.Choice([g.value for g in Group]), required=False)
@click.option("--clear", is_flag=True, help="Lift COUNTRY's override: the official list (or the rules) decide again.")
@click.option("--reason", required=True, help="Why (kept with the override and shown with the status).")
@click.option("--by", default="staff", show_default=True, help="Who decided.")
@home_option
def eligibility_override(country: str, group: str | None, clear: bool, reason: str, by: str, home: Path | None) -> None:
    """Decide COUNTRY's group by hand, over the rules and the official list; or lift that decision with --clear."""
    if clear == (group is not None):
        raise click.UsageError("give a GROUP (A, B or none) to decide, or --clear to lift the override")
    with open_node(home) as node:
        if clear:
            node.eligibility.clear_override(country, reason=reason, by=by)
            st = node.eligibility.status(country)
        else:
            node.eligibility.override(country, Group(str(group)), reason=reason, by=by)
    if clear:
        out().print(f"{country}: override lifted ({reason}); now {st.final}, decided by the {st.decided_by}.")
    else:
        out().print(f"{country}: group {group} by override ({reason}).")


@click.command(name="eligibility-report")
@click.option("--year", type=int, default=None, help="The year eligibility is for (default: this year).")
@click.option("--rules", "rule_set", type=click.Choice(sorted(RULE_SETS)), default=DEFAULT_RULE_SET, show_default=True)
@click.option("--disagreements", is_flag=True, help="Only countries where the rules and the official list differ.")
@home_option
@json_option
def eligibility_report(year: int | None, rule_set: str, disagreements: bool, home: Path | None, as_json: bool) -> None:
    """Every eligible country (or every disagreement) with its status explained."""
    with open_node(home) as node:
        rows = node.eligibility.report(year=year, rule_set=rule_set)
    basis = _basis(rows)
    rows = (
        [r for r in rows if r.disagreement]
        if disagreements
        else [r for r in rows if r.final != "none" or r.computed.group is not Group.NONE]
    )
    if as_json:
        print_json([_dict(r) for r in rows])
        return
    table = Table(
        title=f"{len(rows)} {'country' if len(rows) == 1 else 'countries'}"
        + (" where the rules and the list disagree" if disagreements else "")
    )
    for column in ("Country", "Final", "Decided by", "Rules", "List", "Why (rules)"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            f"{r.name} ({r.country})",
            r.final,
            r.decided_by,
            str(r.computed.group),
            r.listed or "-",
            "; ".join(m.split(" (")[0] for m in r.computed.matched) or "-",
        )
    out().print(table)
    out().print(basis)
