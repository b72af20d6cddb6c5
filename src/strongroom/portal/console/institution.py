"""The console's institution pages.

``/console/institution/`` is an institution's administrator's own page (only ever its own institution: the one
its account belongs to, whatever a URL or a parameter says): its registration state and what is missing, its
address ranges and a form to ask for a change (an operator confirms it), its named users, its usage by month as
SVG charts (the numbers of its COUNTER Title Report, so the picture and the report agree), its COUNTER 5.1
reports to download as the SUSHI API builds them, and a new SUSHI key.

``/console/institutions/`` is the operators': registrations waiting for validation (validate with the networks
as asked or corrected, or reject with a reason, the same service calls as ``strongroom institution
validate/reject``) and range changes waiting for confirmation (confirm or refuse with a note).

Every action is an event naming the person. Imports services only (no catalog, no models)."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from strongroom.domain.access import InstitutionStatus
from strongroom.domain.text import N_, Text
from strongroom.domain.usage import month_of, previous_month
from strongroom.errors import StrongroomError
from strongroom.portal.accounts import refusal
from strongroom.portal.console.common import Refused, field, lang_of, read_form, render, require
from strongroom.portal.console.svg import PALETTE, Series, line_chart
from strongroom.portal.i18n import say
from strongroom.portal.render import portal_of, prefix
from strongroom.services.accounts import USERNAME, Person, Role
from strongroom.services.browse import KeyPage
from strongroom.services.counter import CounterError
from strongroom.services.institutions import ELIGIBLE_TYPES
from strongroom.services.keyset import BadCursor

router = APIRouter()

MONTHS = 12  # the usage chart's months, to the last complete one
# The operators' page lists registrations waiting for validation, validated institutions without an account and
# range changes waiting for confirmation a page at a time, each walked by key with its own cursor in the page's
# address (?registrations=…&accounts=…&requests=…).
LISTS = ("registrations", "accounts", "requests")
REGISTRATIONS_SHOWN = 25  # each with its two forms
ACCOUNTS_SHOWN = 50
REQUESTS_SHOWN = 25  # range changes waiting for confirmation
_MONTH = re.compile(r"^\d{4}-\d{2}$")
# The usage chart's series: the Title Report's metrics, summed over the institution's titles.
METRICS: tuple[tuple[str, Text, str], ...] = (
    ("Total_Item_Investigations", N_("Investigations (pages and files seen)"), PALETTE[0]),
    ("Total_Item_Requests", N_("Requests (full texts)"), PALETTE[1]),
    ("No_License", N_("Refused (not open to you)"), PALETTE[3]),
)
STATES: dict[str, Text] = {
    "pending": N_("pending validation"),
    "validated": N_("validated"),
    "rejected": N_("rejected"),
    "suspended": N_("suspended"),
    "confirmed": N_("confirmed"),
    "refused": N_("refused"),
}
DONE: dict[str, Text] = {
    "asked": N_("Your change is asked for. The programme's staff confirm it; your ranges stay as they are until then."),
    "added": N_("The named user is added: they can sign in now."),
    "deactivated": N_("The named user is deactivated: they cannot sign in any more."),
    "validated": N_("The registration is validated."),
    "rejected": N_("The registration is rejected."),
    "confirmed": N_("The range change is confirmed and in effect."),
    "refused": N_("The range change is refused; the institution reads your note."),
}


def _own(request: Request) -> tuple[Person, str]:
    """The institution administrator and their institution's key: the only one their pages ever show."""
    person = require(request, Role.INSTITUTION_ADMIN)
    if not person.institution_key:  # an institution's account always has one; never guess
        raise Refused(N_("Your account may not see this page."))
    return person, person.institution_key


def _lines(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,]+", text) if part]


def _back(request: Request, path: str, done: str) -> Response:
    return RedirectResponse(f"{prefix(request)}{path}?done={done}", status_code=303)


# ---- usage -----------------------------------------------------------------------------------------------------


def _months(last: str, count: int = MONTHS) -> list[str]:
    months = [last]
    while len(months) < count:
        months.insert(0, previous_month(months[0]))
    return months


