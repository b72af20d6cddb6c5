"""OJS Native XML (the export of OJS's "Native XML" import/export plugin) into
:class:`~strongroom.domain.model.ArticleMeta`, and validation against the XSDs bundled beside it.

Two shapes are read: OJS 3.x (namespace ``http://pkp.sfu.ca``; ``<issue>``/``<issues>`` or, for a submission
export, ``<article>``/``<articles>``; from OJS 3.2 the publication data sit in ``<publication>`` inside
``<article>``) and OJS 2.x (no namespace, DTD-based, articles under ``<section>``). Galley files are referenced,
not embedded (``<href src="files/…">``), as the PKP Preservation Network plugin exports them.

Problems in the metadata (an invalid DOI or ORCID iD, an article without a title) are collected as findings on
the returned :class:`NativeIssue`, never raised one by one.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from lxml import etree

from strongroom.domain.identifiers import normalise_doi, normalise_orcid
from strongroom.domain.model import ArticleMeta, Contributor, ItemType, JournalMeta
from strongroom.errors import Finding, InvalidIdentifier, PackageRejected
from strongroom.formats.xmlsafe import MAX_XML_BYTES, parse_xml

PKP_NS = "http://pkp.sfu.ca"
SCHEMA_ENTRY = "native.xsd"
_SPACE = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")
# The region OJS appends to a language that has one main variant: such locales become the bare language.
_DEFAULT_REGION = {
    "en": "US",
    "fr": "FR",
    "de": "DE",
    "es": "ES",
    "it": "IT",
    "pt": "PT",
    "ru": "RU",
    "nl": "NL",
    "pl": "PL",
    "sv": "SE",
    "da": "DK",
    "fi": "FI",
    "tr": "TR",
    "ja": "JP",
    "ko": "KR",
    "el": "GR",
    "cs": "CZ",
    "hu": "HU",
    "uk": "UA",
    "id": "ID",
    "ar": "IQ",
    "sw": "KE",
}
_SCRIPTS = {"latin": "Latn", "cyrillic": "Cyrl"}


@dataclass(frozen=True)
class NativeArticle:
    """One article of the export: its metadata and the galley files it references (paths relative to the XML's
    folder, e.g. ``files/6501a2b3c4d5e.pdf``)."""

    meta: ArticleMeta
    files: tuple[str, ...] = ()
    internal_id: str | None = None


@dataclass
class NativeIssue:
    """An issue (or a batch of submissions) as the Native XML describes it."""

    ojs_major: int  # 2 or 3
    volume: str | None = None
    number: str | None = None
    year: int | None = None
    date_published: dt.date | None = None
    title: str | None = None
    articles: list[NativeArticle] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def bcp47(locale: str | None) -> str | None:
    """An OJS locale (``en_US``, ``en``, ``fr_CA``, ``sr_RS@latin``) as a BCP 47 tag (``en``, ``fr-CA``,
    ``sr-Latn-RS``)."""
    if not locale or not locale.strip():
        return None
    value, _, variant = locale.strip().partition("@")
    parts = re.split(r"[_-]", value)
    lang = parts[0].lower()
    region = parts[1].upper() if len(parts) > 1 and parts[1] else None
    script = _SCRIPTS.get(variant.lower()) if variant else None
    if region and _DEFAULT_REGION.get(lang) == region and not script:
        region = None
    return "-".join(p for p in (lang, script, region) if p)


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    value = _SPACE.sub(" ", "".join(str(t) for t in el.itertext())).strip()
    return value or None


def _html_text(value: str | None) -> str | None:
    """OJS keeps abstracts as HTML in text: paragraphs become blank-line separated plain text."""
    if not value:
        return None
    paras = re.split(r"(?i)</p\s*>|<br\s*/?>", value)
    out = [html.unescape(_SPACE.sub(" ", _TAG.sub(" ", p))).strip() for p in paras]
    return "\n\n".join(p for p in out if p) or None


class _Reader:
    def __init__(self, ns: str | None, name: str, findings: list[Finding]) -> None:
        self.ns = ns
        self.name = name
        self.findings = findings

    def q(self, tag: str) -> str:
        return f"{{{self.ns}}}{tag}" if self.ns else tag

    def path(self, *tags: str) -> str:
        return "/".join(self.q(t) for t in tags)

    def localised(self, parent: etree._Element, tag: str, locale: str | None) -> str | None:
        """The element's text in ``locale`` where there is one, else the first given."""
        values = [(el.get("locale"), _text(el)) for el in parent.findall(self.q(tag))]
        values = [(loc, v) for loc, v in values if v]
        for loc, v in values:
            if locale and loc == locale:
                return v
        return values[0][1] if values else None

    def localised_raw(self, parent: etree._Element, tag: str, locale: str | None) -> str | None:
        els = [el for el in parent.findall(self.q(tag)) if (el.text or "").strip()]
        for el in els:
            if locale and el.get("locale") == locale:
                return el.text
        return els[0].text if els else None

    def doi(self, parent: etree._Element, where: str) -> str | None:
        for el in parent.findall(self.q("id")):
            if (el.get("type") or "").lower() == "doi" and _text(el):
                try:
                    return normalise_doi(_text(el) or "")
                except InvalidIdentifier as exc:
                    self.findings.append(Finding("P052", self.name, f"{where}: {exc.message}"))
        return None

    def orcid(self, value: str | None, who: str) -> str | None:
        if not value:
            return None
        try:
            return normalise_orcid(value)
        except InvalidIdentifier as exc:
            self.findings.append(Finding("P052", self.name, f"{who}: {exc.message}"))
            return None


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _pages(value: str | None) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    first, sep, last = value.replace("–", "-").partition("-")
    return first.strip() or None, (last.strip() or None) if sep else None


