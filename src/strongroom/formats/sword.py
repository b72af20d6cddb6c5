"""SWORD 2.0 as the OJS "PKP Preservation Network" plugin speaks it (``docs/pkppn.md``; facts in PKPPN.md): the
service document it reads terms and checksum type from, the Atom entry it deposits an issue with, the statement it
reads two states from by position, and the error document it expects on a 400.

Element names, namespaces and state words are exact; the plugin reads them by local name and position, so the
order written here is part of the interface.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from lxml import etree

from strongroom.errors import PackageRejected
from strongroom.formats.xmlsafe import nsmap, parse_xml

APP = "http://www.w3.org/2007/app"
ATOM = "http://www.w3.org/2005/Atom"
SWORD = "http://purl.org/net/sword/terms/"
PKP = "http://pkp.sfu.ca/SWORD"
DCTERMS = "http://purl.org/dc/terms/"
STATE_SCHEME = "http://purl.org/net/sword/terms/state"
CHECKSUM_TYPES = ("SHA-1", "MD5")  # the only two the plugin can compute
MAX_ENTRY_BYTES = 256 * 1024  # an entry is a few hundred bytes; anything near this is not one

# Processing states in pipeline order, then the error states and hold: the plugin knows these words and no others.
PROCESSING_STATES = (
    "depositedByJournal",
    "harvested",
    "payload-validated",
    "bag-validated",
    "xml-validated",
    "virus-checked",
    "reserialized",
    "deposited",
)
ERROR_STATES = (
    "harvest-error",
    "payload-error",
    "bag-error",
    "xml-error",
    "virus-error",
    "reserialize-error",
    "deposit-error",
    "status-error",
)
HOLD = "hold"
PRESERVATION_STATES = ("", "inProgress", "agreement")
_UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")


class EntryError(ValueError):
    """An Atom entry the plugin could not have meant: what is wrong, in words for the log and the 400 body."""


def normal_uuid(value: str) -> str:
    """A UUID as the network compares them: upper case (the staging server upper-cases every UUID it gets)."""
    text = value.strip()
    if text.lower().startswith("urn:uuid:"):
        text = text[9:]
    if not _UUID.match(text):
        raise EntryError(f"{value!r} is not a UUID")
    return str(uuid.UUID(text)).upper()


@dataclass(frozen=True)
class Term:
    """One term of use: its key (the element name the plugin stores), when it last changed, and its text."""

    key: str
    updated: str
    text: str


@dataclass(frozen=True)
class Content:
    """``pkp:content``: where the package is and what the journal says of it."""

    url: str
    size_kb: int
    checksum_type: str
    checksum_value: str
    volume: str = ""
    issue: str = ""
    pubdate: str = ""
    ojs_version: str = ""


@dataclass(frozen=True)
class DepositEntry:
    """The plugin's Atom entry for one deposit."""

    deposit_uuid: str
    title: str
    email: str
    journal_url: str
    publisher_name: str
    publisher_url: str
    issn: str
    updated: str
    content: Content
    licence: dict[str, str] = field(default_factory=dict)


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _child(parent: etree._Element, name: str) -> etree._Element | None:
    """The first child named ``name`` in any namespace (the plugin's prefixes and default namespaces vary)."""
    return next((c for c in parent if _local(c) == name), None)


def _text(parent: etree._Element, name: str) -> str:
    el = _child(parent, name)
    return (el.text or "").strip() if el is not None else ""


