"""Deposit throughput for many small articles vs bagit.py --validate and cp -r (see bench/README.md); with
``--memory N,M,...``, instead, the peak resident memory (its VmHWM) of a process that only deposits a bag of N
articles, for each N, against the same for `bagit.py --validate` of the bag, each with the highest of its anonymous
and of its file-backed resident memory (mapped files, such as the search index's, are page cache the kernel can take
back; anonymous memory is the process's own), read every 5 ms; with ``--before SRC`` as well, the same deposit run
from another copy of the package's source (``SRC/strongroom``, e.g. a checkout of an earlier commit's ``src``), so
that a change is measured before and after in one run; with ``--stages N``, the resident memory (now, its peak so
far, its anonymous part and that part's peak since the row before, from ``/proc/self/status``) before and after each
stage of one deposit of N articles, the bag made in a forked child (with ``--trace`` as well, Python's own heap, now
and its peak since the row before, from tracemalloc: slower); with
``--walk N,M,...``, the seconds and peak memory of a process that only checks a directory bag of N articles'
names (``check_tree``) or only walks its payload (``names_under``), against ``os.walk`` over the same tree (what
``bagit.py`` lists a payload with), in one run; with
``--listing N``, the seconds to list the files of an OCFL object of N files from its inventory read in pieces
(``OcflStore.listing``, what cataloguing does) against reading it whole (``OcflStore.files``), in one run; with
``--search N``, the anonymous memory of the search index's writer alone writing N documents as a deposit's sync
does, every 10,000 documents.

Usage: .venv/bin/python bench/bench_deposit.py [--articles 2000] [--memory 1000,10000 [--before SRC]]
       [--stages 10000 [--trace]] [--walk 10000,50000] [--listing 20000] [--search 200000]
       [--workdir bench/work/deposit]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from strongroom.node import Node
from strongroom.samples import generate_corpus, write_bag

DEPOSIT = "import sys; from pathlib import Path; from strongroom.node import Node; " + (
    "Node.create(Path(sys.argv[2])).ingest.deposit(Path(sys.argv[1]))"
)


def make_bag(dest: Path, articles: int) -> Path:
    corpus = generate_corpus(
        3,
        publishers=1,
        titles_per_publisher=1,
        years=(2024,),
        articles_per_issue=max(1, articles // 2),
        issues_per_year=2,
    )
    title, _year, items = corpus.groups()[0]
    return write_bag(dest, items, title)


def peak_mb(cmd: list[str], src: Path | None = None) -> tuple[float, float, float, float]:
    """The peak resident memory (MB) of ``cmd`` run to completion (importing strongroom from ``src`` if given), its
    wall seconds, and the highest of its anonymous and of its file-backed resident memory (MB) seen by reading
    ``/proc/PID/status`` every 5 ms: file-backed pages (mapped files such as a search index's segments) are page
    cache the kernel can take back, anonymous ones are the process's own.

    The peak is the child's own high-water mark (``VmHWM``, read with the rest), not ``ru_maxrss``: Linux carries
    the forking process's high-water mark into the ``ru_maxrss`` of a child that execs, so a child of this process,
    which has just made a bag of tens of thousands of articles in memory, was reported at this process's size."""
    env = dict(os.environ, PYTHONPATH=str(src.resolve())) if src else None
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)  # bagit.py logs
    anon = mapped = peak = 0
    while True:
        waited, status, _usage = os.wait4(child.pid, os.WNOHANG)
        if waited:
            break
        with contextlib.suppress(OSError, KeyError, ValueError):
            with open(f"/proc/{child.pid}/status", encoding="ascii") as fh:
                kinds = dict(line.split(":", 1) for line in fh if line.startswith(("RssAnon", "RssFile", "VmHWM")))
            anon = max(anon, int(kinds["RssAnon"].split()[0]))
            mapped = max(mapped, int(kinds["RssFile"].split()[0]))
            peak = max(peak, int(kinds["VmHWM"].split()[0]))
        time.sleep(0.005)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{cmd[:3]} failed ({child.returncode})")
    return peak / 1024, time.perf_counter() - start, anon / 1024, mapped / 1024


