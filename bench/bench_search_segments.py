"""Does the number of segments of a Tantivy index decide a common word's pruned top 10? Bare Tantivy (the library
alone, as ``bench_search.py`` builds its reference index) on the first ``--items`` of the same seeded documents,
written twice: by one indexing thread with a heap large enough for one segment, and by ``--threads`` threads sharing
256 MB (as ``bench_search.py`` writes its reference, several segments). Each index's pruned top 10 (``count=False``:
block-WAND skips what cannot rank) of the 20 common words ``bench_search.py`` picks, p50 and p95 over ``--rounds``
passes after a warm-up pass. Nothing here asserts a time.

    .venv/bin/python bench/bench_search_segments.py --items 1000000
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from bench_search import bare_empty, bare_top, document_frequency, timed, write_all
from synthetic import streamed_documents

ONE_SEGMENT_HEAP = 3_900_000_000  # bytes: Tantivy's largest heap for one thread (under 4 GB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--vocabulary", type=int, default=50_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path("bench/work/segments"))
    args = parser.parse_args()
    sample = list(streamed_documents(min(args.items, 20_000), args.vocabulary))
    common = [w for w, _ in document_frequency(sample).most_common()][5:25]  # as bench_search.py picks them
    print(f"load average {os.getloadavg()[0]:.2f}; {args.items:,} documents\n")
    print("| index | written in (s) | segments | pruned top 10 of a common word, p50 / p95 (ms) |")
    print("| --- | ---: | ---: | ---: |")
    for name, heap, threads in [
        ("one thread, one segment", ONE_SEGMENT_HEAP, 1),
        (f"{args.threads} threads sharing 256 MB", 256_000_000, args.threads),
    ]:
        path = args.workdir / f"{threads}-threads"
        shutil.rmtree(path, ignore_errors=True)
        index = bare_empty(path)
        seconds = write_all(index, streamed_documents(args.items, args.vocabulary), heap=heap, threads=threads)
        segments = index.searcher().num_segments
        p50, p95 = timed(lambda w, index=index: bare_top(index, w), common, args.rounds)
        print(f"| {name} | {seconds:.0f} | {segments} | {p50:.2f} / {p95:.2f} |", flush=True)
        del index
        time.sleep(1)
    print(f"\nload average {os.getloadavg()[0]:.2f}")
    shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
