"""The operators' page of publishers' sign-ins: the staff accounts there are, and a new one for a publisher's staff,
its password made on the node and shown once for the operator to give them (``strongroom publisher-staff`` does
the same at a terminal). The publisher's staff then deposit and follow their titles on the portal's /publisher/
pages."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from strongroom.domain.text import N_, Text
from strongroom.errors import NotFound, StrongroomError
from strongroom.portal.console.common import field, lang_of, read_form, render, require
from strongroom.portal.i18n import say
from strongroom.portal.render import portal_of
from strongroom.services.accounts import USERNAME, Person, Role
from strongroom.services.keyset import BadCursor

router = APIRouter()
PAGE = "/console/publishers/"
ACCOUNTS_SHOWN = 100  # staff accounts on one page of the list, newest first


def _page(
    request: Request,
    person: Person,
    status: int = 200,
    *,
    error: Text | None = None,
    values: dict[str, str] | None = None,
    made: dict[str, str] | None = None,
) -> Response:
    after = request.query_params.get("after", "")
    try:  # the page this form was on (its address keeps the cursor), so an error is shown where it was made
        accounts = portal_of(request).node.publishers.staff_accounts(after=after or None, limit=ACCOUNTS_SHOWN)
    except BadCursor:  # an address no page gave: the reader's 400, not the server's 500
        raise StarletteHTTPException(400) from None
    return render(
        request,
        person,
        "console/publishers.html",
        status,
        accounts=accounts.rows,
        page=accounts,
        after=after,
        error=say(error, lang_of(request)) if error else "",
        values=values or {},
        made=made,
    )


@router.get(PAGE, response_class=HTMLResponse)
def publishers_page(request: Request) -> Response:
    return _page(request, require(request, Role.OPERATOR))


@router.post(PAGE, response_class=HTMLResponse)
async def make_staff_account(request: Request) -> Response:
    person = require(request, Role.OPERATOR)
    form = await read_form(request)
    values = {name: field(form, name, 200) for name in ("publisher", "username", "name")}
    if not USERNAME.fullmatch(values["username"]):
        return _page(
            request,
            person,
            422,
            error=N_("a username is 3 to 64 small letters, digits, dots, dashes or underscores"),
            values=values,
        )
    password = secrets.token_urlsafe(12)
    node = portal_of(request).node
    try:
        node.publishers.create_staff(
            values["publisher"], values["username"], password, named=values["name"], by=person.actor
        )
    except NotFound:
        error = N_(
            "There is no publisher %(key)s. The portal's list of publishers gives their keys.", key=values["publisher"]
        )
        return _page(request, person, 422, error=error, values=values)
    except StrongroomError:  # the one other refusal: the username is another account's
        return _page(
            request,
            person,
            422,
            error=N_("the username %(username)s is taken", username=values["username"]),
            values=values,
        )
    return _page(
        request, person, made={"publisher": values["publisher"], "username": values["username"], "password": password}
    )
