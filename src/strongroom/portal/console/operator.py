"""The operators' room of the console: the node's health at a glance (``/console/node/``, the same numbers at
``/console/node.json``), and its jobs: the queue, forms that start an audit, a harvest or an export, and one job
followed to its end (``/console/jobs/<id>``: a page that refreshes itself, or ``follow-job.js`` polling
``/console/jobs/<id>.json``).

Jobs are queued through the node's queue exactly as ``strongroom queue`` does; an export is always written inside
the node's own ``exports`` folder, under a name made here from the AU's key, never a path sent by the browser.
Every job queued here is an event naming the person who queued it.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from strongroom.domain.text import N_, Text
from strongroom.formats.sword import HOLD, PROCESSING_STATES
from strongroom.node import Node
from strongroom.portal.console.common import Refused, field, job_word, lang_of, read_form, render, require
from strongroom.portal.i18n import say
from strongroom.portal.render import portal_of, prefix
from strongroom.services.accounts import Person, Role
from strongroom.services.health import AU_PAGE, Health
from strongroom.services.jobs import JobKind, JobRow, JobState

router = APIRouter()

STARTABLE = (JobKind.AUDIT, JobKind.HARVEST, JobKind.EXPORT)  # what the console starts
ENDED = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.ABORTED})
JOBS_SHOWN = 50
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")
ALL_AUS = "*"  # the audit form's choice of every AU
WAITING = (*PROCESSING_STATES[:-1], HOLD)  # OJS deposits received and not yet stored (or held)

# What to do about each kind of trouble (the advice of docs/network.md, said once here for the page).
ADVICE = {
    "alarm": N_(
        "Find out why with the poll events of the AU (strongroom events --type poll); an AU not audited in time "
        "needs its polls to reach enough voters."
    ),
    "suspect": N_(
        "A suspect voted against the landslide after being told, served a bad repair, or sent a vote not bound to "
        "the poll: watch it, and ask the network administrator to retire a node that goes on."
    ),
    "damaged": N_("Found in the minority once: an honest node with damage looks like this, and repairs itself."),
    "audit": N_("Audit the AU again, then poll it so that its peers repair it (strongroom poll AU)."),
}


def _node(request: Request) -> Node:
    node: Node = portal_of(request).node
    return node


def _health(node: Node) -> Health:
    return node.health


def _operator(request: Request) -> Person:
    return require(request, Role.OPERATOR)


# ---- the node's health -------------------------------------------------------------------------------------


def node_view(node: Node, after: str = "") -> dict[str, Any]:
    """Everything the node page shows, as JSON-ready values (the page and ``node.json`` share it)."""
    health = _health(node)
    counts = node.jobs.counts()
    by_state: dict[str, int] = {}
    for (state, _kind), n in counts.items():
        by_state[state] = by_state.get(state, 0) + n
    page, next_after = health.aus(after)
    copies = node.network_copies.copies()  # None: this node is in no network
    by_object = {c.object_id: c for c in copies or []}
    aus = []
    for au in page:
        row: dict[str, Any] = au.to_dict()
        c = by_object.get(au.object_id)
        if copies is None:  # in no network: its own copy is the only one it knows
            row |= {"copies": 1 if au.version else 0, "countries": [], "last_poll": None, "preserved": None}
        else:
            row |= {
                "copies": len(c.holding) if c else 0,
                "countries": c.countries if c else [],
                "last_poll": c.last_poll if c else None,
                "preserved": c.preserved if c else False,
                "alarms": c.alarms if c else [],
            }
        aus.append(row)
    alarms = [{"au": c.au_key, "alarm": a, "advice": str(ADVICE["alarm"])} for c in copies or [] for a in c.alarms]
    suspects = [
        {
            "at": at.isoformat(),
            "au": au_key,
            "peer": peer,
            "why": why,
            "advice": str(ADVICE["damaged" if why == "damaged" else "suspect"]),
        }
        for at, au_key, peer, why in health.suspects()
    ]
    last_audit = health.last_audit()
    harvest_jobs = [r for r in node.jobs.rows(limit=200) if r.kind == JobKind.HARVEST.value][:10]
    pkp = node.pkppn.deposits(state="error")[:10]
    waiting = [d for state in WAITING for d in node.pkppn.deposits(state=state)[:10]][:10]
    return {
        "storage": health.storage().to_dict(),
        "last_audit": last_audit.to_dict() | {"advice": str(ADVICE["audit"]) if last_audit.failing else None},
        "jobs": {
            "backend": node.jobs.backend,
            "running": by_state.get(JobState.DOING.value, 0),
            "queued": by_state.get(JobState.TODO.value, 0),
            "failed": by_state.get(JobState.FAILED.value, 0),
            "counts": [{"state": s, "kind": k, "jobs": n} for (s, k), n in sorted(counts.items())],
            "active": [r.to_dict() for r in node.jobs.rows(JobState.DOING, 10) + node.jobs.rows(JobState.TODO, 10)],
            "failed_recent": [r.to_dict() for r in node.jobs.rows(JobState.FAILED, 5)],
        },
        "errors": [p.to_dict() for p in health.errors()],
        "network": copies is not None,
        "aus": {"after": after, "next": next_after, "page_size": AU_PAGE, "rows": aus},
        "alarms": alarms,
        "suspects": suspects,
        "harvests": {
            "plans": [h.to_dict() for h in health.harvest_plans()],
            "recent": [_job_dict(node, r) for r in harvest_jobs],
        },
        "deposits": {
            "refused": [p.to_dict() for p in health.refused_deposits()],
            "pkppn_errors": [d.to_dict() for d in pkp],
            "pkppn_waiting": [d.to_dict() for d in waiting[:10]],
        },
    }


@router.get("/console/node.json")
def node_json(request: Request, after: str = "") -> Response:
    _operator(request)
    return JSONResponse(node_view(_node(request), after[:300]), headers={"Cache-Control": "no-store"})


@router.get("/console/node/", response_class=HTMLResponse)
def node_page(request: Request, after: str = "") -> Response:
    person = _operator(request)
    return render(request, person, "console/node.html", view=node_view(_node(request), after[:300]))


# ---- jobs ----------------------------------------------------------------------------------------------------


def _job_dict(node: Node, row: JobRow) -> dict[str, Any]:
    progress = node.jobs.progress.of(row.id)
    return row.to_dict() | {
        "ended": row.state in ENDED,
        "progress": progress.to_dict() if progress else None,
    }


def _jobs_page(
    request: Request,
    person: Person,
    *,
    state: str = "",
    before: int | None = None,
    status: int = 200,
    error: Text | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    node = _node(request)
    wanted = JobState(state) if state in {s.value for s in JobState} else None
    rows = node.jobs.rows(wanted, JOBS_SHOWN, before=before)
    health = _health(node)
    return render(
        request,
        person,
        "console/jobs.html",
        status,
        jobs=rows,
        before=before,
        older=rows[-1].id if len(rows) == JOBS_SHOWN else None,
        state=wanted.value if wanted else "",
        states=[s.value for s in JobState],
        plans=health.harvest_plans(),
        error=say(error, lang_of(request)) if error else "",
        typed=typed or {},
        all_aus=ALL_AUS,
    )


@router.get("/console/jobs/", response_class=HTMLResponse)
def jobs_page(request: Request, state: str = "", before: int | None = Query(None, ge=1, le=2**62)) -> Response:
    return _jobs_page(request, _operator(request), state=state, before=before)


def export_dest(node: Node, au_key: str) -> str:
    """Where an export of ``au_key`` is written: a new folder inside the node's own ``exports`` folder, named from
    the key and the time (never a path from outside)."""
    folder = (node.settings.home / "exports").resolve()
    folder.mkdir(exist_ok=True)
    name = _SLUG.sub("-", au_key).strip(".-") or "au"
    dest = (folder / f"{name}-{node.clock.now():%Y%m%dT%H%M%SZ}").resolve()
    if dest.parent != folder:  # (the name has no separator or dot-dot left; this is the guard of last resort)
        raise ValueError(f"{dest} is not inside {folder}")
    return str(dest)


class _Unfit(Exception):
    def __init__(self, message: Text) -> None:
        super().__init__(str(message))
        self.message = message


def _what_to_queue(node: Node, kind: str, subject: str) -> tuple[JobKind, str, dict[str, str]]:
    """The job a form asks for, checked: (kind, subject, arguments); :class:`_Unfit` says what is wrong."""
    health = _health(node)
    if kind == JobKind.AUDIT.value:
        if subject == ALL_AUS:
            return JobKind.AUDIT, "", {}
        if not subject or not health.au_keys([subject]):
            raise _Unfit(
                N_("There is no AU %(key)s on this node. Give the key of one of its AUs, or audit all.", key=subject)
            )
        return JobKind.AUDIT, subject, {}
    if kind == JobKind.HARVEST.value:
        if subject not in {p.title_key for p in health.harvest_plans()}:
            raise _Unfit(N_("The title %(key)s has no harvest plan. Choose one of the titles listed.", key=subject))
        return JobKind.HARVEST, subject, {}
    if kind == JobKind.EXPORT.value:
        if not subject or not health.au_keys([subject]):
            raise _Unfit(
                N_(
                    "There is no AU %(key)s on this node; nothing was exported. An export is written in the node's "
                    "exports folder: give only the AU's key.",
                    key=subject,
                )
            )
        return JobKind.EXPORT, subject, {"dest": export_dest(node, subject)}
    raise _Unfit(N_("The console starts audits, harvests and exports only."))


@router.post("/console/jobs/")
async def start_job(request: Request) -> Response:
    person = _operator(request)
    form = await read_form(request)
    kind, subject = field(form, "kind", 40), field(form, "subject", 300)
    node = _node(request)
    try:
        job_kind, unit, args = _what_to_queue(node, kind, subject)
    except _Unfit as unfit:
        return _jobs_page(request, person, status=422, error=unfit.message, typed={"kind": kind, "subject": subject})
    job_id = node.jobs.enqueue(job_kind, unit, **args)
    if job_id is None:
        waiting = next(
            (r for r in node.jobs.rows(JobState.TODO, 500) if r.kind == job_kind.value and r.subject == unit), None
        )
        message = N_("This job is already waiting in the queue; it was not queued twice.")
        if waiting is not None:
            return RedirectResponse(f"{prefix(request)}/console/jobs/{waiting.id}?already=1", status_code=303)
        return _jobs_page(request, person, status=409, error=message, typed={"kind": kind, "subject": subject})
    node.jobs.progress.note(job_id, job_kind.value, unit, message="queued", started_by=person.actor)
    what = f"{job_kind.value} of {unit or 'every AU'}"
    _health(node).record(
        person.actor,
        "job",
        str(job_id),
        f"queued {what} as job {job_id}",
        {"kind": job_kind.value, "subject": unit} | args,
    )
    return RedirectResponse(f"{prefix(request)}/console/jobs/{job_id}", status_code=303)


def _job_or_404(node: Node, job_id: int) -> JobRow:
    row = node.jobs.row(job_id)
    if row is None:
        raise Refused(N_("There is no job %(id)s in this node's queue.", id=job_id), status=404)
    return row


@router.get("/console/jobs/{job_id:int}.json")
def job_json(request: Request, job_id: int) -> Response:
    _operator(request)
    node = _node(request)
    job = _job_dict(node, _job_or_404(node, job_id))
    job["state_label"] = job_word(job["state"], lang_of(request))  # what the page's script shows
    return JSONResponse(job, headers={"Cache-Control": "no-store"})


@router.get("/console/jobs/{job_id:int}", response_class=HTMLResponse)
def job_page(request: Request, job_id: int, already: str = "") -> Response:
    person = _operator(request)
    node = _node(request)
    job = _job_dict(node, _job_or_404(node, job_id))
    return render(request, person, "console/job.html", script=True, job=job, already=bool(already))
