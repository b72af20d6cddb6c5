"""The catalog at size (see docs/benchmarks.md): a node's catalog bulk-loaded with ``--items`` synthetic items
(bench/synthetic.py: what it writes and what it does not), then, on that node, in one run:

- article landing pages over HTTP (the portal in process, through Starlette's ASGI test client, no cache), p50/p95
  over random released items, against the physical floor: a bare primary-key-style SELECT of the same row by its
  public id through the driver alone (psycopg / sqlite3), no ORM, no HTTP;
- the PDF lookup: the portal's catalog lookup of a released item's PDF (``Released.file``), p50/p95, against the
  same floor (the synthetic items have no stored bytes: serving them is bench_portal.py's measure);
- OAI-PMH ListRecords: the first page, and a page 90% of the way down the chain (its resumption token);
- ``/sitemap.xml`` (an index past 50,000 URLs) and one whole sitemap part (50,000 URLs), with their sizes;
- ``/holdings/kbart.txt`` (every title);
- ``strongroom items`` (first page) as a whole process.

Usage: .venv/bin/python bench/bench_catalog.py --items 100000 --backend sqlite|postgresql [--per-au 100] [--reuse]
[--pages-only | --feeds-only]
``--pages-only`` measures the floor, the article page and the PDF lookup only; ``--feeds-only`` the sitemap index,
one sitemap part and the KBART file only (each as the portal answers it and as ``strongroom holdings kbart`` writes
it). ``--per-au`` sets the items per AU (10 gives 100,000 AUs from 1,000,000 items). Run with ``PYTHONPATH=SRC``
(another source tree, e.g. the base commit's ``src`` from ``git archive``) and ``--reuse`` to compare code on the
same catalog. PostgreSQL: database ``bench_catalog_N`` (``bench_catalog_N_per_M`` for another ``--per-au``) on
127.0.0.1:5432 (user postgres), made afresh unless ``--reuse``.
Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import sqlalchemy as sa
from synthetic import load_catalog

from strongroom.inprocess import TestClient
from strongroom.node import Node
from strongroom.portal.app import create_portal
from strongroom.portal.oai import ListRequest

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def timed(run: Callable[[], object], rounds: int) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def once(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def node_for(work: Path, backend: str, items: int, reuse: bool, per_au: int = 100) -> tuple[Node, str, bool]:
    name = f"{items}" if per_au == 100 else f"{items}_per_{per_au}"
    home = work / f"{backend}-{name}"
    if backend == "postgresql":
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/bench_catalog_{name}"
        if not (reuse and home.exists()):
            admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS bench_catalog_{name}")
                conn.exec_driver_sql(f"CREATE DATABASE bench_catalog_{name}")
            admin.dispose()
    else:
        url = "sqlite:///" + str(home / "catalog.sqlite")
    if reuse and home.exists():
        return Node.open(home), url, False
    shutil.rmtree(home, ignore_errors=True)
    return (Node.create(home, database_url=url) if backend == "postgresql" else Node.create(home)), url, True


def floor_lookup(url: str) -> Callable[[str], object]:
    """The physical floor: one row by its unique public id through the bare driver."""
    sql = "SELECT id, title, doi, au_id FROM items WHERE public_id = {}"
    if url.startswith("postgresql"):
        conn = psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=" + url.rsplit("/", 1)[1])
        return lambda pid: conn.execute(sql.format("%s"), (pid,)).fetchone()
    lite = sqlite3.connect(url.removeprefix("sqlite:///"), check_same_thread=False)
    return lambda pid: lite.execute(sql.format("?"), (pid,)).fetchone()


def feeds(node: Node, backend: str, items: int, load: float) -> None:
    """The sitemap index, its first and last parts, and KBART (portal and CLI), each with its size."""
    results: list[tuple[str, str]] = []
    with TestClient(create_portal(node), base_url="http://127.0.0.1:8080") as client:
        index = client.get("/sitemap.xml")
        p50, p95 = timed(lambda: client.get("/sitemap.xml"), 5)
        results.append((f"/sitemap.xml ({len(index.content):,} bytes)", f"{p50:.0f} / {p95:.0f}"))
        parts = re.findall(r"/sitemaps/(\d+)\.xml", index.text)
        for n in dict.fromkeys(parts[:1] + parts[-1:]):
            part = client.get(f"/sitemaps/{n}.xml")
            took = once(lambda n=n: client.get(f"/sitemaps/{n}.xml"))
            results.append((f"/sitemaps/{n}.xml ({len(part.content):,} bytes)", f"{took:.0f}"))
        kbart = client.get("/holdings/kbart.txt")
        p50, p95 = timed(lambda: client.get("/holdings/kbart.txt"), 3)
        rows = kbart.text.count("\n") - 1
        results.append((f"/holdings/kbart.txt ({len(kbart.content):,} bytes, {rows:,} rows)", f"{p50:.0f} / {p95:.0f}"))
    home = str(node.settings.home)
    node.close()
    command = [sys.executable, "-m", "strongroom.cli.main", "holdings", "kbart", "--home", home]
    took = once(lambda: subprocess.run(command, check=True, capture_output=True))
    results.append(("`strongroom holdings kbart` (whole process)", f"{took:.0f}"))
    print(f"\n{backend}, {items:,} items, load average {load:.1f} at the start\n")
    print("| measure | ms (p50 / p95, or one run) |")
    print("| --- | --- |")
    for name, ms in results:
        print(f"| {name} | {ms} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--workdir", type=Path, default=Path(__file__).parent / "work" / "catalog")
    parser.add_argument("--reuse", action="store_true", help="use the catalog a previous run loaded")
    parser.add_argument("--pages-only", action="store_true", help="the article page and the PDF lookup only")
    parser.add_argument("--feeds-only", action="store_true", help="the sitemap index, a sitemap part and KBART only")
    parser.add_argument("--per-au", type=int, default=100, help="items per AU (default 100)")
    args = parser.parse_args()
    node, url, fresh = node_for(args.workdir, args.backend, args.items, args.reuse, args.per_au)
    load = os.getloadavg()[0]
    if fresh:
        report = load_catalog(
            node.catalog.engine, args.items, per_au=args.per_au, progress=lambda m: print("  loaded", m, flush=True)
        )
        rate = report.items / report.seconds
        print(f"loaded {report.items:,} items + files in {report.seconds:.1f} s: {rate:,.0f} items/s")
    if args.feeds_only:
        feeds(node, args.backend, args.items, load)
        return
    released = node.released()
    with node.catalog.engine.connect() as conn:
        last = conn.scalar(sa.text("SELECT max(id) FROM items")) or 0
        rng = random.Random(7)
        sample = [rng.randint(1, last) for _ in range(args.rounds * 3)]
        rows = conn.execute(
            sa.text(
                "SELECT items.public_id FROM items JOIN archival_units a ON a.id = items.au_id "
                "WHERE a.released_at IS NOT NULL AND items.id IN :ids"
            ).bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": sample},
        )
        ids = [r[0] for r in rows][: args.rounds]
    floor = floor_lookup(url)
    picks = iter(ids * 10)
    results: list[tuple[str, str, str]] = []

    def row(name: str, p50: float, p95: float, against: tuple[float, float] | None) -> None:
        ratio = f"{p50 / against[0]:.0f}× / {p95 / against[1]:.0f}×" if against else "—"
        results.append((name, f"{p50:.2f} / {p95:.2f}", ratio))

    bare = timed(lambda: floor(next(picks)), len(ids))
    row("bare SELECT by public id (floor)", *bare, None)
    with TestClient(create_portal(node), base_url="http://127.0.0.1:8080") as client:
        row("article page over HTTP", *timed(lambda: client.get(f"/articles/{next(picks)}/"), len(ids)), bare)
        row("PDF lookup (Released.file)", *timed(lambda: released.file(next(picks), "article.pdf"), len(ids)), bare)
        if args.pages_only:
            node.close()
            print(f"\n{args.backend}, {args.items:,} items, load average {load:.1f} at the start\n")
            for name, ms, ratio in results:
                print(f"| {name} | {ms} | {ratio} |")
            return
        first = "/oai?verb=ListRecords&metadataPrefix=oai_dc"
        deep_token = ListRequest("ListRecords", "oai_dc", None, None, None).token(int(last * 0.9), int(last * 0.9))
        deep = f"/oai?verb=ListRecords&resumptionToken={deep_token}"
        assert client.get(deep).status_code == 200
        row("OAI ListRecords, first page (100)", *timed(lambda: client.get(first), 20), None)
        row("OAI ListRecords, page 90% down", *timed(lambda: client.get(deep), 20), None)
        index = client.get("/sitemap.xml")
        row(f"/sitemap.xml ({len(index.content):,} bytes)", *timed(lambda: client.get("/sitemap.xml"), 5), None)
        part = client.get("/sitemaps/1.xml")
        one = once(lambda: client.get("/sitemaps/1.xml"))
        results.append((f"/sitemaps/1.xml ({len(part.content):,} bytes)", f"{one:.0f}", "—"))
        kbart = client.get("/holdings/kbart.txt")
        took = once(lambda: client.get("/holdings/kbart.txt"))
        results.append((f"/holdings/kbart.txt ({len(kbart.content):,} bytes)", f"{took:.0f}", "—"))
    command = [sys.executable, "-m", "strongroom.cli.main", "items", "--home", str(node.settings.home)]
    subprocess.run(command, check=True, capture_output=True)
    took = statistics.median(once(lambda: subprocess.run(command, check=True, capture_output=True)) for _ in range(3))
    results.append(("`strongroom items` (whole process)", f"{took:.0f}", "—"))
    node.close()
    print(f"\n{args.backend}, {args.items:,} items, load average {load:.1f} at the start\n")
    print("| measure | ms (p50 / p95, or one run) | ratio to the floor (p50 / p95) |")
    print("| --- | --- | --- |")
    for name, ms, ratio in results:
        print(f"| {name} | {ms} | {ratio} |")


if __name__ == "__main__":
    main()