def parse_entry(body: bytes) -> DepositEntry:
    """Read the plugin's Atom entry, or raise :class:`EntryError` naming what is missing or wrong."""
    if len(body) > MAX_ENTRY_BYTES:
        raise EntryError(f"the entry is {len(body)} bytes; a deposit entry is at most {MAX_ENTRY_BYTES}")
    try:
        root = parse_xml(body, "entry")
    except PackageRejected as exc:
        raise EntryError("; ".join(f.message for f in exc.findings) or exc.message) from None
    if root.tag != _q(ATOM, "entry"):
        raise EntryError(f"the body is <{_local(root)}>, not an Atom <entry> ({ATOM})")
    ident = _text(root, "id")
    if not ident:
        raise EntryError("the entry has no <id> (urn:uuid:DEPOSIT-UUID)")
    deposit_uuid = normal_uuid(ident)
    contents = [c for c in root if _local(c) == "content"]
    content = next((c for c in contents if etree.QName(c).namespace == PKP), contents[0] if contents else None)
    if content is None:
        raise EntryError("the entry has no <pkp:content> saying where the package is")
    url = (content.text or "").strip()
    if not re.match(r"^https?://", url, re.IGNORECASE):
        raise EntryError(f"<pkp:content> must hold the package's http(s) URL, not {url[:200]!r}")
    checksum_type = (content.get("checksumType") or "").strip().upper().replace("SHA1", "SHA-1")
    if checksum_type not in CHECKSUM_TYPES:
        raise EntryError(f"checksumType {content.get('checksumType')!r} is not one of {', '.join(CHECKSUM_TYPES)}")
    checksum_value = (content.get("checksumValue") or "").strip().lower()
    width = 40 if checksum_type == "SHA-1" else 32
    if not re.fullmatch(rf"[0-9a-f]{{{width}}}", checksum_value):
        raise EntryError(f"checksumValue {checksum_value[:80]!r} is not a {checksum_type} digest in hex")
    try:
        size_kb = int(content.get("size") or "")
    except ValueError:
        raise EntryError(f"size {content.get('size')!r} is not a whole number of kB") from None
    if size_kb < 0:
        raise EntryError(f"size {size_kb} is negative")
    licence: dict[str, str] = {}
    lic = _child(root, "license")
    if lic is not None:
        for el in lic:
            name = _local(el)
            if name:
                licence["licenseURL" if name.lower() == "licenseurl" else name] = (el.text or "").strip()
    return DepositEntry(
        deposit_uuid=deposit_uuid,
        title=_text(root, "title"),
        email=_text(root, "email"),
        journal_url=_text(root, "journal_url"),
        publisher_name=_text(root, "publisherName"),
        publisher_url=_text(root, "publisherUrl"),
        issn=_text(root, "issn"),
        updated=_text(root, "updated"),
        content=Content(
            url=url,
            size_kb=size_kb,
            checksum_type=checksum_type,
            checksum_value=checksum_value,
            volume=(content.get("volume") or "").strip(),
            issue=(content.get("issue") or "").strip(),
            pubdate=(content.get("pubdate") or "").strip(),
            ojs_version=(content.get("ojsVersion") or "").strip(),
        ),
        licence=licence,
    )


