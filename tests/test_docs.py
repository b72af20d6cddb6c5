"""Docs that cannot drift: the CLI reference, settings and finding codes are checked against the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click

from strongroom.cli.main import cli
from strongroom.cli.reference import render_reference
from strongroom.domain.findings import FINDING_CODES
from strongroom.settings import SETTINGS_DOC

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "strongroom"


def test_cli_reference_matches_help() -> None:
    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == render_reference(), "docs/cli.md is stale: run `python -m strongroom.cli.reference > docs/cli.md`"


def test_cli_reference_usage_lines_name_the_program_once() -> None:
    """Each command's usage reads as a user types it: `strongroom aus ...`, never `strongroom strongroom aus ...`."""
    usages = re.findall(r"^Usage: (.*)$", render_reference(), re.MULTILINE)
    assert usages and usages[0].startswith("strongroom [OPTIONS]")
    assert sorted(u.split()[1] for u in usages[1:]) == sorted(cli.list_commands(click.Context(cli)))
    assert all(u.startswith("strongroom ") and u.split()[1] != "strongroom" for u in usages)


def test_the_harvest_guide_quotes_the_benchmark() -> None:
    """docs/harvest.md's speed against wget is the one docs/benchmarks.md measured, not an older one."""
    bench = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    guide = (ROOT / "docs" / "harvest.md").read_text(encoding="utf-8")
    rows = {
        m[0].split()[0]: m
        for m in re.findall(
            r"^\| (Strongroom|wget --mirror --warc-file --warc-cdx)[^|]*"
            r"\| (\d+) \| ([\d.]+) \| (\d+) \| [\d.]+ \| ([\d.]+) \|",
            bench,
            re.MULTILINE,
        )
    }
    strongroom, wget = rows["Strongroom"], rows["wget"]
    ratio = float(strongroom[4])
    said = " ".join(guide.split())  # as read, whatever the line breaks
    assert f"{strongroom[2]} s" in said and f"({wget[2]} s)" in said
    if ratio >= 1:
        assert f"{ratio:.1f} times as fast as `wget" in said and "longer than wget" not in said
    else:
        assert "slower than wget" in said or "longer than wget" in said


def test_every_finding_code_is_documented() -> None:
    doc = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([PA]\d{3})` \|", doc, re.MULTILINE))
    assert documented == set(FINDING_CODES)


def test_every_setting_is_documented() -> None:
    doc = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z0-9_]+)` \|", doc, re.MULTILINE))
    assert documented == set(SETTINGS_DOC)


def test_every_finding_code_used_in_the_code_is_registered() -> None:
    used: set[str] = set()
    for path in SRC.rglob("*.py"):
        if path.name == "findings.py":
            continue
        used |= set(re.findall(r'"([PA]\d{3})"', path.read_text(encoding="utf-8")))
    assert used, "no finding codes found in the source: the scan itself is broken"
    assert used <= set(FINDING_CODES), f"unregistered codes: {sorted(used - set(FINDING_CODES))}"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_is_pure() -> None:
    """domain/ imports only the standard library, pure identifier libraries and the error tree."""
    allowed_third_party = {"pycountry", "stdnum"}
    io_modules = {"os", "io", "pathlib", "shutil", "socket", "subprocess", "sqlite3", "tempfile", "open"}
    for path in (SRC / "domain").glob("*.py"):
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "strongroom":
                assert name.startswith(("strongroom.domain", "strongroom.errors")), f"{path.name} imports {name}"
            else:
                assert top not in io_modules, f"{path.name} imports the I/O module {name}"
                assert top in allowed_third_party or top in _stdlib(), f"{path.name} imports {name}"


def _stdlib() -> set[str]:
    import sys

    return set(sys.stdlib_module_names) | {"__future__"}