def usage(request: Request, institution: str) -> dict[str, Any]:
    """The institution's use by month over the last :data:`MONTHS` complete months: its COUNTER Title Report (as
    the SUSHI API builds it), each metric summed over the titles."""
    node = portal_of(request).node
    months = _months(previous_month(month_of(node.clock.now())))
    report = node.counter.report("tr", begin=months[0], end=months[-1], institution=institution)
    totals = {metric: dict.fromkeys(months, 0) for metric, _, _ in METRICS}
    for row in report["Report_Items"]:
        for ap in row["Attribute_Performance"]:
            for metric, by_month in ap["Performance"].items():
                if metric in totals:
                    for month, count in by_month.items():
                        totals[metric][month] = totals[metric].get(month, 0) + count
    return {
        "institution": institution,
        "report": "TR",
        "begin": months[0],
        "end": months[-1],
        "months": months,
        "metrics": {metric: [totals[metric][m] for m in months] for metric, _, _ in METRICS},
    }


# ---- the institution's own page ----------------------------------------------------------------------------------


def _standing(profile: dict[str, Any], users: list[dict[str, Any]], today: dt.date) -> list[tuple[str, Text]]:
    """What the administrator should know of their registration: its state, its access period, what is missing;
    each a (class, message) for the page."""
    out: list[tuple[str, Text]] = []
    status, group, reason = profile["status"], profile["group"], profile["reason"]
    if status == InstitutionStatus.PENDING:
        out.append(
            (
                "warn",
                N_(
                    "Your registration is waiting for validation by the programme (two to four weeks). Until then "
                    "your readers cannot open the programme's titles."
                ),
            )
        )
    elif status == InstitutionStatus.REJECTED:
        out.append(("alert", N_("Your registration was rejected: %(reason)s", reason=reason)))
        out.append(("note", N_("Write to the programme to appeal.")))
    elif status == InstitutionStatus.SUSPENDED:
        out.append(("alert", N_("Your institution is suspended: %(reason)s", reason=reason)))
        out.append(("note", N_("Write to the programme to ask how to lift the suspension.")))
    if status == InstitutionStatus.VALIDATED:
        trial, paid = profile["trial_until"], profile["paid_through"]
        if group == "A":
            out.append(("note", N_("Your country is in group A: access is free, with no end date.")))
        elif group == "B":
            until = max((d for d in (trial, paid) if d is not None), default=None)
            if trial is not None and today <= trial:
                out.append(("note", N_("Your group B trial runs until %(date)s.", date=trial.isoformat())))
            if paid is not None and today <= paid:
                out.append(("note", N_("Your group B fee is paid through %(date)s.", date=paid.isoformat())))
            if until is None:
                out.append(
                    (
                        "alert",
                        N_(
                            "You have neither a trial nor a paid subscription: your readers cannot open the titles "
                            "enrolled for group B until the yearly fee is paid."
                        ),
                    )
                )
            elif today > until:
                out.append(
                    (
                        "alert",
                        N_(
                            "Your group B access lapsed on %(date)s: your readers cannot open the titles enrolled "
                            "for group B until the yearly fee is paid. Write to the programme to pay it.",
                            date=until.isoformat(),
                        ),
                    )
                )
            else:
                out.append(
                    (
                        "warn",
                        N_(
                            "After %(date)s your readers can no longer open the titles enrolled for group B until "
                            "the yearly fee is paid. Write to the programme to pay it.",
                            date=until.isoformat(),
                        ),
                    )
                )
        else:
            out.append(
                (
                    "alert",
                    N_(
                        "Your country is not eligible for the programme now: your readers cannot open its titles. "
                        "The list of countries is reviewed every year."
                    ),
                )
            )
    if not profile["ip_ranges"]:
        out.append(
            (
                "warn",
                N_(
                    "You have no address ranges: your readers must sign in (with your institution's account or as "
                    "named users) to read."
                ),
            )
        )
    if not any(u["active"] for u in users):
        out.append(("note", N_("You have no named users: everyone off your network signs in with your account.")))
    return out


