"""The console: the node's web app for the people who run the archive and use the programme, each seeing only
their part (see :class:`~strongroom.services.accounts.Role`). Server-rendered like the portal, in its four
languages; JavaScript only where a task needs it (signing a ballot, following a job), never for reading.

    home.py         /console/               the sections a person may see; the console's scripts
    operator.py     /console/node/, /console/jobs/   the node's health, AUs, alarms, harvests, deposits, jobs
    network.py      /console/network/       the network at a glance, its charts drawn by svg.py
    netadmin.py     /console/network/admin/ members and policy: what a change does, the configuration to sign
    board.py        /console/board/         proposals, evidence, ballots signed in the browser, release
    institution.py  /console/institution/, /console/institutions/   an institution's own page; the operator's
                                            confirmations and its account
    publishers.py   /console/publishers/    publishers' staff sign-ins, made by an operator

Every page goes through :func:`~strongroom.portal.console.common.require` (who may see it) and every form through
:func:`~strongroom.portal.console.common.read_form` (its CSRF token); every action is an event naming who did it.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from strongroom.portal.console import board, home, institution, netadmin, network, operator, publishers
from strongroom.portal.console.common import NotSignedIn, Refused, not_signed_in, refused

router = APIRouter()
for room in (home, operator, network, netadmin, board, institution, publishers):
    router.include_router(room.router)


def install(app: FastAPI) -> None:
    """Add the console's pages to the portal's app, with its refusals."""

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        return not_signed_in(request)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        return refused(request, exc)

    app.include_router(router)
