"""The OAI-PMH provider, harvested over real HTTP by an independent client (Sickle) from a portal running in its
own process, and every response validated against the OAI-PMH 2.0 schema (with oai_dc's schema for records)."""

from __future__ import annotations

import base64
import functools
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from lxml import etree
from portal_fixtures import Archive, LivePortal
from sickle import Sickle
from sickle.oaiexceptions import BadArgument, CannotDisseminateFormat, IdDoesNotExist, NoRecordsMatch

SCHEMAS = Path(__file__).parents[1] / "fixtures" / "schemas"
NS = {"o": "http://www.openarchives.org/OAI/2.0/", "dc": "http://purl.org/dc/elements/1.1/"}
JATS = "https://jats.nlm.nih.gov/ns/archiving/1.3/"
# A token as the repository encodes them (base64url of JSON), of JSON nested past the parser's depth
NESTED_TOKEN = base64.urlsafe_b64encode(b"[" * 3000).decode().rstrip("=")


@functools.cache
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "oai-responses.xsd")))


def ask(portal: LivePortal, **args: str) -> etree._Element:
    response = httpx.get(portal.url + "/oai", params=args, timeout=30)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
    doc = etree.fromstring(response.content)
    schema().assertValid(doc)
    return doc


def error_code(doc: etree._Element) -> str | None:
    found = doc.xpath("/o:OAI-PMH/o:error/@code", namespaces=NS)
    return str(found[0]) if found else None


def oai_id(portal: LivePortal, archive: Archive, public_id: str) -> str:
    host = urlsplit(archive.node.settings.portal.base_url).hostname
    return f"oai:{host}:{public_id}"


def test_sickle_harvests_every_released_record_and_nothing_else(live_portal: LivePortal, archive: Archive) -> None:
    sickle = Sickle(live_portal.url + "/oai", max_retries=1, timeout=30)
    identify = sickle.Identify()
    assert identify.protocolVersion == "2.0" and identify.granularity == "YYYY-MM-DDThh:mm:ssZ"
    records = list(sickle.ListRecords(metadataPrefix="oai_dc"))  # 7 per page: resumption tokens are followed
    ids = {r.header.identifier.rsplit(":", 1)[1] for r in records}
    assert ids == archive.released_ids and len(records) == len(ids)
    titles = {t for r in records for t in r.metadata["title"]}
    assert titles and not any(name in titles for name in archive.dark_titles.values())
    dois = {i.removeprefix("https://doi.org/") for r in records for i in r.metadata["identifier"]}
    assert archive.released_dois <= dois and not dois & archive.dark_dois
    jats = list(sickle.ListRecords(metadataPrefix="jats"))
    assert {r.header.identifier for r in jats} == {r.header.identifier for r in records}
    headers = list(sickle.ListIdentifiers(metadataPrefix="oai_dc"))
    assert {h.identifier for h in headers} == {r.header.identifier for r in records}
    formats = {f.metadataPrefix for f in sickle.ListMetadataFormats()}
    assert formats == {"oai_dc", "jats"}


def test_sets_per_publisher_and_title(live_portal: LivePortal, archive: Archive) -> None:
    sickle = Sickle(live_portal.url + "/oai", max_retries=1, timeout=30)
    sets = {s.setSpec: s.setName for s in sickle.ListSets()}
    assert set(sets.values()) >= set(archive.released_titles.values())
    assert not set(sets.values()) & set(archive.dark_titles.values())
    title_set = next(spec for spec, name in sets.items() if name == "Ghana Journal of Agricultural Science")
    publisher_set = title_set.split(":")[0]
    in_title = {h.identifier for h in sickle.ListIdentifiers(metadataPrefix="oai_dc", set=title_set)}
    in_publisher = {h.identifier for h in sickle.ListIdentifiers(metadataPrefix="oai_dc", set=publisher_set)}
    assert in_title and in_title <= in_publisher
    released = archive.node.released()
    ghana = {i.public_id for i in released.page(limit=1000) if i.title_name.startswith("Ghana")}
    assert {i.rsplit(":", 1)[1] for i in in_title} == ghana


