"""Job throughput with 1 and 2 ``strongroom worker`` processes on PostgreSQL (see bench/README.md).

Audit jobs (one per AU, each re-reading and hashing its AU) are queued in one batch once the workers are up; the
time is from the batch to the last job's success, read from the queue. The same files hashed by ``sha512sum`` under
``xargs -P 1`` and ``-P 2`` in the same run show how much a second process can gain on this machine at this moment
(the limit the workers' scaling is compared with; other work on the machine lowers both).

With ``--one-core-each`` the audit jobs run again with each worker kept on a core of its own
(``sched_setaffinity``): two worker machines of one core each, against one, sharing the page cache and the disk;
``sha512sum`` on one core is that machine's limit.

Harvest jobs (one per title) collect titles from a local site that answers each page after ``--latency`` seconds,
as a distant publisher's site does; one request at a time per harvest. The limit is the sum of those waits.

Usage: .venv/bin/python bench/bench_jobs.py [--aus 12] [--mb 48] [--rounds 2] [--titles 4] [--pages 15]
       [--latency 0.2] [--one-core-each] [--workdir bench/work/jobs] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import sqlalchemy as sa
from common import random_bag

from strongroom.harvest.permission import STATEMENTS
from strongroom.node import Node
from strongroom.services.jobs import JobKind


def pinned(core: int | None) -> Callable[[], None] | None:
    """What a child runs before it starts to keep it on one core (a machine of one core), or nothing."""
    if core is None:
        return None
    return lambda: os.sched_setaffinity(0, {core})


def start_workers(home: Path, n: int, engine: sa.Engine, one_core_each: bool = False) -> list[subprocess.Popen[bytes]]:
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM procrastinate_workers"))  # the last round's, gone
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "strongroom.cli.main", "worker", "--home", str(home)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=pinned(i if one_core_each else None),
        )
        for i in range(n)
    ]
    while True:  # ready: every worker registered with the queue
        with engine.connect() as conn:
            if conn.execute(sa.text("SELECT count(*) FROM procrastinate_workers")).scalar_one() >= n:
                return procs
        time.sleep(0.1)


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(60)


def jobs_round(node: Node, kind: JobKind, subjects: list[str], workers: int, one_core_each: bool = False) -> float:
    """Seconds from queueing one ``kind`` job per subject to the last one's success, with ``workers`` processes
    (each kept on a core of its own with ``one_core_each``)."""
    procs = start_workers(node.settings.home, workers, node.catalog.engine, one_core_each)
    try:
        done_before = node.jobs.counts()[("succeeded", kind.value)]
        start = time.perf_counter()
        for subject in subjects:
            node.jobs.enqueue(kind, subject)
        while node.jobs.counts()[("succeeded", kind.value)] < done_before + len(subjects):
            if node.jobs.counts()[("failed", kind.value)]:
                raise SystemExit(f"a {kind} job failed: {node.jobs.rows(limit=5)}")
            time.sleep(0.02)
        return time.perf_counter() - start
    finally:
        stop(procs)


@contextlib.contextmanager
def slow_site(titles: int, pages: int, latency: float) -> Iterator[str]:
    """Titles /t0/ ... each an index linking ``pages`` pages; every answer comes after ``latency`` seconds."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            time.sleep(latency)
            parts = self.path.strip("/").split("/")
            if len(parts) == 1:
                links = "".join(f'<a href="/{parts[0]}/p{j}">page {j}</a>' for j in range(pages))
                body = f"<html><body><p>{STATEMENTS[0]}</p>{links}</body></html>"
            else:
                body = f"<html><body>{self.path} " + "text " * 2000 + "</body></html>"
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def xargs_sha512(files: list[Path], processes: int, one_core: bool = False) -> float:
    start = time.perf_counter()
    subprocess.run(
        ["xargs", "-0", "-n", "4", "-P", str(processes), "sha512sum"],
        input=b"\0".join(str(f).encode() for f in files),
        stdout=subprocess.DEVNULL,
        check=True,
        preexec_fn=pinned(0 if one_core else None),
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--aus", type=int, default=12)
    parser.add_argument("--mb", type=int, default=48, help="megabytes of random content per AU")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--titles", type=int, default=4, help="harvest jobs: one per title")
    parser.add_argument("--pages", type=int, default=15, help="pages per title (plus its index)")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds before the site answers a request")
    parser.add_argument("--workdir", type=Path, default=Path("bench/work/jobs"))
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument(
        "--one-core-each",
        action="store_true",
        help="audit jobs also with each worker kept on a core of its own: worker machines of one core",
    )
    args = parser.parse_args()

    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    schema = "bench_jobs_" + uuid.uuid4().hex[:8]
    admin = sa.create_engine(args.pg)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        node = Node.create(args.workdir / "home", database_url=f"{args.pg}?options=-csearch_path%3D{schema}")
        for i in range(args.aus):
            bag = random_bag(args.workdir / f"bag-{i}", args.mb << 20, 16 << 20, seed=i, journal=f"Bench Journal {i}")
            node.ingest.deposit(bag)
            shutil.rmtree(bag)
        aus = [au.key for au, *_ in node.catalog.aus()]
        files = sorted(p for p in node.settings.resolved_storage_root().rglob("*") if p.is_file())
        total = sum(f.stat().st_size for f in files)
        xargs_sha512(files, 2)  # warm the page cache: every round reads from memory
        one, two, x1, x2, h1, h2, p1, p2, xp = [], [], [], [], [], [], [], [], []
        for _ in range(args.rounds):
            one.append(jobs_round(node, JobKind.AUDIT, aus, 1))
            two.append(jobs_round(node, JobKind.AUDIT, aus, 2))
            x1.append(xargs_sha512(files, 1))
            x2.append(xargs_sha512(files, 2))
            if args.one_core_each:
                p1.append(jobs_round(node, JobKind.AUDIT, aus, 1, one_core_each=True))
                p2.append(jobs_round(node, JobKind.AUDIT, aus, 2, one_core_each=True))
                xp.append(xargs_sha512(files, 1, one_core=True))
        with slow_site(args.titles, args.pages, args.latency) as url:
            titles = [f"bench:title-{i}" for i in range(args.titles)]
            for i, title in enumerate(titles):
                node.harvests.configure(
                    title,
                    name=f"Title {i}",
                    publisher="Bench Press",
                    country="KE",
                    plan="generic",
                    settings={"start_urls": [f"{url}/t{i}/"], "delay": 0, "concurrency": 1},
                )
            for _ in range(args.rounds):
                h1.append(jobs_round(node, JobKind.HARVEST, titles, 1))
                h2.append(jobs_round(node, JobKind.HARVEST, titles, 2))
        t1, t2, s1, s2, g1, g2 = (statistics.median(v) for v in (one, two, x1, x2, h1, h2))
        node.close()
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        shutil.rmtree(args.workdir, ignore_errors=True)
    mb = total / 1e6
    print(f"{len(aus)} audit jobs over {mb:,.0f} MB (page cache warm), medians of {args.rounds} rounds\n")
    print("| run | seconds | MB/s | jobs/s | 2 ÷ 1 |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| strongroom worker × 1 | {t1:.2f} | {mb / t1:,.0f} | {len(aus) / t1:.2f} | |")
    print(f"| strongroom worker × 2 | {t2:.2f} | {mb / t2:,.0f} | {len(aus) / t2:.2f} | {t1 / t2:.2f}× |")
    print(f"| xargs -P 1 sha512sum | {s1:.2f} | {mb / s1:,.0f} | | |")
    print(f"| xargs -P 2 sha512sum | {s2:.2f} | {mb / s2:,.0f} | | {s1 / s2:.2f}× |")
    if args.one_core_each:
        c1, c2, cx = (statistics.median(v) for v in (p1, p2, xp))
        print(f"| strongroom worker × 1, one core | {c1:.2f} | {mb / c1:,.0f} | {len(aus) / c1:.2f} | |")
        print(
            f"| strongroom worker × 2, one core each | {c2:.2f} | {mb / c2:,.0f} | {len(aus) / c2:.2f} "
            f"| {c1 / c2:.2f}× |"
        )
        print(f"| sha512sum on one core | {cx:.2f} | {mb / cx:,.0f} | | |")
    waits = args.titles * (args.pages + 1) * args.latency
    print(f"\n{args.titles} harvest jobs of {args.pages + 1} pages each, every answer after {args.latency} s\n")
    print("| run | seconds | jobs/s | 2 ÷ 1 | limit: the site's waits ÷ workers (s) | limit ÷ run |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(f"| strongroom worker × 1 | {g1:.2f} | {args.titles / g1:.2f} | | {waits:.2f} | {waits / g1:.2f} |")
    print(
        f"| strongroom worker × 2 | {g2:.2f} | {args.titles / g2:.2f} | {g1 / g2:.2f}× | {waits / 2:.2f} "
        f"| {waits / 2 / g2:.2f} |"
    )
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end; {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
