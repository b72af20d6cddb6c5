"""``strongroom demo --network`` as a newcomer runs it, in a subprocess: a network of real ``strongroom serve``
processes replicates the samples, finds the copy damaged on purpose and repairs it, the nodes' catalogs record the
repair, the printed console sign-in works on the first node's portal; and every process the demo started is gone
when it ends: after the summary with --no-wait, at Ctrl-C while it waits, and when one of its nodes dies."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from strongroom.demo_network import DemoFailed, NetworkDemo, port_free
from strongroom.node import Node
from tests_support import free_ports

pytestmark = pytest.mark.slow

STRONGROOM = [sys.executable, "-m", "strongroom.cli.main"]
ENV = {**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}


def sr(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*STRONGROOM, *args], capture_output=True, text=True, env=ENV, timeout=120, check=False)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (children, their children...), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def processes_using(home: Path) -> list[int]:
    """Running processes whose command line names a path under ``home``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if str(home).encode() in (entry / "cmdline").read_bytes() and alive(int(entry.name)):
                    pids.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
    return pids


def events(home: Path, kind: str) -> list[dict[str, object]]:
    proc = sr("events", "--type", kind, "--json", "--home", str(home))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    return list(data["events"] if isinstance(data, dict) else data)


def test_the_network_demo_finds_and_repairs_the_damage_and_stops_everything(tmp_path: Path) -> None:
    home, first = tmp_path / "tour", free_ports(4)
    started = time.monotonic()
    proc = sr("demo", "--network", "--no-wait", "--home", str(home), "--port", str(first))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert time.monotonic() - started < 240
    out = proc.stdout
    assert "12 of 12 AUs preserved in 3 countries" in out, out
    assert re.search(r"The damage to \S+ in (\S+) on accra was found and repaired; a later poll agreed", out), out
    assert "Stopped 4 processes" in out
    au = re.search(r"in (\S+) on accra was found", out).group(1)  # type: ignore[union-attr]

    # Nothing is left running, and every port is free again.
    assert processes_using(home) == []
    assert all(port_free(p) for p in range(first, first + 4))

    # The damaged node's catalog records the poll that found the damage and the repair from a peer; its copy is
    # intact again, as its own audit says.
    accra, nairobi, dakar = home / "accra", home / "nairobi", home / "dakar"
    repairs = events(accra, "repair")
    assert [(e["object"], e["outcome"]) for e in repairs] == [(au, "success")], repairs
    with Node.open(nairobi) as n1, Node.open(dakar) as n2:
        peers = {n1.settings.node_id, n2.settings.node_id}
    assert repairs[0]["data"]["source"] in peers  # type: ignore[index]
    polls = [e for e in events(accra, "poll") if e["object"] == au]
    assert any(e["data"]["repaired"] for e in polls), polls  # type: ignore[index]
    audit = sr("audit", "--home", str(accra))
    assert audit.returncode == 0, audit.stdout + audit.stderr
    # The copies were made by the nodes' own replication, verified against the inventory.
    for peer in (nairobi, dakar):
        assert {e["object"] for e in events(peer, "replication") if e["outcome"] == "success"} >= {au}
    # The operator's console account was created on the first node, and the event names who made it.
    console = [e for e in events(accra, "console") if e["object"] == "operator"]
    assert console and "strongroom demo" in str(console[0]["agent"])


def test_ctrl_c_while_waiting_stops_every_process_it_started(tmp_path: Path) -> None:
    home, first = tmp_path / "tour", free_ports(4)
    demo = subprocess.Popen(
        [*STRONGROOM, "demo", "--network", "--home", str(home), "--port", str(first)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in demo.stdout], daemon=True).start()  # type: ignore[union-attr]
    seen: list[str] = []
    deadline = time.monotonic() + 240
    try:
        while not any("Ctrl-C stops the 4 processes" in x for x in seen):
            assert demo.poll() is None and time.monotonic() < deadline, "".join(seen)
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                continue
        text = "".join(seen)
        url, password = re.search(r"Console: (\S+)/console/network/\s+user operator, password (\S+) ", text).groups()  # type: ignore[union-attr]
        assert url == f"http://127.0.0.1:{first + 3}"
        children = descendants(demo.pid)
        assert len(children) >= 4 and all(alive(p) for p in children)

        # The console answers with the printed password only; it shows the network the demo built.
        with httpx.Client(base_url=url, timeout=60) as stranger:
            assert stranger.get("/console/network.json").status_code in (401, 403)
            assert (
                stranger.post("/signin", data={"username": "operator", "password": "wrong-" + password}).status_code
                != 303
            )
        with httpx.Client(base_url=url, timeout=60) as c:
            assert c.post("/signin", data={"username": "operator", "password": password}).status_code == 303
            overview = c.get("/console/network.json").json()
        assert overview["members_total"] == overview["members_answering"] == 3
        assert overview["aus"] == overview["at_policy"] == 12
        au = re.search(r"in (\S+) on accra was found and repaired", text).group(1)  # type: ignore[union-attr]
        assert au in [e["au_key"] for e in overview["repair_times"]["episodes"]]

        demo.send_signal(signal.SIGINT)
        stopping = time.monotonic()
        assert demo.wait(timeout=60) == 0
        assert time.monotonic() - stopping < 45  # promptly: SIGTERM to every group, at most its running step
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    rest = demo.stdout.read() if demo.stdout else ""  # type: ignore[union-attr]
    time.sleep(0.5)
    while not lines.empty():
        seen.append(lines.get())
    assert "Stopped 4 processes" in "".join(seen) + rest
    assert [p for p in children if alive(p)] == []
    assert processes_using(home) == []
    assert all(port_free(p) for p in range(first, first + 4))


def test_a_child_that_dies_ends_the_demo_and_the_others_are_stopped(tmp_path: Path) -> None:
    """Any error stops every process: here a node that cannot start (no home) while a portal runs."""
    home = tmp_path / "tour"
    home.mkdir()
    Node.create(home / "accra").close()
    port = free_ports(2)
    with pytest.raises(DemoFailed, match="nairobi stopped"), NetworkDemo(home, say=print) as demo:
        portal = demo.start(
            "portal", ["portal", "serve", "--home", str(home / "accra"), "--port", str(port)], home / "portal.log", port
        )
        demo.start(
            "nairobi", ["serve", "--home", str(home / "missing"), "--port", str(port + 1)], home / "serve.log", port + 1
        )
        demo.wait(poll_seconds=0.2)
    assert not alive(portal.process.pid)
    assert processes_using(home) == []
