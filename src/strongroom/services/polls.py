"""Polls: a node calls a poll on its copy of an AU, its peers vote with fresh nonces, the tally decides each block
(:mod:`strongroom.domain.poll`), and what a landslide says is damaged is repaired from an agreeing peer: each
repaired block must re-hash to the landslide and the whole file must match the inventory before it replaces the
damaged one. Files are read and rebuilt block by block; none is held in memory whole."""

from __future__ import annotations

import contextlib
import random
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from strongroom.domain.model import EventOutcome, EventType
from strongroom.domain.poll import BlockKey, Outcome, PollPolicy, blocks_of, repair_accepted, tally, vote_hash
from strongroom.errors import StorageError
from strongroom.network.client import PeerClient, PeerError
from strongroom.network.config import Member
from strongroom.network.ids import encode_id
from strongroom.services.events import EventLog
from strongroom.services.membership import Membership
from strongroom.services.scratch import work_directory
from strongroom.store.base import ObjectStore
from strongroom.store.hashing import read_chunks


def copy_hashes(
    store: ObjectStore,
    object_id: str,
    version: int,
    poller_nonce: bytes,
    voter_nonces: Mapping[str, bytes],
    block_size: int,
) -> dict[str, dict[BlockKey, str | None]]:
    """voter -> (path, block) -> hash, over the given version's state, each block read once however many nonces
    it is hashed with. A file that cannot be read yields no blocks (it votes as absent), so damage shows up as
    disagreement, never as an error."""
    out: dict[str, dict[BlockKey, str | None]] = {v: {} for v in voter_nonces}
    with store.reading(object_id):
        _hash_blocks(store, object_id, version, poller_nonce, voter_nonces, block_size, out)
    return out


def _hash_blocks(
    store: ObjectStore,
    object_id: str,
    version: int,
    poller_nonce: bytes,
    voter_nonces: Mapping[str, bytes],
    block_size: int,
    out: dict[str, dict[BlockKey, str | None]],
) -> None:
    for logical in sorted(store.state(object_id, version)):
        try:
            with store.open_file(object_id, logical, version) as fh:
                index = 0
                while True:
                    block = fh.read(block_size)
                    if not block and index > 0:
                        break
                    for voter, nonce in voter_nonces.items():
                        out[voter][(logical, index)] = vote_hash(poller_nonce, nonce, block)
                    index += 1
                    if len(block) < block_size:
                        break
        except (OSError, StorageError):
            for voter in voter_nonces:  # whatever was read of a file that failed midway votes as absent too
                out[voter] = {k: v for k, v in out[voter].items() if k[0] != logical}
            continue


class PollQueue:
    """AUs to poll soon, out of schedule (a receipt told this node its copy was in the minority)."""

    def __init__(self) -> None:
        self._due: set[str] = set()
        self._lock = threading.Lock()

    def add(self, object_id: str) -> None:
        with self._lock:
            self._due.add(object_id)

    def take(self) -> set[str]:
        with self._lock:
            due, self._due = self._due, set()
        return due


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


@dataclass
class _Poll:
    """One poll's state, as the repair of each damaged file needs it."""

    object_id: str
    version: int
    policy: PollPolicy
    poller_nonce: bytes
    members: dict[str, Member]
    votes: dict[str, dict[BlockKey, str | None]]
    nonces: dict[str, bytes]
    result: PollResult


