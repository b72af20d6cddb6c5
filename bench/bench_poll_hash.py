"""The poller's own hashing in a poll (see bench/README.md): its copy of an AU hashed with every voter's bound
nonces in one read (``copy_hashes``), on one thread and on one thread per core, against one plain sha256 pass over
the same bytes (the limit: one read, one hash), against the peer tools ``sha256sum`` and ``openssl dgst -sha256`` on
the same files, and against the issue's goal: 2 x voters x one pass / cores. Warm page cache; medians of
``--rounds`` rounds, every contender once a round.

Usage: .venv/bin/python bench/bench_poll_hash.py [--gb 1.0] [--voters 1 3 4] [--rounds 5] [--workdir ...]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from common import random_bag

from strongroom.domain.poll import VoteBinding
from strongroom.node import Node
from strongroom.services.votes import copy_hashes, hashing_workers

BLOCK = 16 * 1024 * 1024


def seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--voters", type=int, nargs="+", default=[1, 3, 4])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workdir", type=Path, default=Path("bench/work/poll-hash"))
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    bag = random_bag(args.workdir / "bag", int(args.gb * 1e9), 128 * 1024 * 1024)
    node = Node.create(args.workdir / "node")
    object_id = node.ingest.deposit(bag).object_id
    size = node.store.stored_bytes(object_id)
    version = node.store.head_version(object_id)
    files = sorted(str(p) for p in node.store.object_path(object_id).rglob("*") if "/content/" in p.as_posix())
    files = [f for f in files if Path(f).is_file()]
    cores = hashing_workers()

    def plain() -> None:
        for logical in sorted(node.store.state(object_id, version)):
            h = hashlib.sha256()
            with node.store.open_file(object_id, logical, version) as fh:
                while block := fh.read(BLOCK):
                    h.update(block)

    def prefixes(n: int) -> dict[str, bytes]:
        poller_nonce = secrets.token_bytes(16)
        return {
            f"voter-{i}": VoteBinding("bench", "poller", f"voter-{i}", object_id, version).prefix(
                poller_nonce, secrets.token_bytes(16)
            )
            for i in range(n)
        }

    def tool(*cmd: str) -> Callable[[], object]:
        return lambda: subprocess.run([*cmd, *files], check=True, stdout=subprocess.DEVNULL)

    contenders: list[tuple[str, int, Callable[[], object]]] = [
        ("one sha256 pass, hashlib (one read, one hash: the limit)", 0, plain),
        ("sha256sum (peer tool), one pass", 0, tool("sha256sum")),
        ("openssl dgst -sha256 (peer tool), one pass", 0, tool("openssl", "dgst", "-sha256")),
    ]
    for n in args.voters:
        p = prefixes(n)
        contenders.append(
            (
                f"copy_hashes, {n} voter(s), one read, 1 thread",
                n,
                lambda p=p: copy_hashes(node.store, object_id, version, p, BLOCK, workers=1),
            )
        )
        contenders.append(
            (
                f"copy_hashes, {n} voter(s), one read, {cores} threads",
                n,
                lambda p=p: copy_hashes(node.store, object_id, version, p, BLOCK),
            )
        )
    plain()  # warm the page cache: every contender then reads from memory, so the table compares hashing
    times: dict[str, list[float]] = {name: [] for name, _, _ in contenders}
    for _ in range(args.rounds):
        for name, _, fn in contenders:
            times[name].append(seconds(fn))
    node.close()
    med = {name: statistics.median(ts) for name, ts in times.items()}
    base = med[contenders[0][0]]
    print(
        f"AU of {size:,} bytes in {len(files)} files, 16 MiB blocks, warm page cache, {cores} cores; "
        f"medians of {args.rounds} rounds; load average {os.getloadavg()[0]:.2f} at the end\n"
    )
    print("| poller hashing | seconds (median) | range | MB/s | ÷ one sha256 pass | goal 2·n·pass/cores | ÷ goal |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for name, n, _ in contenders:
        t = med[name]
        lo, hi = min(times[name]), max(times[name])
        goal = 2 * n * base / cores if n else None
        g = f"{goal:.2f} s | {t / goal:.2f}" if goal else " | "
        print(f"| {name} | {t:.2f} | {lo:.2f}–{hi:.2f} | {size / t / 1e6:.0f} | {t / base:.2f} | {g} |")
    shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
