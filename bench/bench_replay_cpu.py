"""Processor time of one uncached replay, in process (see docs/benchmarks.md): the portal's `/archive/` route
called directly, with the replay cache keeping no page (as `portal.replay_cache_mb = 0`; the released AU's object
id is remembered, as `portal serve` does), over distinct article pages of a harvested AU. `time.process_time`
counts this process's processor time only, so other work on the machine disturbs it far less than wall-clock
timing; run it with `PYTHONPATH=` an earlier `src` to compare before and after a change.

Usage: .venv/bin/python bench/bench_replay_cpu.py --articles 1200 [--pages 300] [--rounds 5] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

from bench_replay import harvest
from starlette.requests import Request

from strongroom.node import Node
from strongroom.portal import archive
from strongroom.portal.app import create_portal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1200)
    parser.add_argument("--pages", type=int, default=300, help="distinct pages replayed per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workdir", type=Path, help="an AU harvested by an earlier run (made when absent)")
    args = parser.parse_args()
    work = (args.workdir or Path(f"bench/work/replay-cpu-{args.articles}")).absolute()
    if not (work / "pages.json").exists():
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        node, au_key, pages = harvest(work, args.articles)
        node.close()
        (work / "pages.json").write_text(json.dumps({"au_key": au_key, "pages": pages}))
    meta = json.loads((work / "pages.json").read_text())
    au_key, urls = meta["au_key"], [url for url, _ in meta["pages"]]
    node = Node.open(work / "home")
    app = create_portal(node)
    app.state.replay_cache = archive.ReplayCache(30, 0)  # object ids kept, no page kept
    request = Request({"type": "http", "app": app, "method": "GET", "path": "/", "headers": [], "query_string": b""})
    for url in urls[:50]:  # warm: imports, the catalog's first query
        archive.archived_page(request, au_key, url)
    per_replay = []
    for r in range(args.rounds):
        batch = [urls[(50 + r * args.pages + i) % len(urls)] for i in range(args.pages)]
        began = time.process_time()
        for url in batch:
            assert archive.archived_page(request, au_key, url).status_code == 200
        per_replay.append((time.process_time() - began) / len(batch) * 1000)
    print(
        f"{len(urls)} pages, {args.articles} articles: processor ms per uncached replay, best of {args.rounds} rounds "
        f"of {args.pages}: {min(per_replay):.3f} (rounds: {', '.join(f'{t:.3f}' for t in per_replay)}); "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    node.close()


if __name__ == "__main__":
    main()
