"""The network's use cases on one node: replicate what it is assigned, and poll its copies with its peers,
repairing damage from an agreeing peer. Both talk to peers only through :class:`PeerClient`."""

from __future__ import annotations

import contextlib
import random
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strongroom.domain.model import EventOutcome, EventType
from strongroom.domain.poll import BlockKey, Outcome, blocks_of, repair_accepted, tally, vote_hash
from strongroom.errors import StorageError
from strongroom.network.client import PeerClient, PeerError
from strongroom.network.config import Member
from strongroom.network.ids import encode_id
from strongroom.network.voting import copy_hashes
from strongroom.services.indexer import index_object

if TYPE_CHECKING:
    from strongroom.node import Node


def _fetcher(client: PeerClient, peer: Member, object_id: str) -> Callable[[str, Path], None]:
    def fetch(content_path: str, dest: Path) -> None:
        client.download(peer, object_id, content_path, dest)

    return fetch


def replicate(node: Node, client: PeerClient) -> list[str]:
    """Fetch every version of every object this node is assigned to hold and lacks, from a peer that has it;
    every file is verified against the inventory before the version is installed."""
    done: list[str] = []
    config = node.network_config()
    me = node.settings.node_id
    offers: dict[str, list[tuple[int, Member]]] = {}
    for peer in config.members:
        if peer.id == me:
            continue
        try:
            listing = client.get_json(peer, "/peer/v1/objects")
        except PeerError:
            continue  # an unreachable peer is tried again next round
        for entry in listing.get("objects", []):
            offers.setdefault(str(entry["object_id"]), []).append((int(entry["version"]), peer))
    for object_id, sources in sorted(offers.items()):
        if me not in node.holders(object_id):
            continue
        have = node.store.head_version(object_id) if node.store.exists(object_id) else 0
        best = max(v for v, _ in sources)
        for number in range(have + 1, best + 1):
            for _, peer in sorted((s for s in sources if s[0] >= number), key=lambda s: s[1].id):
                try:
                    inventory = client.object_file(peer, object_id, f"v{number}/inventory.json")
                    node.store.install_version(
                        object_id,
                        inventory,
                        _fetcher(client, peer, object_id),
                    )
                except (PeerError, StorageError) as exc:
                    node.record(
                        EventType.REPLICATION,
                        EventOutcome.FAILURE,
                        object_id,
                        f"v{number} from {peer.id} refused: {exc}",
                        {"peer": peer.id, "version": number},
                    )
                    continue
                node.record(
                    EventType.REPLICATION,
                    EventOutcome.SUCCESS,
                    object_id,
                    f"v{number} copied from {peer.id}, every digest verified",
                    {"peer": peer.id, "version": number},
                )
                done.append(f"{object_id} v{number} from {peer.id}")
                break
            else:
                break  # no peer could give this version: try again next round
        if node.store.exists(object_id):
            index_object(node.catalog, node.store, object_id, agent=node.agent)
    return done


@dataclass
class PollResult:
    object_id: str
    outcome: Outcome
    voters: list[str]
    agreed_blocks: int = 0
    repaired: list[str] = field(default_factory=list)
    unrepaired: list[str] = field(default_factory=list)
    inconclusive_blocks: list[str] = field(default_factory=list)
    refused_repairs: list[str] = field(default_factory=list)
    suspects: dict[str, str] = field(default_factory=dict)  # peer -> why it is reported