def _item_type(section: str | None) -> ItemType:
    name = (section or "").lower()
    if "book review" in name or "reseñas" in name:
        return ItemType.BOOK_REVIEW
    if "edit" in name:
        return ItemType.EDITORIAL
    if "review" in name or "revue de" in name:
        return ItemType.REVIEW_ARTICLE
    if "letter" in name:
        return ItemType.LETTER
    return ItemType.RESEARCH_ARTICLE


def _safe_href(src: str | None) -> str | None:
    """A referenced file's path relative to the XML, or None when it is not a plain relative path."""
    if not src:
        return None
    path = PurePosixPath(unquote(src.strip()).replace("\\", "/"))
    if urlsplit(src).scheme or path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    return path.as_posix()


def _title(r: _Reader, pub: etree._Element, locale: str | None) -> str | None:
    title = r.localised(pub, "title", locale)
    if not title:
        return None
    prefix = r.localised(pub, "prefix", locale)
    subtitle = r.localised(pub, "subtitle", locale)
    if prefix:
        title = f"{prefix} {title}"
    if subtitle:
        title = f"{title}: {subtitle}"
    return title


def _issue_fields(r: _Reader, el: etree._Element | None) -> tuple[str | None, str | None, int | None, str | None]:
    if el is None:
        return None, None, None, None
    return (
        _text(el.find(r.q("volume"))),
        _text(el.find(r.q("number"))),
        _int(_text(el.find(r.q("year")))),
        r.localised(el, "title", None),
    )


def _read_ojs3(root: etree._Element, r: _Reader, journal: JournalMeta) -> NativeIssue:
    issue = NativeIssue(ojs_major=3, findings=r.findings)
    local = etree.QName(root).localname
    if local in ("issues", "articles"):
        children = [c for c in root if isinstance(c.tag, str) and etree.QName(c).localname == local[:-1]]
        if len(children) != 1:
            r.findings.append(Finding("P030", r.name, f"<{local}> holds {len(children)} entries, not one"))
        if not children:
            return issue
        root = children[0]
        local = local[:-1]
    sections: dict[str, str] = {}
    if local == "issue":
        issue.volume, issue.number, issue.year, issue.title = _issue_fields(r, root.find(r.q("issue_identification")))
        issue.date_published = _date(_text(root.find(r.q("date_published"))))
        for sec in root.findall(r.path("sections", "section")):
            ref = sec.get("ref") or ""
            sections[ref] = r.localised(sec, "title", None) or r.localised(sec, "abbrev", None) or ref
        articles = root.findall(r.path("articles", "article"))
    elif local == "article":
        articles = [root]
    else:
        r.findings.append(Finding("P030", r.name, f"root element <{local}> is not an OJS issue or article export"))
        return issue
    for n, art in enumerate(articles, start=1):
        issue.articles.append(_ojs3_article(art, n, r, issue, sections, journal))
    return issue


