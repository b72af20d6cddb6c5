"""The console's board pages: proposals (triggers) by state; one proposal with its scope, reason, evidence, the
monitor's findings for its titles, the ballots so far and the tally under the network's rule; casting a ballot;
proposing; and releasing an approved trigger under an open licence.

A ballot is signed with the member's own Ed25519 key, never by the server: in the browser (``assets/ballot.js``
reads the key from a file input that has no name, so it is never sent, and signs with Web Crypto) or on the
member's machine (``strongroom trigger sign``), its signature pasted. Either way the server checks it with
:meth:`~strongroom.services.triggers.Workflow.vote`, the same check as the CLI's ballots.

Imports services only (no catalog, no models)."""

from __future__ import annotations

import shlex
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from strongroom.domain.licences import DEFAULT_LICENCE, OPEN_LICENCES
from strongroom.domain.text import N_, Text
from strongroom.domain.trigger import ScopeKind, TriggerReason, TriggerState, VoteChoice
from strongroom.errors import NotFound, StrongroomError, TriggerError
from strongroom.portal.console.common import Refused, field, lang_of, read_form, render, require
from strongroom.portal.i18n import say
from strongroom.portal.render import portal_of, prefix
from strongroom.services.accounts import Person, Role
from strongroom.services.triggers import TriggerSummary, summaries, summarise

router = APIRouter()

STATES: dict[TriggerState, Text] = {
    TriggerState.PROPOSED: N_("Proposed"),
    TriggerState.VOTING: N_("Voting"),
    TriggerState.APPROVED: N_("Approved"),
    TriggerState.REJECTED: N_("Rejected"),
    TriggerState.RELEASED: N_("Released"),
    TriggerState.WITHDRAWN: N_("Withdrawn"),
}
REASONS: dict[TriggerReason, Text] = {
    TriggerReason.PUBLISHER_CEASED: N_("The publisher ceased operation"),
    TriggerReason.TITLE_DISCONTINUED: N_("The title is no longer published"),
    TriggerReason.BACK_ISSUES_WITHDRAWN: N_("The publisher withdrew back issues"),
    TriggerReason.PLATFORM_FAILURE: N_("The publisher's platform failed for good"),
    TriggerReason.OTHER: N_("Another reason (explained)"),
}
CHOICES: dict[VoteChoice, Text] = {
    VoteChoice.FOR: N_("For"),
    VoteChoice.AGAINST: N_("Against"),
    VoteChoice.ABSTAIN: N_("Abstain"),
}
SCOPES: dict[ScopeKind, Text] = {
    ScopeKind.TITLE: N_("A title (its key)"),
    ScopeKind.AUS: N_("Archival units (their keys, one a line)"),
    ScopeKind.PUBLISHER: N_("A publisher's whole list (its key)"),
}
# The order the list page shows the states in: what needs the board first.
ORDER = (
    TriggerState.VOTING,
    TriggerState.PROPOSED,
    TriggerState.APPROVED,
    TriggerState.RELEASED,
    TriggerState.REJECTED,
    TriggerState.WITHDRAWN,
)
# What a refused ballot means, in words the member can act on (the workflow's own message is in English).
BALLOT_REFUSED = N_(
    "The ballot was refused: its signature is not %(member)s's signature of this choice on %(key)s. Sign again "
    "with your key, for this proposal and this choice; nothing was recorded."
)
ALREADY_VOTED = N_("%(member)s has already voted on %(key)s; a ballot cannot be changed.")
VOTES_CLOSED = N_("Votes on %(key)s are closed: it is %(state)s.")


def _view(request: Request, person: Person, key: str) -> TriggerSummary:
    try:
        return summarise(portal_of(request).node.triggers, key)
    except NotFound:
        raise Refused(N_("There is no such proposal. The board's page lists them all."), status=404) from None


def _findings(request: Request, view: TriggerSummary) -> list[Any]:
    """The monitor's status of the titles the trigger concerns (those it watches)."""
    keys = {k for k, _ in view.titles}
    return [t for t in portal_of(request).node.monitor().status() if t.key in keys]


def _trigger_page(
    request: Request,
    person: Person,
    view: TriggerSummary,
    status: int = 200,
    *,
    message: str = "",
    done: str = "",
    form: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        person,
        "console/board_trigger.html",
        status,
        script=True,
        t=view,
        states=STATES,
        reasons=REASONS,
        choices=CHOICES,
        findings=_findings(request, view),
        licences=OPEN_LICENCES,
        default_licence=DEFAULT_LICENCE,
        may_vote=person.may(Role.BOARD) and bool(person.board_member),
        may_release=person.may(Role.BOARD, Role.OPERATOR),
        mine=view.voted(person.board_member) if person.board_member else None,
        sign_command=f"strongroom trigger sign {view.key} --member {shlex.quote(person.board_member)} "
        "--choice for --key YOUR.key",
        message=message,
        done=done,
        form=form or {},
        VOTING=TriggerState.VOTING,
        PROPOSED=TriggerState.PROPOSED,
        APPROVED=TriggerState.APPROVED,
    )


