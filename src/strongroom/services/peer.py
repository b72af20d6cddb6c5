"""What this node answers its peers: the objects it holds (all of them, or its entry for one), a file of an
object (only to nodes the signed configuration assigns to hold that AU, so the peer channel never leaks a dark
archive's content), a vote in a poll (rate-limited per peer and AU: hashing a whole AU is the costliest thing a peer
can ask for), and a poll's receipt."""

from __future__ import annotations

import base64
import contextlib
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from strongroom.domain.model import EventOutcome, EventType
from strongroom.domain.poll import VoteBinding, blocks_digest, vote_statement
from strongroom.network.auth import PeerRejected
from strongroom.network.ranges import ByteRange
from strongroom.services.events import EventLog
from strongroom.services.membership import Membership
from strongroom.services.polls import PollQueue
from strongroom.services.votes import copy_hashes
from strongroom.store.base import ObjectStore


class PeerBusy(PeerRejected):
    """A request refused for now (429 rate limit, 503 too much work at once); ``retry_after`` seconds to wait."""

    def __init__(self, message: str, status: int, retry_after: float) -> None:
        super().__init__(message, status)
        self.retry_after = max(1, round(retry_after))


class RangeNotSatisfiable(PeerRejected):
    """A byte range that selects no byte of the file (416); ``size``: the file's, for the Content-Range answer."""

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message, 416)
        self.size = size


@dataclass(frozen=True)
class PeerFile:
    stream: BinaryIO
    size: int  # of what the stream gives: the whole file, or the range
    signed_body: bool  # an inventory or a range: its bytes are signed (the caller reads them whole)
    byte_range: tuple[int, int, int] | None = None  # (first, last, file size) when the stream is part of the file


