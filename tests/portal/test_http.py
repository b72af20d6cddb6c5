"""The portal as HTTP: HEAD wherever GET, nosniff on every response, a release feed valid by RFC 4287, and the
programme's address of a released file leading to its open one."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from portal_fixtures import Archive
from sqlalchemy import func, select

from strongroom.catalog.models import UsageEvent
from strongroom.portal.app import create_portal

ATOM = "http://www.w3.org/2005/Atom"
NS = {"a": ATOM}


@pytest.fixture(scope="module")
def client(archive: Archive) -> Iterator[TestClient]:
    with TestClient(create_portal(archive.node), base_url="http://127.0.0.1:8080") as c:
        yield c


def some_paths(archive: Archive) -> list[str]:
    item = next(i for i in archive.node.released().page(limit=1000) if i.pdf is not None)
    assert item.pdf is not None
    return [
        "/",
        "/fr/titles/",
        f"/articles/{item.public_id}/",
        f"/articles/{item.public_id}/{item.pdf.name}",
        f"/articles/{item.public_id}/cite.ris",
        "/oai?verb=Identify",
        "/sitemap.xml",
        "/releases.atom",
        "/releases/",
        "/robots.txt",
        "/search?q=health",
        "/register",
        "/counter/r51/reports",
    ]


def uses(archive: Archive) -> int:
    with archive.node.catalog.session() as s:
        return s.scalar(select(func.count(UsageEvent.id))) or 0


def test_head_is_answered_wherever_get_is(client: TestClient, archive: Archive) -> None:
    paths = [*some_paths(archive), "/nothing-here/"]
    before = uses(archive)
    heads = {path: client.head(path) for path in paths}
    assert uses(archive) == before  # a HEAD is not a view or a download
    for path, head in heads.items():
        get = client.get(path)
        assert head.status_code == get.status_code and head.status_code != 405, path
        assert head.content == b"", path
        for name in ("content-type", "content-length", "content-language", "content-security-policy", "link"):
            assert head.headers.get(name) == get.headers.get(name), (path, name)
    ranged = client.head(paths[3], headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and ranged.headers["content-length"] == "10" and ranged.content == b""


def test_every_response_says_nosniff(client: TestClient, archive: Archive) -> None:
    for path in [*some_paths(archive), "/nothing-here/", "/sitemaps/1.xml", "/oai?verb=Nonsense"]:
        response = client.get(path)
        assert response.headers.get("x-content-type-options") == "nosniff", path
        assert len(response.headers.get_list("x-content-type-options")) == 1, path


def atom_problems(feed: etree._Element) -> list[str]:
    """What RFC 4287 requires of a feed and its entries (sections 4.1.1, 4.1.2, 4.2.7 and 3.3), as findings."""
    problems = []

    def one(parent: etree._Element, tag: str, where: str) -> None:
        n = len(parent.findall(f"{{{ATOM}}}{tag}"))
        if n != 1:
            problems.append(f"{where}: {n} atom:{tag}, exactly one is required")

    def links(parent: etree._Element, where: str) -> list[etree._Element]:
        found = parent.findall(f"{{{ATOM}}}link")
        for link in found:
            href = link.get("href") or ""
            if urlsplit(href).scheme not in ("http", "https"):
                problems.append(f"{where}: a link's href {href!r} is not an http(s) IRI")
        pairs = [(x.get("type"), x.get("hreflang")) for x in found if x.get("rel", "alternate") == "alternate"]
        if len(pairs) != len(set(pairs)):
            problems.append(f"{where}: two alternate links with the same type and hreflang")
        return found

    def date(parent: etree._Element, tag: str, where: str) -> None:
        for el in parent.findall(f"{{{ATOM}}}{tag}"):
            text = el.text or ""
            if not (len(text) >= 20 and text[10] == "T" and (text.endswith("Z") or text[-6] in "+-")):
                problems.append(f"{where}: atom:{tag} {text!r} is not an RFC 3339 date-time")

    if feed.tag != f"{{{ATOM}}}feed":
        return [f"the root is {feed.tag}, not atom:feed"]
    for tag in ("id", "title", "updated"):
        one(feed, tag, "feed")
    date(feed, "updated", "feed")
    if not any(x.get("rel") == "self" for x in links(feed, "feed")):
        problems.append("feed: no rel=self link (SHOULD)")
    feed_author = feed.find(f"{{{ATOM}}}author/{{{ATOM}}}name") is not None
    for n, entry in enumerate(feed.findall(f"{{{ATOM}}}entry")):
        where = f"entry {n}"
        for tag in ("id", "title", "updated"):
            one(entry, tag, where)
        date(entry, "updated", where)
        date(entry, "published", where)
        found = links(entry, where)
        if entry.find(f"{{{ATOM}}}content") is None and not any(
            x.get("rel", "alternate") == "alternate" for x in found
        ):
            problems.append(f"{where}: no atom:content and no rel=alternate link")
        if not feed_author and entry.find(f"{{{ATOM}}}author/{{{ATOM}}}name") is None:
            problems.append(f"{where}: no author, and the feed has none")
        title = entry.find(f"{{{ATOM}}}title")
        if title is not None and title.get("type") == "xhtml":
            div = title.find("{http://www.w3.org/1999/xhtml}div")
            if div is None or len(title) != 1:
                problems.append(f"{where}: an xhtml title must hold exactly one xhtml:div")
    ids = [x.text for x in feed.iter(f"{{{ATOM}}}id")]
    if len(ids) != len(set(ids)):
        problems.append("two atom:id are the same")
    for el in feed.iter(f"{{{ATOM}}}id"):
        if urlsplit(el.text or "").scheme not in ("http", "https", "urn", "tag"):
            problems.append(f"atom:id {el.text!r} is not an absolute IRI")
    return problems


def test_the_release_feed_is_valid_atom(client: TestClient, archive: Archive) -> None:
    bad = etree.fromstring(
        f'<feed xmlns="{ATOM}"><title>t</title><updated>yesterday</updated>'
        "<entry><id>x</id><title>a</title><updated>2026-01-01T00:00:00Z</updated>"
        '<link rel="license" href="javascript:alert(1)"/></entry></feed>'
    )
    found = atom_problems(bad)
    for expected in (
        "0 atom:id",
        "not an RFC 3339",
        "no rel=self",
        "no atom:content and no rel=alternate",
        "no author",
        "javascript",
        "not an absolute IRI",
    ):
        assert any(expected in p for p in found), expected  # the checks catch what the RFC forbids
    response = client.get("/releases.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = etree.fromstring(response.content)
    assert atom_problems(feed) == []
    entries = feed.findall("a:entry", NS)
    assert len(entries) == len(archive.triggers)
    for entry in entries:
        trigger = str(entry.findtext("a:id", namespaces=NS)).rsplit("#", 1)[1]
        alternate = entry.find("a:link[@rel='alternate']", NS)
        assert alternate is not None and alternate.get("href") == f"http://127.0.0.1:8080/releases/#{trigger}"
        page = client.get("/releases/").text
        assert f'id="{trigger}"' in page  # the link leads to the release's note


def test_the_programme_address_of_a_released_file_leads_to_its_open_address(
    client: TestClient, archive: Archive
) -> None:
    item = next(i for i in archive.node.released().page(limit=1000) if i.pdf is not None)
    assert item.pdf is not None
    for lang in ("", "/fr"):
        page = client.get(f"{lang}/programme/articles/{item.public_id}/", follow_redirects=False)
        assert page.status_code == 301 and page.headers["location"] == f"{lang}/articles/{item.public_id}/"
        pdf = client.get(f"{lang}/programme/articles/{item.public_id}/{item.pdf.name}", follow_redirects=False)
        assert pdf.status_code == 301
        assert pdf.headers["location"] == f"{lang}/articles/{item.public_id}/{item.pdf.name}"
        assert client.get(pdf.headers["location"]).content.startswith(b"%PDF")
    dark = next(iter(archive.dark_files))
    name = archive.dark_files[dark][0]
    assert client.get(f"/programme/articles/{dark}/{name}", follow_redirects=False).status_code == 404
