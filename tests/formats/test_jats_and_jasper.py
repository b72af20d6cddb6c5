"""JATS metadata extraction and JASPER identifiers.csv, on real-shaped and broken input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from strongroom.domain.model import ItemType
from strongroom.errors import PackageRejected
from strongroom.formats.jasper import read_identifiers
from strongroom.formats.jats import parse_jats
from strongroom.formats.mediatype import check_format, identify
from strongroom.samples import article_jats, article_pdf, generate_corpus

JATS = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving and Interchange DTD v1.3 20210610//EN"
  "JATS-archivearticle1-3.dtd">
<article xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:ali="http://www.niso.org/schemas/ali/1.0/"
         article-type="review-article" xml:lang="fr">
 <front>
  <journal-meta>
   <journal-title-group><journal-title>Revue sénégalaise de santé publique</journal-title></journal-title-group>
   <issn pub-type="ppub">0378-8733</issn><issn pub-type="epub">2049-3630</issn>
   <publisher><publisher-name>Éditions de Dakar</publisher-name><publisher-loc>Dakar, Senegal</publisher-loc></publisher>
  </journal-meta>
  <article-meta>
   <article-id pub-id-type="doi">https://doi.org/10.5555/ABC.2024.1</article-id>
   <title-group><article-title>La <italic>santé</italic> des enfants</article-title></title-group>
   <contrib-group>
    <contrib contrib-type="author"><contrib-id contrib-id-type="orcid">https://orcid.org/0000-0002-1825-0097</contrib-id>
     <name><surname>Diop</surname><given-names>Awa</given-names></name><xref ref-type="aff" rid="a1"/><xref ref-type="aff" rid="a2"/></contrib>
    <contrib contrib-type="author"><string-name>Mamadou Fall</string-name></contrib>
   </contrib-group>
   <aff id="a1"><label>1</label><institution>Université Cheikh Anta Diop</institution>, Dakar</aff>
   <aff id="a2"><label>2</label>Institut Pasteur de Dakar</aff>
   <pub-date pub-type="ppub"><year>2023</year></pub-date>
   <pub-date publication-format="electronic"><day>05</day><month>03</month><year>2024</year></pub-date>
   <volume>12</volume><issue>1</issue><elocation-id>e104</elocation-id>
   <permissions><license xlink:href="https://creativecommons.org/licenses/by/4.0/"><license-p>CC BY</license-p></license></permissions>
   <abstract><p>Premier paragraphe.</p><p>Second paragraphe.</p></abstract>
   <kwd-group><kwd>vaccination</kwd><kwd>Sénégal</kwd></kwd-group>
  </article-meta>
 </front>
</article>"""


def test_full_jats_metadata() -> None:
    meta = parse_jats(JATS.encode(), "a.xml")
    assert meta.title == "La santé des enfants"
    assert meta.doi == "10.5555/abc.2024.1"
    assert [c.name for c in meta.contributors] == ["Awa Diop", "Mamadou Fall"]
    assert meta.contributors[0].orcid == "0000-0002-1825-0097"
    assert meta.contributors[0].affiliations == ("Université Cheikh Anta Diop, Dakar", "Institut Pasteur de Dakar")
    assert meta.publication_date == dt.date(2024, 3, 5) and meta.year == 2024
    assert (meta.volume, meta.issue, meta.pages) == ("12", "1", "e104")
    assert meta.abstract == "Premier paragraphe.\n\nSecond paragraphe."
    assert meta.keywords == ("vaccination", "Sénégal")
    assert meta.licence == "https://creativecommons.org/licenses/by/4.0/"
    assert meta.language == "fr" and meta.item_type is ItemType.REVIEW_ARTICLE
    j = meta.journal
    assert (j.issn_print, j.issn_online, j.publisher_country) == ("0378-8733", "2049-3630", "SN")


def test_every_jats_problem_is_reported_together() -> None:
    bad = JATS.replace("0378-8733", "0378-8734").replace("0000-0002-1825-0097", "0000-0002-1825-0098")
    bad = bad.replace("<article-title>La <italic>santé</italic> des enfants</article-title>", "")
    with pytest.raises(PackageRejected) as info:
        parse_jats(bad.encode(), "a.xml")
    assert sorted(f.code for f in info.value.findings) == ["P032", "P052", "P052"]


def test_not_an_article() -> None:
    with pytest.raises(PackageRejected) as info:
        parse_jats(b"<book/>", "b.xml")
    assert info.value.findings[0].code == "P033"


def test_samples_parse_back() -> None:
    corpus = generate_corpus(5)
    for title in corpus.titles:
        art = corpus.articles[title.slug][0]
        meta = parse_jats(article_jats(art, title), "x.xml")
        assert meta.title == art.title and meta.doi == art.doi and meta.language == art.language
        assert [c.name for c in meta.contributors] == [a.name for a in art.authors]


def test_media_types_come_from_bytes(tmp_path: Path) -> None:
    corpus = generate_corpus(1)
    title = corpus.titles[0]
    pdf = tmp_path / "x.bin"
    pdf.write_bytes(article_pdf(corpus.articles[title.slug][0], title))
    assert identify(pdf) == "application/pdf"
    png_named_pdf = tmp_path / "fake.pdf"
    png_named_pdf.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    assert identify(png_named_pdf) == "image/png"
    assert [f.code for f in check_format(png_named_pdf, "fake.pdf")] == ["P040"]
    jpeg_named_png = tmp_path / "img.png"
    jpeg_named_png.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 20)
    assert [f.code for f in check_format(jpeg_named_png, "img.png")] == ["P040"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\ufeffDOI,Full_Text_URL,Folder\n10.5555/a,https://x.org/a,a\n", [("10.5555/a", "https://x.org/a", "a")]),
        ("url\nhttps://x.org/only-url\n", [(None, "https://x.org/only-url", None)]),
        ("doi;other\n", None),
        ("doi,folder\n,f1\n", None),
        ("doi\nnot-a-doi\n", None),
        ("", None),
    ],
)
def test_identifiers_csv(tmp_path: Path, text: str, expected: list[tuple[str | None, ...]] | None) -> None:
    path = tmp_path / "identifiers.csv"
    path.write_text(text, encoding="utf-8")
    if expected is None:
        with pytest.raises(PackageRejected) as info:
            read_identifiers(path)
        assert {f.code for f in info.value.findings} <= {"P050", "P052"}
        return
    assert [(r.doi, r.url, r.folder) for r in read_identifiers(path)] == expected
