"""The console's front page (the sections this person may see) and the console's own scripts."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from strongroom.portal.console.common import render, require

router = APIRouter()
ASSETS = Path(__file__).parent / "assets"
_ASSET = re.compile(r"^[a-z][a-z0-9-]*\.js$")


@router.get("/console/", response_class=HTMLResponse)
def console_home(request: Request) -> Response:
    person = require(request)
    return render(request, person, "console/home.html")


@router.get("/console/assets/{name}")
def asset(name: str) -> Response:
    """One of the console's scripts (a name of letters, digits and dashes; nothing else is served from here)."""
    path = ASSETS / name
    if not _ASSET.match(name) or not path.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(
        path.read_bytes(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"},
    )
