"""What every page of the console shares: who is signed in and what they may do (:class:`Person`, from the same
sessions as the portal's accounts), refusals (a stranger is sent to sign in, a signed-in person without the role
is refused with a page that says so), forms read with their CSRF token checked, and pages rendered with the
console's navigation, never cached and never indexed."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from multipart import MultipartError, MultipartParser, parse_options_header  # type: ignore[import-untyped]
from starlette.datastructures import FormData, UploadFile

from strongroom.domain.text import N_, Text
from strongroom.portal.accounts import csrf_ok, csrf_token
from strongroom.portal.i18n import DEFAULT, say
from strongroom.portal.render import PAGE_CSP, SCRIPT_CSP, SESSION_COOKIE, portal_of, prefix
from strongroom.services.accounts import Person, Role

MAX_FORM = 2 * 1024 * 1024  # a form's body; the largest is a signed network configuration


class NotSignedIn(Exception):
    """Nobody is signed in: the console sends them to sign in, and back here after."""


class Refused(Exception):
    """The signed-in person may not do this (or the form's CSRF token is wrong)."""

    def __init__(self, message: Text, status: int = 403) -> None:
        super().__init__(str(message))
        self.message = message
        self.status = status


# The console's sections: (path, label, description, the roles that see it).
SECTIONS: tuple[tuple[str, Text, Text, frozenset[Role]], ...] = (
    (
        "/console/node/",
        N_("This node"),
        N_("Storage, audits, jobs, alarms, harvests and deposits of this node."),
        frozenset({Role.OPERATOR}),
    ),
    (
        "/console/jobs/",
        N_("Jobs"),
        N_("Start audits, harvests and exports, and follow them to the end."),
        frozenset({Role.OPERATOR}),
    ),
    (
        "/console/network/",
        N_("The network"),
        N_("Members by country, copies of each AU against the policy, polls and repairs."),
        frozenset({Role.OPERATOR, Role.NETWORK_ADMIN, Role.BOARD}),
    ),
    (
        "/console/network/admin/",
        N_("Network administration"),
        N_("Add, change and retire members and the policy; prepare the configuration to sign."),
        frozenset({Role.NETWORK_ADMIN}),
    ),
    (
        "/console/board/",
        N_("The board"),
        N_("Proposals to release content, their evidence, and your signed ballot."),
        frozenset({Role.BOARD}),
    ),
    (
        "/console/institutions/",
        N_("Institutions"),
        N_("Registrations and address-range changes waiting for confirmation."),
        frozenset({Role.OPERATOR}),
    ),
    (
        "/console/publishers/",
        N_("Publishers' accounts"),
        N_("Sign-ins for publishers' staff, to deposit and follow their titles."),
        frozenset({Role.OPERATOR}),
    ),
    (
        "/console/institution/",
        N_("Your institution"),
        N_("Registration, address ranges, users, access period, usage and COUNTER reports."),
        frozenset({Role.INSTITUTION_ADMIN}),
    ),
    (
        "/publisher/",
        N_("Your publisher's pages"),
        N_("Your titles' path to preserved, deposits and certificates."),
        frozenset({Role.PUBLISHER}),
    ),
)


# The job queue's states and kinds, as a person reads them (the queue and its JSON keep the codes).
JOB_WORDS: dict[str, Text] = {
    "todo": N_("waiting"),
    "doing": N_("running"),
    "succeeded": N_("succeeded"),
    "failed": N_("failed"),
    "cancelled": N_("cancelled"),
    "aborted": N_("aborted"),
    "audit": N_("audit"),
    "poll": N_("poll"),
    "harvest": N_("harvest"),
    "oai-harvest": N_("OAI-PMH harvest"),
    "replicate": N_("replication round"),
    "deposits": N_("OJS deposits"),
    "export": N_("export"),
    "reindex": N_("reindex"),
}


def job_word(code: str, lang: str) -> str:
    """A job state or kind in ``lang`` (an unknown code as it is)."""
    word = JOB_WORDS.get(code)
    return say(word, lang) if word is not None else code


def lang_of(request: Request) -> str:
    return str(getattr(request.state, "lang", DEFAULT))


def person_of(request: Request) -> Person | None:
    """Who is signed in (None for nobody, an expired session, or a deactivated account)."""
    token = request.cookies.get(SESSION_COOKIE)
    return portal_of(request).node.accounts.person(token) if token else None


def require(request: Request, *roles: Role) -> Person:
    """The signed-in person, if they hold one of ``roles`` (any signed-in person when none is given)."""
    person = person_of(request)
    if person is None:
        raise NotSignedIn
    if roles and not person.may(*roles):
        raise Refused(N_("Your account may not see this page."))
    return person


def sections(person: Person) -> list[tuple[str, Text, Text]]:
    """The console's sections this person sees."""
    return [(path, label, text) for path, label, text, roles in SECTIONS if person.roles & roles]


async def read_form(request: Request) -> FormData:
    """A console form's fields (URL-encoded, or multipart with at most one file), refused unless its CSRF token is
    this session's and it came from this site; a body over :data:`MAX_FORM` is refused before it is read. Multipart
    bodies are read with the ``multipart`` library the portal already uses for deposits (Starlette's own parser
    wants ``python-multipart``, which would shadow it)."""
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > MAX_FORM:
        raise Refused(N_("The form is too large or says nothing of its size."), status=413)
    body = (await request.body())[:MAX_FORM]
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    items: list[tuple[str, str | UploadFile]] = []
    if kind == "multipart/form-data" and options.get("boundary"):
        try:
            parser = MultipartParser(io.BytesIO(body), options["boundary"], len(body), part_limit=600)
            for part in parser:
                if part.filename is None:
                    items.append((part.name, part.value))
                elif not any(isinstance(v, UploadFile) for _, v in items):  # at most one file
                    items.append((part.name, UploadFile(io.BytesIO(part.raw), filename=part.filename)))
        except MultipartError:
            raise Refused(N_("The form could not be read. Reload the page and send it again."), status=400) from None
    else:
        try:
            items.extend(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=1500))
        except ValueError:  # more fields than any console form has
            raise Refused(N_("The form is too large or says nothing of its size."), status=413) from None
    form = FormData(items)
    sent = form.get("csrf")
    if not isinstance(sent, str) or not csrf_ok(request, sent):
        raise Refused(N_("The form has expired or came from another site. Reload the page and send it again."))
    return form


