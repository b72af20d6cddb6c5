"""Polls: a node calls a poll on its copy of an AU, its peers vote with fresh nonces, the tally decides each block
(:mod:`strongroom.domain.poll`), and what a landslide says is damaged is repaired from an agreeing peer: each
repaired block must re-hash to the landslide and the whole file must match the inventory before it replaces the
damaged one. Files are read and rebuilt block by block; none is held in memory whole. Votes are asked for and
checked in :mod:`strongroom.services.votes`; a vote counts only when it is its sender's own vote in this poll.

A node runs at most ``max_concurrent_polls`` polls, one per AU; every poll with too few votes or without a
landslide is an alarm, and what the poll found about each voter is a :class:`~strongroom.domain.poll.PeerFinding`
(a damaged copy, or a suspect)."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strongroom.domain.model import EventOutcome, EventType
from strongroom.domain.poll import (
    BlockKey,
    Outcome,
    PeerFinding,
    PollPolicy,
    VoteBinding,
    block_hash,
    blocks_of,
    repair_accepted,
    tally,
)
from strongroom.errors import ExitCode, StorageError, StrongroomError
from strongroom.network.client import PeerClient, PeerError
from strongroom.network.config import Member, schedule_problems
from strongroom.network.ids import encode_id
from strongroom.services.events import EventLog
from strongroom.services.membership import Membership
from strongroom.services.scratch import work_directory
from strongroom.services.votes import VoteCollector, copy_hashes, refusal_summary
from strongroom.store.base import ObjectStore
from strongroom.store.hashing import read_chunks


class PollQueue:
    """AUs to poll soon, out of schedule (a receipt told this node its copy was in the minority), but never sooner
    than the network's ``min_seconds_between_polls`` after this node's last poll of that AU: receipts cannot make a
    node poll more often than its peers would vote (their rate limit), nor more often than its schedule allows."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._due: set[str] = set()
        self._not_before: dict[str, float] = {}
        self._clock = clock
        self._lock = threading.Lock()

    def add(self, object_id: str) -> None:
        with self._lock:
            self._due.add(object_id)

    def polled(self, object_id: str, min_gap: float) -> None:
        """This node has just polled ``object_id``; it is not polled again out of schedule for ``min_gap`` s."""
        with self._lock:
            self._not_before[object_id] = self._clock() + min_gap

    def take(self) -> set[str]:
        """The AUs due now; those asked for too soon stay queued until they may be polled."""
        now = self._clock()
        with self._lock:
            due = {o for o in self._due if self._not_before.get(o, now) <= now}
            self._due -= due
        return due


class PollBusy(StrongroomError):
    """This node already runs as many polls as the network allows, or is polling this AU already."""

    exit_code = ExitCode.BUSY


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
    suspects: dict[str, str] = field(default_factory=dict)  # peer -> why it is suspected of lying
    damaged: dict[str, str] = field(default_factory=dict)  # peer -> why its copy seems damaged (not a suspect)
    findings: dict[str, PeerFinding] = field(default_factory=dict)
    refusals: dict[str, str] = field(default_factory=dict)  # invited peer -> why no vote was counted
    alarms: list[str] = field(default_factory=list)

    def find(self, peer: str, finding: PeerFinding, why: str) -> None:
        """Record what this poll found about ``peer``; a suspect finding outranks a damaged one."""
        if finding.suspect:
            self.damaged.pop(peer, None)
            self.suspects.setdefault(peer, why)
            if peer not in self.findings or not self.findings[peer].suspect:
                self.findings[peer] = finding
        elif peer not in self.suspects:
            self.damaged.setdefault(peer, why)
            self.findings.setdefault(peer, finding)


@dataclass
class _Poll:
    """One poll's state, as the repair of each damaged file needs it."""

    object_id: str
    version: int
    policy: PollPolicy
    poller_nonce: bytes
    members: dict[str, Member]
    votes: dict[str, dict[BlockKey, str | None]]
    prefixes: dict[str, bytes]
    result: PollResult


