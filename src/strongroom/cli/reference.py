"""Renders ``docs/cli.md`` from the commands' own ``--help``, so the reference cannot drift from the code.

Regenerate with ``python -m strongroom.cli.reference > docs/cli.md``; a test fails when the file is stale.
"""

from __future__ import annotations

import click

from strongroom.cli.main import cli
from strongroom.errors import EXIT_MEANINGS


def render_reference() -> str:
    lines = [
        "# Command-line reference",
        "",
        "Generated from `strongroom --help` by `python -m strongroom.cli.reference > docs/cli.md`; "
        "a test keeps it in step.",
        "",
        "## Progress",
        "",
        "Long commands (`deposit`, `audit`, `reindex`, `portal export`, a node's first start on a new search engine) "
        "draw a progress bar on stderr when it is a terminal. When stderr is a file, a pipe or a service's journal "
        "(cron, systemd), they write a line per stage every 30 seconds instead, such as "
        '"writing the search index: 2,400,000 of 10,000,000 (24%), 2 min 10 s"; a command done sooner writes none. '
        "Listing commands take `--json` for scripts.",
        "",
        "## Exit codes",
        "",
        "| code | meaning |",
        "| --- | --- |",
    ]
    lines += [f"| {int(code)} | {meaning} |" for code, meaning in EXIT_MEANINGS.items()]
    # The group's own context settings (its -h), as `strongroom --help` has them: a bare Context would take Click's
    # defaults, and Click keeps the first help option it makes on the command, so the text would depend on whether
    # the command had already run in this process.
    settings = {**cli.context_settings, "terminal_width": 100, "max_content_width": 100}
    ctx = click.Context(cli, info_name="strongroom", **settings)
    lines += ["", "## strongroom", "", "```text", cli.get_help(ctx), "```"]
    for name in sorted(cli.list_commands(ctx)):
        command = cli.get_command(ctx, name)
        assert command is not None
        sub = click.Context(command, info_name=name, parent=ctx)  # the parent gives the "strongroom" before it
        lines += ["", f"## strongroom {name}", "", "```text", command.get_help(sub), "```"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_reference(), end="")
