"""Telling machines what was released: an Atom feed of releases and a sitemap of every public page."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator
from functools import cached_property
from urllib.parse import quote
from xml.sax.saxutils import escape

from lxml import etree

from strongroom.formats.xmlsafe import nsmap
from strongroom.portal.citation import licence_label, licence_url
from strongroom.portal.i18n import content_attributes, direction, language_tag
from strongroom.services.released import Release, Released, country_name

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


def page_paths(released: Released) -> list[tuple[str, dt.datetime | None]]:
    """Every public page but the articles (in the default language), with when it last changed: read from
    publishers and the titles' summaries, never from items."""
    paths: list[tuple[str, dt.datetime | None]] = [("/", None), ("/titles/", None), ("/publishers/", None)]
    paths += [("/countries/", None), ("/releases/", None)]  # FIXED_PAGES
    publishers = released.publisher_pages()  # once: the countries are theirs
    countries = sorted({country for _, _, country in publishers if country}, key=country_name)
    paths += [(f"/countries/{code}/", None) for code in countries]
    paths += [(f"/publishers/{quote(key)}/", None) for key, _, _ in publishers]
    for key, changed, volumes in released.title_volumes():
        paths.append((f"/titles/{quote(key, safe=':')}/", changed))
        paths += [(f"/titles/{quote(key, safe=':')}/{quote(v)}/", changed) for v in volumes]
    return paths


def article_paths(
    released: Released, first_id: int = 1, last_id: int | None = None
) -> Iterator[tuple[str, dt.datetime | None]]:
    """The landing page of every released item with an id from ``first_id`` to ``last_id``, in id order."""
    for public_id, released_at in released.article_stamps(first_id, last_id):
        yield f"/articles/{public_id}/", released_at


def public_paths(released: Released) -> list[tuple[str, dt.datetime | None]]:
    """Every public page of the portal (in its default language) with when it last changed."""
    return page_paths(released) + list(article_paths(released))


# ---- the sitemap ------------------------------------------------------------------------------------------------
#
# One file while everything fits; past that an index of parts. Parts 1..K hold the articles by item id, part n the
# ids from (n-1)*limit+1 to n*limit (so the index needs only the highest id, and a part is one range read by key);
# a range with no released item is left out of the index and answers 404. Parts K+1.. hold the other pages. Every
# file is written as it is read, a batch of rows at a time. For the index, the ranges holding a released item are
# found by one statement that jumps from range to range, and the other pages are counted from the titles' summaries
# (one row per title, kept with the AUs: services.title_summaries), not listed: the index costs its output.

FIXED_PAGES = 5  # /, /titles/, /publishers/, /countries/, /releases/


class SitemapPlan:
    """How the sitemap is cut: the other pages are read only when the answer needs them."""

    def __init__(self, released: Released, limit: int) -> None:
        self.released = released
        self.limit = limit
        self.last = released.last_item_id()

    @cached_property
    def pages(self) -> list[tuple[str, dt.datetime | None]]:
        return page_paths(self.released)

    @cached_property
    def page_count(self) -> int:
        """How many other pages there are: counted, or the length of :attr:`pages` once they are read."""
        if "pages" in self.__dict__:
            return len(self.pages)
        return FIXED_PAGES + sum(self.released.page_counts())

    @cached_property
    def article_parts(self) -> int:
        """K: id ranges up to the highest item id (which bounds the number of articles, so nothing is counted);
        0 when one file holds everything."""
        if self.last <= self.limit and self.last + self.page_count <= self.limit:
            return 0
        return -(-self.last // self.limit)

    @property
    def parts(self) -> int:
        return self.article_parts + -(-self.page_count // self.limit)

    def id_range(self, n: int) -> tuple[int, int]:
        return (n - 1) * self.limit + 1, n * self.limit

    def numbers(self) -> list[int]:
        """The parts the index lists (none when one file holds everything): the id ranges holding a released item
        (one statement), then the parts of the other pages (counted)."""
        if self.article_parts == 0:
            return []
        found = [n for n in self.released.released_ranges(self.limit) if n <= self.article_parts]
        return found + list(range(self.article_parts + 1, self.parts + 1))


def sitemap_part_numbers(released: Released, limit: int = SITEMAP_LIMIT) -> list[int]:
    return SitemapPlan(released, limit).numbers()


def sitemap(released: Released, base_url: str, limit: int = SITEMAP_LIMIT) -> Iterator[bytes]:
    """``/sitemap.xml``, streamed: every public page, or, when there are more than one sitemap file may hold, a
    sitemap index of the parts (``/sitemaps/N.xml``)."""
    plan = SitemapPlan(released, limit)
    if plan.article_parts == 0:
        return _urlset(itertools.chain(plan.pages, article_paths(released)), base_url)
    return _index(plan.numbers(), base_url)


def sitemap_part(released: Released, base_url: str, n: int, limit: int = SITEMAP_LIMIT) -> Iterator[bytes] | None:
    """Part ``n`` (from 1) of a sitemap too large for one file, streamed; None when there is no such part."""
    plan = SitemapPlan(released, limit)
    if plan.article_parts == 0 or n < 1:
        return None
    if n <= plan.article_parts:  # an article part: the other pages are not read
        first, last = plan.id_range(n)
        if not released.any_released_between(first, last):
            return None
        return _urlset(article_paths(released, first, last), base_url)
    if n > plan.parts:
        return None
    chunk = n - plan.article_parts - 1
    return _urlset(iter(plan.pages[chunk * limit : (chunk + 1) * limit]), base_url)


_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def _urlset(paths: Iterable[tuple[str, dt.datetime | None]], base_url: str) -> Iterator[bytes]:
    yield _HEAD + f'<urlset xmlns="{SITEMAP}">'.encode()
    lines: list[str] = []
    for path, changed in paths:
        lastmod = f"<lastmod>{changed.date().isoformat()}</lastmod>" if changed is not None else ""
        lines.append(f"<url><loc>{escape(base_url + path)}</loc>{lastmod}</url>")
        if len(lines) >= 1000:
            yield "".join(lines).encode()
            lines.clear()
    yield ("".join(lines) + "</urlset>\n").encode()


def _index(parts: list[int], base_url: str) -> Iterator[bytes]:
    yield _HEAD + f'<sitemapindex xmlns="{SITEMAP}">'.encode()
    for n in parts:
        yield f"<sitemap><loc>{escape(base_url)}/sitemaps/{n}.xml</loc></sitemap>".encode()
    yield b"</sitemapindex>\n"
