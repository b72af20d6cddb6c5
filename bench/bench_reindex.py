"""A catalog rebuild from storage (``Indexer.reindex(search=False)`` and the whole ``strongroom reindex``) against its
floor: reading every object's stored deposit record through the same store and parsing its JSON, nothing else;
and against the reindex's own reads alone (the inventory, the record as the indexer reads it, the file list).

A node of ``--aus`` AUs × ``--articles`` articles (seeded sample journals, one BagIt bag per journal year) is really
deposited into ``--workdir`` once; ``--reuse`` keeps it for the next run (deposit time is not what is measured).
Each measure runs in its own process, ``--rounds`` times, and the table gives medians, items/s and the ratio to the
floor of the same run. With ``--src DIR`` (a copy of another version's ``src``, e.g. ``git archive HEAD src | tar -x
-C DIR``) the reindex and the command also run from that package (``PYTHONPATH``), on the same node, in the same
rounds; ``--also DIR`` times the reindex alone from a third copy (a variant). ``--profile N`` prints the N costliest
functions (cProfile, cumulative) of one ``reindex(search=False)``.

Usage: .venv/bin/python bench/bench_reindex.py [--aus 50] [--articles 200] [--rounds 3] [--reuse]
       [--src DIR] [--also DIR] [--profile 30] [--workdir bench/work/reindex]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Run in a child process (so that ``--src`` can choose the package): prints the seconds of the timed part alone.
FLOOR = """
import json, sys, time
from pathlib import Path
from strongroom.node import Node
from strongroom.formats.records import DEPOSIT_RECORD
node = Node.open(Path(sys.argv[1]))
start = time.perf_counter()
items = 0
for object_id in list(node.store.iter_object_ids()):
    with node.store.open_file(object_id, DEPOSIT_RECORD) as fh:
        items += len(json.loads(fh.read())["items"])
print(time.perf_counter() - start, items)
node.close()
"""

# What the reindex reads, through its own code, and nothing written: the inventory, the deposit record as it reads
# it (formats.record_stream, each item made an ItemRecord), the release record and the head version's files.
READS = """
import sys, time
from pathlib import Path
from strongroom.node import Node
node = Node.open(Path(sys.argv[1]))
indexer = node.indexer
start = time.perf_counter()
items = 0
for object_id in list(node.store.iter_object_ids()):
    head = int(node.store.inventory(object_id)["head"][1:])
    record, records = indexer._record_items(object_id, head)
    items += sum(1 for _ in records)
    indexer.read_release(object_id)
    node.store.files(object_id)
print(time.perf_counter() - start, items)
node.close()
"""

REINDEX = """
import sys, time
from pathlib import Path
from sqlalchemy import text
from strongroom.node import Node
node = Node.open(Path(sys.argv[1]))
start = time.perf_counter()
report = node.indexer.reindex(search=False)
print(time.perf_counter() - start, len(report.done))
assert not report.problems, report.problems
with node.catalog.session() as s:  # every item is queued for the search index, unchanged: not for the next round
    s.execute(text("DELETE FROM search_queue"))
node.close()
"""

PROFILE = """
import cProfile, pstats, sys
from pathlib import Path
from sqlalchemy import text
from strongroom.node import Node
node = Node.open(Path(sys.argv[1]))
profile = cProfile.Profile()
profile.runcall(node.indexer.reindex, search=False)
pstats.Stats(profile).sort_stats("cumulative").print_stats(int(sys.argv[2]))
with node.catalog.session() as s:
    s.execute(text("DELETE FROM search_queue"))
