"""The PKP PN deposit service end to end over real HTTP: a fixture OJS journal with the plugin's side (its
packages and handshake gateway) and a client sending the plugin's requests in its order, against a node's portal
served by uvicorn, with a real clamd scanning every file. Deposits walk through every state to ``deposited``, the
preservation state reaches ``agreement`` once a network of three holds the issue, a corrected issue becomes a new
version, and every kind of bad package ends in its error state with nothing stored."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from portal_fixtures import start_portal, stop
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from memory_network import POLICY, network_of
from strongroom.catalog.models import ArchivalUnit, Item
from strongroom.node import Node
from strongroom.portal.app import create_portal
from strongroom.samples.ojs_site import OjsSite, SiteState, serve_site
from strongroom.samples.pkppn_plugin import PlnPlugin
from strongroom.services.pkppn import STATE_LABELS
from strongroom.settings import write_settings
from tests_support import SettableClock, cli, free_port, serve_app

PIPELINE = [
    "depositedByJournal",
    "harvested",
    "payload-validated",
    "bag-validated",
    "xml-validated",
    "virus-checked",
    "reserialized",
    "deposited",
]


@dataclass
class Journal:
    node: Node
    site: OjsSite
    plugin: PlnPlugin
    clock: SettableClock
    portal_url: str
    site_url: str


def configure(node: Node, clamd: str, base_url: str, **pkppn: object) -> None:
    """The settings a node needs here: the tests' clamd, journals on loopback, quick retries."""
    settings = node.settings
    node.settings = dataclasses.replace(
        settings,
        portal=dataclasses.replace(settings.portal, base_url=base_url),
        pkppn=dataclasses.replace(
            settings.pkppn,
            clamd=clamd,
            allow_private_addresses=True,
            retry_seconds=60,
            harvest_attempts=3,
            **pkppn,  # type: ignore[arg-type]
        ),
    )


@contextmanager
def journal_and_node(
    node: Node, clock: SettableClock, clamd: str, *, state: SiteState | None = None, **pkppn: object
) -> Iterator[Journal]:
    site = OjsSite(seed=3, title_index=2, state=state or SiteState())
    port = free_port()
    configure(node, clamd, f"http://127.0.0.1:{port}", **pkppn)
    with serve_site(site) as site_url, serve_app(create_portal(node), port=port) as portal_url:
        plugin = PlnPlugin(portal_url, site, site_url)
        yield Journal(node, site, plugin, clock, portal_url, site_url)


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def journal(tmp_path: Path, db_url: str, clock: SettableClock, clamd_address: str) -> Iterator[Journal]:
    node = Node.create(tmp_path / "home", database_url=db_url, clock=clock)
    try:
        with journal_and_node(node, clock, clamd_address) as j:
            yield j
    finally:
        node.close()


def stored_nothing(node: Node) -> bool:
    with node.catalog.session() as s:
        return s.scalar(select(ArchivalUnit.id)) is None and not list(node.store.iter_object_ids())