def memory(work: Path, sizes: list[int], before: Path | None = None) -> None:
    bagit_py = str(Path(sys.executable).parent / "bagit.py")
    print(f"load average {os.getloadavg()[0]:.2f}\n")
    split = " peak RSS (MB) | of it, highest anonymous / file-backed (MB) | seconds |"
    head = "| articles | Strongroom deposit:" + split
    if before:
        head += f" before ({before}):" + split
    head += " bagit.py --validate: peak RSS (MB) | highest anonymous / file-backed (MB) |"
    print(head + "\n" + "| ---: " * (head.count("|") - 1) + "|")

    def cells(peak: float, secs: float | None, anon: float, mapped: float) -> str:
        return f" {peak:.0f} | {anon:.0f} / {mapped:.0f} |" + (f" {secs:.1f} |" if secs is not None else "")

    for n in sizes:
        bag = make_bag(work / f"bag-{n}", n)
        ours, secs, anon, mapped = peak_mb([sys.executable, "-c", DEPOSIT, str(bag), str(work / f"home-{n}")])
        row = f"| {n:,} |" + cells(ours, secs, anon, mapped)
        if before:
            deposit = [sys.executable, "-c", DEPOSIT, str(bag), str(work / f"home-before-{n}")]
            old, old_secs, old_anon, old_mapped = peak_mb(deposit, before)
            row += cells(old, old_secs, old_anon, old_mapped)
        theirs, _, their_anon, their_mapped = peak_mb([bagit_py, "--validate", "--processes", "1", str(bag)])
        print(row + cells(theirs, None, their_anon, their_mapped), flush=True)
    print(f"\nload average {os.getloadavg()[0]:.2f}")


