"""Polls that cannot be fooled or silently fail, between five in-process nodes over the in-memory transport: a vote
proves possession by its own voter (a relayed or replayed vote counts for nothing), policies that can never
conclude are refused, every poll without enough votes and every AU left unaudited is an alarm, a copy the network
no longer assigns is not polled, suspects are told apart from damaged peers, and a node's work is capped."""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from memory_network import POLICY, clients_of, members_of
from strongroom.cli.main import cli
from strongroom.domain.poll import PeerFinding, VoteBinding, blocks_digest, vote_statement
from strongroom.keys import public_key_text
from strongroom.network.auth import NONCE, sign_request, sign_response
from strongroom.network.client import PeerClient
from strongroom.network.config import Member, NetworkConfig, NetworkPolicy, policy_problems, sign_config
from strongroom.network.ids import encode_id
from strongroom.network.memory import InMemoryNetwork
from strongroom.node import Node
from strongroom.peer.api import create_peer_app
from strongroom.services.polls import PollBusy, PollQueue

DOCS = Path(__file__).parents[2] / "docs" / "network.md"


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.t = dt.datetime.now(dt.UTC).replace(microsecond=0)  # deposits stamp some events with the real time

    def now(self) -> dt.datetime:
        return self.t


class Net:
    """Five nodes, their clients, the in-memory network, the admin key and one deposited AU."""

    def __init__(
        self,
        opened: list[Net],
        tmp_path: Path,
        db_factory: Callable[[], str],
        sample_dir: Path,
        policy: NetworkPolicy = POLICY,
        net: InMemoryNetwork | None = None,
        clock: Clock | None = None,
    ) -> None:
        opened.append(self)
        self.admin = Ed25519PrivateKey.generate()
        self.nodes = [Node.create(tmp_path / f"n{i}", database_url=db_factory(), clock=clock) for i in range(5)]
        self.members = members_of(self.nodes)
        self.net = net or InMemoryNetwork()
        self.join(1, policy)
        for i, n in enumerate(self.nodes):
            self.net.add(f"n{i}", create_peer_app(n))
        self.clients = clients_of(self.nodes, self.net)
        package = sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))[0]
        self.object_id = self.nodes[0].ingest.deposit(package).object_id
        for node, client in zip(self.nodes[1:], self.clients[1:], strict=True):
            assert node.replication.run(client)
        self.au_key = self.nodes[0].events.au_key_for(self.object_id)

    def join(self, serial: int, policy: NetworkPolicy) -> None:
        doc = sign_config(NetworkConfig("memory-net", serial, self.members, policy), self.admin)
        for n in self.nodes:
            n.membership.join(doc, public_key_text(self.admin.public_key()))

    def id(self, i: int) -> str:
        return self.nodes[i].settings.node_id

    def drop_copy(self, i: int) -> None:
        shutil.rmtree(self.nodes[i].store.object_path(self.object_id))


@pytest.fixture
def opened() -> Iterator[list[Net]]:
    """Every Net a test builds, closed at its end (each node holds catalog connections)."""
    nets: list[Net] = []
    yield nets
    for net in nets:
        for client in net.clients:
            client.close()
        for node in net.nodes:
            node.close()


