"""How long the everyday commands take from a shell, whole process: ``strongroom --help``, ``strongroom items`` (a
small sample home) and ``strongroom au status AU`` against the physical limits, ``python -c pass`` (starting the
interpreter) and ``python -c "import sqlalchemy"`` (the one library a command that reads the catalog cannot do
without).

The sample home holds the sample corpus (6 titles, 72 articles), deposited, and has joined a network of two whose
other member refuses connections at once, so ``au status`` asks the network and is answered without waiting.

Every command runs as a new process, as a user starts it, ``--runs`` times in turn after one warm-up run each (the
warm-up fills a bytecode cache under the work directory, as an installed program has one; this ignores
PYTHONDONTWRITEBYTECODE); the table shows medians and each median's ratio to ``python -c "import sqlalchemy"``.
With ``--src DIR`` the commands run the package found in DIR (a checkout's ``src``, such as ``git archive HEAD src``
unpacked) instead of the installed one, on a home that version made: to measure an older version.

Usage: .venv/bin/python bench/bench_cli.py [--runs 15] [--workdir bench/work/cli] [--src DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.demo import write_packages
from strongroom.keys import public_key_text
from strongroom.network.config import Member, NetworkConfig, NetworkPolicy, sign_config
from strongroom.node import Node

EXE = str(Path(sys.executable).parent / "strongroom")


def sample_home(work: Path) -> tuple[Path, str]:
    """A node home holding every sample bag, in a two-member network; and the key of one of its AUs."""
    samples, home = work / "samples", work / "home"
    shutil.rmtree(work, ignore_errors=True)
    write_packages(samples, seed=1)
    admin, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    with Node.create(home) as node:
        for bag in sorted(p for p in samples.iterdir() if p.name.endswith("-bag.zip")):
            node.ingest.deposit(bag)
        me = public_key_text(node.membership.private_key().public_key())
        members = (
            Member(node.settings.node_id, "http://127.0.0.1:9", me, "Library A", "GH"),
            Member("node-silent", "http://127.0.0.1:9", public_key_text(other.public_key()), "Library B", "KE"),
        )
        config = NetworkConfig("bench-net", 1, members, NetworkPolicy(target_copies=2, min_countries=1, quorum=1))
        node.membership.join(sign_config(config, admin), public_key_text(admin.public_key()))
        aus = node.browse.aus()
    return home, aus[0].key


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--workdir", type=Path, default=Path("bench/work/cli"))
    parser.add_argument("--src", type=Path, default=None, help="run the strongroom package found in this directory")
    parser.add_argument("--make-home", action="store_true", help=argparse.SUPPRESS)  # what --src runs first
    args = parser.parse_args()
    work = args.workdir.absolute()
    if args.make_home:
        print(sample_home(work)[1])
        return
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env |= {"PYTHONPYCACHEPREFIX": str(work / "pycache"), "COLUMNS": "120"}
    if args.src is None:
        home, au_key = sample_home(work)
    else:  # the home made by the version measured (settings files are not read by older versions)
        env["PYTHONPATH"] = str(args.src.absolute())
        make = [sys.executable, __file__, "--make-home", "--workdir", str(work)]
        au_key = subprocess.run(make, env=env, capture_output=True, text=True, check=True).stdout.split()[-1]
        home = work / "home"
    py = sys.executable
    contenders = [
        ('python -c "pass" (starting Python)', [py, "-c", "pass"]),
        ('python -c "import sqlalchemy"', [py, "-c", "import sqlalchemy"]),
        ("strongroom --help", [EXE, "--help"]),
        ("strongroom items (72 items)", [EXE, "items", "--home", str(home)]),
        ("strongroom au status AU", [EXE, "au", "status", au_key, "--home", str(home)]),
    ]
    for _, cmd in contenders:
        timed(cmd, env)  # warm-up: bytecode cache, page cache
    times: dict[str, list[float]] = {name: [] for name, _ in contenders}
    for _ in range(args.runs):
        for name, cmd in contenders:  # in turn, so that a busy moment of the machine falls on all of them
            times[name].append(timed(cmd, env))
    base = statistics.median(times['python -c "import sqlalchemy"'])
    print(f"{args.runs} runs each, medians; Python {sys.version.split()[0]}; {os.cpu_count()} cores")
    print()
    print("| command | median s | min s | ratio to `import sqlalchemy` |")
    print("| --- | ---: | ---: | ---: |")
    for name, _ in contenders:
        median = statistics.median(times[name])
        print(f"| {name} | {median:.3f} | {min(times[name]):.3f} | {median / base:.2f} |")


if __name__ == "__main__":
    main()
