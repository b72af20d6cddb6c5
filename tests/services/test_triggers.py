"""The trigger workflow end to end on a real node: proposals with evidence, signed ballots, the board's rule
(passing, failing, and one with too many against), release under a licence, and every step as an event."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.domain.trigger import ScopeKind, TriggerReason, VoteChoice
from strongroom.errors import NotFound, StorageError, TriggerError
from strongroom.formats.release_record import parse_release, release_bytes
from strongroom.keys import public_key_text
from strongroom.node import Node
from strongroom.services.triggers import Workflow, sign_ballot

MEMBERS = {name: Ed25519PrivateKey.generate() for name in ("ama", "bakari", "chiara", "dinh", "eero", "femi")}


@pytest.fixture
def board(node: Node, sample_dir: Path) -> tuple[Node, Workflow, str]:
    for pkg in sorted(p for p in sample_dir.iterdir() if p.name.endswith(("-bag", "-bag.zip")))[:2]:
        node.ingest.deposit(pkg)
    workflow = node.triggers
    for name, key in MEMBERS.items():
        workflow.add_member(name, public_key_text(key.public_key()))
    title_key = node.catalog.titles()[0][0].key
    return node, workflow, title_key


def ballot(
    workflow: Workflow, key: str, name: str, choice: VoteChoice, keys: dict[str, Ed25519PrivateKey] = MEMBERS
) -> None:
    signed_at = "2026-01-15T10:00:00Z"
    workflow.vote(key, name, choice, signed_at, sign_ballot(keys[name], key, name, choice, signed_at))


def test_a_passing_vote_releases_the_title(board: tuple[Node, Workflow, str]) -> None:
    node, workflow, title_key = board
    trigger = workflow.propose(
        ScopeKind.TITLE,
        [title_key],
        TriggerReason.PUBLISHER_CEASED,
        ["https://example.org/site-down-since-2026-01"],
        "operator",
    )
    assert trigger.state == "proposed" and trigger.au_keys
    for name in ("ama", "bakari", "chiara", "dinh"):
        ballot(workflow, trigger.key, name, VoteChoice.FOR)
    ballot(workflow, trigger.key, "eero", VoteChoice.AGAINST)
    assert workflow.show(trigger.key).state == "voting"  # one more against would sink it: 4 of 6 is 67%
    ballot(workflow, trigger.key, "femi", VoteChoice.FOR)
    decided = workflow.show(trigger.key)
    assert decided.state == "approved" and "83% in favour" in decided.decision
    released = workflow.release(trigger.key, "operator")
    assert released.state == "released" and released.licence == "https://creativecommons.org/licenses/by/4.0/"
    aus = {au.key: au for au, *_ in node.catalog.aus()}
    for key in trigger.au_keys:
        assert aus[key].released_at is not None and aus[key].release_licence == released.licence
        assert [e.type for e in node.catalog.events(object_key=key, type="release")] == ["release"]
    steps = [e.detail for e in reversed(node.catalog.events(object_key=trigger.key))]
    assert steps[0].startswith("proposed by operator") and "approved" in steps[-2] and "released" in steps[-1]
    assert sum("(signed)" in d for d in steps) == 6


def test_too_many_against_is_rejected_and_cannot_be_released(board: tuple[Node, Workflow, str]) -> None:
    """Twelve members, 9 for and 3 against: 75% in favour, but more than two against."""
    _, workflow, title_key = board
    extra = {f"member{i}": Ed25519PrivateKey.generate() for i in range(6)}
    keys = {**MEMBERS, **extra}
    for name, key in extra.items():
        workflow.add_member(name, public_key_text(key.public_key()))
    trigger = workflow.propose(ScopeKind.TITLE, [title_key], TriggerReason.PLATFORM_FAILURE, ["monitor log"], "op")
    names = sorted(keys)
    for name in names[:9]:
        ballot(workflow, trigger.key, name, VoteChoice.FOR, keys)
    ballot(workflow, trigger.key, names[9], VoteChoice.AGAINST, keys)
    ballot(workflow, trigger.key, names[10], VoteChoice.AGAINST, keys)
    assert workflow.show(trigger.key).state == "voting"
    ballot(workflow, trigger.key, names[11], VoteChoice.AGAINST, keys)
    rejected = workflow.show(trigger.key)
    assert rejected.state == "rejected" and "more than 2 against" in rejected.decision
    with pytest.raises(TriggerError, match="votes are closed"):
        ballot(workflow, trigger.key, names[0], VoteChoice.FOR, keys)
    with pytest.raises(TriggerError, match="only an approved trigger can be released"):
        workflow.release(trigger.key, "op")


def test_a_failing_share_after_closing(board: tuple[Node, Workflow, str]) -> None:
    _, workflow, title_key = board
    trigger = workflow.propose(ScopeKind.TITLE, [title_key], TriggerReason.TITLE_DISCONTINUED, ["letter"], "op")
    for name, choice in [("ama", VoteChoice.FOR), ("bakari", VoteChoice.FOR), ("chiara", VoteChoice.AGAINST)]:
        ballot(workflow, trigger.key, name, choice)
    assert workflow.show(trigger.key).state == "voting"
    closed = workflow.close(trigger.key)
    assert closed.state == "rejected" and "67%" in closed.decision


def test_ballots_must_be_signed_by_the_member_once(board: tuple[Node, Workflow, str]) -> None:
    _, workflow, title_key = board
    trigger = workflow.propose(ScopeKind.TITLE, [title_key], TriggerReason.BACK_ISSUES_WITHDRAWN, ["notice"], "op")
    forged = sign_ballot(MEMBERS["bakari"], trigger.key, "ama", VoteChoice.FOR, "t")
    with pytest.raises(TriggerError, match="not signed with their key"):
        workflow.vote(trigger.key, "ama", VoteChoice.FOR, "t", forged)
    moved = sign_ballot(MEMBERS["ama"], "T-9999", "ama", VoteChoice.FOR, "t")  # signed for another trigger
    with pytest.raises(TriggerError, match="not signed with their key"):
        workflow.vote(trigger.key, "ama", VoteChoice.FOR, "t", moved)
    with pytest.raises(TriggerError, match="not an active board member"):
        workflow.vote(trigger.key, "mallory", VoteChoice.FOR, "t", forged)
    ballot(workflow, trigger.key, "ama", VoteChoice.FOR)
    with pytest.raises(TriggerError, match="already voted"):
        ballot(workflow, trigger.key, "ama", VoteChoice.AGAINST)


def test_proposals_need_scope_evidence_and_explanation(board: tuple[Node, Workflow, str]) -> None:
    node, workflow, _ = board
    with pytest.raises(TriggerError, match="explanation"):
        workflow.propose(ScopeKind.TITLE, [node.catalog.titles()[0][0].key], TriggerReason.OTHER, ["x"], "op")
    with pytest.raises(TriggerError, match="evidence"):
        workflow.propose(ScopeKind.TITLE, [node.catalog.titles()[0][0].key], TriggerReason.PUBLISHER_CEASED, [], "op")
    with pytest.raises(NotFound):
        workflow.propose(ScopeKind.AUS, ["issn:0000-0000/1999"], TriggerReason.PUBLISHER_CEASED, ["x"], "op")
    publisher = node.catalog.publishers()[0][0].key
    whole_list = workflow.propose(ScopeKind.PUBLISHER, [publisher], TriggerReason.PUBLISHER_CEASED, ["x"], "op")
    assert whole_list.au_keys
    withdrawn = workflow.withdraw(whole_list.key, "op", "the publisher came back")
    assert withdrawn.state == "withdrawn"


def approved(workflow: Workflow, title_key: str) -> str:
    trigger = workflow.propose(ScopeKind.TITLE, [title_key], TriggerReason.PUBLISHER_CEASED, ["gone"], "op")
    for name in ("ama", "bakari", "chiara"):
        ballot(workflow, trigger.key, name, VoteChoice.FOR)
    assert workflow.close(trigger.key).state == "approved"
    return trigger.key


@pytest.mark.parametrize(
    "bad", ["javascript:alert(1)", "https://evil.example/", "CC-BY-5.0", "all rights reserved", "data:text/html,x"]
)
def test_a_release_licence_must_be_an_open_licence(board: tuple[Node, Workflow, str], bad: str) -> None:
    node, workflow, title_key = board
    key = approved(workflow, title_key)
    before = node.store.inventory(node.catalog.aus()[0][0].object_id)["head"]
    with pytest.raises(TriggerError, match="not an open licence") as refused:
        workflow.release(key, "op", bad)
    assert "CC-BY-4.0" in str(refused.value) and "CC0-1.0" in str(refused.value)  # it names what is accepted
    assert workflow.show(key).state == "approved" and workflow.show(key).licence is None  # nothing changed
    assert node.store.inventory(node.catalog.aus()[0][0].object_id)["head"] == before
    assert all(au.released_at is None for au, *_ in node.catalog.aus())


@pytest.mark.parametrize(
    ("named", "canonical"),
    [
        ("CC-BY-SA-4.0", "https://creativecommons.org/licenses/by-sa/4.0/"),
        ("CC0-1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
        ("cc by-nc 3.0", "https://creativecommons.org/licenses/by-nc/3.0/"),
        ("http://creativecommons.org/licenses/by-nc-nd/4.0", "https://creativecommons.org/licenses/by-nc-nd/4.0/"),
    ],
)
def test_a_release_licence_is_recorded_as_its_canonical_url(
    board: tuple[Node, Workflow, str], named: str, canonical: str
) -> None:
    node, workflow, title_key = board
    released = workflow.release(approved(workflow, title_key), "op", named)
    assert released.licence == canonical
    au = next(au for au, *_ in node.catalog.aus() if au.key in released.au_keys)
    assert au.release_licence == canonical
    record = json.loads(node.store.open_file(au.object_id, "strongroom/release.json").read())
    assert record["licence"] == canonical


def test_a_release_record_with_a_hostile_licence_is_refused(board: tuple[Node, Workflow, str]) -> None:
    """A replica or a damaged object whose release record names something else is not shown as released."""
    node = board[0]
    au = node.catalog.aus()[0][0]
    record = {"trigger": "T-0666", "licence": "javascript:alert(1)", "released_at": "2026-01-15T10:00:00Z"}
    raw = release_bytes(record)
    with pytest.raises(StorageError, match="not an open licence"):
        parse_release(raw, au.object_id)
    with pytest.raises(StorageError, match="is not a"):  # nested past the parser's depth
        parse_release(b"[" * 5000, au.object_id)
    assert parse_release(release_bytes(record | {"licence": "CC-BY-4.0"}), au.object_id)["licence"] == (
        "https://creativecommons.org/licenses/by/4.0/"
    )
    with pytest.raises(StorageError, match="not an open licence"):
        node.releases.record(au.key, record)  # written as a peer's version would be, then catalogued: refused
    assert all(a.released_at is None for a, *_ in node.catalog.aus())
    assert node.released().count() == 0


def test_the_cli_runs_the_whole_path(tmp_path: Path, db_url: str, sample_dir: Path) -> None:
    exe = str(Path(sys.executable).parent / "strongroom")
    home = tmp_path / "home"

    def sr(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [exe, *args, "--home", str(home)],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "COLUMNS": "200"},
        )

    assert sr("init", "--database-url", db_url).returncode == 0
    assert sr("deposit", str(sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag"))[0])).returncode == 0
    title = json.loads(sr("titles", "--json").stdout)["titles"][0]["key"]
    for i in range(3):
        public = subprocess.run(
            [exe, "board", "keygen", "--out", str(tmp_path / f"m{i}.key")], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert sr("board", "add", f"member{i}", "--public-key", public).returncode == 0
    proposed = json.loads(
        sr(
            "trigger",
            "propose",
            "--title",
            title,
            "--reason",
            "publisher-ceased",
            "--evidence",
            "https://example.org/gone",
            "--json",
        ).stdout
    )
    for i in range(3):
        vote = sr(
            "trigger", "vote", proposed["key"], "--member", f"member{i}", "--key", str(tmp_path / f"m{i}.key"), "--for"
        )
        assert vote.returncode == 0, vote.stderr
    assert "approved" in vote.stdout
    wrong = sr("trigger", "vote", proposed["key"], "--member", "member0", "--key", str(tmp_path / "m1.key"), "--for")
    assert wrong.returncode == 3 and "error:" in wrong.stderr
    hostile = sr("trigger", "release", proposed["key"], "--licence", "javascript:alert(1)")
    assert hostile.returncode == 2 and "not an open licence" in hostile.stderr and "CC-BY-4.0" in hostile.stderr
    assert json.loads(sr("trigger", "list", "--json").stdout)[0]["state"] == "approved"
    assert sr("trigger", "release", proposed["key"], "--licence", "CC-BY-SA-4.0").returncode == 0
    listed = json.loads(sr("trigger", "list", "--json").stdout)
    assert listed[0]["state"] == "released" and len(listed[0]["votes"]) == 3
    assert listed[0]["licence"] == "https://creativecommons.org/licenses/by-sa/4.0/"