class RelayNetwork(InMemoryNetwork):
    """The node on host ``relay`` holds no copy. Asked for a vote, it asks the node on ``holder`` for one in its own
    name, with the poller's poll id and nonce, and answers with the holder's vote: as it came (``restate`` False),
    or restated as its own (poller and voter fields rewritten, signed with its own key)."""

    def __init__(self, relay: str, holder: str, *, restate: bool) -> None:
        super().__init__()
        self.relay, self.holder, self.restate = relay, holder, restate
        self.relay_id = ""
        self.relay_key: Ed25519PrivateKey | None = None
        self.holder_member: Member | None = None
        self.relayed = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != self.relay or not request.url.path.endswith("/vote"):
            return super().handle_request(request)
        assert self.relay_key is not None and self.holder_member is not None
        poller = request.headers["X-Strongroom-Node"]
        ask = json.loads(request.read())
        client = PeerClient(self.relay_id, self.relay_key, transport=self)
        vote = client.post_json(self.holder_member, request.url.path, ask)
        self.relayed += 1
        if self.restate:
            vote["poller"], vote["voter"] = poller, self.relay_id
            binding = VoteBinding(vote["poll_id"], poller, self.relay_id, vote["object_id"], vote["version"])
            statement = vote_statement(
                binding,
                bytes.fromhex(vote["poller_nonce"]),
                bytes.fromhex(vote["voter_nonce"]),
                blocks_digest(vote["blocks"]),
            )
            vote["signature"] = base64.b64encode(self.relay_key.sign(statement)).decode()
        body = json.dumps(vote).encode()
        signature = sign_response(self.relay_key, request.headers[NONCE], body)
        return httpx.Response(200, headers={"X-Strongroom-Response-Signature": signature}, content=body)


class ReplayNetwork(InMemoryNetwork):
    """Records the votes the node on host ``replayer`` gives; once ``replaying``, answers every vote request with
    the first one it recorded, correctly signed for the new request."""

    def __init__(self, replayer: str) -> None:
        super().__init__()
        self.replayer = replayer
        self.key: Ed25519PrivateKey | None = None
        self.recorded: list[bytes] = []
        self.replaying = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != self.replayer or not request.url.path.endswith("/vote"):
            return super().handle_request(request)
        if not self.replaying:
            response = super().handle_request(request)
            self.recorded.append(response.content)
            return response
        assert self.key is not None
        body = self.recorded[0]
        signature = sign_response(self.key, request.headers[NONCE], body)
        return httpx.Response(200, headers={"X-Strongroom-Response-Signature": signature}, content=body)


# ---- votes prove possession by their own voter ---------------------------------------------------------------


@pytest.mark.parametrize("restate", [False, True], ids=["forwarded", "restated"])
def test_a_relayed_vote_counts_for_nothing(
    opened: list[Net], tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path, restate: bool
) -> None:
    """n4 holds nothing and passes the poller's nonce to honest n1; its answer must not count as agreement. With
    n2 and n3 down and a quorum of two, the relayed vote would have made the poll agree."""
    relay = RelayNetwork("n4", "n1", restate=restate)
    net = Net(
        opened, tmp_path, db_factory, sample_dir, policy=NetworkPolicy(**{**vars(POLICY), "quorum": 2}), net=relay
    )
    relay.relay_id, relay.relay_key = net.id(4), net.nodes[4].membership.private_key()
    relay.holder_member = net.members[1]
    net.drop_copy(4)
    relay.down = {"n2", "n3"}
    result = net.nodes[0].polls.poll(net.clients[0], net.object_id, random.Random(1))
    assert relay.relayed == 1, "the relay was asked for a vote and relayed it"
    assert result.outcome == "inconclusive", "only n1's vote is its own: one vote, short of the quorum of two"
    if restate:
        # Bound to n4 and this poll, but its hashes were made by n1 for another poller: they match nothing.
        # So n1 agrees, n4 disagrees, on every block: no landslide.
        assert result.voters == sorted([net.id(1), net.id(4)]) and result.agreed_blocks == 0
        assert result.inconclusive_blocks and not result.repaired
    else:
        assert result.voters == [net.id(1)]
        assert result.findings[net.id(4)] is PeerFinding.INVALID_VOTE
        assert "not bound to this poll" in result.suspects[net.id(4)]
    assert any(("inconclusive on" if restate else "too few votes") in alarm for alarm in result.alarms)