@router.get("/console/board/", response_class=HTMLResponse)
def board_home(request: Request) -> Response:
    person = require(request, Role.BOARD)
    rows = summaries(portal_of(request).node.triggers)
    grouped = [(state, [t for t in rows if t.state is state]) for state in ORDER]
    return render(
        request,
        person,
        "console/board.html",
        grouped=[(s, ts) for s, ts in grouped if ts],
        states=STATES,
        reasons=REASONS,
        total=len(rows),
    )


@router.get("/console/board/releases", response_class=HTMLResponse)
def board_releases(request: Request) -> Response:
    """Approved triggers waiting to be released (the operator's way in; the board sees them on its page too)."""
    person = require(request, Role.BOARD, Role.OPERATOR)
    rows = [t for t in summaries(portal_of(request).node.triggers) if t.state is TriggerState.APPROVED]
    return render(
        request, person, "console/board.html", grouped=[(TriggerState.APPROVED, rows)] if rows else [],
        states=STATES, reasons=REASONS, total=len(rows), releases=True,
    )  # fmt: skip


def _propose_page(
    request: Request, person: Person, status: int = 200, *, message: str = "", form: dict[str, str] | None = None
) -> Response:
    candidates = [t for t in portal_of(request).node.monitor().status() if t.candidate]
    return render(
        request,
        person,
        "console/board_propose.html",
        status,
        reasons=REASONS,
        scopes=SCOPES,
        candidates=candidates,
        message=message,
        form=form or {"kind": ScopeKind.TITLE.value, "reason": TriggerReason.PUBLISHER_CEASED.value},
    )


@router.get("/console/board/propose", response_class=HTMLResponse)
def propose_form(request: Request) -> Response:
    person = require(request, Role.BOARD)
    return _propose_page(request, person)


@router.post("/console/board/propose", response_class=HTMLResponse)
async def propose(request: Request) -> Response:
    person = require(request, Role.BOARD)
    form = await read_form(request)
    values = {
        name: field(form, name, 20000 if name == "evidence" else 2000)
        for name in ("kind", "refs", "reason", "evidence", "explanation", "from_monitor")
    }

    def again(message: Text) -> Response:
        return _propose_page(request, person, 422, message=say_(request, message), form=values)

    try:
        kind = ScopeKind(values["kind"])
        reason = TriggerReason(values["reason"])
    except ValueError:
        return again(N_("Choose what to release and why from the lists."))
    refs = [r.strip() for r in values["refs"].replace(",", "\n").splitlines() if r.strip()]
    if not refs or (kind is not ScopeKind.AUS and len(refs) != 1):
        return again(N_("Name what to release: one title or publisher key, or the keys of the archival units."))
    evidence = [line.strip() for line in values["evidence"].splitlines() if line.strip()]
    node = portal_of(request).node
    if values["from_monitor"]:
        if kind is not ScopeKind.TITLE:
            return again(N_("The monitor's evidence goes with a title: the monitor watches titles."))
        try:
            evidence += node.monitor().evidence_for(refs[0])
        except StrongroomError:
            return again(N_("The monitor has no evidence for this title: it is not a trigger candidate."))
    if reason is TriggerReason.OTHER and not values["explanation"]:
        return again(N_("A proposal for another reason needs an explanation."))
    if not evidence:
        return again(N_("A proposal needs evidence: a URL, a note or a file name, one a line."))
    try:
        trigger = node.triggers.propose(kind, refs, reason, evidence, person.actor, values["explanation"])
    except NotFound:
        return again(N_("Nothing to release was found under these keys. Check them on the network's pages."))
    return RedirectResponse(f"{prefix(request)}/console/board/{trigger.key}?done=proposed", status_code=303)


def say_(request: Request, message: Text, **values: object) -> str:
    """``message`` in the page's language, its ``%(name)s`` filled with ``values``."""
    text = say(message, lang_of(request))
    return text % values if values else text


DONE = {
    "proposed": N_("Your proposal is recorded. The board votes on it here."),
    "voted": N_("Your signed ballot is recorded."),
    "released": N_("The content is released."),
    "closed": N_("The vote has ended; the rule decided on the ballots cast."),
    "withdrawn": N_("The proposal is withdrawn."),
}


@router.get("/console/board/{key}", response_class=HTMLResponse)
def trigger_page(request: Request, key: str, done: str = "") -> Response:
    person = require(request, Role.BOARD, Role.OPERATOR)
    view = _view(request, person, key)
    return _trigger_page(request, person, view, done=say_(request, DONE[done]) if done in DONE else "")