def poll(node: Node, client: PeerClient, object_id: str, rng: random.Random | None = None) -> PollResult:
    """Call a poll on this node's copy of ``object_id``, tally it, repair what a landslide says is damaged."""
    rng = rng or random.Random()  # noqa: S311 - voter sampling, not a secret
    config = node.network_config()
    policy = config.policy.poll_policy()
    me = node.settings.node_id
    version = node.store.head_version(object_id)
    candidates = [m for m in config.members if m.id != me and m.id in node.holders(object_id)]
    invited = rng.sample(candidates, min(policy.invitations, len(candidates)))
    poller_nonce = secrets.token_bytes(16)
    votes: dict[str, dict[BlockKey, str | None]] = {}
    nonces: dict[str, bytes] = {}
    members = {m.id: m for m in invited}
    for peer in invited:
        try:
            answer = client.post_json(
                peer,
                f"/peer/v1/objects/{encode_id(object_id)}/vote",
                {"poller_nonce": poller_nonce.hex(), "version": version, "block_size": policy.block_size},
            )
            nonces[peer.id] = bytes.fromhex(answer["voter_nonce"])
            votes[peer.id] = {(path, i): h for path, hs in answer["blocks"].items() for i, h in enumerate(hs)}
        except (PeerError, KeyError, ValueError, TypeError):
            continue  # no vote from this peer
    mine = copy_hashes(node.store, object_id, version, poller_nonce, nonces, policy.block_size)
    result = tally(mine, votes, policy)
    outcome = PollResult(object_id, result.outcome, sorted(votes))
    outcome.agreed_blocks = len(result.by_outcome(Outcome.AGREE))
    outcome.inconclusive_blocks = [f"{p}#{i}" for (p, i) in (b.key for b in result.by_outcome(Outcome.INCONCLUSIVE))]
    damaged: dict[str, list[BlockKey]] = {}
    for block in result.by_outcome(Outcome.DISAGREE):
        damaged.setdefault(block.key[0], []).append(block.key)
    for logical, keys in sorted(damaged.items()):
        sources = [s for s in result.blocks[keys[0]].disagreeing]
        rng.shuffle(sources)
        if _repair_file(
            node,
            client,
            object_id,
            version,
            logical,
            keys,
            sources,
            members,
            votes,
            nonces,
            poller_nonce,
            policy.block_size,
            outcome,
        ):
            outcome.repaired.append(logical)
        else:
            outcome.unrepaired.append(logical)
    for voter in votes:  # receipts: voters in a minority learn they should check themselves
        minority = [
            f"{p}#{i}" for (p, i), b in result.blocks.items() if b.outcome is Outcome.AGREE and voter in b.disagreeing
        ]
        if minority:
            outcome.suspects.setdefault(voter, f"voted against the landslide on {len(minority)} block(s)")
        with contextlib.suppress(PeerError):  # a receipt is a courtesy; the voter also polls on its own schedule
            client.post_json(
                members[voter],
                f"/peer/v1/objects/{encode_id(object_id)}/receipt",
                {"outcome": str(result.outcome), "disagreed": bool(minority), "blocks": minority},
            )
    _record(node, outcome)
    for suspect, why in sorted(outcome.suspects.items()):
        node.record(
            EventType.POLL,
            EventOutcome.WARNING,
            object_id,
            f"peer {suspect} reported: {why}",
            {"role": "poller", "suspect": suspect, "reason": why},
        )
    return outcome


def _repair_file(
    node: Node,
    client: PeerClient,
    object_id: str,
    version: int,
    logical: str,
    keys: list[BlockKey],
    sources: list[str],
    members: dict[str, Member],
    votes: dict[str, dict[BlockKey, str | None]],
    nonces: dict[str, bytes],
    poller_nonce: bytes,
    block_size: int,
    outcome: PollResult,
) -> bool:
    """Fetch the damaged blocks of one file from a peer, accept each only if it re-hashes to a landslide,
    and install the file only if the whole matches the inventory's digest."""
    content_path = node.store.content_path_for(object_id, logical, version)
    local = node.store.object_path(object_id) / content_path
    policy = node.network_config().policy.poll_policy()
    for source in sources:
        work = Path(tempfile.mkdtemp(prefix="repair-", dir=node.settings.resolved_staging()))
        try:
            candidate = work / "file"
            try:
                current: bytes | None = local.read_bytes()
            except OSError:
                current = None  # missing, or unreadable: fetch it whole
            majority_blocks = sum(1 for p, _ in votes[source] if p == logical)
            if current is None or len(blocks_of(len(current), block_size)) != majority_blocks:
                fetched = work / "fetched"
                client.download(members[source], object_id, content_path, fetched)
                data = bytearray(fetched.read_bytes())
            else:  # same length: fetch only the damaged blocks
                data = bytearray(current)
                for _, index in keys:
                    start = index * block_size
                    piece = client.object_file(
                        members[source], object_id, content_path, (start, start + block_size - 1)
                    )
                    data[start : start + block_size] = piece

            def accepted(key: BlockKey, data: bytearray = data) -> bool:
                block = bytes(data[key[1] * block_size : (key[1] + 1) * block_size])
                present = key[1] < len(blocks_of(len(data), block_size))
                repaired = {v: vote_hash(poller_nonce, nonces[v], block if present else None) for v in votes}
                return repair_accepted(repaired, votes, key, policy)

            if not all(accepted(key) for key in keys):
                outcome.refused_repairs.append(f"{logical} from {source}")
                outcome.suspects[source] = f"served a repair of {logical} that did not re-hash to the landslide"
                continue
            candidate.write_bytes(bytes(data))
            node.store.replace_content(object_id, content_path, candidate)
            node.record(
                EventType.REPAIR,
                EventOutcome.SUCCESS,
                object_id,
                f"repaired {logical} ({len(keys)} block(s)) from {source}; it now agrees with the landslide",
                {"path": logical, "source": source, "blocks": [i for _, i in keys]},
            )
            return True
        except (PeerError, StorageError) as exc:
            outcome.refused_repairs.append(f"{logical} from {source}: {exc}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    node.record(
        EventType.REPAIR,
        EventOutcome.FAILURE,
        object_id,
        f"could not repair {logical} from any agreeing peer",
        {"path": logical, "tried": sources},
    )
    return False