def field(form: FormData, name: str, limit: int = 2000) -> str:
    """A text field of a form, '' when absent, cut to ``limit`` characters."""
    value = form.get(name)
    return value[:limit].strip() if isinstance(value, str) else ""


def render(
    request: Request, person: Person, template: str, status: int = 200, *, script: bool = False, **context: Any
) -> HTMLResponse:
    """A console page: the person, their sections and the form token in every template's context; with ``script``
    the page may run the console's own scripts (and nothing else)."""
    response = portal_of(request).render(
        request,
        template,
        status,
        csp=SCRIPT_CSP if script else PAGE_CSP,
        person=person,
        sections=sections(person),
        csrf=csrf_token(request),
        say=lambda text: say(text, lang_of(request)),
        job_word=lambda code: job_word(code, lang_of(request)),
        **context,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def not_signed_in(request: Request) -> Response:
    if request.url.path.endswith(".json"):
        return JSONResponse({"error": "sign in first"}, status_code=401, headers={"Cache-Control": "no-store"})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    from urllib.parse import quote

    return RedirectResponse(f"{prefix(request)}/signin?next={quote(prefix(request) + target)}", status_code=303)


def refused(request: Request, exc: Refused) -> Response:
    message = say(exc.message, lang_of(request))
    if request.url.path.endswith(".json"):
        return JSONResponse({"error": message}, status_code=exc.status, headers={"Cache-Control": "no-store"})
    person = person_of(request)
    if person is None:
        return portal_of(request).render(request, "error.html", status=exc.status, status_code=exc.status)
    return render(request, person, "console/refused.html", status=exc.status, message=message)
