"""The network at a glance, as numbers: a one-line verdict (every AU at the policy, how many below, alarms open),
the members by country and what each holds, copies of every AU against the policy (and what to do for those
below it), this node's polls over time, and how long damage took from being found to being repaired.

One :class:`NetworkOverview` (its ``to_dict()``) feeds the console's page, its JSON and ``strongroom network status
--json``, so they cannot differ. Cheap at size: the members' listings are the one answer ``NetworkStatus.copies``
already gathers in bulk; the catalog is read in a few queries (chunks of 500 AUs), never one per AU, and the polls
are counted in one pass over the poll events of a bounded window.

Everything here is data (codes and numbers), never sentences: the console words it in the reader's language, the
CLI in English."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from strongroom.catalog.models import ArchivalUnit, Event, Title
from strongroom.catalog.repo import Catalog
from strongroom.domain.model import EventOutcome, EventType
from strongroom.network.client import PeerClient
from strongroom.services.network_status import CopyStatus, NetworkStatus

MATRIX_COLUMNS = 40  # more AUs than this: the matrix shows titles; more titles: the 40 with the fewest copies
PER_AU_BARS = 60  # more AUs than this: copies are drawn as a histogram "AUs with N copies"
POLL_WINDOW_DAYS = 90  # polls counted over the last 90 days that saw a poll (by day up to 31 days, else by week)
CHUNK = 500


class Verdict(StrEnum):
    HEALTHY = "healthy"  # every AU at the policy, no alarm open, every member answers
    BELOW_POLICY = "below-policy"
    ALARMS = "alarms"  # alarms open (and perhaps AUs below the policy too)
    SILENT_MEMBERS = "silent-members"  # all at policy, no alarm, but members do not answer
    NOT_IN_NETWORK = "not-in-network"


class Advice(StrEnum):
    """What to do for an AU below the policy."""

    REPLICATE = "replicate"  # assigned holders answer but lack the head version: their next replication round
    SILENT_HOLDERS = "silent-holders"  # assigned holders do not answer: bring them back (or reassign)
    ADD_MEMBERS = "add-members"  # the configuration cannot place enough copies or countries: add members


@dataclass(frozen=True)
class MemberHoldings:
    node_id: str
    institution: str
    country: str
    answers: bool
    aus: int  # AUs it holds (any version)
    bytes: int  # their size at the head version, as this node's catalog knows it


@dataclass(frozen=True)
class CountryHoldings:
    country: str
    members: int
    aus: int  # distinct AUs held by at least one member in the country
    bytes: int


@dataclass(frozen=True)
class AUCopies:
    au_key: str
    title: str
    copies: int  # good copies: at the head version
    countries: int
    preserved: bool
    alarms: int


@dataclass(frozen=True)
class BelowPolicy:
    au_key: str
    copies: int
    countries: int
    missing: list[str]  # assigned holders without the head version
    silent: list[str]  # of those, the members that do not answer
    advice: Advice


@dataclass(frozen=True)
class Matrix:
    kind: str  # "aus" or "titles"
    rows: list[str]  # member ids, by country
    columns: list[str]
    total_columns: int  # before the cap
    cells: list[tuple[str, str, str]]  # (member, column, text): "v3" (AUs), "2/3" (AUs of the title held)
    behind: list[tuple[str, str]]  # cells that hold an older version, or only some of the title's AUs


@dataclass(frozen=True)
class PollPeriod:
    start: str  # ISO date of the day or the week's Monday
    agreements: int
    repairs: int
    inconclusive: int


@dataclass(frozen=True)
class RepairEpisode:
    au_key: str
    found: str  # ISO time damage was first found (an audit or a poll), or of the repair that found and fixed it
    repaired: str
    seconds: float


@dataclass(frozen=True)
class RepairTimes:
    repaired: int
    median_seconds: float | None
    worst_seconds: float | None
    open_damage: list[str]  # AUs whose damage was found and is not repaired yet
    episodes: list[RepairEpisode]  # the newest 20


@dataclass(frozen=True)
class NetworkOverview:
    in_network: bool
    network: str | None
    serial: int | None
    node_id: str
    target_copies: int | None
    min_countries: int | None
    verdict: Verdict
    aus: int
    at_policy: int
    below_policy: int
    open_alarms: int  # alarms open on this node, over all AUs
    members_answering: int
    members_total: int
    members: list[MemberHoldings]
    countries: list[CountryHoldings]
    copies: list[AUCopies]  # fewest copies first, at most PER_AU_BARS
    histogram: dict[int, int]  # good copies -> AUs
    below: list[BelowPolicy]  # at most 200, fewest copies first
    alarmed: list[tuple[str, int]]  # (AU key, alarms open on it), most alarms first, at most 200
    matrix: Matrix
    poll_period: str  # "day" or "week"
    polls: list[PollPeriod]
    repair_times: RepairTimes
    notes: list[str] = field(default_factory=list)  # codes: "matrix-capped", "copies-capped", "below-capped"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = str(self.verdict)
        data["histogram"] = {str(k): v for k, v in sorted(self.histogram.items())}
        data["matrix"]["cells"] = [list(c) for c in self.matrix.cells]
        data["matrix"]["behind"] = [list(c) for c in self.matrix.behind]
        data["alarmed"] = [list(a) for a in self.alarmed]
        for b in data["below"]:
            b["advice"] = str(b["advice"])
        return data


def gather(status: NetworkStatus, client: PeerClient | None, institution: str, country: str) -> NetworkOverview:
    """The overview as this node sees it: the members' answers in one round (``client``; None outside a network)
    and this node's catalog. A node in no network shows its own holdings."""
    membership = status.membership
    if not membership.joined or client is None:
        held = {o: status.store.head_version(o) for o in status.store.iter_object_ids()}
        me = membership.node_id
        return overview(
            status.catalog, me, own_holdings(status.catalog, me, held), {me: True}, [(me, institution, country)]
        )
    reachable, copies = status.copies(client)
    return of_answers(status, reachable, copies)


