"""The board's pages over real HTTP against the live portal process (SQLite and PostgreSQL): proposals by state,
a proposal with its tally under the rule, ballots signed on the member's machine with ``strongroom trigger sign``
and pasted (accepted, and verified again from the page), tampered ballots refused with nothing recorded, voting
twice refused, proposing with evidence, releasing under a licence from the allowed list, refusals by role and
without the form's token, and an event naming the console's person for every action."""

from __future__ import annotations

import base64
import html
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from console_fixtures import Console, csrf_of

from strongroom.domain.trigger import ScopeKind, TriggerReason, VoteChoice
from strongroom.keys import public_key_from_text
from strongroom.services.triggers import ballot_bytes, keygen, load_member_key, now_text, sign_ballot

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "strongroom.cli.main"]
OTHERS = ("Ama Mensah", "Kofi Boateng", "Zawadi Njeri")  # with Bola: a board of four; the rule's quorum is three


@dataclass
class Board:
    console: Console
    keys: dict[str, Path]  # member -> private key file

    def propose(self, title: str) -> str:
        trigger = self.console.node.triggers.propose(
            ScopeKind.TITLE, [title], TriggerReason.PUBLISHER_CEASED, ["https://example.org/closure"], "test"
        )
        return trigger.key

    def vote(self, key: str, member: str, choice: VoteChoice) -> None:
        """Another member's ballot, cast as the CLI casts it."""
        signed_at = now_text(self.console.node.clock.now())
        signature = sign_ballot(load_member_key(self.keys[member]), key, member, choice, signed_at)
        self.console.node.triggers.vote(key, member, choice, signed_at, signature)


