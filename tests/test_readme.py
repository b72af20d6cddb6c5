"""The README's first screen gives two commands; this runs the demo one exactly as written and checks the
test one is what CI runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def first_screen_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", readme, re.DOTALL)
    assert block, "the README's first screen has no command block"
    assert readme.index(block.group(0)) < 1500, "the commands must be on the first screen"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_names_a_demo_and_a_test_command() -> None:
    commands = first_screen_commands()
    assert commands == ["./scripts/demo", "./scripts/test"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "./scripts/test" in ci


@pytest.mark.slow
def test_readme_demo_command_runs(tmp_path: Path) -> None:
    demo_home = ROOT / "strongroom-demo"
    proc = subprocess.run(
        ["./scripts/demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "120"},
        timeout=600,
    )
    try:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "audit caught it" in proc.stdout
        assert "detected" in proc.stdout
        assert (demo_home / "ocfl" / "0=ocfl_1.1").exists()
    finally:
        shutil.rmtree(demo_home, ignore_errors=True)
