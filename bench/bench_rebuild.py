"""Rebuilding a wiped node's copy of an AU from a peer, over loopback HTTP (see bench/README.md), against a plain
copy of the same bytes over the same link.

Two nodes: the origin holds the AU and runs ``strongroom serve``; the rebuilt node, in this process, has its copy
wiped and runs one replication round (list, fetch every file, hash while receiving, fsync, install, catalogue),
timed until the version is installed and catalogued. Against, in the same rounds and on the same files:

- ``curl`` fetching the files from a plain static server (``python -m http.server``) to ``/dev/null``: the link;
- ``curl`` fetching them to files, then an fsync of each: a plain, durable copy over the same link (the goal's
  reference: a rebuild within 2 times of it);
- ``cp`` of the files then an fsync of each: the local disk copy, no link at all;
- Strongroom's peer client fetching the same content files from the origin and discarding them: the link as the
  peer protocol (signed requests and responses) sees it;
- sha512 and sha256 of the same bytes on one core: the hashing a rebuild must add to a copy (it checks both the
  inventory's digest and its fixity digest of every file as it arrives);
- the rebuild with both digests computed on the receiving thread, as before this change.

The wipe (and the removal of the previous copy) is not timed; ``sync`` runs before each contender. Processor
seconds count this process, its children (curl, cp) and both servers, so they include the serving side.

Every contender runs once a round, ``--rounds`` rounds; the table shows medians.

Usage: .venv/bin/python bench/bench_rebuild.py [--size 0.5] [--rounds 3] [--workdir bench/work/rebuild]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from common import random_bag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import strongroom.store.ocfl as ocfl
from strongroom.keys import load_private_key, public_key_text
from strongroom.network.client import PeerClient
from strongroom.network.config import Member, NetworkConfig, NetworkPolicy, sign_config
from strongroom.node import Node
from strongroom.store.hashing import hash_file, write_chunks

EXE = str(Path(sys.executable).parent / "strongroom")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, timeout: float = 60) -> None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def fsync_all(paths: list[Path]) -> None:
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def cpu_seconds(*pids: int) -> float:
    """Processor time (user + system) used so far by this process, its finished children and the given processes:
    on a shared, loaded machine it says what a contender costs when wall time cannot."""
    own = os.times()
    total = own.user + own.system + own.children_user + own.children_system
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=float, default=0.5, help="GB of content in the AU")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=Path("bench/work/rebuild"))
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    admin = Ed25519PrivateKey.generate()
    homes = [args.workdir / "origin", args.workdir / "rebuilt"]
    ports = [free_port(), free_port()]
    ids = []
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
            ["GH", "KE"][i],
        )
        for i, h in enumerate(homes)
    )
    policy = NetworkPolicy(target_copies=2, min_countries=2, quorum=1, vote_margin=0.75, invitations=1)
    doc = sign_config(NetworkConfig("bench", 1, members, policy), admin)
    for home in homes:
        node = Node.open(home)
        node.membership.join(doc, public_key_text(admin.public_key()))
        node.close()
    bag = random_bag(args.workdir / "bag", int(args.size * 1e9), 128 << 20, seed=13)
    origin = Node.open(homes[0])
    object_id = origin.ingest.deposit(bag).object_id
    shutil.rmtree(bag)
    obj_dir = origin.store.object_path(object_id)
    files = sorted(p for p in obj_dir.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in files)
    origin.close()
    log = (homes[0] / "serve.log").open("ab")
    serve = subprocess.Popen(
        [
            EXE,
            "serve",
            "--home",
            str(homes[0]),
            "--port",
            str(ports[0]),
            "--replicate-every",
            "1000000",
            "--poll-every",
            "1000000",
        ],
        stdout=log,
        stderr=log,
    )
    static_port = free_port()
    static = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(static_port), "--bind", "127.0.0.1", "--directory", str(obj_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_up(f"http://127.0.0.1:{ports[0]}/health")
        wait_up(f"http://127.0.0.1:{static_port}/")
        rebuilt = Node.open(homes[1])
        client = PeerClient(rebuilt.settings.node_id, rebuilt.membership.private_key())
        urls = [f"http://127.0.0.1:{static_port}/{p.relative_to(obj_dir).as_posix()}" for p in files]
        dest = args.workdir / "copy"

        def wipe() -> None:
            shutil.rmtree(rebuilt.store.object_path(object_id), ignore_errors=True)

        def rebuild() -> None:
            done = rebuilt.replication.run(client)
            assert rebuilt.store.exists(object_id) and done, done

        def rebuild_with(**forced: bool) -> Callable[[], None]:
            def run() -> None:
                saved = ocfl.write_chunks

                def patched(*args: Any, **kwargs: Any) -> Any:
                    return write_chunks(*args, **{**kwargs, **forced})

                ocfl.write_chunks = patched
                try:
                    rebuild()
                finally:
                    ocfl.write_chunks = saved

            return run

        content = [p for p in files if "/content/" in p.as_posix()]

        def peer_fetch() -> None:
            for p in content:
                for _ in client.iter_file(members[0], object_id, p.relative_to(obj_dir).as_posix()):
                    pass

        def hash_both() -> None:
            for p in content:
                hash_file(p, ("sha512", "sha256"))

        def curl_null() -> None:
            cmd = ["curl", "-s", "--fail"]
            for u in urls:
                cmd += ["-o", "/dev/null", u]
            subprocess.run(cmd, check=True)

        outs = [dest / f"{i:04d}" for i in range(len(files))]

        def fresh_dest() -> None:
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir()

        def curl_files() -> None:
            cmd = ["curl", "-s", "--fail"]
            for u, o in zip(urls, outs, strict=True):
                cmd += ["-o", str(o), u]
            subprocess.run(cmd, check=True)
            fsync_all(outs)

        def cp_files() -> None:
            for f, o in zip(files, outs, strict=True):
                subprocess.run(["cp", str(f), str(o)], check=True)
            fsync_all(outs)

        def nothing() -> None:
            pass

        # (name, untimed preparation, timed run)
        contenders: list[tuple[str, Callable[[], None], Callable[[], None]]] = [
            ("curl from a static server to /dev/null (the link)", nothing, curl_null),
            ("strongroom's peer client fetching the content files from the origin to nowhere", nothing, peer_fetch),
            (
                "hashlib sha512 + sha256 of the same bytes, one core, warm cache (the hashing a rebuild adds)",
                nothing,
                hash_both,
            ),
            ("curl from a static server to files + fsync (plain durable copy: the reference)", fresh_dest, curl_files),
            ("cp + fsync (local copy, no link)", fresh_dest, cp_files),
            (
                "**strongroom rebuild (fetch, hash on a second thread while receiving, fsync, install, catalogue)**",
                wipe,
                rebuild,
            ),
            (
                "strongroom rebuild as before: both digests on the receiving thread",
                wipe,
                rebuild_with(hash_on_thread=False),
            ),
        ]
        curl_null()  # warm the page cache on the serving side
        times: dict[str, list[float]] = {name: [] for name, _, _ in contenders}
        cpus: dict[str, list[float]] = {name: [] for name, _, _ in contenders}
        for _ in range(args.rounds):
            for name, prepare, fn in contenders:
                prepare()
                os.sync()  # every contender starts with nothing of the others' waiting to be written
                cpu = cpu_seconds(serve.pid, static.pid)
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
                cpus[name].append(cpu_seconds(serve.pid, static.pid) - cpu)
        client.close()
        rebuilt.close()
        med = {name: statistics.median(ts) for name, ts in times.items()}
        ref = med[next(n for n, _, f in contenders if f is curl_files)]
        link = med[contenders[0][0]]
        print(
            f"AU of {size:,} bytes in {len(files)} files over loopback HTTP; {os.cpu_count()} cores; medians of "
            f"{args.rounds} rounds; load average {os.getloadavg()[0]:.2f} at the end\n"
        )
        print("| copy | seconds (median) | range | MB/s | ÷ plain durable copy | ÷ link | processor seconds |")
        print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
        for name, _, _ in contenders:
            t = med[name]
            print(
                f"| {name} | {t:.2f} | {min(times[name]):.2f}–{max(times[name]):.2f} | {size / t / 1e6:.0f} "
                f"| {t / ref:.2f} | {t / link:.2f} | {statistics.median(cpus[name]):.2f} |"
            )
    finally:
        serve.terminate()
        static.terminate()
        serve.wait(timeout=30)
        static.wait(timeout=30)
        shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
