"""How long the everyday commands take from a shell, whole process: ``strongroom --help``, ``strongroom items`` (a
small sample home), ``strongroom items TERM`` (a search) and ``strongroom au status AU`` against the physical limit,
``python -c pass`` (starting the interpreter), and ``python -c "import sqlalchemy"`` (the one library a command that
opens the node cannot do without; ``strongroom items`` on a SQLite catalog does without it: services.lean_items).

The sample home holds the sample corpus (6 titles, 72 articles), deposited, and has joined a network of two whose
other member refuses connections at once, so ``au status`` asks the network and is answered without waiting.

Every command runs as a new process, as a user starts it, ``--runs`` times in turn after one warm-up run each (the
warm-up fills a bytecode cache under the work directory, as an installed program has one; this ignores
PYTHONDONTWRITEBYTECODE); the table shows medians and each median's ratio to ``python -c pass``,
and the load average before and after the runs (the machine may be shared: compare the ratios).
With ``--src DIR`` the commands run the package found in DIR (a checkout's ``src``, such as ``git archive HEAD src``
unpacked) instead of the installed one, on a home that version made: to measure an older version. With
``--before DIR`` the commands of both versions run in the same rounds, in turn (the older one with DIR on its
``PYTHONPATH``), each on the home its own version made, and the table has both and their ratio.

With ``--cpu`` each command's processor time (user + system) is measured instead of the wall clock: on a machine
busy with other work it varies much less, as a process waiting for a core is not charged for the wait.

With ``--database-url URL`` the sample home's catalog is the PostgreSQL database at URL (an empty one: ``createdb``
it first, drop it after); with ``--before`` too, the older version's home needs another, ``--before-database-url``.

Usage: .venv/bin/python bench/bench_cli.py [--runs 15] [--workdir bench/work/cli] [--src DIR | --before DIR] [--cpu]
       [--database-url URL [--before-database-url URL]]

Before and after a change, in one run (the older version from git)::

    rm -rf /tmp/before && mkdir /tmp/before && git archive HEAD src | tar -x -C /tmp/before
    .venv/bin/python bench/bench_cli.py --runs 10 --before /tmp/before/src
"""

from __future__ import annotations

import argparse
import os
import resource
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
TERM = "sante"  # a word of six of the sample articles' titles (Revue sénégalaise de santé publique)


def sample_home(work: Path, database_url: str | None = None) -> tuple[Path, str]:
    """A node home holding every sample bag, in a two-member network, its catalog in ``database_url`` (None: the
    embedded default, SQLite in the home); and the key of one of its AUs."""
    samples, home = work / "samples", work / "home"
    shutil.rmtree(work, ignore_errors=True)
    if database_url is not None:
        _must_be_empty(database_url)
    write_packages(samples, seed=1)
    admin, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    with Node.create(home, database_url=database_url) as node:
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


