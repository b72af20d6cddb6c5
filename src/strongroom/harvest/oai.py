"""An OAI-PMH harvester that copes with the providers small journals really run.

It harvests incrementally (``from``/``until``), by set, following resumption tokens; when a provider's tokens
break (refused, or missing or empty while ``completeListSize`` says more records remain: a known OJS fault) it
falls back to date windows, halving a window until each fits in one response. ``noRecordsMatch`` is an empty
result, not an error; ``badResumptionToken`` and malformed XML get messages that say what happened.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from lxml import etree

from strongroom.domain.identifiers import normalise_doi, normalise_issn
from strongroom.errors import ExitCode, InvalidIdentifier, PackageRejected, StrongroomError
from strongroom.formats.jats import parse_jats
from strongroom.harvest.fetch import Fetcher, FetchError
from strongroom.ingest.deposit import item_record

OAI = "http://www.openarchives.org/OAI/2.0/"
DC = "http://purl.org/dc/elements/1.1/"
NS = {"o": OAI, "dc": DC}
MAX_PAGES = 100_000


class OaiHarvestError(StrongroomError):
    exit_code = ExitCode.REMOTE


class BrokenTokens(Exception):
    """The provider's resumption tokens cannot be trusted; fall back to date windows."""


@dataclass
class OaiRecord:
    identifier: str
    datestamp: str
    deleted: bool
    xml: bytes
    item: dict[str, Any] | None
    extra: bytes | None = None  # the same record in a richer format (JATS), when the provider offers one


@dataclass
class OaiResult:
    records: dict[str, OaiRecord] = field(default_factory=dict)
    pages: int = 0
    fallback: bool = False
    notes: list[str] = field(default_factory=list)
    response_date: str | None = None


def _parse(body: bytes, url: str) -> etree._Element:
    if body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        raise OaiHarvestError(
            f"{url} did not answer with an OAI-PMH document (it sent a web page)",
            hint="check the base URL; OJS serves OAI-PMH at /index.php/JOURNAL/oai",
        )
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise OaiHarvestError(
            f"{url} answered with malformed XML ({exc})",
            hint="the provider is broken; try again later or ask the journal to check its OAI-PMH plugin",
        ) from None
    if root.tag != f"{{{OAI}}}OAI-PMH":
        raise OaiHarvestError(f"{url} did not answer with an OAI-PMH document", hint="check the base URL")
    return root


_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*|info:doi/)", re.IGNORECASE)


def _doi(identifier: str) -> str | None:
    """The DOI an identifier is, in any of the forms providers write: bare, as OJS 3 does (``10.1234/abc``),
    ``doi:10.1234/abc``, ``info:doi/...`` or a ``https://doi.org/`` link; None for anything else. Its case is
    kept: the DOI is the key that merges a record with the article a web crawl found (``citation_doi``, written
    as the publisher writes it) and with what earlier harvests stored."""
    try:
        normalise_doi(identifier)  # checks the shape
    except InvalidIdentifier:
        return None
    return _DOI_PREFIX.sub("", identifier.strip()).strip()


@dataclass(frozen=True)
class DcJournal:
    """What one oai_dc record says of the journal it belongs to. OJS writes ``dc:source`` as "Journal name; Vol. 3
    No. 2 (2024); 10-20", then one ``dc:source`` per ISSN (online first, then print), and the publisher (or the
    journal's name) in ``dc:publisher``."""

    name: str | None
    issns: tuple[str, ...]
    publisher: str | None


def dc_journal(record: etree._Element) -> DcJournal:
    """The journal an oai_dc record names: its first ``dc:source`` that is not an ISSN (up to the first ";"),
    every valid ISSN among them, and ``dc:publisher``."""
    dc = record.find(".//{http://www.openarchives.org/OAI/2.0/oai_dc/}dc")
    sources = [] if dc is None else [(e.text or "").strip() for e in dc.findall(f"{{{DC}}}source")]
    issns: list[str] = []
    name = None
    for source in filter(None, sources):
        try:
            issn = normalise_issn(source)
        except InvalidIdentifier:
            name = name or source.split(";")[0].strip() or None
            continue
        if issn not in issns:
            issns.append(issn)
    publisher = None if dc is None else (dc.findtext(f"{{{DC}}}publisher") or "").strip() or None
    return DcJournal(name, tuple(issns), publisher)