class PeerService:
    def __init__(self, store: ObjectStore, membership: Membership, events: EventLog, queue: PollQueue) -> None:
        self.store = store
        self.membership = membership
        self.events = events
        self.queue = queue
        self._last_vote: dict[tuple[str, str], float] = {}
        self._vote_lock = threading.Lock()
        self._voting = 0

    def precheck(self, headers: Mapping[str, str]) -> str:
        """The claimed sender if the headers alone pass (recipient, membership, clock), before a body is read."""
        return self.membership.verifier().precheck(headers)

    def authenticate(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> str:
        """The id of the member that signed this request, or PeerRejected."""
        return self.membership.verifier().verify(method, path, headers, body)

    def _holder_required(self, peer: str, object_id: str) -> None:
        if peer not in self.membership.holders(object_id):
            raise PeerRejected(f"{peer} is not assigned to hold {object_id}", 403)

    def objects(self) -> list[dict[str, Any]]:
        """Every object this node stores and its head version: a look at each inventory's sidecar, a parse only of
        the inventories that changed since the last list (see :mod:`strongroom.store.heads`)."""
        return [{"object_id": oid, "version": head} for oid, head in self.store.heads()]

    def holding(self, object_id: str) -> dict[str, Any]:
        """This node's entry for ``object_id`` in :meth:`objects`, and nothing more (any member may list the
        objects, so any member may ask about one); 404 when this node does not hold it."""
        if not self.store.exists(object_id):
            raise PeerRejected("this node holds no such object", 404)
        return {"object_id": object_id, "version": self.store.head_version(object_id)}

    def file(self, peer: str, object_id: str, relpath: str, byte_range: ByteRange | None = None) -> PeerFile:
        """A content file or an inventory of ``object_id`` for an assigned holder, or one range of it (a repair
        asks for one block): never more than the file holds. A range of an empty file is the whole (empty) file:
        there is no byte to select (RFC 9110 lets a server answer a Range with the whole representation), and a
        repair asks for block 0 of a file that may be empty."""
        self._holder_required(peer, object_id)
        size = self.store.content_size(object_id, relpath)
        if byte_range is not None and size > 0:
            selected = byte_range.within(size)
            if selected is None:
                raise RangeNotSatisfiable(f"the range asked for is outside {relpath}, a file of {size} bytes", size)
            first, last = selected
            # a range is read whole to be signed: never more than one block of the network's policy at a time
            most = self.membership.config().policy.block_size
            if last - first + 1 > most:
                raise PeerRejected(
                    f"a range of {last - first + 1} bytes of {relpath} was asked for; at most {most} bytes (one "
                    "block) are served a request: ask for the whole file without a Range, or for one block",
                    400,
                )
            stream = self.store.open_content(object_id, relpath, start=first, length=last - first + 1)
            return PeerFile(stream, last - first + 1, True, (first, last, size))
        inventory = relpath.rsplit("/", 1)[-1].startswith("inventory.json")
        return PeerFile(self.store.open_content(object_id, relpath), size, inventory or byte_range is not None)

    def _vote_allowed(self, peer: str, object_id: str) -> None:
        gap = self.membership.config().policy.min_seconds_between_polls
        now = time.monotonic()
        with self._vote_lock:
            last = self._last_vote.get((peer, object_id))
            if last is not None and now - last < gap:
                raise PeerBusy(
                    f"{peer} polled {object_id} {now - last:.0f} s ago; at most one poll per {gap:.0f} s",
                    429,
                    retry_after=gap - (now - last),
                )
            self._last_vote[(peer, object_id)] = now

    @contextlib.contextmanager
    def _vote_slot(self) -> Iterator[None]:
        """One of the network's ``max_concurrent_votes``: beyond it a vote is refused (503, try again later)."""
        limit = self.membership.config().policy.max_concurrent_votes
        with self._vote_lock:
            if self._voting >= limit:
                raise PeerBusy(f"this node is computing {self._voting} votes already (limit {limit})", 503, 60)
            self._voting += 1
        try:
            yield
        finally:
            with self._vote_lock:
                self._voting -= 1

    def vote(self, peer: str, object_id: str, ask: Mapping[str, Any]) -> dict[str, Any]:
        """This copy's block hashes for ``peer``'s poll, bound to the poll, the poller, this voter and both nonces
        (:class:`~strongroom.domain.poll.VoteBinding`) and signed by this node: proof that *this* node holds the
        content now, which no other node can present as its own."""
        self._holder_required(peer, object_id)
        with self._vote_slot():
            self._vote_allowed(peer, object_id)
            return self._vote(peer, object_id, ask)

    def _vote(self, peer: str, object_id: str, ask: Mapping[str, Any]) -> dict[str, Any]:
        try:
            version = int(ask["version"])
            block_size = int(ask["block_size"])
            poll_id = str(ask["poll_id"])
            poller_nonce = bytes.fromhex(ask["poller_nonce"])
        except (KeyError, ValueError, TypeError):
            raise PeerRejected(
                "a vote request names the version (an integer), block_size (an integer), poll_id and "
                "poller_nonce (hex)",
                400,
            ) from None
        if not 1024 <= block_size <= 1 << 30:
            raise PeerRejected("block_size out of range", 400)
        if not 0 < len(poll_id) <= 64 or not 8 <= len(poller_nonce) <= 64:
            raise PeerRejected("poll_id or poller_nonce out of range", 400)
        if self.store.head_version(object_id) < version:
            raise PeerRejected(f"this node does not hold v{version} of {object_id} yet", 409)
        voter_nonce = secrets.token_bytes(16)
        binding = VoteBinding(poll_id, peer, self.membership.node_id, object_id, version)
        hashes = copy_hashes(
            self.store, object_id, version, {"me": binding.prefix(poller_nonce, voter_nonce)}, block_size
        )["me"]
        blocks: dict[str, list[str | None]] = {}
        for (logical, index), h in sorted(hashes.items()):
            blocks.setdefault(logical, []).append(h)
            assert len(blocks[logical]) == index + 1
        statement = vote_statement(binding, poller_nonce, voter_nonce, blocks_digest(blocks))
        signature = base64.b64encode(self.membership.private_key().sign(statement)).decode("ascii")
        self.events.record(
            EventType.POLL,
            EventOutcome.SUCCESS,
            object_id,
            f"voted in a poll called by {peer}",
            {"role": "voter", "poller": peer, "version": version, "poll_id": poll_id},
        )
        return {
            "poll_id": poll_id,
            "poller": peer,
            "voter": self.membership.node_id,
            "object_id": object_id,
            "version": version,
            "poller_nonce": poller_nonce.hex(),
            "voter_nonce": voter_nonce.hex(),
            "blocks": blocks,
            "signature": signature,
        }

    def receipt(self, peer: str, object_id: str, data: Mapping[str, Any]) -> None:
        """A poll's outcome: a copy found in the minority is polled soon (no sooner than this node's schedule
        allows: see :class:`~strongroom.services.polls.PollQueue`); a copy found in agreement is recorded as audited
        (a receipt event), so that this node knows its AU was audited even when it was not the poller."""
        self._holder_required(peer, object_id)
        if data.get("outcome") in ("agree", "disagree") and not data.get("disagreed"):
            self.events.record(  # a landslide agreed with this copy (whether or not the poller's own was damaged)
                EventType.POLL,
                EventOutcome.SUCCESS,
                object_id,
                f"{peer}'s poll found this copy in agreement with the landslide",
                {"role": "voter", "poller": peer, "receipt": "agree", "poll_id": str(data.get("poll_id", ""))},
            )
        if data.get("disagreed"):
            blocks = data.get("blocks", [])
            self.events.record(
                EventType.POLL,
                EventOutcome.WARNING,
                object_id,
                f"{peer}'s poll found this copy in the minority; it will be polled soon",
                {"role": "voter", "poller": peer, "blocks": list(blocks)[:100] if isinstance(blocks, list) else []},
            )
            self.queue.add(object_id)
