"""Search at catalog scale, end to end: a node on the ``tantivy`` engine holding a synthetic catalog
(:func:`synthetic.load_catalog`, seeded), against bare Tantivy in process on the same documents.

Measured, on the backend chosen (``--backend sqlite|postgresql``):

- reindexing: ``Indexer.rebuild_search`` (what ``strongroom reindex --search`` and a new engine run: the catalog
  read in keyset batches of 5,000, one Tantivy commit), in items/s; against reading the same documents from the
  catalog alone (the floor of our part) and bare Tantivy writing them from memory (the library's own speed, with the
  same schema, analyzer and threads), and the whole ``strongroom reindex --search`` command;
- the portal's ``/search`` page over HTTP (``strongroom portal serve`` in its own process, one client, keep-alive),
  top 20 with counts for the five facets, for 20 common and 20 rare words; against bare Tantivy answering the same
  search exactly (released only, top 20 with the exact total, the five facet aggregations over every match) in
  process: the search part alone.

With ``--compare SRC`` a second portal is served from another source tree (``PYTHONPATH=SRC``, e.g. the base
commit's ``src`` from ``git archive``) on the same catalog and index, and requests alternate between the two, so the
before and after of a change are measured in one run at one load. ``--reuse`` keeps the catalog and indexes a
previous run made (no loading, no reindexing).

Nothing here asserts a time.

    .venv/bin/python bench/bench_search_portal.py --items 100000 --backend sqlite
    .venv/bin/python bench/bench_search_portal.py --items 1000000 --backend postgresql
    .venv/bin/python bench/bench_search_portal.py --items 100000 --backend sqlite --reuse --compare /tmp/base/src
    PYTHONPATH=/tmp/base/src .venv/bin/python bench/bench_search_portal.py --items 100000 --reindex-only  # before
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import sqlalchemy as sa
import tantivy
from bench_search import write_all
from synthetic import load_catalog

from strongroom.node import Node
from strongroom.search.base import FACETS, SearchDocument, fold
from strongroom.search.tantivy_index import (
    ANALYZER,
    MAX_WORD,
    REBUILD_HEAP,
    REBUILD_THREADS,
    _schema,
    folded,
    stored_shards,
)
from strongroom.search.tantivy_layout import shard_paths
from strongroom.settings import load_settings, write_settings

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PAGE = 20


def make_node(work: Path, backend: str, items: int) -> Node:
    """A fresh node on the tantivy engine, its catalog loaded with ``items`` synthetic items (index still empty)."""
    home = work / f"{backend}-{items}"
    shutil.rmtree(home, ignore_errors=True)
    url = None
    if backend == "postgresql":
        name = f"bench_search_{items}"
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        admin.dispose()
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    Node.create(home, database_url=url).close()
    write_settings(dataclasses.replace(load_settings(home), search_engine="tantivy"))
    node = Node.open(home, recover=False)
    load_catalog(node.catalog.engine, items)
    return node


def bare_write(path: Path, docs: list[SearchDocument]) -> tuple[tantivy.Index, float]:
    """Bare Tantivy: our schema and analyzer, the same heap and threads, documents from memory, folded by Tantivy's
    own filters (no Python per document but building it)."""
    path.mkdir(parents=True)
    index = bare_index(path)
    return index, write_all(index, docs, heap=REBUILD_HEAP, threads=REBUILD_THREADS)


def bare_index(path: Path) -> tantivy.Index:
    """The bare Tantivy index at ``path`` (made empty, or opened as a previous run left it)."""
    index = tantivy.Index(_schema(), path=str(path))
    index.register_tokenizer(
        ANALYZER,
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(MAX_WORD))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build(),
    )
    return index


def bare_search(index: tantivy.Index | list[tantivy.Index], word: str) -> int:
    """The exact reference: top 20, the exact total and the five facets over every released match (released
    documents' words are in ``text``, dark ones' in ``dark``, as in our schema). Given a sharded index's shards,
    each is searched so in turn and the totals summed (what bare Tantivy does with them, on one thread)."""
    if isinstance(index, list):
        return sum(bare_search(shard, word) for shard in index)
    query = tantivy.Query.term_query(index.schema, "text", fold(word), index_option="freq")
    searcher = index.searcher()
    found = searcher.search(query, limit=PAGE, count=True)
    searcher.fast_field_values("id", [a for _, a in found.hits])
    searcher.aggregate(query, {name: {"terms": {"field": name, "size": 50}} for name in FACETS})
    return int(getattr(found, "count", None) or 0)


def serve(home: Path, port: int, source: Path | None = None) -> subprocess.Popen[bytes]:
    """``strongroom portal serve`` in its own process (from the source tree ``source`` when given)."""
    command = [sys.executable, "-m", "strongroom.cli.main", "portal", "serve", "--home", str(home), "--port", str(port)]
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source.absolute())
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 300  # a loaded machine takes a while to import the portal
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/robots.txt", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("the portal did not start")


def timed_pair(
    runs: dict[str, Callable[[str], object]], words: list[str], rounds: int
) -> dict[str, tuple[float, float]]:
    """p50 and p95 in ms of each run over ``words``, ``rounds`` times, after a warm-up pass; the runs take turns on
    each word (the first to go alternates), so a burst of load falls on all of them alike."""
    for w in words:
        for run in runs.values():
            run(w)
    times: dict[str, list[float]] = {name: [] for name in runs}
    order = list(runs)
    for _ in range(rounds):
        for w in words:
            order.reverse()
            for name in order:
                started = time.perf_counter()
                runs[name](w)
                times[name].append((time.perf_counter() - started) * 1000)
    return {name: (statistics.median(t), statistics.quantiles(t, n=100)[94]) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=5, help="passes over the 20 words of each kind")
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--workdir", type=Path, default=Path(__file__).parent / "work" / "search_portal")
    parser.add_argument("--reuse", action="store_true", help="keep the catalog and indexes of a previous run")
    parser.add_argument("--compare", type=Path, help="a source tree to serve a second portal from (the before)")
    parser.add_argument(
        "--reindex-only", action="store_true", help="stop after the reindexing figures (no portal, no searches)"
    )
    parser.add_argument(
        "--home",
        type=Path,
        help="measure the search of this existing node, its index written (e.g. bench_catalog.py's 10M node after "
        "`strongroom reindex --search`): nothing is loaded or reindexed, and the search part is that same index "
        "searched by bare Tantivy in process (a catalog too large to hold every document in memory)",
    )
    args = parser.parse_args()
    work = args.workdir.absolute()
    print(f"load average at start: {os.getloadavg()}")
    home = work / f"{args.backend}-{args.items}"
    bare_path = work / f"bare-{args.backend}-{args.items}"

    if args.home is not None:
        home = args.home.absolute()
        node = Node.open(home, recover=False)
        docs = []
        for batch in node.indexer.catalog_documents():
            docs += batch
            if len(docs) >= 20_000:
                break
        n = node.search.count()
        node.close()
        directory = home / "search" / "tantivy"
        shards = stored_shards(directory) or 1
        bare = [bare_index(path) for path in shard_paths(directory, shards)]
        for shard in bare:
            shard.reload()
        print(f"the node's index: {shards} shard(s)")
    elif args.reuse and home.exists() and bare_path.exists():
        node = Node.open(home, recover=False)
        docs = [d for batch in node.indexer.catalog_documents() for d in batch]
        node.close()
        bare = bare_index(bare_path)
        bare.reload()
        n = len(docs)
    else:
        docs, bare = write_indexes(args.items, args.backend, home, bare_path)
        n = len(docs)
        if args.reindex_only:
            return

    df: Counter[str] = Counter()
    for d in docs[:20_000]:
        df.update(set(fold(d.text).split()))
    ranked = [w for w, _ in df.most_common() if w.isalpha()]
    common = ranked[5:25]
    rare = [w for w, c in df.most_common() if c == 2 and w.isalpha()][:20]
    portals: dict[str, subprocess.Popen[bytes]] = {}
    try:
        portals["portal"] = serve(home, args.port)
        if args.compare is not None:
            portals["before"] = serve(home, args.port + 1, args.compare)
        clients = {
            name: httpx.Client(base_url=f"http://127.0.0.1:{args.port + k}", timeout=120)
            for k, name in enumerate(portals)
        }

        def page(client: httpx.Client) -> Callable[[str], None]:
            def run(word: str) -> None:
                response = client.get("/search", params={"q": word})
                assert response.status_code == 200 and 'class="facets"' in response.text

            return run

        rows = []
        for label, words in (("common term", common), ("rare term", rare)):
            hits = statistics.median(bare_search(bare, w) for w in words)
            runs: dict[str, Callable[[str], object]] = {name: page(c) for name, c in clients.items()}
            runs["bare"] = lambda w: bare_search(bare, w)
            rows.append((label, hits, timed_pair(runs, words, args.rounds)))
        for c in clients.values():
            c.close()
    finally:
        for process in portals.values():
            process.terminate()
            process.wait()
    print(f"load average after searching: {os.getloadavg()}")
    print(f"\nportal /search over HTTP, {n:,} items ({args.backend}), top 20 with 5 facets (p50 / p95 ms):\n")
    before = " portal before (`--compare`) |" if args.compare is not None else ""
    header = f"| query | hits (median) |{before} portal `/search`, whole request | bare Tantivy, search part |"
    print(header + " × bare (p50) |")
    print("| --- | ---: |" + (" ---: |" if before else "") + " ---: | ---: | ---: |")
    for label, hits, t in rows:
        http, ref = t["portal"], t["bare"]
        old = f" {t['before'][0]:.1f} / {t['before'][1]:.1f} |" if before else ""
        print(
            f"| {label} | {hits:,.0f} |{old} {http[0]:.1f} / {http[1]:.1f} | {ref[0]:.2f} / {ref[1]:.2f} | "
            f"{http[0] / ref[0]:.1f} |"
        )


def write_indexes(items: int, backend: str, home: Path, bare_path: Path) -> tuple[list[SearchDocument], tantivy.Index]:
    """Load the catalog, write our index (``rebuild_search``, then the whole ``reindex --search`` command) and the
    bare one, and print the reindexing figures."""
    started = time.perf_counter()
    node = make_node(home.parent, backend, items)
    print(f"{items:,} items loaded into the {backend} catalog in {time.perf_counter() - started:.0f} s")

    started = time.perf_counter()
    docs = [d for batch in node.indexer.catalog_documents() for d in batch]
    read = time.perf_counter() - started
    started = time.perf_counter()
    for d in docs:
        folded(d.text)
    fold_time = time.perf_counter() - started
    started = time.perf_counter()
    written = node.indexer.rebuild_search()
    ours = time.perf_counter() - started
    assert written == len(docs) == node.search.count()
    shutil.rmtree(bare_path, ignore_errors=True)
    bare, bare_time = bare_write(bare_path, docs)
    node.close()
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "strongroom.cli.main", "reindex", "--search", "--home", str(home)],
        check=True,
        capture_output=True,
    )
    command = time.perf_counter() - started
    n = len(docs)
    print(f"load average after writing: {os.getloadavg()}")
    print(f"\nreindexing {n:,} items from the {backend} catalog (items/s):\n")
    print("| `rebuild_search` | `strongroom reindex --search` (whole command) | catalog read alone | folding alone "
          "| bare Tantivy from memory | ours ÷ bare |")  # fmt: skip
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {n / ours:,.0f} | {n / command:,.0f} | {n / read:,.0f} | {n / fold_time:,.0f} | {n / bare_time:,.0f} | "
        f"{bare_time / ours:.2f} |"
    )
    return docs, bare


if __name__ == "__main__":
    main()
