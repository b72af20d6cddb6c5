"""The network at a glance: which members answer, where every AU's copies are and whether it is preserved, and one
AU's story on this node (its last agreement, alarms since, repairs, suspect peers and peers with damaged copies).

Nothing goes unaudited in silence: a poll with too few votes is an alarm whatever the cause (the poll event says
why), and so is an AU this node holds that no conclusive poll has audited within the network's poll interval (one
called by this node, or one whose receipt told this node its copy agreed)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from strongroom.catalog.models import Event
from strongroom.catalog.repo import Catalog
from strongroom.domain.model import EventType
from strongroom.network.client import PeerClient, PeerError
from strongroom.network.config import NetworkConfig
from strongroom.services.events import EventLog
from strongroom.services.membership import Membership
from strongroom.store.base import ObjectStore


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


class NetworkStatus:
    def __init__(self, catalog: Catalog, store: ObjectStore, membership: Membership, events: EventLog) -> None:
        self.catalog = catalog
        self.store = store
        self.membership = membership
        self.events = events

    def config(self) -> NetworkConfig:
        return self.membership.config()

    def copies(self, client: PeerClient) -> tuple[dict[str, bool], list[CopyStatus]]:
        """Which members answer, and for every AU any of them holds: where its copies are and whether it is
        preserved (the target number of copies at the head version, in enough countries)."""
        config = self.membership.config()
        reachable: dict[str, bool] = {}
        held: dict[str, dict[str, int]] = {}
        for member in config.members:
            listing: dict[str, Any]
            if member.id == self.membership.node_id:
                reachable[member.id] = True
                listing = {
                    "objects": [
                        {"object_id": o, "version": self.store.head_version(o)} for o in self.store.iter_object_ids()
                    ]
                }
            else:
                try:
                    listing = client.get_json(member, "/peer/v1/objects")
                    reachable[member.id] = True
                except PeerError:
                    reachable[member.id] = False
                    continue
            for entry in listing["objects"]:
                held.setdefault(entry["object_id"], {})[member.id] = int(entry["version"])
        country = {m.id: m.country for m in config.members}
        out = []
        for object_id, copies in sorted(held.items()):
            head = max(copies.values())
            current = [n for n, v in copies.items() if v == head]
            countries = sorted({country[n] for n in current})
            preserved = len(current) >= config.policy.target_copies and len(countries) >= config.policy.min_countries
            au_key = self.events.au_key_for(object_id)
            events = self.catalog.events(object_key=au_key, limit=None)
            last = next(
                (f"{e.time:%Y-%m-%d %H:%M} {e.outcome}" for e in events if _poller(e)),
                None,
            )
            me, assigned = self.membership.node_id, self.membership.holders(object_id)
            alarms = self._alarms(events) if me in copies and me in assigned else []
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

    def au(self, client: PeerClient, au_key: str) -> AUStatus:
        """One AU at a glance: its copies and where, the last poll this node won, alarms raised since, repairs."""
        [(au, *_)] = self.catalog.aus([au_key])
        _, copies = self.copies(client)
        mine = next((c for c in copies if c.object_id == au.object_id), None)
        events = self.catalog.events(object_key=au_key, limit=None)
        last_agreement = next(
            (
                e
                for e in events
                if e.type == EventType.POLL and e.data.get("role") == "poller" and e.data.get("outcome") == "agree"
            ),
            None,
        )
        held = self.store.exists(au.object_id) and self.membership.node_id in self.membership.holders(au.object_id)
        alarms = self._alarms(events) if held else []
        repairs = [f"{e.time:%Y-%m-%d %H:%M} {e.outcome}: {e.detail}" for e in events if e.type == EventType.REPAIR]
        reported = sorted({str(e.data["suspect"]) for e in events if e.data.get("suspect")})
        damaged = sorted(
            {str(e.data["peer"]) for e in events if e.data.get("finding") == "damaged" and e.data.get("peer")}
            - set(reported)
        )
        return AUStatus(
            au_key,
            au.object_id,
            mine,
            f"{last_agreement.time:%Y-%m-%d %H:%M}" if last_agreement else None,
            alarms,
            repairs,
            reported,
            damaged,
        )

    def _alarms(self, events: Sequence[Event]) -> list[str]:
        """This node's open alarms on an AU (``events``: the AU's, newest first): polls that alarmed since the last
        conclusive one, and no conclusive audit within the poll interval."""
        policy = self.membership.config().policy
        newer = list(itertools.takewhile(lambda e: not _audited(e), events))  # newest first, down to the last audit
        conclusive = events[len(newer)] if len(newer) < len(events) else None
        since = conclusive.time if conclusive else None
        alarms = [
            f"{e.time:%Y-%m-%d %H:%M} {e.detail}"
            for e in newer
            if e.type == EventType.POLL and (e.data.get("alarms") or "ALARM" in e.detail)
        ]
        interval = dt.timedelta(days=policy.poll_interval_days)
        start = since or min((e.time for e in events), default=None)  # never audited: since this node has it
        now = self.catalog.clock.now()
        if start is not None and now - start > interval:
            alarms.insert(
                0,
                f"ALARM: not audited within the poll interval ({policy.poll_interval_days:g} days): last conclusive "
                + (f"poll {since:%Y-%m-%d %H:%M}" if since else "poll never")
                + "; see why with: strongroom events --type poll",
            )
        return alarms


def _poller(e: Event) -> bool:
    return e.type == EventType.POLL and e.data.get("role") == "poller" and "voters" in e.data


def _audited(e: Event) -> bool:
    """A conclusive audit of this node's copy: its own poll that reached a landslide without alarm, or a peer's
    poll whose receipt said this copy agreed."""
    if e.type != EventType.POLL:
        return False
    if _poller(e):
        return (
            e.data.get("outcome") in ("agree", "disagree") and not e.data.get("alarms") and not e.data.get("unrepaired")
        )
    return e.data.get("receipt") == "agree"
