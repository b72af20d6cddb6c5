"""The public portal: server-rendered pages that need no JavaScript, for released content (and, behind the access
decision, the programme's enrolled content). This module assembles the rooms, one router per audience:

    pages.py      readers and search engines: browse, articles, downloads, search, releases, sitemaps
    programme.py  the access programme: institutions register, eligible readers read enrolled titles
    accounts.py   signing in and out
    console/      the node's staff, the board, network administrators and institutions' administrators at work
    sushi.py      COUNTER_SUSHI usage reports for librarians and publishers
    archive.py    harvested web pages replayed from WARC
    oai.py        the OAI-PMH provider for harvesters
    holdings.py   holdings reports: KBART, ONIX-PH for the Keepers Registry, DOAJ's preservation values

Every room reads the archive's content through the node's public read model
(:class:`~strongroom.services.released.Released`) and nothing else; the holdings room reads only what is preserved
(titles, ISSNs, volumes, issues, dates) from :class:`~strongroom.services.holdings.HoldingsReports`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from strongroom.node import Node
from strongroom.portal import accounts, archive, feeds, holdings, oai, pages, programme, sushi, sword
from strongroom.portal.i18n import LANGUAGES, negotiate
from strongroom.portal.render import Portal, make_environments

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class LanguagePrefix:
    """ASGI middleware: ``/fr/titles/`` is ``/titles/`` in French; without a prefix the browser's
    ``Accept-Language`` decides."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            first, _, rest = path.lstrip("/").partition("/")
            state = scope.setdefault("state", {})
            if first in LANGUAGES and (rest or path.endswith("/") or path == f"/{first}"):
                state["lang"], state["prefix"] = first, f"/{first}"
                scope["path"] = "/" + rest
                scope["raw_path"] = scope["path"].encode()
            else:
                headers = dict(scope.get("headers") or [])
                state["lang"] = negotiate(headers.get(b"accept-language", b"").decode("latin-1"))
                state["prefix"] = ""
        await self.app(scope, receive, send)


class HeadAsGet:
    """ASGI middleware: every route that answers GET answers HEAD with the same status and headers and no body
    (RFC 9110 9.3.2). The request goes on as a GET marked ``state["head"]``, so a handler can skip work whose only
    product is the body (opening a stored file) and a HEAD is never counted as a use."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        scope = {**scope, "method": "GET", "state": {**scope.get("state", {}), "head": True}}
        ended = False

        async def headers_only(message: MutableMapping[str, Any]) -> None:
            nonlocal ended
            if message["type"] == "http.response.body":
                if ended:
                    return
                ended = not message.get("more_body", False)
                if not ended:
                    return  # the body goes nowhere; one empty body ends the response
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app(scope, receive, headers_only)


class NoSniff:
    """ASGI middleware: ``X-Content-Type-Options: nosniff`` on every response (pages, files, XML, Atom, RIS, JSON,
    errors), so no browser reads a feed or a reference as HTML."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_header(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-content-type-options"]
                message = {**message, "headers": [*headers, (b"x-content-type-options", b"nosniff")]}
            await send(message)

        await self.app(scope, receive, with_header)


def create_portal(
    node: Node, *, oai_page_size: int = 100, cache_seconds: float = 0.0, sitemap_limit: int = feeds.SITEMAP_LIMIT
) -> FastAPI:
    """The portal app. ``cache_seconds`` > 0 remembers released articles and files, and the holdings reports, that
    long (``portal serve`` uses 30 s); tests and the static export read the catalog every time. ``sitemap_limit``:
    URLs per sitemap file (the protocol's 50,000; tests make it small)."""
    portal = Portal(node, node.released(cache_seconds=cache_seconds), make_environments())
    node.holdings.max_age = cache_seconds  # a report reads every AU: the feeds and title pages share one a while
    app = FastAPI(title="Strongroom portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.portal = portal
    app.state.sitemap_limit = sitemap_limit
    app.state.replay_cache = archive.ReplayCache(cache_seconds, node.settings.portal.replay_cache_mb * 1024 * 1024)
    app.state.oai = oai.Provider(
        portal.released,
        base_url=portal.base_url + "/oai",
        name=node.settings.node_name,
        admin_email=node.settings.portal.admin_email,
        clock=node.clock,
        page_size=oai_page_size,
    )
    app.add_middleware(LanguagePrefix)
    app.add_middleware(HeadAsGet)  # added last, so it runs first: LanguagePrefix keeps the "head" mark
    app.add_middleware(NoSniff)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return portal.not_found(request)
        return portal.render(request, "error.html", status=exc.status_code, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        return portal.render(request, "error.html", status=400, status_code=400)

    from strongroom.portal import console, publisher  # publishers' pages, certificates, the look-up; the console

    app.include_router(publisher.router)
    console.install(app)
    for room in (pages, programme, accounts, sushi, archive, oai, holdings, sword):
        app.include_router(room.router)
    return app


PORTAL_WORKER_ENV = "STRONGROOM_PORTAL_WORKER"  # how `portal serve --workers N` tells its processes what to serve


def portal_worker() -> FastAPI:
    """The app of one of ``portal serve --workers N``'s processes (uvicorn imports this in each): the node opened
    again in this process, without recovery (the parent ran it), serving as ``portal serve`` does."""
    import json
    import os
    from pathlib import Path

    options = json.loads(os.environ[PORTAL_WORKER_ENV])
    node = Node.open(Path(options["home"]), recover=False)
    return create_portal(node, oai_page_size=int(options["oai_page_size"]), cache_seconds=30.0)


def serve_portal(
    node: Node,
    host: str,
    port: int,
    *,
    oai_page_size: int = 100,
    trusted_proxies: str | None = None,
    workers: int = 1,
) -> None:
    """Serve until stopped, in one process or in ``workers`` processes sharing the port (each with its own
    connections to the catalog and its own short-lived caches). A reader's address (which decides access by an
    institution's network) is the connection's, unless the connection comes from one of ``trusted_proxies``
    (default: the setting), whose X-Forwarded-For then names it; set explicitly, so uvicorn's own default (trust
    127.0.0.1, or the FORWARDED_ALLOW_IPS environment variable) never decides who may read what."""
    import json
    import os

    import uvicorn

    from strongroom.settings import proxy_networks

    proxies = proxy_networks(node.settings.portal.trusted_proxies if trusted_proxies is None else trusted_proxies)
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or [],
    }
    if workers <= 1:
        uvicorn.run(create_portal(node, oai_page_size=oai_page_size, cache_seconds=30.0), **common)
        return
    os.environ[PORTAL_WORKER_ENV] = json.dumps({"home": str(node.settings.home), "oai_page_size": oai_page_size})
    uvicorn.run(f"{__name__}:portal_worker", factory=True, workers=workers, **common)
