"""The publisher monitor against a real HTTP server on loopback that plays a publisher's site going down, staying
down, and coming back: landing page, DOIs through a resolver, and OAI-PMH Identify."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.domain.trigger import ScopeKind, TriggerReason
from strongroom.errors import StrongroomError
from strongroom.ingest.deposit import DepositOptions
from strongroom.node import Node
from strongroom.services.monitor import Monitor
from strongroom.settings import MonitorSettings
from tests_support import Publisher, SettableClock, cli


@pytest.fixture
def watched(
    tmp_path: Path, db_url: str, sample_dir: Path, site: tuple[str, Publisher]
) -> Iterator[tuple[Node, Monitor, str]]:
    clock = SettableClock()
    node = Node.create(tmp_path / "home", database_url=db_url, clock=clock)
    node.ingest.deposit(next(p for p in sorted(sample_dir.iterdir()) if p.name.endswith("-jats")), DepositOptions())
    title = node.catalog.titles()[0][0].key
    url, _ = site
    monitor = Monitor(node.catalog, MonitorSettings(failure_days=30, doi_resolver=url + "/doi/"), agent="test")
    monitor.watch(title, landing_url=url + "/journal", oai_url=url + "/oai")
    yield node, monitor, title
    node.close()


def test_sustained_failure_makes_a_trigger_candidate_with_evidence(
    watched: tuple[Node, Monitor, str], site: tuple[str, Publisher]
) -> None:
    node, monitor, title = watched
    _, publisher = site
    clock = node.clock
    assert isinstance(clock, SettableClock)
    [status] = monitor.run()
    assert status.state == "available" and status.last_ok == clock.t
    assert sum(p.startswith("/doi/") for p in publisher.requests) == 3  # a sample of the title's DOIs
    assert any(p.startswith("/article/") for p in publisher.requests)  # followed to the publisher's page
    assert any(p.startswith("/oai?verb=Identify") for p in publisher.requests)

    publisher.mode = "down"
    went_down = clock.t = clock.t + dt.timedelta(days=1)
    [status] = monitor.run()
    assert status.state == "failing" and status.failing_since == went_down and not status.candidate
    with pytest.raises(StrongroomError, match="not a trigger candidate"):
        monitor.evidence_for(title)
    clock.t += dt.timedelta(days=30, hours=-1)  # an hour short of 30 days of failure
    assert monitor.run()[0].state == "failing"
    clock.t += dt.timedelta(hours=1)
    [status] = monitor.run()
    assert status.state == "candidate" and monitor.candidates()[0].key == title
    assert any("landing" in e and "HTTP 503" in e for e in status.evidence)

    evidence = monitor.evidence_for(title)
    assert evidence[0].startswith("monitor: ") and "for 30 days" in evidence[0] and "since 2026-03-02" in evidence[0]
    trigger = node.triggers.propose(ScopeKind.TITLE, [title], TriggerReason.PLATFORM_FAILURE, evidence, "operator")
    assert trigger.evidence[0] == evidence[0]

    publisher.mode = "up"  # the site comes back: the title is no longer a candidate
    clock.t += dt.timedelta(days=1)
    assert monitor.run()[0].state == "available" and not monitor.candidates()
    transitions = [e.detail for e in reversed(node.catalog.events(object_key=title, type="monitor"))]
    assert transitions[0].startswith("unchecked -> available")
    assert transitions[1].startswith("available -> failing") and transitions[2].startswith("failing -> candidate")
    assert transitions[3].startswith("candidate -> available")


def test_one_answering_address_keeps_a_title_available(
    watched: tuple[Node, Monitor, str], site: tuple[str, Publisher]
) -> None:
    _, monitor, _ = watched
    _, publisher = site
    publisher.mode = "garbage"  # pages answer, but the OAI endpoint returns HTML
    [status] = monitor.run()
    assert status.state == "available"
    checks = {c.kind: c for c in _last_checks(monitor)}
    assert not checks["oai"].ok and "no Identify element" in checks["oai"].detail and checks["landing"].ok


def _last_checks(monitor: Monitor) -> list[object]:
    from sqlalchemy import select

    from strongroom.catalog.models import MonitorCheck

    with monitor.catalog.session() as s:
        rows = list(s.scalars(select(MonitorCheck).order_by(MonitorCheck.id)))
        last = rows[-1].time
        return [r for r in rows if r.time == last]


def test_an_unreachable_host_is_a_failed_check_not_a_crash(watched: tuple[Node, Monitor, str]) -> None:
    _, monitor, title = watched
    monitor.watch(title, landing_url="http://127.0.0.1:9/closed", oai_url=None, check_dois=False)
    [status] = monitor.run()
    assert status.state == "failing" and "ConnectError" in status.evidence[0]
    with pytest.raises(StrongroomError, match="not an http"):
        monitor.watch(title, landing_url="file:///etc/passwd", oai_url=None)


def test_the_cli_watches_runs_and_reports(
    tmp_path: Path, db_url: str, sample_dir: Path, site: tuple[str, Publisher]
) -> None:
    url, publisher = site
    home = tmp_path / "home"

    sr = cli(home)

    assert sr("init", "--database-url", db_url).returncode == 0
    package = next(p for p in sorted(sample_dir.iterdir()) if p.name.endswith("-jats"))
    assert sr("deposit", str(package)).returncode == 0
    title = json.loads(sr("titles", "--json").stdout)["titles"][0]["key"]
    settings = home / "strongroom.toml"
    settings.write_text(
        settings.read_text().replace('doi_resolver = "https://doi.org/"', f'doi_resolver = "{url}/doi/"')
    )
    assert sr("monitor", "watch", title, "--landing-url", url + "/journal").returncode == 0
    publisher.mode = "gone"
    done = sr("monitor", "run")
    assert done.returncode == 0 and "unreachable" in done.stdout and "HTTP 404" in done.stdout
    [row] = json.loads(sr("monitor", "status", "--json").stdout)
    assert row["state"] == "failing" and row["failing_since"] and not row["candidate"]
    assert json.loads(sr("monitor", "candidates", "--json").stdout) == []
    refused = sr("trigger", "propose", "--title", title, "--reason", "platform-failure", "--from-monitor")
    assert refused.returncode != 0 and "not a trigger candidate" in refused.stderr