def _ojs3_article(
    art: etree._Element, n: int, r: _Reader, issue: NativeIssue, sections: dict[str, str], journal: JournalMeta
) -> NativeArticle:
    pubs = art.findall(r.q("publication"))
    current = art.get("current_publication_id")
    pub = art
    if pubs:
        chosen = [p for p in pubs if current and _text(p.find(r.q("id"))) == current]
        pub = chosen[0] if chosen else pubs[-1]
    locale = pub.get("locale") or art.get("locale")
    internal = next((_text(i) for i in art.findall(r.q("id")) if i.get("type") == "internal"), None)
    where = f"article {n}" + (f" (id {internal})" if internal else "")
    title = _title(r, pub, locale)
    if not title:
        r.findings.append(Finding("P032", r.name, f"{where} has no <title>"))
    doi = r.doi(pub, where) or (r.doi(art, where) if pub is not art else None)
    contributors = []
    for au in pub.findall(r.path("authors", "author")):
        given = r.localised(au, "givenname", locale)
        family = r.localised(au, "familyname", locale)
        name = " ".join(p for p in (given, family) if p)
        if not name:
            continue
        affs = tuple(a for a in (_text(x) for x in au.findall(r.q("affiliation"))) if a)
        if locale:  # one affiliation in the publication's locale where several translations are given
            own = [_text(x) for x in au.findall(r.q("affiliation")) if x.get("locale") == locale]
            affs = tuple(a for a in own if a) or affs[:1]
        orcid = r.orcid(_text(au.find(r.q("orcid"))), f"{where}, {name}")
        contributors.append(Contributor(name=name, orcid=orcid, affiliations=affs))
    vol, num, year, _ = _issue_fields(r, pub.find(r.q("issue_identification")))
    date = _date(pub.get("date_published") or art.get("date_published")) or issue.date_published
    first, last = _pages(_text(pub.find(r.q("pages"))))
    keywords = tuple(
        k for kws in pub.findall(r.q("keywords")) for k in (_text(x) for x in kws.findall(r.q("keyword"))) if k
    )
    files_by_id: dict[str, str] = {}
    for sf in art.findall(r.q("submission_file")):
        for href in sf.iter(r.q("href")):  # OJS 3.3+: file/href; before: revision/href
            rel = _safe_href(href.get("src"))
            if rel is None:
                r.findings.append(Finding("P061", r.name, f"{where}: file reference {href.get('src')!r} is not a path"))
                continue
            files_by_id.setdefault(sf.get("id") or "", rel)
    files: list[str] = []
    galleys = pub.findall(r.q("article_galley")) or art.findall(r.q("article_galley"))
    for galley in galleys:
        for ref in galley.findall(r.q("submission_file_ref")):
            rel = files_by_id.get(ref.get("id") or "")
            if rel and rel not in files:
                files.append(rel)
    for rel in files_by_id.values():  # files without a galley (supplementary) are kept with the article too
        if rel not in files:
            files.append(rel)
    licence = _text(pub.find(r.q("licenseUrl")))
    if not licence:
        holder = r.localised(pub, "copyrightHolder", locale)
        cyear = _text(pub.find(r.q("copyrightYear")))
        licence = f"© {cyear} {holder}".replace("  ", " ") if holder or cyear else None
    meta = ArticleMeta(
        title=title or "",
        doi=doi,
        contributors=tuple(contributors),
        publication_date=date,
        year=year or (date.year if date else issue.year),
        volume=vol or issue.volume,
        issue=num or issue.number,
        first_page=first,
        last_page=last,
        abstract=_html_text(r.localised_raw(pub, "abstract", locale)),
        keywords=keywords,
        licence=licence,
        language=bcp47(locale),
        item_type=_item_type(sections.get(pub.get("section_ref") or art.get("section_ref") or "")),
        journal=journal,
    )
    return NativeArticle(meta=meta, files=tuple(files), internal_id=internal)


