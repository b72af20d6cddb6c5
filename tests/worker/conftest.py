"""The worker tests' shared fixture: real ``strongroom worker`` processes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture
def workers() -> Iterator[Callable[[Path], subprocess.Popen[bytes]]]:
    """Starts ``strongroom worker`` processes; any still running at the end are stopped."""
    started: list[subprocess.Popen[bytes]] = []

    def start(home: Path) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "strongroom.cli.main", "worker", "--home", str(home)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)
