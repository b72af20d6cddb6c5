"""Many hands, one archive. Deposits (of new titles, of known titles, of the same package twice at once), audits
and exports run at the same moment against one node, as separate `strongroom` processes, and some are killed at
random moments. After every round: nothing acknowledged is lost (each deposit that answered is in storage and in
the catalog at the version it reported), every object is valid on its own (ocfl-py), storage and catalog agree,
the audit is clean, no command printed a traceback, and no audit that finished printed a false finding.

The CI run is a few rounds; ``STRONGROOM_SOAK_SECONDS=3600`` keeps going for an hour (see docs/reliability.md).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from strongroom.errors import ExitCode
from strongroom.node import Node

EXE = str(Path(sys.executable).parent / "strongroom")
VALIDATOR = Path(sys.executable).parent / "ocfl-validate.py"
ROUNDS = 3
# What a process that was not killed may answer: done, or the object was busy with another writer.
FINE = {0, ExitCode.BUSY}


@dataclass
class Job:
    kind: str
    args: list[str]
    proc: subprocess.Popen[str]
    killed: bool = False


def start(home: Path, kind: str, *args: str) -> Job:
    proc = subprocess.Popen(
        [EXE, *args, "--home", str(home)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    return Job(kind, list(args), proc)


def check_node(home: Path, acknowledged: dict[str, int]) -> None:
    node = Node.open(home)  # recovery runs, as at any start
    try:
        stored = {oid: node.store.head_version(oid) for oid in node.store.iter_object_ids()}
        catalogued = {au.key: au for au in node.browse.aus()}
        assert stored == {au.object_id: au.version for au in catalogued.values()}, "storage and catalog disagree"
        for au_key, version in acknowledged.items():
            assert au_key in catalogued and catalogued[au_key].version >= version, f"acknowledged {au_key} lost"
        report = node.audits.audit()
        assert report.intact, [(a.au_key, a.findings) for a in report.aus if a.findings]
        assert {p.name for p in node.settings.resolved_staging().iterdir()} <= {"locks"}
    finally:
        node.close()
    for obj in (home / "ocfl").rglob("0=ocfl_object_1.1"):
        proc = subprocess.run([str(VALIDATOR), str(obj.parent)], capture_output=True, text=True)
        assert "is VALID" in proc.stdout, proc.stdout


@pytest.mark.slow
def test_many_processes_at_once_lose_nothing(tmp_path: Path, db_url: str, sample_dir: Path) -> None:
    rng = random.Random(20261202)
    home = tmp_path / "home"
    assert subprocess.run([EXE, "init", "--home", str(home), "--database-url", db_url]).returncode == 0
    packages = sorted(p for p in sample_dir.iterdir() if p.name != "tmp")
    acknowledged: dict[str, int] = {}
    soak = float(os.environ.get("STRONGROOM_SOAK_SECONDS", "0"))
    deadline = time.monotonic() + soak
    round_no = 0
    while round_no < ROUNDS or time.monotonic() < deadline:
        round_no += 1
        chosen = rng.sample(packages, k=min(len(packages), 6))
        jobs = [start(home, "deposit", "deposit", str(p), "--json") for p in chosen]
        jobs.append(start(home, "deposit", "deposit", str(chosen[0]), "--json"))  # the same package twice at once
        jobs += [start(home, "audit", "audit", "--json") for _ in range(2)]
        if acknowledged:
            au = rng.choice(sorted(acknowledged))
            jobs.append(start(home, "export", "export", au, str(tmp_path / f"export-{round_no}")))
        time.sleep(rng.uniform(0.2, 1.5))
        for job in rng.sample(jobs, k=rng.randint(0, 2)):
            if job.proc.poll() is None:
                job.proc.send_signal(signal.SIGKILL)
                job.killed = True
        for job in jobs:
            out, err = job.proc.communicate(timeout=600)
            assert "Traceback" not in err, f"{job.args}: {err}"
            if job.killed:
                continue
            assert job.proc.returncode in FINE, f"{job.args} ended with {job.proc.returncode}: {err}"
            if job.kind == "deposit" and job.proc.returncode == 0:
                answer = json.loads(out)
                acknowledged[answer["au"]] = max(acknowledged.get(answer["au"], 0), answer["version"])
            if job.kind == "audit":
                assert json.loads(out)["intact"], f"a false finding: {out}"
        check_node(home, acknowledged)
    assert acknowledged
