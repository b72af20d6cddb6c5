"""An archive holding released and dark content side by side, built once per module and backend:

- East African Journal of Public Health: the whole title released (publisher ceased);
- Ghana Journal of Agricultural Science: only its 2023 AU released (platform failure), 2024 stays dark;
- Jarida la Sayansi ya Kilimo: a trigger rejected with too many votes against, though 75% were in favour (dark);
- Revista Amazônica de Ciências Ambientais: a trigger approved but not yet released (dark);
- Revue sénégalaise de santé publique: a trigger rejected for too small a share in favour (dark);
- the other titles were never proposed (dark).

The node runs for real: packages deposited, a board with its own keys, signed ballots, the release.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from strongroom.catalog.models import ArchivalUnit, Item, Title
from strongroom.clock import FixedClock
from strongroom.domain.trigger import ScopeKind, TriggerReason, VoteChoice
from strongroom.ingest.deposit import DepositOptions
from strongroom.keys import public_key_text
from strongroom.node import Node
from strongroom.services.triggers import Workflow, sign_ballot
from tests_support import free_port

BOARD = ("ama", "bakari", "chiara", "dinh", "eero", "femi", "gita", "hana", "ines", "jomo", "kofi", "lena")
MEMBERS = {name: Ed25519PrivateKey.generate() for name in BOARD}


@dataclass
class Archive:
    node: Node
    home: Path
    released_ids: set[str] = field(default_factory=set)
    dark_ids: set[str] = field(default_factory=set)
    released_dois: set[str] = field(default_factory=set)
    dark_dois: set[str] = field(default_factory=set)
    dark_titles: dict[str, str] = field(default_factory=dict)  # key -> name, titles with nothing released
    released_titles: dict[str, str] = field(default_factory=dict)
    dark_files: dict[str, list[str]] = field(default_factory=dict)  # public id -> file names
    partly: str = ""  # the title with one AU released and one dark
    triggers: dict[str, str] = field(default_factory=dict)  # title slug -> trigger key


def _vote(workflow: Workflow, key: str, votes: dict[str, VoteChoice]) -> None:
    for name, choice in votes.items():
        signed_at = "2026-01-15T10:00:00Z"
        workflow.vote(key, name, choice, signed_at, sign_ballot(MEMBERS[name], key, name, choice, signed_at))


def build_archive(home: Path, db_url: str, sample_dir: Path) -> Archive:
    clock = FixedClock(dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC))
    node = Node.create(home, database_url=db_url, clock=clock, name="Strongroom test archive")
    for pkg in sorted(sample_dir.iterdir()):
        if pkg.name != "tmp":
            node.ingest.deposit(pkg, DepositOptions(platform="ojs"))
    titles = {t.name: t.key for t, *_ in node.catalog.titles()}
    east, ghana = titles["East African Journal of Public Health"], titles["Ghana Journal of Agricultural Science"]
    jarida = titles["Jarida la Sayansi ya Kilimo"]
    amazon = next(k for n, k in titles.items() if n.startswith("Revista Amaz"))
    senegal = next(k for n, k in titles.items() if n.startswith("Revue s"))
    ghana_aus = sorted(au.key for au, *_ in node.catalog.aus() if au.key.startswith(ghana))
    workflow = node.triggers
    for name, key in MEMBERS.items():
        workflow.add_member(name, public_key_text(key.public_key()))
    nine_for = {n: VoteChoice.FOR for n in BOARD[:9]}
    archive = Archive(node, home, partly=ghana)

    t = workflow.propose(
        ScopeKind.TITLE, [east], TriggerReason.PUBLISHER_CEASED, ["https://example.org/east-closed"], "operator"
    )
    _vote(workflow, t.key, nine_for)
    assert workflow.show(t.key).state == "voting"  # three against could still sink it
    assert workflow.close(t.key).state == "approved"
    workflow.release(t.key, "operator")
    archive.triggers["east"] = t.key
    t = workflow.propose(
        ScopeKind.AUS, ghana_aus[:1], TriggerReason.PLATFORM_FAILURE, ["monitor: down since 2025-10-01"], "operator"
    )
    _vote(workflow, t.key, nine_for)
    workflow.close(t.key)
    workflow.release(t.key, "operator")
    archive.triggers["ghana"] = t.key
    t = workflow.propose(ScopeKind.TITLE, [jarida], TriggerReason.TITLE_DISCONTINUED, ["a letter"], "operator")
    _vote(workflow, t.key, nine_for | {n: VoteChoice.AGAINST for n in BOARD[9:]})
    rejected = workflow.show(t.key)
    assert (
        rejected.state == "rejected"
        and rejected.decision.startswith("9 for, 3 against")
        and "more than 2" in rejected.decision
    )
    t = workflow.propose(ScopeKind.TITLE, [amazon], TriggerReason.PUBLISHER_CEASED, ["a notice"], "operator")
    _vote(workflow, t.key, nine_for)
    assert workflow.close(t.key).state == "approved"  # approved, not released: still dark
    t = workflow.propose(ScopeKind.TITLE, [senegal], TriggerReason.OTHER, ["a rumour"], "operator", "unclear")
    _vote(workflow, t.key, {"ama": VoteChoice.FOR, "bakari": VoteChoice.FOR, "chiara": VoteChoice.AGAINST})
    assert workflow.close(t.key).state == "rejected"  # 67% in favour is short of 75%

    with node.catalog.session() as s:
        rows = s.execute(
            select(Item.public_id, Item.doi, ArchivalUnit.released_at, Title.key, Title.name, Item.id)
            .join(ArchivalUnit, Item.au_id == ArchivalUnit.id)
            .join(Title, ArchivalUnit.title_id == Title.id)
        ).all()
        for public_id, doi, released_at, title_key, title_name, item_id in rows:
            if released_at is not None:
                archive.released_ids.add(public_id)
                archive.released_dois.add(doi)
                archive.released_titles[title_key] = title_name
            else:
                archive.dark_ids.add(public_id)
                archive.dark_dois.add(doi)
                item = s.get(Item, item_id)
                assert item is not None
                archive.dark_files[public_id] = [f.logical_path.rsplit("/", 1)[-1] for f in item.files]
        for *_, title_key, title_name, _ in rows:
            if title_key not in archive.released_titles:
                archive.dark_titles[title_key] = title_name
    archive.released_dois.discard(None)  # type: ignore[arg-type]
    archive.dark_dois.discard(None)  # type: ignore[arg-type]
    return archive


@pytest.fixture(scope="module")
def archive(
    module_db_factory: Callable[[], str], tmp_path_factory: pytest.TempPathFactory, sample_dir: Path
) -> Iterator[Archive]:
    built = build_archive(tmp_path_factory.mktemp("archive") / "home", module_db_factory(), sample_dir)
    yield built
    built.node.close()


def small_archive(home: Path, db_url: str, sample_dir: Path, *prefixes: str) -> Node:
    """A node holding the sample packages whose names start with ``prefixes``, every title released (CC BY 4.0)
    by a board of three."""
    clock = FixedClock(dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC))
    node = Node.create(home, database_url=db_url, clock=clock)
    for pkg in sorted(sample_dir.iterdir()):
        if pkg.name.startswith(prefixes):
            node.ingest.deposit(pkg, DepositOptions(platform="ojs"))
    board = dict(list(MEMBERS.items())[:3])
    for name, key in board.items():
        node.triggers.add_member(name, public_key_text(key.public_key()))
    for title, *_ in node.catalog.titles():
        t = node.triggers.propose(ScopeKind.TITLE, [title.key], TriggerReason.PUBLISHER_CEASED, ["a notice"], "op")
        _vote(node.triggers, t.key, dict.fromkeys(board, VoteChoice.FOR))
        node.triggers.release(t.key, "op")
    return node


PORTAL = [sys.executable, "-m", "strongroom.cli.main", "portal", "serve"]


@dataclass
class LivePortal:
    url: str
    process: subprocess.Popen[bytes]


def start_portal(home: Path, *args: str) -> LivePortal:
    """`strongroom portal serve --home HOME ARGS` in its own process, once it answers (its output in
    HOME/portal.log); stop it with ``stop``."""
    port = free_port()
    with (home / "portal.log").open("ab") as log:
        process = subprocess.Popen(
            [*PORTAL, "--home", str(home), "--port", str(port), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/robots.txt", timeout=2).status_code == 200:
                return LivePortal(url, process)
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the portal did not start: " + (home / "portal.log").read_text())
        time.sleep(0.2)


def stop(portal: LivePortal) -> None:
    portal.process.terminate()
    portal.process.wait(timeout=20)


@pytest.fixture(scope="module")
def live_portal(archive: Archive) -> Iterator[LivePortal]:
    """`strongroom portal serve` in its own process, reached over real HTTP from outside."""
    portal = start_portal(archive.home, "--oai-page-size", "7")
    yield portal
    stop(portal)


def follow_pages(client: Any, path: str, *, most: int = 50) -> Iterator[Any]:
    """Each page of a paged list from ``path`` (parsed HTML), by its rel=next link, as a reader without script
    follows it; the link is relative (``?after=...``), so the language prefix stays."""
    from lxml import html

    url = path
    for _ in range(most):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        doc = html.fromstring(response.text)
        yield doc
        following = doc.xpath("//a[@rel='next']/@href")
        if not following:
            return
        assert str(following[0]).startswith("?after="), following[0]
        url = path + str(following[0])
    raise AssertionError(f"{path} still had a next page after {most}")
