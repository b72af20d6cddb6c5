"""ISO 3166-1 alpha-2 codes are checked without pycountry when given as such (``au status`` checks each network
member's country at every start): the same answers as pycountry's, whose list the copy must equal."""

from __future__ import annotations

import subprocess
import sys

import pycountry
import pytest

from strongroom.domain.identifiers import ALPHA_2, normalise_country
from strongroom.errors import InvalidIdentifier


def test_the_copied_codes_are_pycountrys() -> None:
    assert {str(c.alpha_2) for c in pycountry.countries} == ALPHA_2


@pytest.mark.parametrize(
    ("given", "code"), [("GH", "GH"), ("ke", "KE"), (" SN ", "SN"), ("SEN", "SN"), ("Ghana", "GH")]
)
def test_codes_and_names_are_normalised_as_before(given: str, code: str) -> None:
    assert normalise_country(given) == code


@pytest.mark.parametrize("given", ["ZZ", "QQ", "", "Atlantis"])
def test_unknown_countries_are_refused(given: str) -> None:
    with pytest.raises(InvalidIdentifier):
        normalise_country(given)


def test_a_code_is_checked_without_importing_pycountry() -> None:
    probe = (
        "import sys; from strongroom.domain.identifiers import normalise_country\n"
        "print(normalise_country('GH'), normalise_country('ke'), 'pycountry' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert proc.stdout.split() == ["GH", "KE", "False"]
