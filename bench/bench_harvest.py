"""Harvest speed (see docs/benchmarks.md): Strongroom and `wget --mirror --warc-file` collect the same OJS-like
journal site, served on loopback by the project's fixture server, with the same scope and no politeness delay, in
one run. wget runs twice each round: as the issue names it (its default per-record gzip WARC) plus `--warc-cdx`,
so it makes what Strongroom makes (a compressed WARC and an index of it); and with `--no-warc-compression` and no
index, wget doing less than Strongroom does. The ceiling is the fixture server itself, measured with `wrk` on one
page.

Usage: .venv/bin/python bench/bench_harvest.py [--years 10] [--runs 5] [--workdir bench/work/harvest]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from strongroom.harvest.fetch import Fetcher
from strongroom.node import Node
from strongroom.samples.ojs_site import OjsSite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path("bench/work/harvest"))
    args = parser.parse_args()
    work = args.workdir.absolute()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    # the site runs in its own process, as a publisher's server would: neither tool shares its interpreter
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "strongroom.samples.ojs_site",
            "--years",
            str(args.years),
            "--issues-per-year",
            "4",
            "--articles-per-issue",
            "8",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    start = server.stdout.readline().strip()
    url = start.split("/index.php/")[0]
    base = "/index.php/" + start.split("/index.php/")[1].removesuffix("/gateway/clockss")
    site = OjsSite(years=tuple(range(2024 - args.years + 1, 2025)), issues_per_year=4, articles_per_issue=8)
    try:
        ours_runs, theirs_runs, plain_runs = [], [], []
        for run in range(args.runs):  # alternate the tools; report medians (wget's time varies run to run)
            # Strongroom: crawl, write WARC + CDXJ, store OCFL versions, catalogue every article (a fresh node)
            node = Node.create(work / f"home-{run}")
            node.harvests.configure(
                "issn:bench",
                name=site.title.title,
                publisher="Bench",
                country="KE",
                plan="ojs",
                settings={"start_url": start, "delay": 0},
            )
            t = time.perf_counter()
            result = node.web_harvest.run("issn:bench", fetcher=Fetcher(delay=0))
            ours_runs.append(time.perf_counter() - t)
            node.close()
            our_requests = len(result.outcomes) + 2  # an outcome is a request; plus robots.txt and the manifest
            our_bytes = sum(o.size for o in result.outcomes if o.note == "collected")
            crawl_only = sum(1 for o in result.outcomes if o.note == "collected")
            # wget: the same scope (the journal's pages and the assets they use), recursive, with a WARC file
            t_same, their_requests, their_bytes = wget(work, run, start, base, ["--warc-cdx"])
            theirs_runs.append(t_same)
            t_plain, plain_requests, _ = wget(work, run, start, base, ["--no-warc-compression"])
            plain_runs.append(t_plain)
        ours, theirs = statistics.median(ours_runs), statistics.median(theirs_runs)
        plain = statistics.median(plain_runs)
        # the server's own ceiling on one page
        wrk = subprocess.run(
            ["wrk", "-t1", "-c4", "-d5s", f"{url}{site.base}/article/view/1"],
            capture_output=True,
            text=True,
            check=False,
        )
        ceiling = re.search(r"Requests/sec:\s+([\d.]+)", wrk.stdout)
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"{len(site.articles)} articles, {len(site.issues)} issues; Strongroom {crawl_only} resources collected")
    print(
        f"median of {args.runs} runs each; Strongroom {sorted(round(x, 2) for x in ours_runs)} s, "
        f"wget {sorted(round(x, 2) for x in theirs_runs)} s, "
        f"wget without compression or index {sorted(round(x, 2) for x in plain_runs)} s"
    )
    # each round's own ratio (time is what differs: both tools make the same requests every round)
    rounds = sorted(
        round((our_requests / o) / (their_requests / w), 2) for o, w in zip(ours_runs, theirs_runs, strict=True)
    )
    print(f"ratio to wget in each round: {rounds}")
    print("| tool | requests | seconds | requests/s | MB/s | ratio to wget (requests/s) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| Strongroom (crawl + WARC + OCFL + catalog) | {our_requests} | {ours:.2f} | {our_requests / ours:.0f} | "
        f"{our_bytes / ours / 1e6:.2f} | {(our_requests / ours) / (their_requests / theirs):.2f} |"
    )
    print(
        f"| wget --mirror --warc-file --warc-cdx (gzip WARC + index, as Strongroom) | {their_requests} | "
        f"{theirs:.2f} | {their_requests / theirs:.0f} | {their_bytes / theirs / 1e6:.2f} | 1.00 |"
    )
    print(
        f"| wget --mirror --warc-file --no-warc-compression (no index) | {plain_requests} | {plain:.2f} | "
        f"{plain_requests / plain:.0f} | {their_bytes / plain / 1e6:.2f} | "
        f"{(plain_requests / plain) / (their_requests / theirs):.2f} |"
    )
    if ceiling:
        print(
            f"| ceiling: the fixture server under wrk (one page, 4 connections) | | | "
            f"{float(ceiling.group(1)):.0f} | | |"
        )


def wget(work: Path, run: int, start: str, base: str, extra: list[str]) -> tuple[float, int, int]:
    """One wget crawl of the site: seconds, responses, bytes of the files it saved."""
    shutil.rmtree(work / "wget-files", ignore_errors=True)
    t = time.perf_counter()
    done = subprocess.run(
        [
            "wget",
            "--mirror",  # recursive, infinite depth, timestamps (nothing to compare on a fresh directory)
            "--page-requisites",
            "--no-verbose",
            "--no-host-directories",
            f"--include-directories={base}/gateway,{base}/issue,{base}/article,/styles,/public",
            "--reject-regex",
            r"(search|login|user|stats)",
            f"--warc-file={work / f'wget-{run}{extra[0]}'}",
            *extra,
            "-P",
            str(work / "wget-files"),
            start,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - t
    requests = done.stderr.count(" URL:")  # --no-verbose logs one line per response
    size = sum(p.stat().st_size for p in (work / "wget-files").rglob("*") if p.is_file())
    return seconds, requests, size


if __name__ == "__main__":
    main()
