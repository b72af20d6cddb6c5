"""The publishers' room: a publisher's signed-in staff follow their own titles from received to preserved and
deposit packages (journals without OJS); anyone reads a title's preservation certificate (HTML and PDF, at a stable
address a journal links to) and looks up whether a journal is preserved.

The staff pages answer only that publisher's staff: a stranger is sent to sign in, anyone else (an institution, or
another publisher's staff) is refused with 403 and no data. The public pages show holdings-level facts only, from
:meth:`strongroom.services.publishers.Publishers.certificate` and ``lookup``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from multipart import ParserError, PushMultipartParser, parse_options_header  # type: ignore[import-untyped]
from starlette.concurrency import run_in_threadpool

from strongroom.domain.text import N_, Text
from strongroom.errors import NotFound, PackageRejected, StrongroomError
from strongroom.portal.accounts import csrf_ok, csrf_token, refusal
from strongroom.portal.certificate import basis, certificate_pdf
from strongroom.portal.i18n import DEFAULT, say
from strongroom.portal.render import PAGE_CSP, SESSION_COOKIE, Portal, portal_of, prefix
from strongroom.services.deposit import DepositOptions, DepositResult
from strongroom.services.publishers import Lookup, PublisherStaff, TitleFacts

router = APIRouter()

# The upload page alone runs a script: the progress bar (the form works the same without it).
UPLOAD_CSP = PAGE_CSP.replace("default-src 'none';", "default-src 'none'; script-src 'self'; connect-src 'self';")
FIELDS = ("title", "issn", "au", "licence")
FIELD_BYTES = 1000
FORM_OVERHEAD = 64 * 1024  # the form's other fields and multipart framing, beyond the package itself
SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

# What each family of findings means to a journal manager, and what to fix (the finding's own words follow it).
FINDING_HELP: dict[str, tuple[Text, Text]] = {
    "P00": (
        N_("The archive file is unsafe, truncated or damaged."),
        N_("Make the ZIP or tar.gz again with a standard tool, from the files themselves, and upload it again."),
    ),
    "P01": (
        N_("This is not a package the archive recognises."),
        N_("Upload a BagIt bag, a JASPER ZIP or a ZIP of JATS XML files with their PDFs."),
    ),
    "P02": (
        N_("A file does not match the package's checksum manifest."),
        N_("Make the bag again so that its manifest lists every file with its right checksum."),
    ),
    "P03": (
        N_("An XML file cannot be read as JATS."),
        N_("Export the articles' JATS XML again from your platform."),
    ),
    "P04": (
        N_("A file is not what its name says, or is damaged."),
        N_("Replace the file with a good copy."),
    ),
    "P05": (
        N_("The package lacks metadata, or an identifier in it is invalid."),
        N_("Fill in the title, ISSN or archival unit below, or correct the identifier in the package."),
    ),
    "P054": (
        N_("The package belongs to another publisher."),
        N_("Deposit only your own titles; if a title moved to you, write to the archive's staff."),
    ),
}


def _lang(request: Request) -> str:
    return str(getattr(request.state, "lang", DEFAULT))


def _staff(portal: Portal, request: Request) -> PublisherStaff | None:
    token = request.cookies.get(SESSION_COOKIE)
    return portal.node.publishers.staff(token) if token else None


def _refuse(portal: Portal, request: Request) -> Response:
    """A stranger is sent to sign in; anyone signed in who is not this publisher's staff is refused, with nothing."""
    token = request.cookies.get(SESSION_COOKIE)
    if token and portal.node.accounts.reader(token) is not None:
        return portal.render(request, "error.html", status=403, status_code=403)
    return RedirectResponse(f"{prefix(request)}/signin", status_code=303)


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "private, no-store"
    return response


@router.get("/publisher/", response_class=HTMLResponse)
def publisher_home(request: Request) -> Response:
    portal = portal_of(request)
    staff = _staff(portal, request)
    if staff is None:
        return _refuse(portal, request)
    view = portal.node.publishers.view(staff.publisher_key)
    lang = _lang(request)
    return _private(
        portal.render(
            request,
            "publisher.html",
            staff=staff,
            view=view,
            csrf=csrf_token(request),
            say=lambda t: say(t, lang),
            help=lambda code: _help(code, lang),
        )
    )


