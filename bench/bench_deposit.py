"""Deposit throughput for many small articles vs bagit.py --validate and cp -r (see bench/README.md).

Usage: .venv/bin/python bench/bench_deposit.py [--articles 2000] [--workdir bench/work/deposit]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from strongroom.node import Node
from strongroom.samples import generate_corpus, write_bag


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=2000)
    ap.add_argument("--workdir", type=Path, default=Path("bench/work/deposit"))
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    per_issue = max(1, args.articles // 2)
    corpus = generate_corpus(
        3, publishers=1, titles_per_publisher=1, years=(2024,), articles_per_issue=per_issue, issues_per_year=2
    )
    title, _year, articles = corpus.groups()[0]
    bag = write_bag(args.workdir / "bag", articles, title)
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
