"""The web archive's room: a released AU's harvested pages replayed from its WARC files; in an archived HTML page,
the addresses of what the AU also holds lead to their archived copies, so readers stay in the archive."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from strongroom.errors import StrongroomError
from strongroom.portal.render import FILE_CSP, portal_of
from strongroom.portal.replay import rewrite

router = APIRouter()


@router.get("/archive/{au_key:path}")
def archived_page(request: Request, au_key: str, url: str = Query(..., max_length=2000)) -> Response:
    portal = portal_of(request)
    au_key = au_key.rstrip("/")
    object_id = portal.released.archived_au(au_key)
    if object_id is None:
        raise StarletteHTTPException(404)
    replay = portal.node.replay
    with replay.index(object_id) as index:  # opened once: it finds the capture, then each link's target
        try:
            found = replay.replay_object(object_id, url, index=index)
        except StrongroomError:
            raise StarletteHTTPException(404) from None
        kind = next((v for k, v in found.headers if k.lower() == "content-type"), "application/octet-stream")
        body = found.body
        if kind.split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml"):
            rewritten = rewrite(body, found.url, au_key, index)
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