def of_answers(status: NetworkStatus, reachable: dict[str, bool], copies: list[CopyStatus]) -> NetworkOverview:
    """The overview of a network from the members' answers already asked (``status.copies``)."""
    config = status.config()
    return overview(
        status.catalog,
        status.membership.node_id,
        copies,
        reachable,
        [(m.id, m.institution, m.country) for m in config.members],
        network=config.name,
        serial=config.serial,
        target_copies=config.policy.target_copies,
        min_countries=config.policy.min_countries,
    )


def overview(
    catalog: Catalog,
    node_id: str,
    copies: Sequence[CopyStatus],
    reachable: dict[str, bool],
    members: Sequence[tuple[str, str, str]],
    *,
    network: str | None = None,
    serial: int | None = None,
    target_copies: int | None = None,
    min_countries: int | None = None,
) -> NetworkOverview:
    """The overview from the members' answer (``copies``, ``reachable``: ``NetworkStatus.copies``) and this node's
    catalog (``members``: id, institution, country). Outside a network, ``copies`` are this node's own holdings and
    ``target_copies`` is None."""
    in_network = target_copies is not None
    info = _au_info(catalog, [c.object_id for c in copies])
    country_of = {mid: c for mid, _, c in members}
    rows: list[AUCopies] = []
    below: list[BelowPolicy] = []
    histogram: Counter[int] = Counter()
    held: dict[str, list[str]] = {}  # member -> object ids it holds
    for c in copies:
        head = max(c.holding.values(), default=0)
        good = [n for n, v in c.holding.items() if v == head]
        for n in c.holding:
            held.setdefault(n, []).append(c.object_id)
        title = info.get(c.object_id, ("", 0))[0]
        preserved = c.preserved if in_network else False
        rows.append(AUCopies(c.au_key, title, len(good), len(c.countries), preserved, len(c.alarms)))
        histogram[len(good)] += 1
        if in_network and not c.preserved:
            missing = [n for n in c.assigned if c.holding.get(n, -1) < head]
            silent = [n for n in missing if not reachable.get(n, False)]
            if silent:
                advice = Advice.SILENT_HOLDERS
            elif missing:
                advice = Advice.REPLICATE
            else:
                advice = Advice.ADD_MEMBERS
            below.append(BelowPolicy(c.au_key, len(good), len(c.countries), missing, silent, advice))
    rows.sort(key=lambda r: (r.copies, r.countries, r.au_key))
    below.sort(key=lambda b: (b.copies, b.countries, b.au_key))
    notes = []
    if len(rows) > PER_AU_BARS:
        notes.append("copies-capped")
    if len(below) > 200:
        notes.append("below-capped")
    member_rows = []
    for mid, institution, country in members:
        mine = held.get(mid, [])
        size = sum(info.get(o, ("", 0))[1] for o in mine)
        member_rows.append(MemberHoldings(mid, institution, country, reachable.get(mid, False), len(mine), size))
    member_rows.sort(key=lambda m: (m.country, m.node_id))
    countries = []
    for country in sorted({m.country for m in member_rows}):
        ids = {m.node_id for m in member_rows if m.country == country}
        objects = {o for n in ids for o in held.get(n, [])}
        countries.append(
            CountryHoldings(country, len(ids), len(objects), sum(info.get(o, ("", 0))[1] for o in objects))
        )
    matrix = _matrix(copies, info, [m.node_id for m in member_rows], country_of)
    if matrix.total_columns > len(matrix.columns):
        notes.append("matrix-capped")
    period, polls = _polls(catalog)
    alarms = sum(r.alarms for r in rows)
    at_policy = sum(1 for r in rows if r.preserved)
    answering = sum(1 for m in member_rows if m.answers)
    if not in_network:
        verdict = Verdict.NOT_IN_NETWORK
    elif alarms:
        verdict = Verdict.ALARMS
    elif below:
        verdict = Verdict.BELOW_POLICY
    elif answering < len(member_rows):
        verdict = Verdict.SILENT_MEMBERS
    else:
        verdict = Verdict.HEALTHY
    return NetworkOverview(
        in_network=in_network,
        network=network,
        serial=serial,
        node_id=node_id,
        target_copies=target_copies,
        min_countries=min_countries,
        verdict=verdict,
        aus=len(rows),
        at_policy=at_policy,
        below_policy=len(below),
        open_alarms=alarms,
        members_answering=answering,
        members_total=len(member_rows),
        members=member_rows,
        countries=countries,
        copies=rows[:PER_AU_BARS],
        histogram=dict(histogram),
        below=below[:200],
        alarmed=sorted(((r.au_key, r.alarms) for r in rows if r.alarms), key=lambda a: (-a[1], a[0]))[:200],
        matrix=matrix,
        poll_period=period,
        polls=polls,
        repair_times=_repair_times(catalog),
        notes=notes,
    )


