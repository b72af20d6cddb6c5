"""The network at a glance, on a real network: three nodes in three countries serving their peer APIs over HTTP
(``strongroom serve``), the first also serving the console (``strongroom portal serve``). The first node polls: its
three AUs agree; a damaged file found by an audit is repaired by the next day's poll; another damaged file is found
and repaired in one poll; a fourth AU, deposited after the others replicated, has no voters (an inconclusive poll,
an alarm) and is below the policy. Every chart's ``data-`` numbers are checked against ``/console/network.json``,
and that JSON against ``strongroom network status --json``; other roles and strangers are refused; the page is
photographed in Chromium at a phone's and a desktop's width."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_fixtures import PASSWORD, add_people, new_page, screenshots, sign_in
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from portal_fixtures import LivePortal, start_portal, stop

from strongroom.ingest.deposit import DepositOptions
from strongroom.keys import public_key_text
from strongroom.network.config import Member, NetworkConfig, NetworkPolicy, sign_config
from strongroom.node import Node
from strongroom.samples.damage import flip_one_bit
from tests_support import free_port, wait_for

pytestmark = pytest.mark.slow

EXE = str(Path(sys.executable).parent / "strongroom")
SAMPLES = (
    "east-african-journal-of-public-health-2024-jats",
    "ghana-journal-of-agricultural-science-2023-bag",
    "jarida-la-sayansi-ya-kilimo-2024-jats",
)
LATE = "revue-senegalaise-de-sante-publique-2023-bag"  # deposited after the others replicated
POLICY = NetworkPolicy(
    target_copies=3,
    min_countries=3,
    quorum=2,
    vote_margin=0.75,
    invitations=2,
    block_size=4096,
    poll_interval_days=3650,  # the portal's clock is the real one: no "not audited in time" alarm here
    max_requests_per_minute=10_000,
    min_seconds_between_polls=0,
)
DAY = dt.timedelta(days=1)


class Clock:
    """The first node's clock: a second a call, and jumps of whole days."""

    def __init__(self, start: dt.datetime) -> None:
        self.t = start

    def now(self) -> dt.datetime:
        self.t += dt.timedelta(seconds=1)
        return self.t


@dataclass
class Net:
    nodes: list[Node]
    servers: list[subprocess.Popen[bytes]]
    portal: LivePortal
    aus: dict[str, str]  # AU key -> object id, on the first node

    @property
    def home(self) -> Path:
        return self.nodes[0].settings.home

    @contextmanager
    def client(self, username: str | None = None) -> Iterator[httpx.Client]:
        with httpx.Client(base_url=self.portal.url, timeout=120, follow_redirects=False) as c:
            if username is not None:
                r = c.post("/signin", data={"username": username, "password": PASSWORD})
                assert r.status_code == 303, r.text
            yield c


def _serve(home: Path, port: int) -> subprocess.Popen[bytes]:
    log = (home / "serve.log").open("ab")
    proc = subprocess.Popen(
        [EXE, "serve", "--home", str(home), "--port", str(port), "--replicate-every", "3600", "--poll-every", "1e9"],
        stdout=log,
        stderr=log,
    )

    def answers() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(f"the node at {home} to answer", answers, timeout=90)
    return proc


