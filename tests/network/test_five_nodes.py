"""Five nodes as separate processes talking real HTTPS (mutual TLS with the certificates the signed configuration
pins) on loopback: a deposit reaches every assigned node and is verified; a flipped bit, a truncated file, a deleted
file and a deleted whole AU are each found and repaired byte-identical; strangers (at the TLS handshake), forged
signatures, replays (also after a restart) and requests addressed to another node are refused; a large body is
refused before it is read; with too few voters a poll alarms and changes nothing."""

from __future__ import annotations

import contextlib
import json
import os
import random
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.keys import load_private_key, public_key_text
from strongroom.network.auth import sign_request
from strongroom.network.client import PeerError
from strongroom.network.config import Member, NetworkConfig, NetworkPolicy, sign_config
from strongroom.network.ids import encode_id
from strongroom.network.tls import TrustedPeers
from strongroom.node import Node
from tests_support import LIVENESS, free_port, wait_for

EXE = str(Path(sys.executable).parent / "strongroom")
COUNTRIES = ["GH", "KE", "SN", "BR", "TZ"]
POLICY = NetworkPolicy(
    target_copies=5,
    min_countries=3,
    quorum=3,
    vote_margin=0.75,
    invitations=4,
    block_size=4096,
    max_requests_per_minute=10_000,
)


@dataclass
class Peer:
    home: Path
    node_id: str
    port: int
    proc: subprocess.Popen[bytes] | None = None
    tls: ssl.SSLContext | None = None  # a member's client context, to reach this node's TLS port from the test

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self, *, poll_every: float = 100000, program: list[str] | None = None) -> None:
        """Run ``strongroom serve`` for this node (or ``program`` with serve's arguments) and wait until it answers."""
        log = (self.home / "serve.log").open("ab")
        args = [
            "serve",
            "--home",
            str(self.home),
            "--port",
            str(self.port),
            "--replicate-every",
            "1",
            "--poll-every",
            str(poll_every),
        ]
        self.proc = subprocess.Popen([*(program or [EXE]), *args], stdout=log, stderr=log)
        # generous: five nodes start at once on two cores, beside another test worker
        wait_for(f"{self.node_id} to answer", lambda: _answers(self.url, self.tls), timeout=90)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [EXE, *args, "--home", str(self.home)],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "COLUMNS": "200"},
        )


def client_context(peer: Peer, members: list[Member]) -> ssl.SSLContext:
    """What ``peer`` connects to its peers with: its own certificate, trusting exactly the members'."""
    key = load_private_key(peer.home / "keys")
    return TrustedPeers(
        peer.home / "keys", key, peer.node_id, lambda: [m.certificate for m in members], server=False
    ).context


@pytest.fixture
def network(tmp_path: Path, db_factory: Callable[[], str]) -> Iterator[list[Peer]]:
    admin = Ed25519PrivateKey.generate()
    peers = []
    for i in range(5):
        home = tmp_path / f"node{i}"
        node = Node.create(
            home, database_url=db_factory(), name=f"node {i}", institution=f"Library {i}", country=COUNTRIES[i]
        )
        peers.append(Peer(home, node.settings.node_id, free_port()))
        node.close()
    members = []
    for p in peers:  # each operator prints the node's entry; the administrators collect them
        entry = p.cli("network", "member", "--url", p.url)
        assert entry.returncode == 0, entry.stderr
        members.append(Member(**json.loads(entry.stdout)))
    assert all(m.certificate for m in members)
    signed = tmp_path / "network.json"
    signed.write_text(json.dumps(sign_config(NetworkConfig("test-net", 1, tuple(members), POLICY), admin)))
    for p in peers:
        proc = p.cli("network", "join", str(signed), "--admin-key", public_key_text(admin.public_key()))
        assert proc.returncode == 0, proc.stderr
    for p in peers:
        p.tls = client_context(peers[(peers.index(p) + 1) % len(peers)], members)
    for p in peers:
        p.start()
    yield peers
    for p in peers:
        p.stop()


def object_files(home: Path) -> dict[str, bytes]:
    root = home / "ocfl"
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "extensions" not in p.parts and p.name not in ("0=ocfl_1.1", "ocfl_layout.json")
    }


