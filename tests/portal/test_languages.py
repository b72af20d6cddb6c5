"""Content in its own language: an Arabic journal released beside an English one, read on pages in English and
French. Every piece of content in a language other than the page's says which (``lang``) and which way it runs
(``dir``); every page names all its language versions; country names are in the reader's language."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from babel import Locale
from fastapi.testclient import TestClient
from lxml import etree, html
from portal_fixtures import small_archive

from strongroom.node import Node
from strongroom.portal.app import create_portal
from strongroom.portal.i18n import LANGUAGES
from strongroom.services.released import ItemView

BASE = "http://127.0.0.1:8080"


@pytest.fixture(scope="module")
def node(
    module_db_factory: Callable[[], str], tmp_path_factory: pytest.TempPathFactory, sample_dir: Path
) -> Iterator[Node]:
    home = tmp_path_factory.mktemp("lang") / "home"
    built = small_archive(home, module_db_factory(), sample_dir, "maj-magh-", "east-african-")
    yield built
    built.close()


@pytest.fixture(scope="module")
def client(node: Node) -> Iterator[TestClient]:
    with TestClient(create_portal(node), base_url=BASE) as c:
        yield c


def items(node: Node, language: str) -> list[ItemView]:
    return [i for i in node.released().page(limit=1000) if i.language == language]


def marked(doc: html.HtmlElement, text: str) -> list[tuple[str | None, str | None]]:
    """(lang, dir) of the nearest element around each occurrence of ``text`` in the page's body that says its
    language (the head's <title> mixes the content's name with the node's, and can hold no markup)."""
    out = []
    for el in doc.find("body").iter():  # type: ignore[union-attr]
        if (el.text and text in el.text) or any(text in (c.tail or "") for c in el):
            at = el
            while at is not None and at.get("lang") is None:
                at = at.getparent()
            out.append((at.get("lang"), at.get("dir")) if at is not None else (None, None))
    return out


def test_arabic_content_is_marked_with_its_language_and_direction(client: TestClient, node: Node) -> None:
    arabic = items(node, "ar")
    english = items(node, "en")
    assert arabic and english
    item = next(i for i in arabic if i.abstract)
    title_key, title_name = item.title_key, item.title_name
    for prefix in ("", "/fr"):
        page = html.fromstring(client.get(f"{prefix}/articles/{item.public_id}/").text)
        assert page.get("lang") == (prefix.strip("/") or "en")
        h1 = page.find(".//h1")
        assert h1 is not None and h1.text == item.title and (h1.get("lang"), h1.get("dir")) == ("ar", "rtl")
        assert set(marked(page, item.abstract or "")) == {("ar", "rtl")}
        assert ("ar", "rtl") in marked(page, title_name)  # the journal's name, linked above the title
        listings = [
            f"{prefix}/titles/",
            f"{prefix}/titles/{title_key}/",
            f"{prefix}/titles/{title_key}/{item.volume_key}/",
            f"{prefix}/releases/",
            f"{prefix}/",
        ]
        for path in listings:
            doc = html.fromstring(client.get(path).text)
            found = marked(doc, title_name)
            assert found and set(found) == {("ar", "rtl")}, path
        volume = html.fromstring(client.get(f"{prefix}/titles/{title_key}/{item.volume_key}/").text)
        assert set(marked(volume, item.title)) == {("ar", "rtl")}
    word = item.title.split()[0]
    results = html.fromstring(client.get("/search", params={"q": word}).text)
    assert ("ar", "rtl") in marked(results, item.title)
    # English content on an English page says nothing more; on a French page, it says it is English
    other = english[0]
    en_page = html.fromstring(client.get(f"/articles/{other.public_id}/").text)
    assert en_page.find(".//h1").get("lang") is None  # type: ignore[union-attr]
    fr_page = html.fromstring(client.get(f"/fr/articles/{other.public_id}/").text)
    assert (fr_page.find(".//h1").get("lang"), fr_page.find(".//h1").get("dir")) == ("en", "ltr")  # type: ignore[union-attr]


def test_the_release_feed_marks_an_arabic_title(client: TestClient, node: Node) -> None:
    item = items(node, "ar")[0]
    feed = etree.fromstring(client.get("/releases.atom").content)
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    spans = feed.findall(
        ".//{http://www.w3.org/2005/Atom}title/{http://www.w3.org/1999/xhtml}div/{http://www.w3.org/1999/xhtml}span"
    )
    assert [(s.text, s.get("lang"), s.get("dir")) for s in spans] == [(item.title_name, "ar", "rtl")]
    titles = [
        t.get("type") for t in feed.findall("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}title")
    ]
    assert sorted(titles, key=str) == sorted([None, "xhtml"], key=str)  # the English release stays plain text


def test_oai_dc_says_the_language_of_the_articles_words(client: TestClient, node: Node) -> None:
    item = next(i for i in items(node, "ar") if i.abstract)
    identifier = f"oai:127.0.0.1:{item.public_id}"
    record = etree.fromstring(
        client.get("/oai", params={"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": identifier}).content
    )
    dc = {"dc": "http://purl.org/dc/elements/1.1/"}
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    for tag in ("title", "description", "subject"):
        found = record.findall(f".//dc:{tag}", dc)
        assert found and {el.get(lang) for el in found} == {"ar"}, tag
    assert all(el.get(lang) is None for el in record.findall(".//dc:publisher", dc))


def test_every_page_names_all_its_language_versions(client: TestClient, node: Node) -> None:
    item = items(node, "ar")[0]
    for path in ("/", "/titles/", f"/articles/{item.public_id}/"):
        for prefix in ("", *(f"/{lang}" for lang in LANGUAGES)):
            doc = html.fromstring(client.get(prefix + path).text)
            alternates = {
                x.get("hreflang"): x.get("href") for x in doc.xpath("//head/link[@rel='alternate'][@hreflang]")
            }
            expected = {lang: f"{BASE}/{lang}{path}" for lang in LANGUAGES} | {"x-default": BASE + path}
            assert alternates == expected, prefix + path
            canonical = doc.xpath("//head/link[@rel='canonical']/@href")
            assert canonical == [BASE + prefix + path], prefix + path  # each language version is its own page


def test_country_names_are_in_the_readers_language(client: TestClient) -> None:
    for lang in LANGUAGES:
        names = {Locale.parse(lang).territories[code] for code in ("KE", "MA")}
        text = html.fromstring(client.get(f"/{lang}/countries/").text).text_content()
        assert all(name in text for name in names), lang
    assert "Marruecos" in client.get("/es/countries/").text and "Kenia" in client.get("/es/countries/").text
