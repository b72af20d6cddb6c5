"""Replay of archived pages (see docs/benchmarks.md): a small and a large AU harvested from the project's OJS
fixture site and released, replayed by `strongroom portal serve` (`/archive/AU/?url=…`, links rewritten) and by
pywb under gunicorn with gevent workers (its best setup, `/coll/TIMESTAMPmp_/URL`, frameless) on the same WARC
files, in one run. Strongroom runs with as many processes as pywb (`--workers`), twice: with the replay cache off
(`portal.replay_cache_mb = 0`: every request reads the index and the WARC and rewrites the page) and on (as
`portal serve` runs by default: a page is read and rewritten once, then kept 30 s). Load comes from a client of
keep-alive connections in this process (wrk is not installed); the ceiling is that client against a WSGI app
answering a fixed 200.

pywb is not a Strongroom dependency; set it up once in its own environment:

    python3 -m venv /tmp/pywb-venv && /tmp/pywb-venv/bin/pip install pywb gunicorn gevent packaging

With ``--base SRC`` (a copy of an earlier ``src``, e.g. ``git archive HEAD src | tar -x -C /tmp/base``), that
code's portal is measured too, in the same run (``PYTHONPATH=SRC``): before and after a change, under the same load.

Usage: .venv/bin/python bench/bench_replay.py [--small 6] [--large 1200] [--seconds 8] [--connections 8]
       [--workers 2] [--pywb /tmp/pywb-venv] [--workdir bench/work/replay] [--base SRC]
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote, urlsplit

from bench_portal import free_port, release, wait_for

from strongroom.domain.trigger import ScopeKind
from strongroom.harvest.fetch import Fetcher
from strongroom.harvest.warc import CdxLine
from strongroom.node import Node
from strongroom.samples.ojs_site import OjsSite, serve_site
from strongroom.settings import load_settings, write_settings

PORTAL = [sys.executable, "-m", "strongroom.cli.main", "portal", "serve"]
TITLE = "issn:3907-6563"
CEILING_APP = "def application(environ, start):\n    start('200 OK', [('Content-Length', '2')])\n    return [b'ok']\n"


def harvest(work: Path, articles: int) -> tuple[Node, str, list[tuple[str, str]]]:
    """A node holding one released AU of about ``articles`` articles; (url, timestamp) of its article pages."""
    per_issue = max(1, articles // 4)
    site = OjsSite(years=(2023,), issues_per_year=4, articles_per_issue=per_issue)
    node = Node.create(work / "home", name="Strongroom benchmark node")
    with serve_site(site) as url:
        node.harvests.configure(
            TITLE,
            name=site.title.title,
            publisher="Bench Press",
            country="KE",
            plan="ojs",
            settings={"start_url": f"{url}{site.base}/gateway/clockss", "delay": 0, "concurrency": 4},
        )
        node.web_harvest.run(TITLE, fetcher=Fetcher(delay=0, retries=1, max_bytes=8 << 20, timeout=30))
    au_key = f"{TITLE}/2023"
    release(node, ScopeKind.AUS, [au_key])
    lines = [CdxLine.parse(raw.decode()) for raw in index_lines(node, au_key)]
    pages = [
        (str(c.fields["url"]), c.timestamp)
        for c in lines
        if "/article/view/" in str(c.fields["url"]) and c.fields.get("status") == "200"
    ]
    return node, au_key, pages


def index_lines(node: Node, au_key: str) -> list[bytes]:
    """The released AU's CDXJ index, line by line."""
    object_id = node.released().archived_au(au_key)
    assert object_id is not None, "the harvested AU was not released"
    from strongroom.services.harvests import CDXJ

    with node.store.open_file(object_id, CDXJ) as fh:
        return [raw for raw in fh.read().splitlines() if raw.strip()]


def load(base: str, paths: list[str], seconds: float, connections: int) -> dict[str, float]:
    """Requests/s and p50/p95 latency of ``connections`` keep-alive clients cycling through ``paths``."""
    parts = urlsplit(base)
    latencies: list[float] = []
    errors = [0]
    stop = time.monotonic() + seconds

    def client(offset: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        i = offset
        while time.monotonic() < stop:
            path = paths[i % len(paths)]
            i += 1
            began = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            latencies.append(time.perf_counter() - began)
            if response.status != 200:
                errors[0] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(n * 7919,)) for n in range(connections)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - began
    q = statistics.quantiles(latencies, n=100)
    return {"rps": len(latencies) / took, "p50": q[49] * 1000, "p95": q[94] * 1000, "errors": errors[0]}


def copy_warcs(node: Node, au_key: str, dest: Path) -> None:
    """The AU's WARC files, as stored, into ``dest`` (the same bytes pywb will serve)."""
    from strongroom.services.harvests import WARCS

    object_id = node.released().archived_au(au_key)
    assert object_id is not None
    dest.mkdir(parents=True)
    for path in node.store.state(object_id):
        if path.startswith(WARCS):
            with node.store.open_file(object_id, path) as src, (dest / path.removeprefix(WARCS)).open("wb") as out:
                shutil.copyfileobj(src, out)


