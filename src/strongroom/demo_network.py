"""The guided tour behind ``strongroom demo --network``: a small preservation network on one machine.

Three to five nodes are created in homes of their own, in countries of their own; a fresh administrative key signs
the network's configuration and every node joins it; each node is started as its own ``strongroom serve`` process
(SQLite, a local storage root, plain HTTP on 127.0.0.1); the sample packages are deposited at the first node and
replicated until every AU has its copies; the nodes poll each other; one copy is damaged on purpose (one bit of a
stored PDF flipped, as a failing disk would) and its holder polls until the damage is found and repaired from its
peers. The first node's portal (``strongroom portal serve``) is started with an operator's console account, so the
network can be watched at ``/console/network/``.

Every child process runs in a process group of its own and :meth:`NetworkDemo.stop` ends each group, whatever
happened: the tour's end, an error, Ctrl-C, SIGTERM or SIGHUP. (On Linux a child is also sent SIGTERM by the kernel
if this process dies without cleaning up.) The steps report through callbacks, so the CLI draws them and tests
read them.

Must not import: the CLI or rich (the CLI draws the progress), any web framework.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType, TracebackType

from strongroom.demo import MARKER, prepare_home, write_packages
from strongroom.domain.model import EventType
from strongroom.domain.poll import Outcome
from strongroom.errors import ConfigError, ExitCode, StrongroomError
from strongroom.node import Node
from strongroom.samples.damage import flip_one_bit
from strongroom.services import network_admin
from strongroom.services.accounts import Role
from strongroom.services.deposit import DepositOptions
from strongroom.settings import write_settings

MIN_NODES, MAX_NODES = 3, 5
DEFAULT_PORT = 8470
# (folder, institution, country): a node in each country, as in docs/network.md.
SITES = [
    ("accra", "University of Ghana Library", "GH"),
    ("nairobi", "University of Nairobi Library", "KE"),
    ("dakar", "Université Cheikh Anta Diop", "SN"),
    ("sao-paulo", "Universidade de São Paulo", "BR"),
    ("dar-es-salaam", "University of Dar es Salaam", "TZ"),
]
REPLICATE_EVERY = "2"  # seconds between replication rounds: a demo cannot wait the default minute a round
START_SECONDS = 120.0  # how long a process may take to listen (two busy cores, cold imports)
REPLICATION_SECONDS = 300.0
REPAIR_ATTEMPTS = 5
OPERATOR = "operator"

Say = Callable[[str], None]
# track(description, total) -> a context whose value sets how much of ``total`` is done
Track = Callable[[str, int], AbstractContextManager[Callable[[int], None]]]


class DemoFailed(StrongroomError):
    """The network did not do what the tour shows (a node did not start or died, replication or repair stalled)."""

    exit_code = ExitCode.PROBLEMS_FOUND


@dataclass(frozen=True)
class DemoNode:
    name: str
    institution: str
    country: str
    home: Path
    port: int
    node_id: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class NetworkDemoSummary:
    home: Path
    nodes: list[DemoNode] = field(default_factory=list)
    packages: int = 0
    aus: int = 0
    copies: int = 0  # verified copies held across the network
    countries: list[str] = field(default_factory=list)
    preserved: int = 0  # AUs with their target copies in enough countries
    polls: int = 0
    polls_agreed: int = 0
    damaged_node: str = ""
    damaged_au: str = ""
    damaged_file: str = ""
    found: bool = False  # a poll of the damaged copy disagreed with it
    repaired: bool = False  # ... and the file was repaired from a peer
    repaired_from: str = ""
    confirmed: bool = False  # a later poll of the repaired copy agreed
    seconds: float = 0.0
    portal_url: str = ""
    console_url: str = ""
    username: str = OPERATOR
    password: str = ""

    @property
    def ok(self) -> bool:
        return self.repaired and self.confirmed and self.preserved == self.aus > 0


def _null_track(description: str, total: int) -> AbstractContextManager[Callable[[int], None]]:
    return contextlib.nullcontext(lambda done: None)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    port: int


def _linux_parent_death_signal() -> Callable[[], None] | None:
    """A pre-exec hook asking the kernel to send the child SIGTERM when this process dies (prctl
    PR_SET_PDEATHSIG); None off Linux. libc is loaded here, in the parent: the hook itself only makes one call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(1, int(signal.SIGTERM))  # 1: PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the call: nobody will stop this child
            os._exit(1)

    return hook


