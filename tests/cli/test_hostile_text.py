"""A publisher's metadata can say anything: console markup, right-to-left overrides, terminal escape sequences,
titles of 100 KB, file names made of brackets. Every listing prints it as text (never markup, never acting on the
terminal), in plain form and as JSON (lossless), and the portal's pages and feeds stay well-formed. Storage and the
catalog keep the text exactly as it came."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from lxml import etree
from sqlalchemy import select, update

from strongroom.catalog.models import Event, Item
from strongroom.clock import FixedClock
from strongroom.domain.trigger import ScopeKind, TriggerReason, VoteChoice
from strongroom.inprocess import TestClient
from strongroom.keys import public_key_text
from strongroom.node import Node
from strongroom.portal.app import create_portal
from strongroom.samples import generate_corpus
from strongroom.samples.packages import write_jats_dir
from strongroom.services.deposit import DepositOptions
from strongroom.services.triggers import sign_ballot
from tests_support import cli

MARKUP = "Results [/bold] of [red]maize[/red] [link=file:///etc/passwd]trials[/link]"
OVERRIDE = "Annual report \u202egpj.exe\u202c final"
ESCAPE = "\x1b[2J\x1b[31mERASED\x1b]0;pwned\x07 screen"
LONG = "Long " + "x" * 100_000
UNSAFE = ("\x1b", "\u202e", "\u202c", "\x07")


@pytest.fixture
def hostile(tmp_path: Path, db_url: str) -> tuple[Node, str]:
    corpus = generate_corpus(3)
    journal, _, articles = corpus.groups()[0]
    titles = [MARKUP, OVERRIDE, LONG]
    changed = [dataclasses.replace(a, title=t) for a, t in zip(articles, titles, strict=False)]
    package = write_jats_dir(tmp_path / "hostile-jats", changed, journal)
    (package / "notes[").mkdir()
    (package / "notes[" / "b].csv").write_bytes(b"a,b\n1,2\n")  # its path reads "notes[/b].csv"
    clock = FixedClock(dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC))
    node = Node.create(tmp_path / "home", database_url=db_url, clock=clock)
    result = node.ingest.deposit(package, DepositOptions(publisher_country="GH"))
    with node.catalog.session() as s:  # a harvested landing page could carry control characters: say one did
        s.execute(update(Item).where(Item.title == OVERRIDE).values(abstract=ESCAPE))
        node.catalog.record_event(
            s, "note", "success", agent=ESCAPE, object_type="au", object_key=result.au_key, detail=MARKUP + ESCAPE
        )
    return node, result.au_key


def _clean(text: str) -> None:
    for ch in UNSAFE:
        assert ch not in text, f"{ch!r} reached the terminal"
    assert "Traceback" not in text and "MarkupError" not in text


def test_every_listing_prints_hostile_metadata_as_text(hostile: tuple[Node, str]) -> None:
    node, _ = hostile
    home = node.settings.home
    node.close()
    sr = cli(home)
    for args in (["items"], ["items", "maize"], ["aus"], ["titles"], ["publishers"], ["events"], ["show", "1"]):
        shown = sr(*args)
        assert shown.returncode == 0, shown.stderr
        _clean(shown.stdout + shown.stderr)
        as_json = sr(*args, "--json")
        assert as_json.returncode == 0, as_json.stderr
        _clean(as_json.stdout)
        json.loads(as_json.stdout)  # escapes are JSON escapes: the data is all there
    listed = sr("items", "--json")
    assert {MARKUP, OVERRIDE, LONG} <= {i["title"] for i in json.loads(listed.stdout)["items"]}  # nothing lost
    assert "[/bold]" in sr("items").stdout  # printed, not interpreted
    assert "\\u202e" in sr("items").stdout  # the override is shown, not obeyed
    events = json.loads(sr("events", "--json").stdout)["events"]
    assert any(e["agent"] == ESCAPE for e in events)


def test_an_audit_report_names_a_bracketed_path_as_text(hostile: tuple[Node, str]) -> None:
    node, au_key = hostile
    [(au, *_)] = node.catalog.aus([au_key])
    stray = node.store.object_path(au.object_id) / node.store.content_path(au.object_id, "payload/notes[/b].csv")
    stray.write_bytes(b"changed")
    home = node.settings.home
    node.close()
    report = cli(home)("audit")
    assert report.returncode == 1
    _clean(report.stdout + report.stderr)
    assert "notes[/b].csv" in report.stdout


def test_the_portal_shows_released_hostile_metadata_safely(hostile: tuple[Node, str]) -> None:
    node, au_key = hostile
    workflow = node.triggers
    keys = {name: Ed25519PrivateKey.generate() for name in ("ama", "bakari", "chiara")}
    for name, key in keys.items():
        workflow.add_member(name, public_key_text(key.public_key()))
    title_key = au_key.rsplit("/", 1)[0]
    trigger = workflow.propose(ScopeKind.TITLE, [title_key], TriggerReason.PUBLISHER_CEASED, ["notice"], "op")
    for name, key in keys.items():
        workflow.vote(trigger.key, name, VoteChoice.FOR, "t", sign_ballot(key, trigger.key, name, VoteChoice.FOR, "t"))
    workflow.release(trigger.key, "op")  # a new version: the catalog is written again from the deposit record
    with node.catalog.session() as s:
        s.execute(update(Item).where(Item.title == OVERRIDE).values(abstract=ESCAPE))
        public_ids = {t: p for t, p in s.execute(select(Item.title, Item.public_id))}
    with TestClient(create_portal(node)) as portal:
        page = portal.get(f"/articles/{public_ids[OVERRIDE]}/")
        assert page.status_code == 200 and "\u202e" not in page.text and "\x1b" not in page.text
        assert "gpj.exe" in page.text
        for path in ("/oai?verb=ListRecords&metadataPrefix=oai_dc", "/releases.atom", "/sitemap.xml"):
            answer = portal.get(path)
            assert answer.status_code == 200, path
            etree.fromstring(answer.content)  # well-formed, whatever the titles said
        assert portal.get(f"/articles/{public_ids[LONG]}/").status_code == 200
    with node.catalog.session() as s:  # the catalog still holds exactly what came in
        assert s.scalar(select(Item.abstract).where(Item.title == OVERRIDE)) == ESCAPE
        assert s.scalar(select(Event.agent).where(Event.type == "note")) == ESCAPE
    node.close()