def dc_item(record: etree._Element) -> dict[str, Any] | None:
    """An item record from an oai_dc record (None when it has no Dublin Core)."""
    dc = record.find(".//{http://www.openarchives.org/OAI/2.0/oai_dc/}dc")
    if dc is None:
        return None

    def all_of(tag: str) -> list[str]:
        return [(e.text or "").strip() for e in dc.findall(f"{{{DC}}}{tag}") if (e.text or "").strip()]

    identifiers = all_of("identifier")
    doi = next((d for d in map(_doi, identifiers) if d), None)
    url = next((i for i in identifiers if i.startswith("http") and not _doi(i)), None)
    date = next(iter(all_of("date")), None)
    journal = dc_journal(record)
    source = " ".join(all_of("source"))
    volume = re.search(r"Vol\.?\s*(\w+)", source)
    issue = re.search(r"No\.?\s*(\w+)", source)
    header_id = record.findtext(f"{{{OAI}}}header/{{{OAI}}}identifier") or ""
    return {
        "key": doi or url or header_id,
        "doi": doi,
        "url": url,
        "issn": journal.issns[0] if journal.issns else None,
        "title": next(iter(all_of("title")), None),
        "contributors": [{"name": n, "role": "author"} for n in all_of("creator")],
        "publication_date": date[:10] if date and re.match(r"^\d{4}-\d{2}-\d{2}", date) else None,
        "year": int(date[:4]) if date and date[:4].isdigit() else None,
        "volume": volume.group(1) if volume else None,
        "issue": issue.group(1) if issue else None,
        "pages": None,
        "abstract": next(iter(all_of("description")), None),
        "keywords": all_of("subject"),
        "language": next(iter(all_of("language")), None),
        "licence": next(iter(all_of("rights")), None),
        "item_type": "research-article",
        "files": [],
        "metadata_file": None,
    }


def jats_item(record: etree._Element) -> dict[str, Any] | None:
    """An item record from a record whose metadata is a JATS ``article`` (in any namespace or none)."""
    metadata = record.find(f"{{{OAI}}}metadata")
    article = next((child for child in metadata if isinstance(child.tag, str)), None) if metadata is not None else None
    if article is None or etree.QName(article).localname != "article":
        return None
    plain = _without_namespaces(article)
    try:
        meta = parse_jats(etree.tostring(plain), "OAI-PMH record")
    except PackageRejected:
        return None
    url = None
    for el in plain.iter("self-uri"):
        url = el.get("{http://www.w3.org/1999/xlink}href") or url
    return item_record(meta.doi or url or "", meta.doi, meta, None, [], url).to_dict()


def _without_namespaces(el: etree._Element) -> etree._Element:
    """JATS as the project's parser reads it: elements without namespace (attributes keep theirs, e.g. xlink)."""
    out = etree.Element(etree.QName(el).localname, attrib={str(k): str(v) for k, v in el.attrib.items()})
    out.text = el.text
    for child in el:
        if isinstance(child.tag, str):
            copy = _without_namespaces(child)
            copy.tail = child.tail
            out.append(copy)
    return out


