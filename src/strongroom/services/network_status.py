"""The network at a glance: which members answer, where every AU's copies are and whether it is preserved, and one
AU's story on this node (its last agreement, alarms since, repairs, suspect peers and peers with damaged copies).

Nothing goes unaudited in silence: a poll with too few votes is an alarm whatever the cause (the poll event says
why), and so is an AU this node holds that no conclusive poll has audited within the network's poll interval (one
called by this node, or one whose receipt told this node its copy agreed).

The catalog is read through :class:`StatusReads`: the node's :class:`~strongroom.catalog.repo.Catalog` (Core
statements on its engine), or, for ``au status`` on a SQLite catalog with nothing to recover, the standard library's
``sqlite3`` (:mod:`strongroom.services.lean_au_status`). Must not import SQLAlchemy (``au status`` is an everyday
command: importing it costs more than the rest of the command).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from strongroom.clock import Clock
from strongroom.domain.model import EventType
from strongroom.domain.poll_summary import PollSummary
from strongroom.network.client import NoSuchRoute, PeerClient, PeerError
from strongroom.network.config import Member, NetworkConfig
from strongroom.network.ids import wire_id_problem
from strongroom.services.membership import Membership
from strongroom.store.base import ObjectStore

if TYPE_CHECKING:  # the node's catalog; the lean path reads without it (and without SQLAlchemy)
    from strongroom.catalog.repo import Catalog

# For each AU asked about that this node catalogues (by object id): its key, the poll summary it keeps, and when this
# node catalogued it.
PollSummaries = dict[str, tuple[str, PollSummary, dt.datetime | None]]
ASK_AT_ONCE = 16  # members asked at once for the network's status


class EventFacts(Protocol):
    """What ``au status`` reads of an event (a row of the events table)."""

    @property
    def type(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def detail(self) -> str: ...
    @property
    def time(self) -> dt.datetime: ...
    @property
    def data(self) -> dict[str, Any]: ...


class StatusReads(Protocol):
    """The catalog reads of the network's status: values as the catalog's SQLAlchemy types give them (JSON
    documents decoded, times timezone-aware in UTC)."""

    @property
    def clock(self) -> Clock: ...

    def au_object_id(self, key: str) -> str:
        """The object id of the AU ``key``; NotFound (catalog.repo's) when this node has no such AU."""
        ...

    def event_rows(self, *, object_key: str, limit: int | None) -> Sequence[EventFacts]:
        """The events of ``object_key``, newest first (time, then id), at most ``limit``."""
        ...

    def poll_summaries(self, object_ids: Sequence[str]) -> PollSummaries:
        """The poll summaries of the AUs this node catalogues among ``object_ids``, one row per AU."""
        ...


@dataclass
class CopyStatus:
    object_id: str
    au_key: str
    assigned: list[str]
    holding: dict[str, int]  # node id -> head version it reports
    countries: list[str]
    preserved: bool
    last_poll: str | None
    alarms: list[str] = field(default_factory=list)  # this node's open alarms on the AU
    unassigned_here: str | None = None  # this node holds a copy it is no longer assigned: what becomes of it


@dataclass
class AUStatus:
    au_key: str
    object_id: str
    copies: CopyStatus | None
    last_agreement: str | None
    open_alarms: list[str]
    repairs: list[str]
    reported_peers: list[str]  # suspects: voted against a landslide again after being told, bad repairs, bad votes
    damaged_peers: list[str] = field(default_factory=list)  # found in the minority once: damage, not a suspect


class NetworkCopies:
    """Where the members hold every AU, as they answered within the last ``max_age`` seconds: one answer shared by
    everything that shows copies (the holdings reports, the publishers' pages and certificates, the OJS deposits'
    ``agreement``), so a portal asks the members at most once a minute however many pages it serves. ``ask`` puts
    the question (``NetworkStatus.copies`` over a client); a node in no network has no answer (None)."""

    def __init__(
        self, ask: Callable[[], list[CopyStatus]], joined: Callable[[], bool], clock: Clock, max_age: float
    ) -> None:
        self._ask = ask
        self._joined = joined
        self._clock = clock
        self.max_age = max_age
        self._lock = threading.Lock()  # the portal serves requests on several threads
        self._answer: tuple[dt.datetime, list[CopyStatus]] | None = None

    def copies(self) -> list[CopyStatus] | None:
        if not self._joined():
            return None
        with self._lock:
            now = self._clock.now()
            if self._answer is None or (now - self._answer[0]).total_seconds() >= self.max_age:
                self._answer = (now, self._ask())
            return list(self._answer[1])

    def preserved(self) -> set[str] | None:
        """The AUs the network holds enough copies of, in enough countries (None in no network)."""
        copies = self.copies()
        return None if copies is None else {c.object_id for c in copies if c.preserved}


class NetworkView:
    """The network as this node sees it: the members' answers, and what its catalog (read through ``catalog``) and
    store say of its own copies."""

    def __init__(self, catalog: StatusReads, store: ObjectStore, membership: Membership) -> None:
        self.catalog = catalog
        self.store = store
        self.membership = membership

    def config(self) -> NetworkConfig:
        return self.membership.config()

    def copies(self, client: PeerClient, only: str | None = None) -> tuple[dict[str, bool], list[CopyStatus]]:
        """Which members answer, and for every AU any of them holds (or only the object ``only``: this node then
        reads no other object's inventory, and asks each member about that object alone, not for its whole list):
        where its copies are and whether it is preserved (the target number of copies at the head version, in
        enough countries)."""
        config = self.membership.config()
        me = self.membership.node_id
        answers = self._listings(client, [m for m in config.members if m.id != me], only)
        reachable: dict[str, bool] = {}
        held: dict[str, dict[str, int]] = {}
        for member in config.members:
            listing: list[tuple[str, int]] | None
            if member.id == me:
                mine = self.store.iter_object_ids() if only is None else filter(self.store.exists, [only])
                listing = [(o, self.store.head_version(o)) for o in mine]
            else:
                listing = answers[member.id]
            reachable[member.id] = listing is not None
            for object_id, version in listing or ():
                if only is not None and object_id != only:
                    continue
                held.setdefault(object_id, {})[member.id] = version
        country = {m.id: m.country for m in config.members}
        kept = self._poll_summaries(sorted(held))
        out = []
        for object_id, copies in sorted(held.items()):
            head = max(copies.values())
            current = [n for n, v in copies.items() if v == head]
            countries = sorted({country[n] for n in current})
            preserved = len(current) >= config.policy.target_copies and len(countries) >= config.policy.min_countries
            au_key, summary, first_seen = kept.get(object_id, (object_id, PollSummary(), None))
            last = (
                f"{summary.last_poll_at:%Y-%m-%d %H:%M} {summary.last_poll_outcome}" if summary.last_poll_at else None
            )
            assigned = self.membership.holders(object_id)
            alarms = self._alarms(summary, first_seen) if me in copies and me in assigned else []
            out.append(CopyStatus(object_id, au_key, assigned, copies, countries, preserved, last, alarms))
            if me in copies and me not in assigned:
                confirmed = [n for n in assigned if copies.get(n, -1) >= copies[me]]
                out[-1].unassigned_here = (
                    f"not assigned to this node: kept until its {len(assigned)} assigned holders hold "
                    f"v{copies[me]} ({len(confirmed)} do); not polled here"
                    + (
                        "; every assigned holder has it, so this copy may be released (serve does so after its "
                        "next replication round; or: strongroom network release-copies)"
                        if len(confirmed) == len(assigned)
                        else ""
                    )
                )
        return reachable, out

    def _listings(
        self, client: PeerClient, members: Sequence[Member], only: str | None
    ) -> dict[str, list[tuple[str, int]] | None]:
        """Each member's listing (see :meth:`_listing`; None when it does not answer), asked of all of them at once:
        members that take their timeout (the network's trouble, when an operator looks) delay the status by one
        timeout, not by one each."""
        from concurrent.futures import ThreadPoolExecutor  # here: au status imports only what it uses

        if not members:
            return {}
        with ThreadPoolExecutor(min(len(members), ASK_AT_ONCE), thread_name_prefix="network-status") as pool:
            asked = {m.id: pool.submit(self._listing, client, m, only) for m in members}
        out: dict[str, list[tuple[str, int]] | None] = {}
        for member_id, future in asked.items():
            try:
                out[member_id] = future.result()
            except PeerError:
                out[member_id] = None
        return out

    @staticmethod
    def _listing(client: PeerClient, member: Member, only: str | None) -> list[tuple[str, int]]:
        """What ``member`` holds (of ``only``, if given: asked about that object alone, one small answer; the
        whole list from a member running a version without that route, or for an id no peer request may carry)."""
        if only is not None and wire_id_problem(only) is None:
            try:
                entry = client.holding(member, only)
                return [(entry["object_id"], entry["version"])] if entry is not None else []
            except NoSuchRoute:
                pass
        return client.objects(member)

    def au(self, client: PeerClient, au_key: str) -> AUStatus:
        """One AU at a glance: its copies and where, the last poll this node won, alarms raised since, repairs.
        Read through :class:`StatusReads`, as ``items`` reads: an everyday command, too short to pay for importing
        the ORM (or, on a SQLite catalog with nothing to recover, SQLAlchemy itself)."""
        object_id = self.catalog.au_object_id(au_key)
        _, copies = self.copies(client, only=object_id)
        mine = next((c for c in copies if c.object_id == object_id), None)
        events = self.catalog.event_rows(object_key=au_key, limit=None)
        last_agreement = next(
            (
                e
                for e in events
                if e.type == EventType.POLL and e.data.get("role") == "poller" and e.data.get("outcome") == "agree"
            ),
            None,
        )
        held = self.store.exists(object_id) and self.membership.node_id in self.membership.holders(object_id)
        _, summary, first_seen = self._poll_summaries([object_id]).get(object_id, (au_key, PollSummary(), None))
        alarms = self._alarms(summary, first_seen) if held else []
        repairs = [f"{e.time:%Y-%m-%d %H:%M} {e.outcome}: {e.detail}" for e in events if e.type == EventType.REPAIR]
        reported = sorted({str(e.data["suspect"]) for e in events if e.data.get("suspect")})
        damaged = sorted(
            {str(e.data["peer"]) for e in events if e.data.get("finding") == "damaged" and e.data.get("peer")}
            - set(reported)
        )
        return AUStatus(
            au_key,
            object_id,
            mine,
            f"{last_agreement.time:%Y-%m-%d %H:%M}" if last_agreement else None,
            alarms,
            repairs,
            reported,
            damaged,
        )

    def _poll_summaries(self, object_ids: Sequence[str]) -> PollSummaries:
        """For each AU this node catalogues among ``object_ids``: its key, the poll summary it keeps and when this
        node catalogued it (:meth:`StatusReads.poll_summaries`: one row per AU, never its events)."""
        return self.catalog.poll_summaries(object_ids)

    def _alarms(self, summary: PollSummary, first_seen: dt.datetime | None) -> list[str]:
        """This node's open alarms on an AU (``summary``: the poll summary it keeps; ``first_seen``: when this node
        catalogued it): polls that alarmed since the last conclusive one, and no conclusive audit within the poll
        interval."""
        policy = self.membership.config().policy
        since = summary.last_conclusive_at
        alarms = list(summary.alarms)
        interval = dt.timedelta(days=policy.poll_interval_days)
        start = since or first_seen  # never audited: since this node has it
        now = self.catalog.clock.now()
        if start is not None and now - start > interval:
            alarms.insert(
                0,
                f"ALARM: not audited within the poll interval ({policy.poll_interval_days:g} days): last conclusive "
                + (f"poll {since:%Y-%m-%d %H:%M}" if since else "poll never")
                + "; see why with: strongroom events --type poll",
            )
        return alarms


class NetworkStatus(NetworkView):
    """The network's status on an opened node, over its :class:`~strongroom.catalog.repo.Catalog`: what the
    network overview and the portal read besides (they read more of the catalog than :class:`StatusReads`)."""

    catalog: Catalog

    def __init__(self, catalog: Catalog, store: ObjectStore, membership: Membership) -> None:
        super().__init__(catalog, store, membership)