def _read_ojs2(root: etree._Element, r: _Reader, journal: JournalMeta) -> NativeIssue:
    issue = NativeIssue(ojs_major=2, findings=r.findings)
    if root.tag == "issues":
        children = root.findall("issue")
        if len(children) != 1:
            r.findings.append(Finding("P030", r.name, f"<issues> holds {len(children)} issues, not one"))
        if not children:
            return issue
        root = children[0]
    if root.tag == "issue":
        issue.volume, issue.number, issue.year, issue.title = _issue_fields(r, root)
        issue.date_published = _date(_text(root.find("date_published")))
        pairs: list[tuple[etree._Element | None, etree._Element]] = [
            (sec, art) for sec in root.findall("section") for art in sec.findall("article")
        ]
    elif root.tag in ("article", "articles"):
        arts = [root] if root.tag == "article" else root.findall("article")
        pairs = [(None, a) for a in arts]
    else:
        r.findings.append(Finding("P030", r.name, f"root element <{root.tag}> is not an OJS issue export"))
        return issue
    for n, (sec, art) in enumerate(pairs, start=1):
        locale = art.get("locale")
        where = f"article {n}"
        title = _title(r, art, locale)
        if not title:
            r.findings.append(Finding("P032", r.name, f"{where} has no <title>"))
        contributors = []
        for au in art.findall("author"):
            name = " ".join(
                p for p in (_text(au.find("firstname")), _text(au.find("middlename")), _text(au.find("lastname"))) if p
            )
            if not name:
                continue
            affs = tuple(a for a in (_text(x) for x in au.findall("affiliation")) if a)
            orcid = r.orcid(_text(au.find("orcid")), f"{where}, {name}")
            contributors.append(Contributor(name=name, orcid=orcid, affiliations=affs[:1]))
        files: list[str] = []
        for href in [*art.findall("galley/file/href"), *art.findall("supplemental_file/file/href")]:
            rel = _safe_href(href.get("src"))
            if rel is None:
                r.findings.append(Finding("P061", r.name, f"{where}: file reference {href.get('src')!r} is not a path"))
            elif rel not in files:
                files.append(rel)
        keywords: list[str] = []
        for subj in art.findall("indexing/subject"):
            keywords += [k.strip() for k in (_text(subj) or "").split(";") if k.strip()]
        date = _date(_text(art.find("date_published"))) or issue.date_published
        first, last = _pages(_text(art.find("pages")))
        section = (r.localised(sec, "title", None) or r.localised(sec, "abbrev", None)) if sec is not None else None
        meta = ArticleMeta(
            title=title or "",
            doi=r.doi(art, where),
            contributors=tuple(contributors),
            publication_date=date,
            year=date.year if date else issue.year,
            volume=issue.volume,
            issue=issue.number,
            first_page=first,
            last_page=last,
            abstract=_html_text(r.localised_raw(art, "abstract", locale)),
            keywords=tuple(keywords),
            licence=_text(art.find("permissions/license_url")),
            language=bcp47(art.get("language") or locale),
            item_type=_item_type(section),
            journal=journal,
        )
        issue.articles.append(NativeArticle(meta=meta, files=tuple(files), internal_id=None))
    return issue