def test_get_record_in_both_formats(live_portal: LivePortal, archive: Archive) -> None:
    item = next(i for i in archive.node.released().page(limit=1000) if i.jats is not None)
    identifier = oai_id(live_portal, archive, item.public_id)
    dc = ask(live_portal, verb="GetRecord", identifier=identifier, metadataPrefix="oai_dc")
    assert dc.xpath("//dc:title/text()", namespaces=NS) == [item.title]
    jats = ask(live_portal, verb="GetRecord", identifier=identifier, metadataPrefix="jats")
    article = jats.xpath("//o:metadata/*", namespaces=NS)[0]
    assert article.tag == f"{{{JATS}}}article"
    doi = article.xpath("//j:article-id[@pub-id-type='doi']/text()", namespaces={"j": JATS})
    assert doi == [item.doi]
    # an item deposited without JATS (JASPER) gets front matter written from the catalog
    bare = next(i for i in archive.node.released().page(limit=1000) if i.jats is None)
    doc = ask(
        live_portal, verb="GetRecord", identifier=oai_id(live_portal, archive, bare.public_id), metadataPrefix="jats"
    )
    assert doc.xpath("//j:article-title/text()", namespaces={"j": JATS}) == [bare.title]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({}, "badVerb"),
        ({"verb": "Harvest"}, "badVerb"),
        ({"verb": "Identify", "set": "x"}, "badArgument"),
        ({"verb": "ListRecords"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "yesterday"}, "badArgument"),
        (
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2026-01-01", "until": "2026-01-01T00:00:00Z"},
            "badArgument",
        ),
        (
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2026-02-01", "until": "2026-01-01"},
            "badArgument",
        ),
        ({"verb": "ListRecords", "metadataPrefix": "marc21"}, "cannotDisseminateFormat"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2099-01-01"}, "noRecordsMatch"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "no-such-publisher"}, "noRecordsMatch"),
        ({"verb": "ListRecords", "resumptionToken": "not-a-token"}, "badResumptionToken"),
        ({"verb": "ListRecords", "resumptionToken": "eyJ2IjoiTGlzdFNldHMifQ"}, "badResumptionToken"),
        ({"verb": "ListRecords", "resumptionToken": "x", "metadataPrefix": "oai_dc"}, "badArgument"),
        ({"verb": "GetRecord", "identifier": "oai:elsewhere:1", "metadataPrefix": "oai_dc"}, "idDoesNotExist"),
        ({"verb": "ListMetadataFormats", "identifier": "oai:127.0.0.1:0000000000000000"}, "idDoesNotExist"),
        ({"verb": "ListSets", "resumptionToken": "x"}, "badResumptionToken"),
        ({"verb": "ListRecords", "resumptionToken": NESTED_TOKEN}, "badResumptionToken"),
    ],
)
def test_errors_carry_the_protocol_codes(live_portal: LivePortal, args: dict[str, str], code: str) -> None:
    doc = ask(live_portal, **args)
    assert error_code(doc) == code
    if code in ("badVerb", "badArgument"):  # the request element echoes only the base URL
        assert not doc.xpath("/o:OAI-PMH/o:request/@*", namespaces=NS)


def test_repeated_arguments_and_post(live_portal: LivePortal) -> None:
    response = httpx.get(live_portal.url + "/oai?verb=Identify&verb=Identify", timeout=30)
    assert error_code(etree.fromstring(response.content)) == "badVerb"
    response = httpx.get(live_portal.url + "/oai?verb=ListSets&x=1&x=2", timeout=30)
    assert error_code(etree.fromstring(response.content)) == "badArgument"
    posted = httpx.post(live_portal.url + "/oai", data={"verb": "Identify"}, timeout=30)
    doc = etree.fromstring(posted.content)
    schema().assertValid(doc)
    assert error_code(doc) is None and doc.xpath("//o:Identify", namespaces=NS)


def test_dark_items_do_not_exist_for_the_provider(live_portal: LivePortal, archive: Archive) -> None:
    for public_id in sorted(archive.dark_ids)[:5]:
        doc = ask(
            live_portal, verb="GetRecord", identifier=oai_id(live_portal, archive, public_id), metadataPrefix="oai_dc"
        )
        assert error_code(doc) == "idDoesNotExist"


def test_sickle_reports_the_errors_it_should(live_portal: LivePortal) -> None:
    sickle = Sickle(live_portal.url + "/oai", max_retries=1, timeout=30)
    with pytest.raises(CannotDisseminateFormat):
        list(sickle.ListRecords(metadataPrefix="mods"))
    with pytest.raises(NoRecordsMatch):
        list(sickle.ListRecords(**{"metadataPrefix": "oai_dc", "from": "2099-01-01"}))
    with pytest.raises(IdDoesNotExist):
        sickle.GetRecord(identifier="oai:nowhere:1", metadataPrefix="oai_dc")
    with pytest.raises(BadArgument):
        sickle.GetRecord(identifier="oai:nowhere:1")


def test_every_list_page_validates(live_portal: LivePortal, archive: Archive) -> None:
    pages = 0
    args = {"verb": "ListRecords", "metadataPrefix": "jats"}
    while True:
        doc = ask(live_portal, **args)
        pages += 1
        token = doc.xpath("//o:resumptionToken", namespaces=NS)
        if not token or not token[0].text:
            break
        args = {"verb": "ListRecords", "resumptionToken": token[0].text}
    assert pages == -(-len(archive.released_ids) // 7)
    assert error_code(ask(live_portal, verb="ListSets")) is None
    assert error_code(ask(live_portal, verb="ListMetadataFormats")) is None
