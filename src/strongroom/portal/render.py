"""What every room of the portal shares: pages rendered from Jinja templates in the reader's language, with the
headers every page carries; preserved files served from the node's copy (sandboxed, byte ranges honoured); the
reader's address; and the usage log every view and download is counted in."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import jinja2
from babel.dates import format_date
from fastapi import Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from markupsafe import Markup

from strongroom import __version__
from strongroom.domain.access import Reader
from strongroom.formats.text import visible
from strongroom.node import Node
from strongroom.portal.citation import licence_label, licence_url
from strongroom.portal.i18n import DEFAULT, LANGUAGES, content_attributes, country_name, language_name, translations
from strongroom.services.released import FileView, ItemView, Released, ReleasedFile

TEMPLATES = Path(__file__).parent / "templates"
CHUNK = 1 << 20

# No script may run on a portal page; styles are inline; images only from the portal itself.
PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
# A console page that needs JavaScript (signing a ballot, following a job) runs the console's own scripts, no other.
SCRIPT_CSP = PAGE_CSP.replace("default-src 'none';", "default-src 'none'; script-src 'self'; connect-src 'self';")
# A downloaded file (an HTML galley, say) is shown sandboxed: it can run nothing and reach nothing.
FILE_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"
SESSION_COOKIE = "sr_session"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def human_size(n: int) -> str:
    units = ("B", "KB", "MB", "GB")
    i = min(int(math.log(max(n, 1), 1000)), len(units) - 1)
    return f"{n / 1000**i:.0f} {units[i]}" if i == 0 else f"{n / 1000**i:.1f} {units[i]}"


def _finalize(value: Any) -> Any:
    """Every value a template prints: control and bidi-override characters shown as escapes, so a title cannot
    reverse or hide the text around it (the HTML escaping that follows is Jinja's)."""
    if isinstance(value, Markup):
        return Markup(visible(str(value)))  # noqa: S704 - already-escaped HTML; only control characters change
    if isinstance(value, str):
        return visible(value)
    return value


def make_environments() -> dict[str, jinja2.Environment]:
    out = {}
    for lang in LANGUAGES:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            finalize=_finalize,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
        out[lang] = env
    return out


def address(request: Request) -> str:
    return request.client.host if request.client else ""


def prefix(request: Request) -> str:
    """The language prefix the reader came in by (``/fr``), or ''."""
    return str(getattr(request.state, "prefix", ""))


def head_only(request: Request) -> bool:
    """A HEAD request (answered as a GET without its body, see :class:`strongroom.portal.app.HeadAsGet`)."""
    return request.method == "HEAD" or bool(getattr(request.state, "head", False))


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(CHUNK):
            yield chunk


@dataclass
class Portal:
    node: Node
    released: Released
    environments: dict[str, jinja2.Environment]

    @property
    def base_url(self) -> str:
        return self.node.settings.portal.base_url.rstrip("/")

    def render(
        self, request: Request, template: str, status: int = 200, *, csp: str = PAGE_CSP, **context: Any
    ) -> HTMLResponse:
        """A page in the reader's language. ``csp``: the page's Content-Security-Policy (no script runs on a
        portal page; a console page that needs one widens it to the console's own scripts, see
        :data:`SCRIPT_CSP`)."""
        lang: str = getattr(request.state, "lang", DEFAULT)
        lang_prefix = prefix(request)
        path = request.url.path

        def u(p: str) -> str:
            return lang_prefix + p

        html = (
            self.environments[lang]
            .get_template(template)
            .render(
                lang=lang,
                u=u,
                quote=quote,
                path=path,
                base_url=self.base_url,
                # the page in the language it is in; every language version and the negotiated one (x-default)
                canonical=self.base_url + lang_prefix + path,
                default_url=self.base_url + path,
                languages=[(code, language_name(code), f"/{code}{path}") for code in LANGUAGES],
                lang_attrs=lambda language: Markup(content_attributes(language, lang)),  # noqa: S704 - a checked tag
                node_name=self.node.settings.node_name,
                version=__version__,
                date=lambda d: format_date(d, format="long", locale=lang) if d else "",
                licence_label=licence_label,
                licence_url=licence_url,
                country_name=lambda code: country_name(code, lang),
                size=human_size,
                **context,
            )
        )
        headers = {
            "Content-Language": lang,
            "Content-Security-Policy": csp,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        }
        if not lang_prefix:
            headers["Vary"] = "Accept-Language"
        return HTMLResponse(html, status_code=status, headers=headers)

    def not_found(self, request: Request) -> HTMLResponse:
        return self.render(request, "error.html", status=404, status_code=404)

    def stored_file(self, request: Request, object_id: str, f: FileView, headers: dict[str, str]) -> Response:
        """A preserved file, streamed from the node's copy inline and sandboxed; a single byte range is honoured
        (a reader on a slow link resumes a download where it stopped)."""
        quoted = quote(f.name)
        disposition = f"inline; filename*=utf-8''{quoted}" if quoted != f.name else f'inline; filename="{f.name}"'
        common = {
            "Content-Security-Policy": FILE_CSP,
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": disposition,
            "Accept-Ranges": "bytes",
            **headers,
        }
        start, length, status = 0, f.size, 200
        wanted = _RANGE.match(request.headers.get("range", "").strip())
        if wanted and (wanted.group(1) or wanted.group(2)):
            first, last = wanted.group(1), wanted.group(2)
            if first:
                start, end = int(first), min(int(last), f.size - 1) if last else f.size - 1
            else:
                start, end = max(0, f.size - int(last)), f.size - 1
            if start >= f.size or end < start:
                return Response(status_code=416, headers={"Content-Range": f"bytes */{f.size}", **common})
            length, status = end - start + 1, 206
            common["Content-Range"] = f"bytes {start}-{end}/{f.size}"
        common["Content-Length"] = str(length)
        if head_only(request):
            return Response(status_code=status, media_type=f.media_type, headers=common)
        stream = self.released.open_file(object_id, f, start=start, length=length)
        return StreamingResponse(_chunks(stream), status_code=status, media_type=f.media_type, headers=common)

    def count(
        self, request: Request, item: ItemView | ReleasedFile, metric: str, access: str, reader: Reader | None = None
    ) -> None:
        """Log one use (a page viewed, a file requested) for the usage reports; a HEAD request is not a use."""
        if head_only(request):
            return
        node = self.node
        reader = reader or node.institutions.recognise(address(request), with_group=False)
        node.programme.log_use(
            item_public_id=item.public_id,
            title_key=item.title_key,
            publisher_key=item.publisher_key,
            metric=metric,
            access=access,
            institution=reader.key,
            country=reader.country,
            address=address(request),
            user_agent=request.headers.get("user-agent", ""),
            url=request.url.path,  # double-clicks are counted per URL (COUNTER 5.1, 7.2)
            signin=request.cookies.get(SESSION_COOKIE),  # the user-session, when the reader signed in
        )


def portal_of(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal
