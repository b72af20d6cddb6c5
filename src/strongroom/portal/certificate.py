"""A title's preservation certificate as a PDF (fpdf2), in the reader's language: the same holdings-level facts as the
certificate's page, and its stable address.

The text is set in DejaVu Sans (Debian's ``fonts-dejavu-core``, which ``scripts/test`` installs) so that any
title's letters print; without it, in the PDF core font Helvetica, with letters outside Latin-1 replaced by ``?``.
"""

from __future__ import annotations

from pathlib import Path

from babel.dates import format_date
from fpdf import FPDF

from strongroom import __version__
from strongroom.portal.i18n import country_name, translations
from strongroom.services.publishers import Certificate

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
FONT, BOLD = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"


def _font() -> tuple[Path, Path] | None:
    for d in FONT_DIRS:
        if (d / FONT).is_file() and (d / BOLD).is_file():
            return d / FONT, d / BOLD
    return None


def basis(cert: Certificate, lang: str) -> str:
    """What "preserved" means on this node, in the reader's language."""
    _ = translations(lang).gettext
    if cert.target_copies is None:
        return _("held by this node, which is in no network: one copy")
    return _(
        "held at its latest version by at least %(copies)s members of the network in at least %(countries)s countries"
    ) % {"copies": cert.target_copies, "countries": cert.min_countries}


def certificate_pdf(cert: Certificate, lang: str) -> bytes:
    _ = translations(lang).gettext
    facts, holding = cert.facts, cert.facts.holding
    pdf = FPDF(format="A4")
    pdf.set_title(_("Preservation certificate") + f": {holding.name}")
    pdf.set_lang(lang)
    pdf.set_creator(f"Strongroom {__version__}")
    pdf.set_creation_date(cert.issued)
    font = _font()
    if font:
        pdf.add_font("DejaVu", "", str(font[0]))
        pdf.add_font("DejaVu", "B", str(font[1]))
        family = "DejaVu"

        def text(s: str) -> str:
            return s
    else:
        family = "Helvetica"

        def text(s: str) -> str:
            s = s.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"').replace("\u2013", "-")
            return s.encode("latin-1", "replace").decode("latin-1")

    def day(d: object) -> str:
        return format_date(d, format="long", locale=lang) if d else ""  # type: ignore[arg-type]

    pdf.add_page()
    pdf.set_auto_page_break(True, margin=18)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font(family, "B", 20)
    pdf.multi_cell(width, 10, text(_("Preservation certificate")), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(family, "B", 15)
    pdf.multi_cell(width, 8, text(holding.name), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    rows: list[tuple[str, str]] = []
    if holding.issn_print:
        rows.append((_("ISSN (print)"), holding.issn_print))
    if holding.issn_online:
        rows.append((_("ISSN (online)"), holding.issn_online))
    if holding.publisher_name:
        rows.append((_("Publisher"), holding.publisher_name))
    years = holding.coverage_years()
    if facts.preserved:
        rows.append((_("Preserved issues"), str(len(holding.preserved_issues))))
        if years:
            rows.append((_("Years"), f"{years[0]}–{years[1]}" if years[0] != years[1] else str(years[0])))
        rows.append((_("Copies"), str(facts.copies)))
        rows.append((_("Countries"), ", ".join(country_name(c, lang) for c in facts.countries) or "–"))
        if facts.since:
            rows.append((_("In the archive since"), day(facts.since)))
        rows.append((_("Last verified"), day(facts.last_verified.date()) if facts.last_verified else _("not yet")))
    rows.append((_("Archive"), cert.archive))
    if cert.network:
        rows.append((_("Network"), cert.network))
    rows.append((_("Issued"), day(cert.issued.date())))

    label_w = 55
    for label, value in rows:
        pdf.set_font(family, "B", 11)
        y = pdf.get_y()
        pdf.multi_cell(label_w, 7, text(label), new_x="RIGHT", new_y="TOP")
        pdf.set_font(family, "", 11)
        pdf.multi_cell(width - label_w, 7, text(value), new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(max(pdf.get_y(), y + 7))
    pdf.ln(4)
    pdf.set_font(family, "", 11)
    if facts.preserved:
        statement = _(
            "This title is preserved by %(archive)s: its content is kept in the copies stated above, audited "
            "regularly, and released openly if the publisher can no longer provide it."
        ) % {"archive": cert.archive}
    else:
        statement = _("Nothing of this title is preserved yet.")
    pdf.multi_cell(width, 6, text(statement), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(family, "", 9)
    pdf.multi_cell(width, 5, text(_("What preserved means here: %(basis)s.") % {"basis": basis(cert, lang)}))
    pdf.ln(2)
    pdf.multi_cell(width, 5, text(_("Check this certificate at:")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(6, 69, 173)
    pdf.multi_cell(width, 5, text(facts.certificate_url), link=facts.certificate_url, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
