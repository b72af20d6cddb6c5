"""docs/network.md followed as written: five operators in five countries each run ``strongroom init`` and
``strongroom network member --url https://...``, the administrators make a key with ``network keygen``, paste the
printed entries into the documented configuration (its own policy, unchanged), sign it with ``network sign``, every
node runs ``network join signed.json --admin-key ...`` and ``strongroom serve``; then a deposit is replicated to every
node over mutual TLS and a poll concludes. Every command runs as a separate process in the operator's own directory,
with the defaults the documentation relies on (the home ``./strongroom-home``, SQLite), on loopback. Then a node is
retired as documented, and the running servers refuse it at the TLS handshake; and a configuration with fewer copies
makes a node no longer assigned, whose ``serve`` releases its copy once the assigned holders have it."""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from strongroom.keys import load_private_key
from strongroom.network.tls import TrustedPeers
from tests_support import LIVENESS, free_port
from tests_support import wait_for as shared_wait

EXE = str(Path(sys.executable).parent / "strongroom")
DOCS = Path(__file__).parents[2] / "docs" / "network.md"
OPERATORS = [  # institution, country: five countries, as the documentation's network
    ("University of Ghana Library", "GH"),
    ("University of Nairobi Library", "KE"),
    ("Université Cheikh Anta Diop", "SN"),
    ("Universidade de São Paulo", "BR"),
    ("University of Dar es Salaam", "TZ"),
]


@dataclass
class Operator:
    folder: Path  # where the operator runs every command: the node's home is ./strongroom-home
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def home(self) -> Path:
        return self.folder / "strongroom-home"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "STRONGROOM_HOME"} | {"COLUMNS": "200"}
        proc = subprocess.run(
            [EXE, *args], cwd=self.folder, capture_output=True, text=True, check=False, env=env, timeout=300
        )
        return proc


