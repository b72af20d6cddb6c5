"""COUNTER_SUSHI 5.1: usage reports for librarians and publishers, each opened only by its own API key
(``strongroom counter-key``); refusals are COUNTER exceptions that say nothing of whether the institution or
publisher exists."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from strongroom.errors import StrongroomError
from strongroom.portal.render import portal_of

router = APIRouter()


def _error(code: int, message: str, data: str) -> Response:
    # the COUNTER_SUSHI exception form; no hint whether the institution or publisher exists
    return JSONResponse({"Code": code, "Severity": "Error", "Message": message, "Data": data}, status_code=401)


@router.get("/counter/r51/reports")
def reports(request: Request) -> Response:
    listed = [
        {"Report_Name": k.name, "Report_ID": k.id.upper(), "Release": "5.1", "Path": f"/counter/r51/reports/{k.id}"}
        for k in portal_of(request).node.counter.reports.values()
    ]
    return JSONResponse(listed)


@router.get("/counter/r51/reports/{report_id}")
def report(
    request: Request,
    report_id: str,
    begin_date: str = Query(..., max_length=10),
    end_date: str = Query(..., max_length=10),
    customer_id: str | None = Query(None, max_length=40),
    publisher: str | None = Query(None, max_length=200),
    country: str | None = Query(None, max_length=2),
    api_key: str | None = Query(None, max_length=100),
    format: str = Query("json", pattern="^(json|csv)$"),
) -> Response:
    """A TR or IR for one institution (customer_id) or one publisher, by month, for whoever holds that
    institution's or publisher's API key."""
    node = portal_of(request).node
    kind, subject = ("institution", customer_id) if customer_id is not None else ("publisher", publisher)
    if subject is not None and not api_key:
        return _error(2000, "Requestor Not Authorized to Access Service", "this report needs api_key")
    if subject is not None and not node.sushi.authorised(kind, subject, api_key or ""):
        return _error(2020, "API Key Invalid", f"that api_key does not open this {kind}'s reports")
    try:
        data = node.counter.report(
            report_id.lower(),
            begin=begin_date[:7],
            end=end_date[:7],
            institution=customer_id,
            publisher=publisher,
            country=country,
        )
    except StrongroomError as exc:
        return JSONResponse({"Code": 3020, "Severity": "Error", "Message": str(exc)}, status_code=400)
    if format == "csv":
        return PlainTextResponse(node.counter.as_csv(data), media_type="text/csv")
    return JSONResponse(data)
