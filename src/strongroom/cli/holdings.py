"""``strongroom holdings kbart|onix|doaj``: what the archive preserves, for knowledge bases, the Keepers Registry
and DOAJ (the portal serves the same at /holdings/)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import click

from strongroom.cli.common import home_option, json_option, open_node, out, print_json
from strongroom.formats import kbart, onix_ph
from strongroom.formats.holdings import doaj_text
from strongroom.services.holdings import Scope

F = TypeVar("F", bound=Callable[..., Any])


def scope_options(f: F) -> F:
    f = click.option("--programme", is_flag=True, help="Only the titles enrolled in the access programme.")(f)
    return click.option("--publisher", default=None, help="Only this publisher's titles (its key).")(f)


def output_option(f: F) -> F:
    return click.option(
        "--output",
        type=click.Path(dir_okay=True, path_type=Path),
        default=None,
        help="Write to this file (a directory: under the report's standard file name); default: standard output.",
    )(f)


def _target(output: Path, name: str) -> Path:
    return output / name if output.is_dir() else output


@contextmanager
def _replacing(target: Path) -> Iterator[BinaryIO]:
    """A file that appears under ``target`` whole or not at all: written to ``NAME.part`` beside it, made durable
    (flushed, fsynced), then renamed over ``target``. On any error the ``.part`` is removed and ``target`` (a
    report written before, if any) is left as it was: a crash or a full disk never leaves a report cut short
    under its real name, where a harvester of reports would take it for a whole one."""
    partial = target.with_name(target.name + ".part")
    try:
        with partial.open("wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, target)
        _sync_directory(target.parent)  # the rename itself outlives a crash
    finally:
        partial.unlink(missing_ok=True)


def _sync_directory(path: Path) -> None:
    if os.name != "posix":  # a directory cannot be opened to sync it elsewhere (Windows)
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_lines(output: Path | None, name: str, lines: Iterable[str]) -> None:
    """Write text as it comes, a chunk at a time: a report of any size is never held whole."""
    if output is None:
        for chunk in kbart.encoded(lines):
            click.echo(chunk, nl=False)
        return
    target = _target(output, name)
    with _replacing(target) as fh:
        for chunk in kbart.encoded(lines):
            fh.write(chunk)
    out().print(f"wrote {target}")


def _write(output: Path | None, name: str, data: bytes) -> None:
    if output is None:
        click.echo(data, nl=False)
        return
    target = _target(output, name)
    with _replacing(target) as fh:
        fh.write(data)
    out().print(f"wrote {target}")


@click.group(name="holdings")
def holdings_group() -> None:
    """Holdings reports: KBART for knowledge bases, ONIX-PH for the Keepers Registry, DOAJ's preservation values.

    They list preserved titles and issues (dark ones included: what is preserved is public, what is in it is
    not). See docs/holdings.md for what "preserved" means."""


@holdings_group.command(name="kbart")
@scope_options
@output_option
@home_option
def holdings_kbart(publisher: str | None, programme: bool, output: Path | None, home: Path | None) -> None:
    """A KBART Phase II file (UTF-8, tab-separated, the 25 columns): the whole archive, one publisher's titles
    (--publisher) or the access programme's (--programme). With --output DIR it is named as KBART recommends."""
    with open_node(home) as node:
        name, lines = node.holdings.kbart_lines(Scope(publisher, programme))
        _write_lines(output, name, lines)


@holdings_group.command(name="onix")
@scope_options
@output_option
@home_option
def holdings_onix(publisher: str | None, programme: bool, output: Path | None, home: Path | None) -> None:
    """An ONIX for Preservation Holdings feed for the Keepers Registry: by ISSN, each preserved issue."""
    with open_node(home) as node:
        report = node.holdings.report(Scope(publisher, programme))
    _write(output, f"onix-ph-{report.generated:%Y-%m-%d}.xml", onix_ph.write(report))


@holdings_group.command(name="doaj")
@scope_options
@output_option
@home_option
@json_option
def holdings_doaj(
    publisher: str | None, programme: bool, output: Path | None, home: Path | None, as_json: bool
) -> None:
    """For each title, what its journal enters in DOAJ's preservation section."""
    with open_node(home) as node:
        values = node.holdings.doaj(Scope(publisher, programme))
    if output is not None:
        import json

        _write(output, "doaj-preservation.json", json.dumps(values, indent=2, ensure_ascii=False).encode() + b"\n")
    elif as_json:
        print_json(values)
    else:
        for v in values:
            out().print(doaj_text(v))
