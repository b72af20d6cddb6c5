"""The network at a glance (``/console/network/``, for operators, network administrators and the board): a one-line
verdict, the members by country and what each holds, copies of every AU against the policy, this node's polls over
time and how long damage took to be repaired, drawn on the server as SVG. ``/console/network.json`` is the same
:class:`~strongroom.services.network_overview.NetworkOverview`, as ``strongroom network status --json`` prints it
under "overview"."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup

from strongroom.domain.text import N_, Text
from strongroom.portal.console.common import lang_of, render, require
from strongroom.portal.console.svg import BAD, GOOD, PALETTE, WARN, Series, bar_chart, matrix
from strongroom.portal.i18n import say
from strongroom.portal.render import portal_of
from strongroom.services.accounts import Role
from strongroom.services.network_overview import NetworkOverview, gather

router = APIRouter()
ROLES = (Role.OPERATOR, Role.NETWORK_ADMIN, Role.BOARD)


def _overview(request: Request) -> NetworkOverview:
    """One round of the members' answers and this node's catalog (the page and its JSON read the same)."""
    node = portal_of(request).node
    if not node.membership.joined:
        return gather(node.network_status, None, node.settings.institution, node.settings.country)
    client = node.membership.client()
    try:
        return gather(node.network_status, client, node.settings.institution, node.settings.country)
    finally:
        client.close()


def charts(o: NetworkOverview, lang: str) -> dict[str, Markup]:
    """The page's four charts, their numbers the overview's (a test compares each ``data-`` with the JSON)."""

    def t(text: Text) -> str:
        return say(text, lang)

    m = o.matrix
    behind = set(m.behind)
    cells = {(row, col): (WARN if (row, col) in behind else GOOD, text) for row, col, text in m.cells}
    out = {
        "holdings": matrix(
            m.rows,
            m.columns,
            cells,
            title=t(N_("Which member holds which AU")) if m.kind == "aus" else t(N_("Which member holds which title")),
            caption=(
                t(N_("Members (rows) by AU (columns): the version each holds; amber: an older version."))
                if m.kind == "aus"
                else t(N_("Members (rows) by title (columns): AUs of the title each holds; amber: only some."))
            ),
            name="holdings",
        )
    }
    if len(o.copies) == o.aus:
        out["copies"] = bar_chart(
            [c.au_key for c in o.copies],
            [Series(t(N_("Good copies")), [c.copies for c in o.copies], PALETTE[0])],
            title=t(N_("Good copies of each AU")),
            caption=t(
                N_("Copies at the newest version of each AU, fewest first; the dashed line is the policy's target.")
            )
            if o.in_network
            else t(N_("Copies at the newest version of each AU: this node's own.")),
            target=float(o.target_copies) if o.target_copies is not None else None,
            target_label=t(N_("target %(n)s", n=o.target_copies)) if o.target_copies is not None else "",
            name="copies",
        )
    else:  # many AUs: how many AUs have each number of copies
        counts = sorted(o.histogram)
        target = o.target_copies or 0
        out["copies"] = bar_chart(
            [str(n) for n in counts],
            [
                Series(t(N_("Below the policy")), [o.histogram[n] if n < target else 0 for n in counts], BAD),
                Series(t(N_("At the policy")), [o.histogram[n] if n >= target else 0 for n in counts], GOOD),
            ],
            title=t(N_("AUs by number of good copies")),
            caption=t(N_("How many AUs have each number of good copies (the policy's target: %(n)s).", n=target)),
            name="copies",
        )
    out["polls"] = bar_chart(
        [p.start for p in o.polls],
        [
            Series(t(N_("Agreed")), [p.agreements for p in o.polls], GOOD),
            Series(t(N_("Repaired")), [p.repairs for p in o.polls], WARN),
            Series(t(N_("Inconclusive")), [p.inconclusive for p in o.polls], BAD),
        ],
        title=t(N_("This node's polls by day")) if o.poll_period == "day" else t(N_("This node's polls by week")),
        caption=t(N_("Polls this node called: agreed, found damage and repaired, or inconclusive (an alarm).")),
        name="polls",
    )
    episodes = list(reversed(o.repair_times.episodes))
    out["repairs"] = bar_chart(
        [e.au_key for e in episodes],
        [Series(t(N_("Hours from found to repaired")), [round(e.seconds / 3600, 2) for e in episodes], WARN)],
        title=t(N_("Time from finding damage to repairing it")),
        caption=t(
            N_("Hours from the first audit or poll that found damage to the repair that fixed it, oldest first.")
        ),
        name="repairs",
    )
    return out


@router.get("/console/network/", response_class=HTMLResponse)
def network_page(request: Request) -> Response:
    person = require(request, *ROLES)
    o = _overview(request)
    return render(request, person, "console/network.html", o=o, charts=charts(o, lang_of(request)), hours=_hours)


@router.get("/console/network.json")
def network_json(request: Request) -> Response:
    require(request, *ROLES)
    return JSONResponse(_overview(request).to_dict(), headers={"Cache-Control": "no-store"})


def _hours(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 3600:.2f}"
