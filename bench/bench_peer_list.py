"""What ``GET /peer/v1/objects`` costs a member that holds many objects: the list of (object id, head version) that
``network status``, replication and releasing ask every member for (``PeerService.objects``, which is
``store.heads()`` now, and was ``head_version(oid) for oid in iter_object_ids()`` before: every root inventory
parsed, twice, on every request). First request of a fresh process, then repeated requests, for this tree and for
the one at ``--before`` (default: ``git archive HEAD src``), each in its own process over the same storage root;
and the physical limit: walking the root to find the objects, and a stat of every object's sidecar.

The objects are made quickly: one is committed, the rest are copies of it with their own id (their inventories
and sidecars rewritten), valid OCFL objects of ``--files`` files each (an AU of many articles has many).
The page cache is warm (the root is read once before timing).

Usage: .venv/bin/python bench/bench_peer_list.py [--objects 10000] [--files 1] [--repeat 3]
       [--workdir bench/work/peer_list] [--reuse] [--before SRC]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
from pathlib import Path
from strongroom.store.ocfl import OcflStore
store = OcflStore.open(Path(sys.argv[1]), Path(sys.argv[2]))
listing = getattr(store, "heads", None)
if listing is None or sys.argv[4] == "before":
    def listing():
        return [(oid, store.head_version(oid)) for oid in store.iter_object_ids()]
times = []
for _ in range(int(sys.argv[3]) + 1):
    t = time.perf_counter()
    got = list(listing())
    times.append(time.perf_counter() - t)
import strongroom.store.ocfl as ocfl
print(json.dumps({"times": times, "objects": len(got), "sum": sum(h for _, h in got), "code": ocfl.__file__}))
"""


def make_objects(workdir: Path, objects: int, files: int) -> Path:
    from strongroom.store.base import stage_file
    from strongroom.store.ocfl import INVENTORY, OcflStore
    from strongroom.store.paths import hash_and_id_path

    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    store = OcflStore.create(workdir / "root", workdir / "staging")
    scratch = workdir / "files"
    scratch.mkdir()
    staged = []
    for i in range(files):
        (scratch / f"{i}.txt").write_text(f"article {i}\n")
        staged.append(stage_file(f"articles/{i:05d}.xml", scratch / f"{i}.txt"))
    ids = [f"strongroom:au/issn:{1000 + i // 25:04d}-{i % 10000:04d}/{2000 + i % 25}" for i in range(objects)]
    store.commit_version(ids[0], staged, message="bench", user_name="bench")
    template = store.object_path(ids[0])
    inventory = json.loads((template / INVENTORY).read_bytes())
    for oid in ids[1:]:
        target = store.root / hash_and_id_path(oid)
        shutil.copytree(template, target)
        inventory["id"] = oid
        data = json.dumps(inventory, sort_keys=True, indent=1).encode()
        sidecar = f"{hashlib.sha512(data).hexdigest()}  {INVENTORY}\n".encode()
        for where in (target, target / "v1"):
            (where / INVENTORY).write_bytes(data)
            (where / f"{INVENTORY}.sha512").write_bytes(sidecar)
    return store.root


def child(src: Path, root: Path, staging: Path, repeat: int, mode: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), str(staging), str(repeat), mode],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=10_000)
    ap.add_argument("--files", type=int, default=1, help="files in each object")
    ap.add_argument("--repeat", type=int, default=3, help="requests after the first")
    ap.add_argument("--workdir", type=Path, default=Path("bench/work/peer_list"))
    ap.add_argument("--reuse", action="store_true", help="the objects of the last run in --workdir")
    ap.add_argument("--before", type=Path, help="another version's src tree (default: git archive HEAD src)")
    args = ap.parse_args()
    if not args.reuse:
        t = time.monotonic()
        make_objects(args.workdir, args.objects, args.files)
        print(f"{args.objects} objects of {args.files} files made in {time.monotonic() - t:.0f} s")
    root, staging = (args.workdir / "root").resolve(), (args.workdir / "staging").resolve()
    with tempfile.TemporaryDirectory() as tmp:
        before = args.before
        if before is None:
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", "HEAD", "src"], check=True, capture_output=True
            )
            subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
            before = Path(tmp) / "src"
        sidecars = []
        t = time.perf_counter()
        for dirpath, dirnames, filenames in os.walk(root):
            if "0=ocfl_object_1.1" in filenames:
                dirnames.clear()
                sidecars.append(os.path.join(dirpath, "inventory.json.sha512"))
        walk = time.perf_counter() - t
        t = time.perf_counter()
        for path in sidecars:
            os.stat(path)
        stat = time.perf_counter() - t
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        results = {
            "before (parse every inventory, twice)": child(before.resolve(), root, staging, args.repeat, "before"),
            "after (sidecar signatures)": child(ROOT / "src", root, staging, args.repeat, "after"),
        }
    for label, r in results.items():
        print(f"{label}: {r['code']}")
    answers = {(r["objects"], r["sum"]) for r in results.values()}
    assert len(answers) == 1 and len(sidecars) == args.objects, (answers, len(sidecars))
    print(f"| list of {len(sidecars):,} objects ({args.files} files each) | first request (s) | repeated (s, median) |")
    print("|---|---:|---:|")
    for label, r in results.items():
        times = [float(x) for x in r["times"]]  # type: ignore[attr-defined]
        print(f"| {label} | {times[0]:.3f} | {sorted(times[1:])[len(times[1:]) // 2]:.3f} |")
    print(f"| physical limit: walk the root to find the objects | {walk:.3f} | |")
    print(f"| physical limit: stat {len(sidecars):,} sidecars | {stat:.3f} | |")
    (b, a) = ([float(x) for x in r["times"]] for r in results.values())  # type: ignore[attr-defined]
    print(f"ratio before/after: first {b[0] / a[0]:.1f}x, repeated {min(b[1:]) / min(a[1:]):.1f}x")


if __name__ == "__main__":
    main()