def own_holdings(catalog: Catalog, node_id: str, held: dict[str, int]) -> list[CopyStatus]:
    """This node's own holdings (object id -> head version) as copies, for a node in no network."""
    info = _au_keys(catalog, sorted(held))
    return [CopyStatus(o, info.get(o, o), [node_id], {node_id: v}, [], False, None) for o, v in sorted(held.items())]


def _au_keys(catalog: Catalog, object_ids: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    with catalog.session() as s:
        for start in range(0, len(object_ids), CHUNK):
            chunk = object_ids[start : start + CHUNK]
            found = s.execute(select(ArchivalUnit.object_id, ArchivalUnit.key).where(ArchivalUnit.object_id.in_(chunk)))
            out.update({object_id: key for object_id, key in found})
    return out


def _au_info(catalog: Catalog, object_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
    """object id -> (its title's name, its bytes at the head version), for the AUs this node catalogues."""
    ids = sorted(object_ids)
    out: dict[str, tuple[str, int]] = {}
    with catalog.session() as s:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            found = s.execute(
                select(ArchivalUnit.object_id, Title.name, ArchivalUnit.stored_bytes)
                .join(Title, Title.id == ArchivalUnit.title_id)
                .where(ArchivalUnit.object_id.in_(chunk))
            )
            for object_id, title, size in found:
                out[object_id] = (title, int(size or 0))
    return out


def _matrix(
    copies: Sequence[CopyStatus], info: dict[str, tuple[str, int]], members: list[str], country: dict[str, str]
) -> Matrix:
    """Members by AU (or by title when the AUs are many), the columns with the fewest copies first when capped."""
    rows = [f"{country.get(m, '')} {m}".strip() for m in members]
    label = dict(zip(members, rows, strict=True))
    cells: list[tuple[str, str, str]] = []
    behind: list[tuple[str, str]] = []
    if len(copies) <= MATRIX_COLUMNS:
        ordered = sorted(copies, key=lambda c: c.au_key)
        for c in ordered:
            head = max(c.holding.values(), default=0)
            for n, v in sorted(c.holding.items()):
                if n in label:
                    cells.append((label[n], c.au_key, f"v{v}"))
                    if v < head:
                        behind.append((label[n], c.au_key))
        return Matrix("aus", rows, [c.au_key for c in ordered], len(ordered), cells, behind)
    by_title: dict[str, list[CopyStatus]] = {}
    for c in copies:
        by_title.setdefault(info.get(c.object_id, (c.au_key, 0))[0] or c.au_key, []).append(c)
    fewest = sorted(by_title, key=lambda t: (min(len(c.holding) for c in by_title[t]), t))[:MATRIX_COLUMNS]
    columns = sorted(fewest)
    for t in columns:
        aus = by_title[t]
        for n in members:
            count = sum(1 for c in aus if n in c.holding)
            if count:
                cells.append((label[n], t, f"{count}/{len(aus)}"))
                if count < len(aus):
                    behind.append((label[n], t))
    return Matrix("titles", rows, columns, len(by_title), cells, behind)


def _polls(catalog: Catalog) -> tuple[str, list[PollPeriod]]:
    """This node's polls (as poller) over the last :data:`POLL_WINDOW_DAYS` days that saw one, in one pass: by day
    when they span a month or less, else by week; every period from the first to the last, empty ones included."""
    with catalog.session() as s:
        last = s.scalar(
            select(Event.time).where(Event.type == EventType.POLL.value).order_by(Event.time.desc()).limit(1)
        )
        if last is None:
            return "day", []
        since = last - dt.timedelta(days=POLL_WINDOW_DAYS)
        found = s.execute(select(Event.time, Event.data).where(Event.type == EventType.POLL.value, Event.time > since))
        counted: list[tuple[dt.date, str]] = []
        for at, data in found:
            if not data or data.get("role") != "poller" or "voters" not in data:
                continue  # a vote, a receipt, or a finding about a peer: not a poll this node called
            if data.get("outcome") == "inconclusive":
                kind = "inconclusive"
            elif data.get("repaired") or data.get("unrepaired") or data.get("outcome") == "disagree":
                kind = "repair"
            else:
                kind = "agree"
            counted.append((at.date(), kind))
    if not counted:
        return "day", []
    first, newest = min(d for d, _ in counted), max(d for d, _ in counted)
    weekly = (newest - first).days > 31
    step = dt.timedelta(days=7 if weekly else 1)

    def bucket(d: dt.date) -> dt.date:
        return d - dt.timedelta(days=d.weekday()) if weekly else d

    tally: dict[dt.date, Counter[str]] = {}
    for d, kind in counted:
        tally.setdefault(bucket(d), Counter())[kind] += 1
    periods = []
    d = bucket(first)
    while d <= bucket(newest):
        t = tally.get(d, Counter())
        periods.append(PollPeriod(d.isoformat(), t["agree"], t["repair"], t["inconclusive"]))
        d += step
    return ("week" if weekly else "day"), periods


def _repair_times(catalog: Catalog) -> RepairTimes:
    """For every repair this node made: the time from when the damage was first found (a failed audit of the AU,
    or a poll that could not repair it) to the repair that fixed it; a poll that found and repaired the damage at
    once counts as the repair's own time. Read from the repair events and, for their AUs only, the audits and
    polls that found damage."""
    with catalog.session() as s:
        repairs = s.execute(
            select(Event.object_key, Event.time, Event.outcome).where(Event.type == EventType.REPAIR.value)
        ).all()
        keys = sorted({k for k, _, _ in repairs})
        found: list[tuple[str, dt.datetime]] = []
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start : start + CHUNK]
            found += s.execute(
                select(Event.object_key, Event.time).where(
                    Event.object_key.in_(chunk),
                    Event.type == EventType.FIXITY_CHECK.value,
                    Event.outcome == EventOutcome.FAILURE.value,
                )
            ).all()
            for key, at, data in s.execute(
                select(Event.object_key, Event.time, Event.data).where(
                    Event.object_key.in_(chunk), Event.type == EventType.POLL.value
                )
            ):
                if data and data.get("role") == "poller" and data.get("unrepaired"):
                    found.append((key, at))
    timeline: dict[str, list[tuple[dt.datetime, int, str]]] = {}
    for key, at in found:
        timeline.setdefault(key, []).append((at, 0, "found"))
    for key, at, outcome in repairs:
        if outcome == EventOutcome.SUCCESS.value:
            timeline.setdefault(key, []).append((at, 1, "repaired"))
    episodes: list[RepairEpisode] = []
    open_damage = []
    for key, steps in sorted(timeline.items()):
        pending: dt.datetime | None = None
        for at, _, kind in sorted(steps):
            if kind == "found":
                pending = pending or at
            else:
                start_at = pending or at
                episodes.append(
                    RepairEpisode(key, start_at.isoformat(), at.isoformat(), (at - start_at).total_seconds())
                )
                pending = None
        if pending is not None:
            open_damage.append(key)
    seconds = [e.seconds for e in episodes]
    episodes.sort(key=lambda e: e.repaired, reverse=True)
    return RepairTimes(
        len(episodes),
        statistics.median(seconds) if seconds else None,
        max(seconds) if seconds else None,
        open_damage,
        episodes[:20],
    )
