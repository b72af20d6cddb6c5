"""How a released article is described to machines and to readers: Highwire Press ``citation_*`` meta tags
(read by Google Scholar and Zotero), schema.org JSON-LD, a formatted reference and an RIS record."""

from __future__ import annotations

import json
from typing import Any

from strongroom.domain.licences import licence_label, open_licence
from strongroom.services.released import ItemView

__all__ = ["json_ld", "licence_label", "licence_url", "meta_tags", "reference", "ris"]


def licence_url(text: str | None) -> str | None:
    """The canonical URL of an open licence, to link to; None for anything else (shown as text, never a link: a
    licence that came from a damaged record or a hostile deposit must not become a ``javascript:`` link)."""
    return open_licence(text)


def _names(item: ItemView) -> list[str]:
    return [str(a.get("name")) for a in item.authors if a.get("name")]


def _surname_initials(name: str) -> str:
    parts = name.split()
    if len(parts) < 2:
        return name
    return f"{parts[-1]}, " + " ".join(p[0] + "." for p in parts[:-1])


def reference(item: ItemView) -> str:
    """An APA-style reference: authors (year). Title. Journal, volume(issue), pages. DOI."""
    names = [_surname_initials(n) for n in _names(item)]
    authors = names[0] if len(names) == 1 else ", ".join(names[:-1]) + (f", & {names[-1]}" if names else "")
    out = f"{authors} ({item.year or 'n.d.'}). {item.title.rstrip('.')}. {item.title_name}"
    if item.volume:
        out += f", {item.volume}"
        if item.issue:
            out += f"({item.issue})"
    if item.pages:
        out += f", {item.pages.replace('-', '–')}"
    out += "."
    if item.doi:
        out += f" https://doi.org/{item.doi}"
    return out.strip()


def meta_tags(item: ItemView, landing: str, file_url: str) -> list[tuple[str, str]]:
    """Highwire Press tags, in the order Google Scholar's inclusion guidelines show them."""
    tags = [("citation_title", item.title)]
    tags += [("citation_author", n) for n in _names(item)]
    if item.publication_date:
        tags.append(("citation_publication_date", item.publication_date.strftime("%Y/%m/%d")))
    elif item.year:
        tags.append(("citation_publication_date", str(item.year)))
    tags.append(("citation_journal_title", item.title_name))
    tags += [("citation_issn", issn) for issn in item.issns]
    for name, value in (
        ("citation_volume", item.volume),
        ("citation_issue", item.issue),
        ("citation_firstpage", item.first_page),
        ("citation_lastpage", item.last_page),
        ("citation_doi", item.doi),
        ("citation_language", item.language),
        ("citation_publisher", item.publisher_name),
    ):
        if value:
            tags.append((name, value))
    tags.append(("citation_abstract_html_url", landing))
    if item.pdf:
        tags.append(("citation_pdf_url", file_url + item.pdf.name))
    tags += [("citation_keywords", k) for k in item.keywords]
    return tags


def json_ld(item: ItemView, landing: str, file_url: str) -> str:
    """schema.org ScholarlyArticle, safe to embed in a <script> element."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ScholarlyArticle",
        "@id": landing,
        "url": landing,
        "headline": item.title[:110],
        "name": item.title,
        "author": [
            {"@type": "Person", "name": n, **({"sameAs": f"https://orcid.org/{a['orcid']}"} if a.get("orcid") else {})}
            for a in item.authors
            if (n := a.get("name"))
        ],
        "isPartOf": {
            "@type": "PublicationIssue" if item.issue else "PublicationVolume",
            **({"issueNumber": item.issue} if item.issue else {}),
            "isPartOf": {
                "@type": "Periodical",
                "name": item.title_name,
                **({"issn": list(item.issns)} if item.issns else {}),
                "publisher": {"@type": "Organization", "name": item.publisher_name},
            },
        },
        "isAccessibleForFree": True,
    }
    if licence_url(item.licence):
        data["license"] = licence_url(item.licence)
    if item.publication_date:
        data["datePublished"] = item.publication_date.isoformat()
    elif item.year:
        data["datePublished"] = str(item.year)
    if item.abstract:
        data["abstract"] = item.abstract
    if item.doi:
        data["identifier"] = {"@type": "PropertyValue", "propertyID": "DOI", "value": item.doi}
        data["sameAs"] = f"https://doi.org/{item.doi}"
    if item.pages:
        data["pagination"] = item.pages
    if item.language:
        data["inLanguage"] = item.language
    if item.pdf:
        data["encoding"] = {
            "@type": "MediaObject",
            "encodingFormat": "application/pdf",
            "contentUrl": file_url + item.pdf.name,
        }
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # "</script>" or "<!--" inside a string must not end or confuse the element.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def ris(item: ItemView, landing: str) -> str:
    lines = ["TY  - JOUR", f"TI  - {item.title}"]
    lines += [f"AU  - {n}" for n in _names(item)]
    for tag, value in (
        ("PY", str(item.year) if item.year else None),
        ("DA", item.publication_date.strftime("%Y/%m/%d") if item.publication_date else None),
        ("JO", item.title_name),
        ("VL", item.volume),
        ("IS", item.issue),
        ("SP", item.first_page),
        ("EP", item.last_page),
        ("DO", item.doi),
        ("SN", item.issns[0] if item.issns else None),
        ("AB", item.abstract),
        ("LA", item.language),
        ("PB", item.publisher_name),
        ("UR", landing),
    ):
        if value:
            lines.append(f"{tag}  - {' '.join(value.split())}")
    lines.append("ER  - ")
    return "\r\n".join(lines) + "\r\n"
