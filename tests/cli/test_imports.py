"""A fast command line: the ``strongroom`` group imports a command's module only when that command runs, so the
everyday commands never load the web stack or the harvester (a structural check on ``sys.modules``, never a
timing). And the group's help, written from a static table, says exactly what each command's own help says."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import strongroom.cli
from strongroom.cli.main import COMMANDS, LazyGroup, cli, short_help
from strongroom.keys import public_key_text
from strongroom.network.config import Member, NetworkConfig, NetworkPolicy, sign_config
from strongroom.node import Node

# What only the portal, the peer API and the harvester need.
HEAVY = ("fastapi", "starlette", "uvicorn", "jinja2", "pycurl", "warcio")

# Runs in a fresh interpreter: each command as `strongroom ...` runs it, then what each had imported by its end.
PROBE = """
import json, sys
from strongroom.cli.main import cli

def run(*args):
    try:
        code = cli.main(list(args), prog_name="strongroom", standalone_mode=False)
    except SystemExit as exc:
        code = exc.code
    loaded = sorted({m.split(".")[0] for m in sys.modules} | {m for m in sys.modules if m.startswith("strongroom.")})
    print("\\nPROBE " + json.dumps({"args": list(args), "code": code or 0, "loaded": loaded}), flush=True)

for args in json.loads(sys.argv[1]):
    run(*args)
"""


def probe(*commands: list[str]) -> list[dict[str, object]]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(commands)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    reports = [json.loads(line[len("PROBE ") :]) for line in proc.stdout.splitlines() if line.startswith("PROBE ")]
    assert len(reports) == len(commands), proc.stdout + proc.stderr
    return reports


@pytest.fixture
def deposited_home(tmp_path: Path, sample_dir: Path) -> tuple[Path, str]:
    """A node home on SQLite holding one deposited AU, in a network of two whose other member does not answer, and
    that AU's key."""
    admin, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    with Node.create(tmp_path / "home") as node:
        node.ingest.deposit(sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag.zip"))[0])
        [au] = node.browse.aus()
        members = (
            Member(
                node.settings.node_id,
                "http://127.0.0.1:9",
                public_key_text(node.membership.private_key().public_key()),
                "A",
                "GH",
            ),
            Member("node-silent", "http://127.0.0.1:9", public_key_text(other.public_key()), "B", "KE"),
        )
        policy = NetworkPolicy(target_copies=2, min_countries=1, quorum=1)
        node.membership.join(
            sign_config(NetworkConfig("probe-net", 1, members, policy), admin), public_key_text(admin.public_key())
        )
    return tmp_path / "home", au.key


def test_help_imports_no_command_and_no_database() -> None:
    [report] = probe(["--help"])
    loaded = set(report["loaded"])  # type: ignore[arg-type]
    assert report["code"] == 0
    assert {m for m in loaded if m.startswith("strongroom.cli.")} == {"strongroom.cli.main", "strongroom.cli.common"}
    assert not loaded & {"sqlalchemy", "alembic", "strongroom.node", *HEAVY}


def test_everyday_commands_never_import_the_web_stack_or_the_harvester(deposited_home: tuple[Path, str]) -> None:
    home, au_key = deposited_home
    help_, items, status = probe(
        ["--help"],
        ["items", "--json", "--home", str(home)],
        ["au", "status", au_key, "--json", "--home", str(home)],
    )
    assert (help_["code"], items["code"], status["code"]) == (0, 0, 0)
    # the commands really ran: the catalog read (on SQLite, without opening the node: tests/cli/test_lean_items.py),
    # the AU's status asked of the network service
    assert "strongroom.services.lean_items" in items["loaded"]  # type: ignore[operator]
    assert "sqlalchemy" not in items["loaded"]  # type: ignore[operator]
    assert "strongroom.services.network_status" in status["loaded"]  # type: ignore[operator]
    for report in (help_, items, status):
        assert not set(report["loaded"]) & set(HEAVY), report["args"]  # type: ignore[arg-type]
        # migrations are applied by `init`; a node already at the head revision never imports Alembic to open
        assert "alembic" not in report["loaded"], report["args"]  # type: ignore[operator]


@pytest.mark.parametrize("limit", [3, 20, 45, 60, 74, 200])
def test_the_static_table_says_what_each_command_says(limit: int) -> None:
    ctx = click.Context(cli, info_name="strongroom")
    for name, (_, text) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name
        assert short_help(text, limit) == command.get_short_help_str(limit), (
            f"COMMANDS[{name!r}] in strongroom/cli/main.py is stale: make it {command.get_short_help_str(10**6)!r}"
        )


def test_group_help_is_the_same_before_and_after_loading_the_commands() -> None:
    fresh = LazyGroup(name="strongroom", lazy=COMMANDS, callback=cli.callback, params=cli.params, help=cli.help)
    for width in (60, 80, 100, 160):
        ctx = click.Context(fresh, info_name="strongroom", terminal_width=width, max_content_width=width)
        lazily = fresh.get_help(ctx)
        assert fresh.commands == {}  # nothing was imported to write it
        for name in fresh.list_commands(ctx):
            fresh.get_command(ctx, name)
        assert set(fresh.commands) == set(COMMANDS)
        assert fresh.get_help(ctx) == lazily
        fresh.commands.clear()


def test_every_top_level_command_is_in_the_table() -> None:
    """A command defined in a strongroom.cli module and in no group is a top-level command: COMMANDS names it."""
    defined: set[click.Command] = set()
    for info in pkgutil.iter_modules(strongroom.cli.__path__):
        if info.name in {"main", "reference"}:
            continue
        module = importlib.import_module(f"strongroom.cli.{info.name}")
        defined |= {v for v in vars(module).values() if isinstance(v, click.Command)}
    nested = {c for group in defined if isinstance(group, click.Group) for c in group.commands.values()}
    assert {c.name for c in defined - nested} == set(COMMANDS)