node.close()
"""


def _env(src: Path | None) -> dict[str, str] | None:
    return dict(os.environ, PYTHONPATH=str(src.resolve())) if src else None


def timed_child(code: str, home: Path, src: Path | None = None) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code, str(home)], check=True, capture_output=True, text=True, env=_env(src)
    )
    return float(out.stdout.split()[0])


def whole_command(home: Path, src: Path | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "strongroom", "reindex", "--home", str(home)],
        check=True,
        capture_output=True,
        env=_env(src),
    )
    return time.perf_counter() - start


def build(work: Path, aus: int, articles: int) -> Path:
    """A node holding ``aus`` journal years of ``articles`` articles each, deposited as BagIt bags."""
    from strongroom.node import Node
    from strongroom.samples import generate_corpus, write_bag

    home = work / "home"
    stamp = work / "built.json"
    wanted = {"aus": aus, "articles": articles}
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return home
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    titles = -(-aus // 5)  # five years a title
    corpus = generate_corpus(
        11,
        publishers=titles,
        titles_per_publisher=1,
        years=(2020, 2021, 2022, 2023, 2024),
        articles_per_issue=max(1, articles // 2),
        issues_per_year=2,
    )
    node = Node.create(home)
    start = time.perf_counter()
    for n, (title, _year, items) in enumerate(corpus.groups()[:aus]):
        bag = write_bag(work / f"bag-{n}", items, title)
        node.ingest.deposit(bag)
        shutil.rmtree(bag)
        print(f"deposited {n + 1}/{aus} ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    node.close()
    stamp.write_text(json.dumps(wanted))
    return home


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aus", type=int, default=50)
    ap.add_argument("--articles", type=int, default=200, help="articles per AU")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reuse", action="store_true", help="keep the deposited node for the next run")
    ap.add_argument("--src", type=Path, help="also run the reindex from this copy of the package's source (src)")
    ap.add_argument("--also", type=Path, help="another copy of the source to time the reindex from (a variant)")
    ap.add_argument("--profile", type=int, default=0, help="print the N costliest functions of one reindex")
    ap.add_argument("--workdir", type=Path, default=Path("bench/work/reindex"))
    args = ap.parse_args()
    home = build(args.workdir, args.aus, args.articles)
    if args.rounds < 1:  # built, and nothing measured
        return
    if args.profile:
        subprocess.run([sys.executable, "-c", PROFILE, str(home), str(args.profile)], check=True)
        return
    items = int(
        subprocess.run(
            [sys.executable, "-c", FLOOR, str(home)], capture_output=True, text=True, check=True
        ).stdout.split()[1]
    )
    measures: dict[str, list[float]] = {}
    plan = [
        ("floor: read and parse every deposit record", lambda: timed_child(FLOOR, home)),
        ("the reindex's reads alone (inventory, record as it reads it, files)", lambda: timed_child(READS, home)),
        ("Indexer.reindex(search=False)", lambda: timed_child(REINDEX, home)),
        ("strongroom reindex, whole command", lambda: whole_command(home)),
    ]
    if args.also:
        plan += [
            (f"also ({args.also}): Indexer.reindex(search=False)", lambda: timed_child(REINDEX, home, args.also)),
        ]
    if args.src:
        plan += [
            (f"before ({args.src}): Indexer.reindex(search=False)", lambda: timed_child(REINDEX, home, args.src)),
            (f"before ({args.src}): strongroom reindex, whole command", lambda: whole_command(home, args.src)),
        ]
    loads = [os.getloadavg()[0]]
    for _ in range(args.rounds):  # rounds interleave the measures, so a busy moment falls on all of them
        for name, run in plan:
            measures.setdefault(name, []).append(run())
        loads.append(os.getloadavg()[0])
    print(
        f"{args.aus} AUs × {args.articles} articles = {items:,} items; medians of {args.rounds} rounds; "
        f"load average (1 min) {min(loads):.2f}–{max(loads):.2f}\n"
    )
    floor = statistics.median(measures[plan[0][0]])
    print("| operation | seconds | items/s | time ÷ floor |")
    print("| --- | ---: | ---: | ---: |")
    for name, _ in plan:
        secs = statistics.median(measures[name])
        print(f"| {name} | {secs:.2f} | {items / secs:,.0f} | {secs / floor:.1f} |")


if __name__ == "__main__":
    main()