@router.get("/publisher/titles/{key:path}/", response_class=HTMLResponse)
def publisher_title(request: Request, key: str) -> Response:
    portal = portal_of(request)
    staff = _staff(portal, request)
    if staff is None:
        return _refuse(portal, request)
    try:
        title = portal.node.publishers.title(staff.publisher_key, key)
    except NotFound:  # another publisher's title and no title look the same
        return portal.render(request, "error.html", status=403, status_code=403)
    lang = _lang(request)
    return _private(
        portal.render(
            request,
            "publisher_title.html",
            staff=staff,
            title=title,
            certificate=portal.node.publishers.certificate_url(title.key),
            say=lambda t: say(t, lang),
        )
    )


# ---- deposits -------------------------------------------------------------------------------------------------


def _help(code: str, lang: str) -> tuple[str, str]:
    what, fix = FINDING_HELP.get(code) or FINDING_HELP.get(code[:3]) or (N_("A problem was found."), N_("See below."))
    return say(what, lang), say(fix, lang)


def _deposit_page(
    request: Request,
    staff: PublisherStaff,
    *,
    status: int = 200,
    form: dict[str, str] | None = None,
    message: str = "",
    findings: list[dict[str, str]] | None = None,
    result: DepositResult | None = None,
) -> Response:
    portal = portal_of(request)
    response = portal.render(
        request,
        "publisher_deposit.html",
        status=status,
        staff=staff,
        form=form or {},
        message=message,
        findings=findings or [],
        result=result,
        csrf=csrf_token(request),
        max_mb=portal.node.settings.portal.max_upload_mb,
    )
    response.headers["Content-Security-Policy"] = UPLOAD_CSP
    return _private(response)


@router.get("/publisher/deposit", response_class=HTMLResponse)
def deposit_form(request: Request) -> Response:
    portal = portal_of(request)
    staff = _staff(portal, request)
    if staff is None:
        return _refuse(portal, request)
    return _deposit_page(request, staff)


class TooLarge(Exception):
    pass


async def _receive(request: Request, workdir: Path, limit: int) -> tuple[dict[str, str], Path | None, str]:
    """The form's fields and the package, streamed to ``workdir`` with the limit enforced while reading (nothing is
    held in memory but one chunk); the package's path (None when none was sent) and the name it was sent under."""
    _, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get("boundary")
    if not boundary:
        raise ValueError("not a multipart form")
    fields: dict[str, str] = {}
    path: Path | None = None
    filename = ""
    total = 0
    with PushMultipartParser(boundary, max_segment_count=20) as parser:
        out = None
        current: str | None = None
        value = bytearray()
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit + FORM_OVERHEAD:
                raise TooLarge
            for event in parser.parse(chunk) if chunk else ():
                if event is None:  # the end of a part
                    if out is not None:
                        out.close()
                        out = None
                    elif current is not None:
                        fields[current] = value.decode("utf-8", "replace")[:FIELD_BYTES]
                    current, value = None, bytearray()
                elif isinstance(event, bytes | bytearray):
                    if out is not None:
                        if out.tell() + len(event) > limit:
                            raise TooLarge
                        out.write(event)
                    elif current is not None and len(value) <= FIELD_BYTES * 4:
                        value += event
                elif event.name == "package" and event.filename and path is None:
                    filename = Path(event.filename.replace("\\", "/")).name
                    suffix = next((s for s in SUFFIXES if filename.lower().endswith(s)), ".zip")
                    path = workdir / f"package{suffix}"
                    out = path.open("wb")
                else:
                    current = event.name
        if out is not None:
            out.close()
    return fields, path, filename


