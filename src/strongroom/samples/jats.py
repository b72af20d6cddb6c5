"""JATS 1.3 (Journal Archiving) XML for a sample article, built with lxml."""

from __future__ import annotations

from lxml import etree

from strongroom.samples.corpus import SampleArticle, SampleTitle

XLINK = "http://www.w3.org/1999/xlink"
ALI = "http://www.niso.org/schemas/ali/1.0/"
MML = "http://www.w3.org/1998/Math/MathML"
DOCTYPE = (
    '<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving and Interchange DTD v1.3 20210610//EN" '
    '"JATS-archivearticle1-3.dtd">'
)


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, tag, {k.replace("_", "-"): v for k, v in attrs.items()})
    if text is not None:
        el.text = text
    return el


def article_jats(article: SampleArticle, title: SampleTitle) -> bytes:
    root = etree.Element("article", nsmap={"xlink": XLINK, "ali": ALI, "mml": MML})
    root.set("article-type", article.article_type)
    root.set("dtd-version", "1.3")
    root.set("{http://www.w3.org/XML/1998/namespace}lang", article.language)
    front = _sub(root, "front")
    jm = _sub(front, "journal-meta")
    _sub(jm, "journal-id", title.slug, journal_id_type="publisher-id")
    tg = _sub(jm, "journal-title-group")
    _sub(tg, "journal-title", title.title)
    _sub(tg, "abbrev-journal-title", title.abbrev)
    _sub(jm, "issn", title.issn_print, publication_format="print")
    _sub(jm, "issn", title.issn_online, publication_format="electronic")
    pub = _sub(jm, "publisher")
    _sub(pub, "publisher-name", title.publisher.name)
    _sub(pub, "publisher-loc", f"{title.publisher.city}, {title.publisher.country}")

    am = _sub(front, "article-meta")
    _sub(am, "article-id", article.doi, pub_id_type="doi")
    _sub(_sub(am, "title-group"), "article-title", article.title)
    cg = _sub(am, "contrib-group")
    affs: list[str] = []
    for author in article.authors:
        contrib = _sub(cg, "contrib", contrib_type="author")
        if author.orcid:
            _sub(contrib, "contrib-id", f"https://orcid.org/{author.orcid}", contrib_id_type="orcid")
        name = _sub(contrib, "name")
        _sub(name, "surname", author.surname)
        _sub(name, "given-names", author.given)
        if author.affiliation not in affs:
            affs.append(author.affiliation)
        _sub(
            contrib,
            "xref",
            str(affs.index(author.affiliation) + 1),
            ref_type="aff",
            rid=f"aff{affs.index(author.affiliation) + 1}",
        )
    for i, text in enumerate(affs, start=1):
        aff = _sub(am, "aff", id=f"aff{i}")
        _sub(aff, "label", str(i))
        _sub(aff, "institution", text)
    date = _sub(am, "pub-date", publication_format="electronic", date_type="pub")
    _sub(date, "day", f"{article.published.day:02d}")
    _sub(date, "month", f"{article.published.month:02d}")
    _sub(date, "year", str(article.published.year))
    _sub(am, "volume", article.volume)
    _sub(am, "issue", article.issue)
    _sub(am, "fpage", str(article.fpage))
    _sub(am, "lpage", str(article.lpage))
    perms = _sub(am, "permissions")
    _sub(perms, "copyright-statement", f"© {article.published.year} The authors")
    _sub(perms, "copyright-year", str(article.published.year))
    _sub(perms, f"{{{ALI}}}free_to_read")
    lic = _sub(perms, "license")
    lic.set(f"{{{XLINK}}}href", title.licence)
    _sub(lic, f"{{{ALI}}}license_ref", title.licence)
    _sub(lic, "license-p", "This article is distributed under a Creative Commons licence.")
    abstract = _sub(am, "abstract")
    _sub(abstract, "p", article.abstract)
    kg = _sub(am, "kwd-group", kwd_group_type="author")
    for kw in article.keywords:
        _sub(kg, "kwd", kw)

    body = _sub(root, "body")
    for n, heading in enumerate(("Introduction", "Methods", "Results", "Discussion"), start=1):
        sec = _sub(body, "sec", id=f"s{n}")
        _sub(sec, "title", heading)
        _sub(sec, "p", article.abstract)
    xml = etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + DOCTYPE.encode() + b"\n" + bytes(xml)
