"""The portal under load (see docs/benchmarks.md): released article pages and PDFs served by `strongroom portal
serve` against nginx serving the portal's own static export of the same content, in one run, with `wrk` as the
load generator in a second process on loopback. The ceiling is nginx answering a fixed 200 with no file at all.

Usage: .venv/bin/python bench/bench_portal.py [--seconds 10] [--connections 16] [--workdir bench/work/portal]
Needs the Debian packages wrk and nginx (nginx-light is enough).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.demo import write_packages
from strongroom.domain.trigger import ScopeKind, TriggerReason, VoteChoice
from strongroom.ingest.deposit import DepositOptions
from strongroom.keys import public_key_text
from strongroom.node import Node
from strongroom.portal.static import export_static
from strongroom.services.triggers import sign_ballot

PORTAL = [sys.executable, "-m", "strongroom.cli.main", "portal", "serve"]
NGINX_CONF = """
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  types {{ text/html html; application/pdf pdf; application/xml xml; }}
  access_log off;
  sendfile on;
  server {{
    listen 127.0.0.1:{port};
    root {root};
    index index.html;
    location = /limit {{ return 200 "ok"; }}
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def release(node: Node, kind: ScopeKind, keys: list[str]) -> None:
    """Each of ``keys`` (titles or AUs, as ``kind`` says) triggered by three members' votes and released."""
    workflow = node.triggers
    members = {n: Ed25519PrivateKey.generate() for n in ("a", "b", "c")}
    for name, key in members.items():
        workflow.add_member(name, public_key_text(key.public_key()))
    for scope in keys:
        t = workflow.propose(kind, [scope], TriggerReason.PUBLISHER_CEASED, ["benchmark"], "bench")
        for name, key in members.items():
            stamp = "2026-01-01T00:00:00Z"
            workflow.vote(t.key, name, VoteChoice.FOR, stamp, sign_ballot(key, t.key, name, VoteChoice.FOR, stamp))
        workflow.release(t.key, "bench")


def build(work: Path) -> tuple[Node, list[str], list[str]]:
    node = Node.create(work / "home", name="Strongroom benchmark node")
    for pkg in write_packages(work / "packages", seed=3):
        node.ingest.deposit(pkg, DepositOptions(platform="ojs"))
    release(node, ScopeKind.TITLE, [title.key for title, *_ in node.catalog.titles()])
    items = node.released().page(limit=100_000)
    pages = [f"/articles/{i.public_id}/" for i in items]
    pdfs = [f"/articles/{i.public_id}/{i.pdf.name}" for i in items if i.pdf is not None]
    return node, pages, pdfs


def wrk(url: str, paths: list[str], seconds: int, connections: int, script: Path) -> dict[str, float]:
    script.write_text(
        "paths = {" + ",".join(json.dumps(p) for p in paths) + "}\n"
        "i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n"
    )
    done = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    )
    text = done.stdout

    def ms(label: str) -> float:
        m = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", text)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {"rps": rps, "p50_ms": ms("50%"), "p99_ms": ms("99%"), "non_2xx": float(errors.group(1)) if errors else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workdir", type=Path, default=Path("bench/work/portal"))
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            raise SystemExit(f"{tool} is not installed (apt-get install wrk nginx-light)")
    work = args.workdir.absolute()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    node, pages, pdfs = build(work)
    export_static(node, work / "site")
    node.close()

    portal_port, nginx_port = free_port(), free_port()
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(work=work, port=nginx_port, root=work / "site"))
    nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
    servers = [
        subprocess.Popen(
            [*PORTAL, "--home", str(work / "home"), "--port", str(portal_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen([nginx_bin, "-c", str(conf), "-p", str(work)], stderr=subprocess.DEVNULL),
    ]
    try:
        portal, nginx = f"http://127.0.0.1:{portal_port}", f"http://127.0.0.1:{nginx_port}"
        wait_for(portal + "/robots.txt")
        wait_for(nginx + "/limit")
        assert httpx.get(portal + pages[0]).content == httpx.get(nginx + pages[0]).content  # the same bytes
        results = {}
        for label, paths in (("article pages", pages), ("PDFs", pdfs)):
            results[label] = {
                "strongroom": wrk(portal, paths, args.seconds, args.connections, work / "paths.lua"),
                "nginx": wrk(nginx, paths, args.seconds, args.connections, work / "paths.lua"),
            }
        ceiling = wrk(nginx, ["/limit"], args.seconds, args.connections, work / "limit.lua")
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=20)

    print(
        f"{len(pages)} released articles, {len(pdfs)} PDFs; wrk 1 thread, {args.connections} connections, "
        f"{args.seconds} s per run; both servers one process"
    )
    print("| what | Strongroom req/s | p50 / p99 ms | nginx (static export) req/s | p50 / p99 ms | ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, r in results.items():
        s, n = r["strongroom"], r["nginx"]
        print(
            f"| {label} | {s['rps']:,.0f} | {s['p50_ms']:.1f} / {s['p99_ms']:.1f} | {n['rps']:,.0f} | "
            f"{n['p50_ms']:.2f} / {n['p99_ms']:.2f} | {s['rps'] / n['rps']:.3f} |"
        )
    print(
        f"| ceiling: nginx `return 200`, no file | | | {ceiling['rps']:,.0f} | "
        f"{ceiling['p50_ms']:.2f} / {ceiling['p99_ms']:.2f} | |"
    )
    bad = {label: {k: v["non_2xx"] for k, v in r.items()} for label, r in results.items()}
    print("non-2xx responses:", json.dumps(bad))


if __name__ == "__main__":
    main()
