"""A Crossref resource-only deposit (``doi_resources`` schema 4.4.2) that adds this archive's landing page as a
list-based (multiple resolution) location for every released DOI, so DOIs of a ceased publisher resolve to the
preserved copy. The file is sent to Crossref by whoever holds the prefix's deposit rights (or by Crossref staff
for an orphaned prefix); Strongroom only writes it.
"""

from __future__ import annotations

import datetime as dt
import re

from lxml import etree

from strongroom.errors import StrongroomError
from strongroom.formats.xmlsafe import nsmap
from strongroom.services.released import Released

NS = "http://www.crossref.org/doi_resources_schema/4.4.2"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA = "http://www.crossref.org/schemas/doi_resources4.4.2.xsd"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def resource_deposit(
    released: Released, base_url: str, *, depositor: str, email: str, label: str, now: dt.datetime
) -> tuple[bytes, int]:
    """The deposit file and how many DOIs it re-points."""
    if not _EMAIL.match(email):
        raise StrongroomError(f"{email!r} is not an email address", hint="Crossref mails the deposit result to it")
    if not depositor.strip():
        raise StrongroomError("the depositor name is empty", hint="pass --depositor 'Name of the archive'")
    root = etree.Element(f"{{{NS}}}doi_batch", nsmap=nsmap(NS, xsi=XSI), version="4.4.2")
    root.set(f"{{{XSI}}}schemaLocation", f"{NS} {SCHEMA}")
    head = etree.SubElement(root, f"{{{NS}}}head")
    etree.SubElement(head, f"{{{NS}}}doi_batch_id").text = f"strongroom-{now.strftime('%Y%m%d%H%M%S')}"
    dep = etree.SubElement(head, f"{{{NS}}}depositor")
    etree.SubElement(dep, f"{{{NS}}}depositor_name").text = depositor
    etree.SubElement(dep, f"{{{NS}}}email_address").text = email
    body = etree.SubElement(root, f"{{{NS}}}body")
    seen: set[str] = set()
    after = 0
    while batch := released.page(after_id=after, limit=1000):
        after = batch[-1].id
        for item in batch:
            if not item.doi or item.doi in seen:
                continue
            seen.add(item.doi)
            resources = etree.SubElement(body, f"{{{NS}}}doi_resources")
            etree.SubElement(resources, f"{{{NS}}}doi").text = item.doi
            collection = etree.SubElement(resources, f"{{{NS}}}collection", property="list-based")
            entry = etree.SubElement(collection, f"{{{NS}}}item", label=label)
            etree.SubElement(entry, f"{{{NS}}}resource").text = f"{base_url}/articles/{item.public_id}/"
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)), len(seen)