def _xml(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def service_document(
    *,
    title: str,
    collection_href: str,
    accepting: bool,
    message: str,
    checksum_type: str,
    max_upload_kb: int,
    terms: Sequence[Term],
    terms_updated: str,
) -> bytes:
    """The APP service document: whether deposits are accepted (and why not), the checksum the plugin must send,
    and the terms, each as its own element (the term's key is the element's name)."""
    root = etree.Element(_q(APP, "service"), nsmap=nsmap(APP, atom=ATOM, sword=SWORD, pkp=PKP))
    etree.SubElement(root, _q(SWORD, "version")).text = "2.0"
    etree.SubElement(root, _q(SWORD, "maxUploadSize")).text = str(max_upload_kb)
    etree.SubElement(root, _q(PKP, "uploadChecksumType")).text = checksum_type
    flag = "Yes" if accepting else "No"
    etree.SubElement(root, _q(PKP, "pln_accepting"), is_accepting=flag).text = message
    etree.SubElement(root, _q(PKP, "accepting"), is_accepting=flag).text = message  # the staging server's twin
    terms_el = etree.SubElement(root, _q(PKP, "terms_of_use"), updated=terms_updated)
    for term in terms:
        etree.SubElement(terms_el, _q(PKP, term.key), updated=term.updated).text = term.text
    workspace = etree.SubElement(root, _q(APP, "workspace"))
    etree.SubElement(workspace, _q(ATOM, "title")).text = title
    collection = etree.SubElement(workspace, _q(APP, "collection"), href=collection_href)
    etree.SubElement(collection, _q(ATOM, "title")).text = title
    etree.SubElement(collection, _q(APP, "accept")).text = "application/atom+xml;type=entry"
    etree.SubElement(collection, _q(SWORD, "mediation")).text = "true"
    return _xml(root)


def statement(
    *,
    deposit_uuid: str,
    processing: str,
    processing_label: str,
    preservation: str,
    preservation_label: str,
    content: Content,
    updated: str,
    state_href: str,
) -> bytes:
    """The statement: an Atom feed whose first two categories are the processing and preservation states (the
    plugin reads them by position), each with a label in the journal manager's language, then an entry with the
    original deposit's content."""
    if processing not in (*PROCESSING_STATES, *ERROR_STATES, HOLD):
        raise ValueError(f"{processing!r} is not a processing state the plugin knows")
    if preservation not in PRESERVATION_STATES:
        raise ValueError(f"{preservation!r} is not a preservation state the plugin knows")
    root = etree.Element(_q(ATOM, "feed"), nsmap=nsmap(ATOM, sword=SWORD, pkp=PKP))
    etree.SubElement(root, _q(ATOM, "category"), scheme=STATE_SCHEME, term=processing, label=processing_label)
    etree.SubElement(root, _q(ATOM, "category"), scheme=STATE_SCHEME, term=preservation, label=preservation_label)
    etree.SubElement(root, _q(ATOM, "id")).text = f"urn:uuid:{deposit_uuid}"
    etree.SubElement(root, _q(ATOM, "title")).text = f"Deposit {deposit_uuid}"
    etree.SubElement(root, _q(ATOM, "updated")).text = updated
    etree.SubElement(root, _q(ATOM, "link"), rel="self", href=state_href)
    entry = etree.SubElement(root, _q(ATOM, "entry"))
    etree.SubElement(entry, _q(ATOM, "id")).text = f"urn:uuid:{deposit_uuid}"
    etree.SubElement(entry, _q(ATOM, "updated")).text = updated
    etree.SubElement(entry, _q(ATOM, "summary")).text = processing_label
    etree.SubElement(
        entry,
        _q(ATOM, "content"),
        size=str(content.size_kb),
        volume=content.volume,
        issue=content.issue,
        pubdate=content.pubdate,
        checksumType=content.checksum_type,
        checksumValue=content.checksum_value,
    ).text = content.url
    return _xml(root)


def error_document(summary: str, *, href: str = "http://purl.org/net/sword/error/ErrorBadRequest") -> bytes:
    """SWORD 2.0's error document; the plugin shows its ``summary``."""
    root = etree.Element(_q(SWORD, "error"), nsmap=nsmap(ATOM, sword=SWORD), href=href)
    etree.SubElement(root, _q(ATOM, "title")).text = "ERROR"
    etree.SubElement(root, _q(ATOM, "summary")).text = summary
    return _xml(root)


@dataclass(frozen=True)
class Handshake:
    """What a journal's PLN gateway says of itself: its OJS release, whether its manager accepted the terms."""

    ojs_release: str
    plugin_release: str
    terms_accepted: bool
    title: str
    articles: int | None


def parse_handshake(body: bytes) -> Handshake:
    """Read the plugin's ``gateway/plugin/PLNGatewayPlugin`` answer, or raise :class:`EntryError`."""
    try:
        root = parse_xml(body, "handshake")
    except PackageRejected as exc:
        raise EntryError("; ".join(f.message for f in exc.findings) or exc.message) from None
    if _local(root) != "handshake":
        raise EntryError(f"the gateway answered <{_local(root)}>, not <handshake>")
    ojs = _child(root, "ojsInfo")
    plugin = _child(root, "pluginInfo")
    journal = _child(root, "journalInfo")
    terms = _child(plugin, "terms") if plugin is not None else None
    articles = _child(journal, "articles") if journal is not None else None
    count = (articles.get("count") or "").strip() if articles is not None else ""
    return Handshake(
        ojs_release=_text(ojs, "release") if ojs is not None else "",
        plugin_release=_text(plugin, "release") if plugin is not None else "",
        terms_accepted=terms is not None and (terms.get("termsAccepted") or "").strip().lower() == "yes",
        title=_text(journal, "title") if journal is not None else "",
        articles=int(count) if count.isdigit() else None,
    )


def release_tuple(release: str) -> tuple[int, ...]:
    """``3.4.0.5`` and ``3.4.0-5`` -> (3, 4, 0, 5); the first part that is not a number ends it."""
    out: list[int] = []
    for part in re.split(r"[.\-]", release.strip()):
        if not part.isdigit():
            break
        out.append(int(part))
    return tuple(out)
