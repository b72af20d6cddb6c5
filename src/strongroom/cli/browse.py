"""Looking around: publishers, titles, aus, items, show, events (each with --json)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from strongroom.catalog.models import Event, Item
from strongroom.cli.common import home_option, human_bytes, json_option, open_node, out, print_json
from strongroom.domain.identifiers import country_name


@click.command()
@home_option
@json_option
def publishers(home: Path | None, as_json: bool) -> None:
    """List publishers with their country and how many titles and AUs are preserved."""
    with open_node(home) as node:
        rows = node.publishers()
    if as_json:
        print_json(
            [
                {
                    "key": p.key,
                    "name": p.name,
                    "country": p.country,
                    "platform": p.platform,
                    "status": p.status,
                    "titles": t,
                    "aus": a,
                }
                for p, t, a in rows
            ]
        )
        return
    table = Table("Publisher", "Country", "Platform", "Status", "Titles", "AUs", title=f"{len(rows)} publishers")
    for p, t, a in rows:
        country = f"{country_name(p.country)} ({p.country})" if p.country else "—"
        table.add_row(p.name, country, p.platform or "—", p.status, str(t), str(a))
    out().print(table)


@click.command()
@home_option
@json_option
def titles(home: Path | None, as_json: bool) -> None:
    """List titles (journals and books) with their ISSNs, publisher, AUs and items."""
    with open_node(home) as node:
        rows = node.titles()
    if as_json:
        print_json(
            [
                {
                    "key": t.key,
                    "name": t.name,
                    "kind": t.kind,
                    "issn_print": t.issn_print,
                    "issn_online": t.issn_online,
                    "issn_l": t.issn_l,
                    "isbn": t.isbn,
                    "languages": t.languages,
                    "licence": t.licence,
                    "publisher": t.publisher.name if t.publisher else None,
                    "aus": a,
                    "items": i,
                }
                for t, a, i in rows
            ]
        )
        return
    table = Table(
        "Key", "Title", "ISSN (print / online)", "Publisher", "Lang", "AUs", "Items", title=f"{len(rows)} titles"
    )
    for t, a, i in rows:
        issns = f"{t.issn_print or '—'} / {t.issn_online or '—'}"
        table.add_row(
            t.key, t.name, issns, t.publisher.name if t.publisher else "—", ",".join(t.languages or []), str(a), str(i)
        )
    out().print(table)


@click.command()
@click.argument("keys", nargs=-1)
@home_option
@json_option
def aus(keys: tuple[str, ...], home: Path | None, as_json: bool) -> None:
    """List archival units (all, or the KEYS given): state, OCFL version, items, files and bytes."""
    with open_node(home) as node:
        rows = node.aus(keys)
    if as_json:
        print_json(
            [
                {
                    "key": au.key,
                    "title": au.title.name,
                    "label": au.label,
                    "state": au.state,
                    "object_id": au.object_id,
                    "version": au.head_version,
                    "items": i,
                    "files": f,
                    "bytes": b,
                    "updated_at": au.updated_at,
                }
                for au, i, f, b in rows
            ]
        )
        return
    table = Table("AU", "Title", "State", "Version", "Items", "Files", "Size", title=f"{len(rows)} archival units")
    for au, i, f, b in rows:
        table.add_row(au.key, au.title.name, au.state, f"v{au.head_version}", str(i), str(f), human_bytes(b))
    out().print(table)


def _item_dict(item: Item, *, files: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": item.id,
        "key": item.item_key,
        "doi": item.doi,
        "title": item.title,
        "authors": item.authors,
        "publication_date": item.publication_date,
        "year": item.year,
        "volume": item.volume,
        "issue": item.issue,
        "pages": item.pages,
        "language": item.language,
        "licence": item.licence,
        "item_type": item.item_type,
        "au": item.au.key,
        "journal": item.au.title.name,
    }
    if files:
        data["abstract"] = item.abstract
        data["keywords"] = item.keywords
        data["files"] = [
            {
                "path": f.logical_path,
                "size": f.size,
                "media_type": f.media_type,
                "role": f.role,
                "sha512": f.sha512,
                "sha256": f.sha256,
            }
            for f in item.files
        ]
    return data


def _authors(item: Item) -> str:
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
        rows = node.items(query, limit=limit)
    if as_json:
        print_json([_item_dict(i) for i in rows])
        return
    heading = f"{len(rows)} items" + (f" matching {query!r}" if query else "")
    table = Table("ID", "DOI", "Title", "Authors", "Year", "AU", title=heading)
    for i in rows:
        table.add_row(str(i.id), i.doi or "—", i.title, _authors(i), str(i.year or "—"), i.au.key)
    out().print(table)


@click.command()
@click.argument("ref")
@home_option
@json_option
def show(ref: str, home: Path | None, as_json: bool) -> None:
    """Show one item in full, by DOI (any form) or catalog ID, with its stored files and digests."""
    with open_node(home) as node:
        item = node.show(ref)
    if as_json:
        print_json(_item_dict(item, files=True))
        return
    console = out()
    console.print(f"[bold]{item.title}[/bold]")
    for a in item.authors:
        extra = [x for x in (a.get("orcid"), "; ".join(a.get("affiliations") or [])) if x]
        console.print(f"  {a.get('name')}" + (f" ({', '.join(extra)})" if extra else ""))
    fields = [
        ("DOI", item.doi),
        ("Journal", item.au.title.name),
        ("AU", item.au.key),
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
        table.add_row(f.logical_path, f.media_type, human_bytes(f.size), f.sha256[:16] + "…")
    console.print(table)


def _event_dict(e: Event) -> dict[str, Any]:
    return {
        "uuid": e.uuid,
        "type": e.type,
        "outcome": e.outcome,
        "time": e.time,
        "agent": e.agent,
        "object_type": e.object_type,
        "object": e.object_key,
        "detail": e.detail,
        "data": e.data,
    }


@click.command()
@click.option("--au", "au_key", default=None, help="Only events of this AU (or node id).")
@click.option("--type", "event_type", default=None, help="Only events of this type (e.g. 'fixity check').")
@click.option("--limit", default=100, show_default=True)
@home_option
@json_option
def events(au_key: str | None, event_type: str | None, limit: int, home: Path | None, as_json: bool) -> None:
    """List PREMIS-style events (ingestion, fixity check, export…), newest first."""
    with open_node(home) as node:
        rows = node.events(object_key=au_key, type=event_type, limit=limit)
    if as_json:
        print_json([_event_dict(e) for e in rows])
        return
    table = Table("Time", "Type", "Outcome", "Object", "Detail", title=f"{len(rows)} events")
    for e in rows:
        style = {"failure": "red", "warning": "yellow"}.get(e.outcome, "")
        table.add_row(
            e.time.strftime("%Y-%m-%d %H:%M:%S"),
            e.type,
            f"[{style}]{e.outcome}[/]" if style else e.outcome,
            e.object_key,
            e.detail,
        )
    out().print(table)