def strongroom(
    home: Path, cache_mb: int, paths: list[str], args: argparse.Namespace, src: Path | None = None
) -> dict[str, float]:
    """`strongroom portal serve --workers N` on ``home`` with ``portal.replay_cache_mb = cache_mb`` (the code in
    ``src`` when given), under load."""
    settings = load_settings(home)
    write_settings(replace(settings, portal=replace(settings.portal, replay_cache_mb=cache_mb)))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(src)} if src is not None else None
    server = subprocess.Popen(
        [*PORTAL, "--home", str(home), "--port", str(port), "--workers", str(args.workers)],
        stdout=subprocess.DEVNULL,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/robots.txt")
        return load(base, paths, args.seconds, args.connections)
    finally:
        server.terminate()
        server.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=6, help="articles in the small AU")
    parser.add_argument("--large", type=int, default=1200, help="articles in the large AU")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="processes of each server (pywb's gunicorn -w)")
    parser.add_argument("--pywb", type=Path, default=Path("/tmp/pywb-venv"), help="a venv with pywb, gunicorn, gevent")
    parser.add_argument("--workdir", type=Path, default=Path("bench/work/replay"))
    parser.add_argument("--base", type=Path, help="an earlier src to measure too, in the same run")
    args = parser.parse_args()
    if not (args.pywb / "bin" / "wb-manager").exists():
        raise SystemExit(f"no pywb in {args.pywb}: see this script's docstring for its setup")
    work = args.workdir.absolute()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    rows = []
    for label, articles in (("small", args.small), ("large", args.large)):
        here = work / label
        node, au_key, pages = harvest(here, articles)
        copy_warcs(node, au_key, here / "warcs")
        captures = len(index_lines(node, au_key))
        node.close()
        pywb_dir = here / "pywb"
        pywb_dir.mkdir()
        wb = str(args.pywb / "bin" / "wb-manager")
        subprocess.run([wb, "init", "au"], cwd=pywb_dir, check=True, capture_output=True)
        subprocess.run(
            [wb, "add", "au", *map(str, sorted((here / "warcs").iterdir()))],
            cwd=pywb_dir,
            check=True,
            capture_output=True,
        )
        (pywb_dir / "ceiling.py").write_text(CEILING_APP)
        pywb_port, ceiling_port = free_port(), free_port()
        gunicorn = [
            str(args.pywb / "bin" / "gunicorn"),
            "-k",
            "gevent",
            "-w",
            str(args.workers),
            "--log-level",
            "warning",
        ]
        servers = [
            subprocess.Popen(
                [*gunicorn, "-b", f"127.0.0.1:{pywb_port}", "pywb.apps.wayback:application"],
                cwd=pywb_dir,
                env={**os.environ, "PYTHONPATH": ""},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,  # pywb logs every request
            ),
            subprocess.Popen([*gunicorn, "-b", f"127.0.0.1:{ceiling_port}", "ceiling:application"], cwd=pywb_dir),
        ]
        try:
            pw = f"http://127.0.0.1:{pywb_port}"
            wait_for(pw + "/")
            wait_for(f"http://127.0.0.1:{ceiling_port}/")
            sr_paths = [f"/archive/{au_key}/?url={quote(u, safe='')}" for u, _ in pages]
            pw_paths = [f"/au/{ts}mp_/{u}" for u, ts in pages]
            results = {}
            for cache_mb, named in ((0, "strongroom, no cache"), (64, "strongroom")):
                if args.base is not None:
                    results[f"before: {named}"] = strongroom(here / "home", cache_mb, sr_paths, args, args.base)
                results[named] = strongroom(here / "home", cache_mb, sr_paths, args)
            results["pywb"] = load(pw, pw_paths, args.seconds, args.connections)
            results["ceiling"] = load(f"http://127.0.0.1:{ceiling_port}", ["/"], args.seconds, args.connections)
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=20)
        rows.append((label, articles, captures, len(pages), results))

    print(
        f"load: {args.connections} keep-alive connections, {args.seconds:g} s per run, client in the bench process; "
        f"Strongroom `portal serve --workers {args.workers}`, "
        f"pywb and the ceiling gunicorn -k gevent -w {args.workers}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(
        "| AU | articles / index lines | Strongroom, no cache: req/s, p50 / p95 ms | Strongroom: req/s, p50 / p95 ms | "
        "pywb: req/s, p50 / p95 ms | no cache ÷ pywb | Strongroom ÷ pywb | ceiling req/s |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, articles, captures, _, r in rows:
        n, s, p, c = r["strongroom, no cache"], r["strongroom"], r["pywb"], r["ceiling"]
        print(
            f"| {label} | {articles} / {captures} | {n['rps']:,.0f}, {n['p50']:.1f} / {n['p95']:.1f} | "
            f"{s['rps']:,.0f}, {s['p50']:.1f} / {s['p95']:.1f} | {p['rps']:,.0f}, {p['p50']:.1f} / {p['p95']:.1f} | "
            f"{n['rps'] / p['rps']:.2f} | {s['rps'] / p['rps']:.2f} | {c['rps']:,.0f} |"
        )
    if args.base is not None:
        print(f"before (PYTHONPATH={args.base}) and after, in the same run:")
        print("| AU | server | req/s | p50 / p95 ms | ÷ pywb |")
        print("| --- | --- | ---: | ---: | ---: |")
        for label, _, _, _, r in rows:
            for named, m in r.items():
                if named != "ceiling":
                    print(
                        f"| {label} | {named} | {m['rps']:,.0f} | {m['p50']:.1f} / {m['p95']:.1f} | "
                        f"{m['rps'] / r['pywb']['rps']:.2f} |"
                    )
    print("non-200 answers:", {label: {k: v["errors"] for k, v in r.items()} for label, _, _, _, r in rows})


if __name__ == "__main__":
    main()
