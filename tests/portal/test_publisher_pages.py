"""The publishers' room from outside: a publisher's staff see their own titles' path to preserved, deposit packages
(checked as every deposit is, the publisher fixed to theirs, size limited while read); anyone reads a certificate
(HTML and PDF) and looks a journal up; nobody else sees a staff page, and no public answer reveals dark content."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from pypdf import PdfReader
from sqlalchemy import select

from strongroom.catalog.models import ArchivalUnit, Item, Title
from strongroom.clock import FixedClock
from strongroom.errors import NotFound, StrongroomError
from strongroom.ingest.deposit import DepositOptions
from strongroom.node import Node
from strongroom.portal.app import create_portal
from strongroom.portal.i18n import say
from strongroom.samples.ojs_site import OjsSite, serve_site
from strongroom.samples.pkppn_package import publish
from strongroom.samples.pkppn_plugin import PlnPlugin
from strongroom.services.pkppn import STATE_LABELS
from strongroom.settings import PortalSettings

BASE = "http://127.0.0.1:8080"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def node(
    module_db_factory: Callable[[], str], tmp_path_factory: pytest.TempPathFactory, sample_dir: Path
) -> Iterator[Node]:
    clock = FixedClock(dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC))
    built = Node.create(tmp_path_factory.mktemp("pub") / "home", database_url=module_db_factory(), clock=clock)
    for name in ("east-african-journal-of-public-health-2024-jats", "ghana-journal-of-agricultural-science-2023-bag"):
        built.ingest.deposit(sample_dir / name, DepositOptions(platform="ojs"))
    built.settings = replace(built.settings, portal=replace(PortalSettings(), max_upload_mb=1))
    pubs = {p.name: p.key for p, *_ in built.catalog.publishers()}
    east = pubs["Nairobi Health Sciences Publishers"]
    ghana = next(k for k in pubs.values() if k != east)
    built.publishers.create_staff(east, "east-staff", PASSWORD, named="Amina", by="test")
    built.publishers.create_staff(ghana, "ghana-staff", PASSWORD, by="test")
    yield built
    built.close()


def client(node: Node) -> TestClient:
    return TestClient(create_portal(node), base_url=BASE)


def signed_in(node: Node, username: str) -> TestClient:
    c = client(node)
    r = c.post("/signin", data={"username": username, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/publisher/"
    return c


def dark(node: Node) -> tuple[list[str], list[str]]:
    with node.catalog.session() as s:
        rows = s.execute(select(Item.title, Item.doi)).all()
    return [t for t, _ in rows], [d for _, d in rows if d]


def test_staff_service_signs_in_and_refuses_short_passwords(node: Node) -> None:
    with pytest.raises(StrongroomError, match="at least"):
        node.publishers.create_staff("any", "u", "short", by="t")
    with pytest.raises(NotFound):
        node.publishers.create_staff("no-such-publisher", "u2", PASSWORD, by="t")
    token = node.accounts.sign_in("east-staff", PASSWORD, "10.0.0.1")
    staff = node.publishers.staff(token)
    assert staff is not None and staff.username == "east-staff" and staff.display_name == "Amina"
    assert node.accounts.reader(token) is None  # staff do not read as an institution
    assert node.publishers.staff("nonsense") is None
    events = node.catalog.events(object_key=staff.publisher_key)
    assert any("east-staff" in e.detail and e.agent == "test" for e in events)


def test_staff_see_their_titles_and_each_aus_path(node: Node) -> None:
    c = signed_in(node, "east-staff")
    home = c.get("/publisher/")
    assert home.status_code == 200 and "East African Journal of Public Health" in home.text
    assert "Ghana" not in home.text and home.headers["cache-control"] == "private, no-store"
    key = next(t.key for t in node.publishers.view(node.publishers.staff(c.cookies["sr_session"]).publisher_key).titles)  # type: ignore[union-attr]
    page = c.get(f"/publisher/titles/{key}/")
    assert page.status_code == 200
    for words in ("Received: version 1", "1 copy", "only 1 copy: this node is in no network yet", 'id="ojs-deposits"'):
        assert words in page.text, words
    assert c.get(f"/fr/publisher/titles/{key}/").text.count("Reçu : version 1") == 1


def test_others_are_refused_with_nothing(node: Node) -> None:
    east = signed_in(node, "east-staff")
    ghana_key = next(t.key for t, *_ in node.catalog.titles() if t.name.startswith("Ghana"))
    refused = east.get(f"/publisher/titles/{ghana_key}/")
    assert refused.status_code == 403 and "Ghana" not in refused.text
    stranger = client(node)
    assert stranger.get("/publisher/", follow_redirects=False).headers["location"] == "/signin"
    assert stranger.get("/publisher/deposit", follow_redirects=False).status_code == 303
    assert (
        stranger.post("/publisher/deposit", files={"package": ("a.zip", b"x")}, follow_redirects=False).status_code
        == 303
    )


def test_certificate_html_and_pdf_are_public_and_in_the_readers_language(node: Node) -> None:
    c = client(node)
    ghana = next(t for t, *_ in node.catalog.titles() if t.name.startswith("Ghana"))
    page = c.get(f"/preserved/{ghana.key}/")
    assert page.status_code == 200 and ghana.name in page.text and "Preservation certificate" in page.text
    assert f"{node.settings.portal.base_url}/preserved/{ghana.key}/" in page.text
    titles, dois = dark(node)
    for t in titles:
        assert t not in page.text
    for lang, words in (
        ("en", "Preservation certificate"),
        ("fr", "Certificat de préservation"),
        ("pt", "Certificado"),
    ):
        pdf = c.get(f"/{lang}/preserved/{ghana.key}/certificate.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
        assert words in text and ghana.name in text, lang
        assert not any(d.split("/", 1)[1] in text for d in dois)
    assert c.get("/preserved/issn:0000-0000/").status_code == 404


def test_lookup_by_issn_words_and_doi_prefix_reveals_no_dark_item(node: Node) -> None:
    c = client(node)
    titles, dois = dark(node)
    ghana = next(t for t, *_ in node.catalog.titles() if t.name.startswith("Ghana"))
    issn = ghana.issn_online or ghana.issn_print
    by_issn = c.get("/preserved.json", params={"q": issn}).json()
    assert by_issn["kind"] == "issn" and [r["title"] for r in by_issn["results"]] == [ghana.name]
    assert by_issn["results"][0]["preserved"] is True and by_issn["results"][0]["copies"] == 1
    words = c.get("/preserved", params={"q": "agricultural ghana"})
    assert ghana.name in words.text
    doi = next(d for d in dois if d)
    for q in (doi.split("/")[0], doi, f"https://doi.org/{doi}"):
        found = c.get("/preserved.json", params={"q": q})
        body = found.json()
        assert body["kind"] == "doi-prefix" and body["query"] == doi.split("/")[0]
        assert body["results"] and all(set(r) >= {"title", "copies", "countries"} for r in body["results"])
        html_page = c.get("/preserved", params={"q": q}).text
        for text in (found.text, html_page):
            assert doi.split("/", 1)[1] not in text
            assert not any(t in text for t in titles)
    assert c.get("/preserved.json", params={"q": "nothing like this"}).json()["results"] == []


def upload(c: TestClient, path: Path | None, content: bytes | None = None, **fields: str) -> object:
    page = c.get("/publisher/deposit")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    data = {"csrf": csrf, **fields}
    body = content if content is not None else path.read_bytes()  # type: ignore[union-attr]
    return c.post("/publisher/deposit", data=data, files={"package": (path.name if path else "p.zip", body)})


def test_upload_a_good_package_and_see_the_result(node: Node, sample_dir: Path) -> None:
    c = signed_in(node, "east-staff")
    r = upload(c, sample_dir / "east-african-journal-of-public-health-2023-jasper.zip")
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    assert "Received: version 1 of" in r.text  # type: ignore[attr-defined]
    with node.catalog.session() as s:
        assert s.scalar(
            select(ArchivalUnit.id).where(
                ArchivalUnit.key.like("%/2023"), ArchivalUnit.title.has(Title.name.like("East%"))
            )
        )
    events = node.catalog.events(type="ingestion")
    assert any("east-staff" in e.agent for e in events)


def test_bad_packages_are_refused_with_findings_and_the_form_kept(node: Node, sample_dir: Path) -> None:
    c = signed_in(node, "east-staff")
    other = upload(c, sample_dir / "ghana-journal-of-agricultural-science-2024-bag.zip", title="Kept title", au="2024")
    assert other.status_code == 422  # type: ignore[attr-defined]
    assert "P054" in other.text and "The package belongs to another publisher." in other.text  # type: ignore[attr-defined]
    assert 'value="Kept title"' in other.text and 'value="2024"' in other.text  # type: ignore[attr-defined]
    broken = upload(c, None, b"PK\x03\x04 not really a zip", issn="1234")
    assert broken.status_code == 422 and 'value="1234"' in broken.text  # type: ignore[attr-defined]
    fr = c.get("/fr/publisher/")
    assert "Dépôts refusés" in fr.text and "Le paquet appartient à un autre éditeur." in fr.text
    no_csrf = c.post("/publisher/deposit", data={"csrf": "forged"}, files={"package": ("a.zip", b"x")})
    assert no_csrf.status_code == 403


def test_an_upload_over_the_limit_is_refused_while_read(node: Node) -> None:
    c = signed_in(node, "east-staff")
    staging = node.settings.resolved_staging()
    before = set(staging.iterdir())
    r = upload(c, None, b"\0" * (1024 * 1024 + 10))
    assert r.status_code == 413 and "larger than the limit of 1 MB" in r.text  # type: ignore[attr-defined]
    assert set(staging.iterdir()) <= before | {p for p in staging.iterdir() if not p.name.startswith("upload-")}
    assert not [p for p in staging.iterdir() if p.name.startswith("upload-")]


def test_a_titles_ojs_deposits_show_where_each_issue_is_in_the_readers_language(
    tmp_path: Path, db_url: str, clamd_address: str
) -> None:
    """An OJS journal deposits two issues through the PKP PN plugin: one is stored, one is refused (its package
    changed after it was announced). Its publisher's staff see both on the title's page, with the processing and
    preservation states and what the plugin tells the journal manager, in the reader's language."""
    clock = FixedClock(dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC))
    ojs = Node.create(tmp_path / "home", database_url=db_url, clock=clock)
    try:
        ojs.settings = replace(
            ojs.settings,
            pkppn=replace(ojs.settings.pkppn, clamd=clamd_address, allow_private_addresses=True),
        )
        site = OjsSite(seed=3, title_index=2, years=(2024,), issues_per_year=2, articles_per_issue=1)
        with serve_site(site) as site_url:
            plugin = PlnPlugin(BASE, site, site_url)
            good, changed = site.issues[:2]
            good_uuid, changed_uuid = (str(uuid.uuid4()).upper() for _ in range(2))
            package = publish(site, good, good_uuid)
            ojs.pkppn.receive(plugin.journal_uuid, plugin.entry(good, good_uuid, package.data))
            assert ojs.pkppn.process().deposited == 1  # the journal's gateway accepted it on the way
            package = publish(site, changed, changed_uuid)
            ojs.pkppn.receive(plugin.journal_uuid, plugin.entry(changed, changed_uuid, package.data, checksum="0" * 40))
            assert ojs.pkppn.process().failed == 1
        [stored] = ojs.pkppn.deposits(state="deposited")
        [refused] = ojs.pkppn.deposits(state="payload-error")
        assert stored.au_key is not None
        title_key = stored.au_key.rsplit("/", 1)[0]
        [publisher] = [p for p, *_ in ojs.catalog.publishers() if p.name == site.title.publisher.name]
        ojs.publishers.create_staff(publisher.key, "ojs-staff", PASSWORD, by="test")
        [view] = ojs.publishers.title(publisher.key, title_key).ojs_deposits[1:]
        assert view.uuid == good_uuid and view.state == "deposited" and view.preservation == "inProgress"

        c = signed_in(ojs, "ojs-staff")
        for lang in ("en", "fr", "es", "pt"):
            page = c.get(f"/{lang}/publisher/titles/{title_key}/")
            assert page.status_code == 200
            section = page.text.split('<section id="ojs-deposits">')[1].split("</section>")[0]
            assert section.index(changed_uuid) < section.index(good_uuid)  # newest first
            for d, state in ((stored, "deposited"), (refused, "payload-error")):
                item = section.split(f'id="deposit-{d.uuid.lower()}"')[1].split("</li>")[0]
                assert f'data-state="{state}"' in item and f"<code>{state}</code>" in item
                assert str(escape(say(d.message, lang))) in item, (lang, state)
                assert str(escape(say(ojs.pkppn.preservation_label(d), lang))) in item
                assert d.content.volume in item and d.content.issue in item and d.content.pubdate[:10] in item
            assert f"{stored.au_key}" in section and f"{refused.uuid}" in section
        fr = c.get(f"/fr/publisher/titles/{title_key}/").text
        assert "Traitement" in fr and "Préservation" in fr
        assert say(refused.message, "fr") != say(refused.message, "en")  # the message itself is translated
        assert "Stored in the archive." not in fr and str(escape(say(STATE_LABELS["deposited"], "fr"))) in fr
        other = client(ojs).get(f"/publisher/titles/{title_key}/", follow_redirects=False)
        assert other.status_code == 303 and good_uuid not in other.text
    finally:
        ojs.close()
