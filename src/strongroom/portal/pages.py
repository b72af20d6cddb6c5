"""The reading room: the public pages of released content (home, browse by country, publisher, title and volume,
articles, citations, downloads, search, releases) and what search engines read (the sitemap, robots.txt, the
release feed, DOI redirects)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from babel.numbers import format_decimal
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from strongroom.errors import ExitCode, StrongroomError
from strongroom.portal import feeds
from strongroom.portal.citation import json_ld, meta_tags, reference, ris
from strongroom.portal.i18n import DEFAULT, country_name, language_label
from strongroom.portal.render import portal_of, prefix
from strongroom.services import keyset
from strongroom.services.browse import KeyPage, ReleasedLists
from strongroom.services.keyset import BadCursor
from strongroom.services.released import SEARCH_FACETS, Found

T = TypeVar("T")

PAGE_SIZE = 20
LIST_SIZE = 100  # titles or publishers on one page of a list
MAX_QUERY = 200
SEARCH_RETRY_AFTER = 5  # seconds a reader is asked to wait while the search index is being made anew
MAX_CURSOR = keyset.MAX_TOKEN

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    portal = portal_of(request)
    r = portal.released
    return portal.render(
        request,
        "home.html",
        releases=r.releases()[:5],
        items=r.count(),
        titles=r.title_count(),
        countries=len(r.countries()),
    )


@router.get("/countries/", response_class=HTMLResponse)
def countries(request: Request) -> Response:
    portal = portal_of(request)
    return portal.render(request, "countries.html", countries=portal.released.countries())


def _lists(request: Request) -> ReleasedLists:
    lists: ReleasedLists = portal_of(request).node.browse.released_lists
    return lists


def _paged(load: Callable[[], KeyPage[T]]) -> KeyPage[T]:
    """A page of a list; an ``after`` no page gave is the reader's 400, not the server's 500."""
    try:
        return load()
    except BadCursor:
        raise StarletteHTTPException(400) from None


@router.get("/countries/{code}/", response_class=HTMLResponse)
def country(request: Request, code: str, after: str = Query("", max_length=MAX_CURSOR)) -> Response:
    portal = portal_of(request)
    found = (
        _paged(lambda: _lists(request).publishers(country=code.upper(), after=after or None, limit=LIST_SIZE))
        if len(code) == 2
        else None
    )
    if found is None or not found.total:
        return portal.not_found(request)
    return portal.render(
        request, "publishers.html", publishers=found.rows, page=found, after=after, country=code.upper()
    )


@router.get("/publishers/", response_class=HTMLResponse)
def publishers(request: Request, after: str = Query("", max_length=MAX_CURSOR)) -> Response:
    portal = portal_of(request)
    found = _paged(lambda: _lists(request).publishers(after=after or None, limit=LIST_SIZE))
    return portal.render(request, "publishers.html", publishers=found.rows, page=found, after=after, country=None)


@router.get("/publishers/{key}/", response_class=HTMLResponse)
def publisher(request: Request, key: str, after: str = Query("", max_length=MAX_CURSOR)) -> Response:
    portal = portal_of(request)
    found = portal.released.publisher(key)
    if found is None:
        return portal.not_found(request)
    titles = _paged(lambda: _lists(request).titles(publisher_key=key, after=after or None, limit=LIST_SIZE))
    return portal.render(request, "titles.html", publisher=found, titles=titles.rows, page=titles, after=after)


@router.get("/titles/", response_class=HTMLResponse)
def titles(request: Request, after: str = Query("", max_length=MAX_CURSOR)) -> Response:
    portal = portal_of(request)
    found = _paged(lambda: _lists(request).titles(after=after or None, limit=LIST_SIZE))
    return portal.render(request, "titles.html", publisher=None, titles=found.rows, page=found, after=after)


@router.get("/titles/{key}/", response_class=HTMLResponse)
def title(request: Request, key: str) -> Response:
    portal = portal_of(request)
    found = portal.released.title(key)
    if found is None:
        return portal.not_found(request)
    return portal.render(request, "title.html", title=found)


@router.get("/titles/{key}/{volume}/", response_class=HTMLResponse)
def volume(request: Request, key: str, volume: str) -> Response:
    portal = portal_of(request)
    found = portal.released.title(key)
    items = portal.released.volume(key, volume) if found else []
    if found is None or not items:
        return portal.not_found(request)
    issues: dict[str, list[Any]] = {}
    for item in items:
        issues.setdefault(item.issue or "", []).append(item)
    return portal.render(request, "volume.html", title=found, volume=volume, issues=issues, items=items)


@router.get("/articles/{public_id}/", response_class=HTMLResponse)
def article(request: Request, public_id: str) -> Response:
    portal = portal_of(request)
    item = portal.released.item(public_id)
    if item is None:
        return portal.not_found(request)
    portal.count(request, item, "investigation", "open")
    landing = f"{portal.base_url}/articles/{item.public_id}/"
    return portal.render(
        request,
        "article.html",
        item=item,
        meta=meta_tags(item, landing, landing),
        json_ld=json_ld(item, landing, landing),
        reference=reference(item),
    )


@router.get("/articles/{public_id}/cite.ris")
def article_ris(request: Request, public_id: str) -> Response:
    portal = portal_of(request)
    item = portal.released.item(public_id)
    if item is None:
        raise StarletteHTTPException(404)
    body = ris(item, f"{portal.base_url}/articles/{item.public_id}/")
    return Response(
        body,
        media_type="application/x-research-info-systems",
        headers={"Content-Disposition": f'attachment; filename="{item.public_id}.ris"'},
    )


@router.get("/articles/{public_id}/{name}")
def download(request: Request, public_id: str, name: str) -> Response:
    portal = portal_of(request)
    found = portal.released.file(public_id, name)
    if found is None:
        raise StarletteHTTPException(404)
    portal.count(request, found, "request", "open")  # it carries the public id, title and publisher the log needs
    canonical = f'<{portal.base_url}/articles/{public_id}/>; rel="canonical"'
    return portal.stored_file(request, found.object_id, found.file, {"Link": canonical})


@router.get("/doi/{doi:path}")
def by_doi(request: Request, doi: str) -> Response:
    portal = portal_of(request)
    item = portal.released.item_by_doi(doi)
    if item is None:
        return portal.not_found(request)
    return RedirectResponse(f"{prefix(request)}/articles/{item.public_id}/", status_code=301)


@router.get("/search", response_class=HTMLResponse)
def search(
    request: Request,
    q: str = Query("", max_length=MAX_QUERY),
    page: int = Query(1, ge=1, le=1000),
    country: str = Query("", max_length=MAX_QUERY),
    publisher: str = Query("", max_length=MAX_QUERY),
    title: str = Query("", max_length=MAX_QUERY),
    year: str = Query("", max_length=MAX_QUERY),
    language: str = Query("", max_length=MAX_QUERY),
) -> Response:
    """Full-text search of released items, narrowed by facet links (country, publisher, title, year, language) that
    combine and work without JavaScript; each shows how many results it leaves."""
    portal = portal_of(request)
    lang: str = getattr(request.state, "lang", DEFAULT)
    chosen = {"country": country, "publisher": publisher, "title": title, "year": year, "language": language}
    filters = {name: value for name, value in chosen.items() if value}
    try:
        found = (
            portal.released.find(
                q, filters=filters, facets=SEARCH_FACETS, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
            )
            if q
            else Found([], 0, {})
        )
    except StrongroomError as exc:
        if exc.exit_code != ExitCode.BUSY:
            raise
        # the search index is being made anew (another search.shards) or another process holds it: for a moment
        busy = portal.render(request, "error.html", status=503, status_code=503)
        busy.headers["Retry-After"] = str(SEARCH_RETRY_AFTER)
        return busy

    def link(**changed: str) -> str:
        """This search's URL with ``changed`` filters set (or dropped when empty), from its first page."""
        params = {"q": q, **filters, **changed}
        return "?" + urlencode({name: value for name, value in params.items() if value})

    def label(name: str, value: str, named: str) -> str:
        if name == "country":
            return country_name(value, lang)
        return language_label(value, lang) if name == "language" else named

    names = {(name, v): label(name, v, named) for name, values in found.facets.items() for v, named, _ in values}
    facets = [
        (
            name,
            [
                (label(name, v, named), format_decimal(n, locale=lang), link(**{name: v}))
                for v, named, n in values
                if v != filters.get(name)
            ],
        )
        for name, values in found.facets.items()
    ]
    active = [(name, names.get((name, v)) or label(name, v, v), link(**{name: ""})) for name, v in filters.items()]
    pages = max(1, math.ceil(found.total / PAGE_SIZE))
    return portal.render(
        request,
        "search.html",
        q=q,
        items=found.items,
        total=found.total,
        exact=found.exact,
        shown_total=format_decimal(found.total, locale=lang),  # as the reader's language writes numbers (12 345)
        page=page,
        pages=pages,
        facets=[(name, values) for name, values in facets if values],
        active=active,
        request_filters=list(filters.items()),  # a new query keeps the filters chosen
        page_link=lambda n: link(page=str(n)),
    )