def port_free(port: int) -> bool:
    """Whether a server could listen on ``port`` now (with SO_REUSEADDR, as uvicorn does: connections of a demo
    that just ended linger in TIME_WAIT for a minute, and do not stop a new listener)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


class NetworkDemo:
    """The tour and every process it starts: ``with NetworkDemo(...) as demo: summary = demo.run()``; leaving the
    block (normally, on an error or on Ctrl-C) stops every child process group."""

    def __init__(
        self, home: Path, nodes: int = MIN_NODES, port: int = DEFAULT_PORT, *, say: Say, track: Track | None = None
    ):
        if not MIN_NODES <= nodes <= MAX_NODES:
            raise ConfigError(f"a demo network has {MIN_NODES} to {MAX_NODES} nodes, not {nodes}")
        self.home = home
        self.count = nodes
        self.port = port
        self.say = say
        self.track = track or _null_track
        self.children: list[Child] = []
        self.summary = NetworkDemoSummary(home)
        self._handlers: dict[int, object] = {}

    # ---- processes --------------------------------------------------------------------------------------------

    def __enter__(self) -> NetworkDemo:
        for signum in (signal.SIGTERM, signal.SIGHUP):  # stopped from outside: clean up as on Ctrl-C
            self._handlers[signum] = signal.signal(signum, _interrupt)
        return self

    def __exit__(self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None) -> None:
        try:
            self.stop()
        finally:
            for signum, handler in self._handlers.items():
                signal.signal(signum, handler)  # type: ignore[arg-type]

    def start(self, name: str, args: list[str], log: Path, port: int) -> Child:
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "strongroom.cli.main", *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: Ctrl-C reaches us, and we stop the whole group
                preexec_fn=_linux_parent_death_signal(),  # one prctl call; libc was loaded before the fork
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        child = Child(name, process, log, port)
        self.children.append(child)
        return child

    def check(self) -> None:
        """DemoFailed naming the first child that exited, with the end of its log."""
        for child in self.children:
            if child.process.poll() is not None:
                tail = child.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
                raise DemoFailed(
                    f"{child.name} stopped (exit {child.process.returncode}): " + " | ".join(tail),
                    hint=f"its whole log is {child.log}",
                )

    def stop(self, timeout: float = 30.0) -> int:
        """Stop every child's process group: SIGTERM (a node finishes its step and its running job), then SIGKILL
        for any still alive after ``timeout`` seconds. A second Ctrl-C meanwhile is ignored: stopping is under way
        already. Returns how many were running."""
        with quiet_interrupts():
            running = [c for c in self.children if c.process.poll() is None]
            for child in running:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            for child in running:
                try:
                    child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(child.process.pid, signal.SIGKILL)
                    child.process.wait()
            for child in self.children:  # anything the leader left behind in its group goes too
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.process.pid, signal.SIGKILL)
            self.children.clear()
        return len(running)

    def wait(self, poll_seconds: float = 1.0) -> None:
        """Until interrupted (KeyboardInterrupt), or DemoFailed when a child stops on its own."""
        while True:
            self.check()
            time.sleep(poll_seconds)

    # ---- the tour ---------------------------------------------------------------------------------------------

    def run(self) -> NetworkDemoSummary:
        started = time.monotonic()
        s = self.summary
        if self.home.exists() and not (self.home / MARKER).exists() and any(self.home.iterdir()):
            prepare_home(self.home)  # refuses, naming the fix; checked before anything else
        ports = [self.port + i for i in range(self.count + 1)]  # the nodes, then the first node's portal
        busy = [p for p in ports if not port_free(p)]
        if busy:
            raise ConfigError(
                f"port{'s' if len(busy) > 1 else ''} {', '.join(map(str, busy))} on 127.0.0.1 "
                f"{'are' if len(busy) > 1 else 'is'} in use; the demo needs {len(ports)} free ports from {self.port}",
                hint="pass --port FIRST with that many free ports after it",
            )
        prepare_home(self.home)
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / MARKER).write_text("made by strongroom demo --network; safe to delete\n", encoding="utf-8")
        s.nodes = self._create_nodes(ports)
        self._sign_and_join()
        s.portal_url = f"http://127.0.0.1:{ports[-1]}"
        s.console_url = s.portal_url + "/console/network/"
        s.password = self._console_account(s.nodes[0], s.portal_url)
        self._start(s.nodes, ports[-1])
        aus = self._deposit(s.nodes[0])
        self._replicate(aus)
        self._audit_round()
        self._damage_and_repair()
        s.seconds = time.monotonic() - started
        return s

    def _create_nodes(self, ports: list[int]) -> list[DemoNode]:
        nodes = []
        for (name, institution, country), port in zip(SITES[: self.count], ports, strict=False):
            home = self.home / name
            with Node.create(home, name=f"Demo node {name}", institution=institution, country=country) as node:
                nodes.append(DemoNode(name, institution, country, home, port, node.settings.node_id))
        self.say(
            f"1. Created {len(nodes)} nodes, each with its own settings, SQLite catalog, OCFL storage root and Ed25519 "
            "key pair: " + ", ".join(f"{n.name} ({n.country}, {n.node_id})" for n in nodes) + "."
        )
        return nodes

    def _policy(self) -> dict[str, float]:
        """The demo's policy (the rest is the defaults of docs/network.md): every node holds every AU; polls conclude
        with all the other holders voting (3 of 4 with 5 nodes); a voter lets a node poll an AU again after a second
        (a real network waits an hour), so the repaired copy can be polled again at once."""
        return {
            "target_copies": self.count,
            "min_countries": MIN_NODES,
            "quorum": min(3, self.count - 1),
            "min_seconds_between_polls": 1.0,
        }

    def _sign_and_join(self) -> None:
        admin = self.home / "administrators"
        admin.mkdir()
        admin_key = network_admin.keygen(admin / "admin.key")
        members = []
        for n in self.summary.nodes:
            with Node.open(n.home) as node:
                members.append(node.membership.entry(n.url, n.institution, n.country))
        config = {"name": "strongroom-demo", "serial": 1, "members": members, "policy": self._policy()}
        (admin / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        signed = network_admin.sign(admin / "config.json", admin / "admin.key", admin / "signed.json")
        document = json.loads((admin / "signed.json").read_text(encoding="utf-8"))
        for n in self.summary.nodes:
            with Node.open(n.home) as node:
                node.membership.join(document, admin_key)
        p = signed.policy
        self.say(
            f"2. Made the network's administrative key ({admin / 'admin.key'}), signed the configuration (serial "
            f"{signed.serial}: {len(signed.members)} members; {p.target_copies} copies of every AU in at least "
            f"{p.min_countries} countries; polls need {p.quorum} votes) and every node joined it."
        )

    def _console_account(self, first: DemoNode, portal_url: str) -> str:
        password = secrets.token_urlsafe(12)
        with Node.open(first.home) as node:
            settings = node.settings
            write_settings(replace(settings, portal=replace(settings.portal, base_url=portal_url)))
            node.accounts.create_staff(
                OPERATOR, password, [Role.OPERATOR], named="Demo operator", by="strongroom demo --network"
            )
        return password

    def _start(self, nodes: list[DemoNode], portal_port: int) -> None:
        for n in nodes:
            args = ["serve", "--home", str(n.home), "--port", str(n.port), "--replicate-every", REPLICATE_EVERY]
            self.start(n.name, args, n.home / "serve.log", n.port)
        first = nodes[0]
        self.start(
            f"{first.name}'s portal",
            ["portal", "serve", "--home", str(first.home), "--port", str(portal_port)],
            first.home / "portal.log",
            portal_port,
        )
        deadline = time.monotonic() + START_SECONDS
        with self.track("starting processes", len(self.children)) as done:
            waiting = list(self.children)
            while waiting:
                self.check()
                waiting = [c for c in waiting if not listening(c.port)]
                done(len(self.children) - len(waiting))
                if waiting and time.monotonic() > deadline:
                    raise DemoFailed(
                        f"{', '.join(c.name for c in waiting)} did not listen within {START_SECONDS:.0f} s",
                        hint="see serve.log (or portal.log) in each node's home",
                    )
                time.sleep(0.2)
        self.say(
            f"3. Started {len(nodes)} nodes, each its own 'strongroom serve' process on plain HTTP: "
            + ", ".join(f"{n.name} {n.url}" for n in nodes)
            + f"; and {first.name}'s portal at {self.summary.portal_url}."
        )

    def _deposit(self, origin: DemoNode) -> dict[str, int]:
        """Deposit the sample packages at ``origin``; {object id: head version}."""
        packages = write_packages(self.home / "sample-packages")
        aus: dict[str, int] = {}
        items = files = 0
        with Node.open(origin.home) as node, self.track(f"depositing at {origin.name}", len(packages)) as done:
            for i, pkg in enumerate(packages, 1):
                result = node.ingest.deposit(pkg, DepositOptions(platform="ojs"))
                aus[result.object_id] = result.version
                items, files = items + result.items, files + result.files
                done(i)
        self.summary.packages, self.summary.aus = len(packages), len(aus)
        self.say(
            f"4. Deposited {len(packages)} sample packages at {origin.name}: {items} articles and {files} files in "
            f"{len(aus)} archival units."
        )
        return aus

    def _replicate(self, aus: dict[str, int]) -> None:
        """Wait while the nodes' own replication rounds copy every AU, each file verified against its inventory."""
        s, started = self.summary, time.monotonic()
        want = len(aus) * self.count
        with Node.open(s.nodes[0].home) as node, self.track("replicating", want) as done:
            client = node.membership.client()
            try:
                while True:
                    self.check()
                    status = [a for a in node.network_status.copies(client)[1] if a.object_id in aus]
                    held = sum(v >= aus[a.object_id] for a in status for v in a.holding.values())
                    done(held)
                    if held >= want and all(a.preserved for a in status) and len(status) == len(aus):
                        break
                    if time.monotonic() - started > REPLICATION_SECONDS:
                        raise DemoFailed(
                            f"replication stalled: {held} of {want} copies after {REPLICATION_SECONDS:.0f} s",
                            hint="see serve.log in each node's home",
                        )
                    time.sleep(0.5)
            finally:
                client.close()
        s.copies, s.preserved = held, sum(a.preserved for a in status)
        s.countries = sorted({c for a in status for c in a.countries})
        self.say(
            f"5. Replicated in {time.monotonic() - started:.0f} s: the nodes' own replication rounds copied every AU, "
            f"each file verified against its inventory's digests; {s.copies} copies, {s.preserved} of {s.aus} AUs "
            f"preserved in {len(s.countries)} countries ({', '.join(s.countries)})."
        )

    def _audit_round(self) -> None:
        """Every node polls every AU it holds with its peers."""
        s = self.summary
        with self.track("polling", s.aus * self.count) as done:
            for n in s.nodes:
                with Node.open(n.home) as node:
                    client = node.membership.client()
                    try:
                        for object_id in node.polls.held():
                            result = node.polls.poll(client, object_id)
                            s.polls += 1
                            s.polls_agreed += result.outcome is Outcome.AGREE and not result.alarms
                            done(s.polls)
                    finally:
                        client.close()
        self.say(
            f"6. Every node polled its copies with its peers (each voter hashed its copy with fresh nonces): "
            f"{s.polls} polls, {s.polls_agreed} agreed."
        )

    def _damage_and_repair(self) -> None:
        s = self.summary
        victim = s.nodes[0]  # the node whose console the demo starts: its network page shows the repair
        with Node.open(victim.home) as node:
            au = node.browse.aus()[0]
            s.damaged_node, s.damaged_au = victim.name, au.key
            s.damaged_file = flip_one_bit(node.store, au.object_id)
            self.say(
                f"7. Damaged {victim.name}'s copy of {au.key}: flipped one bit of {s.damaged_file} on its disk, as a "
                "failing disk would. Nothing tells the node; its polls must find it."
            )
            client = node.membership.client()
            try:
                with self.track(f"{victim.name} polling {au.key}", 1) as done:
                    for attempt in range(1, REPAIR_ATTEMPTS + 1):
                        self.check()
                        result = node.polls.poll(client, au.object_id)
                        s.polls += 1
                        s.found = s.found or result.outcome is Outcome.DISAGREE or bool(result.repaired)
                        if result.repaired:
                            s.repaired = True
                            break
                        time.sleep(attempt)  # a voter busy or rate-limited: ask again a little later
                    done(1)
                if s.repaired:
                    repairs = node.browse.events(object_key=au.key, type=str(EventType.REPAIR), limit=1)
                    s.repaired_from = str(repairs[0].data.get("source", "")) if repairs else ""
                    time.sleep(1.0)  # the voters' min_seconds_between_polls
                    again = node.polls.poll(client, au.object_id)
                    s.polls += 1
                    s.confirmed = again.outcome is Outcome.AGREE and not again.alarms
            finally:
                client.close()
        source = next((n.name for n in s.nodes if n.node_id == s.repaired_from), s.repaired_from or "a peer")
        if s.repaired:
            self.say(
                f"8. {victim.name} polled its copy of {s.damaged_au}: its peers' votes disagreed with the damaged "
                f"block, so it fetched that block from {source}, checked that it re-hashes to the landslide and that "
                f"the whole file matches the inventory's digest, and installed it (a repair event). Polled again: "
                + ("all agree." if s.confirmed else "STILL NOT AGREED.")
            )
        else:
            self.say(f"8. {victim.name} polled {s.damaged_au} {REPAIR_ATTEMPTS} times and could NOT repair it.")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def quiet_interrupts() -> Iterator[None]:
    """While stopping: a second Ctrl-C must not leave children running (they are being stopped already)."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
