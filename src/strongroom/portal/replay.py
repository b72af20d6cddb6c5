"""Replaying a released AU's harvested pages so that a reader stays inside the archive: in an archived HTML page,
every link, stylesheet, image, media file, frame and embedded object that the AU also holds is pointed at its
archived copy (``/archive/AU/?url=…``), in ``srcset`` candidates and in CSS (``style`` attributes, ``<style>``
elements, archived stylesheets) too; what the AU does not hold keeps its original address. The rest of the page is
left as the publisher served it.

A page's ``<base href>`` is resolved against as a browser would, then taken off (the archived addresses are from
the portal's root, which it would send back to the publisher's site); the addresses it resolved that the AU does not
hold are written out in full, so they still lead where they led."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Container
from dataclasses import dataclass
from urllib.parse import quote, urldefrag, urljoin, urlsplit

from lxml import etree, html

from strongroom.domain.links import page_origin, resolved
from strongroom.formats.web_addresses import REQUISITES_IN, SPACE, SRCSET_IN, srcset_spans
from strongroom.portal.replay_css import Replace, rewrite_css, rewrite_stylesheet

# the attributes of each element that hold an address (those of what a page needs to display, and links)
ADDRESSES_IN: dict[str, tuple[str, ...]] = {"a": ("href",), "area": ("href",), **REQUISITES_IN}
TAGS = tuple(ADDRESSES_IN)
STYLED = etree.XPath("//*[@style]")
HAS_BASE = re.compile(rb"<base", re.IGNORECASE)
HAS_STYLE = re.compile(rb"style", re.IGNORECASE)
UNSAFE_IN_SRCSET = re.compile(r"[ \t\n\r\f]|,\Z|\A,")


def archived_address(au_key: str, url: str) -> str:
    return f"/archive/{au_key}/?url={quote(url, safe='')}"


@dataclass(frozen=True)
class _Addresses:
    """How the addresses written on one page (or in one stylesheet) are rewritten."""

    base: str  # what they are relative to
    origin: str
    au_key: str
    held: Container[str]
    in_full: bool  # the page's <base href> is taken off: an address left is written out in full

    def replace(self, value: str) -> str | None:
        """What to write instead of ``value`` (None: leave it)."""
        href = value.strip(SPACE)
        if not href:
            return None
        try:
            target, fragment = urldefrag(resolved(self.base, self.origin, href))
            held = target in self.held
        except ValueError:
            return None  # not an address
        if held:
            return archived_address(self.au_key, target) + (f"#{fragment}" if fragment else "")
        if self.in_full and not href.startswith("#"):  # a fragment alone stays in the page it is on
            try:
                if urlsplit(href).scheme:
                    return None  # in full already
                return urljoin(self.base, href)
            except ValueError:
                return None
        return None


def _srcset(value: str, replace: Replace) -> str | None:
    """A srcset with the URL of each candidate replaced (descriptors kept); None when nothing is."""
    out: list[str] = []
    at = 0
    for start, end in srcset_spans(value):
        new = replace(value[start:end])
        if new is not None and not UNSAFE_IN_SRCSET.search(new):
            out += [value[at:start], new]
            at = end
    if not out:
        return None
    out.append(value[at:])
    return "".join(out)


def _set(el: etree._Element, attribute: str, value: str | None) -> None:
    if value is not None:
        with contextlib.suppress(ValueError):  # a character lxml cannot hold (NUL): left as the publisher wrote it
            el.set(attribute, value)


def _take_base(doc: etree._Element, page_url: str) -> str | None:
    """The page's base URL from its first ``<base href>`` (None: it has none), every base's href taken off."""
    base: str | None = None
    for el in list(doc.iter("base")):
        href = el.get("href")
        if href is None:
            continue
        if base is None:
            try:
                candidate = urljoin(page_url, href.strip(SPACE))
                base = candidate if urlsplit(candidate).scheme in ("http", "https") else page_url
            except ValueError:
                base = page_url  # as a browser does with a base it cannot parse
        del el.attrib["href"]
        parent = el.getparent()
        if not el.attrib and parent is not None:
            parent.remove(el)
    return base


def rewrite(body: bytes, page_url: str, au_key: str, held: Container[str]) -> bytes | None:
    """The page with its addresses of archived resources (those ``held``: a set, or the AU's index looked up
    link by link) rewritten, as UTF-8 (None: not HTML lxml can read, or a page that cannot be rewritten, to be
    served as it is)."""
    try:
        doc = html.document_fromstring(body)
    except (etree.ParserError, ValueError):
        return None
    try:
        return _rewritten(doc, body, page_url, au_key, held)
    except (ValueError, RecursionError, etree.LxmlError):
        return None


def _rewritten(doc: etree._Element, body: bytes, page_url: str, au_key: str, held: Container[str]) -> bytes:
    # most pages have no <base> and no style attribute: a look at the bytes is cheaper than a walk of the tree
    wide = body.startswith((b"\xff\xfe", b"\xfe\xff"))  # UTF-16: the bytes do not spell the tags out
    base = _take_base(doc, page_url) if wide or HAS_BASE.search(body) else None
    page = _Addresses(base or page_url, page_origin(base or page_url), au_key, held, base is not None)
    for el in doc.iter(*TAGS):  # one walk of the tree, in lxml
        tag = el.tag
        assert isinstance(tag, str)
        for attribute in ADDRESSES_IN[tag]:
            value = el.get(attribute)
            if value and (tag != "input" or (el.get("type") or "").strip(SPACE).lower() == "image"):
                _set(el, attribute, page.replace(value))
        if tag in SRCSET_IN:
            value = el.get("srcset")
            if value:
                _set(el, "srcset", _srcset(value, page.replace))
        elif tag == "style" and el.text:
            css = rewrite_css(el.text, page.replace)
            if css is not el.text:
                with contextlib.suppress(ValueError):
                    el.text = css
    styled = STYLED(doc) if wide or HAS_STYLE.search(body) else []
    assert isinstance(styled, list)
    for styled_el in styled:
        assert isinstance(styled_el, etree._Element)
        value = styled_el.get("style")
        if value:
            css = rewrite_css(value, page.replace)
            if css is not value:
                _set(styled_el, "style", css)
    for meta in list(doc.iter("meta")):  # the page is served as UTF-8 now: an old charset would mislead
        parent = meta.getparent()
        if parent is not None and (meta.get("charset") or (meta.get("http-equiv") or "").lower() == "content-type"):
            parent.remove(meta)
    return bytes(html.tostring(doc, doctype="<!DOCTYPE html>", encoding="utf-8"))


def rewrite_css_file(body: bytes, css_url: str, charset: str | None, au_key: str, held: Container[str]) -> bytes | None:
    """An archived stylesheet with the addresses in it of what the AU holds rewritten (relative to the stylesheet's
    own address), as UTF-8; None when nothing in it is (it is served as it was)."""
    addresses = _Addresses(css_url, page_origin(css_url), au_key, held, in_full=False)
    try:
        return rewrite_stylesheet(body, charset, addresses.replace)
    except (ValueError, RecursionError, LookupError):
        return None