def _must_be_empty(database_url: str) -> None:
    """A sample home's catalog is made in an empty database: one left by an earlier run already holds the samples."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            kept = sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()
    if kept:
        raise SystemExit(
            f"the database at {database_url} is not empty ({len(kept)} tables): drop it and create it anew "
            "(dropdb, createdb), or name another"
        )


def older_home(src: Path, work: Path, env: dict[str, str], database_url: str | None = None) -> tuple[Path, str]:
    """The sample home made by the version in ``src`` (its catalog in ``database_url``, if given), and the key of one
    of its AUs."""
    env = env | {"PYTHONPATH": str(src.absolute())}
    make = [sys.executable, __file__, "--make-home", "--workdir", str(work)]
    make += ["--database-url", database_url] if database_url else []
    au_key = subprocess.run(make, env=env, capture_output=True, text=True, check=True).stdout.split()[-1]
    return work / "home", au_key


def commands(home: Path, au_key: str) -> list[tuple[str, list[str]]]:
    return [
        ("strongroom --help", [EXE, "--help"]),
        ("strongroom items (72 items)", [EXE, "items", "--home", str(home)]),
        (f"strongroom items {TERM} (a search)", [EXE, "items", TERM, "--home", str(home)]),
        ("strongroom au status AU", [EXE, "au", "status", au_key, "--home", str(home)]),
    ]


def timed(cmd: list[str], env: dict[str, str], cpu: bool = False) -> float:
    """Seconds ``cmd`` took: wall clock, or with ``cpu`` the processor time it used (user + system), which a busy
    machine changes much less (the process waits for a core without being charged for it)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    if cpu:
        now = resource.getrusage(resource.RUSAGE_CHILDREN)
        elapsed = (now.ru_utime - used.ru_utime) + (now.ru_stime - used.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--workdir", type=Path, default=Path("bench/work/cli"))
    parser.add_argument("--src", type=Path, default=None, help="run the strongroom package found in this directory")
    parser.add_argument(
        "--before", type=Path, default=None, help="also run the strongroom package in this directory, in turn"
    )
    parser.add_argument(
        "--cpu", action="store_true", help="time each command's processor time (user + system), not the wall clock"
    )
    parser.add_argument(
        "--database-url", default=None, help="the sample home's catalog: this PostgreSQL database (an empty one)"
    )
    parser.add_argument(
        "--before-database-url", default=None, help="with --before and --database-url: the older version's (empty)"
    )
    parser.add_argument("--make-home", action="store_true", help=argparse.SUPPRESS)  # what --src runs first
    args = parser.parse_args()
    if args.before is not None and args.database_url and not args.before_database_url:
        parser.error("--before with --database-url needs --before-database-url: each version makes its own home")
    work = args.workdir.absolute()
    if args.make_home:
        print(sample_home(work, args.database_url)[1])
        return
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env |= {"PYTHONPYCACHEPREFIX": str(work / "pycache"), "COLUMNS": "120"}
    if args.src is None:
        home, au_key = sample_home(work / "home-after" if args.before else work, args.database_url)
    else:  # the home made by the version measured (settings files are not read by older versions)
        env["PYTHONPATH"] = str(args.src.absolute())
        home, au_key = older_home(args.src, work, env, args.database_url)
    py = sys.executable
    floor = [
        ('python -c "pass" (starting Python)', [py, "-c", "pass"], env),
        ('python -c "import sqlalchemy"', [py, "-c", "import sqlalchemy"], env),
    ]
    if args.database_url:  # what reading a PostgreSQL catalog cannot do without, opened or not
        floor.append(('python -c "import psycopg"', [py, "-c", "import psycopg"], env))
    after = [(name, cmd, env) for name, cmd in commands(home, au_key)]
    before: list[tuple[str, list[str], dict[str, str]]] = []
    if args.before is not None:
        old_env = env | {"PYTHONPATH": str(args.before.absolute())}
        old_home, old_au = older_home(args.before, work / "home-before", old_env, args.before_database_url)
        before = [(name, cmd, old_env) for name, cmd in commands(old_home, old_au)]
    contenders = floor + [c for pair in zip(before, after, strict=False) for c in pair] if before else floor + after
    loads = [os.getloadavg()]
    for _, cmd, cmd_env in contenders:
        timed(cmd, cmd_env)  # warm-up: bytecode cache, page cache
    times: dict[int, list[float]] = {i: [] for i in range(len(contenders))}
    for _ in range(args.runs):
        for i, (_, cmd, cmd_env) in enumerate(contenders):  # in turn: a busy moment of the machine falls on all
            times[i].append(timed(cmd, cmd_env, args.cpu))
    loads.append(os.getloadavg())
    median = {i: statistics.median(t) for i, t in times.items()}
    base = median[0]  # python -c pass: the floor
    what = "processor time (user + system)" if args.cpu else "wall clock"
    catalog = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{args.runs} runs each, medians of {what}; Python {sys.version.split()[0]}; {os.cpu_count()} cores")
    print(f"catalog: {catalog}")
    print(
        "load average (1, 5, 15 min) before: {:.2f} {:.2f} {:.2f}; after: {:.2f} {:.2f} {:.2f}".format(
            *loads[0], *loads[1]
        )
    )
    print()
    if not before:
        print("| command | median s | min s | ratio to `python -c pass` |")
        print("| --- | ---: | ---: | ---: |")
        for i, (name, _, _) in enumerate(contenders):
            print(f"| {name} | {median[i]:.3f} | {min(times[i]):.3f} | {median[i] / base:.2f} |")
        return
    ratio = "ratio to `python -c pass`"
    print(f"| command | before, s | {ratio} | after, s | {ratio} | after ÷ before |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for i, (name, _, _) in enumerate(floor):
        print(f"| {name} | | | {median[i]:.3f} | {median[i] / base:.2f} | |")
    for k, (name, _, _) in enumerate(after):
        b, a = len(floor) + 2 * k, len(floor) + 2 * k + 1
        print(
            f"| {name} | {median[b]:.3f} | {median[b] / base:.2f} | {median[a]:.3f} | {median[a] / base:.2f} "
            f"| {median[a] / median[b]:.2f} |"
        )


if __name__ == "__main__":
    main()
