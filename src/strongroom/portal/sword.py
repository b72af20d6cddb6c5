"""The SWORD 2.0 endpoints the OJS PKP Preservation Network plugin calls (``docs/pkppn.md``), under
``/api/sword/2.0/``: the service document, deposit, edit and the statement. Messages for the journal manager are
in the language the plugin's ``Accept-Language`` asked for when the journal last fetched the service document.

Never a 4xx for a deposit the node holds: the plugin would reset it and send it again from scratch, for ever.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from strongroom.domain.text import Text
from strongroom.formats.sword import MAX_ENTRY_BYTES, EntryError, error_document, normal_uuid
from strongroom.portal.i18n import negotiate, say
from strongroom.portal.render import portal_of

router = APIRouter(prefix="/api/sword/2.0")
XML = "application/xml; charset=utf-8"
ATOM_XML = "application/atom+xml; charset=utf-8"


def _error(status: int, summary: str) -> Response:
    return Response(error_document(summary), status_code=status, media_type=XML)


def _translator(lang: str) -> Callable[[Text], str]:
    return lambda text: say(text, lang)


async def _body(request: Request) -> bytes | Response:
    """The request body, at most an entry's worth, read as it arrives (a huge body is refused unread)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_ENTRY_BYTES:
        return _error(413, f"the request body is {declared} bytes; a deposit entry is at most {MAX_ENTRY_BYTES}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_ENTRY_BYTES:
            return _error(413, f"the request body is over {MAX_ENTRY_BYTES} bytes; a deposit entry is far smaller")
    return bytes(body)


@router.get("/sd-iri")
def service_document(request: Request) -> Response:
    journal = request.headers.get("on-behalf-of", "").strip()
    journal_url = request.headers.get("journal-url", "").strip()
    if not journal:
        return _error(400, "the On-Behalf-Of header (the journal's UUID) is missing")
    if not journal_url:
        return _error(400, "the Journal-URL header (the journal's home page) is missing")
    lang = negotiate(request.headers.get("accept-language", "").replace("_", "-"))
    pkppn = portal_of(request).node.pkppn
    try:
        body = pkppn.service_document(journal, journal_url[:2000], lang, _translator(lang))
    except EntryError as exc:
        return _error(400, f"On-Behalf-Of: {exc}")
    return Response(body, media_type="application/atomsvc+xml; charset=utf-8")


async def _receive(request: Request, journal: str, deposit: str | None) -> Response:
    body = await _body(request)
    if isinstance(body, Response):
        return body
    pkppn = portal_of(request).node.pkppn
    try:
        view = await run_in_threadpool(pkppn.receive, journal, body, deposit_uuid=deposit)
    except EntryError as exc:
        return _error(400, str(exc))
    location = pkppn.sword_url(f"cont-iri/{view.journal_uuid}/{view.uuid}/state")
    statement = pkppn.render_statement(view, _translator(view.journal_language))
    return Response(statement, status_code=201, media_type=ATOM_XML, headers={"Location": location})


@router.post("/col-iri/{journal}")
async def create(request: Request, journal: str) -> Response:
    return await _receive(request, journal, None)


@router.put("/cont-iri/{journal}/{deposit}/edit")
async def edit(request: Request, journal: str, deposit: str) -> Response:
    return await _receive(request, journal, deposit)


def _statement(request: Request, deposit: str) -> Response:
    pkppn = portal_of(request).node.pkppn
    try:
        view = pkppn.deposit(normal_uuid(deposit), missing_ok=True)
    except EntryError:
        view = None
    if view is None:
        return _error(404, f"no deposit {deposit[:80]} has been received")
    body = pkppn.render_statement(view, _translator(view.journal_language))
    return Response(body, media_type="text/xml; charset=utf-8")


@router.get("/cont-iri/{journal}/{deposit}/state")
def state(request: Request, journal: str, deposit: str) -> Response:
    return _statement(request, deposit)


# The plugin's 3.4 and main branches build the existence probe with the path doubled; answer it too.
@router.get("/cont-iri/api/sword/2.0/cont-iri/{journal}/{deposit}/state")
def doubled_state(request: Request, journal: str, deposit: str) -> Response:
    return _statement(request, deposit)
