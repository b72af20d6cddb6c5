"""One exit code per meaning: every error class says which, each code is documented once, and the command line
ends with the right one for each kind of failure (run as a user runs it, in a subprocess)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import strongroom
from strongroom.errors import EXIT_MEANINGS, ExitCode, StrongroomError
from tests_support import cli

ROOT = Path(__file__).resolve().parents[2]


def _all_error_classes() -> set[type[StrongroomError]]:
    for module in pkgutil.walk_packages(strongroom.__path__, "strongroom."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    found: set[type[StrongroomError]] = set()
    todo: list[type[StrongroomError]] = [StrongroomError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo += cls.__subclasses__()
    return found


def test_every_error_class_has_a_documented_code() -> None:
    classes = _all_error_classes()
    assert len(classes) > 15, "the walk missed the error classes"
    for cls in classes:
        assert isinstance(cls.exit_code, ExitCode), f"{cls.__module__}.{cls.__name__} exits with a bare number"
    assert set(EXIT_MEANINGS) == set(ExitCode)
    assert len(set(EXIT_MEANINGS.values())) == len(EXIT_MEANINGS)  # no two codes share a meaning
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for code, meaning in EXIT_MEANINGS.items():
        assert f"| {int(code)} | {meaning} |" in doc


def test_the_codes_that_collided_are_apart() -> None:
    """The issue found a paused crawl exiting as an unusable export destination, an OAI-PMH feed's failure as
    storage damage, and a missing permission statement as 'not found'."""
    from strongroom.harvest.crawl import CrawlPaused, PermissionMissing
    from strongroom.harvest.oai import OaiHarvestError

    codes = {
        CrawlPaused: ExitCode.PAUSED,
        OaiHarvestError: ExitCode.REMOTE,
        PermissionMissing: ExitCode.NOT_PERMITTED,
    }
    for cls, code in codes.items():
        assert cls.exit_code == code


def _run_patched(home: Path, patch: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``strongroom ARGS --home HOME`` with ``patch`` (Python) applied first: how a test makes a use case fail."""
    script = "\n".join([patch, "from strongroom.cli.main import main", "main()"])
    return subprocess.run(
        [sys.executable, "-c", script, *args, "--home", str(home)], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    sr = cli(tmp_path / "home")
    assert sr("init").returncode == 0
    return tmp_path / "home"


def test_each_kind_of_failure_exits_with_its_code(home: Path, tmp_path: Path) -> None:
    sr = cli(home)
    assert sr("no-such-command").returncode == ExitCode.USAGE
    assert sr("audit", "issn:0000-0000/2000").returncode == ExitCode.NOT_FOUND
    assert cli(tmp_path / "nowhere")("aus").returncode == ExitCode.CONFIG
    (tmp_path / "empty").mkdir()
    assert sr("deposit", str(tmp_path / "empty")).returncode == ExitCode.REFUSED
    busy = _run_patched(
        home,
        "from strongroom.errors import ObjectBusy\nimport strongroom.services.browse as b\n"
        "b.Browse.au_page = lambda *a, **k: (_ for _ in ()).throw(ObjectBusy('held by another writer'))",
        "aus",
    )
    assert busy.returncode == ExitCode.BUSY and "held by another writer" in busy.stderr


def test_an_unexpected_error_is_a_message_not_a_traceback(home: Path) -> None:
    broken = _run_patched(
        home,
        "import strongroom.services.browse as b\nb.Browse.au_page = lambda *a, **k: 1 / 0",
        "aus",
    )
    assert broken.returncode == ExitCode.INTERNAL
    assert "unexpected ZeroDivisionError" in broken.stderr and "STRONGROOM_DEBUG=1" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_ctrl_c_is_130(home: Path) -> None:
    stopped = _run_patched(
        home,
        "import strongroom.services.browse as b\n"
        "def interrupted(*a, **k):\n    raise KeyboardInterrupt\nb.Browse.au_page = interrupted",
        "aus",
    )
    assert stopped.returncode == ExitCode.INTERRUPTED and "interrupted" in stopped.stderr
    assert "Aborted" not in stopped.stderr and "Traceback" not in stopped.stderr
