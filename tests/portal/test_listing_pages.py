"""The portal's lists of titles and publishers, a page at a time, on both catalogs: following the "next page"
links (plain links, no script) from the first page shows every released title or publisher once, in order, and no
dark one; the links keep the reader's language; an ``after`` no page gave is a 400 page, never a 500."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from lxml import html
from portal_fixtures import follow_pages

from strongroom.catalog.models import ArchivalUnit, Publisher, Title
from strongroom.node import Node
from strongroom.portal import pages
from strongroom.portal.app import create_portal
from strongroom.services import keyset

NOW = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)
TITLES = pages.LIST_SIZE * 2 + 7  # three pages of released titles


@pytest.fixture
def client(node: Node) -> Iterator[TestClient]:
    with TestClient(create_portal(node), base_url="http://127.0.0.1:8080") as c:
        yield c


def _seed(node: Node) -> tuple[list[str], list[str]]:
    """Released titles named so that case and equal names matter, spread over publishers; dark titles and
    publishers beside them. The released titles' and publishers' names, in the lists' order."""
    released: list[tuple[str, int]] = []
    publishers: list[tuple[str, int]] = []
    with node.catalog.session() as s:
        pubs = []
        for p in range(pages.LIST_SIZE + 3):  # more publishers than one page, plus dark ones
            pub = Publisher(key=f"pub-{p:03}", name=f"{'Press' if p % 2 else 'press'} {p % 50:02}", created_at=NOW)
            s.add(pub)
            pubs.append(pub)
        dark_pub = Publisher(key="pub-dark", name="Hidden Dark Press", created_at=NOW)
        s.add(dark_pub)
        s.flush()
        for n in range(TITLES + 40):
            dark = n >= TITLES
            pub = dark_pub if dark and n % 2 else pubs[n % len(pubs)]
            name = f"Dark Journal {n}" if dark else f"{'Journal' if n % 3 else 'journal'} of {n % 90:02}"
            title = Title(key=f"t-{n:04}", publisher_id=pub.id, name=name, created_at=NOW)
            s.add(title)
            s.flush()
            s.add(
                ArchivalUnit(
                    key=f"t-{n:04}/2020",
                    title_id=title.id,
                    label="2020",
                    object_id=f"obj-{n:04}",
                    item_count=3,
                    created_at=NOW,
                    updated_at=NOW,
                    released_at=None if dark else NOW,
                )
            )
            if not dark:
                released.append((name, title.id))
        shown = {pub.id for pub in pubs[: min(TITLES, len(pubs))]}
        publishers = [(pub.name, pub.id) for pub in pubs if pub.id in shown]
    order = lambda rows: [name for name, _ in sorted(rows, key=lambda r: (r[0].lower(), r[1]))]  # noqa: E731
    return order(released), order(publishers)

    raise AssertionError("the list never ended")


def _names(doc: html.HtmlElement) -> list[str]:
    return [str(a.text_content()) for a in doc.xpath("//ul[@class='list']/li/a")]


def test_following_next_page_walks_every_released_title_and_publisher_once(node: Node, client: TestClient) -> None:
    titles, publishers = _seed(node)
    docs = list(follow_pages(client, "/en/titles/"))
    assert len(docs) == 3
    assert [name for doc in docs for name in _names(doc)] == titles
    assert all("Dark Journal" not in html.tostring(doc, encoding="unicode") for doc in docs)
    assert f"{TITLES} titles" in docs[0].text_content()
    assert not docs[0].xpath("//p[@class='pager']//a[@href='./']")  # the first page links to no first page
    assert docs[1].xpath("//p[@class='pager']//a[@href='./']")

    docs = list(follow_pages(client, "/en/publishers/"))
    assert len(docs) == 2 and [name for doc in docs for name in _names(doc)] == publishers
    assert all("Hidden Dark Press" not in html.tostring(doc, encoding="unicode") for doc in docs)

    of_one = [name for doc in follow_pages(client, "/en/publishers/pub-001/") for name in _names(doc)]
    assert of_one and len(of_one) == len(set(of_one)) and client.get("/en/publishers/pub-dark/").status_code == 404


def test_the_links_keep_the_readers_language(node: Node, client: TestClient) -> None:
    _seed(node)
    for lang, words in (("fr", "Page suivante"), ("es", "Página siguiente"), ("pt", "Próxima página")):
        doc = html.fromstring(client.get(f"/{lang}/titles/").text)
        [link] = doc.xpath("//a[@rel='next']")
        assert link.text_content() == words
        second = client.get(f"/{lang}/titles/" + link.get("href"))
        assert second.status_code == 200 and second.headers["content-language"] == lang


@pytest.mark.parametrize(
    "after",
    ["garbage", keyset.encode("x"), keyset.encode(3, "x"), "W10", "%ff%fe", "x" * (keyset.MAX_TOKEN + 5)],
)
def test_an_after_no_page_gave_is_a_400(node: Node, client: TestClient, after: str) -> None:
    _seed(node)
    for path in ("/titles/", "/publishers/", "/publishers/pub-001/", "/countries/GH/"):
        response = client.get(path, params={"after": after})
        assert response.status_code == 400, (path, after, response.status_code)
    # a well-made cursor past the end is an empty page, not an error
    assert client.get("/titles/", params={"after": keyset.encode("zzzz", 1 << 40)}).status_code == 200