def _resident() -> tuple[float, float, float]:
    """This process's resident memory, its peak so far and its anonymous part now, in MB (Linux)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        status = dict(line.split(":", 1) for line in fh if line.startswith(("VmRSS", "VmHWM", "RssAnon")))
    now, peak, anon = (int(status[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM", "RssAnon"))
    return now, peak, anon


def _sqlite_memory() -> Callable[[], float] | None:
    """SQLite's own allocations now (MB), from the library Python's ``sqlite3`` is linked to (its memory is outside
    Python's heap, so tracemalloc does not see it); None where that library cannot be loaded."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("sqlite3")
    if name is None:
        return None
    try:
        used = ctypes.CDLL(name).sqlite3_memory_used
    except (OSError, AttributeError):
        return None
    used.restype = ctypes.c_int64
    return lambda: used() / 2**20


class _AnonPeak(threading.Thread):
    """The highest anonymous resident memory (MB) seen every 5 ms since :meth:`take` was last called."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.highest = 0.0

    def run(self) -> None:
        while True:
            self.highest = max(self.highest, _resident()[2])
            time.sleep(0.005)

    def take(self) -> float:
        highest, self.highest = max(self.highest, _resident()[2]), 0.0
        return highest


def _bag_made_apart(dest: Path, articles: int) -> Path:
    """The bag of :func:`make_bag`, made in a forked child, so that this process's memory is a deposit's alone."""
    import multiprocessing

    child = multiprocessing.get_context("fork").Process(target=make_bag, args=(dest, articles))
    child.start()
    child.join()
    if child.exitcode:
        raise SystemExit(f"making the bag failed ({child.exitcode})")
    return dest


def stages(work: Path, articles: int, trace: bool = False) -> None:
    """The resident memory around each stage of one deposit (the stages' functions wrapped in this process); with
    ``trace``, Python's heap as well (tracemalloc: its current size and its peak since the row before)."""
    import tracemalloc

    import strongroom.services.deposit as deposit_service
    import strongroom.services.indexer as indexer
    from strongroom.store.ocfl import OcflStore

    bag = _bag_made_apart(work / "bag", articles)
    node = Node.create(work / "home")
    print(f"load average {os.getloadavg()[0]:.2f}\n")
    print(
        "| point | resident (MB) | peak so far (MB) | anonymous (MB) | anonymous peak since the row before |"
        + " SQLite's own (MB) |"
        + (" heap (MB) | heap peak since the row before |" if trace else "")
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |" + (" ---: | ---: |" if trace else ""))
    sqlite_used = _sqlite_memory()
    sampler = _AnonPeak()
    sampler.start()
    if trace:
        tracemalloc.start()

    def row(point: str) -> None:
        now, peak, anon = _resident()
        highest_anon = sampler.take()
        heap = ""
        if trace:
            current, highest = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            heap = f" {current / 2**20:.1f} | {highest / 2**20:.1f} |"
        lite = f"{sqlite_used():.1f}" if sqlite_used else "?"
        print(f"| {point} | {now:.0f} | {peak:.0f} | {anon:.0f} | {highest_anon:.0f} | {lite} |{heap}", flush=True)

    def wrap(owner: object, name: str, stage: str) -> None:
        real = getattr(owner, name)

        def measured(*args: object, **kwargs: object) -> object:
            row(f"before {stage}")
            try:
                return real(*args, **kwargs)
            finally:
                row(f"after {stage}")

        setattr(owner, name, measured)

    wrap(deposit_service, "open_package", "opening the package")
    wrap(deposit_service, "plan_deposit", "planning")
    wrap(deposit_service, "write_record", "writing the deposit record")
    wrap(OcflStore, "commit_version", "writing the OCFL version")
    wrap(indexer.Indexer, "_catalogue", "cataloguing")
    wrap(indexer.Indexer, "_sync_after_write", "the search index's sync")
    node.ingest.deposit(bag)
    node.close()
    print(f"\nload average {os.getloadavg()[0]:.2f}")


WALKS = {
    "check_tree (links, special files, names one elsewhere)": (
        "from strongroom.formats.archives import check_tree; check_tree(sys.argv[1])"
    ),
    "names_under (the payload's files)": (
        "from strongroom.formats.archives import names_under; sum(1 for _ in names_under(sys.argv[1], 'data'))"
    ),
    "os.walk (the standard library, as bagit.py lists a payload)": (
        "import os; sum(len(files) for _, _, files in os.walk(os.path.join(sys.argv[1], 'data')))"
    ),
}


def walks(work: Path, sizes: list[int], before: Path | None = None) -> None:
    """Seconds and peak memory of a process that only walks a directory bag, and that peak above the same process's
    on a bag with no payload (and with ``before``, Strongroom's walks run from that copy of the source as well)."""
    print(f"load average {os.getloadavg()[0]:.2f}\n")
    print("| articles | walk | seconds | peak (MB) | above the same on an empty bag (MB) |")
    print("| ---: | --- | ---: | ---: | ---: |")
    empty = work / "empty"
    (empty / "data").mkdir(parents=True)
    runs = [(name, code, None) for name, code in WALKS.items()]
    if before:
        runs += [(f"{name}, before", code, before) for name, code in WALKS.items() if "strongroom" in code]
    bases = {
        name: peak_mb([sys.executable, "-c", "import sys; " + code, str(empty)], src)[0] for name, code, src in runs
    }
    for n in sizes:
        bag = _bag_made_apart(work / f"bag-{n}", n)
        for name, code, src in runs:
            peak, secs, _anon, _mapped = peak_mb([sys.executable, "-c", "import sys; " + code, str(bag)], src)
            print(f"| {n:,} | {name} | {secs:.2f} | {peak:.1f} | {peak - bases[name]:.1f} |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.2f}")


def listing(work: Path, files: int, rounds: int = 2) -> None:
    """Seconds to list an object's files, its inventory read in pieces against read whole (each after let_go)."""
    from strongroom.store.base import stage_file
    from strongroom.store.ocfl import OcflStore

    store = OcflStore.create(work / "root", work / "staging")
    (work / "src").mkdir()
    staged = []
    for n in range(files):
        source = work / "src" / str(n)
        source.write_bytes(b"%d" % n)
        staged.append(stage_file(f"payload/article-{n:06}/full-text.pdf", source))
    store.commit_version("bench", staged, message="bench", user_name="bench")
    print(f"load average {os.getloadavg()[0]:.2f}\n")
    print("| files | inventory read whole (s) | read in pieces, listed (s) | ratio |\n| ---: | ---: | ---: | ---: |")
    for _ in range(rounds):
        store.let_go("bench")
        start = time.perf_counter()
        whole = store.files("bench")
        whole_secs = time.perf_counter() - start
        start = time.perf_counter()
        with store.listing("bench") as listed:
            pieces = list(listed.files())
        pieces_secs = time.perf_counter() - start
        assert pieces == whole
        print(f"| {files:,} | {whole_secs:.2f} | {pieces_secs:.2f} | {pieces_secs / whole_secs:.2f} |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.2f}")


def search_writer(work: Path, documents: int, every: int = 10_000, shards: int = 1) -> None:
    """The search index's writer alone, as a deposit's sync uses it (one kept writer, a commit per batch of the
    search queue, its memory given back after each): the anonymous memory now, and its highest since the row
    before, every ``every`` documents, in an index of ``shards`` shards. The documents are those of the search
    benchmark (``synthetic.streamed_documents``: seeded, words drawn with a Zipf distribution of exponent 1.07 from
    a vocabulary of 50,000, so the commonest word is about one word in ten, as "the" or "de" is in real text)."""
    import itertools

    from synthetic import streamed_documents

    from strongroom.alloc import give_back
    from strongroom.search.tantivy_index import TantivyIndex
    from strongroom.services.indexer import SEARCH_BATCH

    index = TantivyIndex(work / "search", shards)
    stream = streamed_documents(documents, 50_000)
    stream = itertools.chain([next(stream)], stream)  # the generator's pools (about 80 MB) drawn before row 0
    sampler = _AnonPeak()
    sampler.start()
    print(f"load average {os.getloadavg()[0]:.2f}\n")
    print("| documents written | anonymous now (MB) | highest since the row before (MB) |\n| ---: | ---: | ---: |")
    print(f"| 0 | {_resident()[2]:.0f} | {sampler.take():.0f} |", flush=True)
    written = 0
    with index.batches():
        while batch := list(itertools.islice(stream, SEARCH_BATCH)):
            index.replace(batch)
            written += len(batch)
            del batch
            give_back()
            if written % every == 0 or written == documents:
                print(f"| {written:,} | {_resident()[2]:.0f} | {sampler.take():.0f} |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=2000)
    ap.add_argument("--memory", default="", help="comma-separated article counts: measure peak memory instead")
    ap.add_argument("--before", type=Path, help="with --memory or --walk: also run from this copy of the source (src)")
    ap.add_argument("--stages", type=int, default=0, help="resident memory around each stage of one deposit")
    ap.add_argument("--trace", action="store_true", help="with --stages: Python's heap as well (tracemalloc)")
    ap.add_argument("--walk", default="", help="comma-separated article counts: time and memory of the walks")
    ap.add_argument("--listing", type=int, default=0, help="time listing an object of this many files")
    ap.add_argument("--search", type=int, default=0, help="memory of the search index's writer alone, N documents")
    ap.add_argument("--shards", type=int, default=1, help="with --search: the index's shards (search.shards)")
    ap.add_argument("--workdir", type=Path, default=Path("bench/work/deposit"))
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    if args.search:
        search_writer(args.workdir, args.search, shards=args.shards)
        shutil.rmtree(args.workdir, ignore_errors=True)
        return
    if args.listing:
        listing(args.workdir, args.listing)
        shutil.rmtree(args.workdir, ignore_errors=True)
        return
    if args.walk:
        walks(args.workdir, [int(n) for n in args.walk.split(",")], args.before)
        shutil.rmtree(args.workdir, ignore_errors=True)
        return
    if args.stages:
        stages(args.workdir, args.stages, args.trace)
        shutil.rmtree(args.workdir, ignore_errors=True)
        return
    if args.memory:
        memory(args.workdir, [int(n) for n in args.memory.split(",")], args.before)
        shutil.rmtree(args.workdir, ignore_errors=True)
        return
    bag = make_bag(args.workdir / "bag", args.articles)
    files = [p for p in (bag / "data").rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    node = Node.create(args.workdir / "home")
    start = time.perf_counter()
    result = node.ingest.deposit(bag)
    ours = time.perf_counter() - start
    node.close()
    start = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "bagit.py"), "--validate", "--processes", "1", str(bag)],
        check=True,
        capture_output=True,
    )
    bagit_secs = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run(["cp", "-r", str(bag), str(args.workdir / "copy")], check=True)
    cp_secs = time.perf_counter() - start
    print(f"Package: {result.items} articles, {len(files)} files, {size / 1e6:.1f} MB (BagIt, sha256 + sha512)\n")
    print("| operation | seconds | files/s | MB/s | time ÷ strongroom deposit |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, secs in [
        ("strongroom deposit (verify, identify, parse JATS, OCFL write, catalogue)", ours),
        ("bagit.py --validate (verify only)", bagit_secs),
        ("cp -r (copy only)", cp_secs),
    ]:
        print(f"| {name} | {secs:.2f} | {len(files) / secs:.0f} | {size / secs / 1e6:.1f} | {secs / ours:.2f} |")
    shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
