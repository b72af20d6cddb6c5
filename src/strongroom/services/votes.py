"""Votes: how a voter hashes its copy for a poll (:func:`copy_hashes`), and how a poller asks its voters, all at
once and each within a time limit sized to the AU (:class:`VoteCollector`), and counts a vote only when it is the
sending peer's own vote in this poll (:func:`checked_vote`): bound to the poll id, the poller, the voter, the
object, the version and both nonces, and signed by the voter (:mod:`strongroom.domain.poll`)."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections import Counter, deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature

from strongroom.domain.poll import BlockKey, VoteBinding, blocks_digest, vote_seconds, vote_statement
from strongroom.errors import StorageError, StrongroomError
from strongroom.keys import public_key_from_text
from strongroom.network.client import PeerClient, PeerError
from strongroom.network.config import Member, NetworkPolicy
from strongroom.network.ids import encode_id
from strongroom.store.base import ObjectStore

Hashes = dict[BlockKey, str | None]


# Blocks at least this large are hashed on a pool of threads, one per core, each thread reading and hashing whole
# blocks of its own (every block is still read once, by one thread): hashlib releases the interpreter lock while it
# hashes a large buffer, so the voters' hashes of consecutive blocks run on all cores at once. A thread reads its
# block in pieces, so the memory held is a piece per thread, not a block. Smaller blocks (tests, tiny AUs) are
# hashed inline, where a thread hand-off would cost more than it saves.
PARALLEL_BLOCK = 256 * 1024
PIECE = 4 * 1024 * 1024


def hashing_workers() -> int:
    """Threads to hash with: the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def copy_hashes(
    store: ObjectStore,
    object_id: str,
    version: int,
    prefixes: Mapping[str, bytes],
    block_size: int,
    *,
    workers: int | None = None,
) -> dict[str, dict[BlockKey, str | None]]:
    """voter -> (path, block) -> hash, over the given version's state, each block read once however many voters'
    prefixes (:class:`~strongroom.domain.poll.VoteBinding`) it is hashed with, the blocks spread over ``workers``
    threads (default: one per core). A file that cannot be read yields no blocks (it votes as absent), so damage
    shows up as disagreement, never as an error."""
    workers = hashing_workers() if workers is None else workers
    out: dict[str, dict[BlockKey, str | None]] = {v: {} for v in prefixes}
    started = {v: hashlib.sha256(prefix) for v, prefix in prefixes.items()}  # each prefix hashed once, then copied
    with store.reading(object_id):
        if workers > 1 and block_size >= PARALLEL_BLOCK and prefixes:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll-hash") as pool:
                failed = _hash_blocks_parallel(store, object_id, version, started, block_size, pool, workers, out)
        else:
            failed = _hash_blocks(store, object_id, version, started, block_size, out)
    if failed:  # whatever was read of a file that failed midway votes as absent too
        for voter in prefixes:
            out[voter] = {k: v for k, v in out[voter].items() if k[0] not in failed}
    return out


def _hash_blocks(
    store: ObjectStore,
    object_id: str,
    version: int,
    started: Mapping[str, Any],
    block_size: int,
    out: dict[str, dict[BlockKey, str | None]],
) -> set[str]:
    """Inline: read each block once and hash it with every voter's prefix. Returns the files that failed."""
    failed: set[str] = set()
    for logical in sorted(store.state(object_id, version)):
        try:
            with store.open_file(object_id, logical, version) as fh:
                index = 0
                while True:
                    block = fh.read(block_size)
                    if not block and index > 0:
                        break
                    for voter, base in started.items():
                        h = base.copy()
                        h.update(block)
                        out[voter][(logical, index)] = h.hexdigest()
                    index += 1
                    if len(block) < block_size:
                        break
        except (OSError, StorageError):
            failed.add(logical)
    return failed


def _hash_range(
    store: ObjectStore, object_id: str, logical: str, version: int, start: int, length: int, hashers: list[Any]
) -> list[str]:
    """One block, read in pieces by this thread and fed to every voter's hasher (each a copy of its prefix)."""
    with store.open_file(object_id, logical, version, start=start, length=length) as fh:
        while piece := fh.read(PIECE):
            for h in hashers:
                h.update(piece)  # a large buffer: hashed with the interpreter lock released
    return [str(h.hexdigest()) for h in hashers]


