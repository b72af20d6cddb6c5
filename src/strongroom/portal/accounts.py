"""Signing in and out: an institution's account (or a named user under it) opens a session, kept as a hashed
token behind an HttpOnly, SameSite cookie; failed sign-ins are throttled."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from strongroom.domain.access import Reader
from strongroom.errors import StrongroomError
from strongroom.portal.i18n import DEFAULT, say
from strongroom.portal.render import SESSION_COOKIE, Portal, address, portal_of, prefix
from strongroom.services.accounts import SESSION_HOURS, SignInRefused, SignInThrottled

router = APIRouter()


def refusal(request: Request, exc: StrongroomError) -> str:
    """A refusal from a service in the reader's language, with its hint: "message (hint)"."""
    lang = str(getattr(request.state, "lang", DEFAULT))
    return say(exc.message, lang) + (f" ({say(exc.hint, lang)})" if exc.hint else "")


def reader_of(portal: Portal, request: Request) -> Reader:
    """A signed-in account's institution, else the institution whose network the request comes from."""
    node = portal.node
    token = request.cookies.get(SESSION_COOKIE)
    signed_in = node.accounts.reader(token) if token else None
    return signed_in or node.institutions.recognise(address(request))


def csrf_token(request: Request) -> str:
    """The token a signed-in form carries: derived from the session's secret token, so a page of another site,
    which can neither read the cookie nor this page, cannot forge it ('' without a session)."""
    token = request.cookies.get(SESSION_COOKIE, "")
    return hashlib.sha256(b"strongroom-csrf:" + token.encode()).hexdigest() if token else ""


def csrf_ok(request: Request, sent: str) -> bool:
    """A signed-in form's token is right and, when the browser names it, the form came from this portal."""
    origin = request.headers.get("origin")
    ours = {request.headers.get("host", ""), urlsplit(portal_of(request).base_url).netloc}
    if origin and urlsplit(origin).netloc not in ours:
        return False
    expected = csrf_token(request)
    return bool(expected) and hmac.compare_digest(expected, sent)


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request) -> Response:
    return portal_of(request).render(request, "signin.html", message="")


@router.post("/signin", response_class=HTMLResponse)
async def signin(request: Request) -> Response:
    portal = portal_of(request)
    body = await request.body()
    form = dict(parse_qsl(body[:4096].decode("utf-8", "replace")))
    try:
        token = portal.node.accounts.sign_in(
            form.get("username", "")[:200], form.get("password", "")[:200], address(request)
        )
    except SignInThrottled as exc:
        return portal.render(request, "signin.html", status=429, message=refusal(request, exc))
    except SignInRefused as exc:
        return portal.render(request, "signin.html", status=401, message=refusal(request, exc))
    staff = portal.node.publishers.staff(token)  # one form for both kinds of account: each goes to its pages
    response = RedirectResponse(f"{prefix(request)}/{'publisher' if staff else 'programme'}/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="lax",
        secure=portal.base_url.startswith("https://"),
    )
    return response


@router.post("/signout")
def signout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        portal_of(request).node.accounts.sign_out(token)
    response = RedirectResponse(f"{prefix(request)}/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
