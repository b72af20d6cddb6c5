"""The OJS "PKP Preservation Network" plugin's side of the conversation, as its scheduled task speaks it (facts in
PKPPN.md): fetch the service document with ``On-Behalf-Of``, ``Journal-URL`` and ``Accept-Language``, keep the
terms, probe for the deposit at the doubled path its 3.4 and main branches build, POST an Atom entry written as
the plugin writes it (CDATA text, ``pkp:`` elements, the size in kB rounded up, a lower-case checksum), and read
the statement's two states by position. Tests use it to drive a node exactly as a journal would.

It reads the server's answers by local name and position, as the plugin does, not with Strongroom's own parser.
"""

from __future__ import annotations

import hashlib
import math
import uuid as uuidlib
from dataclasses import dataclass, field

import httpx
from lxml import etree

from strongroom.formats.xmlsafe import nsmap
from strongroom.samples.ojs_site import Issue, OjsSite
from strongroom.samples.pkppn_package import publish

ATOM = "http://www.w3.org/2005/Atom"
PKP = "http://pkp.sfu.ca/SWORD"
DCTERMS = "http://purl.org/dc/terms/"


@dataclass
class ServiceDocument:
    raw: bytes
    accepting: bool
    message: str
    checksum_type: str
    max_upload: str
    terms: dict[str, tuple[str, str]]  # key -> (updated, text)


@dataclass
class Status:
    processing: str
    preservation: str
    processing_label: str
    http_status: int


@dataclass
class Sent:
    deposit_uuid: str
    status_code: int
    location: str
    body: bytes
    probe_status: int


