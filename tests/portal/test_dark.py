"""Dark means dark: a crawler walks every public endpoint of a portal running in its own process over real HTTP,
on a node that holds released and unreleased content side by side, and tries the tricks an outsider would
(guessed ids, DOIs, file names, path tricks, crafted queries and tokens). It must find only released content."""

from __future__ import annotations

import base64
import json
import re
from collections import deque
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from lxml import etree, html
from portal_fixtures import Archive, LivePortal
from sqlalchemy import select

from strongroom.catalog.models import Item
from strongroom.portal.i18n import LANGUAGES

ARTICLE = re.compile(r"/articles/([0-9a-f]{16})/")


def crawl(portal: LivePortal) -> dict[str, httpx.Response]:
    """Every page reachable from the home pages, the sitemap, the feed and robots.txt, within the portal."""
    seen: dict[str, httpx.Response] = {}
    queue = deque(["/", "/sitemap.xml", "/releases.atom", "/robots.txt"] + [f"/{lang}/" for lang in LANGUAGES])
    with httpx.Client(base_url=portal.url, timeout=30) as client:
        while queue:
            path = queue.popleft()
            if path in seen or len(seen) > 5000:
                continue
            response = client.get(path)
            seen[path] = response
            kind = response.headers.get("content-type", "")
            found: list[str] = []
            if kind.startswith("text/html"):
                doc = html.fromstring(response.content)
                found = [str(h) for h in doc.xpath("//a/@href | //link/@href")]
            elif "xml" in kind:
                doc = etree.fromstring(response.content)
                found = [str(t) for t in doc.xpath("//*[local-name()='loc']/text() | //*[local-name()='link']/@href")]
            for href in found:
                url = urlsplit(urljoin(portal.url + path, href))
                if url.path.startswith("/oai"):
                    continue  # harvested below, verb by verb
                local = url.netloc in (urlsplit(portal.url).netloc, "127.0.0.1:8080")  # base_url of the settings
                if local and url.scheme.startswith("http"):
                    queue.append(url.path + (f"?{url.query}" if url.query else ""))
    return seen


def oai_everything(portal: LivePortal) -> list[bytes]:
    bodies = []
    with httpx.Client(base_url=portal.url, timeout=30) as client:
        for verb in ("ListRecords", "ListIdentifiers"):
            for prefix in ("oai_dc", "jats"):
                params: dict[str, str] = {"verb": verb, "metadataPrefix": prefix}
                while True:
                    body = client.get("/oai", params=params).content
                    bodies.append(body)
                    token = etree.fromstring(body).xpath("//*[local-name()='resumptionToken']/text()")
                    if not token:
                        break
                    params = {"verb": verb, "resumptionToken": str(token[0])}
        bodies.append(client.get("/oai", params={"verb": "ListSets"}).content)
        bodies.append(client.get("/oai", params={"verb": "Identify"}).content)
    return bodies


def assert_no_dark(archive: Archive, body: bytes, where: str, *, title_names: bool = True) -> None:
    """No dark item's id or DOI, and (unless ``title_names`` is false) no dark title's name."""
    text = body.decode("utf-8", "replace")
    for public_id in archive.dark_ids:
        assert public_id not in text, f"{where} shows dark item {public_id}"
    for doi in archive.dark_dois:
        assert doi not in text, f"{where} shows dark DOI {doi}"
    if title_names:
        for name in archive.dark_titles.values():
            assert name not in text and html_escape(name) not in text, f"{where} names dark title {name}"


# What is preserved is public (as CLOCKSS and the Keepers Registry publish it; docs/holdings.md): the holdings
# reports and the certificates and look-up name dark titles, but never a dark item's title, abstract, DOI or file.
HOLDINGS = re.compile(rf"^(?:/(?:{'|'.join(map(re.escape, LANGUAGES))}))?/(?:holdings|preserved)(?:[/.?]|$)")


def is_holdings(path: str) -> bool:
    return bool(HOLDINGS.match(path))


def assert_no_dark_item(archive: Archive, body: bytes, where: str) -> None:
    """No dark item's title, abstract or file name (checked where dark titles may be named)."""
    text = body.decode("utf-8", "replace")
    with archive.node.catalog.session() as s:
        rows = s.execute(select(Item.public_id, Item.title, Item.abstract)).all()
    for public_id, title, abstract in rows:
        if public_id not in archive.dark_ids:
            continue
        for words, what in ((title, "title"), (abstract, "abstract")):
            if words and len(words) > 12:
                assert words not in text and html_escape(words) not in text, f"{where} shows dark item's {what}"
        for name in archive.dark_files.get(public_id, []):
            assert name not in text, f"{where} names dark file {name}"


def html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;")


