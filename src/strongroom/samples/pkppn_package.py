"""Deposit packages as the OJS "PKP Preservation Network" plugin builds them, from a sample OJS site's issue.

A package is a zipped BagIt 1.0 bag (sha512 manifest and tag manifest; ``bag-info.txt`` with
``PKP-PLN-OJS-Version``) whose ``data/`` holds the OJS Native XML export ``Issue{UUID}.xml``, the galley files
under ``files/`` that it references (``<href src="files/…">``, not embedded), the schemas ``native.xsd``,
``pkp-native.xsd`` and ``importexport.xsd`` (flattened, so the XML validates offline) and ``terms{UUID}.xml``,
which terms of use were agreed when. The schemas are Strongroom's own (``pkppn_schemas/``), describing the subset
of the Native XML written here.

Output is deterministic for a given input (fixed dates in the bag and the ZIP), so checksums are stable; a changed
issue gives a different package. ``fault`` builds the broken packages a staging server must refuse.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import bagit

from strongroom.samples.corpus import CC_BY, SampleArticle
from strongroom.samples.ojs_site import Issue, OjsSite, PlnPackage

SCHEMA_DIR = Path(__file__).parent / "pkppn_schemas"
SCHEMAS = ("native.xsd", "pkp-native.xsd", "importexport.xsd")
FAULTS = (None, "broken-bag", "bad-xml", "virus", "missing-file")
FIXED_ZIP_DATE = (2024, 12, 31, 0, 0, 0)
BAGGING_DATE = "2024-12-31"
# The terms of use a journal manager agreed to (keys as the plugin stores them), with when they changed and when
# they were agreed.
TERMS = (
    (
        "jm_has_authority",
        "I have the legal and contractual authority to include this journal's content in a "
        "secure preservation network and, if and when applicable, to make the content available in the network.",
    ),
    ("licensing_is_current", "I agree to keep the licence of this journal's content current in the network."),
    ("trigger_events", "I agree that the network may make content available after a trigger event."),
)
TERMS_UPDATED = "2016-04-18T15:00:00+00:00"
TERMS_AGREED = "2024-01-05T10:00:00+00:00"
LOCALES_3 = {"en": "en", "fr": "fr_FR", "pt": "pt_BR", "sw": "sw", "ar": "ar"}
LOCALES_2 = {"en": "en_US", "fr": "fr_FR", "pt": "pt_BR", "sw": "sw_KE", "ar": "ar_IQ"}
SECTIONS = {
    "research-article": ("ART", "Articles"),
    "review-article": ("REV", "Reviews"),
    "editorial": ("ED", "Editorials"),
}
_EICAR_PARTS = (r"X5O!P%@AP[4\PZX54(P^)7CC)7}$", "EICAR-STANDARD-", "ANTIVIRUS-TEST-", "FILE!$H+H*")


def eicar() -> bytes:
    """The EICAR anti-virus test string, put together at run time (this source file must not hold it whole)."""
    return "".join(_EICAR_PARTS).encode("ascii")


def _x(value: object) -> str:
    return escape(str(value))


def _a(value: object) -> str:
    return quoteattr(str(value))


def galley_name(article: SampleArticle) -> str:
    """The galley's file name in the bag: OJS stores files under a unique id; the plugin keeps the base name."""
    return "files/" + hashlib.sha1(article.doi.encode(), usedforsecurity=False).hexdigest()[:13] + ".pdf"


def _email(article: SampleArticle, index: int) -> str:
    author = article.authors[index]
    local = "".join(
        ch for ch in f"{author.given}.{author.surname}".lower() if ch.isascii() and (ch.isalnum() or ch == ".")
    )
    return f"{local or 'author'}.{index + 1}@example.org"


def _issue_date(issue: Issue) -> dt.date:
    return min(a.published for _, a in issue.articles)


def _sections_used(issue: Issue) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    for _, a in issue.articles:
        sec = SECTIONS.get(a.article_type, SECTIONS["research-article"])
        if sec not in seen:
            seen.append(sec)
    return seen