def read_native(path: Path, journal: JournalMeta | None = None, *, name: str | None = None) -> NativeIssue:
    """Read an OJS Native XML export (OJS 2.x or 3.x) safely: no entities, no DTD, no network.

    ``journal`` (what the caller knows of the journal: title, ISSNs, publisher) is set on every article;
    ``name`` is how the file is named in findings (default: its file name). A document that is not XML at all
    raises PackageRejected (P030/P031); metadata problems are findings on the result.
    """
    label = name or path.name
    size = path.stat().st_size
    if size > MAX_XML_BYTES:
        raise PackageRejected(
            f"{label}: XML too large",
            [Finding("P030", label, f"{size} bytes is more than the {MAX_XML_BYTES} allowed for XML")],
        )
    root = parse_xml(path.read_bytes(), label)
    ns = etree.QName(root).namespace
    findings: list[Finding] = []
    journal = journal or JournalMeta()
    if ns == PKP_NS:
        return _read_ojs3(root, _Reader(ns, label, findings), journal)
    if ns is None:
        return _read_ojs2(root, _Reader(None, label, findings), journal)
    raise PackageRejected(
        f"{label}: not OJS Native XML",
        [Finding("P030", label, f"root element is in namespace {ns}, not {PKP_NS}")],
    )


# ---- validation against the bundled XSDs --------------------------------------------------------------------


class _ConfinedResolver(etree.Resolver):
    """Resolves schema includes and imports to files inside one folder; anything else (a network URL, a path
    outside the folder) resolves to nothing and is recorded as refused."""

    def __init__(self, folder: Path, refused: list[str]) -> None:
        super().__init__()
        self.folder = folder.resolve()
        self.refused = refused

    def resolve(  # type: ignore[override]  # lxml passes a context the stubs leave out
        self, system_url: str | None, public_id: str | None, context: object
    ) -> object:
        url = system_url or ""
        parts = urlsplit(url)
        if parts.scheme not in ("", "file") or parts.netloc not in ("", "localhost"):
            self.refused.append(f"{url}: a network location is never fetched")
            return self.resolve_string("", context, base_url=None)
        raw = unquote(parts.path if parts.scheme else url)
        target = Path(raw) if Path(raw).is_absolute() else self.folder / raw
        try:
            target = target.resolve()
        except OSError:
            self.refused.append(f"{url}: cannot be resolved")
            return self.resolve_string("", context, base_url=None)
        if not target.is_relative_to(self.folder) or not target.is_file():
            self.refused.append(f"{url}: outside the package's schema folder or missing")
            return self.resolve_string("", context, base_url=None)
        data = target.read_bytes()
        try:
            parse_xml(data, target.name)  # no entities or internal DTD subset in an included schema either
        except PackageRejected as exc:
            self.refused.append(f"{target.name}: {exc.findings[0].message}")
            return self.resolve_string("", context, base_url=None)
        return self.resolve_string(data, context, base_url=str(target))


def _schema_parser(folder: Path, refused: list[str]) -> etree.XMLParser:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )
    parser.resolvers.add(_ConfinedResolver(folder, refused))
    return parser


def validate_native(xml_path: Path, schema_dir: Path) -> list[str]:
    """Validate a Native XML file against ``schema_dir/native.xsd`` (and what it includes from that folder
    only). Returns readable error lines (``name:line: message``); empty when the file is valid."""
    entry = schema_dir / SCHEMA_ENTRY
    if not entry.is_file():
        return [f"{SCHEMA_ENTRY}: the package bundles no {SCHEMA_ENTRY}"]
    refused: list[str] = []
    try:
        schema_bytes = entry.read_bytes()
        parse_xml(schema_bytes, SCHEMA_ENTRY)
        schema_doc = etree.fromstring(schema_bytes, _schema_parser(schema_dir, refused), base_url=str(entry.resolve()))
        schema = etree.XMLSchema(schema_doc)
    except PackageRejected as exc:
        return [f"{SCHEMA_ENTRY}: the schema cannot be loaded: {f.message}" for f in exc.findings]
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
        lines = [f"{SCHEMA_ENTRY}: the schema cannot be loaded: {r}" for r in refused]
        return [*lines, f"{SCHEMA_ENTRY}: the schema cannot be loaded: {exc}"]
    if refused:
        return [f"{SCHEMA_ENTRY}: the schema cannot be loaded: {r}" for r in refused]
    try:
        doc = parse_xml(xml_path.read_bytes(), xml_path.name)
    except PackageRejected as exc:
        return [str(f.message) for f in exc.findings]
    if schema.validate(doc):
        return []
    return [f"{xml_path.name}:{e.line}: {e.message}" for e in schema.error_log]  # type: ignore[attr-defined]
