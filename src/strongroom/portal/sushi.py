"""COUNTER_SUSHI 5.1 (the API paths ``/r51/...`` under ``/counter``): the server's status, its member and report
lists, and usage reports for librarians and publishers, each opened only by its own API key
(``strongroom counter-key``); refusals are COUNTER Exceptions that say nothing of whether the institution or
publisher exists."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from strongroom.portal.render import portal_of
from strongroom.services.counter import CounterError, exception

router = APIRouter()
STATUS = {1030: 400, 2020: 401, 3020: 400}  # the HTTP status of each Exception, as the API says


def _error(code: int, data: str) -> Response:
    return JSONResponse(exception(code, data), status_code=STATUS[code])


def _refused(request: Request, kind: str, subject: str, api_key: str | None) -> Response | None:
    """The Exception for a request without the subject's own API key, or None when the key opens its reports."""
    if not api_key:
        return _error(1030, "api_key is missing: each institution's and publisher's reports have their own")
    if not portal_of(request).node.sushi.authorised(kind, subject, api_key):
        return _error(2020, f"that api_key does not open this {kind}'s reports")
    return None


@router.get("/counter/r51/status")
def status(request: Request) -> Response:
    node = portal_of(request).node
    return JSONResponse(node.counter.status(node.settings.node_name))


@router.get("/counter/r51/members")
def members(
    request: Request,
    customer_id: str | None = Query(None, max_length=40),
    api_key: str | None = Query(None, max_length=100),
) -> Response:
    """The institution a customer_id and its API key stand for (Strongroom has no consortia: one member)."""
    if not customer_id:
        return _error(1030, "customer_id is missing")
    refused = _refused(request, "institution", customer_id, api_key)
    if refused is not None:
        return refused
    return JSONResponse([portal_of(request).node.counter.member(customer_id)])


@router.get("/counter/r51/reports")
def reports(request: Request) -> Response:
    return JSONResponse(portal_of(request).node.counter.report_list())


@router.get("/counter/r51/reports/{report_id}")
def report(
    request: Request,
    report_id: str,
    begin_date: str | None = Query(None, max_length=10),
    end_date: str | None = Query(None, max_length=10),
    customer_id: str | None = Query(None, max_length=40),
    publisher: str | None = Query(None, max_length=200),
    country_code: str | None = Query(None, max_length=2),
    country: str | None = Query(None, max_length=2),  # the name before 5.1's country_code
    attributes_to_show: str | None = Query(None, max_length=200),
    api_key: str | None = Query(None, max_length=100),
    format: str = Query("json", pattern="^(json|csv)$"),
) -> Response:
    """A report (TR, IR, or a Standard View) for one institution (customer_id) or one publisher, by month, for
    whoever holds that institution's or publisher's API key."""
    node = portal_of(request).node
    if report_id.lower() not in node.counter.reports:  # not a path of this server (5.1 has no Exception for it)
        offered = ", ".join(f"/r51/reports/{k}" for k in node.counter.reports)
        return JSONResponse({"Code": 0, "Message": "Report Not Supported", "Data": offered}, status_code=404)
    kind, subject = ("institution", customer_id) if customer_id is not None else ("publisher", publisher)
    if subject is None:
        return _error(1030, "customer_id (or publisher) is missing")
    refused = _refused(request, kind, subject, api_key)
    if refused is not None:
        return refused
    if not begin_date or not end_date:
        return _error(1030, "begin_date and end_date are required")
    try:
        data = node.counter.report(
            report_id.lower(),
            begin=begin_date,
            end=end_date,
            institution=customer_id,
            publisher=publisher if customer_id is None else None,
            country=country_code or country,
            attributes=tuple(a for a in (attributes_to_show or "").split("|") if a),
        )
    except CounterError as exc:
        return _error(exc.code if exc.code in STATUS else 3020, str(exc))
    if format == "csv":
        return PlainTextResponse(node.counter.as_csv(data), media_type="text/csv")
    return JSONResponse(data)