def test_a_replayed_vote_counts_for_nothing(
    opened: list[Net], tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path
) -> None:
    replay = ReplayNetwork("n4")
    net = Net(opened, tmp_path, db_factory, sample_dir, net=replay)
    replay.key = net.nodes[4].membership.private_key()
    first = net.nodes[0].polls.poll(net.clients[0], net.object_id, random.Random(1))
    assert first.outcome == "agree" and net.id(4) in first.voters and replay.recorded
    net.drop_copy(4)
    replay.replaying = True
    again = net.nodes[0].polls.poll(net.clients[0], net.object_id, random.Random(1))
    assert net.id(4) not in again.voters
    assert again.findings[net.id(4)] is PeerFinding.INVALID_VOTE and net.id(4) in again.suspects
    [event] = [e for e in net.nodes[0].catalog.events(type="poll") if e.data.get("finding") == "invalid-vote"]
    assert event.data["suspect"] == net.id(4) and "SUSPECT" in event.detail


def test_a_vote_is_signed_by_its_voter_and_bound_to_the_poll(
    opened: list[Net], tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path
) -> None:
    net = Net(opened, tmp_path, db_factory, sample_dir)
    path = f"/peer/v1/objects/{encode_id(net.object_id)}/vote"
    ask = {"poll_id": "p-1", "poller_nonce": "ab" * 16, "version": 1, "block_size": 2048}
    vote = net.clients[0].post_json(net.members[2], path, ask)
    assert (vote["poll_id"], vote["poller"], vote["voter"]) == ("p-1", net.id(0), net.id(2))
    binding = VoteBinding("p-1", net.id(0), net.id(2), net.object_id, 1)
    statement = vote_statement(
        binding, bytes.fromhex("ab" * 16), bytes.fromhex(vote["voter_nonce"]), blocks_digest(vote["blocks"])
    )
    net.nodes[2].membership.private_key().public_key().verify(base64.b64decode(vote["signature"]), statement)


# ---- suspects are told apart from damaged peers --------------------------------------------------------------


def test_a_damaged_voter_is_not_a_suspect_until_it_disagrees_again(
    opened: list[Net], tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path
) -> None:
    net = Net(opened, tmp_path, db_factory, sample_dir)
    pdf = next(p for p in sorted(net.nodes[3].store.object_path(net.object_id).rglob("*.pdf")))
    pdf.write_bytes(b"%PDF-1.4 damaged on the voter")
    first = net.nodes[0].polls.poll(net.clients[0], net.object_id, random.Random(3))
    assert first.outcome == "agree" and net.id(3) in first.damaged and net.id(3) not in first.suspects
    second = net.nodes[0].polls.poll(net.clients[0], net.object_id, random.Random(3))  # it did not repair
    assert second.findings[net.id(3)] is PeerFinding.STILL_DISAGREES and net.id(3) in second.suspects
    status = net.nodes[0].network_status.au(net.clients[0], net.au_key)
    assert status.reported_peers == [net.id(3)] and status.damaged_peers == []
    words = [e.detail for e in net.nodes[0].catalog.events(type="poll") if e.data.get("peer") == net.id(3)]
    assert words[0].startswith("SUSPECT peer") and words[1].startswith("damaged copy on peer")
    # Once it repairs itself, it agrees again and is no longer in any minority.
    fixed = net.nodes[3].polls.poll(net.clients[3], net.object_id, random.Random(4))
    assert fixed.repaired
    third = net.nodes[0].polls.poll(net.clients[0], net.object_id, random.Random(3))
    assert third.outcome == "agree" and not third.findings


# ---- nothing unaudited in silence ----------------------------------------------------------------------------


def test_a_poll_without_votes_is_an_alarm_that_says_why(
    opened: list[Net], tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path
) -> None:
    net = Net(
        opened,
        tmp_path,
        db_factory,
        sample_dir,
        policy=NetworkPolicy(**{**vars(POLICY), "min_seconds_between_polls": 3600}),
    )
    assert net.nodes[0].polls.poll(net.clients[0], net.object_id).outcome == "agree"
    again = net.nodes[0].polls.poll(net.clients[0], net.object_id)  # too soon: every voter refuses (429)
    assert again.outcome == "inconclusive" and again.voters == []
    assert all(why.startswith("rate-limited (429)") for why in again.refusals.values()) and len(again.refusals) == 4
    [event] = [e for e in net.nodes[0].catalog.events(type="poll") if e.data.get("role") == "poller"][:1]
    assert event.outcome == "warning"
    assert "ALARM: too few votes: 0 of the quorum 3" in event.detail and "4 rate-limited (429)" in event.detail
    status = net.nodes[0].network_status.au(net.clients[0], net.au_key)
    assert any("too few votes" in alarm for alarm in status.open_alarms)
    _, copies = net.nodes[0].network_status.copies(net.clients[0])
    assert any("too few votes" in alarm for alarm in copies[0].alarms)


