"""Preserving: init, deposit, audit, export, recover, reindex."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import click
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from strongroom.cli.bars import Bars
from strongroom.cli.common import (
    err,
    home_option,
    human_bytes,
    json_option,
    line,
    open_node,
    out,
    plural,
    print_json,
    styled,
)
from strongroom.domain.model import TitleKind
from strongroom.errors import ExitCode
from strongroom.node import Node
from strongroom.services.audit import AuditReport
from strongroom.services.deposit import DepositOptions
from strongroom.settings import S3Settings, resolve_home


@click.command()
@home_option
@click.option(
    "--database-url",
    default=None,
    help="Catalog database (default: SQLite in the home). "
    "Example: postgresql+psycopg://postgres@127.0.0.1:5432/strongroom",
)
@click.option(
    "--digest",
    type=click.Choice(["sha512", "sha256"]),
    default="sha512",
    show_default=True,
    help="Digest algorithm of the OCFL inventories.",
)
@click.option("--name", default=None, help="A human-readable name for the node.")
@click.option("--institution", default="", help="The institution running the node.")
@click.option("--country", default="", help="ISO 3166-1 code of the node's country.")
@click.option(
    "--restore-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Restore a wiped node: its backed-up keys/node.key (with --node-id), so it keeps its identity.",
)
@click.option("--node-id", default=None, help="Restore a wiped node: its old node id (with --restore-key).")
@click.option(
    "--storage",
    "storage_backend",
    type=click.Choice(["ocfl-local", "ocfl-s3"]),
    default="ocfl-local",
    show_default=True,
    help="Where the OCFL storage root is: a directory in the home, or a bucket of an S3-compatible object store.",
)
@click.option("--s3-bucket", default="", help="With --storage ocfl-s3: the bucket (it must exist).")
@click.option("--s3-endpoint", default="", help="With --storage ocfl-s3: the S3 API's address (default: AWS's own).")
@click.option(
    "--s3-prefix",
    default="ocfl",
    show_default=True,
    help="With --storage ocfl-s3: the storage root's key prefix in the bucket (one per node).",
)
@click.option("--s3-region", default="", help="With --storage ocfl-s3: the bucket's region.")
def init(
    home: Path | None,
    database_url: str | None,
    digest: str,
    name: str | None,
    institution: str,
    country: str,
    restore_key: Path | None,
    node_id: str | None,
    storage_backend: str,
    s3_bucket: str,
    s3_endpoint: str,
    s3_prefix: str,
    s3_region: str,
) -> None:
    """Create a node home: settings, catalog, OCFL storage root and the node's Ed25519 key pair (or the key and id
    of a wiped node, restored from its backup)."""
    path = resolve_home(home)
    node = Node.create(
        path,
        database_url=database_url,
        digest_algorithm=digest,
        name=name,
        institution=institution,
        country=country,
        node_id=node_id,
        restore_key=restore_key,
        storage_backend=storage_backend,
        s3=_s3_settings(storage_backend, s3_bucket, s3_endpoint, s3_prefix, s3_region),
    )
    s = node.settings
    node.close()
    console = out()
    console.print(line("Restored node " if restore_key else "Created node ", (s.node_id, "bold"), f" at {path}"))
    console.print(f"  settings      {s.settings_file}")
    console.print(f"  catalog       {s.resolved_database_url()}")
    if s.storage_backend == "ocfl-s3":
        where = f"s3://{s.s3.bucket}/{s.s3.prefix}" + (f" at {s.s3.endpoint}" if s.s3.endpoint else "")
    else:
        where = str(s.resolved_storage_root())
    console.print(f"  storage root  {where} (OCFL 1.1, {s.digest_algorithm})")
    console.print(f"  node key      {s.keys_dir / 'node.key'} (readable by you only)")
    if restore_key:
        console.print(f"Next: strongroom network join SIGNED-CONFIG --admin-key ed25519:... --home {path}")
    else:
        console.print(f"Next: strongroom deposit PACKAGE --home {path}")


def _s3_settings(backend: str, bucket: str, endpoint: str, prefix: str, region: str) -> S3Settings:
    """The ``--s3-*`` options, refused when the storage is not a bucket (they would be silently ignored)."""
    if backend != "ocfl-s3":
        given = [name for name, value in (("bucket", bucket), ("endpoint", endpoint), ("region", region)) if value]
        if given or prefix != "ocfl":
            raise click.UsageError(
                "the --s3-* options describe a bucket: add --storage ocfl-s3, or leave them out for a local root"
            )
        return S3Settings()
    return S3Settings(endpoint=endpoint, bucket=bucket, prefix=prefix, region=region)


class BarReporter:
    """Draws a deposit's stages as a progress bar with bytes and speed on stderr."""

    def __init__(self, *, disable: bool) -> None:
        self.bar = Bars(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=err(),
            transient=True,
            disable=disable,
        )
        self.task: TaskID | None = None

    def __enter__(self) -> BarReporter:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def stage(self, name: str, total_bytes: int | None = None) -> None:
        if self.task is not None:
            self.bar.remove_task(self.task)
        self.task = self.bar.add_task(name, total=total_bytes)

    def advance(self, nbytes: int) -> None:
        if self.task is not None:
            self.bar.advance(self.task, nbytes)


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--publisher", default=None, help="Publisher name, where the package does not give one.")
@click.option("--publisher-country", default=None, help="Publisher's country (ISO 3166-1 code or name).")
@click.option("--platform", default=None, help="Publisher's platform, e.g. ojs.")
@click.option("--title", default=None, help="Journal or book title, overriding the package's.")
@click.option("--issn", default=None, help="ISSN of the title, where the package does not give one.")
@click.option("--kind", type=click.Choice([k.value for k in TitleKind]), default="journal", show_default=True)
@click.option("--au", default=None, help="AU label (default: the articles' publication year).")
@click.option("--licence", default=None, help="Licence URL of the title, overriding the package's.")
@home_option
@json_option
def deposit(
    path: Path,
    publisher: str | None,
    publisher_country: str | None,
    platform: str | None,
    title: str | None,
    issn: str | None,
    kind: str,
    au: str | None,
    licence: str | None,
    home: Path | None,
    as_json: bool,
) -> None:
    """Preserve a publisher's package (BagIt bag, JASPER ZIP, or directory of JATS XML) as a new OCFL version.

    Every checksum is verified before anything is written; depositing the same package again changes nothing.
    """
    options = DepositOptions(
        publisher=publisher,
        publisher_country=publisher_country,
        platform=platform,
        title=title,
        issn=issn,
        au=au,
        kind=TitleKind(kind),
        licence=licence,
    )
    with open_node(home) as node, BarReporter(disable=as_json) as reporter:
        result = node.ingest.deposit(path, options, reporter=reporter)
    if as_json:
        print_json(
            {
                "au": result.au_key,
                "object_id": result.object_id,
                "version": result.version,
                "unchanged": result.unchanged,
                "form": result.package_form,
                "items": result.items,
                "files": result.files,
                "bytes": result.bytes,
                "new_files": result.new_files,
                "new_bytes": result.new_bytes,
                "added": result.added,
                "modified": result.modified,
                "removed": result.removed,
            }
        )
        return
    c = out()
    if result.unchanged:
        c.print(
            f"Unchanged: AU {result.au_key} already holds exactly this content as v{result.version}; "
            "nothing was written."
        )
        return
    c.print(
        f"Preserved {plural(result.items, 'item')}, {plural(result.files, 'file')} ({human_bytes(result.bytes)}) "
        f"from a {result.package_form} package"
    )
    c.print(f"  AU       {result.au_key}")
    c.print(f"  version  v{result.version} of OCFL object {result.object_id}")
    c.print(
        f"  stored   {result.new_files} new content files ({human_bytes(result.new_bytes)}); "
        "unchanged files are not stored twice"
    )
    if result.version > 1:
        c.print(f"  changes  {len(result.added)} added, {len(result.modified)} modified, {len(result.removed)} removed")


