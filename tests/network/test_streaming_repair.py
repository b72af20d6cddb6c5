"""Repair and replication stream: a node whose memory is capped well below the size of a damaged file still polls
it, fetches the whole file from its peer over real HTTP and installs it byte-identical (the cap makes any attempt to
hold the file in memory fail with MemoryError). Replication of that file hashes it as it arrives."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import bagit
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.keys import public_key_text
from strongroom.network.config import Member, NetworkConfig, NetworkPolicy, sign_config
from strongroom.node import Node
from strongroom.services.deposit import DepositOptions
from tests_support import free_port

BIG = 160 * 1024 * 1024  # the damaged file
HEADROOM = 64 * 1024 * 1024  # what the repairing process may allocate beyond what it holds when it starts
EXE = str(Path(sys.executable).parent / "strongroom")

POLL_WITH_CAPPED_MEMORY = """
import json, resource, sys
from pathlib import Path
from strongroom.node import Node
node = Node.open(Path(sys.argv[1]))
client = node.membership.client()
object_id = node.browse.object_id(sys.argv[2])
data = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmData:"))
cap = data + int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
try:
    bytearray(int(sys.argv[4]))
except MemoryError:
    pass
else:
    sys.exit("the memory cap does not hold: the test would prove nothing")
result = node.polls.poll(client, object_id)
print(json.dumps({"outcome": str(result.outcome), "repaired": result.repaired, "unrepaired": result.unrepaired,
                  "refused": result.refused_repairs}))
"""


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def big_bag(sample_dir: Path, dest: Path) -> Path:
    """A sample bag with one large supplementary file added (pseudo-random, so nothing compresses or dedups it)."""
    bag_dir = shutil.copytree(sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))[0], dest)
    block = hashlib.sha512(b"strongroom").digest() * 16384  # 1 MiB
    with (bag_dir / "data" / "dataset.bin").open("wb") as fh:
        for n in range(BIG // len(block)):
            fh.write(hashlib.sha256(n.to_bytes(8, "big")).digest() + block[32:])
    bagit.Bag(str(bag_dir)).save(manifests=True)
    return bag_dir


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Node, Node, str]]:
    """Two nodes of one network (each assigned every AU); the first serves its peer API over HTTP."""
    admin = Ed25519PrivateKey.generate()
    nodes = [Node.create(tmp_path / name) for name in ("a", "b")]
    ports = [free_port(), free_port()]
    members = tuple(
        Member(
            n.settings.node_id,
            f"http://127.0.0.1:{port}",
            public_key_text(n.membership.private_key().public_key()),
            "L",
            c,
        )
        for n, port, c in zip(nodes, ports, ("GH", "KE"), strict=True)
    )
    policy = NetworkPolicy(target_copies=2, min_countries=2, quorum=1, vote_margin=0.75, invitations=1)
    document = sign_config(NetworkConfig("pair", 1, members, policy), admin)
    for n in nodes:
        n.membership.join(document, public_key_text(admin.public_key()))
    server = subprocess.Popen(
        [
            EXE,
            "serve",
            "--home",
            str(nodes[0].settings.home),
            "--port",
            str(ports[0]),
            "--replicate-every",
            "3600",
            "--poll-every",
            "1000000000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{ports[0]}/health"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert server.poll() is None and time.monotonic() < deadline, "the serving node did not start"
        time.sleep(0.2)
    try:
        yield nodes[0], nodes[1], url
    finally:
        server.terminate()
        server.wait(timeout=60)
        for n in nodes:
            n.close()


@pytest.mark.slow
def test_a_file_larger_than_memory_allows_is_repaired_by_streaming(
    pair: tuple[Node, Node, str], sample_dir: Path, tmp_path: Path
) -> None:
    a, b, _ = pair
    result = a.ingest.deposit(big_bag(sample_dir, tmp_path / "bag"), DepositOptions(platform="ojs"))
    client = b.membership.client()
    try:
        assert b.replication.run(client), "the second node replicates the AU"
    finally:
        client.close()
    logical = "payload/dataset.bin"
    original = a.store.object_path(result.object_id) / a.store.content_path(result.object_id, logical)
    damaged = b.store.object_path(result.object_id) / b.store.content_path(result.object_id, logical)
    assert digest(damaged) == digest(original)  # replicated byte-identical, every digest checked on arrival
    with damaged.open("r+b") as fh:
        fh.truncate(BIG // 2)  # half of it lost: the whole file must come again
    proc = subprocess.run(
        [sys.executable, "-c", POLL_WITH_CAPPED_MEMORY, str(b.settings.home), result.au_key, str(HEADROOM), str(BIG)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    outcome = json.loads(proc.stdout.splitlines()[-1])
    assert outcome["repaired"] == [logical] and outcome["unrepaired"] == [], outcome
    assert digest(damaged) == digest(original)
    assert b.audits.audit([result.au_key]).intact