def _institution_page(
    request: Request,
    person: Person,
    key: str,
    *,
    status: int = 200,
    error: str = "",
    form: str = "",
    values: dict[str, Any] | None = None,
    api_key: str = "",
) -> HTMLResponse:
    node = portal_of(request).node
    profile = node.institutions.profile(key)
    users = node.accounts.named_users(key)
    numbers = usage(request, key)
    lang = lang_of(request)
    series = [Series(say(label, lang), numbers["metrics"][metric], colour) for metric, label, colour in METRICS]
    chart = line_chart(
        numbers["months"],
        series,
        title=say(N_("Use of your titles by month"), lang),
        caption=say(
            N_(
                "Use by month, %(begin)s to %(end)s, from your COUNTER Title Report.",
                begin=numbers["begin"],
                end=numbers["end"],
            ),
            lang,
        ),
        name="usage",
    )
    done = request.query_params.get("done", "")
    return render(
        request,
        person,
        "console/institution.html",
        status,
        profile=profile,
        type_label=ELIGIBLE_TYPES.get(str(profile["type"]), str(profile["type"])),
        state_label=STATES.get(str(profile["status"]), str(profile["status"])),
        standing=_standing(profile, users, node.clock.now().date()),
        users=users,
        requests=node.institutions.range_requests(state=None, institution=key, latest=5)[::-1],
        states=STATES,
        chart=chart,
        usage=numbers,
        metrics=METRICS,
        reports=[(k.id, k.id.upper(), k.name) for k in node.counter.reports.values()],
        done=DONE.get(done) if done in ("asked", "added", "deactivated") else None,
        error=error,
        form=form,
        values=values or {},
        api_key=api_key,
    )


@router.get("/console/institution/", response_class=HTMLResponse)
def institution_page(request: Request) -> Response:
    person, key = _own(request)
    return _institution_page(request, person, key)


@router.get("/console/institution/usage.json")
def institution_usage(request: Request) -> Response:
    _, key = _own(request)
    return JSONResponse(usage(request, key), headers={"Cache-Control": "no-store"})


@router.post("/console/institution/ranges", response_class=HTMLResponse)
async def ask_ranges(request: Request) -> Response:
    person, key = _own(request)
    form = await read_form(request)
    add = field(form, "add")
    remove = [v for v in form.getlist("remove") if isinstance(v, str)]
    try:
        portal_of(request).node.institutions.request_ranges(key, add=_lines(add), remove=remove, by=person.actor)
    except StrongroomError as exc:
        return _institution_page(
            request,
            person,
            key,
            status=422,
            error=refusal(request, exc),
            form="ranges",
            values={"add": add, "remove": remove},
        )
    return _back(request, "/console/institution/", "asked")


@router.post("/console/institution/users", response_class=HTMLResponse)
async def add_user(request: Request) -> Response:
    person, key = _own(request)
    form = await read_form(request)
    username, named = field(form, "username", 64), field(form, "name", 200)
    password = form.get("password")
    try:
        portal_of(request).node.accounts.add_named_user(
            key, username, password if isinstance(password, str) else "", named=named, by=person.actor
        )
    except StrongroomError as exc:
        return _institution_page(
            request,
            person,
            key,
            status=422,
            error=refusal(request, exc),
            form="users",
            values={"username": username, "name": named},
        )
    return _back(request, "/console/institution/", "added")


@router.post("/console/institution/users/deactivate", response_class=HTMLResponse)
async def deactivate_user(request: Request) -> Response:
    person, key = _own(request)
    form = await read_form(request)
    try:
        portal_of(request).node.accounts.deactivate_named_user(key, field(form, "username", 64), by=person.actor)
    except StrongroomError as exc:
        return _institution_page(request, person, key, status=422, error=refusal(request, exc))
    return _back(request, "/console/institution/", "deactivated")


@router.post("/console/institution/sushi-key", response_class=HTMLResponse)
async def new_sushi_key(request: Request) -> Response:
    person, key = _own(request)
    await read_form(request)
    api_key = portal_of(request).node.institutions.new_report_key(key, by=person.actor)
    return _institution_page(request, person, key, api_key=api_key)


