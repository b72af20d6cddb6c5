"""The network at a glance: which members answer, where every AU's copies are and whether it is preserved, and one
AU's story on this node (its last agreement, alarms since, repairs, peers reported)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


@dataclass
class AUStatus:
    au_key: str
    object_id: str
    copies: CopyStatus | None
    last_agreement: str | None
    open_alarms: list[str]
    repairs: list[str]
    reported_peers: list[str]


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
            polls = self.catalog.events(object_key=au_key, type=str(EventType.POLL), limit=50)
            last = next((f"{e.time:%Y-%m-%d %H:%M} {e.outcome}" for e in polls if e.data.get("role") == "poller"), None)
            out.append(
                CopyStatus(object_id, au_key, self.membership.holders(object_id), copies, countries, preserved, last)
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
        since = last_agreement.time if last_agreement else None
        alarms = [
            f"{e.time:%Y-%m-%d %H:%M} {e.detail}"
            for e in events
            if e.type == EventType.POLL and "ALARM" in e.detail and (since is None or e.time > since)
        ]
        repairs = [f"{e.time:%Y-%m-%d %H:%M} {e.outcome}: {e.detail}" for e in events if e.type == EventType.REPAIR]
        reported = sorted({str(e.data["suspect"]) for e in events if e.data.get("suspect")})
        return AUStatus(
            au_key,
            au.object_id,
            mine,
            f"{last_agreement.time:%Y-%m-%d %H:%M}" if last_agreement else None,
            alarms,
            repairs,
            reported,
        )