def held(home: Path) -> bool:
    return any(p.name == "0=ocfl_object_1.1" for p in (home / "ocfl").rglob("0=ocfl_object_1.1"))


def wait_on(network: list[Peer], what: str, check: Callable[[], bool]) -> None:
    """Wait for the nodes of ``network`` to do ``what``; on a time-out, say what each node holds and logged last."""
    wait_for(what, check, timeout=LIVENESS, explain=lambda: nodes_state(network))


def nodes_state(network: list[Peer]) -> str:
    """Each node's copy (held or not) and the last lines of its log other than the HTTP requests it made."""
    parts = []
    for p in network:
        try:
            lines = (p.home / "serve.log").read_text(errors="replace").splitlines()
        except FileNotFoundError:
            lines = []
        kept = [line[:400] for line in lines if '"logger": "httpx"' not in line][-15:]
        running = p.proc is not None and p.proc.poll() is None
        parts.append(f"--- {p.node_id} (held: {held(p.home)}, running: {running})\n" + "\n".join(kept))
    return "\n".join(parts)


def content_file(home: Path, suffix: str) -> Path:
    return sorted(p for p in (home / "ocfl").rglob(f"*{suffix}") if "/content/" in p.as_posix())[0]


def test_five_node_network(network: list[Peer], sample_dir: Path) -> None:
    origin = network[0]
    package = sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))[0]
    deposit = origin.cli("deposit", str(package), "--json")
    assert deposit.returncode == 0, deposit.stderr
    au_key = json.loads(deposit.stdout)["au"]

    # Replication: every assigned node fetches the version and verifies it; all copies are byte-identical.
    wait_on(network, "replication to all five nodes", lambda: all(held(p.home) for p in network))
    reference = object_files(origin.home)
    for p in network[1:]:
        wait_on(network, f"{p.node_id} to catalogue the AU", lambda p=p: au_key in p.cli("aus", "--json").stdout)
        assert object_files(p.home) == reference
    validator = Path(sys.executable).parent / "ocfl-validate.py"
    for p in network:
        proc = subprocess.run([str(validator), str(p.home / "ocfl")], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    status = json.loads(origin.cli("network", "status", "--json").stdout)
    [au_status] = status["aus"]
    assert au_status["preserved"] is True and len(au_status["holding"]) == 5

    # Damage at four nodes, each a different kind, each found by that node's poll and repaired from peers.
    damages = {
        1: lambda f: f.write_bytes(f.read_bytes()[:100] + bytes([f.read_bytes()[100] ^ 1]) + f.read_bytes()[101:]),
        2: lambda f: f.write_bytes(f.read_bytes()[: f.stat().st_size // 2]),
        3: lambda f: f.unlink(),
    }
    for i, damage in damages.items():
        target = content_file(network[i].home, ".pdf")
        original = target.read_bytes()
        damage(target)
        assert network[i].cli("audit").returncode == 1
        proc = network[i].cli("poll", au_key, "--json")
        assert proc.returncode == 0, f"{proc.stdout}{proc.stderr}\nnode {i} polled; the nodes:\n{nodes_state(network)}"
        result = json.loads(proc.stdout)
        assert result["outcome"] == "disagree" and result["repaired"], result
        assert target.read_bytes() == original, f"node {i}: repaired content differs from the original"
        assert network[i].cli("audit").returncode == 0
        events = json.loads(network[i].cli("events", "--json", "--type", "repair").stdout)["events"]
        assert events and events[0]["outcome"] == "success"

    # A whole AU deleted at node 4 comes back by replication, verified, byte-identical.
    shutil.rmtree(next((network[4].home / "ocfl").rglob("0=ocfl_object_1.1")).parent)
    wait_on(
        network,
        "node 4 to rebuild the AU",
        lambda: held(network[4].home) and object_files(network[4].home) == reference,
    )

    # An intact copy polls clean.
    clean = json.loads(origin.cli("poll", au_key, "--json").stdout)
    assert clean["outcome"] == "agree" and not clean["repaired"]

    # The AU at a glance, from a node that repaired it.
    status = json.loads(network[1].cli("au", "status", au_key, "--json").stdout)
    assert len(status["copies"]["holding"]) == 5 and status["copies"]["preserved"]
    assert status["repairs"] and status["open_alarms"] == []
    shown = network[1].cli("au", "status", au_key)
    assert shown.returncode == 0 and "repairs" in shown.stdout


def test_strangers_forgeries_and_replays_are_refused(network: list[Peer]) -> None:
    target = network[1]
    path = "/peer/v1/objects"
    member = httpx.Client(verify=client_context(network[0], []))  # node 0's certificate, trusting no server
    with pytest.raises(httpx.ConnectError):
        member.get(target.url + "/health")  # the client pins: a server not in the configuration is refused
    http = httpx.Client(verify=target.tls)  # TLS as a member (node 0 or 2) would connect
    stranger = sign_request("node-intruder", Ed25519PrivateKey.generate(), "GET", path, recipient=target.node_id)
    assert http.get(target.url + path, headers=stranger).status_code == 403
    forged = sign_request(network[0].node_id, Ed25519PrivateKey.generate(), "GET", path, recipient=target.node_id)
    assert http.get(target.url + path, headers=forged).status_code == 401
    real_key = load_private_key(network[0].home / "keys")
    good = sign_request(network[0].node_id, real_key, "GET", path, recipient=target.node_id)
    assert http.get(target.url + path, headers=good).status_code == 200
    assert http.get(target.url + path, headers=good).status_code == 401  # the same message again: a replay
    assert http.get(target.url + path).status_code == 401  # no authentication at all

    # Polls are rate-limited per peer: a second vote request on one AU from one poller is refused.
    vote_path = f"/peer/v1/objects/{encode_id('strongroom:au/issn:0000-0000/2024')}/vote"
    body = json.dumps({"poll_id": "p-1", "poller_nonce": "00" * 16, "version": 1, "block_size": 4096}).encode()
    first = http.post(
        target.url + vote_path,
        content=body,
        headers=sign_request(network[0].node_id, real_key, "POST", vote_path, body, recipient=target.node_id),
    )
    again = http.post(
        target.url + vote_path,
        content=body,
        headers=sign_request(network[0].node_id, real_key, "POST", vote_path, body, recipient=target.node_id),
    )
    assert first.status_code == 404 and again.status_code == 429


def test_strangers_are_refused_at_the_handshake(network: list[Peer], tmp_path: Path) -> None:
    target = network[2]
    plain = ssl.create_default_context()
    plain.check_hostname, plain.verify_mode = False, ssl.CERT_NONE
    with pytest.raises(httpx.HTTPError):  # no client certificate: the handshake fails, no HTTP is read
        httpx.get(target.url + "/health", verify=plain)
    with pytest.raises(httpx.HTTPError):  # TLS is all the port speaks
        httpx.get(target.url.replace("https://", "http://") + "/health")

    # A stranger's own certificate naming a member's id, made with the stranger's key, is refused too.
    impostor = Peer(tmp_path / "impostor", network[0].node_id, 0)
    (impostor.home / "keys").mkdir(parents=True)
    key = Ed25519PrivateKey.generate()
    (impostor.home / "keys" / "node.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    with pytest.raises(httpx.HTTPError):
        httpx.get(target.url + "/health", verify=client_context(impostor, _members(network)))


def test_a_node_cannot_be_impersonated_or_stood_in_for(network: list[Peer]) -> None:
    """A member signing as another member fails the signature check; a member's URL answered by another member
    (a redirected address) is refused by the client's pin, before anything it says is used."""
    target, honest, liar = network[3], network[0], network[4]
    http = httpx.Client(verify=liar.tls)
    liar_key = load_private_key(liar.home / "keys")
    as_honest = sign_request(honest.node_id, liar_key, "GET", "/peer/v1/objects", recipient=target.node_id)
    assert http.get(target.url + "/peer/v1/objects", headers=as_honest).status_code == 401

    node = Node.open(honest.home)
    client = node.membership.client()
    try:
        config = node.membership.config()
        real = config.member(target.node_id)
        assert real is not None
        assert client.get_json(real, "/peer/v1/objects")["objects"] == []
        redirected = replace(real, url=liar.url)  # target's identity, liar's address
        with pytest.raises(PeerError, match="did not present"):
            client.get_json(redirected, "/peer/v1/objects")
    finally:
        client.close()
        node.close()


def test_a_captured_request_is_refused_by_any_other_node_and_after_a_restart(network: list[Peer]) -> None:
    path = "/peer/v1/objects"
    sender, recipient = network[0], network[1]
    captured = sign_request(
        sender.node_id, load_private_key(sender.home / "keys"), "GET", path, recipient=recipient.node_id
    )
    http = httpx.Client(verify=sender.tls)
    assert http.get(recipient.url + path, headers=captured).status_code == 200
    for other in network[2:4]:  # replayed within the time window to other nodes: not addressed to them
        refused = http.get(other.url + path, headers=captured)
        assert refused.status_code == 403 and "addressed to" in refused.text

    recipient.stop()  # the nonce it accepted is remembered across a restart
    recipient.start()
    replayed = httpx.Client(verify=recipient.tls).get(recipient.url + path, headers=captured)
    assert replayed.status_code == 401 and "replayed" in replayed.text


def _send_until_answered(peer: Peer, head: bytes, chunks: Iterator[bytes]) -> tuple[int, bytes]:
    """Send ``head`` and then ``chunks`` to ``peer`` over TLS until it answers or closes the connection; the bytes
    of body sent by then and the answer's first bytes (empty when the server's close overtook its answer)."""
    assert peer.tls is not None
    raw = socket.create_connection(("127.0.0.1", peer.port))
    sock = peer.tls.wrap_socket(raw)
    sock.sendall(head)
    sock.setblocking(False)
    sent, pending = 0, b""
    answer = b""
    try:
        while True:
            readable, writable, _ = select.select([sock], [sock], [], 120)
            if readable or sock.pending():
                try:
                    answer = sock.recv(65536)
                except ssl.SSLWantReadError:
                    continue
                except (ssl.SSLError, OSError):
                    pass  # closed by the server
                break
            if not writable:
                raise AssertionError("the server neither read nor answered for two minutes")
            if not pending:
                pending = next(chunks, b"")
                if not pending:  # all sent: the answer can only come now
                    sock.settimeout(120)
                    answer = sock.recv(65536)
                    break
            try:
                n = sock.send(pending)
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                continue
            except (ssl.SSLError, OSError):  # the server refused and closed the connection while we were sending
                with contextlib.suppress(ssl.SSLError, OSError):
                    answer = sock.recv(65536)
                break
            sent += n
            pending = pending[n:]
    finally:
        sock.close()
    return sent, answer


LARGE = 300 * 1024 * 1024


def _body(total: int, chunk: int = 64 * 1024, chunked: bool = False) -> Iterator[bytes]:
    block = b"x" * chunk
    for _ in range(total // chunk):
        yield f"{chunk:x}\r\n".encode() + block + b"\r\n" if chunked else block


def test_a_large_body_is_refused_before_it_is_read(network: list[Peer]) -> None:
    target = network[1]
    path = f"/peer/v1/objects/{encode_id('strongroom:au/issn:0000-0000/2024')}/vote"
    host = f"Host: 127.0.0.1:{target.port}\r\n"

    # No authentication headers and 300 MB declared: refused on the headers alone, no body needed.
    unauthenticated = f"POST {path} HTTP/1.1\r\n{host}Content-Length: {LARGE}\r\n\r\n".encode()
    sent, answer = _send_until_answered(target, unauthenticated, iter([]))
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    # ... and while the 300 MB stream in, the server stops taking them long before the end.
    sent, answer = _send_until_answered(target, unauthenticated, _body(LARGE))
    assert sent < LARGE // 10, f"the server took {sent} bytes of an unauthenticated body before refusing it"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 401"), answer[:200]

    # A member's plausible headers: a declared length over the limit is refused before the body ...
    signed = sign_request(
        network[0].node_id, load_private_key(network[0].home / "keys"), "POST", path, recipient=target.node_id
    )
    headers = "".join(f"{k}: {v}\r\n" for k, v in signed.items())
    declared = f"POST {path} HTTP/1.1\r\n{host}{headers}Content-Length: {LARGE}\r\n\r\n".encode()
    sent, answer = _send_until_answered(target, declared, iter([]))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # ... and a body of no declared length (chunked) is read only up to the limit: one byte more is refused,
    chunked = f"POST {path} HTTP/1.1\r\n{host}{headers}Transfer-Encoding: chunked\r\n\r\n".encode()
    sent, answer = _send_until_answered(target, chunked, iter([b"%x\r\n" % (64 * 1024 + 1) + b"x" * (64 * 1024 + 1)]))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # ... however much more is on its way.
    sent, answer = _send_until_answered(target, chunked, _body(LARGE, chunked=True))
    assert sent < LARGE // 10, f"the server took {sent} bytes of an oversized body before refusing it"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 413"), answer[:200]


def _members(network: list[Peer]) -> list[Member]:
    node = Node.open(network[0].home)
    try:
        return list(node.membership.config().members)
    finally:
        node.close()


def test_too_few_voters_alarm_and_change_nothing(network: list[Peer], sample_dir: Path) -> None:
    origin = network[0]
    package = sorted(p for p in sample_dir.iterdir() if p.name.endswith("-jats"))[0]
    au_key = json.loads(origin.cli("deposit", str(package), "--json").stdout)["au"]
    wait_on(network, "replication", lambda: all(held(p.home) for p in network))
    for p in network[2:]:
        p.stop()  # two nodes left: one voter for a quorum of three
    target = content_file(origin.home, ".pdf")
    data = bytearray(target.read_bytes())
    data[50] ^= 0xFF
    target.write_bytes(bytes(data))
    before = target.read_bytes()
    proc = origin.cli("poll", au_key, "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["outcome"] == "inconclusive"
    assert target.read_bytes() == before  # nothing was changed
    polls = json.loads(origin.cli("events", "--json", "--type", "poll").stdout)["events"]
    assert polls[0]["outcome"] == "warning" and "ALARM" in polls[0]["detail"]


LIAR = """
import random, sys
import strongroom.services.peer as api
honest = api.copy_hashes
def lie(*args, **kwargs):
    votes = honest(*args, **kwargs)
    return {v: {key: random.randbytes(32).hex() for key in table} for v, table in votes.items()}
api.copy_hashes = lie
from strongroom.cli.main import main
sys.argv = ["strongroom", *sys.argv[1:]]
main()
"""


class HostileFirst(random.Random):
    """Voter sampling as usual, but repair sources tried with the hostile node first."""

    def __init__(self, hostile: str) -> None:
        super().__init__(7)
        self.hostile = hostile

    def shuffle(self, x: list[Any]) -> None:  # type: ignore[override]
        x.sort(key=lambda v: v != self.hostile)


def test_a_hostile_node_cannot_make_an_honest_node_accept_bad_content(network: list[Peer], sample_dir: Path) -> None:
    hostile = network[4]
    hostile.stop()
    hostile.start(program=[sys.executable, "-c", LIAR])

    origin, victim = network[0], network[1]
    package = sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))[0]
    au_key = json.loads(origin.cli("deposit", str(package), "--json").stdout)["au"]
    wait_on(network, "replication", lambda: all(held(p.home) for p in network))
    wait_on(network, "cataloguing", lambda: all(au_key in p.cli("aus", "--json").stdout for p in network))

    # The hostile node's own copy is corrupt, so a repair it serves is corrupt; the victim's copy is damaged.
    bad = content_file(hostile.home, ".pdf")
    bad.write_bytes(b"%PDF-1.4 forged content " + bad.read_bytes()[24:])
    target = content_file(victim.home, ".pdf")
    original = content_file(origin.home, ".pdf").read_bytes()
    target.write_bytes(original[:-5] + b"XXXXX")

    node = Node.open(victim.home)
    client = node.membership.client()
    try:
        [(au, *_)] = node.catalog.aus([au_key])
        result = node.polls.poll(client, au.object_id, HostileFirst(hostile.node_id))
    finally:
        client.close()
        node.close()
    assert target.read_bytes() == original, "the victim must end with the original bytes, not the forged ones"
    assert any(hostile.node_id in r for r in result.refused_repairs), result
    assert hostile.node_id in result.suspects, result
    reports = json.loads(victim.cli("events", "--json", "--type", "poll").stdout)["events"]
    assert any(e["data"].get("suspect") == hostile.node_id for e in reports)

    # An intact node polled with the liar among its voters agrees, changes nothing, and reports the liar.
    before = object_files(origin.home)
    clean = json.loads(origin.cli("poll", au_key, "--json").stdout)
    # (its first disagreement looks like a damaged copy; a second, after it was told, makes it a suspect)
    assert clean["outcome"] == "agree" and hostile.node_id in clean["damaged"], clean
    assert object_files(origin.home) == before


def _answers(url: str, tls: ssl.SSLContext | None) -> bool:
    try:
        return httpx.get(url + "/health", timeout=1, verify=tls or True).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_schedule_repairs_and_an_offline_node_catches_up(network: list[Peer], sample_dir: Path) -> None:
    origin, late, damaged = network[0], network[2], network[1]
    late.stop()
    package = sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))[0]
    au_key = json.loads(origin.cli("deposit", str(package), "--json").stdout)["au"]
    wait_on(
        network, "replication to the nodes that are up", lambda: all(held(p.home) for p in network if p is not late)
    )
    assert not held(late.home)
    late.start()  # back online: it catches up on its own
    wait_on(network, "the node that was offline to catch up", lambda: held(late.home))
    reference = object_files(origin.home)
    wait_on(network, "a byte-identical replica", lambda: object_files(late.home) == reference)

    # Damage a copy, then let the daemon's own schedule find and repair it (a poll every 2 seconds).
    damaged.stop()
    target = content_file(damaged.home, ".pdf")
    original = target.read_bytes()
    target.write_bytes(original[:10] + b"\x00" * 10 + original[20:])
    damaged.start(poll_every=2)
    wait_on(
        network, "the scheduled poll to repair the damage", lambda: target.exists() and target.read_bytes() == original
    )
    repairs = json.loads(damaged.cli("events", "--json", "--type", "repair", "--au", au_key).stdout)["events"]
    assert repairs and repairs[0]["outcome"] == "success"

    # Graceful shutdown: SIGTERM lets the scheduler finish its step and the process exit cleanly.
    damaged.stop()
    assert damaged.proc is not None and damaged.proc.returncode == 0
    assert f"node {damaged.node_id} stopped" in (damaged.home / "serve.log").read_text()


RELAY = """
import sys
import strongroom.services.peer as peer
import strongroom.services.replication as replication
from strongroom.network.ids import encode_id
replication.Replication.run = lambda self, client: []  # it never holds a copy
def relay(self, poller, object_id, ask):
    holder = next(m for m in self.membership.config().members if m.id not in (poller, self.membership.node_id))
    client = self.membership.client()
    try:  # ask an honest holder for a vote in its own name, with the poller's poll id and nonce
        return client.post_json(holder, f"/peer/v1/objects/{encode_id(object_id)}/vote", dict(ask))
    finally:
        client.close()
peer.PeerService.vote = relay
from strongroom.cli.main import main
sys.argv = ["strongroom", *sys.argv[1:]]
main()
"""


def test_a_node_without_the_content_cannot_vote_with_a_holders_answer(network: list[Peer], sample_dir: Path) -> None:
    """Over real HTTP: a node that holds nothing relays each vote request to an honest holder and answers with
    the holder's vote; the poller counts it for nothing and reports the relay as a suspect."""
    relay = network[4]
    relay.stop()
    relay.start(program=[sys.executable, "-c", RELAY])  # before the deposit: it never holds a copy
    origin = network[0]
    package = sorted(p for p in sample_dir.iterdir() if p.name.endswith("-jats"))[0]
    au_key = json.loads(origin.cli("deposit", str(package), "--json").stdout)["au"]
    wait_on(network, "replication", lambda: all(held(p.home) for p in network[:4]))
    assert not held(relay.home)
    result = json.loads(origin.cli("poll", au_key, "--json").stdout)
    assert result["outcome"] == "agree" and relay.node_id not in result["voters"], result
    assert result["findings"][relay.node_id] == "invalid-vote" and relay.node_id in result["suspects"]
    events = json.loads(origin.cli("events", "--json", "--type", "poll").stdout)["events"]
    assert any(e["data"].get("suspect") == relay.node_id for e in events)
