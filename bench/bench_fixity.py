"""Fixity audit throughput (see bench/README.md): `strongroom audit` (the inventory's sha512 on every audit, and
`--all-digests`, sha512 and sha256) against `bagit.py --validate` of the same bag with one and with as many
processes as cores, `sha512sum` of the same stored files, `cat` of them (the read limit) and one core of hashlib
sha512 (the hashing limit of one core); warm page cache, then cold where the machine lets the cache be dropped.

With ``--algorithm sha256`` the node's storage root is written with sha256 inventories (the
``storage.digest_algorithm`` setting), so its audit hashes the algorithm of the bag's manifest, as bagit.py does.

Usage: .venv/bin/python bench/bench_fixity.py [--gb 1.0] [--file-mb 128] [--algorithm sha512]
       [--workdir bench/work/fixity]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import random_bag

from strongroom.node import Node


def drop_caches() -> bool:
    """Empty the page cache (needs root); False where the machine does not allow it."""
    subprocess.run(["sync"], check=True)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def one_core_sha512(paths: list[Path]) -> None:
    for p in paths:
        digest = hashlib.sha512()
        with p.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--file-mb", type=int, default=128)
    ap.add_argument("--algorithm", choices=("sha512", "sha256"), default="sha512", help="the inventories' digest")
    ap.add_argument("--workdir", type=Path, default=Path("bench/work/fixity"))
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    bag = random_bag(args.workdir / "pkg", int(args.gb * 1e9), args.file_mb << 20)
    node = Node.create(args.workdir / "home", digest_algorithm=args.algorithm)
    inventory, second = args.algorithm, "sha256" if args.algorithm == "sha512" else "sha512"
    t_deposit = timed(lambda: node.ingest.deposit(bag))
    au = node.catalog.aus()[0][0]
    root = node.store.object_path(au.object_id)
    files = sorted(p for p in root.rglob("*") if p.is_file() and "/content/" in str(p))
    size = sum(p.stat().st_size for p in files)
    names = [str(p) for p in files]
    cores = os.cpu_count() or 1

    def run(cmd: list[str], *more: str) -> None:
        subprocess.run(cmd + list(more), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def bagit_validate(processes: int) -> None:
        run([sys.executable, "-m", "bagit", "--validate", "--processes", str(processes), str(bag)])

    def audit(all_digests: bool) -> None:
        report = node.audits.audit(all_digests=all_digests)
        assert report.intact and report.aus[0].digests == ((inventory, second) if all_digests else (inventory,))

    ours_name = f"strongroom audit ({inventory}: the inventory's digest)"
    contenders = {
        "cat (read limit)": lambda: run(["cat"], *names),
        ours_name: lambda: audit(False),
        f"strongroom audit --all-digests ({inventory} + {second})": lambda: audit(True),
        "bagit.py --validate --processes 1 (sha256)": lambda: bagit_validate(1),
        f"bagit.py --validate --processes {cores} (sha256)": lambda: bagit_validate(cores),
        "sha512sum": lambda: run(["sha512sum"], *names),
        "hashlib sha512, one core (hashing limit of one core)": lambda: one_core_sha512(files),
    }
    print(
        f"Content: {len(files)} files, {size / 1e9:.2f} GB stored (the bag holds the same files); deposit took "
        f"{t_deposit:.1f} s ({size / t_deposit / 1e6:.0f} MB/s); cores: {cores}; load average before: "
        f"{os.getloadavg()[0]:.2f}"
    )
    for cold in (False, True):
        if cold and not drop_caches():
            print("\n(cannot drop the page cache here: cold-cache figures skipped)")
            continue
        results = {}
        for name, fn in contenders.items():
            if cold:
                drop_caches()
            else:
                run(["cat"], *names, *(str(p) for p in sorted(bag.rglob("*")) if p.is_file()))  # all in memory
            results[name] = timed(fn)
        ours = results[ours_name]
        print(f"\n{'Cold page cache (read from disk)' if cold else 'Warm page cache (hashing only)'}:\n")
        print("| reader | seconds | MB/s | its time ÷ strongroom audit's |")
        print("| --- | ---: | ---: | ---: |")
        for name, secs in results.items():
            print(f"| {name} | {secs:.2f} | {size / secs / 1e6:.0f} | {secs / ours:.2f} |")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    node.close()
    shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
