"""The static copy of the portal holds every page of its paged lists (titles, publishers, a country's publishers,
a publisher's titles, the holdings), in every language: following the "next page" links of the exported files
from a list's first page shows every entry once, and no link of an exported list page leads nowhere."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from lxml import html
from portal_fixtures import Archive

from strongroom.portal import pages
from strongroom.portal.static import export_static

BASE = "http://127.0.0.1:8080"


def _file(site: Path, path: str) -> Path:
    rel = unquote(path).lstrip("/")
    return site / rel / "index.html" if path.endswith("/") else site / rel


def _walk(site: Path, path: str) -> list[html.HtmlElement]:
    """Each page of the exported list at ``path``, by its rel=next links, as a reader of the static copy follows
    them (every link must lead to a file of the copy)."""
    docs = []
    url = path
    while True:
        target = _file(site, url)
        assert target.is_file(), f"{url} (linked as the next page) is not in the export"
        doc = html.fromstring(target.read_bytes())
        docs.append(doc)
        following = doc.xpath("//a[@rel='next']/@href")
        if not following:
            return docs
        url = urlsplit(urljoin(BASE + url, str(following[0]))).path
        assert "?" not in str(following[0]), following[0]
        assert len(docs) < 100, "the list never ended"


def _names(docs: list[html.HtmlElement], xpath: str) -> list[str]:
    return [str(a.text_content()).strip() for doc in docs for a in doc.xpath(xpath)]


@pytest.fixture
def site(archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(pages, "LIST_SIZE", 1)  # one title or publisher a page: every list has many pages
    monkeypatch.setattr(archive.node.holdings, "page_size", 2)
    dest = tmp_path / "site"
    export_static(archive.node, dest)
    return dest


def test_every_page_of_every_list_is_exported_and_linked(archive: Archive, site: Path) -> None:
    released = archive.node.released()
    titles = sorted(archive.released_titles.values())
    assert len(titles) > 1
    for lang in ("", "/fr", "/pt"):
        docs = _walk(site, f"{lang}/titles/")
        assert len(docs) == len(titles)
        assert sorted(_names(docs, "//ul[@class='list']/li/a")) == titles
        publishers = _walk(site, f"{lang}/publishers/")
        assert len(publishers) == len(released.publishers()) > 1
    holdings = archive.node.holdings.report().titles
    docs = _walk(site, "/es/holdings/")
    assert len(docs) == -(-len(holdings) // 2) > 1
    hrefs = [str(h) for doc in docs for h in doc.xpath("//a/@href")]
    shown = [unquote(h.split("/holdings/titles/", 1)[1].rstrip("/")) for h in hrefs if "/holdings/titles/" in h]
    assert sorted(shown) == sorted(t.key for t in holdings)


def test_no_link_of_a_list_page_leads_nowhere(site: Path) -> None:
    dead = []
    lists = [
        p
        for p in site.rglob("*.html")
        if p.name.startswith("page-")
        or p.parent.name in ("titles", "publishers", "holdings")
        or p.parent.parent.name in ("countries", "publishers")
    ]
    assert len(lists) > 20
    for page in lists:
        path = "/" + page.relative_to(site).as_posix()
        for href in html.fromstring(page.read_bytes()).xpath("//a/@href"):
            url = urlsplit(urljoin(BASE + path, str(href)))
            live_only = re.sub(r"^/(en|fr|es|pt)/", "/", url.path).startswith(("/search", "/oai"))
            if url.netloc != urlsplit(BASE).netloc or live_only:  # search and OAI-PMH need the live portal
                continue
            if url.query or not _file(site, url.path).is_file():
                dead.append((path, str(href)))
    assert dead == []
