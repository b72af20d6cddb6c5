"""Identifiers: DOIs, ISSNs, ISBNs, ORCIDs and country codes, checked and put in canonical form.

Check digits are validated with python-stdnum and country codes with pycountry (pure libraries, no I/O).
Every function raises :class:`~strongroom.errors.InvalidIdentifier` with a message naming the value and the fix.
Both libraries are imported by the functions that use them: a command that names no ISSN or country (``strongroom
items``) does not pay for them.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata

from strongroom.errors import InvalidIdentifier

_DOI_PREFIXES = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*|info:doi/)", re.IGNORECASE)
_DOI_SHAPE = re.compile(r"^10\.\d{4,9}/\S+$")
_ORCID_PREFIX = re.compile(r"^(?:https?://orcid\.org/)", re.IGNORECASE)
_ORCID_SHAPE = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")


def normalise_doi(value: str) -> str:
    """Return the DOI in canonical form: no resolver prefix, lower case (DOIs are case-insensitive).

    >>> normalise_doi("https://doi.org/10.1234/ABC.5")
    '10.1234/abc.5'
    """
    doi = _DOI_PREFIXES.sub("", value.strip()).strip().lower()
    if not _DOI_SHAPE.match(doi):
        raise InvalidIdentifier(
            f"not a DOI: {value!r}",
            hint="a DOI looks like 10.1234/some-suffix (with or without https://doi.org/ in front)",
        )
    return doi


def normalise_issn(value: str) -> str:
    """Return the ISSN as NNNN-NNNC after checking its check digit."""
    from stdnum import issn as std_issn
    from stdnum.exceptions import ValidationError

    try:
        return str(std_issn.format(std_issn.validate(value)))
    except ValidationError as exc:
        raise InvalidIdentifier(
            f"invalid ISSN {value!r}: {exc}",
            hint="an ISSN is eight characters, NNNN-NNNC, whose last is a check digit (0-9 or X)",
        ) from None


def normalise_isbn(value: str) -> str:
    """Return the ISBN as a hyphen-free ISBN-13 after checking its check digit."""
    from stdnum import isbn as std_isbn
    from stdnum.exceptions import ValidationError

    try:
        return str(std_isbn.to_isbn13(std_isbn.validate(value)))
    except ValidationError as exc:
        raise InvalidIdentifier(
            f"invalid ISBN {value!r}: {exc}",
            hint="an ISBN has 10 or 13 digits whose last is a check digit",
        ) from None


def normalise_orcid(value: str) -> str:
    """Return the ORCID iD as NNNN-NNNN-NNNN-NNNC after checking its ISO 7064 11,2 check digit."""
    orcid = _ORCID_PREFIX.sub("", value.strip()).upper()
    if not _ORCID_SHAPE.match(orcid):
        raise InvalidIdentifier(f"not an ORCID iD: {value!r}", hint="an ORCID iD looks like 0000-0002-1825-0097")
    total = 0
    for ch in orcid.replace("-", "")[:-1]:
        total = (total + int(ch)) * 2
    check = (12 - total % 11) % 11
    expected = "X" if check == 10 else str(check)
    if orcid[-1] != expected:
        raise InvalidIdentifier(f"invalid ORCID iD {value!r}: wrong check digit", hint="check the iD for typos")
    return orcid


# ISO 3166-1 alpha-2, as pycountry has them (a test keeps the two equal): a code already given as one is checked here
# without importing pycountry and loading its country list, which costs a command such as `au status` (it checks each
# network member's country) more than the rest of its check.
_ALPHA_2 = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO
    FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE
    JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO
    MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
    PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM
    TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
ALPHA_2 = frozenset(_ALPHA_2.split())


@functools.lru_cache(maxsize=4096)
def _country_code(text: str) -> str | None:
    """Exact look-ups first (codes, names); the slow fuzzy search only when they fail. Cached: packages repeat
    the same publisher location on every article."""
    if len(text) == 2 and text.upper() in ALPHA_2:  # what pycountry's alpha_2 look-up would answer
        return text.upper()
    import pycountry

    country = None
    if len(text) == 2:
        country = pycountry.countries.get(alpha_2=text.upper())
    elif len(text) == 3:
        country = pycountry.countries.get(alpha_3=text.upper())
    if country is None:
        country = (
            pycountry.countries.get(name=text)
            or pycountry.countries.get(official_name=text)
            or pycountry.countries.get(common_name=text)
        )
    if country is None and len(text) > 3:  # a code that is not one is an error, never a near name ("XX" gave MT)
        try:
            matches = pycountry.countries.search_fuzzy(text)
        except LookupError:
            matches = []
        if len(matches) == 1 or (matches and matches[0].name.lower() == text.lower()):
            country = matches[0]
    return str(country.alpha_2) if country is not None else None


def normalise_country(value: str) -> str:
    """Return the ISO 3166-1 alpha-2 code for a code (alpha-2 or alpha-3) or an English country name."""
    code = _country_code(value.strip())
    if code is None:
        raise InvalidIdentifier(
            f"unknown country {value!r}",
            hint="give an ISO 3166-1 code such as GH, KE or SN (or the country's English name)",
        )
    return code


def country_name(alpha_2: str) -> str:
    """Return the English short name for an ISO 3166-1 alpha-2 code."""
    import pycountry

    country = pycountry.countries.get(alpha_2=alpha_2.upper())
    if country is None:
        raise InvalidIdentifier(f"unknown country code {alpha_2!r}", hint="use an ISO 3166-1 alpha-2 code")
    return str(country.name)


_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str, max_len: int = 60) -> str:
    """A lower-case ASCII slug for readable keys: accents are folded (é -> e); other scripts are dropped."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    s = _SLUG.sub("-", folded.lower()).strip("-")
    return s[:max_len].strip("-") or "untitled"


def public_id(au_key: str, item_key: str) -> str:
    """The item's id in public URLs and OAI-PMH identifiers: stable across re-indexing and across nodes (it is
    derived from the AU and item keys, never from a database row id) and opaque (it says nothing of what else
    the archive holds)."""
    return hashlib.sha256(f"{au_key}\x00{item_key}".encode()).hexdigest()[:16]