class Polls:
    def __init__(self, store: ObjectStore, membership: Membership, events: EventLog, *, staging: Path) -> None:
        self.store = store
        self.membership = membership
        self.events = events
        self.staging = staging

    def held(self) -> list[str]:
        """Every object this node holds (each is polled on schedule)."""
        return list(self.store.iter_object_ids())

    def poll(self, client: PeerClient, object_id: str, rng: random.Random | None = None) -> PollResult:
        """Call a poll on this node's copy of ``object_id``, tally it, repair what a landslide says is damaged."""
        rng = rng or random.Random()  # noqa: S311 - voter sampling, not a secret
        config = self.membership.config()
        policy = config.policy.poll_policy()
        me = self.membership.node_id
        version = self.store.head_version(object_id)
        holders = self.membership.holders(object_id)
        candidates = [m for m in config.members if m.id != me and m.id in holders]
        invited = rng.sample(candidates, min(policy.invitations, len(candidates)))
        poller_nonce = secrets.token_bytes(16)
        votes: dict[str, dict[BlockKey, str | None]] = {}
        nonces: dict[str, bytes] = {}
        for peer in invited:
            try:
                answer = client.post_json(
                    peer,
                    f"/peer/v1/objects/{encode_id(object_id)}/vote",
                    {"poller_nonce": poller_nonce.hex(), "version": version, "block_size": policy.block_size},
                )
                nonces[peer.id] = bytes.fromhex(answer["voter_nonce"])
                votes[peer.id] = {(path, i): h for path, hs in answer["blocks"].items() for i, h in enumerate(hs)}
            except (PeerError, KeyError, ValueError, TypeError, AttributeError):
                continue  # no vote from this peer
        mine = copy_hashes(self.store, object_id, version, poller_nonce, nonces, policy.block_size)
        result = tally(mine, votes, policy)
        outcome = PollResult(object_id, result.outcome, sorted(votes))
        outcome.agreed_blocks = len(result.by_outcome(Outcome.AGREE))
        outcome.inconclusive_blocks = [
            f"{p}#{i}" for (p, i) in (b.key for b in result.by_outcome(Outcome.INCONCLUSIVE))
        ]
        state = _Poll(object_id, version, policy, poller_nonce, {m.id: m for m in invited}, votes, nonces, outcome)
        damaged: dict[str, list[BlockKey]] = {}
        for block in result.by_outcome(Outcome.DISAGREE):
            damaged.setdefault(block.key[0], []).append(block.key)
        for logical, keys in sorted(damaged.items()):
            sources = list(result.blocks[keys[0]].disagreeing)
            rng.shuffle(sources)
            if self._repair_file(client, state, logical, keys, sources):
                outcome.repaired.append(logical)
            else:
                outcome.unrepaired.append(logical)
        for voter in votes:  # receipts: voters in a minority learn they should check themselves
            minority = [
                f"{p}#{i}"
                for (p, i), b in result.blocks.items()
                if b.outcome is Outcome.AGREE and voter in b.disagreeing
            ]
            if minority:
                outcome.suspects.setdefault(voter, f"voted against the landslide on {len(minority)} block(s)")
            with contextlib.suppress(PeerError):  # a receipt is a courtesy; the voter also polls on its own schedule
                client.post_json(
                    state.members[voter],
                    f"/peer/v1/objects/{encode_id(object_id)}/receipt",
                    {"outcome": str(result.outcome), "disagreed": bool(minority), "blocks": minority},
                )
        self._record(outcome)
        for suspect, why in sorted(outcome.suspects.items()):
            self.events.record(
                EventType.POLL,
                EventOutcome.WARNING,
                object_id,
                f"peer {suspect} reported: {why}",
                {"role": "poller", "suspect": suspect, "reason": why},
            )
        return outcome

    def _candidate(
        self, client: PeerClient, state: _Poll, source: str, content_path: str, keys: list[BlockKey], dest: Path
    ) -> None:
        """Write the repaired file to ``dest``: this copy's blocks with the damaged ones fetched from ``source``,
        or the whole file from ``source`` when this copy is missing or of another length."""
        block_size = state.policy.block_size
        majority_blocks = sum(1 for p, _ in state.votes[source] if p == keys[0][0])
        try:
            size: int | None = self.store.content_size(state.object_id, content_path)
        except StorageError:
            size = None  # missing, or unreadable: fetch it whole
        if size is not None and len(blocks_of(size, block_size)) == majority_blocks:
            wanted = {index for _, index in keys}
            try:
                with self.store.open_content(state.object_id, content_path) as local, dest.open("xb") as out:
                    for index in range(majority_blocks):
                        block = local.read(block_size)
                        if index in wanted:
                            start = index * block_size
                            block = client.object_file(
                                state.members[source], state.object_id, content_path, (start, start + block_size - 1)
                            )
                        out.write(block)
                return
            except (OSError, StorageError):
                dest.unlink(missing_ok=True)  # this copy cannot be read after all: fetch it whole
        with dest.open("xb") as out:
            for chunk in client.iter_file(state.members[source], state.object_id, content_path):
                out.write(chunk)

    def _accepted(self, state: _Poll, candidate: Path, key: BlockKey) -> bool:
        """Whether the candidate's block ``key`` re-hashes to the landslide (with every voter's nonce)."""
        block_size = state.policy.block_size
        size = candidate.stat().st_size
        present = key[1] < len(blocks_of(size, block_size))
        with candidate.open("rb") as fh:
            fh.seek(key[1] * block_size)
            block = fh.read(block_size)
        repaired = {v: vote_hash(state.poller_nonce, state.nonces[v], block if present else None) for v in state.votes}
        return repair_accepted(repaired, state.votes, key, state.policy)

    def _repair_file(
        self, client: PeerClient, state: _Poll, logical: str, keys: list[BlockKey], sources: list[str]
    ) -> bool:
        """Fetch the damaged blocks of one file from a peer, accept each only if it re-hashes to a landslide, and
        install the file only if the whole matches the inventory's digest."""
        object_id, outcome = state.object_id, state.result
        content_path = self.store.content_path(object_id, logical, state.version)
        for source in sources:
            try:
                with work_directory(self.staging, prefix="repair-") as work:
                    candidate = work / "file"
                    self._candidate(client, state, source, content_path, keys, candidate)
                    if not all(self._accepted(state, candidate, key) for key in keys):
                        outcome.refused_repairs.append(f"{logical} from {source}")
                        outcome.suspects[source] = f"served a repair of {logical} that did not re-hash to the landslide"
                        continue
                    with candidate.open("rb") as fh:
                        self.store.replace_content(object_id, content_path, read_chunks(fh))
            except (PeerError, StorageError, OSError) as exc:
                outcome.refused_repairs.append(f"{logical} from {source}: {exc}")
                continue
            self.events.record(
                EventType.REPAIR,
                EventOutcome.SUCCESS,
                object_id,
                f"repaired {logical} ({len(keys)} block(s)) from {source}; it now agrees with the landslide",
                {"path": logical, "source": source, "blocks": [i for _, i in keys]},
            )
            return True
        self.events.record(
            EventType.REPAIR,
            EventOutcome.FAILURE,
            object_id,
            f"could not repair {logical} from any agreeing peer",
            {"path": logical, "tried": sources},
        )
        return False

    def _record(self, result: PollResult) -> None:
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
            + (
                f"; ALARM: inconclusive on {len(result.inconclusive_blocks)} block(s)"
                if result.inconclusive_blocks
                else ""
            )
        )
        self.events.record(
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
