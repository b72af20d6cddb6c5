"""The console's network administration (role ``network-admin``): the signed configuration this node holds, a
draft of the next one kept in the form itself (never on the node), what the draft would change before anything is
produced (members, policy, which AUs are placed elsewhere and where their copies go), the unsigned configuration
to sign away from the node (``strongroom network sign``) or in the browser (``assets/sign-config.js``: the key
file is read there and never sent), and installing a signed configuration as ``network join`` does.

Everything about configurations is done by :mod:`strongroom.services.network_admin` (the same check as ``network
sign``, the same install as ``network join``); this module reads forms and shows pages."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.datastructures import FormData, UploadFile

from strongroom.domain.text import N_
from strongroom.errors import ConfigError
from strongroom.portal.console.common import Refused, read_form, render, require
from strongroom.portal.render import portal_of
from strongroom.services.accounts import Person, Role
from strongroom.services.network_admin import (
    POLICY_FIELDS,
    Draft,
    MemberState,
    NetworkAdministration,
    Preview,
    problems_of,
    unsigned_bytes,
)

router = APIRouter()
PAGE = "/console/network/admin/"
MAX_SIGNED = 1024 * 1024  # a signed configuration file
_NAME = re.compile(r"[^A-Za-z0-9._-]+")

# What each member's state is called on the page.
STATES = {
    MemberState.CURRENT: N_("unchanged"),
    MemberState.NEW: N_("to add"),
    MemberState.CHANGED: N_("changed"),
    MemberState.RETIRED: N_("to retire"),
}


def _admin(request: Request) -> NetworkAdministration:
    return portal_of(request).node.network_admin


def _fields(form: FormData) -> dict[str, str]:
    return {k: v[:20000] for k, v in form.multi_items() if isinstance(v, str)}


def _page(
    request: Request,
    person: Person,
    admin: NetworkAdministration,
    draft: Draft,
    seen: Preview | None = None,
    status: int = 200,
    **context: Any,
) -> Response:
    return render(
        request,
        person,
        "console/network_admin.html",
        status,
        held=admin.held(),
        admin_key=admin.admin_key,
        draft=draft,
        seen=seen,
        states=STATES,
        policy_fields=[name for name, _ in POLICY_FIELDS],
        **context,
    )


@router.get(PAGE, response_class=HTMLResponse)
def network_admin(request: Request) -> Response:
    person = require(request, Role.NETWORK_ADMIN)
    admin = _admin(request)
    return _page(request, person, admin, Draft.of(admin.held()))


@router.post(PAGE, response_class=HTMLResponse)
async def network_admin_draft(request: Request) -> Response:
    """The draft, sent back: ``update`` takes pasted entries and retirements into it, ``preview`` shows what it
    would change, ``produce`` gives the unsigned configuration when it has no problem."""
    person = require(request, Role.NETWORK_ADMIN)
    form = await read_form(request)
    admin = _admin(request)
    fields = _fields(form)
    draft = Draft.read(fields)
    action = fields.get("action", "update")
    if action == "update":
        status = 422 if draft.problems else 200
        return _page(request, person, admin, draft, None, status)
    if action == "produce":
        seen, body = admin.produce(draft, person.actor)
        if body is not None and seen.config is not None:
            return _produced(request, person, admin, seen, body)
    else:
        seen = admin.preview(draft)
    return _page(request, person, admin, seen.draft, seen, 422 if seen.problems else 200)


@router.post(PAGE + "preview.json")
async def network_admin_preview(request: Request) -> Response:
    """The preview as JSON (the page's numbers, for scripts and tests)."""
    require(request, Role.NETWORK_ADMIN)
    form = await read_form(request)
    seen = _admin(request).preview(Draft.read(_fields(form)))
    return JSONResponse(
        seen.to_dict(), status_code=422 if seen.problems else 200, headers={"Cache-Control": "no-store"}
    )


def _file_name(name: str, serial: int) -> str:
    return f"network-{_NAME.sub('-', name).strip('-') or 'config'}-{serial}.json"


def _produced(
    request: Request, person: Person, admin: NetworkAdministration, seen: Preview, body: bytes, status: int = 200
) -> Response:
    assert seen.config is not None
    return render(
        request,
        person,
        "console/network_admin_produce.html",
        status,
        script=True,
        held=admin.held(),
        admin_key=admin.admin_key,
        seen=seen,
        config=seen.config,
        unsigned=body.decode("utf-8"),
        unsigned_b64=base64.b64encode(body).decode("ascii"),
        file_name=_file_name(seen.config.name, seen.config.serial),
    )


def _unsigned(text: str) -> bytes:
    """The unsigned configuration sent back by a form, checked again as ``network sign`` checks it."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused(N_("The configuration sent is not JSON."), status=422) from None
    config, problems = problems_of(data)
    if config is None:
        raise Refused(N_("The configuration sent does not pass the check: %(why)s", why=problems[0][0]), status=422)
    return unsigned_bytes(config)


@router.post(PAGE + "unsigned")
async def network_admin_download(request: Request) -> Response:
    """The unsigned configuration as a file: the exact bytes ``network sign`` signs."""
    require(request, Role.NETWORK_ADMIN)
    form = await read_form(request)
    body = _unsigned(str(form.get("config") or ""))
    config = json.loads(body)
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{_file_name(config["name"], config["serial"])}"',
            "Cache-Control": "no-store",
        },
    )


async def _signed_document(form: FormData) -> Any:
    """The signed configuration a form carries: a file ``network sign`` wrote, or the unsigned configuration and
    a signature made in the browser."""
    upload = form.get("signed")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(MAX_SIGNED + 1)
        if len(raw) > MAX_SIGNED:
            raise ConfigError(N_("the signed configuration file is too large"))
        try:
            return json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):
            raise ConfigError(
                N_("the file is not a signed network configuration (not JSON)"),
                hint=N_("upload the file 'strongroom network sign ... --out signed.json' wrote"),
            ) from None
    text, signature = form.get("config"), form.get("signature")
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(
            N_("no signed configuration was sent"),
            hint=N_("choose the file 'strongroom network sign' wrote, or sign the configuration in the browser"),
        )
    try:
        config = json.loads(text)
    except (ValueError, RecursionError):
        raise ConfigError(N_("the configuration sent is not JSON")) from None
    return {"config": config, "signature": signature.strip() if isinstance(signature, str) else ""}


@router.post(PAGE + "install", response_class=HTMLResponse)
async def network_admin_install(request: Request) -> Response:
    """Install a signed configuration on this node (verified with the administrative key it trusts)."""
    person = require(request, Role.NETWORK_ADMIN)
    form = await read_form(request)
    admin = _admin(request)
    try:
        document = await _signed_document(form)
        config = admin.install(document, person.actor)
    except ConfigError as exc:
        return render(
            request,
            person,
            "console/network_admin_installed.html",
            422,
            refused=exc.message,
            hint=exc.hint or "",
            held=admin.held(),
        )
    return render(
        request, person, "console/network_admin_installed.html", installed=config, held=admin.held(), refused=""
    )
