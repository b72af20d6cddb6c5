"""Article metadata from landing pages: Highwire ``citation_*`` tags, schema.org JSON-LD, or both (the tags win,
JSON-LD fills what they leave out); whatever shape a page's JSON-LD has, it is never an error."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from strongroom.harvest.fetch import Fetched
from strongroom.harvest.pages import landing_item

URL = "http://journal.example/index.php/j/article/view/7"


def page(head: str, body: str = "") -> Fetched:
    text = f"<html><head>{head}</head><body>{body}</body></html>"
    return Fetched(
        URL, 200, "OK", "HTTP/1.1", [("Content-Type", "text/html")], text.encode(), [], dt.datetime.now(dt.UTC)
    )


def ld(data: Any) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


ARTICLE = {
    "@context": "https://schema.org",
    "@type": "ScholarlyArticle",
    "headline": "Malaria in the highlands",
    "author": [{"@type": "Person", "givenName": "Amina", "familyName": "Odhiambo"}, "Kofi Mensah"],
    "datePublished": "2023-05-04T10:00:00Z",
    "identifier": [{"@type": "PropertyValue", "propertyID": "DOI", "value": "10.4314/ahs.v23i2.5"}],
    "pageStart": 12,
    "pageEnd": "20",
    "keywords": "malaria, highlands ,Kenya",
    "inLanguage": "en",
    "license": {
        "@id": "https://creativecommons.org/licenses/by/4.0/",
        "url": "https://creativecommons.org/licenses/by/4.0/",
    },
    "abstract": "We studied it.",
    "isPartOf": {
        "@type": "PublicationIssue",
        "issueNumber": "2",
        "isPartOf": {
            "@type": "PublicationVolume",
            "volumeNumber": 23,
            "isPartOf": {"@type": "Periodical", "name": "African Health Sciences", "issn": ["1680-6905"]},
        },
    },
}


def test_a_page_with_json_ld_only_is_catalogued_from_it() -> None:
    item = landing_item(page(ld(ARTICLE)))
    assert item is not None
    assert item["key"] == item["doi"] == "10.4314/ahs.v23i2.5"
    assert (item["title"], item["year"], item["publication_date"]) == ("Malaria in the highlands", 2023, "2023-05-04")
    assert [c["name"] for c in item["contributors"]] == ["Amina Odhiambo", "Kofi Mensah"]
    assert (item["volume"], item["issue"], item["pages"]) == ("23", "2", "12-20")
    assert item["keywords"] == ["malaria", "highlands", "Kenya"]
    assert (item["language"], item["licence"]) == ("en", "https://creativecommons.org/licenses/by/4.0/")
    assert (item["journal"], item["issn"], item["abstract"]) == (
        "African Health Sciences",
        "1680-6905",
        "We studied it.",
    )


def test_citation_tags_win_and_json_ld_fills_the_gaps() -> None:
    tags = '<meta name="citation_title" content="The tagged title"><meta name="citation_author" content="A. Tagged">'
    item = landing_item(page(tags + ld(ARTICLE)))
    assert item is not None
    assert item["title"] == "The tagged title" and [c["name"] for c in item["contributors"]] == ["A. Tagged"]
    assert item["doi"] == "10.4314/ahs.v23i2.5" and item["volume"] == "23"  # only the JSON-LD said these


@pytest.mark.parametrize(
    "data",
    [
        {"@graph": [{"@type": "WebPage", "name": "x"}, {**ARTICLE, "@type": ["ScholarlyArticle", "CreativeWork"]}]},
        [{"@type": "BreadcrumbList"}, ARTICLE],
        {**ARTICLE, "@type": "MedicalScholarlyArticle", "identifier": "https://doi.org/10.4314/ahs.v23i2.5"},
        {**ARTICLE, "identifier": None, "sameAs": ["https://x.example/", "doi:10.4314/ahs.v23i2.5."]},
    ],
)
def test_json_ld_in_its_usual_shapes(data: Any) -> None:
    item = landing_item(page(ld(data)))
    assert item is not None and item["doi"] == "10.4314/ahs.v23i2.5" and item["title"] == "Malaria in the highlands"


@pytest.mark.parametrize(
    "head",
    [
        '<script type="application/ld+json">{not json</script>',
        ld({"@type": "WebSite", "name": "A journal"}),  # describes no article
        ld({"@type": "ScholarlyArticle"}),  # an article with no title is not catalogued
        ld(["just", "strings", 1, None]),
        ld({"@type": 5, "@graph": "nope"}),
        ld({"@type": "ScholarlyArticle", "headline": ["a", "list"], "author": 7, "isPartOf": "x", "keywords": 3}),
        '<script type="application/ld+json">' + "[" * 5000 + "]" * 5000 + "</script>",  # nesting bomb
    ],
)
def test_json_ld_of_any_other_shape_is_ignored_not_an_error(head: str) -> None:
    assert landing_item(page(head)) is None


def test_wrong_shapes_inside_an_article_are_dropped_field_by_field() -> None:
    odd = {**ARTICLE, "author": [{"name": 5}, "", {"givenName": "Only"}], "datePublished": "sometime", "keywords": [1]}
    item = landing_item(page(ld(odd)))
    assert item is not None
    assert [c["name"] for c in item["contributors"]] == ["Only"]
    assert item["year"] is None and item["publication_date"] is None and item["keywords"] == []