def test_three_issues_walk_every_state_and_reach_agreement_in_a_network(
    tmp_path: Path, db_factory: Callable[[], str], clamd_address: str
) -> None:
    clock = SettableClock()
    nodes = [Node.create(tmp_path / f"n{i}", database_url=db_factory(), clock=clock) for i in range(3)]
    policy = dataclasses.replace(POLICY, target_copies=3, min_countries=3, quorum=2, invitations=2)
    _, clients = network_of(nodes, policy, name="ojs-net")
    ingest = nodes[0]
    try:
        with journal_and_node(ingest, clock, clamd_address) as j:

            def preserved() -> set[str]:
                _, copies = ingest.network_status.copies(clients[0])
                return {c.object_id for c in copies if c.preserved}

            ingest.pkppn.pipeline.network_preserved = preserved

            sd = j.plugin.service_document()
            assert sd.accepting and sd.checksum_type == "SHA-1"
            assert set(sd.terms) == {
                "plugins.generic.pln.terms_of_use.jm_has_authority",
                "plugins.generic.pln.terms_of_use.licensing_is_current",
                "plugins.generic.pln.terms_of_use.trigger_events",
            }
            # the journal is accepted automatically: its gateway says OJS 3.4.0.5 and the terms are accepted
            [registered] = ingest.pkppn.journals()
            assert registered.status == "accepted" and registered.ojs_version == "3.4.0.5"
            assert registered.terms_accepted is True

            issues = j.site.issues[:3]
            sent = [j.plugin.deposit(issue) for issue in issues]
            for s in sent:
                assert s.probe_status == 404  # the doubled-path probe of a deposit the node has not seen
                assert s.status_code == 201
                assert s.location.endswith(f"/api/sword/2.0/cont-iri/{j.plugin.journal_uuid}/{s.deposit_uuid}/state")
                status = j.plugin.status(s.deposit_uuid)
                assert (status.processing, status.preservation) == ("depositedByJournal", "")

            # every state the statement shows while the first deposit is processed, read over HTTP at each step
            seen: dict[str, list[tuple[str, str]]] = {s.deposit_uuid: [] for s in sent}
            original_set = ingest.pkppn.pipeline._set

            def watching(dep_id: int, generation: int, **values: object) -> None:
                original_set(dep_id, generation, **values)
                if "state" in values:
                    uuid = ingest.pkppn.pipeline.uuid_of(dep_id)
                    status = j.plugin.status(uuid)
                    seen[uuid].append((status.processing, status.preservation))

            ingest.pkppn.pipeline._set = watching  # type: ignore[method-assign]
            summary = ingest.pkppn.process()
            ingest.pkppn.pipeline._set = original_set  # type: ignore[method-assign]
            assert (summary.processed, summary.deposited, summary.failed) == (3, 3, 0)
            for uuid, states in seen.items():
                assert [s for s, _ in states] == PIPELINE[1:], uuid
                assert states[-1] == ("deposited", "inProgress")
            status = j.plugin.status(sent[0].deposit_uuid)
            assert status.processing_label == str(STATE_LABELS["deposited"])

            # every article is catalogued from the Native XML
            with ingest.catalog.session() as s:
                items = list(s.scalars(select(Item).options(selectinload(Item.files))))
                aus = list(s.scalars(select(ArchivalUnit)))
            assert len(aus) == 3
            expected = {a.doi.lower(): (issue, a) for issue in issues for _, a in issue.articles}
            aid_of = {a.doi.lower(): aid for issue in issues for aid, a in issue.articles}
            assert {i.doi for i in items} == set(expected)
            for item in items:
                issue, article = expected[item.doi]
                assert item.title == article.title
                assert (item.volume, item.issue) == (issue.volume, issue.number)
                authors = item.authors
                assert [a["name"] for a in authors] == [f"{au.given} {au.surname}" for au in article.authors]
                assert [a["orcid"] for a in authors] == [au.orcid for au in article.authors]
                assert [a["affiliations"] for a in authors] == [[au.affiliation] for au in article.authors]
                assert item.abstract == article.abstract
                assert item.pages == f"{article.fpage}-{article.lpage}"
                assert item.licence == "https://creativecommons.org/licenses/by/4.0/"
                assert item.keywords == list(article.keywords)
                galleys = [f for f in item.files if f.media_type == "application/pdf"]
                assert len(galleys) == 1 and galleys[0].size == len(j.site.pdfs[aid_of[item.doi]])

            # one copy is not preservation: the network makes its copies, then the issue is in agreement
            assert ingest.pkppn.process().preserved == 0
            assert j.plugin.status(sent[0].deposit_uuid).preservation == "inProgress"
            for node, client in zip(nodes[1:], clients[1:], strict=True):
                assert node.replication.run(client)
            assert ingest.pkppn.process().preserved == 3
            for s in sent:
                assert (j.plugin.status(s.deposit_uuid).processing, j.plugin.status(s.deposit_uuid).preservation) == (
                    "deposited",
                    "agreement",
                )

            # a correction: the plugin POSTs the same deposit again with a changed package; a new version of the AU
            first = sent[0]
            issue = issues[0]
            aid, article = issue.articles[0]
            issue.articles[0] = (aid, dataclasses.replace(article, title=article.title + " (corrected)"))
            again = j.plugin.deposit(issue, first.deposit_uuid)
            assert again.probe_status == 200  # the node answers the doubled path for a deposit it holds
            assert again.status_code == 201
            assert j.plugin.status(first.deposit_uuid).processing == "depositedByJournal"
            ingest.pkppn.process()
            [view] = [d for d in ingest.pkppn.deposits() if d.uuid == first.deposit_uuid]
            assert view.state == "deposited" and view.au_version == 2
            assert view.preservation == "inProgress"  # the new version is not yet held by the others
            with ingest.catalog.session() as s:
                titles = set(s.scalars(select(Item.title)))
            assert article.title + " (corrected)" in titles
    finally:
        for n in nodes:
            n.close()