wait_for = functools.partial(shared_wait, timeout=LIVENESS)  # five nodes from the docs: slower than most waits


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def answers(port: int, context: ssl.SSLContext) -> bool:
    """Whether the node on ``port`` answers an HTTP request over a TLS connection made with ``context``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, context.wrap_socket(raw) as tls:
            tls.sendall(b"GET /peer/v1/objects HTTP/1.1\r\nHost: node\r\n\r\n")
            return tls.recv(5) == b"HTTP/"
    except (ssl.SSLError, OSError):
        return False


def held(home: Path) -> bool:
    return any((home / "ocfl").rglob("0=ocfl_object_1.1"))


@pytest.fixture
def operators(tmp_path: Path) -> Iterator[list[Operator]]:
    ops = []
    for i in range(len(OPERATORS)):
        (tmp_path / f"operator{i}").mkdir()
        ops.append(Operator(tmp_path / f"operator{i}", free_port()))
    yield ops
    for op in ops:
        if op.proc and op.proc.poll() is None:
            op.proc.send_signal(signal.SIGTERM)
            try:
                op.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                op.proc.kill()
                op.proc.wait()


def test_the_documented_steps_connect_five_nodes_in_five_countries(
    operators: list[Operator], tmp_path: Path, sample_dir: Path
) -> None:
    docs = DOCS.read_text(encoding="utf-8")
    example = re.search(r"```json\n(.*?)```", docs, re.S)
    assert example is not None, "docs/network.md shows the configuration"
    config = json.loads(example.group(1))

    # Administrators: `strongroom network keygen --out admin.key` once; it prints the public key every node pins.
    admins = tmp_path / "administrators"
    admins.mkdir()
    keygen = subprocess.run(
        [EXE, "network", "keygen", "--out", "admin.key"], cwd=admins, capture_output=True, text=True
    )
    assert keygen.returncode == 0, keygen.stderr
    admin_key = keygen.stdout.strip()
    assert admin_key.startswith("ed25519:")
    shown = subprocess.run(
        [EXE, "network", "admin-key", "--key", "admin.key"], cwd=admins, capture_output=True, text=True
    )
    assert shown.stdout.strip() == admin_key

    # Each operator: `strongroom init --institution ... --country ...` and `strongroom network member --url
    # https://host:8470`, and sends the printed entry to the administrators.
    entries = []
    for op, (institution, country) in zip(operators, OPERATORS, strict=True):
        init = op.run("init", "--institution", institution, "--country", country)
        assert init.returncode == 0, init.stdout + init.stderr
        member = op.run("network", "member", "--url", f"https://127.0.0.1:{op.port}")
        assert member.returncode == 0, member.stderr
        entries.append(json.loads(member.stdout))
    assert {e["country"] for e in entries} == {c for _, c in OPERATORS} and all(e["certificate"] for e in entries)

    # The administrators paste them into `members` and sign:
    # `strongroom network sign config.json --key admin.key --out signed.json`.
    config["members"] = entries
    (admins / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    sign = subprocess.run(
        [EXE, "network", "sign", "config.json", "--key", "admin.key", "--out", "signed.json"],
        cwd=admins,
        capture_output=True,
        text=True,
    )
    assert sign.returncode == 0, sign.stdout + sign.stderr

    # Every node: `strongroom network join signed.json --admin-key ed25519:...`, then `strongroom serve`.
    for op in operators:
        (op.folder / "signed.json").write_bytes((admins / "signed.json").read_bytes())  # sent to each operator
        join = op.run("network", "join", "signed.json", "--admin-key", admin_key)
        assert join.returncode == 0, join.stdout + join.stderr
        assert "strongroom serve" in join.stdout
    for op in operators:
        log = (op.folder / "serve.log").open("ab")
        # --port: five nodes share one loopback address here; --replicate-every: a test cannot wait a minute a round
        op.proc = subprocess.Popen(
            [EXE, "serve", "--port", str(op.port), "--replicate-every", "1"], cwd=op.folder, stdout=log, stderr=log
        )
    for op in operators:
        wait_for(f"{op.folder.name} to listen", lambda op=op: listening(op.port) or op.proc.poll() is not None)
        assert op.proc is not None and op.proc.poll() is None, (op.folder / "serve.log").read_text()
        assert "over https (mutual TLS)" in (op.folder / "serve.log").read_text()

    # A deposit at one node reaches all five, each copy verified; the AU is preserved in five countries.
    origin = operators[0]
    package = sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))[0]
    deposit = origin.run("deposit", str(package), "--json")
    assert deposit.returncode == 0, deposit.stderr
    au_key = json.loads(deposit.stdout)["au"]
    wait_for("replication to all five nodes", lambda: all(held(op.home) for op in operators))
    for op in operators[1:]:
        wait_for(f"{op.folder.name} to catalogue the AU", lambda op=op: au_key in op.run("aus", "--json").stdout)
    status = json.loads(origin.run("network", "status", "--json").stdout)
    assert all(status["members"].values()), status["members"]
    [au] = status["aus"]
    assert au["preserved"] is True and len(au["holding"]) == 5 and len(au["countries"]) == 5

    # `strongroom poll AU` runs one poll now: with the documented policy (quorum 3 of 4 voters) it concludes.
    poll = origin.run("poll", au_key, "--json")
    assert poll.returncode == 0, poll.stdout + poll.stderr
    result = json.loads(poll.stdout)
    assert result["outcome"] == "agree" and len(result["voters"]) == 4, result

    # To retire a node: remove it from the members and sign a new serial; nodes stop answering it at once (a running
    # server refuses its certificate at the handshake from its next scheduler tick).
    retired = operators[4]
    key = load_private_key(retired.home / "keys")
    as_retired = TrustedPeers(
        retired.home / "keys", key, entries[4]["id"], lambda: [e["certificate"] for e in entries], server=False
    ).context
    assert answers(origin.port, as_retired)
    config["members"], config["serial"] = entries[:4], config["serial"] + 1
    (admins / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    sign = subprocess.run(
        [EXE, "network", "sign", "config.json", "--key", "admin.key", "--out", "signed.json"],
        cwd=admins,
        capture_output=True,
        text=True,
    )
    assert sign.returncode == 0, sign.stdout + sign.stderr
    for op in operators[:4]:
        (op.folder / "signed.json").write_bytes((admins / "signed.json").read_bytes())
        join = op.run("network", "join", "signed.json")  # the administrative key is pinned since the first join
        assert join.returncode == 0, join.stdout + join.stderr
    for op in operators[:4]:
        wait_for(f"{op.folder.name} to refuse the retired node", lambda op=op: not answers(op.port, as_retired))
    as_member = TrustedPeers(
        operators[1].home / "keys",
        load_private_key(operators[1].home / "keys"),
        entries[1]["id"],
        lambda: [e["certificate"] for e in entries],
        server=False,
    ).context
    assert answers(origin.port, as_member)  # the members still listed are answered as before

    # A new configuration places the AU on fewer members: a node no longer assigned keeps its copy until every
    # assigned holder has it, then `serve` releases it (after its next replication round), with a deletion event.
    config["serial"] += 1
    config["policy"] = {**config["policy"], "target_copies": 3, "quorum": 2}
    (admins / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    sign = subprocess.run(
        [EXE, "network", "sign", "config.json", "--key", "admin.key", "--out", "signed.json"],
        cwd=admins,
        capture_output=True,
        text=True,
    )
    assert sign.returncode == 0, sign.stdout + sign.stderr
    for op in operators[:4]:
        (op.folder / "signed.json").write_bytes((admins / "signed.json").read_bytes())
        assert op.run("network", "join", "signed.json").returncode == 0
    wait_for("one node to release its copy", lambda: sum(held(op.home) for op in operators[:4]) == 3)
    [released] = [op for op in operators[:4] if not held(op.home)]
    events = json.loads(released.run("events", "--type", "deletion", "--json").stdout)["events"]
    assert [(e["object"], e["outcome"]) for e in events] == [(au_key, "success")], events
    assert au_key not in released.run("aus", "--json").stdout
    status = json.loads(origin.run("network", "status", "--json").stdout)
    [au] = status["aus"]
    assert au["preserved"] is True and len(au["holding"]) == 3