class OaiHarvester:
    def __init__(self, base_url: str, fetcher: Fetcher) -> None:
        self.base_url = base_url.split("?")[0]
        self.fetcher = fetcher

    def _get(self, params: dict[str, str]) -> tuple[etree._Element, str | None]:
        url = f"{self.base_url}?{urlencode(params)}"
        try:
            response = self.fetcher.fetch(url)
        except FetchError as exc:
            raise OaiHarvestError(f"cannot reach {url}: {exc}") from None
        if response.status != 200:
            raise OaiHarvestError(f"{url} answered HTTP {response.status}")
        root = _parse(response.body, url)
        error = root.find(f"{{{OAI}}}error")
        return root, (error.get("code") if error is not None else None)

    def identify(self) -> dict[str, str]:
        root, code = self._get({"verb": "Identify"})
        if code:
            raise OaiHarvestError(f"{self.base_url} refused Identify ({code})")
        ident = root.find(f"{{{OAI}}}Identify")
        assert ident is not None
        return {el.tag.split("}")[1]: (el.text or "") for el in ident}

    def formats(self) -> dict[str, str]:
        """metadataPrefix -> namespace, from ListMetadataFormats."""
        root, code = self._get({"verb": "ListMetadataFormats"})
        if code:
            return {}
        out = {}
        for fmt in root.iterfind(f"{{{OAI}}}ListMetadataFormats/{{{OAI}}}metadataFormat"):
            out[fmt.findtext(f"{{{OAI}}}metadataPrefix") or ""] = fmt.findtext(f"{{{OAI}}}metadataNamespace") or ""
        return out

    def jats_prefix(self) -> str | None:
        """The prefix under which the provider offers JATS, if it does."""
        return next((p for p, ns in self.formats().items() if p.lower() == "jats" or "jats" in ns.lower()), None)

    def sets(self) -> list[tuple[str, str]]:
        """(setSpec, setName) of every set the provider lists (the first response's worth; empty if it has none)."""
        root, code = self._get({"verb": "ListSets"})
        if code:
            return []
        return [
            ((s.findtext(f"{{{OAI}}}setSpec") or "").strip(), (s.findtext(f"{{{OAI}}}setName") or "").strip())
            for s in root.iterfind(f"{{{OAI}}}ListSets/{{{OAI}}}set")
        ]

    def journals(self, set_spec: str | None = None) -> list[DcJournal]:
        """What the first response of records (in ``set_spec``, if given) says of their journals."""
        params = {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
        if set_spec:
            params["set"] = set_spec
        root, code = self._get(params)
        if code == "noRecordsMatch":
            return []
        if code:
            raise OaiHarvestError(f"{self.base_url} answered {code} to {params}")
        return [dc_journal(r) for r in root.iterfind(f"{{{OAI}}}ListRecords/{{{OAI}}}record")]

    def _pages(self, params: dict[str, str], result: OaiResult) -> Iterator[list[etree._Element]]:
        """Every page of a list, following tokens; raises BrokenTokens when the tokens cannot be trusted."""
        seen = 0
        current: dict[str, str] = dict(params)
        for _ in range(MAX_PAGES):
            root, code = self._get(current)
            result.pages += 1
            result.response_date = result.response_date or root.findtext(f"{{{OAI}}}responseDate")
            if code == "noRecordsMatch":
                return
            if code == "badResumptionToken" and "resumptionToken" in current:
                raise BrokenTokens(f"the provider refused its own resumption token after {seen} records")
            if code:
                raise OaiHarvestError(f"{self.base_url} answered {code} to {current}")
            records = root.findall(f"{{{OAI}}}ListRecords/{{{OAI}}}record")
            seen += len(records)
            yield records
            token = root.find(f"{{{OAI}}}ListRecords/{{{OAI}}}resumptionToken")
            size = token.get("completeListSize") if token is not None else None
            if token is None or not (token.text or "").strip():
                if size and size.isdigit() and int(size) > seen:
                    raise BrokenTokens(f"no resumption token after {seen} of {size} records")
                return
            current = {"verb": "ListRecords", "resumptionToken": (token.text or "").strip()}
        raise OaiHarvestError(f"{self.base_url} sent more than {MAX_PAGES} pages; stopped")

    def harvest(
        self, *, prefix: str = "oai_dc", set_spec: str | None = None, since: str | None = None, until: str | None = None
    ) -> OaiResult:
        result = OaiResult()
        params = {"verb": "ListRecords", "metadataPrefix": prefix}
        if set_spec:
            params["set"] = set_spec
        if since:
            params["from"] = since
        if until:
            params["until"] = until
        try:
            for page in self._pages(params, result):
                self._keep(page, result)
        except BrokenTokens as broken:
            result.fallback = True
            result.notes.append(f"{broken}; harvesting by date windows instead")
            start = dt.date.fromisoformat((since or self.identify().get("earliestDatestamp", "2000-01-01"))[:10])
            end = dt.date.fromisoformat(until[:10]) if until else dt.date.today()
            self._window(prefix, set_spec, start, end, result)
        return result

    def _window(self, prefix: str, set_spec: str | None, start: dt.date, end: dt.date, result: OaiResult) -> None:
        params = {"verb": "ListRecords", "metadataPrefix": prefix, "from": start.isoformat(), "until": end.isoformat()}
        if set_spec:
            params["set"] = set_spec
        root, code = self._get(params)
        result.pages += 1
        if code == "noRecordsMatch":
            return
        if code:
            raise OaiHarvestError(f"{self.base_url} answered {code} for {start}..{end}")
        self._keep(root.findall(f"{{{OAI}}}ListRecords/{{{OAI}}}record"), result)
        token = root.find(f"{{{OAI}}}ListRecords/{{{OAI}}}resumptionToken")
        if token is None or not (token.text or "").strip():
            return
        if start >= end:
            result.notes.append(f"{start}: more records than one response holds and broken tokens; some are missing")
            return
        middle = start + (end - start) // 2
        self._window(prefix, set_spec, start, middle, result)
        self._window(prefix, set_spec, middle + dt.timedelta(days=1), end, result)

    @staticmethod
    def _keep(records: list[etree._Element], result: OaiResult) -> None:
        for record in records:
            header = record.find(f"{{{OAI}}}header")
            if header is None:
                continue
            identifier = header.findtext(f"{{{OAI}}}identifier") or ""
            result.records[identifier] = OaiRecord(
                identifier=identifier,
                datestamp=header.findtext(f"{{{OAI}}}datestamp") or "",
                deleted=header.get("status") == "deleted",
                xml=etree.tostring(record),
                item=dc_item(record) or jats_item(record),
            )