def _print_audit(report: AuditReport, as_json: bool) -> None:
    if as_json:
        print_json(report.to_dict())
        return
    c = out()
    table = Table("AU", "Files", "OK", "Damaged", "Missing", "Unreadable", "Unexpected", "Result", title="Fixity audit")
    for au in report.aus:
        n = au.counts
        result = styled("intact", "green") if au.intact else styled("PROBLEMS", "red")
        table.add_row(
            au.au_key,
            str(au.files),
            str(n["ok"]),
            str(n["damaged"]),
            str(n["missing"]),
            str(n["unreadable"]),
            str(n["unexpected"]),
            result,
        )
    c.print(table)
    for au in report.aus:
        for finding in au.findings:
            c.print(line("  ", (finding.code, "red"), f" {au.au_key}: {finding.path}: {finding.message}"))
    total: Counter[str] = report.totals()
    c.print(
        f"Checked {plural(report.files, 'file')}, {human_bytes(report.bytes)} in {report.seconds:.1f} s "
        f"({report.bytes / max(report.seconds, 1e-9) / 1e6:.0f} MB/s): "
        f"{total['ok']} ok, {total['damaged']} damaged, {total['missing']} missing, "
        f"{total['unreadable']} unreadable, {total['unexpected']} unexpected."
    )
    if report.intact:
        c.print("Everything stored is intact.", style="green")
    else:
        c.print(line(("Problems found.", "red"), " Each is listed above with its finding code (docs/findings.md)."))


