"""The peer network's costs on one machine (see bench/README.md):

- the wall time of a poll on an AU of at least 1 GB, against hashing that AU once;
- the bytes a poll moves, against the AU's size;
- the time to rebuild a wiped node from peers, against copying the same bytes over loopback HTTP.

Usage: .venv/bin/python bench/bench_network.py [--gb 1.0] [--workdir bench/work/network]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from common import random_bag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.keys import load_private_key, public_key_text
from strongroom.network.client import PeerClient
from strongroom.network.config import Member, NetworkConfig, NetworkPolicy, sign_config
from strongroom.node import Node
from strongroom.store.hashing import hash_file

EXE = str(Path(sys.executable).parent / "strongroom")


def port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(check: object, timeout: float = 600) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():  # type: ignore[operator]
            return time.monotonic() - start
        time.sleep(0.1)
    raise SystemExit("timed out")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--workdir", type=Path, default=Path("bench/work/network"))
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    admin = Ed25519PrivateKey.generate()
    homes = [args.workdir / f"node{i}" for i in range(4)]
    ids, ports = [], [port() for _ in homes]
    for home in homes:
        node = Node.create(home)
        ids.append(node.settings.node_id)
        node.close()
    members = tuple(
        Member(
            ids[i],
            f"http://127.0.0.1:{ports[i]}",
            public_key_text(load_private_key(h / "keys").public_key()),
            f"Library {i}",
            ["GH", "KE", "SN", "BR"][i],
        )
        for i, h in enumerate(homes)
    )
    policy = NetworkPolicy(target_copies=4, min_countries=2, quorum=3, vote_margin=0.75, invitations=3)
    doc = sign_config(NetworkConfig("bench", 1, members, policy), admin)
    procs = []
    for i, home in enumerate(homes):
        node = Node.open(home)
        node.membership.join(doc, public_key_text(admin.public_key()))
        node.close()
        log = (home / "serve.log").open("ab")
        procs.append(
            subprocess.Popen(
                [
                    EXE,
                    "serve",
                    "--home",
                    str(home),
                    "--port",
                    str(ports[i]),
                    "--replicate-every",
                    "0.5",
                    "--poll-every",
                    "1000000",
                ],
                stdout=log,
                stderr=log,
            )
        )
    try:
        for p in ports:
            wait(lambda p=p: _up(p), 30)
        bag = random_bag(args.workdir / "bag", int(args.gb * 1e9), 128 << 20, seed=11)
        origin = Node.open(homes[0])
        result = origin.ingest.deposit(bag)
        object_id = result.object_id
        content = sorted(
            p for p in origin.store.object_path(object_id).rglob("*") if p.is_file() and "/content/" in p.as_posix()
        )
        size = sum(p.stat().st_size for p in content)
        t_replicate = wait(lambda: all(Node.open(h, recover=False).store.exists(object_id) for h in homes[1:]))

        start = time.perf_counter()
        for p in content:
            hash_file(p, ("sha256",))
        t_hash = time.perf_counter() - start
        client = PeerClient(origin.settings.node_id, origin.membership.private_key())
        start = time.perf_counter()
        outcome = origin.polls.poll(client, object_id)
        t_poll = time.perf_counter() - start
        poll_bytes = client.bytes_sent + client.bytes_received
        client.close()
        assert outcome.outcome == "agree", outcome

        # Rebuild: wipe node 3's copy and time until replication has it back, verified.
        wiped = Node.open(homes[3], recover=False)
        shutil.rmtree(wiped.store.object_path(object_id))
        t_rebuild = wait(lambda: wiped.store.exists(object_id))
        served = args.workdir / "served"
        shutil.copytree(origin.store.object_path(object_id), served)
        http_port = port()
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(http_port), "--bind", "127.0.0.1", "--directory", str(served)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait(lambda: _up(http_port, "/"), 30)
        start = time.perf_counter()
        with httpx.Client() as http:
            for p in content:
                rel = p.relative_to(origin.store.object_path(object_id)).as_posix()
                with http.stream("GET", f"http://127.0.0.1:{http_port}/{rel}") as r:
                    for _ in r.iter_bytes(1 << 20):
                        pass
        t_copy = time.perf_counter() - start
        server.terminate()
        origin.close()
        print(json.dumps({"au_bytes": size}, indent=None))
        print(f"AU: {size / 1e9:.2f} GB in {len(content)} files; 4 nodes on one 2-core machine; quorum 3\n")
        print("| measure | value | against | ratio |")
        print("| --- | ---: | --- | ---: |")
        print(
            f"| poll wall time (3 voters, 16 MiB blocks) | {t_poll:.1f} s | hashing the AU once: {t_hash:.1f} s "
            f"| {t_poll / t_hash:.2f} |"
        )
        print(f"| bytes moved by the poll | {poll_bytes:,} B | the AU's size | {poll_bytes / size:.2e} |")
        print(
            f"| rebuild of a wiped node from peers (fetch, verify, install) | {t_rebuild:.1f} s | plain HTTP copy "
            f"over loopback: {t_copy:.1f} s | {t_rebuild / t_copy:.2f} |"
        )
        print(f"| first replication to 3 nodes at once | {t_replicate:.1f} s | | |")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        shutil.rmtree(args.workdir, ignore_errors=True)


def _up(p: int, path: str = "/health") -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{p}{path}", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