def test_an_au_left_unaudited_for_its_interval_is_an_alarm(
    opened: list[Net], tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path
) -> None:
    clock = Clock()
    net = Net(opened, tmp_path, db_factory, sample_dir, clock=clock)
    assert net.nodes[1].network_status.au(net.clients[1], net.au_key).open_alarms == []
    clock.t += dt.timedelta(days=71)
    for i in (0, 1):
        [alarm] = net.nodes[i].network_status.au(net.clients[i], net.au_key).open_alarms
        assert "not audited within the poll interval (70 days)" in alarm and "never" in alarm
    assert net.nodes[0].polls.poll(net.clients[0], net.object_id).outcome == "agree"
    # The poller's own poll audits its copy; each voter's receipt tells it its copy was audited too.
    for i in (0, 1):
        assert net.nodes[i].network_status.au(net.clients[i], net.au_key).open_alarms == []
    clock.t += dt.timedelta(days=71)
    _, copies = net.nodes[1].network_status.copies(net.clients[1])
    assert "not audited within the poll interval" in copies[0].alarms[0]


def test_a_copy_no_longer_assigned_is_not_polled(
    opened: list[Net], tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path
) -> None:
    net = Net(opened, tmp_path, db_factory, sample_dir)
    assert all(n.polls.held() == [net.object_id] for n in net.nodes)
    net.join(2, NetworkPolicy(**{**vars(POLICY), "target_copies": 3, "quorum": 2}))
    holders = set(net.nodes[0].membership.holders(net.object_id))
    for node in net.nodes:
        assert node.store.exists(net.object_id)  # kept: nothing is deleted by a change of placement
        assert node.polls.held() == ([net.object_id] if node.settings.node_id in holders else [])
    i = next(i for i, n in enumerate(net.nodes) if n.settings.node_id not in holders)
    _, [copy] = net.nodes[i].network_status.copies(net.clients[i])
    assert copy.unassigned_here is not None and "(3 do)" in copy.unassigned_here
    assert "may be released" in copy.unassigned_here and copy.alarms == []


# ---- sound policies ------------------------------------------------------------------------------------------


def test_the_shipped_and_documented_policies_can_conclude() -> None:
    assert policy_problems(NetworkPolicy()) == []
    example = re.search(r"```json\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert example is not None
    policy = NetworkPolicy(**json.loads(example.group(1))["policy"])
    assert policy_problems(policy) == [] and policy.quorum <= policy.target_copies - 1


@pytest.mark.parametrize(
    ("change", "problem", "fix"),
    [
        ({"quorum": 5}, "quorum 5 can never be reached", "set quorum to at most 4"),
        ({"invitations": 2}, "quorum 3 can never be reached", "invitations to at least 3"),
        (
            {"poll_interval_days": 0.01, "min_seconds_between_polls": 3600},
            "voters would refuse polls (429)",
            "poll_interval_days to at least",
        ),
    ],
)
def test_network_sign_refuses_a_policy_that_cannot_work(
    opened: list[Net], tmp_path: Path, change: dict[str, float], problem: str, fix: str
) -> None:
    key = tmp_path / "admin.key"
    runner = CliRunner()
    assert runner.invoke(cli, ["network", "keygen", "--out", str(key)]).exit_code == 0
    member = {
        "id": "node-a",
        "url": "http://a",
        "public_key": public_key_text(Ed25519PrivateKey.generate().public_key()),
        "institution": "A",
        "country": "GH",
    }
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"name": "n", "serial": 1, "members": [member], "policy": change}))
    result = runner.invoke(cli, ["network", "sign", str(config), "--key", str(key), "--out", str(tmp_path / "s.json")])
    assert result.exit_code == 7, result.output
    assert problem in result.output and fix in result.output
    assert not (tmp_path / "s.json").exists()
    config.write_text(json.dumps({"name": "n", "serial": 1, "members": [member], "policy": {}}))
    ok = runner.invoke(cli, ["network", "sign", str(config), "--key", str(key), "--out", str(tmp_path / "s.json")])
    assert ok.exit_code == 0, ok.output


