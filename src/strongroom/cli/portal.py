"""``strongroom portal``: the public portal of released content, its static copy and its Crossref file."""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

from strongroom.cli.bars import Bars
from strongroom.cli.common import home_option, open_node, out


@click.group(name="portal")
def portal_group() -> None:
    """The public portal: released content, free to read, with OAI-PMH, a sitemap and a release feed."""


@portal_group.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--oai-page-size",
    default=100,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Records per OAI-PMH response.",
)
@click.option(
    "--trusted-proxies",
    default=None,
    metavar="ADDRS",
    help="Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For names the reader; "
    "default: the portal.trusted_proxies setting (none).",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processes serving the port together (one per core uses every core).",
)
@home_option
def portal_serve(
    host: str, port: int, oai_page_size: int, trusted_proxies: str | None, workers: int, home: Path | None
) -> None:
    """Serve the portal (pages, downloads, /oai, /sitemap.xml, /releases.atom) until stopped."""
    from strongroom.portal.app import serve_portal
    from strongroom.settings import proxy_networks

    if trusted_proxies is not None:
        try:
            proxy_networks(trusted_proxies)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--trusted-proxies") from None

    with open_node(home) as node:
        out().print(
            f"Portal of {node.settings.node_name} on http://{host}:{port}/ "
            f"(public address {node.settings.portal.base_url})"
            + (f", {workers} processes" if workers > 1 else "")
            + "; Ctrl-C stops it."
        )
        serve_portal(node, host, port, oai_page_size=oai_page_size, trusted_proxies=trusted_proxies, workers=workers)


@portal_group.command(name="export")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@home_option
def portal_export(dest: Path, home: Path | None) -> None:
    """Write a static copy of the released portal to DEST (a new folder) for any web server or mirror."""
    from strongroom.portal.static import export_static

    columns = (TextColumn("exporting"), BarColumn(), MofNCompleteColumn())
    with open_node(home) as node, Bars(*columns, console=out(), transient=True) as bar:
        task = bar.add_task("export", total=None)
        result = export_static(node, dest, lambda n, total: bar.update(task, completed=n, total=total))
    out().print(
        f"Exported {result.pages} pages and {result.files} files ({result.bytes / 1e6:.1f} MB) to {dest}. "
        "Host it at the root of a web site; search and OAI-PMH need the live portal."
    )


@portal_group.command(name="crossref")
@click.option(
    "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write."
)
@click.option("--depositor", required=True, help="Name of the depositing organisation.")
@click.option("--email", required=True, help="Address Crossref sends the deposit result to.")
@click.option("--label", default="ARCHIVE", show_default=True, help="Label of this archive's location in Crossref.")
@home_option
def portal_crossref(out_path: Path, depositor: str, email: str, label: str, home: Path | None) -> None:
    """A Crossref resource-only deposit pointing every released DOI to its landing page here."""
    from strongroom.portal.crossref import resource_deposit

    with open_node(home) as node:
        data, count = resource_deposit(
            node.released(),
            node.settings.portal.base_url.rstrip("/"),
            depositor=depositor,
            email=email,
            label=label,
            now=node.clock.now(),
        )
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out_path)
    out().print(f"Wrote {out_path}: {count} released DOIs point to {node.settings.portal.base_url}.")