def test_a_crawl_of_every_public_endpoint_finds_only_released_content(
    live_portal: LivePortal, archive: Archive
) -> None:
    pages = crawl(live_portal)
    articles: set[str] = set()
    for path, response in pages.items():
        assert response.status_code == 200, f"{path} answered {response.status_code}"
        assert_no_dark(archive, response.content, path, title_names=not is_holdings(path))
        if is_holdings(path):
            assert_no_dark_item(archive, response.content, path)
        articles |= set(ARTICLE.findall(path))
    assert articles == archive.released_ids  # everything released is reachable, nothing else
    downloads = [p for p in pages if ARTICLE.match(p) and not p.endswith("/")]
    assert len(downloads) >= len(archive.released_ids)  # every article's files were fetched too
    for body in oai_everything(live_portal):
        assert_no_dark(archive, body, "OAI-PMH")


def test_guessed_ids_dois_and_files_are_not_found(live_portal: LivePortal, archive: Archive) -> None:
    released = sorted(archive.released_ids)[0]
    with httpx.Client(base_url=live_portal.url, timeout=30) as client:
        for public_id in sorted(archive.dark_ids):
            assert client.get(f"/articles/{public_id}/").status_code == 404
            assert client.get(f"/fr/articles/{public_id}/").status_code == 404
            assert client.get(f"/articles/{public_id}/cite.ris").status_code == 404
            for name in archive.dark_files[public_id]:
                response = client.get(f"/articles/{public_id}/{name}")
                assert response.status_code == 404 and not response.content.startswith(b"%PDF")
                # a dark file's name asked for under a released article
                assert client.get(f"/articles/{released}/{name}").status_code in (200, 404)
        for doi in sorted(archive.dark_dois):
            assert client.get(f"/doi/{doi}", follow_redirects=False).status_code == 404
        for key in archive.dark_titles:
            assert client.get(f"/titles/{key}/").status_code == 404
            for year in ("2023", "2024", "1", "2", "other"):
                assert client.get(f"/titles/{key}/{year}/").status_code == 404
        # the dark 2024 volume of the partly released title
        assert client.get(f"/titles/{archive.partly}/2/").status_code == 404
        assert client.get(f"/titles/{archive.partly}/2024/").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/articles/../catalog.sqlite",
        "/articles/%2e%2e/%2e%2e/strongroom.toml",
        "/articles/{released}/..%2F..%2Fstrongroom.toml",
        "/articles/{released}/%2e%2e%2fkeys%2fnode.key",
        "/articles/{released}/../../ocfl/0=ocfl_1.1",
        "/articles/{released}/article.pdf%00.txt",
        "/articles/{released}/strongroom%2Fdeposit.json",
        "/articles/{released}/deposit.json",
        "/titles/..%2F..%2Fetc%2Fpasswd/",
        "/fr/../strongroom.toml",
        "/static/../../keys/node.key",
        "/keys/node.key",
        "/ocfl/",
        "/docs",
        "/openapi.json",
    ],
)
def test_path_tricks_reach_nothing(live_portal: LivePortal, archive: Archive, path: str) -> None:
    released = sorted(archive.released_ids)[0]
    response = httpx.get(live_portal.url + path.format(released=released), timeout=30)
    assert response.status_code in (400, 404)
    assert b"PRIVATE KEY" not in response.content and b"[node]" not in response.content
    assert_no_dark(archive, response.content, path)


def search(client: httpx.Client, archive: Archive, q: str) -> None:
    """Results hold released articles only (the page echoes the reader's own words in its search box)."""
    response = client.get("/search", params={"q": q})
    assert response.status_code == 200
    hits = set(ARTICLE.findall(response.text))
    assert hits <= archive.released_ids
    echoed = response.text.replace(f'value="{html_escape(q).replace(chr(34), "&#34;")}"', "")
    assert_no_dark(archive, echoed.encode(), f"search {q!r}")


def test_crafted_queries_and_tokens_find_only_released_content(live_portal: LivePortal, archive: Archive) -> None:
    with httpx.Client(base_url=live_portal.url, timeout=30) as client:
        for name in archive.dark_titles.values():
            for q in (name, name.split()[0], f'"{name}"', f"{name} OR Ghana", "* OR *"):
                search(client, archive, q)
        for doi in sorted(archive.dark_dois)[:5]:
            search(client, archive, doi)
        # a hand-made resumption token starting from the first row and asking for a dark publisher's set
        for after in (0, 1, 10**9):
            token = {"v": "ListRecords", "p": "oai_dc", "s": None, "f": None, "u": None, "a": after, "c": 0}
            raw = base64.urlsafe_b64encode(json.dumps(token).encode()).decode().rstrip("=")
            body = client.get("/oai", params={"verb": "ListRecords", "resumptionToken": raw}).content
            assert_no_dark(archive, body, "OAI token")
        for spec in ("editions-universitaires-de-dakar-sn", "editions-universitaires-de-dakar-sn:issn-1132-8606"):
            body = client.get("/oai", params={"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": spec}).content
            assert b'code="noRecordsMatch"' in body
