"""Fixity audit throughput (see bench/README.md): `strongroom audit` (the inventory's digest, as every audit checks)
against `bagit.py --validate` on the same bag, for three kinds of bag a publisher may send:

- (a) the bag `bagit.py` makes by default (``bagit.DEFAULT_CHECKSUMS``: sha256 and sha512 manifests, both of
  which `--validate` checks),
- (b) a bag with a sha512 manifest only,
- (c) a bag with a sha256 manifest only.

Each bag is deposited into a node of the default storage root (sha512 inventories) and audited there; bag (c) is
also deposited into a node whose root is set to sha256 (the ``storage.digest_algorithm`` setting), so that the
audit hashes the bag's algorithm, as bagit.py does. Every bag holds a copy of the same random files.

The limits, on the stored files: `cat` (the read limit) and one core of hashlib sha512 and sha256 (the hashing
limit of one core; sha512 also as the audit read before, a new bytes object a read, against one reused buffer).
Warm page cache, then cold (dropped before each contender) where the machine lets the cache be dropped; each
figure is the best of ``--repeat`` runs, wall seconds and processor seconds (this process and its children: on a
loaded machine the processor seconds still compare the work done).

Usage: .venv/bin/python bench/bench_fixity.py [--gb 1.0] [--file-mb 128] [--repeat 3] [--workdir bench/work/fixity]
       .venv/bin/python bench/bench_fixity.py --mixed [--repeat 3]   (the order files are hashed in: see mixed())
       .venv/bin/python bench/bench_fixity.py --small 5000 [--repeat 3] [--before /tmp/audit-before/src]
                                                                     (an AU of many small files: see small())
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bagit
from common import JATS, random_bag

from strongroom.node import Node

KINDS = {  # bag kind -> its manifests' algorithms
    "a": tuple(bagit.DEFAULT_CHECKSUMS),
    "b": ("sha512",),
    "c": ("sha256",),
}


def drop_caches() -> bool:
    """Empty the page cache (needs root); False where the machine does not allow it."""
    subprocess.run(["sync"], check=True)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def processor_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def one_core(algorithm: str, paths: list[Path]) -> None:
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    for p in paths:
        digest = hashlib.new(algorithm)
        with p.open("rb", buffering=0) as fh:
            while n := fh.readinto(buf):  # type: ignore[attr-defined]
                digest.update(view[:n])


def one_core_read(algorithm: str, paths: list[Path]) -> None:
    """As the audit read before: a new bytes object of 1 MiB a read."""
    for p in paths:
        digest = hashlib.new(algorithm)
        with p.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)


def make_bag(payload: Path, dest: Path, checksums: tuple[str, ...]) -> Path:
    """A bag at ``dest`` of a copy of ``payload``'s files with these manifests (a copy: a deposit refuses hard
    links)."""
    dest.mkdir(parents=True)
    for p in payload.iterdir():
        shutil.copyfile(p, dest / p.name)
    bagit.make_bag(str(dest), checksums=list(checksums), processes=2)
    return dest


@dataclass
class Stored:
    """A node holding one deposited bag, and the content files it stores."""

    node: Node
    files: list[Path]
    inventory: str

    def audit(self) -> None:
        report = self.node.audits.audit()
        assert report.intact and report.aus[0].digests == (self.inventory,), report.to_dict()


def deposit(home: Path, bag: Path, algorithm: str) -> tuple[Stored, float]:
    node = Node.create(home, digest_algorithm=algorithm)
    start = time.perf_counter()
    node.ingest.deposit(bag)
    took = time.perf_counter() - start
    au = node.catalog.aus()[0][0]
    root = node.store.object_path(au.object_id)
    files = sorted(p for p in root.rglob("*") if p.is_file() and "/content/" in str(p))
    return Stored(node, files, algorithm), took


def mixed(workdir: Path, repeat: int) -> None:
    """``--mixed``: the order files are handed to the audit's threads, largest first (what the audit does) against
    by content path (what it did), on one AU whose largest file comes last by path: six files of 64 MiB and one of
    384 MiB. By path, the large file starts when the small ones are done and is hashed by one core while the other
    waits; largest first, one core hashes it while the other hashes the six."""
    from strongroom.store import fixity

    rng = random.Random(11)
    payload = workdir / "mixed"
    payload.mkdir(parents=True)
    for name, mib in [*((f"part-{i}.bin", 64) for i in range(6)), ("zz-large.bin", 384)]:
        with (payload / name).open("wb") as fh:
            for _ in range(mib):
                fh.write(rng.randbytes(1 << 20))
    (payload / "article.xml").write_text(JATS)
    bagit.make_bag(str(payload), checksums=["sha512"], processes=2)
    stored, _ = deposit(workdir / "home-mixed", payload, "sha512")
    size = sum(p.stat().st_size for p in stored.files)
    by_size = fixity.schedule

    def by_path(expected: dict[str, dict[str, str]], sizes: dict[str, int]) -> list[tuple[str, dict[str, str]]]:
        return sorted(expected.items())

    best: dict[str, float] = {}
    print(f"Mixed AU: {len(stored.files)} files, {size / 1e9:.2f} GB; load average before: {os.getloadavg()}")
    for _ in range(repeat):
        for name, order in (("largest first", by_size), ("by content path (before)", by_path)):
            run(["cat", *map(str, stored.files)])  # warm
            fixity.schedule = order  # type: ignore[assignment]
            start = time.perf_counter()
            stored.audit()
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - start)
            fixity.schedule = by_size  # type: ignore[assignment]
    print("\n| order files are handed out | seconds | MB/s | time ÷ largest first's |\n| --- | ---: | ---: | ---: |")
    for name, secs in best.items():
        print(f"| {name} | {secs:.2f} | {size / secs / 1e6:.0f} | {secs / best['largest first']:.2f} |")
    print(f"load average after: {os.getloadavg()}")
    stored.node.close()


AUDIT_CHILD = """
import sys, time
from pathlib import Path
import strongroom
from strongroom.node import Node
node = Node.open(Path(sys.argv[1]))
start, cpu = time.perf_counter(), time.process_time()
report = node.audits.audit()
took, cpu = time.perf_counter() - start, time.process_time() - cpu
assert report.intact, report.to_dict()
node.close()
print(took, cpu, report.files, strongroom.__file__)
"""


def warm(paths: list[str]) -> None:
    """Read every file once (into the page cache), a few thousand to a `cat`: more would not fit one command line."""
    for i in range(0, len(paths), 2000):
        run(["cat", *paths[i : i + 2000]])


def small_bag(dest: Path, files: int, seed: int = 16) -> Path:
    """A sha512 bag of ``files`` random files of 2-50 KB (seeded: the same bag every run) and one JATS record."""
    rng = random.Random(seed)
    dest.mkdir(parents=True)
    for i in range(files):
        (dest / f"page-{i:05d}.bin").write_bytes(rng.randbytes(rng.randint(2 << 10, 50 << 10)))
    (dest / "article.xml").write_text(JATS)
    bagit.make_bag(str(dest), checksums=["sha512"], processes=2)
    return dest


def small(workdir: Path, files: int, repeat: int, before: Path | None) -> None:
    """``--small N``: the audit of one AU of N small files (2-50 KB), where the audit's fixed cost per file counts
    and not the hashing: `strongroom audit`'s code in a child process (the time of ``Audits.audit`` in it, and of
    the whole process), with ``--before`` the same from another version's source tree (it must know every migration
    of this tree's catalog), against `bagit.py --validate --processes 2` of the same (sha512) bag as a whole process.
    Wall and processor seconds, each the best of ``--repeat`` interleaved runs; warm page cache."""
    bag = small_bag(workdir / "bag", files)
    stored, took = deposit(workdir / "home", bag, "sha512")
    stored.node.close()
    size = sum(p.stat().st_size for p in stored.files)
    src = Path(__file__).resolve().parent.parent / "src"
    trees = {"strongroom audit (this tree)": src, **({"strongroom audit (before)": before} if before else {})}
    every_file = [str(p) for p in (workdir / "home").rglob("*") if p.is_file()] + [
        str(p) for p in bag.rglob("*") if p.is_file()
    ]
    print(
        f"Small-file AU: {len(stored.files)} content files, {size / 1e6:.1f} MB stored; "
        f"deposit took {took:.1f} s; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    nfiles = 0
    inner: dict[str, float] = {}  # Audits.audit in the child: wall seconds, and processor seconds below
    inner_cpu: dict[str, float] = {}
    whole: dict[str, float] = {}  # the whole process: wall seconds, and its processor seconds below
    whole_cpu: dict[str, float] = {}
    for _ in range(repeat):
        for name, tree in trees.items():
            warm(every_file)
            start, before = time.perf_counter(), processor_seconds()
            child = subprocess.run(
                [sys.executable, "-c", AUDIT_CHILD, str(workdir / "home")],
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": str(tree)},
            )
            if child.returncode:  # e.g. a --before tree that lacks a migration this tree's catalog has
                sys.exit(f"the audit with {tree} failed:\n{child.stderr}")
            out = child.stdout.split()
            whole[name] = min(whole.get(name, float("inf")), time.perf_counter() - start)
            whole_cpu[name] = min(whole_cpu.get(name, float("inf")), processor_seconds() - before)
            inner[name] = min(inner.get(name, float("inf")), float(out[0]))
            inner_cpu[name] = min(inner_cpu.get(name, float("inf")), float(out[1]))
            nfiles = int(out[2])
            assert Path(out[3]).is_relative_to(tree), out  # the tree asked for, not the installed package
        name = "bagit.py --validate --processes 2"
        warm(every_file)
        start, before = time.perf_counter(), processor_seconds()
        run([sys.executable, "-m", "bagit", "--validate", "--processes", "2", str(bag)])
        whole[name] = min(whole.get(name, float("inf")), time.perf_counter() - start)
        whole_cpu[name] = min(whole_cpu.get(name, float("inf")), processor_seconds() - before)
    ours, ours_cpu = whole["strongroom audit (this tree)"], whole_cpu["strongroom audit (this tree)"]
    print(
        "\n| reader | Audits.audit s | its CPU s | whole process s | its CPU s | files/s (whole process) "
        "| its time ÷ this tree's | its CPU ÷ this tree's |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, secs in whole.items():
        audit_s = f"{inner[name]:.2f} | {inner_cpu[name]:.2f}" if name in inner else " | "
        print(
            f"| {name} | {audit_s} | {secs:.2f} | {whole_cpu[name]:.2f} | {nfiles / secs:.0f} | {secs / ours:.2f} "
            f"| {whole_cpu[name] / ours_cpu:.2f} |"
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--file-mb", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each contender; the best is kept")
    ap.add_argument("--workdir", type=Path, default=Path("bench/work/fixity"))
    ap.add_argument("--mixed", action="store_true", help="only the order files are audited in (see mixed())")
    ap.add_argument("--small", type=int, default=0, help="only an AU of this many small files (see small())")
    ap.add_argument("--before", type=Path, help="with --small: another version's src tree, audited too")
    args = ap.parse_args()
    if args.small:
        shutil.rmtree(args.workdir, ignore_errors=True)
        small(args.workdir, args.small, args.repeat, args.before)
        shutil.rmtree(args.workdir, ignore_errors=True)
        return
    if args.mixed:
        shutil.rmtree(args.workdir, ignore_errors=True)
        mixed(args.workdir, args.repeat)
        shutil.rmtree(args.workdir, ignore_errors=True)
        return
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    # The payload: random_bag's files without its bag (its manifest is sha256 only; each kind is bagged below).
    seed = random_bag(args.workdir / "seed", int(args.gb * 1e9), args.file_mb << 20)
    payload = args.workdir / "payload"
    payload.mkdir()
    for p in (seed / "data").iterdir():
        os.link(p, payload / p.name)
    shutil.rmtree(seed)
    bags = {kind: make_bag(payload, args.workdir / f"bag-{kind}", algs) for kind, algs in KINDS.items()}
    stored: dict[str, Stored] = {}
    deposits = []
    for kind, algorithm in (("a", "sha512"), ("b", "sha512"), ("c", "sha512"), ("c", "sha256")):
        stored[f"{kind}/{algorithm}"], took = deposit(args.workdir / f"home-{kind}-{algorithm}", bags[kind], algorithm)
        deposits.append(took)
    files = stored["a/sha512"].files
    size = sum(p.stat().st_size for p in files)
    cores = os.cpu_count() or 1
    every_file = [str(p) for s in stored.values() for p in s.files] + [
        str(p) for bag in bags.values() for p in bag.rglob("*") if p.is_file()
    ]

    def bagit_validate(bag: Path, processes: int) -> Callable[[], None]:
        return lambda: run([sys.executable, "-m", "bagit", "--validate", "--processes", str(processes), str(bag)])

    # (row label, the audit it is compared with, what it runs)
    rows: list[tuple[str, str, Callable[[], None]]] = [
        ("cat of the stored files (read limit)", "", lambda: run(["cat", *map(str, files)])),
        ("hashlib sha512, one core", "", lambda: one_core("sha512", files)),
        ("hashlib sha512, one core, a new bytes object a read", "", lambda: one_core_read("sha512", files)),
        ("hashlib sha256, one core", "", lambda: one_core("sha256", files)),
    ]
    audit_rows: dict[str, str] = {}  # node -> the row of its audit
    for kind, algs in KINDS.items():
        label = f"({kind}) {' + '.join(algs)} bag"
        ours = f"{kind}/sha512"
        roots = ("sha512", "sha256") if kind == "c" else ("sha512",)
        for root in roots:
            key = f"{kind}/{root}"
            audit_rows[key] = f"{label}: **strongroom audit, {root} root**"
            rows.append((audit_rows[key], key, stored[key].audit))
        for processes in sorted({1, cores}):
            rows.append(
                (f"{label}: bagit.py --validate --processes {processes}", ours, bagit_validate(bags[kind], processes))
            )
    print(
        f"Content: {len(files)} files, {size / 1e9:.2f} GB stored per node (each bag holds the same files); "
        f"deposits took {', '.join(f'{t:.1f}' for t in deposits)} s; cores: {cores}; bagit.DEFAULT_CHECKSUMS: "
        f"{bagit.DEFAULT_CHECKSUMS}; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    for cold in (False, True):
        if cold and not drop_caches():
            print("\n(cannot drop the page cache here: cold-cache figures skipped)")
            continue
        best: dict[str, float] = {}
        cpu: dict[str, float] = {}  # processor seconds (this process and its children), the least of the runs
        for _ in range(args.repeat):
            for name, _against, fn in rows:
                if cold:
                    drop_caches()
                else:
                    run(["cat", *every_file])  # everything in memory
                start, before = time.perf_counter(), processor_seconds()
                fn()
                best[name] = min(best.get(name, float("inf")), time.perf_counter() - start)
                cpu[name] = min(cpu.get(name, float("inf")), processor_seconds() - before)
        audit_time = {key: best[name] for key, name in audit_rows.items()}
        read = best[rows[0][0]]
        print(f"\n{'Cold page cache (read from disk)' if cold else 'Warm page cache (hashing only)'}:\n")
        print("| reader | seconds | MB/s | ÷ cat's MB/s | its time ÷ our audit's (same bag, sha512 root) | CPU s |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for name, against, _fn in rows:
            secs = best[name]
            ratio = f"{secs / audit_time[against]:.2f}" if against else ""
            if against == "c/sha256":
                ratio = f"{secs / audit_time['c/sha512']:.2f} (1.00: the sha256 root's own)"
            elif against == "c/sha512" and "bagit" in name:
                ratio += f" ({secs / audit_time['c/sha256']:.2f} vs the sha256 root)"
            print(f"| {name} | {secs:.2f} | {size / secs / 1e6:.0f} | {read / secs:.2f} | {ratio} | {cpu[name]:.2f} |")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for s in stored.values():
        s.node.close()
    shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
