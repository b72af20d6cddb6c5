"""Fixity audit throughput vs sha512sum/sha256sum on the same stored files (see bench/README.md).

Usage: .venv/bin/python bench/bench_fixity.py [--gb 2.0] [--workdir bench/work/fixity]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
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


def one_core_both(paths: list[Path]) -> None:
    for p in paths:
        a, b = hashlib.sha512(), hashlib.sha256()
        with p.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                a.update(chunk)
                b.update(chunk)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=2.0)
    ap.add_argument("--file-mb", type=int, default=128)
    ap.add_argument("--workdir", type=Path, default=Path("bench/work/fixity"))
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    bag = random_bag(args.workdir / "pkg", int(args.gb * 1e9), args.file_mb << 20)
    node = Node.create(args.workdir / "home")
    t_deposit = timed(lambda: node.ingest.deposit(bag))
    au = node.catalog.aus()[0][0]
    root = node.store.object_path(au.object_id)
    files = sorted(p for p in root.rglob("*") if p.is_file() and "/content/" in str(p))
    size = sum(p.stat().st_size for p in files)
    names = [str(p) for p in files]

    def run(cmd: list[str]) -> None:
        subprocess.run(cmd + names, check=True, stdout=subprocess.DEVNULL)

    contenders = {
        "cat (read limit)": lambda: run(["cat"]),
        "sha512sum": lambda: run(["sha512sum"]),
        "sha256sum": lambda: run(["sha256sum"]),
        "hashlib sha512+sha256, one core (hashing limit of one core)": lambda: one_core_both(files),
        "strongroom audit (sha512+sha256)": lambda: node.audits.audit(),
    }
    print(
        f"Content: {len(files)} files, {size / 1e9:.2f} GB stored; deposit took {t_deposit:.1f} s "
        f"({size / t_deposit / 1e6:.0f} MB/s); cores: {os.cpu_count()}"
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
                run(["cat"])  # warm: every contender reads from memory, so only hashing speed differs
            results[name] = timed(fn)
        results["sha512sum + sha256sum (both digests)"] = results["sha512sum"] + results["sha256sum"]
        ours = results["strongroom audit (sha512+sha256)"]
        print(f"\n{'Cold page cache (read from disk)' if cold else 'Warm page cache (hashing only)'}:\n")
        print("| reader | seconds | MB/s | its time ÷ strongroom's |")
        print("| --- | ---: | ---: | ---: |")
        for name, secs in results.items():
            print(f"| {name} | {secs:.2f} | {size / secs / 1e6:.0f} | {secs / ours:.2f} |")
    node.close()
    shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
