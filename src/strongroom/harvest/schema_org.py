"""Article metadata from a landing page's schema.org JSON-LD (``<script type="application/ld+json">``), the form
journal themes and platforms other than OJS's Highwire tags use: a ``ScholarlyArticle`` (or any ``*Article``) with
its authors, date, identifiers and the issue, volume and periodical it is part of.

What a page says is data, not trusted: anything of the wrong shape is ignored, never an error.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lxml import html

DOI = re.compile(r"\b10\.\d{4,9}/[^\s\"<>]+")
DATE = re.compile(r"^(\d{4})(?:-(\d{2})-(\d{2}))?")
MAX_SCRIPT = 1024 * 1024  # a JSON-LD block larger than this is not metadata


def article_fields(doc: html.HtmlElement) -> dict[str, Any]:
    """The fields of the first article described on the page, named as the crawler's item records name them
    (empty when the page describes none)."""
    for script in doc.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        text = script.text or ""
        if len(text) > MAX_SCRIPT:
            continue
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            continue
        node = _find_article(data, depth=0)
        if node is not None:
            return _fields(node)
    return {}


def _find_article(data: Any, depth: int) -> dict[str, Any] | None:
    if depth > 4:
        return None
    if isinstance(data, list):
        return next((n for n in (_find_article(d, depth + 1) for d in data) if n is not None), None)
    if not isinstance(data, dict):
        return None
    if any(t.endswith("Article") for t in _strings(data.get("@type"))):
        return data
    return _find_article(data.get("@graph"), depth + 1)


def _strings(value: Any) -> list[str]:
    """A value that may be one string or a list of them, as a list of strings (anything else dropped)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _text(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _label(value: Any) -> str | None:
    """A volume, issue or page number: text, or a whole number."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else _text(value)


def _name(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        given, family = _text(value.get("givenName")), _text(value.get("familyName"))
        return _text(value.get("name")) or (" ".join(p for p in (given, family) if p) or None)
    return None


def _doi(node: dict[str, Any]) -> str | None:
    candidates: list[Any] = []
    for key in ("identifier", "sameAs", "@id", "url"):
        value = node.get(key)
        candidates.extend(value if isinstance(value, list) else [value])
    for c in candidates:
        if isinstance(c, dict):  # PropertyValue {"propertyID": "DOI", "value": "10..."}
            c = c.get("value") if str(c.get("propertyID", "")).lower() == "doi" else c.get("@id") or c.get("url")
        if isinstance(c, str):
            m = DOI.search(c)
            if m:
                return m.group(0).rstrip(".,;")
    return None


def _fields(node: dict[str, Any]) -> dict[str, Any]:
    authors = node.get("author")
    names = [n for n in (_name(a) for a in (authors if isinstance(authors, list) else [authors])) if n]
    date = _text(node.get("datePublished"))
    m = DATE.match(date or "")
    keywords = node.get("keywords")
    licence = node.get("license")
    if isinstance(licence, dict):
        licence = licence.get("url") or licence.get("@id")
    out: dict[str, Any] = {
        "title": _text(node.get("headline")) or _text(node.get("name")),
        "contributors": [{"name": n, "role": "author"} for n in names],
        "doi": _doi(node),
        "year": int(m.group(1)) if m else None,
        "publication_date": f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m and m.group(2) else None,
        "abstract": _text(node.get("abstract")) or _text(node.get("description")),
        "keywords": [k.strip() for k in keywords.split(",") if k.strip()]
        if isinstance(keywords, str)
        else [k.strip() for k in _strings(keywords) if k.strip()],
        "language": _text(node.get("inLanguage")),
        "licence": _text(licence),
    }
    first, last = _label(node.get("pageStart")), _label(node.get("pageEnd"))
    out["pages"] = f"{first}-{last}" if first and last else first or _text(node.get("pagination"))
    # isPartOf: PublicationIssue -> PublicationVolume -> Periodical, each optional
    part, depth = node.get("isPartOf"), 0
    while isinstance(part, dict) and depth < 4:
        types = _strings(part.get("@type"))
        if "PublicationIssue" in types:
            out.setdefault("issue", _label(part.get("issueNumber")))
        elif "PublicationVolume" in types:
            out.setdefault("volume", _label(part.get("volumeNumber")))
        elif "Periodical" in types:
            out.setdefault("journal", _text(part.get("name")))
            out.setdefault("issn", next(iter(_strings(part.get("issn"))), None))
        part, depth = part.get("isPartOf"), depth + 1
    return out
