"""What every command shares: ``--home``, opening the node, turning errors into exit codes, and output.

Imported by the ``strongroom`` group itself, so by ``strongroom --help``: rich (the consoles), the settings and the
node are imported only when a command prints, reads a home or opens a node.

Must not import at module level: rich, the node, the settings, the catalog.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from strongroom.errors import ExitCode, StrongroomError
from strongroom.formats.text import visible

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from strongroom.node import Node

F = TypeVar("F", bound=Callable[..., Any])


class StrongroomGroup(click.Group):
    """Turns every StrongroomError into its message (with the hint) on stderr and the error's exit code; Ctrl-C into
    130; anything unexpected into a one-line report and INTERNAL (``STRONGROOM_DEBUG=1`` shows the traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StrongroomError as exc:
            click.echo(f"error: {visible(str(exc))}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted; a node stays consistent and resumes where it stopped", err=True)
            ctx.exit(ExitCode.INTERRUPTED)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            from strongroom.space import disk_full, is_full

            if is_full(exc):  # a write no use case names: the disk is still named, and what to do
                assert isinstance(exc, OSError)
                where = Path(exc.filename) if exc.filename else Path.cwd()
                click.echo(f"error: {disk_full('the disk being written to', where)}", err=True)
                ctx.exit(ExitCode.NO_SPACE)
            if os.environ.get("STRONGROOM_DEBUG"):
                raise
            click.echo(
                f"error: unexpected {type(exc).__name__}: {visible(str(exc))}\n"
                "  hint: this is a bug in Strongroom; the node recovers at its next start. Run the command again with "
                "STRONGROOM_DEBUG=1 to see where it happened, and report it.",
                err=True,
            )
            ctx.exit(ExitCode.INTERNAL)


def home_option(f: F) -> F:
    return click.option(
        "--home",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="The node's home directory (default: $STRONGROOM_HOME, else ./strongroom-home).",
    )(f)


def password_options(f: F) -> F:
    """--password-stdin, --password-file and --password-env, for commands that create a sign-in (without one of
    them the password is asked for, twice, without echo)."""
    f = click.option("--password-env", metavar="VAR", help="Read it from this environment variable.")(f)
    f = click.option(
        "--password-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Read it from a file."
    )(f)
    return click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")(
        f
    )


def read_password(password_stdin: bool, password_file: Path | None, password_env: str | None) -> str:
    """The password given by one of :func:`password_options`, or asked for."""
    if sum((password_stdin, password_file is not None, password_env is not None)) > 1:
        raise click.UsageError("give one of --password-stdin, --password-file or --password-env")
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if password_file is not None:
        text = password_file.read_text()
        return text.splitlines()[0] if text else ""
    if password_env is not None:
        if password_env not in os.environ:
            raise click.UsageError(f"the environment variable {password_env} is not set")
        return os.environ[password_env]
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of a table.")(f)


@contextmanager
def open_node(home: Path | None, *, fill_search: bool = True) -> Iterator[Node]:
    from strongroom.node import Node  # the whole node (SQLAlchemy, the store) only for commands that open one
    from strongroom.settings import resolve_home

    with _search_index_progress() as progress:
        node = Node.open(resolve_home(home), progress=progress, fill_search=fill_search)
    try:
        yield node
    finally:
        node.close()


@contextmanager
def _search_index_progress() -> Iterator[Callable[[int, int], None]]:
    """A bar on stderr while a node being opened writes its search index from the catalog (the first start on a
    new engine can take minutes on a large archive); nothing is shown, or imported, when it does not."""
    shown: list[Any] = []

    def update(done: int, total: int) -> None:
        if not shown:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

            from strongroom.cli.bars import Bars

            bar = Bars(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err())
            bar.start()
            shown[:] = [bar, bar.add_task("writing the search index from the catalog", total=total)]
        shown[0].update(shown[1], completed=done, total=total)

    try:
        yield update
    finally:
        if shown:
            shown[0].stop()


@cache
def _safe_console() -> type[Console]:
    """:class:`SafeConsole`, made on first use: rich is imported only by commands that print through it."""
    from rich.console import Console

    class SafeConsole(Console):
        """A console that never reads text as markup and shows control and bidi-override characters as escapes: a
        publisher's title, a file name or a peer's message can say anything, and is printed as text, never run."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(markup=False, emoji=False, highlight=False, **kwargs)

        def render_str(self, text: str, **kwargs: Any) -> Text:
            kwargs["markup"] = False
            kwargs["emoji"] = False
            return super().render_str(visible(text), **kwargs)

    return SafeConsole


def line(*parts: str | tuple[str, str]) -> Text:
    """One line of mixed text: plain parts (which may come from anywhere) and (constant text, style) parts."""
    from rich.text import Text

    return Text.assemble(*(visible(p) if isinstance(p, str) else (visible(p[0]), p[1]) for p in parts))


def styled(text: str, style: str) -> Text:
    from rich.text import Text

    return Text(visible(text), style=style)


def out() -> Console:
    return _safe_console()(soft_wrap=True)


def err() -> Console:
    return _safe_console()(stderr=True)


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Sequence):  # a store's PathList (str, list and tuple never reach here)
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def print_json(data: Any) -> None:
    """JSON for scripts: every value as it is (nothing lost), with the characters a terminal or a script could act
    on written as JSON escapes (json already escapes the C0 controls)."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=_default)
    sys.stdout.write(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")


def plural(n: int, singular: str, plural: str | None = None) -> str:
    """The count with its noun in the right number: "1 title", "2 titles", "1,234 countries"."""
    if n == 1:
        return f"1 {singular}"
    if plural is None:
        plural = singular[:-1] + "ies" if singular.endswith("y") and singular[-2:-1] not in "aeiou" else singular + "s"
    return f"{n:,} {plural}"


def page_note(
    shown: int,
    total: int,
    offset: int,
    noun: str,
    *,
    command: str,
    next_page: str | None = None,
    exact: bool = True,
) -> str | None:
    """What a listing that stops short of the end says: how many there are and how to see the rest (None when
    every row was shown). ``next_page``: the options that show the next page (default ``--offset N``); ``exact``
    False: ``total`` is an estimate (a search with very many matches), and the note says so."""
    more = max(total - offset - shown, 0)
    if shown + offset >= total and offset == 0:
        return None
    where = f"{offset + 1:,}-{offset + shown:,}" if shown else "none"
    about = "" if exact else "about "
    note = f"showing {where} of {about}{plural(total, noun)}"
    if more:
        more_ = f"{about}{more:,} more"
        note += f"; {more_}: {command} {next_page or f'--offset {offset + shown}'} (or --limit N, or --all)"
    return note + "."


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"
