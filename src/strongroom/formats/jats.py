"""JATS (NISO Z39.96) article metadata: ``journal-meta`` and ``article-meta`` into an
:class:`~strongroom.domain.model.ArticleMeta`.

Every problem found is collected (missing title or year, invalid ISSN, DOI or ORCID) and raised together as
one :class:`PackageRejected`.
"""

from __future__ import annotations

import datetime as dt
import re

from lxml import etree

from strongroom.domain.identifiers import normalise_country, normalise_doi, normalise_issn, normalise_orcid
from strongroom.domain.model import ArticleMeta, Contributor, ItemType, JournalMeta
from strongroom.errors import Finding, InvalidIdentifier, PackageRejected
from strongroom.formats.xmlsafe import parse_xml

XLINK = "http://www.w3.org/1999/xlink"
ALI = "http://www.niso.org/schemas/ali/1.0/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_SPACE = re.compile(r"\s+")


def text_of(el: etree._Element | None) -> str | None:
    """All text inside an element (inline markup flattened), whitespace collapsed; None when empty."""
    if el is None:
        return None
    value = _SPACE.sub(" ", "".join(str(t) for t in el.itertext())).strip()
    return value or None


def _journal(front: etree._Element, path: str, findings: list[Finding]) -> JournalMeta:
    jm = front.find("journal-meta")
    if jm is None:
        return JournalMeta()
    issn_print = issn_online = None
    for issn in jm.findall("issn"):
        kind = (issn.get("publication-format") or issn.get("pub-type") or "").lower()
        value = text_of(issn)
        if not value:
            continue
        try:
            value = normalise_issn(value)
        except InvalidIdentifier as exc:
            findings.append(Finding("P052", path, exc.message))
            continue
        if kind in ("epub", "electronic", "online"):
            issn_online = value
        elif kind in ("ppub", "print") or issn_print is None:
            issn_print = value
    country = None
    loc = text_of(jm.find("publisher/publisher-loc"))
    if loc:
        # "City, Country" is the usual shape: try the last part first, the whole text last.
        for candidate in [*reversed([p.strip() for p in loc.split(",")]), loc]:
            try:
                country = normalise_country(candidate)
                break
            except InvalidIdentifier:
                continue
    title = text_of(jm.find("journal-title-group/journal-title")) or text_of(jm.find("journal-title"))
    return JournalMeta(
        title=title,
        issn_print=issn_print,
        issn_online=issn_online,
        isbn=None,
        publisher_name=text_of(jm.find("publisher/publisher-name")),
        publisher_country=country,
        abbrev_title=text_of(jm.find("journal-title-group/abbrev-journal-title")),
    )


def _name(contrib: etree._Element) -> str | None:
    name = contrib.find("name")
    if name is not None:
        given = text_of(name.find("given-names"))
        surname = text_of(name.find("surname"))
        return " ".join(p for p in (given, surname) if p) or None
    return text_of(contrib.find("string-name")) or text_of(contrib.find("collab"))


def _aff_text(aff: etree._Element) -> str | None:
    """An affiliation's text without its label, keeping the text between and after child elements."""
    parts = [aff.text or ""]
    for child in aff:
        if child.tag != "label":
            parts.append("".join(str(t) for t in child.itertext()))
        parts.append(child.tail or "")
    return _SPACE.sub(" ", "".join(parts)).strip(" ,;") or None


def _contributors(meta: etree._Element, path: str, findings: list[Finding]) -> tuple[Contributor, ...]:
    affs = {aff.get("id"): _aff_text(aff) for aff in meta.iter("aff") if aff.get("id")}
    out = []
    for contrib in meta.findall("contrib-group/contrib"):
        role = contrib.get("contrib-type") or "author"
        name = _name(contrib)
        if not name:
            continue
        orcid = None
        for cid in contrib.findall("contrib-id"):
            if (cid.get("contrib-id-type") or "").lower() == "orcid" and text_of(cid):
                try:
                    orcid = normalise_orcid(text_of(cid) or "")
                except InvalidIdentifier as exc:
                    findings.append(Finding("P052", path, f"{name}: {exc.message}"))
        affiliations = [
            affs[x.get("rid")] for x in contrib.findall("xref") if x.get("ref-type") == "aff" and x.get("rid") in affs
        ]
        affiliations += [_aff_text(a) for a in contrib.findall("aff")]
        out.append(Contributor(name=name, orcid=orcid, affiliations=tuple(a for a in affiliations if a), role=role))
    return tuple(out)


