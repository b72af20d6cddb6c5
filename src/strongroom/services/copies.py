"""Copies this node holds but the network no longer assigns to it: each is kept until every member now assigned to
hold the AU confirms it holds this copy's version, then released (removed from the store, the catalog and the
search index, with a ``deletion`` event). Never a copy this node is itself assigned, never one whose assigned
holders are not all confirmed, and never on this node's word alone: confirmation is each holder's own answer.

The removal is journalled (a ``release`` intent): the store takes the object out in one atomic step, then the
catalog forgets it in one transaction; a crash between the two is finished at the next start
(:meth:`Copies.finish_release`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from strongroom.domain.model import EventOutcome, EventType
from strongroom.errors import ObjectBusy
from strongroom.network.client import PeerClient, PeerError
from strongroom.services.events import EventLog
from strongroom.services.indexer import Indexer
from strongroom.services.journal import Journal
from strongroom.services.membership import Membership
from strongroom.store.base import ObjectStore


class CopyOutcome(StrEnum):
    RELEASED = "released"
    RELEASABLE = "releasable"  # every assigned holder has it; a dry run leaves it
    KEPT = "kept"  # not every assigned holder has confirmed it yet


@dataclass
class UnassignedCopy:
    object_id: str
    au_key: str
    version: int
    assigned: list[str]
    confirmed: list[str]  # assigned holders that answered that they hold this version (or a later one)
    outcome: CopyOutcome
    why: str
    unreachable: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Copies:
    def __init__(
        self, store: ObjectStore, journal: Journal, indexer: Indexer, membership: Membership, events: EventLog
    ) -> None:
        self.events = events
        self.store = store
        self.journal = journal
        self.indexer = indexer
        self.membership = membership

    def unassigned(self) -> list[str]:
        """The objects this node holds that the signed configuration does not assign to it."""
        if not self.membership.joined:
            return []
        me = self.membership.node_id
        return [o for o in self.store.iter_object_ids() if me not in self.membership.holders(o)]

    def release(self, client: PeerClient, *, dry_run: bool = False) -> list[UnassignedCopy]:
        """Release every unassigned copy that all its assigned holders confirm they hold; report on each."""
        objects = self.unassigned()
        listings: dict[str, dict[str, int] | None] = {}  # member -> object -> version it reports; None: no answer
        out = []
        for object_id in objects:
            copy = self._judge(client, object_id, listings)
            if copy.outcome == CopyOutcome.RELEASABLE and not dry_run:
                try:
                    copy = self._release(client, copy, listings)
                except ObjectBusy as exc:  # being written or read whole just now: tried again next round
                    copy.outcome, copy.why = CopyOutcome.KEPT, f"{copy.why}, but {exc.message}"
            out.append(copy)
        return out

    def _listing(self, client: PeerClient, member_id: str, listings: dict[str, dict[str, int] | None]) -> None:
        if member_id in listings:
            return
        member = self.membership.config().member(member_id)
        if member is None:
            listings[member_id] = None
            return
        try:
            listings[member_id] = dict(client.objects(member))
        except PeerError:  # no answer, or one that confirms nothing
            listings[member_id] = None

    def _judge(self, client: PeerClient, object_id: str, listings: dict[str, dict[str, int] | None]) -> UnassignedCopy:
        me = self.membership.node_id
        version = self.store.head_version(object_id)
        assigned = self.membership.holders(object_id)
        au_key = self.events.au_key_for(object_id)
        if me in assigned:  # never release a copy this node is assigned (the configuration changed meanwhile)
            return UnassignedCopy(object_id, au_key, version, assigned, [], CopyOutcome.KEPT, "assigned to this node")
        for holder in assigned:
            self._listing(client, holder, listings)
        unreachable = [h for h in assigned if listings[h] is None]
        confirmed = [h for h in assigned if (listings[h] or {}).get(object_id, 0) >= version]
        if assigned and len(confirmed) == len(assigned):
            why = f"all {len(assigned)} assigned holders hold v{version}"
            return UnassignedCopy(object_id, au_key, version, assigned, confirmed, CopyOutcome.RELEASABLE, why)
        why = f"kept until its {len(assigned)} assigned holders hold v{version} ({len(confirmed)} do)" + (
            f"; no answer from {', '.join(unreachable)}" if unreachable else ""
        )
        return UnassignedCopy(object_id, au_key, version, assigned, confirmed, CopyOutcome.KEPT, why, unreachable)

    def _release(
        self, client: PeerClient, copy: UnassignedCopy, listings: dict[str, dict[str, int] | None]
    ) -> UnassignedCopy:
        with self.journal.intent(copy.object_id, kind="release"):
            # Judged again inside the intent: a new configuration or a new version may have arrived meanwhile.
            now = self._judge(client, copy.object_id, {k: v for k, v in listings.items() if k in copy.confirmed})
            if now.outcome != CopyOutcome.RELEASABLE or now.version != copy.version:
                return now
            self.store.remove_object(copy.object_id)
            self._forget(copy.object_id, copy.version, copy.confirmed, "")
        copy.outcome = CopyOutcome.RELEASED
        return copy

    def _forget(self, object_id: str, version: int | None, holders: list[str], after: str) -> str:
        detail = (
            f"released this node's copy (v{version}): not assigned to this node, and its assigned holders "
            f"{', '.join(holders)} hold it{after}"
            if holders
            else f"released this node's copy{after}"
        )
        data = {"object_id": object_id, "version": version, "holders": holders, "released": True}
        return self.indexer.forget(object_id, event=(EventType.DELETION, EventOutcome.SUCCESS, detail, data))

    def finish_release(self, object_id: str) -> list[str]:
        """After a crash between the store's removal of a released copy and the catalog's: forget it now."""
        key = self._forget(object_id, None, [], " (finished after an interrupted release)")
        return [f"finished releasing {key} after an interrupted release"]
