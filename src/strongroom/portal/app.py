"""The public portal: server-rendered pages that need no JavaScript, for released content only.

Pages read the archive through :class:`~strongroom.portal.released.Released` and nothing else; downloads are
served from the node's own preserved copy (the OCFL object), found by exact match in the catalog.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import jinja2
from babel.dates import format_date
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.exceptions import HTTPException as StarletteHTTPException

from strongroom import __version__
from strongroom.domain.access import InstitutionStatus, ItemState, Reader, decide
from strongroom.errors import StrongroomError
from strongroom.node import Node
from strongroom.portal import feeds, oai
from strongroom.portal.citation import json_ld, licence_label, meta_tags, reference, ris
from strongroom.portal.i18n import DEFAULT, LANGUAGES, language_name, negotiate, translations
from strongroom.portal.released import FileView, ItemView, Released, ReleasedFile, country_name
from strongroom.services import accounts, counter, institutions, programme, sushi

TEMPLATES = Path(__file__).parent / "templates"
PAGE_SIZE = 20
MAX_QUERY = 200

# No script may run on a portal page; styles are inline; images only from the portal itself.
PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
# A downloaded file (an HTML galley, say) is shown sandboxed: it can run nothing and reach nothing.
SESSION_COOKIE = "sr_session"
FILE_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"

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


@dataclass
class Portal:
    node: Node
    released: Released
    environments: dict[str, jinja2.Environment]

    @property
    def base_url(self) -> str:
        return self.node.settings.portal.base_url.rstrip("/")

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        lang: str = getattr(request.state, "lang", DEFAULT)
        prefix: str = getattr(request.state, "prefix", "")
        path = request.url.path

        def u(p: str) -> str:
            return prefix + p

        html = (
            self.environments[lang]
            .get_template(template)
            .render(
                lang=lang,
                u=u,
                quote=quote,
                path=path,
                base_url=self.base_url,
                canonical=self.base_url + path,
                languages=[(code, language_name(code), f"/{code}{path}") for code in LANGUAGES],
                node_name=self.node.settings.node_name,
                version=__version__,
                date=lambda d: format_date(d, format="long", locale=lang) if d else "",
                licence_label=licence_label,
                country_name=country_name,
                size=human_size,
                **context,
            )
        )
        headers = {
            "Content-Language": lang,
            "Content-Security-Policy": PAGE_CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        }
        if not prefix:
            headers["Vary"] = "Accept-Language"
        return HTMLResponse(html, status_code=status, headers=headers)

    def not_found(self, request: Request) -> HTMLResponse:
        return self.render(request, "error.html", status=404, status_code=404)


def human_size(n: int) -> str:
    units = ("B", "KB", "MB", "GB")
    i = min(int(math.log(max(n, 1), 1000)), len(units) - 1)
    return f"{n / 1000**i:.0f} {units[i]}" if i == 0 else f"{n / 1000**i:.1f} {units[i]}"


def make_environments() -> dict[str, jinja2.Environment]:
    out = {}
    for lang in LANGUAGES:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
        out[lang] = env
    return out


def create_portal(
    node: Node, *, oai_page_size: int = 100, cache_seconds: float = 0.0, sitemap_limit: int = feeds.SITEMAP_LIMIT
) -> FastAPI:
    """The portal app. ``cache_seconds`` > 0 remembers released articles and files that long (``portal serve``
    uses 30 s); tests and the static export read the catalog every time. ``sitemap_limit``: URLs per sitemap file
    (the protocol's 50,000; tests make it small)."""
    portal = Portal(node, Released(node.catalog, cache_seconds=cache_seconds), make_environments())
    app = FastAPI(title="Strongroom portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.portal = portal
    app.add_middleware(LanguagePrefix)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return portal.not_found(request)
        return portal.render(request, "error.html", status=exc.status_code, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        return portal.render(request, "error.html", status=400, status_code=400)

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        r = portal.released
        return portal.render(
            request,
            "home.html",
            releases=r.releases()[:5],
            items=r.count(),
            titles=len(r.titles()),
            countries=len(r.countries()),
        )

    @app.get("/countries/", response_class=HTMLResponse)
    def countries(request: Request) -> Response:
        return portal.render(request, "countries.html", countries=portal.released.countries())

    @app.get("/countries/{code}/", response_class=HTMLResponse)
    def country(request: Request, code: str) -> Response:
        publishers = portal.released.publishers(country=code.upper()) if len(code) == 2 else []
        if not publishers:
            return portal.not_found(request)
        return portal.render(request, "publishers.html", publishers=publishers, country=code.upper())

    @app.get("/publishers/", response_class=HTMLResponse)
    def publishers(request: Request) -> Response:
        return portal.render(request, "publishers.html", publishers=portal.released.publishers(), country=None)

    @app.get("/publishers/{key}/", response_class=HTMLResponse)
    def publisher(request: Request, key: str) -> Response:
        found = portal.released.publisher(key)
        if found is None:
            return portal.not_found(request)
        return portal.render(request, "titles.html", publisher=found, titles=portal.released.titles(publisher_key=key))

    @app.get("/titles/", response_class=HTMLResponse)
    def titles(request: Request) -> Response:
        return portal.render(request, "titles.html", publisher=None, titles=portal.released.titles())

    @app.get("/titles/{key}/", response_class=HTMLResponse)
    def title(request: Request, key: str) -> Response:
        found = portal.released.title(key)
        if found is None:
            return portal.not_found(request)
        return portal.render(request, "title.html", title=found)

    @app.get("/titles/{key}/{volume}/", response_class=HTMLResponse)
    def volume(request: Request, key: str, volume: str) -> Response:
        found = portal.released.title(key)
        items = portal.released.volume(key, volume) if found else []
        if found is None or not items:
            return portal.not_found(request)
        issues: dict[str, list[Any]] = {}
        for item in items:
            issues.setdefault(item.issue or "", []).append(item)
        return portal.render(request, "volume.html", title=found, volume=volume, issues=issues, items=items)

    def stored_file(object_id: str, f: FileView, headers: dict[str, str]) -> Response:
        """A preserved file, served from its object's content path inline, sandboxed."""
        path = node.store.object_path(object_id) / node.store.content_path_for(object_id, f.logical_path)
        return FileResponse(
            path,
            media_type=f.media_type,
            filename=f.name,
            content_disposition_type="inline",
            headers={"Content-Security-Policy": FILE_CSP, "X-Content-Type-Options": "nosniff", **headers},
        )

    def address(request: Request) -> str:
        return request.client.host if request.client else ""

    def count(
        request: Request, item: ItemView | ReleasedFile, metric: str, access: str, reader: Reader | None = None
    ) -> None:
        reader = reader or institutions.recognise(node.catalog, address(request), with_group=False)
        programme.log_use(
            node.catalog,
            item_public_id=item.public_id,
            title_key=item.title_key,
            publisher_key=item.publisher_key,
            metric=metric,
            access=access,
            institution=reader.key,
            country=reader.country,
            address=address(request),
            user_agent=request.headers.get("user-agent", ""),
        )

    @app.get("/counter/r51/reports")
    def sushi_reports() -> Response:
        listed = [
            {"Report_Name": n, "Report_ID": k.upper(), "Release": "5.1", "Path": f"/counter/r51/reports/{k}"}
            for k, n in counter.REPORTS.items()
        ]
        return JSONResponse(listed)

    @app.get("/counter/r51/reports/{report_id}")
    def sushi_report(
        request: Request,
        report_id: str,
        begin_date: str = Query(..., max_length=10),
        end_date: str = Query(..., max_length=10),
        customer_id: str | None = Query(None, max_length=40),
        publisher: str | None = Query(None, max_length=200),
        country: str | None = Query(None, max_length=2),
        api_key: str | None = Query(None, max_length=100),
        format: str = Query("json", pattern="^(json|csv)$"),
    ) -> Response:
        """COUNTER_SUSHI 5.1: a TR or IR for one institution (customer_id) or one publisher, by month, for whoever
        holds that institution's or publisher's API key (``strongroom counter-key``)."""
        kind, subject = ("institution", customer_id) if customer_id is not None else ("publisher", publisher)
        if subject is not None and not api_key:
            return sushi_error(2000, "Requestor Not Authorized to Access Service", "this report needs api_key")
        if subject is not None and not sushi.authorised(node.catalog, kind, subject, api_key or ""):
            return sushi_error(2020, "API Key Invalid", f"that api_key does not open this {kind}'s reports")
        try:
            data = counter.report(
                node.catalog,
                report_id.lower(),
                begin=begin_date[:7],
                end=end_date[:7],
                institution=customer_id,
                publisher=publisher,
                country=country,
            )
        except StrongroomError as exc:
            return JSONResponse({"Code": 3020, "Severity": "Error", "Message": str(exc)}, status_code=400)
        if format == "csv":
            return PlainTextResponse(counter.as_csv(data), media_type="text/csv")
        return JSONResponse(data)

    def sushi_error(code: int, message: str, data: str) -> Response:
        # the COUNTER_SUSHI exception form; no hint whether the institution or publisher exists
        return JSONResponse({"Code": code, "Severity": "Error", "Message": message, "Data": data}, status_code=401)

    def reader_of(request: Request) -> Reader:
        """A signed-in account's institution, else the institution whose network the request comes from."""
        token = request.cookies.get(SESSION_COOKIE)
        signed_in = accounts.reader(node.catalog, token) if token else None
        return signed_in or institutions.recognise(node.catalog, address(request))

    @app.get("/register", response_class=HTMLResponse)
    def register_form(request: Request) -> Response:
        return portal.render(
            request,
            "register.html",
            message="",
            form={},
            types=institutions.ELIGIBLE_TYPES,
            excluded=institutions.EXCLUDED_TYPES,
            done=None,
        )

    @app.post("/register", response_class=HTMLResponse)
    async def register(request: Request) -> Response:
        body = await request.body()
        form = {k: v[:500] for k, v in parse_qsl(body[:16384].decode("utf-8", "replace"))}
        context: dict[str, Any] = {
            "form": form,
            "types": institutions.ELIGIBLE_TYPES,
            "excluded": institutions.EXCLUDED_TYPES,
        }
        try:
            inst = institutions.register(
                node.catalog,
                name=form.get("name", ""),
                type=form.get("type", ""),
                country=form.get("country", ""),
                address=form.get("address", ""),
                director=institutions.Contact(form.get("director_name", ""), form.get("director_email", "")),
                librarian=institutions.Contact(form.get("librarian_name", ""), form.get("librarian_email", "")),
                ip_ranges=tuple(r for r in re.split(r"[\s,]+", form.get("ip_ranges", "")) if r),
                by="web form",
            )
        except StrongroomError as exc:
            message = str(exc) + (f" ({exc.hint})" if getattr(exc, "hint", None) else "")
            return portal.render(request, "register.html", status=422, message=message, done=None, **context)
        return portal.render(request, "register.html", message="", done=inst.key, **context)

    @app.get("/signin", response_class=HTMLResponse)
    def signin_form(request: Request) -> Response:
        return portal.render(request, "signin.html", message="")

    @app.post("/signin", response_class=HTMLResponse)
    async def signin(request: Request) -> Response:
        body = await request.body()
        form = dict(parse_qsl(body[:4096].decode("utf-8", "replace")))
        try:
            token = accounts.sign_in(
                node.catalog, form.get("username", "")[:200], form.get("password", "")[:200], address(request)
            )
        except accounts.SignInThrottled as exc:
            return portal.render(request, "signin.html", status=429, message=str(exc))
        except accounts.SignInRefused as exc:
            return portal.render(request, "signin.html", status=401, message=str(exc))
        prefix = getattr(request.state, "prefix", "")
        response = RedirectResponse(f"{prefix}/programme/", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=accounts.SESSION_HOURS * 3600,
            httponly=True,
            samesite="lax",
            secure=portal.base_url.startswith("https://"),
        )
        return response

    @app.post("/signout")
    def signout(request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            accounts.sign_out(node.catalog, token)
        response = RedirectResponse(f"{getattr(request.state, 'prefix', '')}/", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/programme/", response_class=HTMLResponse)
    def programme_home(request: Request) -> Response:
        reader = reader_of(request)
        allowed = reader.status is InstitutionStatus.VALIDATED and reader.group in ("A", "B")
        titles = portal.released.enrolled_titles(reader.group) if allowed else []
        return portal.render(request, "programme.html", reader=reader, titles=titles)

    def programme_gate(request: Request, public_id: str) -> tuple[Any, Reader] | Response:
        found = portal.released.enrolled_item(public_id)
        if found is None:
            return portal.not_found(request)  # dark, or unknown: nothing to say about it
        item, groups = found
        reader = reader_of(request)
        decision = decide(ItemState.ENROLLED, groups, reader, node.clock.now().date())
        if not decision.allow:
            return portal.render(request, "denied.html", status=403, decision=decision, title=item.title_name)
        return item, reader

    @app.get("/programme/articles/{public_id}/", response_class=HTMLResponse)
    def programme_article(request: Request, public_id: str) -> Response:
        if portal.released.item(public_id) is not None:
            return RedirectResponse(f"{getattr(request.state, 'prefix', '')}/articles/{public_id}/", status_code=301)
        gate = programme_gate(request, public_id)
        if isinstance(gate, Response):
            return gate
        item, reader = gate
        count(request, item, "investigation", "controlled", reader)
        landing = f"{portal.base_url}/programme/articles/{item.public_id}/"
        return portal.render(
            request,
            "article.html",
            item=item,
            meta=[],
            json_ld=json_ld(item, landing, landing),
            reference=reference(item),
            programme=reader,
        )

    @app.get("/programme/articles/{public_id}/{name}")
    def programme_download(request: Request, public_id: str, name: str) -> Response:
        gate = programme_gate(request, public_id)
        if isinstance(gate, Response):
            return gate
        item, reader = gate
        f = next((f for f in item.files if f.name == name), None)
        if f is None:
            raise StarletteHTTPException(404)
        count(request, item, "request", "controlled", reader)
        return stored_file(item.object_id, f, {"Cache-Control": "private, no-store"})

    @app.get("/articles/{public_id}/", response_class=HTMLResponse)
    def article(request: Request, public_id: str) -> Response:
        item = portal.released.item(public_id)
        if item is None:
            return portal.not_found(request)
        count(request, item, "investigation", "open")
        landing = f"{portal.base_url}/articles/{item.public_id}/"
        return portal.render(
            request,
            "article.html",
            item=item,
            meta=meta_tags(item, landing, landing),
            json_ld=json_ld(item, landing, landing),
            reference=reference(item),
        )

    @app.get("/articles/{public_id}/cite.ris")
    def article_ris(public_id: str) -> Response:
        item = portal.released.item(public_id)
        if item is None:
            raise StarletteHTTPException(404)
        body = ris(item, f"{portal.base_url}/articles/{item.public_id}/")
        return Response(
            body,
            media_type="application/x-research-info-systems",
            headers={"Content-Disposition": f'attachment; filename="{item.public_id}.ris"'},
        )

    @app.get("/articles/{public_id}/{name}")
    def download(request: Request, public_id: str, name: str) -> Response:
        found = portal.released.file(public_id, name)
        if found is None:
            raise StarletteHTTPException(404)
        count(request, found, "request", "open")  # it carries the public id, title and publisher the log needs
        canonical = f'<{portal.base_url}/articles/{public_id}/>; rel="canonical"'
        return stored_file(found.object_id, found.file, {"Link": canonical})

    @app.get("/archive/{au_key:path}")
    def archived_page(au_key: str, url: str = Query(..., max_length=2000)) -> Response:
        """A harvested page of a released AU, replayed from its WARC; in an HTML page, the addresses of what the
        AU also holds lead to their archived copies."""
        from strongroom.portal.replay import rewrite
        from strongroom.services.harvest import archived_urls, cdx_lines, replay

        au_key = au_key.rstrip("/")
        object_id = portal.released.archived_au(au_key)
        if object_id is None:
            raise StarletteHTTPException(404)
        index = cdx_lines(node.store, object_id)  # read once: it finds the capture and the addresses held
        try:
            found = replay(node.store, object_id, url, lines=index)
        except StrongroomError:
            raise StarletteHTTPException(404) from None
        kind = next((v for k, v in found.headers if k.lower() == "content-type"), "application/octet-stream")
        body = found.body
        if kind.split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml"):
            rewritten = rewrite(body, found.url, au_key, archived_urls(index))
            if rewritten is not None:
                body, kind = rewritten, "text/html; charset=utf-8"
        return Response(
            body,
            status_code=found.status if 200 <= found.status < 300 else 200,
            media_type=kind,
            headers={
                "Content-Security-Policy": FILE_CSP,
                "X-Content-Type-Options": "nosniff",
                "Memento-Datetime": found.timestamp,
                "Link": f'<{url}>; rel="original"',
            },
        )

    @app.get("/doi/{doi:path}")
    def by_doi(request: Request, doi: str) -> Response:
        item = portal.released.item_by_doi(doi)
        if item is None:
            return portal.not_found(request)
        prefix = getattr(request.state, "prefix", "")
        return RedirectResponse(f"{prefix}/articles/{item.public_id}/", status_code=301)

    @app.get("/search", response_class=HTMLResponse)
    def search(
        request: Request, q: str = Query("", max_length=MAX_QUERY), page: int = Query(1, ge=1, le=1000)
    ) -> Response:
        items, total = portal.released.search(q, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE) if q else ([], 0)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        return portal.render(request, "search.html", q=q, items=items, total=total, page=page, pages=pages)

    @app.get("/releases/", response_class=HTMLResponse)
    def releases(request: Request) -> Response:
        return portal.render(request, "releases.html", releases=portal.released.releases())

    @app.get("/releases.atom")
    def releases_feed() -> Response:
        body = feeds.atom(portal.released.releases(), portal.base_url, node.settings.node_name, node.clock.now())
        return Response(body, media_type="application/atom+xml")

    @app.get("/sitemap.xml")
    def sitemap() -> Response:
        return Response(feeds.sitemap(portal.released, portal.base_url, sitemap_limit), media_type="application/xml")

    @app.get("/sitemaps/{n}.xml")
    def sitemap_part(request: Request, n: int) -> Response:
        part = feeds.sitemap_part(portal.released, portal.base_url, n, sitemap_limit)
        return portal.not_found(request) if part is None else Response(part, media_type="application/xml")

    @app.get("/robots.txt")
    def robots() -> Response:
        return PlainTextResponse(f"User-agent: *\nDisallow: /search\nSitemap: {portal.base_url}/sitemap.xml\n")

    provider = oai.Provider(
        portal.released,
        node.store,
        base_url=portal.base_url + "/oai",
        name=node.settings.node_name,
        admin_email=node.settings.portal.admin_email,
        clock=node.clock,
        page_size=oai_page_size,
    )

    @app.api_route("/oai", methods=["GET", "POST"])
    async def oai_endpoint(request: Request) -> Response:
        if request.method == "POST":
            body = await request.body()
            if len(body) > 8192:
                args = [("verb", "")]
            else:
                args = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        else:
            args = list(request.query_params.multi_items())
        return Response(provider.respond(args), media_type="text/xml; charset=utf-8")

    return app


def serve_portal(
    node: Node, host: str, port: int, *, oai_page_size: int = 100, trusted_proxies: str | None = None
) -> None:
    """Serve until stopped. A reader's address (which decides access by an institution's network) is the
    connection's, unless the connection comes from one of ``trusted_proxies`` (default: the setting), whose
    X-Forwarded-For then names it; set explicitly, so uvicorn's own default (trust 127.0.0.1, or the
    FORWARDED_ALLOW_IPS environment variable) never decides who may read what."""
    import uvicorn

    from strongroom.settings import proxy_networks

    proxies = proxy_networks(node.settings.portal.trusted_proxies if trusted_proxies is None else trusted_proxies)
    uvicorn.run(
        create_portal(node, oai_page_size=oai_page_size, cache_seconds=30.0),
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or [],
    )
