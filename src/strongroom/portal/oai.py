"""An OAI-PMH 2.0 data provider for released items: all six verbs, ``oai_dc`` and JATS, sets per publisher
and per title (``publisher`` and ``publisher:title``), stateless resumption tokens and the protocol's error codes.

Record datestamps are the moment an item was released (when it entered this repository's public view), at
seconds granularity. Released content is never withdrawn, so ``deletedRecord`` is ``no``.

JATS has no XML namespace of its own, but OAI-PMH metadata must be namespace-qualified; like PubMed Central's
provider, records put the JATS elements in the namespace ``https://jats.nlm.nih.gov/ns/archiving/1.3/``. The
deposited JATS is served when the item has one, otherwise JATS front matter is written from the catalog.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import Response
from lxml import etree

from strongroom.clock import Clock
from strongroom.errors import PackageRejected
from strongroom.formats.xmlsafe import nsmap, parse_xml
from strongroom.portal.citation import licence_url
from strongroom.portal.i18n import language_tag
from strongroom.services.released import ItemView, Released, set_part

OAI = "http://www.openarchives.org/OAI/2.0/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
JATS = "https://jats.nlm.nih.gov/ns/archiving/1.3/"
XLINK = "http://www.w3.org/1999/xlink"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

FORMATS = {
    "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC),
    "jats": ("https://jats.nlm.nih.gov/archiving/1.3/xsd/JATS-archivearticle1-3.xsd", JATS),
}
VERBS = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), set()),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set"}),
}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECOND = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


class OaiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(text: str, *, end: bool) -> tuple[dt.datetime, str]:
    """A from/until argument and its granularity; a day ``until`` means the end of that day."""
    try:
        if _DAY.match(text):
            day = dt.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=dt.UTC)
            return (day + dt.timedelta(days=1, microseconds=-1) if end else day), "day"
        if _SECOND.match(text):
            return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC), "second"
    except ValueError:
        pass
    raise OaiError("badArgument", f"{text!r} is not a date (YYYY-MM-DD) or a UTC time (YYYY-MM-DDThh:mm:ssZ)")


@dataclass(frozen=True)
class ListRequest:
    verb: str
    prefix: str
    set_spec: str | None
    since: str | None
    until: str | None
    after: int = 0
    cursor: int = 0

    def token(self, after: int, cursor: int) -> str:
        data: dict[str, str | int | None] = {"v": self.verb, "p": self.prefix, "s": self.set_spec}
        data |= {"f": self.since, "u": self.until, "a": after, "c": cursor}
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")

    @classmethod
    def from_token(cls, verb: str, token: str) -> ListRequest:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = json.loads(raw)
            request = cls(verb, data["p"], data["s"], data["f"], data["u"], int(data["a"]), int(data["c"]))
        except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError):
            raise OaiError("badResumptionToken", "the resumptionToken is not one this repository issued") from None
        if data.get("v") != verb or request.prefix not in FORMATS or request.after < 0 or request.cursor < 0:
            raise OaiError("badResumptionToken", "the resumptionToken does not belong to this request")
        return request


class Provider:
    def __init__(
        self,
        released: Released,
        *,
        base_url: str,
        name: str,
        admin_email: str,
        clock: Clock,
        page_size: int = 100,
    ) -> None:
        self.released = released
        self.base_url = base_url
        self.name = name
        self.admin_email = admin_email
        self.clock = clock
        self.page_size = page_size
        self.repository_id = urlsplit(base_url).hostname or "localhost"

    # ---- the envelope ----------------------------------------------------------------------------------

    def respond(self, args: Sequence[tuple[str, str]]) -> bytes:
        root = etree.Element(f"{{{OAI}}}OAI-PMH", nsmap=nsmap(OAI, xsi=XSI))
        root.set(f"{{{XSI}}}schemaLocation", f"{OAI} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd")
        etree.SubElement(root, f"{{{OAI}}}responseDate").text = stamp(self.clock.now())
        request = etree.SubElement(root, f"{{{OAI}}}request")
        request.text = self.base_url
        try:
            verb, params = self._check(args)
            for key, value in sorted(params.items()):
                request.set(key, value)
            request.set("verb", verb)
            root.append(getattr(self, "_" + verb)(params))
        except OaiError as exc:
            if exc.code in ("badVerb", "badArgument"):
                request.attrib.clear()  # the protocol: echo only the base URL for these two
            error = etree.SubElement(root, f"{{{OAI}}}error", code=exc.code)
            error.text = exc.message
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))

    def _check(self, args: Sequence[tuple[str, str]]) -> tuple[str, dict[str, str]]:
        verbs = [v for k, v in args if k == "verb"]
        if len(verbs) != 1 or verbs[0] not in VERBS:
            what = "no verb" if not verbs else "the verb is repeated" if len(verbs) > 1 else f"{verbs[0]!r}"
            raise OaiError("badVerb", f"{what}: use one of {', '.join(VERBS)}")
        verb = verbs[0]
        params: dict[str, str] = {}
        for key, value in args:
            if key == "verb":
                continue
            if key in params:
                raise OaiError("badArgument", f"the argument {key} is repeated")
            params[key] = value
        required, optional = VERBS[verb]
        exclusive = verb in ("ListSets", "ListIdentifiers", "ListRecords")
        if exclusive and "resumptionToken" in params:
            if len(params) > 1:
                raise OaiError("badArgument", "resumptionToken is an exclusive argument")
            return verb, params
        unknown = sorted(set(params) - required - optional)
        if unknown:
            raise OaiError("badArgument", f"{verb} does not take {', '.join(unknown)}")
        missing = sorted(required - set(params))
        if missing:
            raise OaiError("badArgument", f"{verb} needs {', '.join(missing)}")
        return verb, params

    def _el(self, parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
        el = etree.SubElement(parent, f"{{{OAI}}}{tag}")
        if text is not None:
            el.text = text
        return el

    # ---- verbs ---------------------------------------------------------------------------------------------

    def _Identify(self, params: dict[str, str]) -> etree._Element:
        out = etree.Element(f"{{{OAI}}}Identify")
        self._el(out, "repositoryName", self.name)
        self._el(out, "baseURL", self.base_url)
        self._el(out, "protocolVersion", "2.0")
        self._el(out, "adminEmail", self.admin_email)
        earliest = self.released.earliest_release() or dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
        self._el(out, "earliestDatestamp", stamp(earliest))
        self._el(out, "deletedRecord", "no")
        self._el(out, "granularity", "YYYY-MM-DDThh:mm:ssZ")
        return out

    def _ListMetadataFormats(self, params: dict[str, str]) -> etree._Element:
        if "identifier" in params:
            self._item(params["identifier"])
        out = etree.Element(f"{{{OAI}}}ListMetadataFormats")
        for prefix, (schema, namespace) in FORMATS.items():
            fmt = self._el(out, "metadataFormat")
            self._el(fmt, "metadataPrefix", prefix)
            self._el(fmt, "schema", schema)
            self._el(fmt, "metadataNamespace", namespace)
        return out

    def sets(self) -> dict[str, tuple[str, str | None, str]]:
        """setSpec -> (publisher key, title key or None, name)."""
        out: dict[str, tuple[str, str | None, str]] = {}
        for t in self.released.titles():
            pub = set_part(t.publisher_key)
            out.setdefault(pub, (t.publisher_key, None, t.publisher_name))
            out[f"{pub}:{set_part(t.key)}"] = (t.publisher_key, t.key, t.name)
        return out

    def _ListSets(self, params: dict[str, str]) -> etree._Element:
        if "resumptionToken" in params:
            raise OaiError("badResumptionToken", "ListSets is answered in one response; there is nothing to resume")
        sets = self.sets()
        if not sets:
            raise OaiError("noSetHierarchy", "nothing has been released yet, so there are no sets")
        out = etree.Element(f"{{{OAI}}}ListSets")
        for spec, (_, _, name) in sorted(sets.items()):
            s = self._el(out, "set")
            self._el(s, "setSpec", spec)
            self._el(s, "setName", name)
        return out

    def _item(self, identifier: str) -> ItemView:
        prefix = f"oai:{self.repository_id}:"
        item = self.released.item(identifier[len(prefix) :]) if identifier.startswith(prefix) else None
        if item is None:
            raise OaiError("idDoesNotExist", f"{identifier!r} is not an identifier in this repository")
        return item

    def _GetRecord(self, params: dict[str, str]) -> etree._Element:
        item = self._item(params["identifier"])
        prefix = params["metadataPrefix"]
        if prefix not in FORMATS:
            raise OaiError("cannotDisseminateFormat", f"{prefix!r} is not offered; use {' or '.join(FORMATS)}")
        out = etree.Element(f"{{{OAI}}}GetRecord")
        self._record(out, item, prefix)
        return out

    def _ListIdentifiers(self, params: dict[str, str]) -> etree._Element:
        return self._list("ListIdentifiers", params)

    def _ListRecords(self, params: dict[str, str]) -> etree._Element:
        return self._list("ListRecords", params)

    def _list(self, verb: str, params: dict[str, str]) -> etree._Element:
        if "resumptionToken" in params:
            req = ListRequest.from_token(verb, params["resumptionToken"])
        else:
            req = ListRequest(
                verb, params["metadataPrefix"], params.get("set"), params.get("from"), params.get("until")
            )
            if req.prefix not in FORMATS:
                raise OaiError("cannotDisseminateFormat", f"{req.prefix!r} is not offered; use {' or '.join(FORMATS)}")
        since = parse_stamp(req.since, end=False) if req.since else None
        until = parse_stamp(req.until, end=True) if req.until else None
        if since and until:
            if since[1] != until[1]:
                raise OaiError("badArgument", "from and until must have the same granularity")
            if since[0] > until[0]:
                raise OaiError("badArgument", "from is later than until")
        publisher_key = title_key = None
        if req.set_spec is not None:
            found = self.sets().get(req.set_spec)
            if found is None:
                raise OaiError("noRecordsMatch", f"there is no set {req.set_spec!r}; see ListSets")
            publisher_key, title_key, _ = found
        items = self.released.page(
            after_id=req.after,
            limit=self.page_size + 1,
            since=since[0] if since else None,
            until=until[0] if until else None,
            publisher_key=publisher_key,
            title_key=title_key,
        )
        if not items:
            if "resumptionToken" in params:
                raise OaiError("badResumptionToken", "the list this token continued has ended")
            raise OaiError("noRecordsMatch", "no released records match these arguments")
        more = len(items) > self.page_size
        items = items[: self.page_size]
        out = etree.Element(f"{{{OAI}}}{verb}")
        for item in items:
            if verb == "ListIdentifiers":
                self._header(out, item)
            else:
                self._record(out, item, req.prefix)
        if more or req.cursor:
            token = self._el(out, "resumptionToken", req.token(items[-1].id, req.cursor + len(items)) if more else "")
            token.set("cursor", str(req.cursor))
        return out

    # ---- records -------------------------------------------------------------------------------------------

    def identifier(self, item: ItemView) -> str:
        return f"oai:{self.repository_id}:{item.public_id}"

    def _header(self, parent: etree._Element, item: ItemView) -> None:
        header = self._el(parent, "header")
        self._el(header, "identifier", self.identifier(item))
        self._el(header, "datestamp", stamp(item.released_at))
        pub = set_part(item.publisher_key)
        self._el(header, "setSpec", pub)
        self._el(header, "setSpec", f"{pub}:{set_part(item.title_key)}")

    def _record(self, parent: etree._Element, item: ItemView, prefix: str) -> None:
        record = self._el(parent, "record")
        self._header(record, item)
        metadata = self._el(record, "metadata")
        metadata.append(self.oai_dc(item) if prefix == "oai_dc" else self.jats(item))

    def landing(self, item: ItemView) -> str:
        return self.base_url.removesuffix("/oai") + f"/articles/{item.public_id}/"

    def oai_dc(self, item: ItemView) -> etree._Element:
        dc = etree.Element(f"{{{OAI_DC}}}dc", nsmap={"oai_dc": OAI_DC, "dc": DC, "xsi": XSI})
        dc.set(f"{{{XSI}}}schemaLocation", f"{OAI_DC} http://www.openarchives.org/OAI/2.0/oai_dc.xsd")

        language = language_tag(item.language)

        def add(tag: str, text: str | None, *, in_language: bool = False) -> None:
            if text:
                el = etree.SubElement(dc, f"{{{DC}}}{tag}")
                el.text = text
                if in_language and language:
                    el.set(XML_LANG, language)  # the article's own words, in its language

        add("title", item.title, in_language=True)
        for a in item.authors:
            add("creator", str(a.get("name") or ""))
        for k in item.keywords:
            add("subject", k, in_language=True)
        add("description", item.abstract, in_language=True)
        add("publisher", item.publisher_name)
        add("date", item.publication_date.isoformat() if item.publication_date else str(item.year or ""))
        add("type", "Text")
        add("type", item.item_type)
        if item.pdf:
            add("format", "application/pdf")
        add("identifier", self.landing(item))
        if item.doi:
            add("identifier", f"https://doi.org/{item.doi}")
        source = item.title_name
        if item.volume:
            source += f", vol. {item.volume}" + (f", no. {item.issue}" if item.issue else "")
        if item.pages:
            source += f", pp. {item.pages}"
        add("source", source)
        for issn in item.issns:
            add("source", f"ISSN {issn}")
        add("language", item.language)
        add("rights", licence_url(item.licence))  # only an open licence: harvesters turn dc:rights into links
        return dc

    def jats(self, item: ItemView) -> etree._Element:
        data = self.released.jats(item)
        if data is not None and item.jats is not None:
            try:
                article = parse_xml(data, item.jats.logical_path)
            except PackageRejected:
                article = None
            if article is not None and etree.QName(article).localname == "article":
                return _into_namespace(article)
        return _into_namespace(_front_matter(item))


def _into_namespace(article: etree._Element) -> etree._Element:
    """A copy of a JATS tree with every unqualified element in the JATS namespace (attributes untouched)."""
    others = {str(k): v for k, v in (article.nsmap or {}).items() if k is not None and v != JATS}
    out = etree.Element(
        f"{{{JATS}}}article",
        attrib={str(k): str(v) for k, v in article.attrib.items()},
        nsmap=nsmap(JATS, **(others | {"xlink": XLINK})),
    )

    def copy(src: etree._Element, dst: etree._Element) -> None:
        dst.text = src.text
        for child in src:
            if not isinstance(child.tag, str):
                continue  # comments and processing instructions
            q = etree.QName(child)
            tag = f"{{{JATS}}}{q.localname}" if q.namespace is None else child.tag
            new = etree.SubElement(dst, tag, attrib={str(k): str(v) for k, v in child.attrib.items()})
            copy(child, new)
            new.tail = child.tail

    copy(article, out)
    return out


def _front_matter(item: ItemView) -> etree._Element:
    article = etree.Element("article", {"article-type": item.item_type})
    front = etree.SubElement(article, "front")
    jm = etree.SubElement(front, "journal-meta")
    tg = etree.SubElement(jm, "journal-title-group")
    etree.SubElement(tg, "journal-title").text = item.title_name
    for issn in item.issns:
        etree.SubElement(jm, "issn").text = issn
    pub = etree.SubElement(jm, "publisher")
    etree.SubElement(pub, "publisher-name").text = item.publisher_name
    am = etree.SubElement(front, "article-meta")
    if item.doi:
        etree.SubElement(am, "article-id", {"pub-id-type": "doi"}).text = item.doi
    etree.SubElement(etree.SubElement(am, "title-group"), "article-title").text = item.title
    if item.authors:
        group = etree.SubElement(am, "contrib-group")
        for a in item.authors:
            contrib = etree.SubElement(group, "contrib", {"contrib-type": "author"})
            etree.SubElement(contrib, "string-name").text = str(a.get("name") or "")
    if item.publication_date or item.year:
        date = etree.SubElement(am, "pub-date", {"publication-format": "electronic", "date-type": "pub"})
        if item.publication_date:
            etree.SubElement(date, "day").text = f"{item.publication_date.day:02d}"
            etree.SubElement(date, "month").text = f"{item.publication_date.month:02d}"
        etree.SubElement(date, "year").text = str(item.publication_date.year if item.publication_date else item.year)
    for tag, value in (("volume", item.volume), ("issue", item.issue), ("fpage", item.first_page)):
        if value:
            etree.SubElement(am, tag).text = value
    if item.last_page:
        etree.SubElement(am, "lpage").text = item.last_page
    permissions = etree.SubElement(am, "permissions")
    url = licence_url(item.licence)
    if url:
        etree.SubElement(permissions, "license", {f"{{{XLINK}}}href": url})
    elif item.licence:
        etree.SubElement(etree.SubElement(permissions, "license"), "license-p").text = item.licence
    if item.abstract:
        etree.SubElement(etree.SubElement(am, "abstract"), "p").text = item.abstract
    return article


router = APIRouter()


@router.api_route("/oai", methods=["GET", "POST"])
async def endpoint(request: Request) -> Response:
    """The provider's one address: arguments in the query (GET) or the form body (POST)."""
    if request.method == "POST":
        body = await request.body()
        args = (
            [("verb", "")] if len(body) > 8192 else parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        )
    else:
        args = list(request.query_params.multi_items())
    provider: Provider = request.app.state.oai
    return Response(provider.respond(args), media_type="text/xml; charset=utf-8")