class Polls:
    def __init__(
        self,
        store: ObjectStore,
        membership: Membership,
        events: EventLog,
        *,
        staging: Path,
        queue: PollQueue | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.membership = membership
        self.events = events
        self.staging = staging
        self.queue = queue or PollQueue()
        self.monotonic = monotonic
        self._active: set[str] = set()
        self._active_lock = threading.Lock()

    def schedule_problems(self, poll_every: float | None) -> list[str]:
        """Why polling every ``poll_every`` seconds conflicts with the network's policy, if it does."""
        return schedule_problems(self.membership.config().policy, poll_every)

    def held(self) -> list[str]:
        """The objects this node holds and is assigned to hold: each is polled on schedule. A copy the network no
        longer assigns to this node is not polled (its voters, the assigned holders, would refuse it)."""
        return [o for o in self.store.iter_object_ids() if self.membership.node_id in self.membership.holders(o)]

    @contextlib.contextmanager
    def _slot(self, object_id: str, limit: int) -> Iterator[None]:
        with self._active_lock:
            if object_id in self._active:
                raise PollBusy(f"a poll of {object_id} is running already", hint="wait for it to end")
            if len(self._active) >= limit:
                raise PollBusy(
                    f"this node runs {len(self._active)} polls already (max_concurrent_polls {limit})",
                    hint="try again when one has ended",
                )
            self._active.add(object_id)
        try:
            yield
        finally:
            with self._active_lock:
                self._active.discard(object_id)

    def poll(self, client: PeerClient, object_id: str, rng: random.Random | None = None) -> PollResult:
        """Call a poll on this node's copy of ``object_id``, tally it, repair what a landslide says is damaged."""
        config = self.membership.config()
        with self._slot(object_id, config.policy.max_concurrent_polls):
            self.queue.polled(object_id, config.policy.min_seconds_between_polls)
            return self._poll(client, object_id, rng or random.Random())  # noqa: S311 - sampling, not a secret

    def _poll(self, client: PeerClient, object_id: str, rng: random.Random) -> PollResult:
        started = self.monotonic()
        config = self.membership.config()
        policy = config.policy.poll_policy()
        me = self.membership.node_id
        version = self.store.head_version(object_id)
        holders = self.membership.holders(object_id)
        candidates = [m for m in config.members if m.id != me and m.id in holders]
        invited = rng.sample(candidates, min(policy.invitations, len(candidates)))
        ballot = VoteCollector(me, config.policy).collect(
            client, invited, object_id, version, self.store.stored_bytes(object_id)
        )
        poll_id, poller_nonce, valid, refusals, invalid = (
            ballot.poll_id,
            ballot.poller_nonce,
            ballot.valid,
            ballot.refusals,
            ballot.invalid,
        )
        votes = {voter: hashes for voter, (_, hashes) in valid.items()}
        prefixes = {
            voter: VoteBinding(poll_id, me, voter, object_id, version).prefix(poller_nonce, nonce)
            for voter, (nonce, _) in valid.items()
        }
        mine = copy_hashes(self.store, object_id, version, prefixes, policy.block_size)
        result = tally(mine, votes, policy)
        outcome = PollResult(object_id, result.outcome, sorted(votes), refusals=refusals)
        for peer, why in invalid.items():
            outcome.find(peer, PeerFinding.INVALID_VOTE, why)
        outcome.agreed_blocks = len(result.by_outcome(Outcome.AGREE))
        outcome.inconclusive_blocks = [
            f"{p}#{i}" for (p, i) in (b.key for b in result.by_outcome(Outcome.INCONCLUSIVE))
        ]
        if len(votes) < policy.quorum:
            outcome.alarms.append(
                f"too few votes: {len(votes)} of the quorum {policy.quorum} ({len(candidates)} other holders, "
                f"{len(invited)} invited" + (f"; {refusal_summary(refusals)}" if refusals else "") + ")"
            )
        if outcome.inconclusive_blocks:
            outcome.alarms.append(f"inconclusive on {len(outcome.inconclusive_blocks)} block(s)")
        state = _Poll(object_id, version, policy, poller_nonce, {m.id: m for m in invited}, votes, prefixes, outcome)
        damaged: dict[str, list[BlockKey]] = {}
        for block in result.by_outcome(Outcome.DISAGREE):
            damaged.setdefault(block.key[0], []).append(block.key)
        for logical, keys in sorted(damaged.items()):
            if self.monotonic() - started > config.policy.max_poll_seconds:
                outcome.unrepaired.append(logical)  # the poll's time is up: the next poll repairs the rest
                if not any(a.startswith("ran out of time") for a in outcome.alarms):
                    outcome.alarms.append(
                        f"ran out of time (max_poll_seconds {config.policy.max_poll_seconds:g}) before repairing "
                        "every damaged file"
                    )
                continue
            sources = list(result.blocks[keys[0]].disagreeing)
            rng.shuffle(sources)
            if self._repair_file(client, state, logical, keys, sources):
                outcome.repaired.append(logical)
            else:
                outcome.unrepaired.append(logical)
        told_before = self._minority_before(object_id)
        minorities: dict[str, list[str]] = {}
        for voter in votes:  # receipts: voters in a minority learn they should check themselves
            minority = [
                f"{p}#{i}"
                for (p, i), b in result.blocks.items()
                if b.outcome is Outcome.AGREE and voter in b.disagreeing
            ]
            if minority:
                minorities[voter] = minority
                if voter in told_before:
                    outcome.find(
                        voter,
                        PeerFinding.STILL_DISAGREES,
                        f"still voted against the landslide on {len(minority)} block(s) after it was told its copy "
                        "disagreed and could repair it",
                    )
                else:
                    outcome.find(
                        voter,
                        PeerFinding.DAMAGED,
                        f"its copy disagrees with the landslide on {len(minority)} block(s); it was told to repair it",
                    )
            with contextlib.suppress(PeerError):  # a receipt is a courtesy; the voter also polls on its own schedule
                client.post_json(
                    state.members[voter],
                    f"/peer/v1/objects/{encode_id(object_id)}/receipt",
                    {
                        "poll_id": poll_id,
                        "outcome": str(result.outcome),
                        "disagreed": bool(minority),
                        "blocks": minority,
                    },
                )
        self._record(outcome, minorities)
        for peer, finding in sorted(outcome.findings.items()):
            why = outcome.suspects.get(peer) or outcome.damaged.get(peer, "")
            words = f"SUSPECT peer {peer}: {why}" if finding.suspect else f"damaged copy on peer {peer}: {why}"
            data: dict[str, Any] = {"role": "poller", "peer": peer, "finding": str(finding), "reason": why}
            if finding.suspect:
                data["suspect"] = peer
            self.events.record(EventType.POLL, EventOutcome.WARNING, object_id, words, data)
        return outcome

    def _minority_before(self, object_id: str) -> set[str]:
        """Voters this node's last poll of the AU found in the minority: disagreeing again makes them suspects."""
        au_key = self.events.au_key_for(object_id)
        for event in self.events.catalog.events(object_key=au_key, type=str(EventType.POLL), limit=200):
            if event.data.get("role") == "poller" and "voters" in event.data:
                return {str(v) for v in event.data.get("minority", [])}
        return set()

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
        most = max(1, majority_blocks) * block_size  # the landslide's file is no longer than its blocks
        with dest.open("xb") as out:
            for chunk in client.iter_file(state.members[source], state.object_id, content_path, most=most):
                out.write(chunk)

    def _accepted(self, state: _Poll, candidate: Path, key: BlockKey) -> bool:
        """Whether the candidate's block ``key`` re-hashes to the landslide (with every voter's nonce)."""
        block_size = state.policy.block_size
        size = candidate.stat().st_size
        present = key[1] < len(blocks_of(size, block_size))
        with candidate.open("rb") as fh:
            fh.seek(key[1] * block_size)
            block = fh.read(block_size)
        repaired = {v: block_hash(state.prefixes[v], block if present else None) for v in state.votes}
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
                        outcome.find(
                            source,
                            PeerFinding.BAD_REPAIR,
                            f"served a repair of {logical} that did not re-hash to the landslide",
                        )
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

    def _record(self, result: PollResult, minorities: Mapping[str, list[str]]) -> None:
        outcome = {
            Outcome.AGREE: EventOutcome.SUCCESS,
            Outcome.DISAGREE: EventOutcome.SUCCESS,
            Outcome.INCONCLUSIVE: EventOutcome.WARNING,
        }[result.outcome]
        if result.unrepaired:
            outcome = EventOutcome.FAILURE
        elif result.alarms:
            outcome = EventOutcome.WARNING
        detail = (
            f"poll with {len(result.voters)} voters: {result.outcome}; {result.agreed_blocks} blocks agreed"
            + (f"; repaired {', '.join(result.repaired)}" if result.repaired else "")
            + (f"; NOT repaired {', '.join(result.unrepaired)}" if result.unrepaired else "")
            + "".join(f"; ALARM: {alarm}" for alarm in result.alarms)
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
                "refusals": result.refusals,
                "minority": sorted(minorities),
                "alarms": result.alarms,
            },
        )
