"""Full disks, for real: a node whose whole home (catalog, storage root, staging, journal) lives on a small tmpfs
is asked to deposit with less and less room left, so the disk fills while an archive is unpacked, while the version
is written, while the catalog records it. Every time the command ends with exit 12 (or succeeds), names the disk,
prints no traceback, and once room is made the node is whole: storage valid object by object, the catalog in step
with it, the audit clean, the deposit accepted. An export to a full destination leaves nothing behind."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import bagit
import pytest

from strongroom.errors import ExitCode
from strongroom.node import Node
from tests_support import cli, small_tmpfs

PAYLOAD = 2 * 1024 * 1024
DISK = 48 * 1024 * 1024
VALIDATOR = Path(sys.executable).parent / "ocfl-validate.py"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "disk", DISK) as mount:
        yield mount


def zipped_bag(sample_dir: Path, dest: Path) -> Path:
    """A zipped sample bag with a few MB of incompressible data added (the archive is unpacked in staging)."""
    bag_dir = shutil.copytree(sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))[0], dest / "bag")
    with (bag_dir / "data" / "dataset.bin").open("wb") as fh:
        for n in range(PAYLOAD // 64):
            fh.write(hashlib.sha512(n.to_bytes(8, "big")).digest())
    bagit.Bag(str(bag_dir)).save(manifests=True)
    return Path(shutil.make_archive(str(dest / "package"), "zip", bag_dir.parent, "bag"))


def fill_leaving(disk: Path, free: int) -> Path:
    """A filler file that leaves about ``free`` bytes on the disk."""
    filler = disk / "filler"
    filler.unlink(missing_ok=True)
    room = shutil.disk_usage(disk).free - free
    with filler.open("wb") as fh:
        while room > 0:
            chunk = min(room, 1 << 20)
            fh.write(b"\0" * chunk)
            room -= chunk
    return filler


def assert_whole(home: Path) -> None:
    """After a failed write and with room made again: the node opens (recovery runs), storage and catalog agree,
    every item is findable, every object is valid, the audit is clean, no scratch is left."""
    node = Node.open(home)
    try:
        report = node.audits.audit()
        assert report.intact and not any(a.findings for a in report.aus), [a.findings for a in report.aus]
        stored = {oid: node.store.head_version(oid) for oid in node.store.iter_object_ids()}
        assert stored == {au.object_id: au.version for au in node.browse.aus()}
        for item in node.browse.items(limit=1000):
            assert item.id in [i.id for i in node.browse.items(item.doi or item.title)]
    finally:
        node.close()
    proc = subprocess.run([str(VALIDATOR), str(home / "ocfl")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
    for obj in (home / "ocfl").rglob("0=ocfl_object_1.1"):
        proc = subprocess.run([str(VALIDATOR), str(obj.parent)], capture_output=True, text=True)
        assert "is VALID" in proc.stdout, proc.stdout
    leftovers = {p.name for p in (home / "staging").iterdir()} - {"locks"}
    assert not leftovers, f"scratch left behind: {leftovers}"
    assert not list((home / "journal").glob("*.json")), "an intent outlived its write"


# Without the check of free space before the version is written, the disk fills while it is written, and (with
# what little is left after it) while the catalog and the search index record it.
NO_PRECHECK = "import strongroom.services.deposit as d\nd.ensure_free = lambda *a, **k: None"


def deposit(home: Path, package: Path, patch: str) -> subprocess.CompletedProcess[str]:
    script = f"{patch}\nfrom strongroom.cli.main import main\nmain()"
    return subprocess.run(
        [sys.executable, "-c", script, "deposit", str(package), "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("patch", "sizes"),
    [
        ("", [n * PAYLOAD // 2 for n in range(0, 12)]),  # from no room at all to enough for everything
        (NO_PRECHECK, [PAYLOAD * 3 // 2, PAYLOAD * 2, *(PAYLOAD * 2 + n * 64 * 1024 for n in range(1, 12))]),
    ],
    ids=["checked-first", "filled-while-writing"],
)
def test_a_deposit_meeting_a_full_disk_at_any_point_loses_nothing(
    small_disk: Path, sample_dir: Path, tmp_path: Path, patch: str, sizes: list[int]
) -> None:
    package = zipped_bag(sample_dir, tmp_path)
    outcomes: dict[int, int] = {}
    for free in sizes:
        home = small_disk / "home"
        sr = cli(home)
        assert sr("init").returncode == 0
        filler = fill_leaving(small_disk, free)
        proc = deposit(home, package, patch)
        outcomes[free] = proc.returncode
        assert proc.returncode in (0, ExitCode.NO_SPACE), proc.stderr
        assert "Traceback" not in proc.stderr
        if proc.returncode == ExitCode.NO_SPACE:
            assert re.search(r"is full|free at|no room left", proc.stderr), proc.stderr
            assert "hint: free space" in proc.stderr
        filler.unlink()
        assert_whole(home)
        again = sr("deposit", str(package), "--json")  # with room, the deposit goes in (or is already there)
        assert again.returncode == 0, again.stderr
        if proc.returncode == 0:
            break
        shutil.rmtree(home)
    assert ExitCode.NO_SPACE in outcomes.values() and 0 in outcomes.values(), outcomes


@pytest.mark.slow
def test_an_export_to_a_full_disk_leaves_nothing(small_disk: Path, sample_dir: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    sr = cli(home)
    assert sr("init").returncode == 0
    deposited = sr("deposit", str(zipped_bag(sample_dir, tmp_path)), "--json")
    au = json.loads(deposited.stdout)["au"]
    for free in (0, PAYLOAD // 2, PAYLOAD + 1024 * 1024):
        filler = fill_leaving(small_disk, free)
        proc = sr("export", au, str(small_disk / "out"))
        assert proc.returncode == ExitCode.NO_SPACE, proc.stdout + proc.stderr
        assert "export destination" in proc.stderr and "Traceback" not in proc.stderr
        assert [p.name for p in small_disk.iterdir()] == ["filler"]  # no partial export left
        filler.unlink()
    assert sr("export", au, str(small_disk / "out")).returncode == 0