@pytest.fixture(scope="module")
def net(
    module_db_factory: Callable[[], str], tmp_path_factory: pytest.TempPathFactory, sample_dir: Path
) -> Iterator[Net]:
    base = tmp_path_factory.mktemp("glance")
    (base / "keys").mkdir()
    clock = Clock(dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC))
    countries = ("GH", "KE", "SN")
    nodes = [
        Node.create(
            base / f"n{i}",
            database_url=module_db_factory(),
            clock=clock if i == 0 else None,
            name=f"node {i}",
            institution=f"Library {i}",
            country=countries[i],
        )
        for i in range(3)
    ]
    a = nodes[0]
    for name in SAMPLES:
        a.ingest.deposit(sample_dir / name, DepositOptions(platform="ojs"))
    add_people(a, base / "keys")
    ports = [free_port() for _ in nodes]
    admin = Ed25519PrivateKey.generate()
    members = tuple(
        Member(
            n.settings.node_id,
            f"http://127.0.0.1:{port}",
            public_key_text(n.membership.private_key().public_key()),
            f"Library {i}",
            countries[i],
        )
        for i, (n, port) in enumerate(zip(nodes, ports, strict=True))
    )
    document = sign_config(NetworkConfig("glance-net", 1, members, POLICY), admin)
    for n in nodes:
        n.membership.join(document, public_key_text(admin.public_key()))
    servers: list[subprocess.Popen[bytes]] = []
    portal: LivePortal | None = None
    try:
        for n, port in zip(nodes, ports, strict=True):  # the first answers before the others replicate from it
            servers.append(_serve(n.settings.home, port))
        aus = {au_key: object_id for au_key, object_id in _aus(a)}
        for n in nodes[1:]:  # their first replication round, at start
            wait_for("the AUs to replicate", lambda n=n: set(n.store.iter_object_ids()) >= set(aus.values()), 180)
        time.sleep(2)  # the round records its events after the last file
        client = a.membership.client()
        try:
            keys = sorted(aus)
            clock.t += DAY  # day 1: every AU agrees
            for key in keys:
                assert str(a.polls.poll(client, aus[key]).outcome) == "agree"
            clock.t += DAY  # day 2: an audit finds damage on the second AU
            flip_one_bit(a.store, aus[keys[1]])
            assert not a.audits.audit([keys[1]]).intact
            clock.t += DAY  # day 3: the poll repairs it; damage on the third is found and repaired in one poll
            assert a.polls.poll(client, aus[keys[1]]).repaired
            flip_one_bit(a.store, aus[keys[2]])
            assert a.polls.poll(client, aus[keys[2]]).repaired
            clock.t += DAY  # day 4: a new AU nobody else holds yet: no voters, an alarm
            late = a.ingest.deposit(sample_dir / LATE, DepositOptions(platform="ojs"))
            assert str(a.polls.poll(client, late.object_id).outcome) == "inconclusive"
            aus[late.au_key] = late.object_id
        finally:
            client.close()
        portal = start_portal(a.settings.home)
        yield Net(nodes, servers, portal, aus)
    finally:
        if portal is not None:
            stop(portal)
        for proc in servers:
            proc.terminate()
            proc.wait(timeout=60)
        for n in nodes:
            n.close()


def _aus(node: Node) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from strongroom.catalog.models import ArchivalUnit

    with node.catalog.session() as s:
        return [(k, o) for k, o in s.execute(select(ArchivalUnit.key, ArchivalUnit.object_id))]


def _glance(net: Net) -> tuple[str, dict[str, Any]]:
    with net.client("olu-operator") as c:
        page = c.get("/console/network/")
        assert page.status_code == 200, page.text
        data = c.get("/console/network.json")
        assert data.status_code == 200
    return page.text, data.json()