def test_serve_warns_when_its_poll_schedule_conflicts_with_the_policy(
    opened: list[Net], tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = Net(
        opened,
        tmp_path,
        db_factory,
        sample_dir,
        policy=NetworkPolicy(**{**vars(POLICY), "min_seconds_between_polls": 3600}),
    )
    home = net.nodes[0].settings.home
    started: list[float | None] = []
    monkeypatch.setattr(
        "strongroom.peer.daemon.serve", lambda node, host, port, schedule, **_: started.append(schedule.poll_every)
    )
    result = CliRunner().invoke(cli, ["serve", "--home", str(home), "--poll-every", "60"])
    assert result.exit_code == 0 and started == [60.0]
    assert "warning: --poll-every 60 s is shorter than the network's min_seconds_between_polls 3600" in result.output
    quiet = CliRunner().invoke(cli, ["serve", "--home", str(home), "--poll-every", "7200"])
    assert quiet.exit_code == 0 and "warning" not in quiet.output
    rare = CliRunner().invoke(cli, ["serve", "--home", str(home), "--poll-every", str(71 * 86400)])
    assert rare.exit_code == 0 and "longer than the network's poll interval" in rare.output


# ---- limits on work ------------------------------------------------------------------------------------------


def test_receipts_cannot_make_a_node_poll_more_often_than_its_schedule() -> None:
    now = [0.0]
    queue = PollQueue(clock=lambda: now[0])
    queue.polled("au", 3600)
    queue.add("au")
    assert queue.take() == set()  # asked too soon after its last poll: stays queued
    now[0] = 3600
    assert queue.take() == {"au"} and queue.take() == set()
    queue.add("other")  # never polled: due at once
    assert queue.take() == {"other"}


def test_a_receipt_does_not_queue_a_poll_the_node_just_ran(
    opened: list[Net], tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path
) -> None:
    net = Net(
        opened,
        tmp_path,
        db_factory,
        sample_dir,
        policy=NetworkPolicy(**{**vars(POLICY), "min_seconds_between_polls": 3600}),
    )
    assert net.nodes[3].polls.poll(net.clients[3], net.object_id).outcome == "agree"  # n3 has just polled
    pdf = next(p for p in sorted(net.nodes[3].store.object_path(net.object_id).rglob("*.pdf")))
    pdf.write_bytes(b"%PDF-1.4 damaged on the voter")
    net.nodes[0].polls.poll(net.clients[0], net.object_id)  # n0's receipt tells n3 its copy disagreed
    assert [e for e in net.nodes[3].catalog.events(type="poll") if "minority" in e.detail]
    assert net.nodes[3].poll_queue.take() == set()


def test_votes_beyond_the_cap_are_refused_with_retry_after(
    opened: list[Net], tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path
) -> None:
    net = Net(
        opened, tmp_path, db_factory, sample_dir, policy=NetworkPolicy(**{**vars(POLICY), "max_concurrent_votes": 1})
    )
    with net.nodes[1].peer._vote_slot():  # n1 is computing a vote already
        path = f"/peer/v1/objects/{encode_id(net.object_id)}/vote"
        body = json.dumps({"poll_id": "p", "poller_nonce": "ab" * 16, "version": 1, "block_size": 2048}).encode()
        headers = sign_request(
            net.id(0), net.nodes[0].membership.private_key(), "POST", path, body, recipient=net.id(1)
        )
        response = net.net.handle_request(httpx.Request("POST", "http://n1" + path, content=body, headers=headers))
        assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
        result = net.nodes[0].polls.poll(net.clients[0], net.object_id)
    assert net.id(1) not in result.voters and result.refusals[net.id(1)].startswith("busy or unreachable (503)")
    assert result.outcome == "agree"  # three votes of four: still a landslide of a quorum


def test_a_node_runs_no_more_polls_than_its_cap(
    opened: list[Net], tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path
) -> None:
    net = Net(
        opened, tmp_path, db_factory, sample_dir, policy=NetworkPolicy(**{**vars(POLICY), "max_concurrent_polls": 1})
    )
    with net.nodes[0].polls._slot("another AU", 1), pytest.raises(PollBusy, match="max_concurrent_polls 1"):
        net.nodes[0].polls.poll(net.clients[0], net.object_id)
    with net.nodes[0].polls._slot(net.object_id, 5), pytest.raises(PollBusy, match="running already"):
        net.nodes[0].polls.poll(net.clients[0], net.object_id)
    assert net.nodes[0].polls.poll(net.clients[0], net.object_id).outcome == "agree"


class SlowNetwork(InMemoryNetwork):
    """The node on host ``slow`` answers a vote only once ``release`` is set."""

    def __init__(self, slow: str) -> None:
        super().__init__()
        self.slow = slow
        self.release = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == self.slow and request.url.path.endswith("/vote"):
            self.release.wait(60)
        return super().handle_request(request)


def test_votes_are_collected_at_once_and_a_late_one_is_not_waited_for(
    opened: list[Net], tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path
) -> None:
    slow = SlowNetwork("n2")
    net = Net(
        opened,
        tmp_path,
        db_factory,
        sample_dir,
        policy=NetworkPolicy(**{**vars(POLICY), "max_poll_seconds": 1}),
        net=slow,
    )
    try:
        result = net.nodes[0].polls.poll(net.clients[0], net.object_id)
    finally:
        slow.release.set()
    assert result.outcome == "agree" and net.id(2) not in result.voters and len(result.voters) == 3
    assert result.refusals[net.id(2)] == "no vote within 1 s"


def test_the_command_line_shows_a_poll_without_votes_as_an_alarm(
    opened: list[Net], tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path
) -> None:
    """``strongroom poll`` from a node whose peers cannot be reached (their in-memory hosts do not resolve)."""
    net = Net(opened, tmp_path, db_factory, sample_dir)
    home = str(net.nodes[0].settings.home)
    result = CliRunner().invoke(cli, ["poll", net.au_key, "--home", home])
    assert result.exit_code == 1
    assert "ALARM: too few votes: 0 of the quorum 3" in result.output and "4 busy or unreachable (503)" in result.output
    assert result.output.count("no vote from") == 4
    status = CliRunner().invoke(cli, ["au", "status", net.au_key, "--home", home, "--json"])
    assert any("too few votes" in alarm for alarm in json.loads(status.output)["open_alarms"])


def test_a_poll_stops_repairing_when_its_time_is_up(
    opened: list[Net], tmp_path: Path, db_factory: Callable[[], str], sample_dir: Path
) -> None:
    net = Net(opened, tmp_path, db_factory, sample_dir)
    victim = net.nodes[2]
    pdf = next(p for p in sorted(victim.store.object_path(net.object_id).rglob("*.pdf")))
    original = pdf.read_bytes()
    pdf.write_bytes(original[:1000] + b"damage" + original[1006:])
    ticks = iter([0.0])
    victim.polls.monotonic = lambda: next(ticks, 1e9)  # the poll starts at 0; by its repairs, the time is up
    late = victim.polls.poll(net.clients[2], net.object_id)
    assert late.outcome == "disagree" and late.unrepaired and not late.repaired
    assert any(alarm.startswith("ran out of time (max_poll_seconds 10800)") for alarm in late.alarms)
    assert pdf.read_bytes() != original
    victim.polls.monotonic = lambda: 0.0
    again = victim.polls.poll(net.clients[2], net.object_id)
    assert again.repaired and pdf.read_bytes() == original