def _native_3(site: OjsSite, issue: Issue, extra: list[tuple[int, str, int]], untitled: int | None) -> str:
    lang = site.title.language
    loc = LOCALES_3.get(lang, lang)
    date = _issue_date(issue)
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n',
        '<issue xmlns="http://pkp.sfu.ca" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" published="1" '
        'current="0" access_status="1" url_path="" xsi:schemaLocation="http://pkp.sfu.ca native.xsd">\n',
        f'  <id type="internal" advice="ignore">{issue.id}</id>\n',
        f"  <issue_identification><volume>{_x(issue.volume)}</volume><number>{_x(issue.number)}</number>"
        f'<year>{issue.year}</year><title locale="{loc}">Vol. {_x(issue.volume)} No. {_x(issue.number)} '
        f"({issue.year})</title></issue_identification>\n",
        f"  <date_published>{date.isoformat()}</date_published>\n",
        f"  <last_modified>{date.isoformat()}</last_modified>\n",
        "  <sections>\n",
    ]
    for seq, (abbrev, name) in enumerate(_sections_used(issue)):
        out.append(
            f'    <section ref="{abbrev}" seq="{seq}"><id type="internal" advice="ignore">{seq + 1}</id>'
            f'<abbrev locale="{loc}">{abbrev}</abbrev><title locale="{loc}">{name}</title></section>\n'
        )
    out.append("  </sections>\n  <articles>\n")
    for n, (aid, a) in enumerate(issue.articles):
        files = [(aid, galley_name(a), len(site.pdfs[aid]))] + [f for f in extra if f[0] == aid]
        out.append(
            f'    <article locale="{loc}" date_submitted="{(a.published - dt.timedelta(days=90)).isoformat()}" '
            f'status="3" submission_progress="" current_publication_id="{aid}" stage="production">\n'
            f'      <id type="internal" advice="ignore">{aid}</id>\n'
        )
        for k, (_, name, size) in enumerate(files):
            fid = aid * 100 + k
            out.append(
                f'      <submission_file id="{fid}" file_id="{fid}" stage="proof" viewable="false" '
                f'genre="Article Text" uploader="admin" created_at="{a.published.isoformat()}" '
                f'updated_at="{a.published.isoformat()}"><name locale="{loc}">{_x(name.split("/")[-1])}</name>'
                f'<file id="{fid}" filesize="{size}" extension="{name.rsplit(".", 1)[-1]}">'
                f"<href src={_a(name)}/></file></submission_file>\n"
            )
        abbrev = SECTIONS.get(a.article_type, SECTIONS["research-article"])[0]
        out.append(
            f'      <publication locale="{loc}" version="1" status="3" url_path="" seq="{n}" '
            f'date_published="{a.published.isoformat()}" section_ref="{abbrev}" access_status="0">\n'
            f'        <id type="internal" advice="ignore">{aid}</id>\n'
            f'        <id type="doi" advice="update">{_x(a.doi)}</id>\n'
        )
        if untitled != n:
            out.append(f'        <title locale="{loc}">{_x(a.title)}</title>\n')
        out.append(
            f'        <abstract locale="{loc}">{_x("<p>" + escape(a.abstract) + "</p>")}</abstract>\n'
            f"        <licenseUrl>{CC_BY}</licenseUrl>\n"
            f'        <copyrightHolder locale="{loc}">{_x(a.authors[0].name)}</copyrightHolder>\n'
            f"        <copyrightYear>{a.published.year}</copyrightYear>\n"
            f'        <keywords locale="{loc}">{"".join(f"<keyword>{_x(k)}</keyword>" for k in a.keywords)}'
            "</keywords>\n        <authors>\n"
        )
        for seq, au in enumerate(a.authors):
            orcid = f"<orcid>https://orcid.org/{au.orcid}</orcid>" if au.orcid else ""
            out.append(
                f'          <author include_in_browse="true" user_group_ref="Author" seq="{seq}" '
                f'id="{aid * 10 + seq}"><givenname locale="{loc}">{_x(au.given)}</givenname>'
                f'<familyname locale="{loc}">{_x(au.surname)}</familyname>'
                f'<affiliation locale="{loc}">{_x(au.affiliation)}</affiliation>'
                f"<country>{site.title.publisher.country}</country><email>{_x(_email(a, seq))}</email>"
                f"{orcid}</author>\n"
            )
        out.append("        </authors>\n")
        for k in range(len(files)):
            fid = aid * 100 + k
            out.append(
                f'        <article_galley locale="{loc}" approved="false"><id type="internal" advice="ignore">'
                f'{fid}</id><name locale="{loc}">PDF</name><seq>{k}</seq>'
                f'<submission_file_ref id="{fid}"/></article_galley>\n'
            )
        out.append(f"        <pages>{a.fpage}-{a.lpage}</pages>\n      </publication>\n    </article>\n")
    out.append("  </articles>\n</issue>\n")
    return "".join(out)


