"""Telling machines what was released: an Atom feed of releases and a sitemap of every public page."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from lxml import etree

from strongroom.formats.xmlsafe import nsmap
from strongroom.portal.citation import licence_label, licence_url
from strongroom.portal.i18n import content_attributes, direction, language_tag
from strongroom.services.released import Release, Released

ATOM = "http://www.w3.org/2005/Atom"
XHTML = "http://www.w3.org/1999/xhtml"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
SITEMAP_LIMIT = 50_000  # URLs per sitemap file, by the protocol


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom(releases: list[Release], base_url: str, name: str, now: dt.datetime) -> bytes:
    """The release feed (RFC 4287): each release an entry with its id, time, a link to its note on the releases
    page (``alternate``: the entries carry a summary, not content), the titles released (``related``) and the
    licence; the feed's author is the node. Text is English (``xml:lang="en"``); a title's name in another language
    is marked with its language and direction inside an XHTML entry title."""
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap=nsmap(ATOM))
    feed.set(XML_LANG, "en")

    def add(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
        el = etree.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    add(feed, "id", f"{base_url}/releases/")
    add(feed, "title", f"{name}: released content")
    add(feed, "updated", _iso(releases[0].released_at if releases else now))
    add(feed, "link", rel="self", href=f"{base_url}/releases.atom")
    add(feed, "link", rel="alternate", href=f"{base_url}/releases/")
    add(add(feed, "author"), "name", name)
    for r in releases:
        entry = add(feed, "entry")
        add(entry, "id", f"{base_url}/releases/#{r.trigger}")
        titles = ", ".join(name for _, name in r.titles)
        _title(add(entry, "title"), r)
        add(entry, "updated", _iso(r.released_at))
        add(entry, "published", _iso(r.released_at))
        add(entry, "link", rel="alternate", type="text/html", href=f"{base_url}/releases/#{quote(r.trigger)}")
        for key, _ in r.titles:
            add(entry, "link", rel="related", href=f"{base_url}/titles/{quote(key, safe=':')}/")
        if licence_url(r.licence):
            add(entry, "link", rel="license", href=str(licence_url(r.licence)))
        summary = f"The board released {titles} ({r.reason}; decision {r.trigger}) under {licence_label(r.licence)}."
        if r.explanation:
            summary += f" {r.explanation}"
        add(entry, "summary", summary)
    return bytes(etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _title(el: etree._Element, release: Release) -> None:
    """``Released: NAME, NAME``, as text; as XHTML when a name is in a language other than English, its span
    marked ``lang`` and ``dir``."""
    names = []
    for key, name in release.titles:
        language = language_tag(release.title_language(key))
        names.append((name, language if language and content_attributes(language, "en") else None))
    if not any(language for _, language in names):
        el.text = "Released: " + ", ".join(name for name, _ in names)
        return
    el.set("type", "xhtml")
    div = etree.SubElement(el, f"{{{XHTML}}}div", nsmap=nsmap(XHTML))
    div.text = "Released: "
    last: etree._Element | None = None  # plain text goes after the last span, or into the div before any

    def text(more: str) -> None:
        if last is None:
            div.text = (div.text or "") + more
        else:
            last.tail = (last.tail or "") + more

    for n, (name, language) in enumerate(names):
        text(", " if n else "")
        if language is None:
            text(name)
        else:
            last = etree.SubElement(div, f"{{{XHTML}}}span", lang=language, dir=direction(language))
            last.text = name


def public_paths(released: Released) -> list[tuple[str, dt.datetime | None]]:
    """Every public page of the portal (in its default language) with when it last changed."""
    paths: list[tuple[str, dt.datetime | None]] = [("/", None), ("/titles/", None), ("/publishers/", None)]
    paths += [("/countries/", None), ("/releases/", None)]
    paths += [(f"/countries/{code}/", None) for code, _, _ in released.countries()]
    paths += [(f"/publishers/{quote(p.key)}/", None) for p in released.publishers()]
    for t in released.titles():
        detail = released.title(t.key)
        if detail is None:
            continue
        changed = max((r.released_at for r in detail.releases), default=None)
        paths.append((f"/titles/{quote(t.key, safe=':')}/", changed))
        paths += [(f"/titles/{quote(t.key, safe=':')}/{quote(v)}/", changed) for v, _, _ in detail.volumes]
    after = 0
    while batch := released.page(after_id=after, limit=1000):
        paths += [(f"/articles/{i.public_id}/", i.released_at) for i in batch]
        after = batch[-1].id
    return paths


def sitemap(released: Released, base_url: str, limit: int = SITEMAP_LIMIT) -> bytes:
    """``/sitemap.xml``: every public page, or, when there are more than one sitemap file may hold, a sitemap
    index of the parts (``/sitemaps/N.xml``)."""
    paths = public_paths(released)
    if len(paths) <= limit:
        return _urlset(paths, base_url)
    index = etree.Element(f"{{{SITEMAP}}}sitemapindex", nsmap=nsmap(SITEMAP))
    for n in range(1, sitemap_parts(len(paths), limit) + 1):
        part = etree.SubElement(index, f"{{{SITEMAP}}}sitemap")
        etree.SubElement(part, f"{{{SITEMAP}}}loc").text = f"{base_url}/sitemaps/{n}.xml"
    return bytes(etree.tostring(index, xml_declaration=True, encoding="UTF-8"))


def sitemap_part(released: Released, base_url: str, n: int, limit: int = SITEMAP_LIMIT) -> bytes | None:
    """Part ``n`` (from 1) of a sitemap too large for one file; None when there is no such part."""
    paths = public_paths(released)
    if len(paths) <= limit or not 1 <= n <= sitemap_parts(len(paths), limit):
        return None
    return _urlset(paths[(n - 1) * limit : n * limit], base_url)


def sitemap_parts(count: int, limit: int = SITEMAP_LIMIT) -> int:
    return 0 if count <= limit else -(-count // limit)


def _urlset(paths: list[tuple[str, dt.datetime | None]], base_url: str) -> bytes:
    urlset = etree.Element(f"{{{SITEMAP}}}urlset", nsmap=nsmap(SITEMAP))
    for path, changed in paths:
        url = etree.SubElement(urlset, f"{{{SITEMAP}}}url")
        etree.SubElement(url, f"{{{SITEMAP}}}loc").text = base_url + path
        if changed is not None:
            etree.SubElement(url, f"{{{SITEMAP}}}lastmod").text = changed.date().isoformat()
    return bytes(etree.tostring(urlset, xml_declaration=True, encoding="UTF-8"))