@router.post("/console/board/{key}/vote", response_class=HTMLResponse)
async def vote(request: Request, key: str) -> Response:
    person = require(request, Role.BOARD)
    form = await read_form(request)
    view = _view(request, person, key)
    values = {name: field(form, name) for name in ("choice", "signed_at", "signature", "statement")}
    member = person.board_member
    if not member:
        raise Refused(N_("Your account names no board member, so it cannot cast a ballot."))

    def again(message: str) -> Response:
        return _trigger_page(request, person, view, 422, message=message, form=values)

    try:
        choice = VoteChoice(values["choice"])
    except ValueError:
        return again(say_(request, N_("Choose For, Against or Abstain.")))
    if not values["signed_at"] or not values["signature"]:
        return again(
            say_(request, N_("The ballot needs its signature and the time it was signed (signed_at). Sign it first."))
        )
    if view.state not in (TriggerState.PROPOSED, TriggerState.VOTING):
        return again(say_(request, VOTES_CLOSED, key=key, state=say_(request, STATES[view.state])))
    if view.voted(member):
        return again(say_(request, ALREADY_VOTED, member=member, key=key))
    try:
        portal_of(request).node.triggers.vote(
            key, member, choice, values["signed_at"], values["signature"], values["statement"], actor=person.actor
        )
    except TriggerError:
        # The workflow refuses a signature that is not the member's of these exact bytes (and, should another
        # ballot have arrived meanwhile, a second one): nothing is recorded either way.
        view = _view(request, person, key)
        if view.voted(member):
            return again(say_(request, ALREADY_VOTED, member=member, key=key))
        return again(say_(request, BALLOT_REFUSED, member=member, key=key))
    return RedirectResponse(f"{prefix(request)}/console/board/{key}?done=voted", status_code=303)


@router.post("/console/board/{key}/release", response_class=HTMLResponse)
async def release(request: Request, key: str) -> Response:
    person = require(request, Role.BOARD, Role.OPERATOR)
    form = await read_form(request)
    view = _view(request, person, key)
    licence = field(form, "licence")
    values = {"licence": licence}
    if licence not in OPEN_LICENCES:
        return _trigger_page(
            request,
            person,
            view,
            422,
            message=say_(request, N_("Choose the licence from the list of open licences.")),
            form=values,
        )
    if view.state is not TriggerState.APPROVED:
        state = say_(request, STATES[view.state])
        message = say_(request, N_("Only an approved proposal can be released; this one is %(state)s."), state=state)
        return _trigger_page(request, person, view, 422, message=message, form=values)
    try:
        portal_of(request).node.triggers.release(key, person.actor, licence)
    except TriggerError:  # released or withdrawn by someone else since the page was read
        view = _view(request, person, key)
        state = say_(request, STATES[view.state])
        message = say_(request, N_("Only an approved proposal can be released; this one is %(state)s."), state=state)
        return _trigger_page(request, person, view, 422, message=message, form=values)
    return RedirectResponse(f"{prefix(request)}/console/board/{key}?done=released", status_code=303)


@router.post("/console/board/{key}/close", response_class=HTMLResponse)
async def close_vote(request: Request, key: str) -> Response:
    """End the vote: the rule decides on the ballots cast (``strongroom trigger close``)."""
    person = require(request, Role.BOARD)
    await read_form(request)
    view = _view(request, person, key)
    try:
        portal_of(request).node.triggers.close(key, who=person.actor)
    except TriggerError:  # not voting (yet, or any more)
        message = say_(request, VOTES_CLOSED, key=key, state=say_(request, STATES[view.state]))
        if view.state is TriggerState.PROPOSED:
            message = say_(request, N_("Nobody has voted on %(key)s yet; there is no vote to end."), key=key)
        return _trigger_page(request, person, view, 422, message=message)
    return RedirectResponse(f"{prefix(request)}/console/board/{key}?done=closed", status_code=303)


@router.post("/console/board/{key}/withdraw", response_class=HTMLResponse)
async def withdraw(request: Request, key: str) -> Response:
    """Withdraw a proposal that is still being voted on, with the reason (``strongroom trigger withdraw``)."""
    person = require(request, Role.BOARD)
    form = await read_form(request)
    view = _view(request, person, key)
    why = field(form, "why")
    if not why:
        message = say_(request, N_("Say why the proposal is withdrawn; it is kept with the proposal."))
        return _trigger_page(request, person, view, 422, message=message, form={"why": why})
    try:
        portal_of(request).node.triggers.withdraw(key, person.actor, why)
    except TriggerError:
        state = say_(request, STATES[view.state])
        message = say_(request, N_("This proposal is %(state)s; it can no longer be withdrawn."), state=state)
        return _trigger_page(request, person, view, 422, message=message, form={"why": why})
    return RedirectResponse(f"{prefix(request)}/console/board/{key}?done=withdrawn", status_code=303)
