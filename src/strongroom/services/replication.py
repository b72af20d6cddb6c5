"""Replication: fetch every version of every object this node is assigned to hold and lacks, from a peer that has
it. Each file is hashed as it arrives and must match the inventory before the version is installed, with the same
atomic write as a deposit (:meth:`~strongroom.store.base.ObjectStore.install_version`)."""

from __future__ import annotations

from strongroom.domain.model import EventOutcome, EventType
from strongroom.errors import StorageError
from strongroom.network.client import PeerClient, PeerError
from strongroom.network.config import Member
from strongroom.services.events import EventLog
from strongroom.services.indexer import Indexer
from strongroom.services.journal import Journal
from strongroom.services.membership import Membership
from strongroom.store.base import Fetch, ObjectStore


def _fetch_from(client: PeerClient, peer: Member, object_id: str) -> Fetch:
    return lambda content_path: client.iter_file(peer, object_id, content_path)


class Replication:
    def __init__(
        self, store: ObjectStore, journal: Journal, indexer: Indexer, membership: Membership, events: EventLog
    ) -> None:
        self.store = store
        self.journal = journal
        self.indexer = indexer
        self.membership = membership
        self.events = events

    def run(self, client: PeerClient) -> list[str]:
        """One round: every version this node lacks of what it is assigned, from any peer that has it."""
        done: list[str] = []
        config = self.membership.config()
        me = self.membership.node_id
        offers: dict[str, list[tuple[int, Member]]] = {}
        for peer in config.members:
            if peer.id == me:
                continue
            try:
                listing = client.objects(peer)
            except PeerError:
                continue  # an unreachable peer (or one whose answer is no list) is tried again next round
            for object_id, version in listing:
                offers.setdefault(object_id, []).append((version, peer))
        for object_id, sources in sorted(offers.items()):
            if me not in self.membership.holders(object_id):
                continue
            have = self.store.head_version(object_id) if self.store.exists(object_id) else 0
            best = max(v for v, _ in sources)
            for number in range(have + 1, best + 1):
                if not self._install(client, object_id, number, sources, done):
                    break  # no peer could give this version: try again next round
            if self.store.exists(object_id):
                self.indexer.index(object_id)
        return done

    def _install(
        self, client: PeerClient, object_id: str, number: int, sources: list[tuple[int, Member]], done: list[str]
    ) -> bool:
        for _, peer in sorted((s for s in sources if s[0] >= number), key=lambda s: s[1].id):
            try:
                inventory = client.object_file(peer, object_id, f"v{number}/inventory.json")
                with self.journal.intent(object_id):
                    self.store.install_version(object_id, inventory, _fetch_from(client, peer, object_id))
                    self.indexer.index(object_id)
            except (PeerError, StorageError) as exc:
                self.events.record(
                    EventType.REPLICATION,
                    EventOutcome.FAILURE,
                    object_id,
                    f"v{number} from {peer.id} refused: {exc}",
                    {"peer": peer.id, "version": number},
                )
                continue
            self.events.record(
                EventType.REPLICATION,
                EventOutcome.SUCCESS,
                object_id,
                f"v{number} copied from {peer.id}, every digest verified",
                {"peer": peer.id, "version": number},
            )
            done.append(f"{object_id} v{number} from {peer.id}")
            return True
        return False
