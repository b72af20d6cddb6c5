"""The access programme's room: institutions register, and readers at eligible institutions read what publishers
enrolled, every page and file behind :func:`strongroom.domain.access.decide` (the one access rule)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from strongroom.domain.access import Decision, ItemState, Reader, decide
from strongroom.errors import StrongroomError
from strongroom.portal.accounts import reader_of, refusal
from strongroom.portal.citation import json_ld, reference
from strongroom.portal.i18n import DEFAULT, say
from strongroom.portal.render import Portal, portal_of, prefix
from strongroom.services.institutions import ELIGIBLE_TYPES, EXCLUDED_LABELS, REGISTRATION_WIDEST, Contact
from strongroom.services.released import ItemView

router = APIRouter()


# ---- registration --------------------------------------------------------------------------------------------


def _lang(request: Request) -> str:
    return str(getattr(request.state, "lang", DEFAULT))


def _types(request: Request) -> dict[str, Any]:
    """The form's institution types, labelled in the reader's language: the eligible ones, then the excluded."""
    lang = _lang(request)
    return {
        "types": {key: say(label, lang) for key, label in ELIGIBLE_TYPES.items()},
        "excluded": {key: say(label, lang) for key, label in EXCLUDED_LABELS.items()},
        "widest": REGISTRATION_WIDEST,
    }


@router.get("/register", response_class=HTMLResponse)
def register_form(request: Request) -> Response:
    return portal_of(request).render(request, "register.html", message="", form={}, done=None, **_types(request))


@router.post("/register", response_class=HTMLResponse)
async def register(request: Request) -> Response:
    portal = portal_of(request)
    body = await request.body()
    form = {k: v[:500] for k, v in parse_qsl(body[:16384].decode("utf-8", "replace"))}
    context: dict[str, Any] = {"form": form, **_types(request)}
    try:
        inst = portal.node.institutions.register(
            name=form.get("name", ""),
            type=form.get("type", ""),
            country=form.get("country", ""),
            address=form.get("address", ""),
            director=Contact(form.get("director_name", ""), form.get("director_email", "")),
            librarian=Contact(form.get("librarian_name", ""), form.get("librarian_email", "")),
            ip_ranges=tuple(r for r in re.split(r"[\s,]+", form.get("ip_ranges", "")) if r),
            by="web form",
        )
    except StrongroomError as exc:
        return portal.render(request, "register.html", status=422, message=refusal(request, exc), done=None, **context)
    return portal.render(request, "register.html", message="", done=inst.key, **context)


# ---- reading -------------------------------------------------------------------------------------------------


@router.get("/programme/", response_class=HTMLResponse)
def programme_home(request: Request) -> Response:
    portal = portal_of(request)
    reader = reader_of(portal, request)
    today = portal.node.clock.now().date()
    titles = [
        title
        for title in portal.released.enrolled_titles(reader.group)
        if decide(ItemState.ENROLLED, frozenset({reader.group}), reader, today).allow
    ]
    return portal.render(request, "programme.html", reader=reader, titles=titles)


def _gate(portal: Portal, request: Request, public_id: str) -> tuple[ItemView, Reader] | Response:
    found = portal.released.enrolled_item(public_id)
    if found is None:
        return portal.not_found(request)  # dark, or unknown: nothing to say about it
    item, groups = found
    reader = reader_of(portal, request)
    decision = decide(ItemState.ENROLLED, groups, reader, portal.node.clock.now().date())
    if not decision.allow:
        lang = _lang(request)
        decision = Decision(False, say(decision.reason, lang), say(decision.next_step, lang))
        if reader.key is not None:  # COUNTER No_License: a known institution's reader refused the content
            portal.count(request, item, "no_license", "controlled", reader)
        return portal.render(
            request,
            "denied.html",
            status=403,
            decision=decision,
            title=item.title_name,
            title_language=item.title_language,
        )
    return item, reader


@router.get("/programme/articles/{public_id}/", response_class=HTMLResponse)
def programme_article(request: Request, public_id: str) -> Response:
    portal = portal_of(request)
    if portal.released.item(public_id) is not None:
        return RedirectResponse(f"{prefix(request)}/articles/{public_id}/", status_code=301)
    gate = _gate(portal, request, public_id)
    if isinstance(gate, Response):
        return gate
    item, reader = gate
    portal.count(request, item, "investigation", "controlled", reader)
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


@router.get("/programme/articles/{public_id}/{name}")
def programme_download(request: Request, public_id: str, name: str) -> Response:
    portal = portal_of(request)
    if portal.released.file(public_id, name) is not None:  # released since: the open address, as for the page
        return RedirectResponse(f"{prefix(request)}/articles/{public_id}/{quote(name)}", status_code=301)
    gate = _gate(portal, request, public_id)
    if isinstance(gate, Response):
        return gate
    item, reader = gate
    f = next((f for f in item.files if f.name == name), None)
    if f is None:
        raise StarletteHTTPException(404)
    portal.count(request, item, "request", "controlled", reader)
    return portal.stored_file(request, item.object_id, f, {"Cache-Control": "private, no-store"})