@router.get("/releases/", response_class=HTMLResponse)
def releases(request: Request) -> Response:
    portal = portal_of(request)
    return portal.render(request, "releases.html", releases=portal.released.releases())


@router.get("/releases.atom")
def releases_feed(request: Request) -> Response:
    portal = portal_of(request)
    node = portal.node
    body = feeds.atom(portal.released.releases(), portal.base_url, node.settings.node_name, node.clock.now())
    return Response(body, media_type="application/atom+xml")


@router.get("/sitemap.xml")
def sitemap(request: Request) -> Response:
    portal = portal_of(request)
    limit: int = request.app.state.sitemap_limit
    return StreamingResponse(feeds.sitemap(portal.released, portal.base_url, limit), media_type="application/xml")


@router.get("/sitemaps/{n}.xml")
def sitemap_part(request: Request, n: int) -> Response:
    portal = portal_of(request)
    part = feeds.sitemap_part(portal.released, portal.base_url, n, request.app.state.sitemap_limit)
    return portal.not_found(request) if part is None else StreamingResponse(part, media_type="application/xml")


@router.get("/robots.txt")
def robots(request: Request) -> Response:
    base = portal_of(request).base_url
    return PlainTextResponse(f"User-agent: *\nDisallow: /search\nSitemap: {base}/sitemap.xml\n")