def test_the_service_document_is_stable_and_in_the_managers_language(journal: Journal) -> None:
    first = journal.plugin.service_document()
    again = journal.plugin.service_document()
    assert first.raw == again.raw
    assert first.message == "This Strongroom node accepts deposits from OJS journals."
    # a restarted node (`strongroom portal serve` in a new process, on the same home) gives the same bytes: the
    # plugin stops every deposit until the terms are accepted again if a key, a text or a date changes
    write_settings(journal.node.settings)
    restarted = start_portal(journal.node.settings.home)
    try:
        headers = {
            "On-Behalf-Of": journal.plugin.journal_uuid,
            "Journal-URL": journal.plugin.journal_url,
            "Accept-Language": "en-US",
        }
        sd = f"{restarted.url}/api/sword/2.0/sd-iri"
        assert httpx.get(sd, headers=headers).content == first.raw
        french = httpx.get(sd, headers={**headers, "Accept-Language": "fr_CA"})
        assert french.status_code == 200 and "préservation" in french.text
        assert "Ce nœud Strongroom accepte les dépôts des revues OJS." in french.text
        assert httpx.get(sd, headers={**headers, "Accept-Language": "fr_CA"}).content == french.content
        missing = httpx.get(sd, headers={"Journal-URL": "http://x"})
        assert missing.status_code == 400 and b"On-Behalf-Of" in missing.content and b"<summary>" in missing.content
        no_url = httpx.get(sd, headers={"On-Behalf-Of": journal.plugin.journal_uuid})
        assert no_url.status_code == 400 and b"Journal-URL" in no_url.content
        not_uuid = httpx.get(sd, headers={"On-Behalf-Of": "../../etc", "Journal-URL": "http://x"})
        assert not_uuid.status_code == 400 and b"not a UUID" in not_uuid.content
    finally:
        stop(restarted)


def test_a_node_not_taking_deposits_says_so_in_the_managers_language_or_in_its_own_words(
    tmp_path: Path, db_url: str, clock: SettableClock, clamd_address: str
) -> None:
    said = {}
    for name, own_words, language in (("default", "", "es-ES"), ("own", "Closed until May.", "pt-BR")):
        node = Node.create(tmp_path / name, database_url=db_url, clock=clock)
        try:
            with journal_and_node(node, clock, clamd_address, accepting=False, accepting_message=own_words) as j:
                j.plugin.accept_language = language
                sd = j.plugin.service_document()
                assert not sd.accepting
                said[name] = sd.message
        finally:
            node.close()
    assert said["default"].startswith("Este nodo de Strongroom no está recibiendo depósitos")
    assert said["own"] == "Closed until May."  # the operator's own words, as written


def test_a_journal_on_an_old_ojs_waits_for_an_operator(journal: Journal) -> None:
    journal.site.state.ojs_version = "3.1.2.4"
    journal.plugin.service_document()
    [j] = journal.node.pkppn.journals()
    assert j.status == "new" and "3.1.2.4" in j.status_note
    sent = journal.plugin.deposit(journal.site.issues[0])
    assert journal.node.pkppn.process().processed == 0
    status = journal.plugin.status(sent.deposit_uuid)
    assert status.processing == "depositedByJournal" and "accept" in status.processing_label
    journal.node.pkppn.decide(j.uuid[:8], accept=True, note="checked by hand", agent="operator")
    assert journal.node.pkppn.process().deposited == 1
    assert journal.plugin.status(sent.deposit_uuid).processing == "deposited"


