"""``strongroom poll`` finds its AU's object the way ``au status`` does (one Core look-up), and so words an unknown
AU the way ``au status`` does: one message, one exit code, for the same mistake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXE = str(Path(sys.executable).parent / "strongroom")


def sr(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([EXE, *args, "--home", str(home)], capture_output=True, text=True, check=False, env=env)


def test_poll_and_au_status_word_an_unknown_au_alike(tmp_path: Path, db_url: str) -> None:
    home = tmp_path / "home"
    assert sr(home, "init", "--database-url", db_url).returncode == 0
    unknown = "issn:0000-0000/1999"
    poll, status = sr(home, "poll", unknown), sr(home, "au", "status", unknown)
    assert poll.returncode == status.returncode == 4, (poll.stderr, status.stderr)
    assert poll.stderr == status.stderr
    assert f"no archival unit {unknown}" in poll.stderr and "strongroom aus" in poll.stderr
