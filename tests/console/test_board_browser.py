"""The board's pages in Chromium against the live portal: a ballot signed in the browser with the member's key
file (Web Crypto Ed25519) is accepted, and verified again here with ``ballot_bytes`` and the member's public key;
no request carried the key; without JavaScript the ballot is cast by pasting a signature from ``strongroom trigger
sign``; an approved proposal is released with a licence chosen from the list. Screenshots at both widths."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from console_fixtures import Console, new_page, screenshots, sign_in
from playwright.sync_api import Browser, Request, expect

from strongroom.domain.trigger import ScopeKind, TriggerReason, VoteChoice
from strongroom.keys import public_key_from_text
from strongroom.services.triggers import ballot_bytes, keygen, load_member_key, now_text, sign_ballot

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "strongroom.cli.main"]
OTHERS = ("Ama Mensah", "Kofi Boateng", "Zawadi Njeri")


@pytest.fixture(scope="module")
def keys(console: Console, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A board of four: the shared fixture's member and three more, each with their key file."""
    folder = tmp_path_factory.mktemp("board-keys")
    made = {console.board_member: console.board_key}
    for name in OTHERS:
        made[name] = folder / f"{name.split()[0].lower()}.pem"
        console.node.triggers.add_member(name, keygen(made[name]))
    yield made


def propose(console: Console) -> str:
    title = console.titles["East African Journal of Public Health"]
    evidence = ["https://example.org/the-publisher-closed", "letter from the editor, 2025-11-02"]
    return console.node.triggers.propose(ScopeKind.TITLE, [title], TriggerReason.PUBLISHER_CEASED, evidence, "t").key


def test_a_ballot_signed_in_the_browser_is_accepted_and_the_key_never_leaves_it(
    console: Console, keys: dict[str, Path], browser: Browser
) -> None:
    key = propose(console)
    pem = console.board_key.read_text()
    body = "".join(pem.strip().splitlines()[1:-1])  # the key's base64, as it could be sent
    page = new_page(browser)
    sent: list[Request] = []
    page.on("request", lambda r: sent.append(r))
    try:
        sign_in(page, console.url, "bola-board")
        page.goto(f"{console.url}/console/board/{key}")
        assert page.locator("#sign-here").is_visible()  # the script shows the signing box
        page.check("input[name=choice][value=for]")
        page.set_input_files("#ballot-key", str(console.board_key))
        page.click("#ballot-sign")
        expect(page.locator("#signature")).not_to_have_value("")
        assert page.input_value("#signature") and page.input_value("#signed_at").endswith("Z")
        screenshots(page, "board-ballot-signed")
        # changing the choice after signing throws the signature away: it was for the other choice
        page.check("input[name=choice][value=against]")
        assert page.input_value("#signature") == ""
        page.check("input[name=choice][value=for]")
        page.set_input_files("#ballot-key", str(console.board_key))
        page.click("#ballot-sign")
        expect(page.locator("#signature")).not_to_have_value("")
        page.fill("#statement", "the publisher closed in 2025")
        page.click("#ballot-send")
        page.wait_for_load_state()
        assert page.url.endswith(f"/console/board/{key}?done=voted")
        assert page.locator("#mine").is_visible()
        screenshots(page, "board-ballot-recorded")
    finally:
        page.context.close()
    trigger = console.node.triggers.show(key)
    [vote] = trigger.votes
    assert vote.member.name == console.board_member and vote.choice == "for"
    assert vote.statement == "the publisher closed in 2025"
    # verified here, independently of the server: the exact bytes ballot_bytes builds, the member's public key
    public = public_key_from_text(vote.member.public_key)
    public.verify(
        base64.b64decode(vote.signature), ballot_bytes(key, console.board_member, VoteChoice.FOR, vote.signed_at)
    )
    events = console.node.catalog.events(object_key=key, limit=None)
    assert any(e.agent == "console:bola-board" and "voted for" in e.detail for e in events)
    # the key never reached the server: no request carried it, and the ballot went as a plain form
    posts = [r for r in sent if r.method == "POST"]
    assert any(r.url.endswith(f"/console/board/{key}/vote") for r in posts)
    for r in sent:
        data = r.post_data or ""
        assert "PRIVATE KEY" not in data and body not in data and body[:40] not in data, r.url
        assert "multipart" not in (r.headers.get("content-type") or ""), r.url
    vote_post = next(r for r in posts if r.url.endswith("/vote"))
    fields = {k for k, _ in (p.split("=", 1) for p in (vote_post.post_data or "").split("&"))}
    assert fields == {"csrf", "choice", "signed_at", "signature", "statement"}


