"""Nothing is lost: a deposit killed at any moment leaves a node that, once reopened, is consistent
(valid OCFL, catalog in step with storage, audit clean) and accepts the deposit again."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from strongroom.node import Node

KILL = "import os; os._exit(137)"


def run_crashing(home: Path, package: Path, patch: str) -> int:
    """Deposit in a child process in which ``patch`` (Python) makes it die abruptly at one point."""
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from strongroom.node import Node
        {patch}
        node = Node.open(Path({str(home)!r}))
        node.deposit(Path({str(package)!r}))
        """
    )
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False).returncode


def assert_consistent(home: Path) -> Node:
    node = Node.open(home)  # recovery runs here
    validator = Path(sys.executable).parent / "ocfl-validate.py"
    proc = subprocess.run([str(validator), str(node.settings.resolved_storage_root())], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    store_heads = {oid: node.store.head_version(oid) for oid in node.store.iter_object_ids()}
    catalog_heads = {au.object_id: au.head_version for au, *_ in node.aus()}
    assert store_heads == catalog_heads
    assert node.audit().intact
    assert list(node.settings.resolved_staging().iterdir()) == [] or all(
        p.name.startswith(".") for p in node.settings.resolved_staging().iterdir()
    )
    return node


@pytest.fixture
def home(tmp_path: Path, db_url: str) -> Path:
    Node.create(tmp_path / "home", database_url=db_url).close()
    return tmp_path / "home"


def _pkg(sample_dir: Path) -> Path:
    return sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))[0]


def test_crash_between_store_commit_and_catalog_is_healed(home: Path, sample_dir: Path) -> None:
    patch = f"import strongroom.services.deposit as d\nd.index_object = lambda *a, **k: exec({KILL!r})"
    assert run_crashing(home, _pkg(sample_dir), patch) == 137
    node = assert_consistent(home)
    [(au, items, _, _)] = node.aus()
    assert au.head_version == 1 and items > 0
    assert [e.type for e in node.events(object_key=au.key)][:1] == ["recovery"]
    assert node.deposit(_pkg(sample_dir)).unchanged
    node.close()


def test_crash_while_reading_the_package_leaves_nothing(home: Path, sample_dir: Path) -> None:
    patch = f"import strongroom.ingest.package as p\np.check_format = lambda *a, **k: exec({KILL!r})"
    assert run_crashing(home, _pkg(sample_dir), patch) == 137
    node = assert_consistent(home)
    assert node.aus() == []
    assert node.deposit(_pkg(sample_dir)).version == 1
    node.close()


def test_kill_at_random_moments(home: Path, sample_dir: Path, tmp_path: Path) -> None:
    """SIGKILL a real `strongroom deposit` at random moments; every time the node must come back consistent."""
    rng = random.Random(20261124)
    packages = sorted(p for p in sample_dir.iterdir() if not p.name.startswith("."))[:4]
    exe = Path(sys.executable).parent / "strongroom"
    for attempt in range(6):
        pkg = packages[attempt % len(packages)]
        proc = subprocess.Popen([str(exe), "deposit", str(pkg), "--home", str(home)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert_consistent(home).close()
    node = Node.open(home)
    for pkg in packages:
        node.deposit(pkg)  # everything goes in after the crashes
    assert len(node.aus()) == len(packages)
    node.close()