def test_a_refused_journal_is_told_and_its_deposits_are_held(journal: Journal) -> None:
    journal.plugin.service_document()
    journal.node.pkppn.decide(journal.plugin.journal_uuid, accept=False, note="not a scholarly journal", agent="op")
    sd = journal.plugin.service_document()
    assert not sd.accepting and "not a scholarly journal" in sd.message
    sent = journal.plugin.deposit(journal.site.issues[0])
    assert journal.plugin.status(sent.deposit_uuid).processing == "hold"
    assert journal.node.pkppn.process().processed == 0
    assert stored_nothing(journal.node)


@pytest.mark.parametrize(
    ("fault", "entry", "state", "words"),
    [
        (None, {"checksum": "0" * 40}, "payload-error", "checksum"),
        ("broken-bag", {}, "bag-error", "BagIt"),
        ("bad-xml", {}, "xml-error", "schema"),
        ("virus", {}, "virus-error", "virus scanner found"),
        (None, {"size_kb": 5}, "harvest-error", "announced"),
    ],
)
def test_a_bad_package_ends_in_its_error_state_with_nothing_stored(
    journal: Journal, fault: str | None, entry: dict[str, object], state: str, words: str
) -> None:
    journal.plugin.service_document()
    sent = journal.plugin.deposit(journal.site.issues[0], fault=fault, **entry)
    summary = journal.node.pkppn.process()
    assert summary.failed == 1
    status = journal.plugin.status(sent.deposit_uuid)
    assert status.http_status == 200  # never a 4xx for a deposit the node holds
    assert status.processing == state and status.preservation == ""
    assert words in status.processing_label
    assert stored_nothing(journal.node)


def test_an_unreachable_package_is_tried_again_then_given_up(journal: Journal) -> None:
    journal.plugin.service_document()
    dead = f"http://127.0.0.1:{free_port()}/index.php/j/pln/deposits/x"
    sent = journal.plugin.deposit(journal.site.issues[0], url=dead)
    for attempt in (1, 2):
        summary = journal.node.pkppn.process()
        assert summary.retrying == 1
        status = journal.plugin.status(sent.deposit_uuid)
        assert status.processing == "depositedByJournal"
        assert f"try {attempt}/3" in status.processing_label
        assert journal.node.pkppn.process().processed == 0  # not before its time
        journal.clock.t += dt.timedelta(seconds=60 * 2**attempt)
    assert journal.node.pkppn.process().failed == 1
    status = journal.plugin.status(sent.deposit_uuid)
    assert status.processing == "harvest-error" and "could not download" in status.processing_label
    assert stored_nothing(journal.node)


def test_statements_and_entries_from_strangers(journal: Journal) -> None:
    base = f"{journal.portal_url}/api/sword/2.0"
    unknown = "5F5C84B1-80BF-4071-8D3F-057AA3184FC9"
    assert httpx.get(f"{base}/cont-iri/{unknown}/{unknown}/state").status_code == 404
    assert httpx.get(f"{base}/cont-iri/x/not-a-uuid/state").status_code == 404
    journal.plugin.service_document()
    sent = journal.plugin.deposit(journal.site.issues[0])
    # a deposit the node holds is answered whatever journal path it is asked under
    assert httpx.get(f"{base}/cont-iri/{unknown}/{sent.deposit_uuid}/state").status_code == 200
    assert (
        httpx.get(f"{base}/cont-iri/{journal.plugin.journal_uuid}/{sent.deposit_uuid.lower()}/state").status_code == 200
    )
    col = f"{base}/col-iri/{journal.plugin.journal_uuid}"
    entity = (
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<entry xmlns="http://www.w3.org/2005/Atom"><id>&x;</id></entry>'
    )
    refused = httpx.post(col, content=entity)
    assert refused.status_code == 400 and b"entit" in refused.content
    huge = httpx.post(col, content=b"<entry>" + b" " * (300 * 1024) + b"</entry>")
    assert huge.status_code == 413
    md5 = journal.plugin.entry(journal.site.issues[1], unknown, b"data", checksum_type="MD5")
    wrong_type = httpx.post(col, content=md5)
    assert wrong_type.status_code == 400 and b"SHA-1" in wrong_type.content
    # another journal cannot take over a deposit
    other = PlnPlugin(journal.portal_url, journal.site, journal.site_url)
    stolen = httpx.post(
        f"{base}/col-iri/{other.journal_uuid}",
        content=journal.plugin.entry(journal.site.issues[0], sent.deposit_uuid, b"data"),
    )
    assert stolen.status_code == 400 and b"another journal" in stolen.content


