"""The portal's languages: English in the templates, French, Spanish and Portuguese in gettext catalogs
(``locale/LANG.po`` for the public portal, ``locale/AREA/LANG.po`` for each area of the console, read together and
compiled in memory with Babel when the portal starts).

A reader chooses a language with a path prefix (``/fr/titles/``); a page reached without one is in the language
the browser's ``Accept-Language`` prefers among these four (and says so with ``Vary``).
"""

from __future__ import annotations

import functools
import io
import re
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from strongroom.domain.text import Text

LANGUAGES = ("en", "fr", "es", "pt")
DEFAULT = "en"
LOCALE_DIR = Path(__file__).parent / "locale"
# A BCP 47 tag as JATS xml:lang and the catalog carry it (``ar``, ``pt-BR``, ``zh-Hant``); anything else is not
# written into a page.
_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,4}$")
_RTL_SCRIPTS = {"arab", "hebr", "syrc", "thaa", "nkoo", "adlm", "rohg", "mand", "samr"}


def catalog_files(lang: str) -> list[Path]:
    """A language's catalogs: the portal's, then one per area of the console."""
    return [LOCALE_DIR / f"{lang}.po", *sorted(LOCALE_DIR.glob(f"*/{lang}.po"))]


def read_catalog(lang: str) -> Catalog:
    """A language's catalogs as one, under the plural rule the portal's catalog states: its plurals are written
    for that rule, while Babel's own for the locale (CLDR's) may name a third form ("many"), which no catalog has,
    so that "6 titres" would show as "6 titles"."""
    catalog = Catalog(locale=lang)
    for n, path in enumerate(catalog_files(lang)):
        with path.open("rb") as f:
            read = read_po(f, locale=lang)
        if n == 0:
            catalog.mime_headers = [("Plural-Forms", read.plural_forms)]
        for message in read:
            if message.id:
                catalog[message.id] = message
    return catalog


@functools.cache
def translations(lang: str) -> NullTranslations:
    if lang == DEFAULT:
        return NullTranslations()
    catalog = read_catalog(lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def language_name(lang: str) -> str:
    """A language's name in itself (``français``), for the language menu."""
    return str(Locale.parse(lang).get_display_name(lang))


def country_name(code: str | None, lang: str) -> str:
    """A country's name in the reader's language (``Kenia`` in Spanish), from the CLDR data Babel carries."""
    if not code:
        return ""
    return str(Locale.parse(lang).territories.get(code.upper(), code))


def language_label(code: str, lang: str) -> str:
    """A content language's name in the reader's language (``swahili`` in French); the code when CLDR lacks it."""
    return str(Locale.parse(lang).languages.get(code.split("-")[0].lower(), code))


def language_tag(text: str | None) -> str | None:
    """A content language as a well-formed BCP 47 tag, or None (unknown or malformed)."""
    return text if text and _TAG.match(text) else None


@functools.cache
def direction(tag: str) -> str:
    """``rtl`` for a language written right to left (Arabic, Hebrew, Persian, Urdu...), else ``ltr``."""
    parts = tag.split("-")
    if any(p.lower() in _RTL_SCRIPTS for p in parts[1:]):
        return "rtl"
    try:
        locale = Locale.parse(parts[0].lower())
    except (UnknownLocaleError, ValueError):
        return "ltr"
    return "rtl" if locale.character_order == "right-to-left" else "ltr"


def content_attributes(language: str | None, page_lang: str) -> str:
    """`` lang="ar" dir="rtl"`` for content in a language other than the page's (nothing when it is the page's
    language or unknown), so screen readers, hyphenation, fonts and the bidi algorithm treat it as what it is."""
    tag = language_tag(language)
    if tag is None or tag.split("-")[0].lower() == page_lang:
        return ""
    return f' lang="{tag}" dir="{direction(tag)}"'


def negotiate(accept_language: str | None) -> str:
    """The best of our languages for an ``Accept-Language`` header; English when nothing matches."""
    if not accept_language:
        return DEFAULT
    wanted: list[tuple[float, int, str]] = []
    for n, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        wanted.append((-q, n, tag.strip().lower()))
    for q, _, tag in sorted(wanted):
        base = tag.split("-")[0]
        if q < 0 and base in LANGUAGES:
            return base
    return DEFAULT


def say(message: object, lang: str) -> str:
    """A message from below the portal (an access decision's reason, a refusal) in ``lang``: a
    :class:`~strongroom.domain.text.Text` is translated with its values; any other text is shown as it is."""
    if isinstance(message, Text):
        return message.render(translations(lang).gettext)
    return "" if message is None else str(message)