def _int(el: etree._Element | None) -> int | None:
    value = text_of(el)
    return int(value) if value and value.isdigit() else None


def _pub_date(meta: etree._Element) -> tuple[dt.date | None, int | None]:
    dates = meta.findall("pub-date")

    def rank(d: etree._Element) -> int:
        kind = (d.get("publication-format") or d.get("pub-type") or "").lower()
        return {"electronic": 0, "epub": 0, "print": 1, "ppub": 1}.get(kind, 2)

    for d in sorted(dates, key=rank):
        year = _int(d.find("year"))
        if year is None:
            continue
        month = _int(d.find("month")) or 1
        day = _int(d.find("day")) or 1
        try:
            return dt.date(year, month, day), year
        except ValueError:
            return dt.date(year, 1, 1), year
    return None, None


def _licence(meta: etree._Element) -> str | None:
    lic = meta.find("permissions/license")
    ref = meta.find(f"permissions/{{{ALI}}}license_ref")
    if lic is not None:
        href = lic.get(f"{{{XLINK}}}href")
        inner = lic.find(f"{{{ALI}}}license_ref")
        return href or text_of(inner) or text_of(lic.find("license-p")) or text_of(lic)
    return text_of(ref)


def parse_jats(data: bytes, path: str) -> ArticleMeta:
    return article_meta(parse_xml(data, path), path)


def article_meta(root: etree._Element, path: str) -> ArticleMeta:
    """The metadata of a JATS article already parsed (safely, by ``parse_xml``), so that it is parsed only once."""
    if etree.QName(root).localname != "article" or etree.QName(root).namespace:
        raise PackageRejected(f"{path}: not a JATS article", [Finding("P033", path, f"root element is <{root.tag}>")])
    findings: list[Finding] = []
    front = root.find("front")
    meta = front.find("article-meta") if front is not None else None
    if front is None or meta is None:
        raise PackageRejected(
            f"{path}: JATS without front/article-meta",
            [Finding("P032", path, "no <front>/<article-meta>: the article has no metadata")],
        )
    journal = _journal(front, path, findings)
    title = text_of(meta.find("title-group/article-title"))
    if not title:
        findings.append(Finding("P032", path, "no <article-title> in <title-group>"))
    doi = None
    for aid in meta.findall("article-id"):
        if aid.get("pub-id-type") == "doi" and text_of(aid):
            try:
                doi = normalise_doi(text_of(aid) or "")
            except InvalidIdentifier as exc:
                findings.append(Finding("P052", path, exc.message))
    contributors = _contributors(meta, path, findings)
    date, year = _pub_date(meta)
    if year is None:
        findings.append(Finding("P032", path, "no <pub-date> with a <year>"))
    abstract_el = meta.find("abstract")
    abstract = None
    if abstract_el is not None:
        paras = [text_of(p) for p in abstract_el.iter("p")]
        abstract = "\n\n".join(p for p in paras if p) or text_of(abstract_el)
    fpage = text_of(meta.find("fpage")) or text_of(meta.find("elocation-id"))
    if findings:
        raise PackageRejected(f"{path}: JATS metadata problems", findings)
    assert title is not None
    return ArticleMeta(
        title=title,
        doi=doi,
        contributors=contributors,
        publication_date=date,
        year=year,
        volume=text_of(meta.find("volume")),
        issue=text_of(meta.find("issue")),
        first_page=fpage,
        last_page=text_of(meta.find("lpage")),
        abstract=abstract,
        keywords=tuple(k for k in (text_of(k) for k in meta.findall("kwd-group/kwd")) if k),
        licence=_licence(meta),
        language=root.get(XML_LANG),
        item_type=ItemType.from_jats(root.get("article-type")),
        journal=journal,
    )
