"""Safe XML parsing for untrusted input: no DTD loading, no entity resolution, no network, no huge trees.

A document type declaration with only a public/system identifier (as every JATS file has) is accepted and
never fetched; one with an internal subset (``<!DOCTYPE x [ ... ]>``), where entity bombs and external
entities live, is refused outright.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from strongroom.errors import Finding, PackageRejected

MAX_XML_BYTES = 50 * 1024 * 1024
_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def parse_xml(data: bytes, path: str) -> etree._Element:
    """Parse ``data`` (from ``path``, for messages) or raise PackageRejected with finding P030/P031."""
    if len(data) > MAX_XML_BYTES:
        raise PackageRejected(
            f"{path}: XML larger than {MAX_XML_BYTES // (1024 * 1024)} MB",
            [Finding("P030", path, f"{len(data)} bytes is more than the {MAX_XML_BYTES} allowed for one XML file")],
        )
    if _INTERNAL_SUBSET.search(data) or _ENTITY_DECL.search(data):
        raise PackageRejected(
            f"{path}: XML declares entities or a DTD internal subset",
            [
                Finding(
                    "P031",
                    path,
                    "declares entities or an internal DTD subset; only a DOCTYPE with a public "
                    "identifier is accepted (entities are never expanded or fetched)",
                )
            ],
        )
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line, col = exc.position if exc.position else (0, 0)
        raise PackageRejected(
            f"{path}: not well-formed XML",
            [Finding("P030", path, f"not well-formed at line {line}, column {col}: {exc.msg}")],
        ) from None
    if root is None:
        raise PackageRejected(f"{path}: empty XML document", [Finding("P030", path, "no root element")])
    return root


def nsmap(default: str, **prefixed: str) -> Any:
    """A namespace map with a default namespace (lxml takes ``None`` as its key; lxml-stubs does not)."""
    return {None: default, **prefixed}
