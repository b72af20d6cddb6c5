"""The rebuild's fast paths give the index the reference paths would: Latin-1 text folded by a byte table gives the
analyzer the words :func:`~strongroom.search.base.fold` does; JSON columns decoded by the C scanner are what
``json.loads`` gives (or it raises as it would); the catalog's documents are the ORM's; and an index rebuilt through
them answers every word, filter and facet as one written document by document the plain way."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
import tantivy
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from strongroom.catalog.models import ArchivalUnit, Item, Title
from strongroom.node import Node
from strongroom.search.base import FACETS, SearchDocument, SearchQuery, fold
from strongroom.search.tantivy_index import (
    _QUERY_WORDS,
    DARK,
    ID,
    SAMPLE,
    TEXT,
    TantivyIndex,
    folded,
    sample_levels,
)
from strongroom.services.indexer import _json, search_document

LATIN1 = "".join(chr(c) for c in range(0x20, 0x100) if c != 0x7F)


@given(st.text(st.sampled_from(LATIN1 + "\x00\t\n"), max_size=60))
def test_latin1_text_folds_as_fold_does(text: str) -> None:
    assert _QUERY_WORDS.analyze(folded(text)) == _QUERY_WORDS.analyze(fold(text))


@pytest.mark.parametrize("char", [chr(c) for c in range(0x80, 0x100)])
def test_each_latin1_character_folds_as_fold_does(char: str) -> None:
    text = f"Ab{char}cd x{char} {char}"
    assert _QUERY_WORDS.analyze(folded(text)) == _QUERY_WORDS.analyze(fold(text))


JSON_TEXTS = [
    '[{"name": "Ndiaye, Awa", "orcid": null}, {"name": "Diop, Ousmane"}]',
    '["santé", "été", "\\u00e9t\\u00e9"]',
    "[]",
    "null",
    '"a string"',
    "12",
    ' ["padded"] ',
    '["trailing"] x',
    '["one"]["two"]',
    "\ufeff[1]",
    "[1,",
    "not json",
]


@pytest.mark.parametrize("text", JSON_TEXTS)
def test_json_columns_decode_as_json_loads_does(text: str) -> None:
    try:
        expected = json.loads(text)
    except json.JSONDecodeError as exc:
        with pytest.raises(json.JSONDecodeError) as raised:
            _json(text)
        assert str(raised.value) == str(exc)
    else:
        assert _json(text) == expected
    assert _json("") is None and _json(None) is None


def test_the_catalogs_documents_are_those_of_its_items(stocked_tantivy_node: Node) -> None:
    node = stocked_tantivy_node
    with node.catalog.session() as s:
        au = s.scalars(select(ArchivalUnit).order_by(ArchivalUnit.id)).first()
        assert au is not None
        au.released_at = node.catalog.clock.now()  # one AU released, the others dark: both kinds compared
    read = [d for batch in node.indexer.catalog_documents(batch=4) for d in batch]
    with node.catalog.session() as s:
        items = s.scalars(
            select(Item)
            .options(joinedload(Item.au).joinedload(ArchivalUnit.title).joinedload(Title.publisher))
            .order_by(Item.id)
        ).all()
        expected = [search_document(i) for i in items]
    assert read == expected
    assert any(d.released for d in read) and not all(d.released for d in read)
    assert any(d.authors for d in read) and any(d.keywords for d in read)


def plain_document(d: SearchDocument) -> tantivy.Document:
    """A document as the engine wrote them before its fast paths: the whole text through fold, facet by facet."""
    doc = tantivy.Document()
    doc.add_unsigned(ID, d.id)
    doc.add_text(TEXT if d.released else DARK, fold(d.text))
    for level in sample_levels(d.id):
        doc.add_unsigned(SAMPLE, level)
    for name in FACETS:
        value = d.facet(name)
        if value is not None:
            doc.add_text(name, value)
    return doc


WORDS = ["Santé", "publique", "ÉTUDE", "straße", "µg", "½", "Ørsted", "Ελληνικά", "naïve", "façade", "l’été", "x"]


def corpus() -> list[SearchDocument]:
    docs = []
    for n in range(1, 121):
        words = [WORDS[(n * k) % len(WORDS)] for k in (1, 3, 7)]
        docs.append(
            SearchDocument(
                id=n * 7919,
                title=" ".join(words),
                released=n % 3 != 0,
                abstract=" ".join(reversed(words)) if n % 4 else "",
                authors=(f"Ndiaye {WORDS[n % len(WORDS)]}",) if n % 5 else (),
                keywords=("santé", "øre") if n % 2 else (),
                identifiers=(f"10.5555/{n}",) if n % 6 else (),
                country=("SN", "FR", None)[n % 3],
                publisher_key=f"press-{n % 4}" if n % 7 else None,
                title_key=f"issn:{n % 5}",
                year=1990 + n % 9 if n % 8 else None,
                language=("fr", "en", "pt", None)[n % 4],
            )
        )
    return docs


def test_a_rebuild_answers_as_an_index_written_the_plain_way(tmp_path: Path) -> None:
    docs = corpus()
    fast = TantivyIndex(tmp_path / "fast")
    assert fast.rebuild([docs[:50], docs[50:]]) == len(docs)  # two batches: the rebuild's large writer
    plain = TantivyIndex(tmp_path / "plain")
    with plain._writers(None) as (writers, _):
        writer = writers[0]
        for d in docs:
            writer.add_document(plain_document(d))
    words = {unicodedata.normalize("NFC", w) for d in docs for w in d.text.split()}
    assert len(words) > 20
    for word in sorted(words):
        for released_only in (True, False):
            for filters in ({}, {"country": "SN"}, {"year": "1993"}):
                query = SearchQuery(word, released_only=released_only, filters=filters, facets=tuple(FACETS), limit=200)
                got, want = fast.search(query), plain.search(query)
                assert sorted(got.ids) == sorted(want.ids), (word, released_only, filters)
                assert (got.total, got.facets) == (want.total, want.facets), (word, released_only, filters)
    for level in (0, 1, 2, 3):
        sample = tantivy.Query.term_query(fast.schema, SAMPLE, level)
        assert fast._searchers()[0].search(sample, limit=1, count=True).count == (
            plain._searchers()[0].search(sample, limit=1, count=True).count
        )
