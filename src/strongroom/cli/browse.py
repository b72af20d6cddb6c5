"""Looking around: publishers, titles, aus, items, show, events (each with --json)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from strongroom.cli.common import home_option, human_bytes, json_option, open_node, out, print_json, styled
from strongroom.domain.identifiers import country_name
from strongroom.services.browse import EventRow, ItemRow


@click.command()
@home_option
@json_option
def publishers(home: Path | None, as_json: bool) -> None:
    """List publishers with their country and how many titles and AUs are preserved."""
    with open_node(home) as node:
        rows = node.browse.publishers()
    if as_json:
        print_json([asdict(p) for p in rows])
        return
    table = Table("Publisher", "Country", "Platform", "Status", "Titles", "AUs", title=f"{len(rows)} publishers")
    for p in rows:
        country = f"{country_name(p.country)} ({p.country})" if p.country else "—"
        table.add_row(p.name, country, p.platform or "—", p.status, str(p.titles), str(p.aus))
    out().print(table)


@click.command()
@home_option
@json_option
def titles(home: Path | None, as_json: bool) -> None:
    """List titles (journals and books) with their ISSNs, publisher, AUs and items."""
    with open_node(home) as node:
        rows = node.browse.titles()
    if as_json:
        print_json([asdict(t) for t in rows])
        return
    table = Table(
        "Key", "Title", "ISSN (print / online)", "Publisher", "Lang", "AUs", "Items", title=f"{len(rows)} titles"
    )
    for t in rows:
        issns = f"{t.issn_print or '—'} / {t.issn_online or '—'}"
        table.add_row(t.key, t.name, issns, t.publisher or "—", ",".join(t.languages), str(t.aus), str(t.items))
    out().print(table)


@click.command()
@click.argument("keys", nargs=-1)
@home_option
@json_option
def aus(keys: tuple[str, ...], home: Path | None, as_json: bool) -> None:
    """List archival units (all, or the KEYS given): state, OCFL version, items, files and bytes."""
    with open_node(home) as node:
        rows = node.browse.aus(keys)
    if as_json:
        print_json([asdict(au) for au in rows])
        return
    table = Table("AU", "Title", "State", "Version", "Items", "Files", "Size", title=f"{len(rows)} archival units")
    for au in rows:
        table.add_row(au.key, au.title, au.state, f"v{au.version}", str(au.items), str(au.files), human_bytes(au.bytes))
    out().print(table)


def _item_dict(item: ItemRow, *, files: bool = False) -> dict[str, Any]:
    data = asdict(item)
    data["authors"] = list(item.authors)
    for extra in ("abstract", "keywords", "files"):
        data.pop(extra)
    if files:
        data["abstract"] = item.abstract
        data["keywords"] = list(item.keywords)
        data["files"] = [asdict(f) for f in item.files]
    return data


def _authors(item: ItemRow) -> str:
    names = [a.get("name", "") for a in item.authors]
    return ", ".join(names[:3]) + (" et al." if len(names) > 3 else "")


@click.command()
@click.argument("query", required=False)
@click.option("--limit", default=50, show_default=True, help="Most items to list.")
@home_option
@json_option
def items(query: str | None, limit: int, home: Path | None, as_json: bool) -> None:
    """List items, or search them: QUERY matches words in titles, authors, abstracts, keywords and DOIs."""
    with open_node(home) as node:
        rows = node.browse.items(query, limit=limit)
    if as_json:
        print_json([_item_dict(i) for i in rows])
        return
    heading = f"{len(rows)} items" + (f" matching {query!r}" if query else "")
    table = Table("ID", "DOI", "Title", "Authors", "Year", "AU", title=heading)
    for i in rows:
        table.add_row(str(i.id), i.doi or "—", i.title, _authors(i), str(i.year or "—"), i.au)
    out().print(table)


@click.command()
@click.argument("ref")
@home_option
@json_option
def show(ref: str, home: Path | None, as_json: bool) -> None:
    """Show one item in full, by DOI (any form) or catalog ID, with its stored files and digests."""
    with open_node(home) as node:
        item = node.browse.show(ref)
    if as_json:
        print_json(_item_dict(item, files=True))
        return
    console = out()
    console.print(item.title, style="bold")
    for a in item.authors:
        extra = [x for x in (a.get("orcid"), "; ".join(a.get("affiliations") or [])) if x]
        console.print(f"  {a.get('name')}" + (f" ({', '.join(extra)})" if extra else ""))
    fields = [
        ("DOI", item.doi),
        ("Journal", item.journal),
        ("AU", item.au),
        ("Published", item.publication_date),
        ("Volume", item.volume),
        ("Issue", item.issue),
        ("Pages", item.pages),
        ("Type", item.item_type),
        ("Language", item.language),
        ("Licence", item.licence),
        ("Keywords", ", ".join(item.keywords) if item.keywords else None),
    ]
    for name, value in fields:
        if value:
            console.print(f"{name + ':':<11}{value}")
    if item.abstract:
        console.print(f"\n{item.abstract}\n")
    table = Table("File", "Type", "Size", "sha256", title=f"{len(item.files)} stored files")
    for f in item.files:
        table.add_row(f.path, f.media_type, human_bytes(f.size), f.sha256[:16] + "…")
    console.print(table)


def _event_dict(e: EventRow) -> dict[str, Any]:
    return asdict(e)


@click.command()
@click.option("--au", "au_key", default=None, help="Only events of this AU (or node id).")
@click.option("--type", "event_type", default=None, help="Only events of this type (e.g. 'fixity check').")
@click.option("--limit", default=100, show_default=True)
@home_option
@json_option
def events(au_key: str | None, event_type: str | None, limit: int, home: Path | None, as_json: bool) -> None:
    """List PREMIS-style events (ingestion, fixity check, export…), newest first."""
    with open_node(home) as node:
        rows = node.browse.events(object_key=au_key, type=event_type, limit=limit)
    if as_json:
        print_json([_event_dict(e) for e in rows])
        return
    table = Table("Time", "Type", "Outcome", "Object", "Detail", title=f"{len(rows)} events")
    for e in rows:
        style = {"failure": "red", "warning": "yellow"}.get(e.outcome, "")
        table.add_row(
            e.time.strftime("%Y-%m-%d %H:%M:%S"),
            e.type,
            styled(e.outcome, style) if style else e.outcome,
            e.object,
            e.detail,
        )
    out().print(table)
