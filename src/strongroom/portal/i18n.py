"""The portal's languages: English in the templates, French, Spanish and Portuguese in gettext catalogs
(``locale/LANG.po``, compiled in memory with Babel when the portal starts).

A reader chooses a language with a path prefix (``/fr/titles/``); a page reached without one is in the language
the browser's ``Accept-Language`` prefers among these four (and says so with ``Vary``).
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = ("en", "fr", "es", "pt")
DEFAULT = "en"
LOCALE_DIR = Path(__file__).parent / "locale"


@functools.cache
def translations(lang: str) -> NullTranslations:
    if lang == DEFAULT:
        return NullTranslations()
    with (LOCALE_DIR / f"{lang}.po").open("rb") as f:
        catalog = read_po(f, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def language_name(lang: str) -> str:
    """A language's name in itself (``français``), for the language menu."""
    return str(Locale.parse(lang).get_display_name(lang))


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
