"""Signing in and out: an institution's account (or a named user under it) opens a session, kept as a hashed
token behind an HttpOnly, SameSite cookie; failed sign-ins are throttled."""

from __future__ import annotations

import hashlib
import hmac
import re
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from strongroom.domain.access import Reader
from strongroom.errors import StrongroomError
from strongroom.portal.i18n import DEFAULT, say
from strongroom.portal.render import SESSION_COOKIE, Portal, address, portal_of, prefix
from strongroom.services.accounts import SESSION_HOURS, STAFF_ROLES, Role, SignInRefused, SignInThrottled

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


_LOCAL_PATH = re.compile(r"^/(?![/\\])[\w\-./%?=&~]*$")


def _next(value: str) -> str:
    """Where to go after signing in, when the sign-in page was reached from a page that needs it: a path on this
    site only ('' otherwise: never a redirect to another site)."""
    return value if _LOCAL_PATH.match(value) and len(value) < 500 else ""


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request) -> Response:
    return portal_of(request).render(
        request, "signin.html", message="", next=_next(request.query_params.get("next", "")), username=""
    )


@router.post("/signin", response_class=HTMLResponse)
async def signin(request: Request) -> Response:
    portal = portal_of(request)
    body = await request.body()
    form = dict(parse_qsl(body[:4096].decode("utf-8", "replace")))
    then = _next(form.get("next", ""))
    username = form.get("username", "")[:200]
    try:
        token = portal.node.accounts.sign_in(username, form.get("password", "")[:200], address(request))
    except (SignInThrottled, SignInRefused) as exc:  # the username typed stays in the form; the password never
        status = 429 if isinstance(exc, SignInThrottled) else 401
        message = refusal(request, exc)
        return portal.render(request, "signin.html", status=status, message=message, next=then, username=username)
    person = portal.node.accounts.person(token)  # one form for every kind of account: each goes to its pages
    roles = person.roles if person else frozenset()
    if then:
        target = then
    elif roles & set(STAFF_ROLES) or Role.INSTITUTION_ADMIN in roles:
        target = f"{prefix(request)}/console/"
    elif Role.PUBLISHER in roles:
        target = f"{prefix(request)}/publisher/"
    else:
        target = f"{prefix(request)}/programme/"
    response = RedirectResponse(target, status_code=303)
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
async def signout(request: Request) -> Response:
    """Sign out, when the form carries the session's token (another site cannot sign a person out)."""
    token = request.cookies.get(SESSION_COOKIE)
    body = await request.body()
    sent = dict(parse_qsl(body[:4096].decode("utf-8", "replace"))).get("csrf", "")
    if token and not csrf_ok(request, sent):
        return portal_of(request).render(request, "error.html", status=403, status_code=403)
    if token:
        portal_of(request).node.accounts.sign_out(token)
    response = RedirectResponse(f"{prefix(request)}/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