def _native_2(site: OjsSite, issue: Issue, extra: list[tuple[int, str, int]], untitled: int | None) -> str:
    lang = site.title.language
    loc = LOCALES_2.get(lang, lang)
    date = _issue_date(issue)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<!DOCTYPE issue PUBLIC "-//PKP//OJS Articles and Issues XML//EN" '
        '"http://pkp.sfu.ca/ojs/dtds/2.4.8/native.dtd">\n',
        '<issue published="true" identification="num_vol_year" current="false">\n',
        f'  <title locale="{loc}">Vol. {_x(issue.volume)} No. {_x(issue.number)} ({issue.year})</title>\n',
        f"  <volume>{_x(issue.volume)}</volume>\n  <number>{_x(issue.number)}</number>\n  <year>{issue.year}</year>\n",
        f"  <date_published>{date.isoformat()}</date_published>\n  <open_access/>\n",
    ]
    by_section: dict[tuple[str, str], list[tuple[int, int, SampleArticle]]] = {}
    for n, (aid, a) in enumerate(issue.articles):
        by_section.setdefault(SECTIONS.get(a.article_type, SECTIONS["research-article"]), []).append((n, aid, a))
    for (abbrev, name), arts in by_section.items():
        out.append(
            f'  <section>\n    <title locale="{loc}">{name}</title>\n    <abbrev locale="{loc}">{abbrev}</abbrev>\n'
        )
        for n, aid, a in arts:
            out.append(f'    <article language="{lang}" locale="{loc}">\n      <id type="doi">{_x(a.doi)}</id>\n')
            if untitled != n:
                out.append(f'      <title locale="{loc}">{_x(a.title)}</title>\n')
            out.append(
                f'      <abstract locale="{loc}">{_x(a.abstract)}</abstract>\n'
                f'      <indexing><subject locale="{loc}">{_x("; ".join(a.keywords))}</subject></indexing>\n'
            )
            for seq, au in enumerate(a.authors):
                orcid = f"<orcid>https://orcid.org/{au.orcid}</orcid>" if au.orcid else ""
                contact = ' primary_contact="true"' if seq == 0 else ""
                out.append(
                    f"      <author{contact}><firstname>{_x(au.given)}</firstname><lastname>{_x(au.surname)}"
                    f'</lastname><affiliation locale="{loc}">{_x(au.affiliation)}</affiliation>'
                    f"<country>{site.title.publisher.country}</country><email>{_x(_email(a, seq))}</email>"
                    f"{orcid}</author>\n"
                )
            out.append(
                f"      <pages>{a.fpage}-{a.lpage}</pages>\n"
                f"      <date_published>{a.published.isoformat()}</date_published>\n"
                f"      <permissions><license_url>{CC_BY}</license_url>"
                f'<copyright_holder locale="{loc}">{_x(a.authors[0].name)}</copyright_holder>'
                f"<copyright_year>{a.published.year}</copyright_year></permissions>\n"
            )
            for _, name, _size in [(aid, galley_name(a), 0), *[f for f in extra if f[0] == aid]]:
                out.append(
                    f'      <galley locale="{loc}"><label>PDF</label><file><href src={_a(name)} '
                    'mime_type="application/pdf"/></file></galley>\n'
                )
            out.append("    </article>\n")
        out.append("  </section>\n")
    out.append("</issue>\n")
    return "".join(out)


def native_xml(
    site: OjsSite,
    issue: Issue,
    *,
    ojs_version: str = "3.4.0.5",
    extra_files: list[tuple[int, str, int]] | None = None,
    untitled: int | None = None,
) -> bytes:
    """The OJS Native XML export of ``issue`` as the plugin cleans it (files referenced as ``files/…``): the OJS 3.4
    shape, or the OJS 2 shape when ``ojs_version`` starts with ``2.``. ``extra_files`` adds galleys (article id,
    path, size); ``untitled`` leaves the title out of the article at that position (a schema failure)."""
    extra = extra_files or []
    if ojs_version.startswith("2."):
        return _native_2(site, issue, extra, untitled).encode("utf-8")
    return _native_3(site, issue, extra, untitled).encode("utf-8")