@router.post("/publisher/deposit", response_class=HTMLResponse)
async def deposit(request: Request) -> Response:
    portal = portal_of(request)
    staff = _staff(portal, request)
    if staff is None:
        return _refuse(portal, request)
    lang = _lang(request)
    max_mb = portal.node.settings.portal.max_upload_mb
    limit = max_mb * 1024 * 1024
    too_large = say(
        N_(
            "The package is larger than the limit of %(mb)s MB, so it was refused and nothing was kept. Deposit "
            "one year or volume per package.",
            mb=max_mb,
        ),
        lang,
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:  # refused before a byte is read
        return _deposit_page(request, staff, status=413, message=too_large)
    with portal.node.publishers.upload_area() as workdir:
        try:
            fields, path, filename = await _receive(request, workdir, limit)
        except TooLarge:
            return _deposit_page(request, staff, status=413, message=too_large)
        except (ValueError, ParserError):
            return _deposit_page(request, staff, status=400, message=say(N_("The form was not sent whole."), lang))
        form = {k: fields.get(k, "").strip() for k in FIELDS}
        if not csrf_ok(request, fields.get("csrf", "")):
            return _deposit_page(
                request,
                staff,
                status=403,
                form=form,
                message=say(N_("This form has expired; please send it again."), lang),
            )
        if path is None or path.stat().st_size == 0:
            return _deposit_page(
                request, staff, status=400, form=form, message=say(N_("Choose a package file to upload."), lang)
            )
        if SAFE_NAME.fullmatch(filename) and filename.lower().endswith(SUFFIXES):
            path = path.rename(path.with_name(filename))  # the name the deposit's events and messages give
        options = DepositOptions(
            title=form["title"] or None,
            issn=form["issn"] or None,
            au=form["au"] or None,
            licence=form["licence"] or None,
        )
        try:
            result = await run_in_threadpool(portal.node.publishers.deposit, staff, path, options)
        except PackageRejected as exc:
            findings = [
                {
                    "code": f.code,
                    "path": f.path,
                    "detail": f.message,
                    **dict(zip(("what", "fix"), _help(f.code, lang), strict=True)),
                }
                for f in exc.findings
            ]
            return _deposit_page(
                request,
                staff,
                status=422,
                form=form,
                findings=findings,
                message=say(N_("The package was refused and nothing was stored. Fix what is listed below."), lang),
            )
        except StrongroomError as exc:
            return _deposit_page(request, staff, status=422, form=form, message=refusal(request, exc))
    return _deposit_page(request, staff, result=result)


UPLOAD_JS = """// The upload's progress; without this script the form is sent the same way, without the bar.
(function () {
  var form = document.getElementById("deposit");
  if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
  form.addEventListener("submit", function (event) {
    var bar = document.getElementById("progress");
    var xhr = new XMLHttpRequest();
    event.preventDefault();
    bar.hidden = false;
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { bar.value = e.loaded / e.total; }
    });
    xhr.addEventListener("load", function () {
      document.open();
      document.write(xhr.responseText);
      document.close();
    });
    xhr.addEventListener("error", function () { form.submit(); });
    xhr.open("POST", form.action);
    xhr.send(new FormData(form));
  });
})();
"""


@router.get("/publisher/upload.js")
def upload_js() -> Response:
    return Response(UPLOAD_JS, media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"})


# ---- public: certificates and the look-up ------------------------------------------------------------------


def _facts_json(f: TitleFacts) -> dict[str, Any]:
    years = f.holding.coverage_years()
    return {
        "title": f.holding.name,
        "issn_print": f.holding.issn_print,
        "issn_online": f.holding.issn_online,
        "publisher": f.holding.publisher_name,
        "preserved": f.preserved,
        "preserved_issues": len(f.holding.preserved_issues),
        "coverage": f"{years[0]}/{years[1]}" if years else None,
        "since": f.since.isoformat() if f.since else None,
        "copies": f.copies,
        "countries": list(f.countries),
        "last_verified": f.last_verified.isoformat() if f.last_verified else None,
        "certificate": f.certificate_url,
    }


def _lookup(request: Request) -> Lookup:
    q = request.query_params.get("q", "")
    return portal_of(request).node.publishers.lookup(q[:400])


@router.get("/preserved", response_class=HTMLResponse)
def preserved(request: Request) -> Response:
    portal = portal_of(request)
    found = _lookup(request)
    return portal.render(request, "preserved.html", lookup=found)


@router.get("/preserved.json")
def preserved_json(request: Request) -> Response:
    found = _lookup(request)
    body = {"query": found.query, "kind": found.kind, "results": [_facts_json(f) for f in found.results]}
    return Response(
        json.dumps(body, ensure_ascii=False, indent=1),
        media_type="application/json",
        headers={"Access-Control-Allow-Origin": "*"},
    )


@router.get("/preserved/{key:path}/certificate.pdf")
def certificate_file(request: Request, key: str) -> Response:
    portal = portal_of(request)
    try:
        cert = portal.node.publishers.certificate(key)
    except NotFound:
        return portal.not_found(request)
    lang = _lang(request)
    pdf = certificate_pdf(cert, lang)
    name = f"certificate-{cert.facts.holding.key.replace(':', '-').replace('/', '-')}-{lang}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"', "Content-Language": lang},
    )


@router.get("/preserved/{key:path}/", response_class=HTMLResponse)
def certificate(request: Request, key: str) -> Response:
    portal = portal_of(request)
    try:
        cert = portal.node.publishers.certificate(key)
    except NotFound:
        return portal.not_found(request)
    return portal.render(
        request,
        "certificate.html",
        cert=cert,
        facts=cert.facts,
        basis=basis(cert, _lang(request)),
        pdf_url=f"{prefix(request)}/preserved/{cert.facts.holding.key}/certificate.pdf",
    )
