"""Replaying a released AU's harvested pages so that a reader stays inside the archive: in an archived HTML page,
every link, stylesheet, image and frame that the AU also holds is pointed at its archived copy
(``/archive/AU/?url=…``); what the AU does not hold keeps its original address. The rest of the page is left as
the publisher served it."""

from __future__ import annotations

from collections.abc import Container
from urllib.parse import quote, urldefrag

from lxml import etree, html

from strongroom.domain.links import page_origin, resolved

ATTRIBUTES = (("a", "href"), ("link", "href"), ("img", "src"), ("script", "src"), ("iframe", "src"), ("area", "href"))


def archived_address(au_key: str, url: str) -> str:
    return f"/archive/{au_key}/?url={quote(url, safe='')}"


def rewrite(body: bytes, page_url: str, au_key: str, held: Container[str]) -> bytes | None:
    """The page with its addresses of archived resources (those ``held``: a set, or the AU's index looked up
    link by link) rewritten, as UTF-8 (None: not HTML lxml can read, to be served as it is)."""
    try:
        doc = html.document_fromstring(body)
    except (etree.ParserError, ValueError):
        return None
    origin = page_origin(page_url)
    for tag, attribute in ATTRIBUTES:
        for el in doc.iter(tag):
            value = el.get(attribute)
            if not value:
                continue
            try:
                target, fragment = urldefrag(resolved(page_url, origin, value.strip()))
            except ValueError:
                continue  # not an address
            if target in held:
                el.set(attribute, archived_address(au_key, target) + (f"#{fragment}" if fragment else ""))
    for meta in list(doc.iter("meta")):  # the page is served as UTF-8 now: an old charset would mislead
        parent = meta.getparent()
        if parent is not None and (meta.get("charset") or (meta.get("http-equiv") or "").lower() == "content-type"):
            parent.remove(meta)
    return bytes(html.tostring(doc, doctype="<!DOCTYPE html>", encoding="utf-8"))