def test_a_package_on_a_private_address_is_not_fetched_by_default(journal: Journal) -> None:
    node = journal.node
    node.settings = dataclasses.replace(
        node.settings, pkppn=dataclasses.replace(node.settings.pkppn, allow_private_addresses=False)
    )
    node.__dict__.pop("pkppn", None)  # built again from the settings
    journal.plugin.service_document()  # the handshake on loopback is refused too: the journal stays new
    [j] = node.pkppn.journals()
    assert j.status == "new" and "private or local address" in j.handshake_error
    sent = journal.plugin.deposit(journal.site.issues[0])
    node.pkppn.decide(j.uuid, accept=True, note="", agent="op")
    assert node.pkppn.process().failed == 1
    status = journal.plugin.status(sent.deposit_uuid)
    assert status.processing == "harvest-error" and "private or local address" in status.processing_label
    assert stored_nothing(node)


def test_operators_see_and_decide_from_the_command_line(journal: Journal) -> None:
    write_settings(journal.node.settings)  # the clamd and address settings of this test, for the subprocesses
    sr = cli(journal.node.settings.home)
    journal.site.state.terms_accepted = False  # the manager has not ticked the terms: the journal waits
    journal.plugin.service_document()
    sent = journal.plugin.deposit(journal.site.issues[0])
    listed = json.loads(sr("pkppn", "journals", "--json").stdout)
    assert listed["total"] == 1 and listed["journals"][0]["status"] == "new"
    assert "not accepted the terms" in listed["journals"][0]["status_note"]
    assert sr("pkppn", "accept", "NO-SUCH-JOURNAL").returncode == 4
    accepted = sr("pkppn", "accept", journal.plugin.journal_uuid[:8], "--note", "terms agreed by email")
    assert accepted.returncode == 0 and journal.plugin.journal_uuid in accepted.stdout
    done = sr("pkppn", "process", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["processed"], summary["deposited"]) == (1, 1)
    deposits = json.loads(sr("pkppn", "deposits", "--json").stdout)
    [row] = deposits["deposits"]
    assert row["uuid"] == sent.deposit_uuid and row["state"] == "deposited" and row["preservation"] == "inProgress"
    bad = journal.plugin.deposit(journal.site.issues[1], fault="virus")
    failed = sr("pkppn", "process")
    assert failed.returncode == 1 and "virus-error" in failed.stdout and "1 failed" in failed.stdout
    errors = json.loads(sr("pkppn", "deposits", "--errors", "--json").stdout)
    assert [d["uuid"] for d in errors["deposits"]] == [bad.deposit_uuid]
    refused = sr("pkppn", "refuse", journal.plugin.journal_uuid, "--reason", "left the programme")
    assert refused.returncode == 0
    assert not journal.plugin.service_document().accepting


def test_a_scanner_that_does_not_answer_is_the_nodes_trouble_not_the_journals(
    journal: Journal, tmp_path: Path, clamd_address: str
) -> None:
    node = journal.node

    def scanner_at(address: str) -> None:
        node.settings = dataclasses.replace(
            node.settings, pkppn=dataclasses.replace(node.settings.pkppn, clamd=address)
        )
        node.__dict__.pop("pkppn", None)

    scanner_at(f"unix:{tmp_path}/no-clamd.ctl")
    journal.plugin.service_document()
    sent = journal.plugin.deposit(journal.site.issues[0])
    for _ in range(4):  # more than harvest_attempts: the journal is not blamed for the node's scanner
        assert node.pkppn.process().retrying == 1
        status = journal.plugin.status(sent.deposit_uuid)
        assert status.processing == "xml-validated" and "virus scanner is not answering" in status.processing_label
        journal.clock.t += dt.timedelta(days=1)
    assert stored_nothing(node)
    scanner_at(clamd_address)
    assert node.pkppn.process().deposited == 1
    assert journal.plugin.status(sent.deposit_uuid).processing == "deposited"
