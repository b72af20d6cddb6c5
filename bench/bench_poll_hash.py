"""The poller's own hashing in a poll (see bench/README.md): its copy of an AU hashed with every voter's bound
nonces in one read (``copy_hashes``), against one plain sha256 pass over the same bytes (the limit: one read, one
hash) and against reading the AU once per voter (what a poller that asked its voters one after another and
hashed after each would do).

Usage: .venv/bin/python bench/bench_poll_hash.py [--gb 1.0] [--voters 1 3 4] [--workdir bench/work/poll-hash]
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
import shutil
import time
from pathlib import Path

from common import random_bag

from strongroom.domain.poll import VoteBinding
from strongroom.node import Node
from strongroom.services.votes import copy_hashes

BLOCK = 16 * 1024 * 1024


def seconds(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--voters", type=int, nargs="+", default=[1, 3, 4])
    ap.add_argument("--workdir", type=Path, default=Path("bench/work/poll-hash"))
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    bag = random_bag(args.workdir / "bag", int(args.gb * 1e9), 128 * 1024 * 1024)
    node = Node.create(args.workdir / "node")
    object_id = node.ingest.deposit(bag).object_id
    size = node.store.stored_bytes(object_id)
    version = node.store.head_version(object_id)

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

    plain()  # warm the page cache: every contender then reads from memory, so the table compares hashing
    base = seconds(plain)
    rows = [("one sha256 pass (one read, one hash: the limit)", base)]
    for n in args.voters:
        p = prefixes(n)
        one_read = seconds(lambda p=p: copy_hashes(node.store, object_id, version, p, BLOCK))
        rows.append((f"copy_hashes, {n} voter(s), one read", one_read))
        if n > 1:
            each = seconds(
                lambda p=p: [copy_hashes(node.store, object_id, version, {v: x}, BLOCK) for v, x in p.items()]
            )
            rows.append((f"{n} voter(s), one read per voter", each))
    node.close()
    print(f"AU of {size:,} bytes, 16 MiB blocks, warm page cache\n")
    print("| poller hashing | seconds | MB/s | ÷ one sha256 pass |")
    print("| --- | ---: | ---: | ---: |")
    for name, t in rows:
        print(f"| {name} | {t:.2f} | {size / t / 1e6:.0f} | {t / base:.2f} |")


if __name__ == "__main__":
    main()
