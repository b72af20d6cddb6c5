"""Identifier normalisation: canonical forms, check digits, and properties that hold for any input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.domain.identifiers import (
    normalise_country,
    normalise_doi,
    normalise_isbn,
    normalise_issn,
    normalise_orcid,
    slug,
)
from strongroom.errors import InvalidIdentifier
from strongroom.samples.corpus import issn_check_digit, orcid_check_digit


@pytest.mark.parametrize(
    ("raw", "doi"),
    [
        ("10.1234/ABC", "10.1234/abc"),
        ("https://doi.org/10.1234/x.y", "10.1234/x.y"),
        ("doi: 10.55555/Z", "10.55555/z"),
        ("http://dx.doi.org/10.1000/182", "10.1000/182"),
        ("info:doi/10.1000/1", "10.1000/1"),
    ],
)
def test_doi_forms(raw: str, doi: str) -> None:
    assert normalise_doi(raw) == doi


@pytest.mark.parametrize("bad", ["", "10.12/x", "11.1234/x", "10.1234/", "doi.org/10.1234/x y"])
def test_bad_dois(bad: str) -> None:
    with pytest.raises(InvalidIdentifier, match="DOI"):
        normalise_doi(bad)


def test_issn_isbn_orcid_country() -> None:
    assert normalise_issn("0378-8733") == "0378-8733"
    with pytest.raises(InvalidIdentifier, match="check digit"):
        normalise_issn("0378-8734")
    assert normalise_isbn("0-306-40615-2") == "9780306406157"
    with pytest.raises(InvalidIdentifier):
        normalise_isbn("0-306-40615-3")
    assert normalise_orcid("https://orcid.org/0000-0002-1694-233x") == "0000-0002-1694-233X"
    with pytest.raises(InvalidIdentifier, match="check digit"):
        normalise_orcid("0000-0002-1694-2331")
    assert [normalise_country(c) for c in ("gh", "KEN", "Senegal")] == ["GH", "KE", "SN"]
    with pytest.raises(InvalidIdentifier, match="ISO 3166-1"):
        normalise_country("Atlantis")


@pytest.mark.parametrize("code", ["XX", "ZZ", "Q", "QQQ", "UK1"])
def test_a_code_that_is_not_one_is_refused_not_guessed(code: str) -> None:
    # pycountry's fuzzy search matches subdivision names, so "XX" came back as Malta and "ZZ" as Italy
    with pytest.raises(InvalidIdentifier, match="unknown country"):
        normalise_country(code)


def test_a_misspelt_name_that_fuzzy_search_resolves_to_one_country_is_still_accepted() -> None:
    assert normalise_country("Tanzania") == "TZ"  # pycountry's name is "Tanzania, United Republic of"


@given(st.text(alphabet="0123456789", min_size=7, max_size=7))
def test_any_issn_with_its_check_digit_is_valid(digits: str) -> None:
    issn = f"{digits[:4]}-{digits[4:]}{issn_check_digit(digits)}"
    assert normalise_issn(issn) == issn
    wrong = "0" if issn[-1] != "0" else "1"
    with pytest.raises(InvalidIdentifier):
        normalise_issn(issn[:-1] + wrong)


@given(st.text(alphabet="0123456789", min_size=15, max_size=15))
def test_any_orcid_with_its_check_digit_is_valid(digits: str) -> None:
    full = digits + orcid_check_digit(digits)
    orcid = "-".join(full[i : i + 4] for i in range(0, 16, 4))
    assert normalise_orcid(orcid) == orcid


@given(st.from_regex(r"10\.\d{4,9}/[A-Za-z0-9._;()/:-]{1,30}", fullmatch=True))
def test_doi_normalisation_is_idempotent(doi: str) -> None:
    once = normalise_doi(doi)
    assert normalise_doi(once) == once == normalise_doi("https://doi.org/" + doi.upper())


@given(st.text())
def test_slug_is_safe(text: str) -> None:
    s = slug(text)
    assert s and all(c.isascii() and (c.isalnum() or c == "-") for c in s) and len(s) <= 60
