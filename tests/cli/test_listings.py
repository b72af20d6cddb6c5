"""Listings as an operator reads them: a listing that stops short says how many there are and how to see the rest
(and --json gives the total), counts read as English, and an AU released by a trigger shows as released."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.cli.common import plural
from strongroom.domain.trigger import ScopeKind, TriggerReason, VoteChoice
from strongroom.keys import public_key_text
from strongroom.node import Node
from strongroom.services.triggers import sign_ballot


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250"}
    cmd = [sys.executable, "-m", "strongroom.cli.main", *args, "--home", str(home)]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, timeout=300)


@pytest.fixture
def deposited(node: Node, sample_dir: Path) -> Node:
    node.ingest.deposit(sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag.zip"))[0])
    return node


def test_a_listing_that_stops_short_says_how_many_more_and_how(deposited: Node) -> None:
    home = deposited.settings.home
    total = len(deposited.browse.items(limit=1000))
    assert total > 3
    ids = [i["id"] for i in json.loads(run(home, "items", "--all", "--json").stdout)["items"]]
    assert len(ids) == total
    shown = run(home, "items", "--limit", "2")
    assert shown.returncode == 0, shown.stderr
    assert f"2 of {total} items" in shown.stdout
    assert f"showing 1-2 of {total} items; {total - 2} more: strongroom items --after {ids[1]}" in shown.stdout
    page = json.loads(run(home, "items", "--limit", "2", "--offset", "1", "--json").stdout)
    assert (page["total"], page["offset"], page["limit"], len(page["items"])) == (total, 1, 2, 2)
    assert [i["id"] for i in page["items"]] == ids[1:3] and page["after"] == ids[2]
    following = run(home, "items", "--limit", "2", "--after", str(ids[2]))
    assert following.returncode == 0, following.stderr
    assert f"2 items after ID {ids[2]}" in following.stdout and f"--after {ids[4]}" in following.stdout
    last = json.loads(run(home, "items", "--after", str(ids[-2]), "--json").stdout)
    assert [i["id"] for i in last["items"]] == ids[-1:] and last["after"] is None
    everything = run(home, "items", "--all")
    assert f"{total} items" in everything.stdout and "more:" not in everything.stdout


def test_a_search_that_stops_short_says_so_too(deposited: Node) -> None:
    home = deposited.settings.home
    word = max(deposited.browse.items(limit=1)[0].title.split(), key=len)
    found = json.loads(run(home, "items", word, "--all", "--json").stdout)
    assert found["total"] == len(found["items"]) >= 1
    first = json.loads(run(home, "items", word, "--limit", "1", "--json").stdout)
    assert first["total"] == found["total"] and len(first["items"]) == 1


def test_events_page_by_key_and_say_how_to_see_more(deposited: Node) -> None:
    home = deposited.settings.home
    total = len(deposited.browse.events(limit=10_000))
    assert total > 1
    shown = run(home, "events", "--limit", "1")
    page = json.loads(run(home, "events", "--limit", "1", "--json").stdout)
    assert page["total"] is None and len(page["events"]) == 1  # the log is not counted
    assert f"more: strongroom events --after {page['after']}" in shown.stdout
    walked, after = [], None
    while True:
        args = ["events", "--limit", "1", "--json", *(["--after", after] if after else [])]
        page = json.loads(run(home, *args).stdout)
        walked += [e["uuid"] for e in page["events"]]
        if not (after := page["after"]):
            break
    everything = [e["uuid"] for e in json.loads(run(home, "events", "--all", "--json").stdout)["events"]]
    assert walked == everything and len(everything) == total
    bad = run(home, "events", "--after", "not-a-cursor")
    assert bad.returncode == 2 and "not one this listing gave" in bad.stderr and "Traceback" not in bad.stderr


def test_counts_read_as_english(deposited: Node) -> None:
    home = deposited.settings.home
    for command, heading in (("titles", "1 title\n"), ("aus", "1 archival unit\n"), ("publishers", "1 publisher\n")):
        shown = run(home, command)
        assert shown.returncode == 0 and heading in shown.stdout, (command, shown.stdout[:300])
    assert "1 events" not in run(home, "events", "--type", "ingestion").stdout


def test_a_released_au_shows_as_released(deposited: Node) -> None:
    node = deposited
    home = node.settings.home
    [before] = json.loads(run(home, "aus", "--json").stdout)["aus"]
    assert before["access"] == "dark" and before["released_at"] is None
    assert "dark" in run(home, "aus").stdout
    members = {name: Ed25519PrivateKey.generate() for name in ("ama", "bakari", "chiara")}
    for name, key in members.items():
        node.triggers.add_member(name, public_key_text(key.public_key()))
    trigger = node.triggers.propose(
        ScopeKind.AUS, [before["key"]], TriggerReason.PUBLISHER_CEASED, ["site gone"], "operator"
    )
    signed_at = "2026-01-15T10:00:00Z"
    for name, key in members.items():
        signature = sign_ballot(key, trigger.key, name, VoteChoice.FOR, signed_at)
        node.triggers.vote(trigger.key, name, VoteChoice.FOR, signed_at, signature)
    node.triggers.release(trigger.key, "operator")
    [after] = json.loads(run(home, "aus", "--json").stdout)["aus"]
    assert after["access"] == "released" and after["release_trigger"] == trigger.key
    assert after["released_at"].startswith("2026-01-15") and after["release_licence"]
    assert "released 2026-01-15" in run(home, "aus").stdout


@pytest.mark.parametrize(
    ("n", "noun", "said"),
    [
        (1, "title", "1 title"),
        (0, "title", "0 titles"),
        (1, "country", "1 country"),
        (2, "country", "2 countries"),
        (2, "day", "2 days"),
        (1234, "archival unit", "1,234 archival units"),
        (3, "AU", "3 AUs"),
    ],
)
def test_plural(n: int, noun: str, said: str) -> None:
    assert plural(n, noun) == said