def terms_xml() -> bytes:
    """``terms{UUID}.xml``: the terms of use as the plugin records them, each with when it changed and was agreed."""
    terms = "".join(
        f'<pkp:plugins.generic.pln.terms_of_use.{key} updated="{TERMS_UPDATED}" agreed="{TERMS_AGREED}">'
        f"{_x(text)}</pkp:plugins.generic.pln.terms_of_use.{key}>"
        for key, text in TERMS
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<entry xmlns="http://www.w3.org/2005/Atom" '
        f'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:pkp="terms"><pkp:terms_of_use>{terms}</pkp:terms_of_use>'
        "</entry>\n"
    ).encode()


def _damage(path: Path) -> None:
    """Change one byte in the middle of a file, keeping its size (so only its checksum tells)."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle] = (data[middle] + 1) % 256 if data[middle] not in (0x0A, 0x0D) else 0x20
    path.write_bytes(bytes(data))


def build_package(
    site: OjsSite, issue: Issue, deposit_uuid: str, *, ojs_version: str = "3.4.0.5", fault: str | None = None
) -> bytes:
    """The ZIP bytes of the deposit package the plugin builds for ``issue`` (see the module's description).

    ``fault``: ``"broken-bag"`` (a payload file altered after bagging), ``"bad-xml"`` (an article without a title,
    which the bundled schema refuses), ``"virus"`` (a galley ``files/eicar.txt`` holding the EICAR test string),
    ``"missing-file"`` (a galley the XML references is not in the bag)."""
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; one of {FAULTS}")
    uuid = deposit_uuid.upper()
    extra: list[tuple[int, str, int]] = []
    first_aid = issue.articles[0][0]
    if fault == "virus":
        extra.append((first_aid, "files/eicar.txt", len(eicar())))
    xml = native_xml(
        site, issue, ojs_version=ojs_version, extra_files=extra, untitled=0 if fault == "bad-xml" else None
    )
    with tempfile.TemporaryDirectory(prefix="pkppn-") as tmp:
        bag_dir = Path(tmp) / uuid
        (bag_dir / "files").mkdir(parents=True)
        (bag_dir / f"Issue{uuid}.xml").write_bytes(xml)
        for aid, a in issue.articles:
            if fault == "missing-file" and aid == first_aid:
                continue
            (bag_dir / galley_name(a)).write_bytes(site.pdfs[aid])
        if fault == "virus":
            (bag_dir / "files" / "eicar.txt").write_bytes(eicar())
        for name in SCHEMAS:
            (bag_dir / name).write_bytes((SCHEMA_DIR / name).read_bytes())
        (bag_dir / f"terms{uuid}.xml").write_bytes(terms_xml())
        bagit.make_bag(
            str(bag_dir),
            bag_info={
                "Bagging-Date": BAGGING_DATE,
                "External-Identifier": uuid,
                "PKP-PLN-OJS-Version": ojs_version,
            },
            checksums=["sha512"],
        )
        if fault == "broken-bag":
            _damage(bag_dir / "data" / galley_name(issue.articles[-1][1]))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(p for p in bag_dir.rglob("*") if p.is_file()):
                info = zipfile.ZipInfo(f"{uuid}/{path.relative_to(bag_dir).as_posix()}", date_time=FIXED_ZIP_DATE)
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())
        return buf.getvalue()


def publish(site: OjsSite, issue: Issue, deposit_uuid: str, *, fault: str | None = None) -> PlnPackage:
    """Build the deposit package of ``issue`` as the plugin does and have ``site`` serve it at
    ``pln/deposits/{uuid}`` (a later call for the same deposit replaces it: a corrected issue)."""
    uuid = deposit_uuid.upper()
    data = build_package(site, issue, uuid, ojs_version=site.state.ojs_version, fault=fault)
    site.pln_packages[uuid] = PlnPackage(uuid, issue, data, fault)
    return site.pln_packages[uuid]
