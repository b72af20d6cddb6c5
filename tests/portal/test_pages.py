"""The portal's pages, read the way a reader's browser and a search engine's crawler read them."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser

import jinja2
import pytest
from fastapi.testclient import TestClient
from lxml import etree, html
from portal_fixtures import Archive

from strongroom.portal.app import create_portal
from strongroom.portal.feeds import public_paths
from strongroom.portal.i18n import LANGUAGES, negotiate, read_catalog, translations
from strongroom.portal.messages import TEMPLATES, portal_messages, python_sources
from strongroom.portal.oai import ListRequest

PAGE_BUDGET = 50_000  # bytes of HTML per page, before downloads (the page carries its own CSS; no scripts)


@pytest.fixture(scope="module")
def client(archive: Archive) -> Iterator[TestClient]:
    with TestClient(create_portal(archive.node), base_url="http://127.0.0.1:8080") as c:
        yield c


def links(body: str) -> list[str]:
    return [str(h) for h in html.fromstring(body).xpath("//a/@href")]


def test_home_shows_released_titles_and_counts(client: TestClient, archive: Archive) -> None:
    page = client.get("/", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and page.headers["content-language"] == "en"
    text = page.text
    assert "East African Journal of Public Health" in text and "Ghana Journal of Agricultural Science" in text
    assert f"{len(archive.released_ids)} articles from 2 titles in 2 countries" in text
    for name in archive.dark_titles.values():
        assert name not in text


def test_browse_from_country_to_article(client: TestClient, archive: Archive) -> None:
    countries = client.get("/countries/").text
    assert "Kenya" in countries and "Ghana" in countries and "Senegal" not in countries
    kenya = client.get(next(h for h in links(countries) if h.endswith("/KE/"))).text
    publisher = client.get(next(h for h in links(kenya) if h.startswith("/publishers/") and h != "/publishers/")).text
    title = client.get(next(h for h in links(publisher) if h.startswith("/titles/") and h != "/titles/")).text
    assert "Released on" in title and archive.triggers["east"] in title and "the publisher ceased operations" in title
    volume_links = [h for h in links(title) if h.count("/") == 4 and h.startswith("/titles/")]
    assert volume_links
    volume = client.get(volume_links[0]).text
    article_links = [h for h in links(volume) if h.startswith("/articles/")]
    assert article_links and all(h.split("/")[2] in archive.released_ids for h in article_links)


def test_a_partly_released_title_shows_only_its_released_volume(client: TestClient, archive: Archive) -> None:
    title = client.get(f"/titles/{archive.partly}/").text
    volumes = [h for h in links(title) if h.startswith(f"/titles/{archive.partly}/") and h.count("/") == 4]
    assert len(volumes) == 1  # 2023 is released, 2024 is not
    assert "(2023)" in title and "(2024)" not in title


def article_page(client: TestClient, archive: Archive) -> tuple[str, html.HtmlElement, str]:
    released = archive.node.released()
    item = next(i for i in released.page(limit=1000) if i.pdf is not None and i.jats is not None and i.abstract)
    body = client.get(f"/articles/{item.public_id}/").text
    return item.public_id, html.fromstring(body), body


def test_article_page_carries_citation_tags_and_json_ld(client: TestClient, archive: Archive) -> None:
    public_id, doc, _ = article_page(client, archive)
    item = archive.node.released().item(public_id)
    assert item is not None and item.doi
    meta = {}
    for el in doc.xpath("//meta[@name]"):
        meta.setdefault(el.get("name"), []).append(el.get("content"))
    assert meta["citation_title"] == [item.title]
    assert meta["citation_author"] == [a["name"] for a in item.authors]
    assert meta["citation_doi"] == [item.doi] and meta["citation_journal_title"] == [item.title_name]
    assert meta["citation_publication_date"][0].count("/") == 2
    pdf_url = meta["citation_pdf_url"][0]
    assert pdf_url.endswith(".pdf") and pdf_url.startswith("http://127.0.0.1:8080/articles/")
    pdf = client.get(pdf_url)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    ld = json.loads(doc.xpath("//script[@type='application/ld+json']/text()")[0])
    assert ld["@type"] == "ScholarlyArticle" and ld["identifier"]["value"] == item.doi
    assert ld["license"] == "https://creativecommons.org/licenses/by/4.0/" and ld["isAccessibleForFree"] is True
    assert [a["name"] for a in ld["author"]] == meta["citation_author"]
    text = doc.text_content()
    for expected in ("How to cite", f"https://doi.org/{item.doi}", "CC BY 4.0", item.trigger, "Abstract", "PDF"):
        assert expected in text
    assert not doc.xpath("//script[not(@type='application/ld+json')]")  # works without JavaScript


def test_downloads_come_from_the_preserved_copy(client: TestClient, archive: Archive) -> None:
    released = archive.node.released()
    item = next(i for i in released.page(limit=1000) if i.pdf is not None)
    with archive.node.catalog.session() as s:
        from sqlalchemy import select

        from strongroom.catalog.models import File, Item

        rows = s.execute(select(File.logical_path, File.sha256).join(Item).where(Item.public_id == item.public_id))
        digests = {path.rsplit("/", 1)[-1]: sha for path, sha in rows}
    for f in item.files:
        response = client.get(f"/articles/{item.public_id}/{f.name}")
        assert response.status_code == 200
        assert hashlib.sha256(response.content).hexdigest() == digests[f.name]
        assert response.headers["content-security-policy"].startswith("sandbox")
    ris = client.get(f"/articles/{item.public_id}/cite.ris").text
    assert ris.startswith("TY  - JOUR") and f"DO  - {item.doi}" in ris


def test_doi_redirects_to_the_landing_page(client: TestClient, archive: Archive) -> None:
    doi = sorted(archive.released_dois)[0]
    response = client.get(f"/doi/{doi}", follow_redirects=False)
    assert response.status_code == 301 and response.headers["location"].startswith("/articles/")
    assert client.get(f"/doi/https://doi.org/{doi}").status_code == 200


def test_search_finds_released_items_only(client: TestClient, archive: Archive) -> None:
    found = client.get("/search", params={"q": "Ghana"}).text
    hits = {h.split("/")[2] for h in links(found) if h.startswith("/articles/")}
    assert hits and hits <= archive.released_ids
    for q in ('"', "*", "NEAR(a b)", "a OR b", "title:x", "'; DROP TABLE items; --", "\x00"):
        response = client.get("/search", params={"q": q})
        assert response.status_code in (200, 400)
    assert client.get("/search", params={"q": "x" * 500}).status_code == 400  # too long: refused, not run


def test_language_by_prefix_and_by_accept_language(client: TestClient) -> None:
    fr = client.get("/fr/titles/")
    assert fr.headers["content-language"] == "fr" and 'lang="fr"' in fr.text and "Parcourir par titre" in fr.text
    internal = [h for h in links(fr.text) if h.startswith("/") and not h.startswith(("/oai", "/en/", "/es/", "/pt/"))]
    assert internal and all(h.startswith("/fr/") for h in internal)  # links keep the reader's language
    pt = client.get("/titles/", headers={"Accept-Language": "pt-BR,pt;q=0.9,en;q=0.5"})
    assert pt.headers["content-language"] == "pt" and "Navegar por título" in pt.text
    assert pt.headers["vary"] == "Accept-Language"
    es = client.get("/es/nothing-here/")
    assert es.status_code == 404 and "No encontrado" in es.text
    assert negotiate("de-DE, es;q=0.3") == "es" and negotiate("zh") == "en" and negotiate("fr;q=x") == "en"


# Names that are the same in every language: standards, identifiers, the software.
UNTRANSLATED_NAMES = {"DOI", "JATS", "ORCID", "OAI-PMH", "PDF", "Strongroom", "XML"}
_JINJA = jinja2.Environment(extensions=["jinja2.ext.i18n"])


def bare_words(source: str) -> list[str]:
    """The words a template shows outside gettext: its literal text (outside tags, styles and {% trans %}) and
    the attributes a reader sees or hears (aria-label, placeholder, title, alt)."""
    out, in_trans, after_begin = [], False, False
    for _, kind, value in _JINJA.lex(source):
        if after_begin and kind == "name":
            in_trans = {"trans": True, "pluralize": True, "endtrans": False}.get(value, in_trans)
        if kind != "whitespace":
            after_begin = kind == "block_begin"
        out.append(value if kind == "data" and not in_trans else "\x00")
    text = re.sub(r"<style>.*?</style>", " ", "".join(out), flags=re.S)
    heard = re.findall(r'\b(?:aria-label|placeholder|title|alt)="([^"]*)"', text)
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", " ".join([re.sub(r"<[^>]*>", " ", text), *heard]))
    return re.findall(r"[^\W\d_][\w'’-]*", text)


def test_every_message_is_translated_in_every_language() -> None:
    """Each language's catalog has every message the portal can show (its templates, and the ``_()`` calls of the
    Python whose text it shows, see strongroom.portal.messages), translated, with the same placeholders, and
    nothing stale; and the compiled translation is the one pages use. No template shows text outside gettext."""
    found = {p.name: set(bare_words(p.read_text())) - UNTRANSLATED_NAMES for p in TEMPLATES.rglob("*.html")}
    assert {name: words for name, words in found.items() if words} == {}
    sample = "<p>Hello {{ _('x') }}</p>{% trans %}Bye {{ n }}{% endtrans %}<a title=\"Over\">"
    assert bare_words(sample) == ["Hello", "Over"]  # the check sees what it must
    wanted = {m.id if isinstance(m.id, str) else m.id[0]: m for m in portal_messages() if m.id}
    assert len(wanted) > 40
    assert any(p.name == "access.py" for p in python_sources())  # the access decision's reasons are shown
    placeholder = re.compile(r"%\((\w+)\)s")
    for lang in LANGUAGES[1:]:
        catalog = read_catalog(lang)
        have = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
        assert set(have) == set(wanted), f"{lang}: missing {set(wanted) - set(have)}, stale {set(have) - set(wanted)}"
        for key, m in have.items():
            strings = [m.string] if isinstance(m.string, str) else list(m.string)
            ids = [m.id] if isinstance(m.id, str) else list(m.id)
            assert all(strings) and not m.fuzzy, f"{lang}: {key!r} is not translated"
            assert {p for s in strings for p in placeholder.findall(s)} == set(placeholder.findall(ids[-1])), key
        assert translations(lang).gettext("Browse by title") == have["Browse by title"].string


class _Count(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts = 0
        self.external = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("type") != "application/ld+json":
            self.scripts += 1
        if (tag == "link" and a.get("rel") == "stylesheet") or (tag in ("img", "iframe") and a.get("src")):
            self.external += 1


def test_every_page_fits_the_budget_in_every_language(client: TestClient, archive: Archive) -> None:
    paths = [p for p, _ in public_paths(archive.node.released())] + ["/search?q=health"]
    sizes = {}
    for lang in LANGUAGES:
        for path in paths:
            response = client.get(f"/{lang}{path}")
            assert response.status_code == 200, path
            count = _Count()
            count.feed(response.text)
            assert count.scripts == 0 and count.external == 0, path  # nothing else to download
            sizes[f"/{lang}{path}"] = len(response.content)
    heaviest = max(sizes, key=lambda p: sizes[p])
    assert sizes[heaviest] <= PAGE_BUDGET, f"{heaviest} is {sizes[heaviest]} bytes"
    assert len(sizes) == 4 * len(paths)


def test_small_screens_get_a_viewport_and_no_fixed_widths(client: TestClient) -> None:
    body = client.get("/").text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in body
    assert not re.search(r"width:\s*\d{3,}px", body)


def test_sitemap_and_feed_list_released_content(client: TestClient, archive: Archive) -> None:
    sitemap = etree.fromstring(client.get("/sitemap.xml").content)
    locs = sitemap.xpath("//s:loc/text()", namespaces={"s": "http://www.sitemaps.org/schemas/sitemap/0.9"})
    articles = {str(u).split("/")[4] for u in locs if "/articles/" in u}
    assert articles == archive.released_ids
    feed = etree.fromstring(client.get("/releases.atom").content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    ids = [str(x) for x in feed.xpath("//a:entry/a:id/text()", namespaces=ns)]
    assert sorted(i.rsplit("#", 1)[1] for i in ids) == sorted(archive.triggers.values())
    releases = client.get("/releases/").text
    assert archive.triggers["east"] in releases and "Atom" in releases
    robots = client.get("/robots.txt").text
    assert "Sitemap: http://127.0.0.1:8080/sitemap.xml" in robots


def test_a_sitemap_too_large_for_one_file_becomes_an_index_of_parts(client: TestClient, archive: Archive) -> None:
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    whole = etree.fromstring(client.get("/sitemap.xml").content)
    everything = [str(u) for u in whole.xpath("//s:url/s:loc/text()", namespaces=ns)]
    limit = 7  # the protocol's limit is 50,000 URLs a file; the same code with a small one
    assert len(everything) > 2 * limit
    with TestClient(create_portal(archive.node, sitemap_limit=limit), base_url="http://127.0.0.1:8080") as small:
        response = small.get("/sitemap.xml")
        assert "content-length" not in response.headers  # streamed
        index = etree.fromstring(response.content)
        assert index.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}sitemapindex"
        parts = [
            str(u).removeprefix("http://127.0.0.1:8080") for u in index.xpath("//s:sitemap/s:loc/text()", namespaces=ns)
        ]
        assert len(parts) >= -(-len(everything) // limit)
        found: list[str] = []
        for part in parts:
            urlset = etree.fromstring(small.get(part).content)
            locs = [str(u) for u in urlset.xpath("//s:url/s:loc/text()", namespaces=ns)]
            assert 0 < len(locs) <= limit, part
            found += locs
        assert sorted(found) == sorted(everything)  # every page once
        numbers = {int(p.removeprefix("/sitemaps/").removesuffix(".xml")) for p in parts}
        for n in set(range(0, max(numbers) + 2)) - numbers:  # a range holding nothing released is no part
            assert small.get(f"/sitemaps/{n}.xml").status_code == 404, n
    assert client.get("/sitemaps/1.xml").status_code == 404  # one file is enough: no parts


def test_an_oai_page_deep_in_the_chain_continues_the_chain_exactly(archive: Archive) -> None:
    """Resumption tokens carry the last id (keyset), so a page anywhere in the chain is the chain from there."""
    ns = {"o": "http://www.openarchives.org/OAI/2.0/"}
    released = archive.node.released()
    items = released.page(limit=1000)
    assert len(items) > 3
    with TestClient(create_portal(archive.node, oai_page_size=1), base_url="http://127.0.0.1:8080") as one:
        chain: list[str] = []
        url = "/oai?verb=ListIdentifiers&metadataPrefix=oai_dc"
        while True:
            tree = etree.fromstring(one.get(url).content)
            chain += [str(x) for x in tree.xpath("//o:header/o:identifier/text()", namespaces=ns)]
            token = tree.xpath("//o:resumptionToken/text()", namespaces=ns)
            if not token:
                break
            url = f"/oai?verb=ListIdentifiers&resumptionToken={token[0]}"
        assert [c.rsplit(":", 1)[1] for c in chain] == [i.public_id for i in items]
        assert {c.rsplit(":", 1)[1] for c in chain} == archive.released_ids
        for k, item in enumerate(items[:-1]):
            deep = ListRequest("ListIdentifiers", "oai_dc", None, None, None).token(item.id, k + 1)
            tree = etree.fromstring(one.get(f"/oai?verb=ListIdentifiers&resumptionToken={deep}").content)
            assert [str(x) for x in tree.xpath("//o:header/o:identifier/text()", namespaces=ns)] == [chain[k + 1]]
