"""The holdings room: what the archive preserves, for people (a page per title, the address a journal gives DOAJ)
and for machines at stable addresses (KBART files, the ONIX-PH feed for the Keepers Registry, DOAJ's values).

Holdings name titles, ISSNs, volumes, issues and dates, dark titles included (that is public, as CLOCKSS and the
Keepers Registry publish it); they never carry an item, an abstract or a file.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from strongroom.errors import NotFound
from strongroom.formats import kbart, onix_ph
from strongroom.portal.render import portal_of
from strongroom.services import keyset
from strongroom.services.holdings import Scope

router = APIRouter()


def _kbart(request: Request, scope: Scope) -> Response:
    """A KBART file, streamed as its titles are read (an unknown publisher is refused before the first byte)."""
    name, lines = portal_of(request).node.holdings.kbart_lines(scope)
    return StreamingResponse(
        kbart.encoded(lines),
        media_type=kbart.MEDIA_TYPE,
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


@router.get("/holdings/", response_class=HTMLResponse)
def holdings(request: Request, after: str = Query("", max_length=keyset.MAX_TOKEN)) -> Response:
    """Every title the archive holds, a page at a time by key (as /titles/ is), with links to the reports."""
    portal = portal_of(request)
    try:
        page = portal.node.holdings.page(after=after or None)
    except keyset.BadCursor:  # an address no page gave: the reader's 400, not the server's 500
        raise StarletteHTTPException(400) from None
    return portal.render(request, "holdings.html", titles=page.rows, page=page, after=after, title=None)


@router.get("/holdings/titles/{key}/", response_class=HTMLResponse)
def title_holdings(request: Request, key: str) -> Response:
    portal = portal_of(request)
    try:
        found = portal.node.holdings.title(key)
    except NotFound:
        return portal.not_found(request)
    released = portal.released.title(key) is not None
    return portal.render(request, "holdings.html", title=found, released=released)


@router.get("/holdings/kbart.txt")
def kbart_all(request: Request) -> Response:
    return _kbart(request, Scope())


@router.get("/holdings/kbart/programme.txt")
def kbart_programme(request: Request) -> Response:
    return _kbart(request, Scope(programme=True))


@router.get("/holdings/kbart/publishers/{key}.txt")
def kbart_publisher(request: Request, key: str) -> Response:
    try:
        return _kbart(request, Scope(publisher=key))
    except NotFound:
        return portal_of(request).not_found(request)


@router.get("/holdings/onix.xml")
def onix(request: Request) -> Response:
    report = portal_of(request).node.holdings.report()
    return Response(onix_ph.write(report), media_type=onix_ph.MEDIA_TYPE)


@router.get("/holdings/doaj.json")
def doaj(request: Request) -> Response:
    values = portal_of(request).node.holdings.doaj()
    return Response(json.dumps(values, ensure_ascii=False, indent=1), media_type="application/json")