@router.get("/console/institution/report")
def download_chosen_report(
    request: Request,
    report: str = Query("", max_length=10),
    begin: str = Query("", max_length=10),
    end: str = Query("", max_length=10),
    format: str = Query("csv", pattern="^(json|csv)$"),
) -> Response:
    """The report the download form chose (a form cannot choose a path without a script)."""
    return download_report(request, report, begin, end, format)


@router.get("/console/institution/reports/{report_id}")
def download_report(
    request: Request,
    report_id: str,
    begin: str = Query("", max_length=10),
    end: str = Query("", max_length=10),
    format: str = Query("csv", pattern="^(json|csv)$"),
) -> Response:
    """A COUNTER 5.1 report of this institution (never another: ``customer_id`` is the person's own), as the SUSHI
    API gives it, to download."""
    person, key = _own(request)
    node = portal_of(request).node
    report_id = report_id.lower()
    if report_id not in node.counter.reports:
        raise Refused(N_("There is no such report."), status=404)
    wanted = {"begin": begin, "end": end}
    if not (_MONTH.match(begin) and _MONTH.match(end)):
        return _institution_page(
            request,
            person,
            key,
            status=422,
            error=say(N_("Give the first and last months as yyyy-mm, e.g. 2026-01."), lang_of(request)),
            form="reports",
            values={**wanted, "report": report_id, "format": format},
        )
    try:
        data = node.counter.report(report_id, begin=begin, end=end, institution=key)
    except CounterError as exc:
        return _institution_page(
            request,
            person,
            key,
            status=422,
            error=refusal(request, exc),
            form="reports",
            values={**wanted, "report": report_id, "format": format},
        )
    name = f"{key}-{report_id}-{begin}-{end}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    if format == "csv":
        return Response(node.counter.as_csv(data), media_type="text/csv; charset=utf-8", headers=headers)
    return JSONResponse(data, headers=headers)


# ---- the operators' page -------------------------------------------------------------------------------------------


def _operator_page(
    request: Request,
    person: Person,
    *,
    status: int = 200,
    error: str = "",
    form: str = "",
    values: dict[str, Any] | None = None,
    made: dict[str, str] | None = None,
) -> HTMLResponse:
    node = portal_of(request).node
    cursors = {name: request.query_params.get(name, "") for name in LISTS}
    try:  # the pages this form was on (its address keeps them), so an error is shown beside its form
        pending = node.institutions.page(
            status=str(InstitutionStatus.PENDING), after=cursors["registrations"] or None, limit=REGISTRATIONS_SHOWN
        )
        without_account = node.accounts.without_account(after=cursors["accounts"] or None, limit=ACCOUNTS_SHOWN)
        requests = node.institutions.waiting_requests(after=cursors["requests"] or None, limit=REQUESTS_SHOWN)
    except BadCursor:  # an address no page gave: the reader's 400, not the server's 500
        raise StarletteHTTPException(400) from None
    for inst in pending.rows:
        inst["group_now"] = node.eligibility.status(str(inst["country"])).final
        inst["type_label"] = ELIGIBLE_TYPES.get(str(inst["type"]), str(inst["type"]))
    done = request.query_params.get("done", "")
    return render(
        request,
        person,
        "console/institutions.html",
        status,
        pending=pending.rows,
        pending_page=pending,
        requests=requests.rows,
        requests_page=requests,
        without_account=without_account.rows,
        accounts_page=without_account,
        pager={
            name: _pager(cursors, name, page)
            for name, page in (("registrations", pending), ("accounts", without_account), ("requests", requests))
        },
        keep=_query(cursors),
        made=made,
        done=DONE.get(done) if done in ("validated", "rejected", "confirmed", "refused") else None,
        error=error,
        form=form,
        values=values or {},
    )


def _query(cursors: dict[str, str]) -> str:
    """The query string of the operators' page at these positions of its lists ('' at the first page of each)."""
    kept = {name: cursor for name, cursor in cursors.items() if cursor}
    return "?" + urlencode(kept) if kept else ""


