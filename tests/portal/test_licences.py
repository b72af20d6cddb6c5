"""A release licence is only ever linked when it is an open licence: a catalog that holds something else (written
before licences were checked, or by hand) shows it as text on the page and leaves it out of every link the
portal writes: the page, JSON-LD, the feed, OAI-PMH JATS."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree, html
from portal_fixtures import small_archive
from sqlalchemy import update

from strongroom.catalog.models import ArchivalUnit, Trigger
from strongroom.node import Node
from strongroom.portal.app import create_portal

HOSTILE = "javascript:alert(document.domain)"


@pytest.fixture(scope="module")
def node(
    module_db_factory: Callable[[], str], tmp_path_factory: pytest.TempPathFactory, sample_dir: Path
) -> Iterator[Node]:
    home = tmp_path_factory.mktemp("licence") / "home"
    built = small_archive(home, module_db_factory(), sample_dir, "east-african-")
    with built.catalog.session() as s:
        s.execute(update(ArchivalUnit).values(release_licence=HOSTILE))
        s.execute(update(Trigger).values(licence=HOSTILE))
    yield built
    built.close()


def test_a_licence_that_is_not_open_is_never_a_link(node: Node) -> None:
    item = node.released().page(limit=1)[0]
    with TestClient(create_portal(node), base_url="http://127.0.0.1:8080") as client:
        page = client.get(f"/articles/{item.public_id}/").text
        doc = html.fromstring(page)
        hrefs = [str(h) for h in doc.xpath("//@href")]
        assert hrefs and all(h.startswith(("/", "http://", "https://", "data:,")) for h in hrefs), hrefs
        assert HOSTILE in doc.text_content()  # shown for what it is
        ld = json.loads(doc.xpath("//script[@type='application/ld+json']/text()")[0])
        assert "license" not in ld
        feed = etree.fromstring(client.get("/releases.atom").content)
        feed_hrefs = [str(h) for h in feed.xpath("//@href")]
        assert feed_hrefs and not any("javascript" in h for h in feed_hrefs)
        oai = client.get(
            "/oai",
            params={"verb": "GetRecord", "metadataPrefix": "jats", "identifier": f"oai:127.0.0.1:{item.public_id}"},
        ).content
        assert b'href="javascript' not in oai
        dc = client.get(
            "/oai",
            params={"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": f"oai:127.0.0.1:{item.public_id}"},
        ).content
        assert b"<dc:title" in dc and b"javascript" not in dc
        for path in ("/", "/releases/", "/titles/"):
            assert not any(
                str(h).startswith("javascript") for h in html.fromstring(client.get(path).text).xpath("//@href")
            )
