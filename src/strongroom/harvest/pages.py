"""What a harvested page says: the addresses of the pages and requisites it links to (stylesheets with what they
import and name, scripts, images, srcset candidates, icons, media, resolved against the page's ``<base href>``), and
the article a landing page describes (its citation_* tags or schema.org data). The crawl (:mod:`.crawl`) follows
the one and catalogues the other."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from lxml import etree, html

from strongroom.domain.links import page_origin, resolved
from strongroom.formats.web_addresses import (
    MOST_CSS_ADDRESSES,
    MOST_CSS_CHARS,
    REQUISITES_IN,
    SPACE,
    SRCSET_IN,
    css_addresses,
    srcset_urls,
    stylesheet_addresses,
)
from strongroom.harvest import schema_org
from strongroom.harvest.fetch import Fetched
from strongroom.harvest.plans import Link

REQUISITE_LINKS = {  # the rels of a <link> to what a page needs
    "stylesheet",
    "icon",
    "apple-touch-icon",
    "apple-touch-icon-precomposed",
    "mask-icon",
    "preload",
}
STYLESHEET = "stylesheet"  # the text of an asset link to a stylesheet: its addresses are relative to it
HTML = ("text/html", "application/xhtml+xml")
STYLED = etree.XPath("//*[@style]")
HAS_BASE = re.compile(rb"<base", re.IGNORECASE)  # most pages have none: a look at the bytes is cheaper than a walk
HAS_STYLE = re.compile(rb"style\s*=", re.IGNORECASE)  # a style attribute (not rel=stylesheet: most pages have one)
PARTLY_READ = (
    f"partly read: only its first {MOST_CSS_CHARS:,} characters of CSS, and {MOST_CSS_ADDRESSES:,} addresses in them,"
    " were looked at for what its pages need (collected; what the rest names is not, unless linked elsewhere)"
)
SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
CHARSET = re.compile(r";\s*charset=[\"']?([^\s;\"']+)", re.IGNORECASE)


def document(page: Fetched) -> html.HtmlElement | None:
    """The parsed page, when it is HTML (parsed once, for its links and its metadata)."""
    if page.media_type not in HTML or not page.body.strip():
        return None
    try:
        return html.document_fromstring(page.body)
    except (etree.ParserError, ValueError):
        return None


def links(page: Fetched, doc: html.HtmlElement | None = None, *, stylesheet: bool = False) -> list[Link]:
    """The links on an HTML page, in the order written, and what it needs to display (kind "asset"); or, for a
    stylesheet (served as text/css, or ``stylesheet``: fetched as a page's stylesheet), the addresses in it."""
    return page_links(page, doc, stylesheet=stylesheet)[0]


def page_links(page: Fetched, doc: html.HtmlElement | None, *, stylesheet: bool) -> tuple[list[Link], bool]:
    """:func:`links`, and whether a stylesheet or inline CSS was too long to be read whole for its addresses."""
    if page.media_type == "text/css" or (stylesheet and page.media_type not in HTML):
        css = stylesheet_addresses(page.body, _charset(page))
        return _assets(page.url, page_origin(page.url), css.addresses), css.capped
    doc = doc if doc is not None else document(page)
    if doc is None:
        return [], False
    out = []
    wide = page.body.startswith((b"\xff\xfe", b"\xfe\xff"))  # UTF-16: the bytes do not spell the tags out
    base = _base(doc, page.url) if wide or HAS_BASE.search(page.body) else page.url
    origin = page_origin(base)
    css_read = _CssRead()
    for el in doc.iter(*REQUISITES_IN, "a"):
        tag = el.tag
        assert isinstance(tag, str)
        if tag == "a":
            href = el.get("href")
            if href:
                with contextlib.suppress(ValueError):  # not an address (such as "http://[": a bad IPv6 host)
                    out.append(Link(_absolute(base, href, origin), "".join(map(str, el.itertext())).strip(), "a"))
            continue
        if tag == "link":
            rel = set((el.get("rel") or "").lower().split())
            written = [el.get("href") or ""] if rel & REQUISITE_LINKS else []
            what = STYLESHEET if "stylesheet" in rel else ""
        elif tag == "style":
            written, what = css_read(el.text or ""), ""
        elif tag == "input" and (el.get("type") or "").strip().lower() != "image":
            continue
        else:
            written = [el.get(attribute) or "" for attribute in REQUISITES_IN[tag]]
            if tag in SRCSET_IN and el.get("srcset"):
                written += srcset_urls(el.get("srcset") or "")
            what = ""
        out += _assets(base, origin, written, what)
    styled_elements = STYLED(doc) if wide or HAS_STYLE.search(page.body) else []
    assert isinstance(styled_elements, list)
    for styled in styled_elements:
        assert isinstance(styled, etree._Element)
        out += _assets(base, origin, css_read(styled.get("style") or ""))
    return out, css_read.capped


@dataclass
class _CssRead:
    """The addresses in the CSS of one page, its ``<style>`` elements and ``style`` attributes read together up to
    ``MOST_CSS_CHARS`` (a page of many MB of CSS, in one place or in thousands, cannot hold the crawl up)."""

    left: int = MOST_CSS_CHARS
    capped: bool = False

    def __call__(self, css: str) -> list[str]:
        found = css_addresses(css, most_chars=max(0, self.left))
        self.left -= len(css)
        self.capped = self.capped or found.capped
        return found.addresses


def _assets(base: str, origin: str, written: list[str], what: str = "") -> list[Link]:
    """The addresses ``written`` (in a page or a stylesheet at ``base``) of what a page needs, resolved; a
    ``data:`` URL or another scheme than http(s) is none to collect."""
    out = []
    for href in written:
        href = href.strip(SPACE)
        if not href or (SCHEME.match(href) and not href.lower().startswith(("http:", "https:"))):
            continue
        try:
            out.append(Link(_absolute(base, href, origin), what, "asset"))
        except ValueError:
            continue  # not an address (such as "http://[": a bad IPv6 host); a page cannot stop the crawl with it
    return out


def _base(doc: html.HtmlElement, page_url: str) -> str:
    """What the page's addresses are relative to: its first ``<base href>`` as a browser takes it (an address
    that is not http(s), or none, is ignored), else its own address."""
    for el in doc.iter("base"):
        href = el.get("href")
        if href is not None:
            try:
                base = urljoin(page_url, href.strip(SPACE))
                return base if urlsplit(base).scheme in ("http", "https") else page_url
            except ValueError:
                return page_url
    return page_url


def _charset(page: Fetched) -> str | None:
    """The charset its Content-Type names, if any."""
    m = CHARSET.search(page.header("content-type") or "")
    return m.group(1) if m else None


def _absolute(base: str, href: str, origin: str) -> str:
    """``href`` resolved against ``base`` (whose scheme and host are ``origin``), without its fragment. (Links on
    a journal site are mostly absolute or from the root, which urljoin gives back unchanged or after the origin;
    those skip it: urljoin was a fifth of the time spent handling a page.)"""
    url = resolved(base, origin, href)
    return urldefrag(url)[0] if "#" in url else url


def landing_item(page: Fetched, doc: html.HtmlElement | None = None) -> dict[str, Any] | None:
    """An item record from a landing page: its Highwire ``citation_*`` tags, with what its schema.org JSON-LD
    says filling what they leave out (or alone, on a page without them). None when the page describes no article."""
    if page.media_type != "text/html":
        return None
    tagged, linked = b"citation_title" in page.body, b"application/ld+json" in page.body
    if not (tagged or linked):
        return None
    doc = doc if doc is not None else document(page)
    if doc is None:
        return None
    fields = schema_org.article_fields(doc) if linked else {}
    if tagged:
        fields.update({k: v for k, v in _citation_fields(doc).items() if v not in (None, "", [])})
    if not fields.get("title"):
        return None
    doi = fields.get("doi")
    return {
        "key": doi or page.url,
        "doi": doi,
        "url": page.url,
        "title": fields["title"],
        "contributors": fields.get("contributors", []),
        "publication_date": fields.get("publication_date"),
        "year": fields.get("year"),
        "volume": fields.get("volume"),
        "issue": fields.get("issue"),
        "pages": fields.get("pages"),
        "abstract": fields.get("abstract") or _abstract(doc),
        "keywords": fields.get("keywords", []),
        "language": fields.get("language"),
        "licence": fields.get("licence"),
        "item_type": "research-article",
        "journal": fields.get("journal"),
        "issn": fields.get("issn"),
        "pdf_url": fields.get("pdf_url"),
        "files": [],
        "metadata_file": None,
    }


def _citation_fields(doc: html.HtmlElement) -> dict[str, Any]:
    """The fields Highwire ``citation_*`` (and ``DC.*``) meta tags give, named as item records name them."""
    meta: dict[str, list[str]] = {}
    for el in doc.iter("meta"):
        name, content = (el.get("name") or "").lower(), el.get("content")
        if name.startswith(("citation_", "dc.")) and content:
            meta.setdefault(name, []).append(content.strip())

    def one(name: str) -> str | None:
        return meta.get(name, [None])[0]

    date = one("citation_publication_date") or one("citation_date")
    year = int(date[:4]) if date and date[:4].isdigit() else None
    iso = date.replace("/", "-") if date and re.match(r"^\d{4}[/-]\d{2}[/-]\d{2}$", date) else None
    first, last = one("citation_firstpage"), one("citation_lastpage")
    return {
        "doi": one("citation_doi"),
        "title": one("citation_title"),
        "contributors": [{"name": n, "role": "author"} for n in meta.get("citation_author", [])],
        "publication_date": iso,
        "year": year,
        "volume": one("citation_volume"),
        "issue": one("citation_issue"),
        "pages": f"{first}-{last}" if first and last else first,
        "keywords": meta.get("citation_keywords", []),
        "language": one("citation_language"),
        "licence": one("dc.rights"),
        "journal": one("citation_journal_title"),
        "issn": one("citation_issn"),
        "pdf_url": one("citation_pdf_url"),
    }


def _abstract(doc: html.HtmlElement) -> str | None:
    for h in doc.iter("h2", "h3"):
        if h.text_content().strip().lower() == "abstract":
            nxt = h.getnext()
            if nxt is not None:
                return str(nxt.text_content()).strip() or None
    return None