@click.command()
@click.argument("au_keys", nargs=-1)
@click.option(
    "--all-digests",
    is_flag=True,
    help="Check the inventories' second digest (their fixity block) too, not only their own; slower.",
)
@home_option
@json_option
def audit(au_keys: tuple[str, ...], all_digests: bool, home: Path | None, as_json: bool) -> None:
    """Re-read stored content and check every digest against the OCFL inventories and the catalog.

    Each file is checked against its inventory's digest (sha512 by default); with --all-digests, against the
    fixity block's second digest as well. The event recorded for each AU names the digests checked.

    Exit status: 0 when everything is intact; 1 when any file is damaged, missing, unreadable or unexpected,
    or an inventory or the catalog disagrees; 4 when an AU named does not exist.
    """
    with (
        open_node(home) as node,
        Bars(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("{task.fields[files]} files"),
            console=err(),
            transient=True,
            disable=as_json,
        ) as bar,
    ):
        task: TaskID | None = None

        def progress(event: str, files: int, nbytes: int, total: int) -> None:
            nonlocal task
            if task is None:
                task = bar.add_task("auditing", total=total, files=0)
            bar.update(task, completed=nbytes, files=files, description=event)

        report = node.audits.audit(au_keys, progress=progress, all_digests=all_digests)
    _print_audit(report, as_json)
    if not report.intact:
        raise SystemExit(ExitCode.PROBLEMS_FOUND)


@click.command()
@click.argument("au_key")
@click.argument("dest", type=click.Path(path_type=Path))
@home_option
@json_option
def export(au_key: str, dest: Path, home: Path | None, as_json: bool) -> None:
    """Write AU_KEY's current version to DEST as a BagIt bag, with its metadata and PREMIS event log."""
    with open_node(home) as node:
        result = node.exports.export(au_key, dest)
    if as_json:
        print_json(
            {
                "au": result.au_key,
                "version": result.version,
                "dest": result.dest,
                "files": result.files,
                "bytes": result.bytes,
            }
        )
        return
    out().print(
        f"Exported {result.au_key} v{result.version}: {plural(result.files, 'file')} "
        f"({human_bytes(result.bytes)}) as a BagIt bag at {result.dest}"
    )


LISTED = 20  # objects a reindex names one by one in its summary; past that, only their counts


@click.command()
@click.option("--search", "search_too", is_flag=True, help="Also empty the search index and write it again.")
@home_option
def reindex(search_too: bool, home: Path | None) -> None:
    """Catalogue every OCFL object in storage again from its deposit record (what fixes A006 and A007), and with
    --search write the search index again from the catalog."""
    from strongroom.services.indexer import ReindexReport

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[items]}"),
        TimeElapsedColumn(),
    )
    report = ReindexReport()  # filled as each object is done: the bar shows its items so far

    def catalogued(n: int, total: int) -> None:
        bar.update(task, completed=n, total=total, items=f"objects, {plural(report.items, 'item')}")

    # With --search the index is written whole at the end: a new one is not also written as the node opens.
    with open_node(home, fill_search=not search_too) as node, Bars(*columns, console=err(), transient=True) as bar:
        task = bar.add_task("cataloguing objects", total=None, items="objects")
        started = time.monotonic()
        node.indexer.reindex(progress=catalogued, search=False, report=report)
        catalogue_secs = time.monotonic() - started
        documents = updated = 0
        started = time.monotonic()
        # each stage its own bar (rich cannot set a task's total back to unknown: the objects' would show a moment)
        bar.update(task, visible=False)
        if not search_too:  # what reindex(search=True) does, here with its own bar: every item was queued
            task = bar.add_task("updating the search index", total=None, items="items")
            updated = node.indexer.sync_search(progress=lambda n, total: bar.update(task, completed=n, total=total))
        else:
            task = bar.add_task("writing the search index", total=None, items="documents")
            documents = node.indexer.rebuild_search(
                progress=lambda n, total: bar.update(task, completed=n, total=total)
            )
        search_secs = time.monotonic() - started
    out().print(
        f"Catalogued {plural(len(report.done), 'object')} ({plural(report.items, 'item')}) "
        f"in {catalogue_secs:.1f} s" + (f": {', '.join(report.done)}" if 0 < len(report.done) <= LISTED else ".")
    )
    if search_too:
        rate = f" ({documents / search_secs:,.0f} a second)" if documents and search_secs > 0 else ""
        out().print(f"Wrote {plural(documents, 'search document')} in {search_secs:.1f} s{rate}.")
    else:
        out().print(f"Updated the search index: {plural(updated, 'item')}.")
    for problem in report.problems:
        err().print(f"could not catalogue {problem}")
    if report.problems:
        raise SystemExit(ExitCode.PROBLEMS_FOUND)
