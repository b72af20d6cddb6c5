"""Looking around: publishers, titles, aus, items, show, events (each with --json), a page at a time: listings are
walked by key (``--after`` the cursor the previous page printed), never by skipping rows (decision 0009)."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from strongroom.cli.common import (
    F,
    home_option,
    human_bytes,
    json_option,
    open_node,
    out,
    page_note,
    plural,
    print_json,
    styled,
)
from strongroom.domain.identifiers import country_name

if TYPE_CHECKING:  # the listings need SQLAlchemy and the catalog only once a command runs (rich too, to print)
    from strongroom.services.browse import ItemRow, KeyPage, Page

T = TypeVar("T")


def paging_options(default: int) -> Callable[[F], F]:
    """--limit, --offset and --all, for a listing that shows one page at a time."""

    def add(f: F) -> F:
        f = click.option("--all", "show_all", is_flag=True, help="List every one (no --limit).")(f)
        f = click.option("--offset", type=click.IntRange(0), default=0, help="Skip this many first.")(f)
        return click.option(
            "--limit", type=click.IntRange(1), default=default, show_default=True, help="Most to list."
        )(f)

    return add


def _page_json(page: Page[T], key: str, rows: list[Any]) -> dict[str, Any]:
    return {"total": page.total, "offset": page.offset, "limit": page.limit, key: rows}


def _heading(page: Page[T], noun: str, suffix: str = "") -> str:
    if not page.exact:  # a search with very many matches: the engine estimated the total
        return f"{len(page.rows):,} of about {plural(page.total, noun)}{suffix}"
    if len(page.rows) == page.total:
        return plural(page.total, noun) + suffix
    return f"{len(page.rows):,} of {plural(page.total, noun)}{suffix}"


def key_paging(default: int, noun: str) -> Callable[[F], F]:
    """--limit, --after and --all, for a listing walked by key (the cursor a page gives for the next)."""

    def add(f: F) -> F:
        f = click.option("--all", "show_all", is_flag=True, help=f"List every {noun} (no --limit).")(f)
        f = click.option(
            "--after",
            metavar="CURSOR",
            default=None,
            help="Start after this position: the --after the previous page printed (its --json 'after').",
        )(f)
        return click.option(
            "--limit", type=click.IntRange(1), default=default, show_default=True, help="Most to list."
        )(f)

    return add


def _key_page_json(page: KeyPage[Any], key: str) -> dict[str, Any]:
    """A page for scripts: {"total" (null when not counted), "limit", "after" (the --after of the next page, null
    on the last), KEY: [...]}."""
    return {"total": page.total, "limit": page.limit, "after": page.next, key: [asdict(r) for r in page.rows]}


def _key_heading(page: KeyPage[T], noun: str, after: str | None) -> str:
    if page.total is None or (after is None and page.next is None):
        return plural(page.total if page.total is not None else len(page.rows), noun)
    return f"{len(page.rows):,} of {plural(page.total, noun)}"


def _more(page: KeyPage[T], command: str) -> None:
    """Under a page that is not the last: how to see the next."""
    if page.next is not None:
        out().print(f"more: {command} --after {shlex.quote(page.next)} (or --limit N, or --all)")


@click.command()
@key_paging(100, "publisher")
@home_option
@json_option
def publishers(limit: int, after: str | None, show_all: bool, home: Path | None, as_json: bool) -> None:
    """List publishers with their country and how many titles and AUs are preserved.

    By name, one page at a time (--limit, --after, --all); --json gives {"total", "limit", "after",
    "publishers": [...]} ("after": the --after of the next page, null on the last)."""
    with open_node(home) as node:
        page = node.browse.publisher_page(after=after, limit=None if show_all else limit)
    if as_json:
        print_json(_key_page_json(page, "publishers"))
        return
    from rich.table import Table

    table = Table(
        "Publisher", "Country", "Platform", "Status", "Titles", "AUs", title=_key_heading(page, "publisher", after)
    )
    for p in page.rows:
        country = f"{country_name(p.country)} ({p.country})" if p.country else "—"
        table.add_row(p.name, country, p.platform or "—", p.status, str(p.titles), str(p.aus))
    out().print(table)
    _more(page, "strongroom publishers")


@click.command()
@key_paging(100, "title")
@home_option
@json_option
def titles(limit: int, after: str | None, show_all: bool, home: Path | None, as_json: bool) -> None:
    """List titles (journals and books) with their ISSNs, publisher, AUs and items.

    By name, one page at a time (--limit, --after, --all); --json gives {"total", "limit", "after",
    "titles": [...]} ("after": the --after of the next page, null on the last)."""
    with open_node(home) as node:
        page = node.browse.title_page(after=after, limit=None if show_all else limit)
    if as_json:
        print_json(_key_page_json(page, "titles"))
        return
    from rich.table import Table

    table = Table(
        "Key",
        "Title",
        "ISSN (print / online)",
        "Publisher",
        "Lang",
        "AUs",
        "Items",
        title=_key_heading(page, "title", after),
    )
    for t in page.rows:
        issns = f"{t.issn_print or '—'} / {t.issn_online or '—'}"
        table.add_row(t.key, t.name, issns, t.publisher or "—", ",".join(t.languages), str(t.aus), str(t.items))
    out().print(table)
    _more(page, "strongroom titles")


@click.command()
@click.argument("keys", nargs=-1)
@key_paging(100, "AU")
@home_option
@json_option
def aus(keys: tuple[str, ...], limit: int, after: str | None, show_all: bool, home: Path | None, as_json: bool) -> None:
    """List archival units (all, or the KEYS given): state, access (dark, or released by a trigger), OCFL version,
    items, files and bytes.

    By key, one page at a time (--limit, --after, --all; the KEYS given are listed whole); --json gives {"total",
    "limit", "after", "aus": [...]} ("after": the --after of the next page, null on the last)."""
    with open_node(home) as node:
        page = node.browse.au_page(keys=keys, after=after, limit=None if show_all or keys else limit)
    if as_json:
        print_json(_key_page_json(page, "aus"))
        return
    from rich.table import Table

    table = Table(
        "AU",
        "Title",
        "State",
        "Access",
        "Version",
        "Items",
        "Files",
        "Size",
        title=_key_heading(page, "archival unit", after),
    )
    for au in page.rows:
        access = styled(f"released {au.released_at:%Y-%m-%d}", "green") if au.released_at else au.access
        table.add_row(
            au.key,
            au.title,
            au.state,
            access,
            f"v{au.version}",
            str(au.items),
            str(au.files),
            human_bytes(au.bytes),
        )
    out().print(table)
    _more(page, "strongroom aus")


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
@paging_options(50)
@click.option(
    "--after",
    type=click.IntRange(0),
    default=0,
    help="List the items after this catalog ID (the next page, as fast deep in the catalog as at its start).",
)
@home_option
@json_option
def items(
    query: str | None, limit: int, offset: int, show_all: bool, after: int, home: Path | None, as_json: bool
) -> None:
    """List items, or search them: QUERY matches words in titles, authors, abstracts, keywords and DOIs.

    One page at a time (--limit, --after or --offset, --all); the table says how many there are in all (about how
    many, when a search matches so many that the index estimates the total), and --json gives {"total",
    "total_exact", "offset", "limit", "after", "items": [...]} ("after": the --after of the next page)."""
    if after and query:
        raise click.UsageError("--after pages through the catalog in ID order; a search pages with --offset")
    from strongroom.services.lean_items import item_page

    # read without opening the node when that gives the same page (a catalog with nothing to recover first)
    page = item_page(home, query, limit=None if show_all else limit, offset=offset, after=after)
    if page is None:
        with open_node(home) as node:
            page = node.browse.item_page(query, limit=None if show_all else limit, offset=offset, after=after)
    if as_json:
        rows = [_item_dict(i) for i in page.rows]
        print_json(_page_json(page, "items", rows) | {"total_exact": page.exact, "after": page.after})
        return
    title = (
        _heading(page, "item", _matching(query)) if not after else f"{plural(len(page.rows), 'item')} after ID {after}"
    )
    from rich.table import Table

    table = Table("ID", "DOI", "Title", "Authors", "Year", "AU", title=title)
    for i in page.rows:
        table.add_row(str(i.id), i.doi or "—", i.title, _authors(i), str(i.year or "—"), i.au)
    out().print(table)
    command = "strongroom items" + (f" {shlex.quote(query)}" if query else "")
    next_page = f"--after {page.after}" if page.after is not None else None
    if after:  # where a page after an ID sits is not counted (that would read every item before it)
        note = f"more: {command} {next_page} (or --limit N)." if next_page else None
    else:
        note = page_note(
            len(page.rows), page.total, offset, "item", command=command, next_page=next_page, exact=page.exact
        )
    if note:
        out().print(note)


def _matching(query: str | None) -> str:
    return f" matching {query!r}" if query else ""


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
    from rich.table import Table

    table = Table("File", "Type", "Size", "sha256", title=plural(len(item.files), "stored file"))
    for f in item.files:
        table.add_row(f.path, f.media_type, human_bytes(f.size), f.sha256[:16] + "…")
    console.print(table)


@click.command()
@click.option("--au", "au_key", default=None, help="Only events of this AU (or node id).")
@click.option("--type", "event_type", default=None, help="Only events of this type (e.g. 'fixity check').")
@key_paging(100, "event")
@home_option
@json_option
def events(
    au_key: str | None,
    event_type: str | None,
    limit: int,
    after: str | None,
    show_all: bool,
    home: Path | None,
    as_json: bool,
) -> None:
    """List PREMIS-style events (ingestion, fixity check, export…), newest first.

    One page at a time (--limit, --after, --all), not counted (the log grows with every audit): a page that is not
    the last says how to see the next. --json gives {"total": null, "limit", "after", "events": [...]} ("after":
    the --after of the next page, null on the last)."""
    with open_node(home) as node:
        page = node.browse.event_page(
            object_key=au_key, type=event_type, limit=None if show_all else limit, after=after
        )
    if as_json:
        print_json(_key_page_json(page, "events"))
        return
    from rich.table import Table

    table = Table("Time", "Type", "Outcome", "Object", "Detail", title=plural(len(page.rows), "event"))
    for e in page.rows:
        style = {"failure": "red", "warning": "yellow"}.get(e.outcome, "")
        table.add_row(
            e.time.strftime("%Y-%m-%d %H:%M:%S"),
            e.type,
            styled(e.outcome, style) if style else e.outcome,
            e.object,
            e.detail,
        )
    out().print(table)
    filters = [f"--au {shlex.quote(au_key)}"] if au_key else []
    filters += [f"--type {shlex.quote(event_type)}"] if event_type else []
    _more(page, " ".join(["strongroom events", *filters]))
