"""The LOCKSS-style poll, as pure rules: how votes are hashed, how they are tallied per file block, and
whether a repair may be accepted. Used alike by real polls between nodes and by ``strongroom simulate``.

A voter hashes each block of its copy with the poller's nonce and its own; the poller hashes its own copy with
the same nonces and compares, voter by voter. For each block the outcome is (see ``docs/polls.md``):

* ``agree``: at least ``quorum`` voters took part and at least ``vote_margin`` of them agree with the poller;
* ``disagree``: enough voters, and at least ``vote_margin`` of them disagree: the poller's block is damaged
  (or missing, or should not exist) and is repaired;
* ``inconclusive``: too few voters, or no landslide either way: nothing is changed and an alarm is raised.

A repaired block is accepted only if, hashed again with every voter's nonces, it now agrees with a landslide of
the voters: a single hostile voter cannot push bad content into a poller.

A vote proves possession *by the voter*: every hash starts from a prefix binding the poll id, the poller's and the
voter's node ids, the object, its version and both nonces (:class:`VoteBinding`), and the voter signs a statement
of that binding and the digest of its hashes (:func:`vote_statement`). A holder's vote that another node relays as
its own was computed for another poller and voter, so it matches nothing the relaying node would have to produce;
a vote replayed from an earlier poll names another poll id and poller nonce.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

BlockKey = tuple[str, int]  # (logical path, block index)


class Outcome(StrEnum):
    AGREE = "agree"
    DISAGREE = "disagree"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class PollPolicy:
    """Poll parameters; network configuration, never constants (LOCKSS' shipped defaults shown)."""

    quorum: int = 5
    vote_margin: float = 0.75
    invitations: int = 10
    block_size: int = 16 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.quorum < 1:
            raise ValueError("quorum must be at least 1")
        if not 0.5 < self.vote_margin <= 1.0:
            raise ValueError("vote_margin must be more than 0.5 and at most 1.0")
        if self.block_size < 1:
            raise ValueError("block_size must be positive")


VOTE_FORMAT = "strongroom-vote/2"


def _framed(*fields: bytes) -> bytes:
    return b"".join(len(f).to_bytes(4, "big") + f for f in fields)


@dataclass(frozen=True)
class VoteBinding:
    """Who a vote is for and by: a vote's hashes and its signed statement are bound to all of it."""

    poll_id: str
    poller: str
    voter: str
    object_id: str
    version: int

    def prefix(self, poller_nonce: bytes, voter_nonce: bytes) -> bytes:
        """What every block hash of this vote starts with."""
        return _framed(
            VOTE_FORMAT.encode(),
            self.poll_id.encode(),
            self.poller.encode(),
            self.voter.encode(),
            self.object_id.encode(),
            str(self.version).encode(),
            poller_nonce,
            voter_nonce,
        )


def vote_prefix(poller_nonce: bytes, voter_nonce: bytes, binding: VoteBinding | None = None) -> bytes:
    """The bytes hashed before each block: the binding (when given) and both nonces, length-framed."""
    if binding is not None:
        return binding.prefix(poller_nonce, voter_nonce)
    return len(poller_nonce).to_bytes(2, "big") + poller_nonce + len(voter_nonce).to_bytes(2, "big") + voter_nonce


def block_hash(prefix: bytes, block: bytes | None) -> str | None:
    """The hash a vote carries for one block: sha256 over the prefix and the block; None when absent."""
    if block is None:
        return None
    h = hashlib.sha256(prefix)
    h.update(block)
    return h.hexdigest()


def vote_hash(
    poller_nonce: bytes, voter_nonce: bytes, block: bytes | None, binding: VoteBinding | None = None
) -> str | None:
    """The hash a vote carries for one block (see :func:`vote_prefix`); None when absent."""
    return block_hash(vote_prefix(poller_nonce, voter_nonce, binding), block)


def blocks_digest(blocks: Mapping[str, list[str | None]]) -> str:
    """sha256 of a vote's block hashes (path -> hash of each block), canonically serialised."""
    h = hashlib.sha256()
    for path in sorted(blocks):
        h.update(_framed(path.encode(), *((x or "-").encode() for x in blocks[path])))
    return h.hexdigest()


def vote_statement(binding: VoteBinding, poller_nonce: bytes, voter_nonce: bytes, digest: str) -> bytes:
    """What a voter signs: the binding, both nonces and the digest of its block hashes."""
    return _framed(b"statement", binding.prefix(poller_nonce, voter_nonce), digest.encode())


class PeerFinding(StrEnum):
    """What a poll found about a voter. Only the last three make it a *suspect*; a damaged copy is an accident."""

    DAMAGED = "damaged"  # in the minority of a landslide once: its copy is likely damaged; told to repair itself
    STILL_DISAGREES = "still-disagrees"  # in the minority again, after it was told to repair: suspect
    BAD_REPAIR = "bad-repair"  # served a repair that did not re-hash to the landslide: suspect
    INVALID_VOTE = "invalid-vote"  # a vote not bound to this poll and this voter (relayed, replayed, unsigned)

    @property
    def suspect(self) -> bool:
        return self is not PeerFinding.DAMAGED


ASSUMED_HASH_BYTES_PER_SECOND = 50_000_000  # a slow disk; a voter's time limit must allow for the slowest peer


def vote_seconds(au_bytes: int, max_poll_seconds: float) -> float:
    """How long a poller waits for one vote on an AU of ``au_bytes``: a minute plus four times the time a slow
    peer takes to hash it (LOCKSS sizes its vote phase at about 4x the hash time), capped by the poll's limit."""
    return min(max_poll_seconds, 60.0 + 4.0 * au_bytes / ASSUMED_HASH_BYTES_PER_SECOND)


def blocks_of(size: int, block_size: int) -> range:
    """Indexes of the blocks a file of ``size`` bytes is voted in (an empty file is one empty block)."""
    return range(max(1, -(-size // block_size)))


@dataclass(frozen=True)
class BlockTally:
    key: BlockKey
    outcome: Outcome
    agreeing: tuple[str, ...]
    disagreeing: tuple[str, ...]
    poller_has: bool
    majority_has: bool | None  # None when inconclusive

    @property
    def voters(self) -> int:
        return len(self.agreeing) + len(self.disagreeing)


@dataclass(frozen=True)
class Tally:
    blocks: dict[BlockKey, BlockTally] = field(default_factory=dict)

    def by_outcome(self, outcome: Outcome) -> list[BlockTally]:
        return [b for b in self.blocks.values() if b.outcome is outcome]

    @property
    def outcome(self) -> Outcome:
        """The poll's overall outcome: inconclusive if any block is, else disagree if any block is."""
        outcomes = {b.outcome for b in self.blocks.values()}
        if Outcome.INCONCLUSIVE in outcomes or not outcomes:
            return Outcome.INCONCLUSIVE
        return Outcome.DISAGREE if Outcome.DISAGREE in outcomes else Outcome.AGREE


def decide(agree: int, disagree: int, policy: PollPolicy) -> Outcome:
    total = agree + disagree
    if total < policy.quorum:
        return Outcome.INCONCLUSIVE
    if agree >= policy.vote_margin * total:
        return Outcome.AGREE
    if disagree >= policy.vote_margin * total:
        return Outcome.DISAGREE
    return Outcome.INCONCLUSIVE


def tally(
    poller: Mapping[str, Mapping[BlockKey, str | None]],
    votes: Mapping[str, Mapping[BlockKey, str | None]],
    policy: PollPolicy,
) -> Tally:
    """Tally every block any party holds.

    ``poller[voter][key]`` is the poller's own hash of block ``key`` with that voter's nonces (None if the poller
    lacks the block); ``votes[voter][key]`` is the voter's hash (None, or no entry, if it lacks it). A voter
    missing from ``poller`` is ignored (it was not part of this poll).
    """
    keys: set[BlockKey] = set()
    for table in (*poller.values(), *votes.values()):
        keys.update(table)
    result: dict[BlockKey, BlockTally] = {}
    for key in sorted(keys):
        agreeing: list[str] = []
        disagreeing: list[str] = []
        poller_has = False
        for voter in sorted(votes):
            if voter not in poller:
                continue
            mine = poller[voter].get(key)
            poller_has = poller_has or mine is not None
            theirs = votes[voter].get(key)
            (agreeing if mine == theirs else disagreeing).append(voter)
        outcome = decide(len(agreeing), len(disagreeing), policy)
        majority_has: bool | None = None
        if outcome is Outcome.AGREE:
            majority_has = poller_has
        elif outcome is Outcome.DISAGREE:
            majority_has = _majority_holds(key, disagreeing, votes) if poller_has else True
        result[key] = BlockTally(key, outcome, tuple(agreeing), tuple(disagreeing), poller_has, majority_has)
    return Tally(result)


def _majority_holds(
    key: BlockKey, disagreeing: Iterable[str], votes: Mapping[str, Mapping[BlockKey, str | None]]
) -> bool:
    """When the poller holds a block the landslide disagrees with: do most of them hold it (damaged copy) or
    lack it (the block should not exist)?"""
    present = sum(1 for v in disagreeing if votes[v].get(key) is not None)
    absent = sum(1 for v in disagreeing if votes[v].get(key) is None)
    return present >= absent


def repair_accepted(
    repaired: Mapping[str, str | None],
    votes: Mapping[str, Mapping[BlockKey, str | None]],
    key: BlockKey,
    policy: PollPolicy,
) -> bool:
    """Whether a repaired block may replace the poller's: ``repaired[voter]`` is the new block hashed with that
    voter's nonces; it must now agree with a landslide of a quorum of voters."""
    agree = sum(1 for voter, h in repaired.items() if voter in votes and votes[voter].get(key) == h)
    disagree = sum(1 for voter in repaired if voter in votes) - agree
    return decide(agree, disagree, policy) is Outcome.AGREE
