"""Nothing is lost: a deposit killed at any moment leaves a node that, once reopened, is consistent
(valid OCFL, catalog in step with storage, audit clean) and accepts the deposit again."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from strongroom.node import Node

KILL = "import os; os._exit(137)"


def run_crashing(home: Path, package: Path, patch: str) -> int:
    """Deposit in a child process in which ``patch`` (Python) makes it die abruptly at one point."""
    script = "\n".join(
        [
            "from pathlib import Path",
            "from strongroom.node import Node",
            patch,
            f"node = Node.open(Path({str(home)!r}))",
            f"node.ingest.deposit(Path({str(package)!r}))",
        ]
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert proc.returncode == 137, f"the child did not die where planned:\n{proc.stderr}"
    return proc.returncode


def assert_consistent(home: Path) -> Node:
    node = Node.open(home)  # recovery runs here
    validator = Path(sys.executable).parent / "ocfl-validate.py"
    proc = subprocess.run(
        [str(validator), str(node.settings.resolved_storage_root())], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    store_heads = {oid: node.store.head_version(oid) for oid in node.store.iter_object_ids()}
    catalog_heads = {au.object_id: au.head_version for au, *_ in node.catalog.aus()}
    assert store_heads == catalog_heads
    assert node.audits.audit().intact
    # Only the lock files remain in scratch space: no half-extracted package, no half-built version.
    assert {p.name for p in node.settings.resolved_staging().iterdir()} <= {"locks"}
    return node


@pytest.fixture
def home(tmp_path: Path, db_url: str) -> Path:
    Node.create(tmp_path / "home", database_url=db_url).close()
    return tmp_path / "home"


def _pkg(sample_dir: Path) -> Path:
    return sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))[0]


def test_crash_between_store_commit_and_catalog_is_healed(home: Path, sample_dir: Path) -> None:
    patch = f"import strongroom.services.indexer as i\ni.Indexer.index = lambda *a, **k: exec({KILL!r})"
    assert run_crashing(home, _pkg(sample_dir), patch) == 137
    node = assert_consistent(home)
    [(au, items, _, _)] = node.catalog.aus()
    assert au.head_version == 1 and items > 0
    assert "recovery" in [e.type for e in node.catalog.events(object_key=au.key)]
    assert node.ingest.deposit(_pkg(sample_dir)).unchanged
    node.close()


def test_crash_while_reading_the_package_leaves_nothing(home: Path, sample_dir: Path) -> None:
    patch = f"import strongroom.ingest.package as p\np.check_format = lambda *a, **k: exec({KILL!r})"
    assert run_crashing(home, _pkg(sample_dir), patch) == 137
    node = assert_consistent(home)
    assert node.catalog.aus() == []
    assert node.ingest.deposit(_pkg(sample_dir)).version == 1
    node.close()


def _start_deposit(home: Path, package: Path) -> subprocess.Popen[str]:
    """A child that opens the node, says "go" on stdout, then deposits; returns once it has said "go"."""
    script = "\n".join(
        [
            "from pathlib import Path",
            "from strongroom.node import Node",
            f"node = Node.open(Path({str(home)!r}))",
            "print('go', flush=True)",
            f"node.ingest.deposit(Path({str(package)!r}))",
        ]
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "go"
    return proc


def test_kill_at_random_moments(home: Path, sample_dir: Path, tmp_path: Path) -> None:
    """SIGKILL real deposits at random moments within their run; every time the node must come back consistent."""
    rng = random.Random(20261124)
    packages = sorted(p for p in sample_dir.iterdir() if not p.name.startswith("."))[:4]
    # How long one deposit takes here, so the kills land inside deposits rather than before or after them.
    probe_home = tmp_path / "probe"
    Node.create(probe_home).close()
    proc = _start_deposit(probe_home, packages[0])
    started = time.monotonic()
    assert proc.wait() == 0
    duration = time.monotonic() - started
    for attempt in range(8):
        pkg = packages[attempt % len(packages)]
        proc = _start_deposit(home, pkg)
        time.sleep(rng.uniform(0, duration))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert_consistent(home).close()
    node = Node.open(home)
    for pkg in packages:
        node.ingest.deposit(pkg)  # everything goes in after the crashes
    assert len(node.catalog.aus()) == len(packages)
    node.close()