@dataclass
class PlnPlugin:
    """One journal's plugin. ``network`` is the PKP PN URL setting (the node's public base URL)."""

    network: str
    site: OjsSite
    site_url: str
    journal_uuid: str = field(default_factory=lambda: str(uuidlib.uuid4()).upper())
    accept_language: str = "en-US"
    terms: dict[str, tuple[str, str]] = field(default_factory=dict)
    timeout: float = 30.0

    @property
    def journal_url(self) -> str:
        return f"{self.site_url}{self.site.base}"

    def _url(self, path: str) -> str:
        return f"{self.network.rstrip('/')}/api/sword/2.0/{path}"

    def service_document(self, *, headers: dict[str, str] | None = None) -> ServiceDocument:
        sent = {
            "On-Behalf-Of": self.journal_uuid,
            "Journal-URL": self.journal_url,
            "Accept-Language": self.accept_language,
        }
        if headers is not None:
            sent = headers
        response = httpx.get(self._url("sd-iri"), headers=sent, timeout=self.timeout)
        response.raise_for_status()
        root = etree.fromstring(response.content)
        accepting = _first(root, "pln_accepting")
        terms: dict[str, tuple[str, str]] = {}
        terms_el = _first(root, "terms_of_use")
        if terms_el is not None:
            for el in terms_el:
                if isinstance(el.tag, str):
                    terms[etree.QName(el).localname] = (el.get("updated", ""), el.text or "")
        self.terms = terms
        return ServiceDocument(
            raw=response.content,
            accepting=accepting is not None and accepting.get("is_accepting") == "Yes",
            message=(accepting.text or "") if accepting is not None else "",
            checksum_type=_text(root, "uploadChecksumType"),
            max_upload=_text(root, "maxUploadSize"),
            terms=terms,
        )

    def entry(
        self,
        issue: Issue,
        deposit_uuid: str,
        data: bytes,
        *,
        checksum_type: str = "SHA-1",
        size_kb: int | None = None,
        checksum: str | None = None,
        url: str | None = None,
    ) -> bytes:
        """The Atom entry the plugin writes for a deposit of ``issue`` whose package is ``data``."""
        title = self.site.title
        algorithm = "sha1" if checksum_type == "SHA-1" else "md5"
        root = etree.Element(f"{{{ATOM}}}entry", nsmap=nsmap(ATOM, dcterms=DCTERMS, pkp=PKP))

        def add(ns: str, name: str, text: str) -> etree._Element:
            el = etree.SubElement(root, f"{{{ns}}}{name}")
            el.text = etree.CDATA(text)
            return el

        add(ATOM, "email", "editor@journal.example")
        add(ATOM, "title", title.title)
        add(PKP, "journal_url", self.journal_url)
        add(PKP, "publisherName", title.publisher.name)
        add(PKP, "publisherUrl", f"{self.site_url}/")
        add(PKP, "issn", title.issn_online)
        etree.SubElement(root, f"{{{ATOM}}}id").text = f"urn:uuid:{deposit_uuid}"
        etree.SubElement(root, f"{{{ATOM}}}updated").text = "2026-11-30T10:00:00Z"
        content = etree.SubElement(
            root,
            f"{{{PKP}}}content",
            size=str(size_kb if size_kb is not None else math.ceil(len(data) / 1000)),
            volume=issue.volume,
            issue=issue.number,
            pubdate=f"{issue.year}-06-01",
            ojsVersion=self.site.state.ojs_version,
            checksumType=checksum_type,
            checksumValue=checksum if checksum is not None else hashlib.new(algorithm, data).hexdigest(),
        )
        content.text = url or f"{self.journal_url}/pln/deposits/{deposit_uuid}"
        # the plugin writes the licence block with a default namespace and no prefix
        lic = etree.SubElement(root, f"{{{PKP}}}license", nsmap=nsmap(PKP))
        for name, value in (
            ("publishingMode", "Open"),
            ("openAccessPolicy", "This journal provides immediate open access to its content."),
            ("licenseURL", "https://creativecommons.org/licenses/by/4.0/"),
            ("copyrightNotice", "Authors retain copyright."),
            ("copyrightBasis", "article"),
            ("copyrightHolder", "author"),
        ):
            etree.SubElement(lic, f"{{{PKP}}}{name}").text = etree.CDATA(value)
        return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))

    def deposit(self, issue: Issue, deposit_uuid: str | None = None, **entry_options: object) -> Sent:
        """Package ``issue`` (the site serves the package) and deposit it as the plugin does: the doubled-path
        existence probe, then a POST to col-iri, also for a deposit the network already has."""
        uuid = (deposit_uuid or str(uuidlib.uuid4())).upper()
        fault = entry_options.pop("fault", None)
        package = publish(self.site, issue, uuid, fault=fault)  # type: ignore[arg-type]
        probe = httpx.get(
            self._url(f"cont-iri/api/sword/2.0/cont-iri/{self.journal_uuid}/{uuid}/state"), timeout=self.timeout
        )
        body = self.entry(issue, uuid, package.data, **entry_options)  # type: ignore[arg-type]
        response = httpx.post(
            self._url(f"col-iri/{self.journal_uuid}"),
            content=body,
            headers={"Content-Type": "application/atom+xml"},
            timeout=self.timeout,
        )
        return Sent(
            uuid, response.status_code, response.headers.get("Location", ""), response.content, probe.status_code
        )

    def edit(self, issue: Issue, deposit_uuid: str, **entry_options: object) -> Sent:
        """A re-deposit through the edit IRI (the plugin's older branches)."""
        package = publish(self.site, issue, deposit_uuid)
        body = self.entry(issue, deposit_uuid, package.data, **entry_options)  # type: ignore[arg-type]
        response = httpx.put(
            self._url(f"cont-iri/{self.journal_uuid}/{deposit_uuid}/edit"),
            content=body,
            headers={"Content-Type": "application/atom+xml"},
            timeout=self.timeout,
        )
        return Sent(deposit_uuid, response.status_code, response.headers.get("Location", ""), response.content, 0)

    def status(self, deposit_uuid: str) -> Status:
        """The two states, read by position from the statement's first two categories, as the plugin reads them."""
        response = httpx.get(self._url(f"cont-iri/{self.journal_uuid}/{deposit_uuid}/state"), timeout=self.timeout)
        if response.status_code != 200:
            return Status("", "", "", response.status_code)
        root = etree.fromstring(response.content)
        categories = [el for el in root if isinstance(el.tag, str) and etree.QName(el).localname == "category"]
        first, second = [*categories, None, None][:2]
        return Status(
            processing=first.get("term", "") if first is not None else "",
            preservation=second.get("term", "") if second is not None else "",
            processing_label=first.get("label", "") if first is not None else "",
            http_status=response.status_code,
        )


def _first(root: etree._Element, localname: str) -> etree._Element | None:
    return next((el for el in root.iter() if isinstance(el.tag, str) and etree.QName(el).localname == localname), None)


def _text(root: etree._Element, localname: str) -> str:
    el = _first(root, localname)
    return (el.text or "").strip() if el is not None else ""