def _record(node: Node, result: PollResult) -> None:
    outcome = {
        Outcome.AGREE: EventOutcome.SUCCESS,
        Outcome.DISAGREE: EventOutcome.SUCCESS,
        Outcome.INCONCLUSIVE: EventOutcome.WARNING,
    }[result.outcome]
    if result.unrepaired:
        outcome = EventOutcome.FAILURE
    detail = (
        f"poll with {len(result.voters)} voters: {result.outcome}; {result.agreed_blocks} blocks agreed"
        + (f"; repaired {', '.join(result.repaired)}" if result.repaired else "")
        + (f"; ALARM: inconclusive on {len(result.inconclusive_blocks)} block(s)" if result.inconclusive_blocks else "")
    )
    node.record(
        EventType.POLL,
        outcome,
        result.object_id,
        detail,
        {
            "role": "poller",
            "voters": result.voters,
            "outcome": str(result.outcome),
            "repaired": result.repaired,
            "unrepaired": result.unrepaired,
            "inconclusive": result.inconclusive_blocks[:100],
            "refused": result.refused_repairs[:20],
        },
    )


@dataclass
class CopyStatus:
    object_id: str
    au_key: str
    assigned: list[str]
    holding: dict[str, int]  # node id -> head version it reports
    countries: list[str]
    preserved: bool
    last_poll: str | None


def network_status(node: Node, client: PeerClient) -> tuple[dict[str, bool], list[CopyStatus]]:
    """Which members answer, and for every AU any of them holds: where its copies are and whether it is
    preserved (the target number of copies at the head version, in enough countries)."""
    config = node.network_config()
    reachable: dict[str, bool] = {}
    held: dict[str, dict[str, int]] = {}
    for member in config.members:
        listing: dict[str, Any]
        if member.id == node.settings.node_id:
            reachable[member.id] = True
            listing = {
                "objects": [
                    {"object_id": o, "version": node.store.head_version(o)} for o in node.store.iter_object_ids()
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
        polls = node.catalog.events(object_key=node.au_key_for(object_id), type=str(EventType.POLL), limit=50)
        last = next((f"{e.time:%Y-%m-%d %H:%M} {e.outcome}" for e in polls if e.data.get("role") == "poller"), None)
        out.append(
            CopyStatus(
                object_id, node.au_key_for(object_id), node.holders(object_id), copies, countries, preserved, last
            )
        )
    return reachable, out


@dataclass
class AUStatus:
    au_key: str
    object_id: str
    copies: CopyStatus | None
    last_agreement: str | None
    open_alarms: list[str]
    repairs: list[str]
    reported_peers: list[str]


def au_status(node: Node, client: PeerClient, au_key: str) -> AUStatus:
    """One AU at a glance: its copies and where, the last poll this node won, alarms raised since, repairs."""
    [(au, *_)] = node.aus([au_key])
    _, copies = network_status(node, client)
    mine = next((c for c in copies if c.object_id == au.object_id), None)
    events = node.catalog.events(object_key=au_key, limit=None)
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