def test_a_bad_key_file_is_named_in_the_page_and_nothing_is_sent(
    console: Console, keys: dict[str, Path], browser: Browser, tmp_path: Path
) -> None:
    key = propose(console)
    not_a_key = tmp_path / "notes.txt"
    not_a_key.write_text("these are not the keys you are looking for\n")
    page = new_page(browser, locale="fr-FR")
    try:
        sign_in(page, console.url, "bola-board")
        page.goto(f"{console.url}/fr/console/board/{key}")
        page.click("#ballot-sign")
        assert "Choisissez d'abord Pour, Contre ou Abstention" in page.inner_text("#ballot-status")
        page.check("input[name=choice][value=abstain]")
        page.set_input_files("#ballot-key", str(not_a_key))
        page.click("#ballot-sign")
        expect(page.locator("#ballot-status")).to_contain_text("PKCS#8")
        assert page.input_value("#signature") == ""
        # a key that is not Bola's signs, and the server refuses it: the page says so and keeps the choice
        page.set_input_files("#ballot-key", str(keys["Ama Mensah"]))
        page.click("#ballot-sign")
        expect(page.locator("#signature")).not_to_have_value("")
        page.click("#ballot-send")
        page.wait_for_load_state()
        assert "Le bulletin a été refusé" in page.inner_text("#message")
        assert page.is_checked("input[name=choice][value=abstain]")
        screenshots(page, "board-ballot-refused")
    finally:
        page.context.close()
    assert console.node.triggers.show(key).votes == []


def test_without_javascript_a_pasted_signature_is_the_way(
    console: Console, keys: dict[str, Path], browser: Browser
) -> None:
    key = propose(console)
    key_file = str(console.board_key)
    run = subprocess.run(
        [*CLI, "trigger", "sign", key, "--member", console.board_member, "--choice", "against", "--key", key_file],
        capture_output=True,
        text=True,
        check=True,
    )
    printed = dict(line.split(": ", 1) for line in run.stdout.strip().splitlines())
    page = new_page(browser, phone=True, javascript=False)
    try:
        sign_in(page, console.url, "bola-board")
        page.goto(f"{console.url}/console/board/{key}")
        assert not page.locator("#sign-here").is_visible()  # nothing to sign with: the box stays hidden
        page.check("input[name=choice][value=against]")
        page.fill("#signed_at", printed["signed_at"])
        page.fill("#signature", printed["signature"])
        screenshots(page, "board-ballot-pasted")
        page.click("#ballot-send")
        page.wait_for_load_state()
        assert page.url.endswith("?done=voted")
    finally:
        page.context.close()
    [vote] = console.node.triggers.show(key).votes
    assert vote.choice == "against" and vote.signature == printed["signature"]


def test_an_approved_proposal_is_released_with_a_licence_chosen_in_the_browser(
    console: Console, keys: dict[str, Path], browser: Browser
) -> None:
    key = propose(console)
    for member in OTHERS:
        signed_at = now_text(console.node.clock.now())
        signature = sign_ballot(load_member_key(keys[member]), key, member, VoteChoice.FOR, signed_at)
        console.node.triggers.vote(key, member, VoteChoice.FOR, signed_at, signature)
    assert console.node.triggers.show(key).state == "approved"
    page = new_page(browser)
    try:
        sign_in(page, console.url, "olu-operator")
        page.goto(f"{console.url}/console/board/releases")
        page.click(f"a[href='/console/board/{key}']")
        page.wait_for_load_state()
        assert page.get_attribute("#tally", "data-outcome") == "approved"
        page.select_option("#licence", label="CC BY-NC 4.0")
        screenshots(page, "board-release")
        page.click("#release button[type=submit]")
        page.wait_for_load_state()
        assert page.url.endswith("?done=released")
        assert (
            page.get_attribute("#released-licence", "data-licence") == "https://creativecommons.org/licenses/by-nc/4.0/"
        )
    finally:
        page.context.close()
    trigger = console.node.triggers.show(key)
    assert trigger.state == "released" and trigger.licence == "https://creativecommons.org/licenses/by-nc/4.0/"
    events = console.node.catalog.events(object_key=key, limit=None)
    assert any(e.agent == "console:olu-operator" and "released under" in e.detail for e in events)


def test_the_board_s_list_and_the_proposal_form_fit_a_phone(
    console: Console, keys: dict[str, Path], browser: Browser
) -> None:
    key = propose(console)
    page = new_page(browser, phone=True)
    try:
        sign_in(page, console.url, "bola-board")
        page.goto(f"{console.url}/console/board/")
        assert page.locator(f"tr[data-trigger='{key}']").is_visible()
        screenshots(page, "board-list")
        page.click("a[href='/console/board/propose']")
        page.wait_for_load_state()
        page.fill("#refs", "issn:0000-0000")
        page.fill("#evidence", "https://example.org/notice")
        page.click("main form button[type=submit]")
        page.wait_for_load_state()
        assert "Nothing to release was found" in page.inner_text(".alert")
        assert page.input_value("#evidence") == "https://example.org/notice"  # nothing typed is lost
        screenshots(page, "board-propose")
    finally:
        page.context.close()