def _pager(cursors: dict[str, str], name: str, page: KeyPage[Any]) -> dict[str, str]:
    """The links of one list of the operators' page (its first page, its next), each keeping the other list where
    it is; a link that is not needed is ''."""
    return {
        "first": (_query({**cursors, name: ""}) or "?") if cursors[name] else "",
        "next": _query({**cursors, name: page.next}) if page.next else "",
    }


@router.get("/console/institutions/", response_class=HTMLResponse)
def institutions_page(request: Request) -> Response:
    return _operator_page(request, require(request, Role.OPERATOR))


@router.post("/console/institutions/{key}/validate", response_class=HTMLResponse)
async def validate(request: Request, key: str) -> Response:
    person = require(request, Role.OPERATOR)
    form = await read_form(request)
    ranges = field(form, "ranges", 20000)
    try:
        portal_of(request).node.institutions.move(
            key, InstitutionStatus.VALIDATED, by=person.actor, ranges=tuple(_lines(ranges))
        )
    except StrongroomError as exc:
        return _operator_page(
            request,
            person,
            status=422,
            error=refusal(request, exc),
            form=f"validate:{key}",
            values={"ranges": ranges},
        )
    return _back(request, "/console/institutions/", "validated")


@router.post("/console/institutions/{key}/account", response_class=HTMLResponse)
async def make_account(request: Request, key: str) -> Response:
    """A validated institution's institutional account, with a password made here and shown once, for the
    operator to give to its librarian (who then administers the institution in the console)."""
    person = require(request, Role.OPERATOR)
    form = await read_form(request)
    username = field(form, "username", 64)
    password = secrets.token_urlsafe(12)
    node = portal_of(request).node
    if not node.accounts.needs_account(key):  # said at the top: it has no form here
        message = say(N_("This institution is not validated, or it has its account already."), lang_of(request))
        return _operator_page(request, person, status=422, error=message)
    try:
        if not USERNAME.fullmatch(username):
            raise StrongroomError(
                N_("a username is 3 to 64 small letters, digits, dots, dashes or underscores"),
                hint=N_("for example: grace.mushi"),
            )
        node.accounts.create_account(key, username, password, by=person.actor)
    except StrongroomError as exc:
        return _operator_page(
            request,
            person,
            status=422,
            error=refusal(request, exc),
            form=f"account:{key}",
            values={"username": username},
        )
    return _operator_page(request, person, made={"institution": key, "username": username, "password": password})


@router.post("/console/institutions/{key}/reject", response_class=HTMLResponse)
async def reject(request: Request, key: str) -> Response:
    person = require(request, Role.OPERATOR)
    form = await read_form(request)
    reason = field(form, "reason")
    try:
        if not reason:
            raise StrongroomError(N_("Give the reason: the institution reads it."))
        portal_of(request).node.institutions.move(key, InstitutionStatus.REJECTED, by=person.actor, reason=reason)
    except StrongroomError as exc:
        return _operator_page(
            request,
            person,
            status=422,
            error=refusal(request, exc),
            form=f"reject:{key}",
            values={"reason": reason},
        )
    return _back(request, "/console/institutions/", "rejected")


@router.post("/console/institutions/requests/{request_id}/confirm", response_class=HTMLResponse)
async def confirm_request(request: Request, request_id: int) -> Response:
    person = require(request, Role.OPERATOR)
    await read_form(request)
    try:
        portal_of(request).node.institutions.confirm_range_request(request_id, by=person.actor)
    except StrongroomError as exc:
        return _operator_page(request, person, status=422, error=refusal(request, exc))
    return _back(request, "/console/institutions/", "confirmed")


@router.post("/console/institutions/requests/{request_id}/refuse", response_class=HTMLResponse)
async def refuse_request(request: Request, request_id: int) -> Response:
    person = require(request, Role.OPERATOR)
    form = await read_form(request)
    note = field(form, "note")
    try:
        if not note:
            raise StrongroomError(N_("Give the reason: the institution reads it."))
        portal_of(request).node.institutions.refuse_range_request(request_id, note=note, by=person.actor)
    except StrongroomError as exc:
        return _operator_page(
            request,
            person,
            status=422,
            error=refusal(request, exc),
            form=f"refuse:{request_id}",
            values={"note": note},
        )
    return _back(request, "/console/institutions/", "refused")