@pytest.fixture(scope="module")
def board(console: Console, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    folder = tmp_path_factory.mktemp("board-keys")
    keys = {console.board_member: console.board_key}
    for name in OTHERS:
        keys[name] = folder / f"{name.split()[0].lower()}.pem"
        console.node.triggers.add_member(name, keygen(keys[name]))
    yield Board(console, keys)


def cli_sign(key: str, member: str, choice: str, key_file: Path) -> dict[str, str]:
    """``strongroom trigger sign``, as a member runs it on their own machine: what it prints, line by line."""
    run = subprocess.run(
        [*CLI, "trigger", "sign", key, "--member", member, "--choice", choice, "--key", str(key_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = dict(line.split(": ", 1) for line in run.stdout.strip().splitlines())
    assert set(lines) == {"signed_at", "signature"}, run.stdout
    return lines


def ballots_of(page: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-member="([^"]+)" data-choice="([^"]+)">', page))


def tally_of(page: str) -> dict[str, str]:
    found = re.search(r'<p id="tally" ([^>]*)>', page)
    assert found, page
    return dict(re.findall(r'data-([a-z]+)="([^"]*)"', found.group(1)))


def events(console: Console, key: str) -> list[tuple[str, str]]:
    return [(e.agent, e.detail) for e in console.node.catalog.events(object_key=key, limit=None)]


def vote_form(client: httpx.Client, **values: str) -> dict[str, str]:
    return {"csrf": csrf_of(client), "statement": "", **values}


def test_the_board_lists_proposals_by_state_and_shows_one_with_its_tally(board: Board) -> None:
    console = board.console
    title = console.titles["Ghana Journal of Agricultural Science"]
    key = board.propose(title)
    with console.client("bola-board") as c:
        home = c.get("/console/board/")
        assert home.status_code == 200
        assert re.search(rf'<tr data-trigger="{key}" data-state="proposed">', home.text)
        page = c.get(f"/console/board/{key}")
        assert page.status_code == 200
        assert "https://example.org/closure" in page.text and "Ghana Journal of Agricultural Science" in page.text
        view = console.node.triggers.show(key)
        assert all(au in page.text for au in view.au_keys)
        assert tally_of(page.text) == {"for": "0", "against": "0", "abstain": "0", "board": "4", "outcome": "voting"}
        assert "The rule needs at least 75% of the votes cast in favour, no more than 2 against, and 3" in page.text
        assert 'id="ballot"' in page.text and 'type="file" id="ballot-key"' in page.text
        # the key's file input has no name: a browser never sends it with the form
        assert re.search(r'<input type="file"[^>]*\bname=', page.text) is None
        assert '<script src="/console/assets/ballot.js"' in page.text
        fr = c.get(f"/fr/console/board/{key}")
        assert fr.status_code == 200 and 'lang="fr"' in fr.text
        assert c.get("/console/board/T-9999").status_code == 404
    with console.client("olu-operator") as c:  # the operator reads it (to release), and cannot vote
        page = c.get(f"/console/board/{key}")
        assert page.status_code == 200 and 'id="ballot"' not in page.text


def test_a_ballot_signed_with_the_cli_and_pasted_is_recorded_and_verifies(board: Board) -> None:
    console = board.console
    key = board.propose(console.titles["Ghana Journal of Agricultural Science"])
    signed = cli_sign(key, console.board_member, "for", console.board_key)
    with console.client("bola-board") as c:
        r = c.post(f"/console/board/{key}/vote", data=vote_form(c, choice="for", statement="gone", **signed))
        assert r.status_code == 303 and r.headers["location"] == f"/console/board/{key}?done=voted"
        page = c.get(r.headers["location"]).text
    assert ballots_of(page) == {console.board_member: "for"}
    assert tally_of(page)["for"] == "1" and 'id="mine"' in page
    # what the node recorded verifies with the member's public key, independently of the server
    vote = next(v for v in console.node.triggers.show(key).votes)
    public = public_key_from_text(vote.member.public_key)
    public.verify(
        base64.b64decode(vote.signature),
        ballot_bytes(key, console.board_member, VoteChoice(vote.choice), vote.signed_at),
    )
    assert vote.signature == signed["signature"] and vote.signed_at == signed["signed_at"]
    assert ("console:bola-board", f"{console.board_member} voted for (signed)") in events(console, key)


def test_tampered_ballots_are_refused_and_nothing_is_recorded(board: Board) -> None:
    console = board.console
    key = board.propose(console.titles["Ghana Journal of Agricultural Science"])
    other = board.propose(console.titles["Ghana Journal of Agricultural Science"])
    member = console.board_member
    tampered = {
        "another choice": ("against", cli_sign(key, member, "for", console.board_key)),
        "another trigger": ("for", cli_sign(other, member, "for", console.board_key)),
        "another member": ("for", cli_sign(key, "Ama Mensah", "for", board.keys["Ama Mensah"])),
        "another member's key": ("for", cli_sign(key, member, "for", board.keys["Ama Mensah"])),
        "garbage": ("for", {"signed_at": "2026-01-15T09:00:00Z", "signature": "not base64!"}),
        "another time": ("for", {**cli_sign(key, member, "for", console.board_key), "signed_at": "2020-01-01T00:00Z"}),
    }
    with console.client("bola-board") as c:
        for case, (choice, signed) in tampered.items():
            r = c.post(f"/console/board/{key}/vote", data=vote_form(c, choice=choice, statement="kept", **signed))
            assert r.status_code == 422, case
            text = html.unescape(r.text)
            assert f"The ballot was refused: its signature is not {member}'s signature" in text, case
            assert "nothing was recorded" in text, case
            # what was typed is kept on the page
            assert html.escape(signed["signature"]) in r.text and ">kept</textarea>" in r.text, case
        missing = c.post(f"/console/board/{key}/vote", data=vote_form(c, choice="for", signed_at="", signature=""))
        assert missing.status_code == 422 and "needs its signature" in missing.text
        fr = c.post(f"/fr/console/board/{key}/vote", data=vote_form(c, choice="against", **tampered["garbage"][1]))
        assert fr.status_code == 422 and "Le bulletin a été refusé" in html.unescape(fr.text)
    assert console.node.triggers.show(key).votes == []
    assert console.node.triggers.show(key).state == "proposed"
    assert not [d for _, d in events(console, key) if "voted" in d]


def test_voting_twice_is_refused(board: Board) -> None:
    console = board.console
    key = board.propose(console.titles["Ghana Journal of Agricultural Science"])
    with console.client("bola-board") as c:
        first = cli_sign(key, console.board_member, "against", console.board_key)
        assert c.post(f"/console/board/{key}/vote", data=vote_form(c, choice="against", **first)).status_code == 303
        again = cli_sign(key, console.board_member, "for", console.board_key)
        r = c.post(f"/console/board/{key}/vote", data=vote_form(c, choice="for", **again))
        assert r.status_code == 422 and "has already voted on" in r.text
        r = c.post(f"/console/board/{key}/vote", data=vote_form(c, choice="against", **first))  # a replay
        assert r.status_code == 422 and "has already voted on" in r.text
    votes = console.node.triggers.show(key).votes
    assert [v.choice for v in votes] == ["against"]


def test_refusals_by_role_stranger_and_csrf(board: Board) -> None:
    console = board.console
    key = board.propose(console.titles["Ghana Journal of Agricultural Science"])
    signed = cli_sign(key, console.board_member, "for", console.board_key)
    for username in ("olu-operator", "nadia-netadmin", "east-staff", "muhas-library", "grace-reader"):
        with console.client(username) as c:
            assert c.get("/console/board/").status_code == 403, username
            assert c.get("/console/board/propose").status_code == 403, username
            r = c.post(f"/console/board/{key}/vote", data=vote_form(c, choice="for", **signed))
            assert r.status_code == 403, username
            form = {"csrf": csrf_of(c), "kind": "title", "refs": "x", "reason": "other", "evidence": "e"}
            assert c.post("/console/board/propose", data=form).status_code == 403, username
            if username != "olu-operator":
                assert c.get(f"/console/board/{key}").status_code == 403, username
                r = c.post(f"/console/board/{key}/release", data={"csrf": csrf_of(c), "licence": "x"})
                assert r.status_code == 403, username
    with console.client() as c:
        r = c.get(f"/console/board/{key}")
        assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=")
        assert c.post(f"/console/board/{key}/vote", data={"choice": "for", **signed}).status_code == 303
    with console.client("bola-board") as c:
        for token in (None, "0" * 64):
            data = {"choice": "for", **signed, **({"csrf": token} if token else {})}
            r = c.post(f"/console/board/{key}/vote", data=data)
            assert r.status_code == 403 and "expired or came from another site" in r.text
            r = c.post("/console/board/propose", data={**data, "kind": "title", "refs": "x", "evidence": "e"})
            assert r.status_code == 403
    assert console.node.triggers.show(key).votes == []
    assert not [d for _, d in events(console, key) if "voted" in d]


def test_proposing_keeps_what_was_typed_on_an_error_and_records_the_person(board: Board) -> None:
    console = board.console
    title = console.titles["Jarida la Sayansi ya Kilimo"]
    with console.client("bola-board") as c:
        assert c.get("/console/board/propose").status_code == 200
        base = {"csrf": csrf_of(c), "kind": "title", "refs": title, "reason": "other", "explanation": ""}
        r = c.post("/console/board/propose", data={**base, "evidence": "https://example.org/notice\nletter.pdf"})
        assert r.status_code == 422 and "needs an explanation" in r.text
        assert "https://example.org/notice\nletter.pdf</textarea>" in r.text and f">{title}</textarea>" in r.text
        r = c.post("/console/board/propose", data={**base, "reason": "publisher-ceased", "evidence": " "})
        assert r.status_code == 422 and "needs evidence" in r.text
        r = c.post(
            "/console/board/propose", data={**base, "refs": "issn:0000-0000", "evidence": "x", "explanation": "y"}
        )
        assert r.status_code == 422 and "Nothing to release was found" in r.text
        r = c.post("/console/board/propose", data={**base, "reason": "nonsense", "evidence": "x"})
        assert r.status_code == 422
        r = c.post(
            "/console/board/propose",
            data={**base, "reason": "publisher-ceased", "evidence": "https://example.org/notice\nletter.pdf\n"},
        )
        assert r.status_code == 303
        key = r.headers["location"].split("/")[-1].split("?")[0]
        page = c.get(r.headers["location"]).text
        assert "Your proposal is recorded" in page
    trigger = console.node.triggers.show(key)
    assert trigger.evidence == ["https://example.org/notice", "letter.pdf"]
    assert trigger.proposed_by == "console:bola-board" and trigger.reason == "publisher-ceased"
    assert any(agent == "console:bola-board" and "proposed by" in d for agent, d in events(console, key))


def test_release_of_an_approved_trigger_with_a_licence_from_the_list(board: Board) -> None:
    console = board.console
    key = board.propose(console.titles["Jarida la Sayansi ya Kilimo"])
    with console.client("olu-operator") as c:
        r = c.post(f"/console/board/{key}/release", data={"csrf": csrf_of(c), "licence": "CC-BY-4.0"})
        assert r.status_code == 422  # not approved (and not a value of the list)
    for member in OTHERS:
        board.vote(key, member, VoteChoice.FOR)
    assert console.node.triggers.show(key).state == "approved"
    with console.client("olu-operator") as c:
        page = c.get(f"/console/board/{key}").text
        assert 'id="release"' in page and tally_of(page)["for"] == "3"
        assert "Approved" in page
        for bad in ("javascript:alert(1)", "https://example.org/licence", ""):
            r = c.post(f"/console/board/{key}/release", data={"csrf": csrf_of(c), "licence": bad})
            assert r.status_code == 422 and "Choose the licence from the list" in r.text
        assert console.node.triggers.show(key).state == "approved"
        assert c.post(f"/console/board/{key}/release", data={"licence": CC_BY_SA}).status_code == 403  # no token
        r = c.post(f"/console/board/{key}/release", data={"csrf": csrf_of(c), "licence": CC_BY_SA})
        assert r.status_code == 303
        page = c.get(r.headers["location"]).text
        assert f'data-licence="{CC_BY_SA}"' in page and "CC BY-SA 4.0" in page
        r = c.post(f"/console/board/{key}/release", data={"csrf": csrf_of(c), "licence": CC_BY_SA})
        assert r.status_code == 422 and "Only an approved proposal can be released" in r.text
    trigger = console.node.triggers.show(key)
    assert trigger.state == "released" and trigger.licence == CC_BY_SA
    assert any(a == "console:olu-operator" and "released under" in d for a, d in events(console, key))
    for au in trigger.au_keys:
        assert any(a == "console:olu-operator" for a, _ in events(console, au))


CC_BY_SA = "https://creativecommons.org/licenses/by-sa/4.0/"


def test_the_sign_command_prints_json_too(board: Board) -> None:
    ama = str(board.keys["Ama Mensah"])
    run = subprocess.run(
        [*CLI, "trigger", "sign", "T-0001", "--member", "Ama Mensah", "--choice", "abstain", "--key", ama, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(run.stdout)
    public = load_member_key(board.keys["Ama Mensah"]).public_key()
    public.verify(
        base64.b64decode(out["signature"]), ballot_bytes("T-0001", "Ama Mensah", VoteChoice.ABSTAIN, out["signed_at"])
    )
    bad = subprocess.run(
        [*CLI, "trigger", "sign", "T-0001", "--member", "x", "--choice", "yes", "--key", str(board.keys["Ama Mensah"])],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2


def test_the_monitor_s_findings_are_shown_and_its_evidence_can_be_attached(board: Board) -> None:
    console = board.console
    title = console.titles["East African Journal of Public Health"]
    monitor = console.node.monitor(transport=httpx.MockTransport(lambda request: httpx.Response(503)))
    monitor.watch(title, landing_url="https://publisher.example/eajph", oai_url=None, check_dois=False)
    monitor.run()  # the checks fail, long ago by the portal's clock: a trigger candidate there
    with console.client("bola-board") as c:
        form = c.get("/console/board/propose")
        assert f"<code>{title}</code> East African Journal of Public Health" in form.text
        data = {"csrf": csrf_of(c), "kind": "title", "refs": title, "reason": "platform-failure", "evidence": ""}
        r = c.post("/console/board/propose", data={**data, "from_monitor": "1"})
        assert r.status_code == 303, r.text
        key = r.headers["location"].split("/")[-1].split("?")[0]
        page = c.get(f"/console/board/{key}").text
        assert re.search(rf'<tr data-title="{re.escape(title)}"><td>East African Journal of Public Health</td>', page)
        assert "<td>Yes</td>" in page
        other = c.post("/console/board/propose", data={**data, "refs": console.titles["Jarida la Sayansi ya Kilimo"]})
        assert other.status_code == 422 and "needs evidence" in other.text  # nothing to attach, nothing given
        r = c.post(
            "/console/board/propose",
            data={**data, "from_monitor": "1", "refs": console.titles["Jarida la Sayansi ya Kilimo"]},
        )
        assert r.status_code == 422 and "not a trigger candidate" in r.text
    evidence = console.node.triggers.show(key).evidence
    assert evidence[0].startswith("monitor: East African Journal of Public Health unreachable")
    assert any("landing https://publisher.example/eajph" in line for line in evidence)


def test_a_member_ends_a_vote_or_withdraws_a_proposal(board: Board) -> None:
    console = board.console
    title = console.titles["Jarida la Sayansi ya Kilimo"]
    ended, dropped = board.propose(title), board.propose(title)
    # two for, one against: Bola's ballot would still decide it (for: 75%, approved; against: rejected)
    for member, choice in zip(OTHERS, (VoteChoice.FOR, VoteChoice.FOR, VoteChoice.AGAINST), strict=True):
        board.vote(ended, member, choice)
    with console.client("bola-board") as c:
        assert c.post(f"/console/board/{ended}/close", data={"csrf": "forged"}).status_code == 403
        assert console.node.triggers.show(ended).state == "voting"
        closed = c.post(f"/console/board/{ended}/close", data={"csrf": csrf_of(c)})
        assert closed.status_code == 303 and closed.headers["location"].endswith("done=closed")
        assert console.node.triggers.show(ended).state == "rejected"  # on the ballots cast: 2 of 3 is under 75%
        assert ("console:bola-board", "vote ended") in events(console, ended)
        again = c.post(f"/console/board/{ended}/close", data={"csrf": csrf_of(c)})
        assert again.status_code == 422 and "are closed" in again.text

        empty = c.post(f"/console/board/{dropped}/withdraw", data={"csrf": csrf_of(c), "why": ""})
        assert empty.status_code == 422 and "Say why" in empty.text
        assert console.node.triggers.show(dropped).state == "proposed"
        why = "the publisher came back online"
        gone = c.post(f"/console/board/{dropped}/withdraw", data={"csrf": csrf_of(c), "why": why})
        assert gone.status_code == 303 and console.node.triggers.show(dropped).state == "withdrawn"
        assert any(agent == "console:bola-board" and why in detail for agent, detail in events(console, dropped))
        late = c.post(f"/console/board/{dropped}/withdraw", data={"csrf": csrf_of(c), "why": why})
        assert late.status_code == 422 and 'name="why"' not in late.text  # nothing left to withdraw: no form
    with console.client("olu-operator") as c:  # the board decides; an operator only releases
        assert c.post(f"/console/board/{ended}/close", data={"csrf": csrf_of(c)}).status_code == 403