def _attrs(tag: str) -> dict[str, str]:
    import html

    return {k: html.unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', tag)}


def _chart(page: str, name: str) -> str:
    found = re.search(rf'<svg[^>]*data-chart="{name}".*?</svg>', page, re.S)
    assert found, f"no chart {name}"
    return found.group(0)


def _bars(svg: str) -> list[tuple[str, list[float]]]:
    return [
        (a["data-label"], [float(v) for v in a["data-values"].split()])
        for a in map(_attrs, re.findall(r"<g [^>]*data-values=[^>]*>", svg))
    ]


def test_the_numbers_the_network_gives(net: Net) -> None:
    _, o = _glance(net)
    keys = sorted(net.aus)
    late = list(net.aus)[-1]  # deposited last
    assert o["in_network"] and o["network"] == "glance-net" and o["target_copies"] == 3
    assert o["aus"] == 4 and o["at_policy"] == 3 and o["below_policy"] == 1
    assert o["verdict"] == "alarms" and o["open_alarms"] >= 1
    assert o["members_answering"] == o["members_total"] == 3
    [below] = o["below"]
    assert below["au_key"] == late and below["copies"] == 1 and below["advice"] == "replicate"
    assert sorted(below["missing"]) == sorted(n.settings.node_id for n in net.nodes[1:])
    assert [(k["country"], k["members"], k["aus"]) for k in o["countries"]] == [
        ("GH", 1, 4),
        ("KE", 1, 3),
        ("SN", 1, 3),
    ]
    assert all(k["bytes"] > 0 for k in o["countries"])
    assert o["histogram"] == {"1": 1, "3": 3}
    assert o["poll_period"] == "day"
    assert [(p["start"], p["agreements"], p["repairs"], p["inconclusive"]) for p in o["polls"]] == [
        ("2026-01-11", 3, 0, 0),
        ("2026-01-12", 0, 0, 0),
        ("2026-01-13", 0, 2, 0),
        ("2026-01-14", 0, 0, 1),
    ]
    times = o["repair_times"]
    assert times["repaired"] == 2 and times["open_damage"] == []
    assert 86400 <= times["worst_seconds"] < 86400 + 300  # found by the audit on day 2, repaired on day 3
    assert 0 <= min(e["seconds"] for e in times["episodes"]) < 60  # found and repaired in one poll
    assert times["median_seconds"] == sum(e["seconds"] for e in times["episodes"]) / 2
    assert o["matrix"]["kind"] == "aus" and sorted(o["matrix"]["columns"]) == keys
    assert len(o["matrix"]["cells"]) == 4 + 3 + 3


def test_the_charts_draw_the_json(net: Net) -> None:
    page, o = _glance(net)
    assert 'data-verdict="alarms"' in page
    holdings = _chart(page, "holdings")
    drawn = sorted(
        (a["data-row"], a["data-column"], a["data-cell"])
        for a in map(_attrs, re.findall(r"<rect [^>]*data-cell=[^>]*>", holdings))
    )
    assert drawn == sorted(tuple(c) for c in o["matrix"]["cells"])
    copies = _chart(page, "copies")
    assert _bars(copies) == [(c["au_key"], [float(c["copies"])]) for c in o["copies"]]
    assert 'data-target="3"' in copies
    polls = _chart(page, "polls")
    assert _bars(polls) == [
        (p["start"], [float(p["agreements"]), float(p["repairs"]), float(p["inconclusive"])]) for p in o["polls"]
    ]
    repairs = _chart(page, "repairs")
    assert _bars(repairs) == [
        (e["au_key"], [round(e["seconds"] / 3600, 2)]) for e in reversed(o["repair_times"]["episodes"])
    ]
    for k in o["countries"]:
        assert f'data-country="{k["country"]}" data-members="{k["members"]}" data-aus="{k["aus"]}"' in page
    assert f'data-au="{o["below"][0]["au_key"]}" data-copies="1"' in page
    assert o["alarmed"] == [[o["below"][0]["au_key"], 1]]
    assert f'data-au="{o["below"][0]["au_key"]}" data-alarms="1"' in page


def test_the_cli_gives_the_same_overview(net: Net) -> None:
    _, o = _glance(net)
    proc = subprocess.run(
        [EXE, "network", "status", "--json", "--home", str(net.home)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["overview"] == o
    table = subprocess.run(
        [EXE, "network", "status", "--home", str(net.home)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert table.returncode == 0, table.stderr
    assert "1 alarm(s) open" in table.stdout or "alarm(s) open" in table.stdout
    assert "AUs         4: 3 at the policy, 1 below" in table.stdout


def test_who_may_see_the_network(net: Net) -> None:
    for username in ("olu-operator", "nadia-netadmin", "bola-board"):
        with net.client(username) as c:
            assert c.get("/console/network/").status_code == 200
            assert c.get("/console/network.json").status_code == 200
    with net.client("muhas-library") as c:
        assert c.get("/console/network/").status_code == 403
        r = c.get("/console/network.json")
        assert r.status_code == 403 and "error" in r.json()
    with net.client() as c:
        r = c.get("/console/network/")
        assert r.status_code == 303 and "/signin" in r.headers["location"]
        r = c.get("/console/network.json")
        assert r.status_code == 401 and "aus" not in r.text


def test_the_page_in_a_browser(net: Net, browser: Any) -> None:
    page = new_page(browser, javascript=False)
    try:
        sign_in(page, net.portal.url, "bola-board")
        page.goto(net.portal.url + "/console/network/")
        assert page.locator("#verdict").get_attribute("data-verdict") == "alarms"
        assert page.locator("svg[data-chart=holdings] rect[data-cell]").count() == 10
        screenshots(page, "console-network")
        page.goto(net.portal.url + "/fr/console/network/")
        assert "Alarmes ouvertes : 1." in page.locator("#verdict").inner_text()
    finally:
        page.context.close()
