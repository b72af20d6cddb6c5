"""What ``au status`` fetches from a member that holds many objects (issue 16): the network part of one AU's
status (``NetworkStatus.copies(client, only=...)``, what ``au status`` asks the network), against a member that
answers the one-object route and against the same member served as a version without it (which is asked for its
whole list, as every member was before the route). Both in one run, over real HTTP on loopback; the bytes are
the response bodies the client received (``PeerClient.bytes_received``), the times the median of ``--runs``.

Usage: .venv/bin/python bench/bench_au_status.py [--objects 10000] [--runs 5] [--workdir bench/work/au_status]
       [--reuse]  (the nodes of the last run: writing 10,000 objects takes minutes)
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.keys import public_key_text
from strongroom.network.client import PeerClient
from strongroom.network.config import Member, NetworkConfig, NetworkPolicy, sign_config
from strongroom.node import Node
from strongroom.peer.api import create_peer_app
from strongroom.store.base import stage_file


class Switch:
    """An ASGI app that passes each request to the current app or to the older one (``older`` set)."""

    def __init__(self, current: Any, older: Any) -> None:
        self.current, self.older_app, self.older = current, older, False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await (self.older_app if self.older else self.current)(scope, receive, send)


def port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workdir", type=Path, default=Path("bench/work/au_status"))
    ap.add_argument("--reuse", action="store_true", help="keep the nodes (and objects) of the last run in --workdir")
    args = ap.parse_args()
    ids = [f"strongroom:au/issn:{1000 + i // 25:04d}-{i % 10000:04d}/{2000 + i % 25}" for i in range(args.objects)]
    if args.reuse:
        asker, member = (Node.open(args.workdir / name) for name in ("asker", "member"))
    else:
        shutil.rmtree(args.workdir, ignore_errors=True)
        args.workdir.mkdir(parents=True)
        asker, member = (Node.create(args.workdir / name) for name in ("asker", "member"))
        scratch = args.workdir / "file.txt"
        scratch.write_bytes(b"one small file")
        staged = [stage_file("file.txt", scratch)]
        started = time.monotonic()
        for object_id in ids:
            member.store.commit_version(object_id, staged, message="bench", user_name="bench")
        print(f"{args.objects} objects written in {time.monotonic() - started:.0f} s")

    ports = [port(), port()]
    members = tuple(
        Member(
            n.settings.node_id,
            f"http://127.0.0.1:{p}",
            public_key_text(n.membership.private_key().public_key()),
            f"Library {i}",
            country,
        )
        for i, (n, p, country) in enumerate(zip((asker, member), ports, ("GH", "KE"), strict=True))
    )
    admin_file = args.workdir / "admin.key"  # the network's key, kept for --reuse (a node pins it at its first join)
    if not args.reuse:
        admin_file.write_bytes(Ed25519PrivateKey.generate().private_bytes_raw())
    admin = Ed25519PrivateKey.from_private_bytes(admin_file.read_bytes())
    document = sign_config(
        NetworkConfig("bench", int(time.time()), members, NetworkPolicy(target_copies=2, min_countries=2, quorum=1)),
        admin,
    )
    for n in (asker, member):
        n.membership.join(document, public_key_text(admin.public_key()))
    older = create_peer_app(member)
    older.router.routes = [r for r in older.router.routes if getattr(r, "path", None) != "/peer/v1/objects/{oid}"]
    app = Switch(create_peer_app(member), older)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=ports[1], log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    # the list of many objects takes the member a while to make on a busy machine: no timeout cuts it short
    client = PeerClient(asker.settings.node_id, asker.membership.private_key(), timeout=httpx.Timeout(600, connect=5))
    results: dict[str, tuple[int, float]] = {}
    try:
        for label, use_older in (("older member: 404, then its list", True), ("one object (this change)", False)):
            app.older = use_older
            times, received = [], []
            for run in range(args.runs):
                before = client.bytes_received
                t = time.perf_counter()
                reachable, copies = asker.network_status.copies(client, only=ids[run * 7 % len(ids)])
                times.append(time.perf_counter() - t)
                received.append(client.bytes_received - before)
                assert all(reachable.values()), reachable
                assert [c.holding for c in copies] == [{member.settings.node_id: 1}]
            results[label] = (max(received), statistics.median(times))
    finally:
        client.close()
        server.should_exit = True
        asker.close()
        member.close()
    print(f"| asked of a member holding {args.objects} objects | bytes received | median time (s) |")
    print("|---|---:|---:|")
    for label, (size, seconds) in results.items():
        print(f"| {label} | {size:,} | {seconds:.3f} |")
    (lst, lt), (one, ot) = results.values()
    print(f"ratio list/one: {lst / one:,.0f}x bytes, {lt / ot:,.0f}x time")


if __name__ == "__main__":
    main()
