"""Sample content is deterministic, valid and diverse."""

from __future__ import annotations

from pathlib import Path

import bagit
import pypdf
from lxml import etree

from strongroom.demo import write_packages
from strongroom.domain.identifiers import normalise_issn, normalise_orcid
from strongroom.samples import article_pdf, generate_corpus


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    write_packages(tmp_path / "one", seed=7)
    write_packages(tmp_path / "two", seed=7)
    one, two = _tree(tmp_path / "one"), _tree(tmp_path / "two")
    assert one and one == two


def test_identifiers_are_valid_and_countries_and_languages_are_covered() -> None:
    corpus = generate_corpus(1)
    assert {"GH", "KE", "SN"} <= {p.country for p in corpus.publishers}
    assert {"en", "fr", "pt", "sw", "ar"} <= {t.language for t in corpus.titles}
    for title in corpus.titles:
        assert normalise_issn(title.issn_print) == title.issn_print
        assert normalise_issn(title.issn_online) == title.issn_online
        for art in corpus.articles[title.slug]:
            assert art.doi.startswith("10.5555/")
            for author in art.authors:
                if author.orcid:
                    assert normalise_orcid(author.orcid) == author.orcid
    arabic = next(t for t in corpus.titles if t.language == "ar")
    assert any("\u0600" <= ch <= "\u06ff" for ch in corpus.articles[arabic.slug][0].title)


def test_pdfs_open_and_bags_validate(tmp_path: Path) -> None:
    corpus = generate_corpus(2)
    for title in corpus.titles:
        art = corpus.articles[title.slug][0]
        path = tmp_path / f"{art.slug}.pdf"
        path.write_bytes(article_pdf(art, title))
        reader = pypdf.PdfReader(str(path))
        text = reader.pages[0].extract_text()
        assert art.doi in text
        assert path.stat().st_size < 10_000
    packages = write_packages(tmp_path / "pkgs", seed=2)
    bags = [p for p in packages if p.name.endswith("-bag")]
    assert bags
    for bag in bags:
        bagit.Bag(str(bag)).validate()
        for xml in (bag / "data").rglob("*.xml"):
            assert etree.parse(str(xml)).getroot().tag == "article"