def _hash_blocks_parallel(
    store: ObjectStore,
    object_id: str,
    version: int,
    started: Mapping[str, Any],
    block_size: int,
    pool: ThreadPoolExecutor,
    workers: int,
    out: dict[str, dict[BlockKey, str | None]],
) -> set[str]:
    """The same hashes as :func:`_hash_blocks`, each block a task of its own on ``pool`` (a block is
    ``[i * block_size, (i + 1) * block_size)`` of its file; an empty file is one empty block). Returns the files that
    failed."""
    voters = list(started)
    failed: set[str] = set()
    pending: deque[tuple[str, int, Future[list[str]]]] = deque()

    def settle(keep: int) -> None:
        while len(pending) > keep:
            logical, index, future = pending.popleft()
            try:
                for voter, digest in zip(voters, future.result(), strict=True):
                    out[voter][(logical, index)] = digest
            except (OSError, StorageError):
                failed.add(logical)

    for logical in sorted(store.state(object_id, version)):
        try:
            with store.open_file(object_id, logical, version) as fh:
                size = fh.seek(0, os.SEEK_END)
        except (OSError, StorageError):
            failed.add(logical)
            continue
        for index in range(max(1, -(-size // block_size))):
            hashers = [started[v].copy() for v in voters]
            job = pool.submit(_hash_range, store, object_id, logical, version, index * block_size, block_size, hashers)
            pending.append((logical, index, job))
            settle(4 * workers)  # a few blocks queued per thread: every thread stays busy
    settle(0)
    return failed


class InvalidVote(StrongroomError):
    """A vote not bound to this poll and this voter: relayed from another node, replayed, or not signed by it."""


def checked_vote(
    answer: Any, binding: VoteBinding, poller_nonce: bytes, public_key: str
) -> tuple[bytes, dict[BlockKey, str | None]]:
    """The voter's nonce and block hashes of a vote, once it is shown to be this voter's vote in this poll (it names
    this poll, poller, voter, object, version and nonce, and the voter's signature over all that and its hashes
    verifies); InvalidVote otherwise."""
    try:
        named = (answer["poll_id"], answer["poller"], answer["voter"], answer["object_id"], int(answer["version"]))
        if named != (binding.poll_id, binding.poller, binding.voter, binding.object_id, binding.version):
            raise InvalidVote(f"the vote names poll {named[0]} by {named[1]} from {named[2]}, not this poll")
        if answer["poller_nonce"] != poller_nonce.hex():
            raise InvalidVote("the vote carries another poller nonce")
        voter_nonce = bytes.fromhex(answer["voter_nonce"])
        blocks: dict[str, list[str | None]] = answer["blocks"]
        statement = vote_statement(binding, poller_nonce, voter_nonce, blocks_digest(blocks))
        public_key_from_text(public_key).verify(base64.b64decode(answer["signature"], validate=True), statement)
        return voter_nonce, {(path, i): h for path, hs in blocks.items() for i, h in enumerate(hs)}
    except InvalidSignature:
        raise InvalidVote("the vote's signature is not the voter's over this poll and these hashes") from None
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise InvalidVote(f"malformed vote: {exc!r}") from None


def refusal(exc: PeerError) -> str:
    why = {429: "rate-limited", 403: "refused (not assigned or not a member)", 503: "busy or unreachable"}
    return f"{why.get(exc.status, 'refused')} ({exc.status}): {exc.message[:200]}"


@dataclass
class Ballot:
    """What a poll's invitations brought: the poll's id and nonce, the valid votes (voter -> its nonce and block
    hashes), why each other invited peer's vote was not counted, and which of those were invalid votes."""

    poll_id: str
    poller_nonce: bytes
    valid: dict[str, tuple[bytes, Hashes]] = field(default_factory=dict)
    refusals: dict[str, str] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VoteCollector:
    poller: str
    policy: NetworkPolicy

    def collect(self, client: PeerClient, invited: list[Member], object_id: str, version: int, au_bytes: int) -> Ballot:
        """Ask every invited peer for a vote at once, each within a time limit sized to the AU (``au_bytes``), the
        whole within the poll's limit; keep only votes bound to this poll and to the peer that sent them."""
        me, policy = self.poller, self.policy
        poll_id = secrets.token_hex(16)
        poller_nonce = secrets.token_bytes(16)
        ask = {
            "poll_id": poll_id,
            "poller_nonce": poller_nonce.hex(),
            "version": version,
            "block_size": policy.block_size,
        }
        limit = vote_seconds(au_bytes, policy.max_poll_seconds)
        path = f"/peer/v1/objects/{encode_id(object_id)}/vote"
        ballot = Ballot(poll_id, poller_nonce)
        valid, refusals, invalid = ballot.valid, ballot.refusals, ballot.invalid
        if not invited:
            return ballot
        pool = ThreadPoolExecutor(max_workers=len(invited), thread_name_prefix="poll-vote")
        try:
            asked = {pool.submit(client.post_json, peer, path, ask, timeout=limit): peer for peer in invited}
            done, late = wait(asked, timeout=limit)
            for future in late:
                refusals[asked[future].id] = f"no vote within {limit:.0f} s"
            for future in done:
                peer = asked[future]
                try:
                    answer = future.result()
                    binding = VoteBinding(poll_id, me, peer.id, object_id, version)
                    valid[peer.id] = checked_vote(answer, binding, poller_nonce, peer.public_key)
                except PeerError as exc:
                    refusals[peer.id] = refusal(exc)
                except InvalidVote as exc:
                    refusals[peer.id] = invalid[peer.id] = (
                        f"sent a vote not bound to this poll and itself: {exc.message}"
                    )
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return ballot


def refusal_summary(refusals: Mapping[str, str]) -> str:
    """Why invited peers gave no vote, counted by reason ("2 rate-limited (429), 1 unreachable")."""
    counts = Counter(why.split(":", 1)[0] for why in refusals.values())
    return ", ".join(f"{n} {why}" for why, n in sorted(counts.items()))
