"""A discrete-event model of a preservation network, for choosing its policy from evidence.

Nodes hold copies of AUs; copies are damaged at random (a Poisson process per copy), whole nodes can be lost,
and a share of the nodes can be hostile (they vote falsely and serve corrupt repairs). Every honest node polls
every AU it holds once per poll interval, inviting a random sample of the other holders. Votes are hashed with
real nonces and tallied, and repairs accepted or refused, by the **same code** real polls use
(:mod:`strongroom.domain.poll`). The report gives the time from damage to detection and to repair, the
inconclusive polls (alarms), bad content accepted (must be zero) and AUs lost.
"""

from __future__ import annotations

import heapq
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from strongroom.domain.poll import BlockKey, Outcome, PollPolicy, repair_accepted, tally, vote_hash

DAY = 1.0
YEAR = 365.0 * DAY
KEY: BlockKey = ("content", 0)


@dataclass(frozen=True)
class SimulationParams:
    nodes: int = 12
    aus: int = 10_000
    copies: int = 7  # copies of each AU, on distinct nodes
    years: float = 5.0
    damage_rate: float = 0.01  # damage events per copy per year
    hostile: float = 0.0  # share of nodes that vote falsely and serve corrupt repairs
    node_losses: int = 0  # whole nodes whose storage is wiped, at random times
    poll_interval_days: float = 70.0  # LOCKSS' 10 weeks
    policy: PollPolicy = field(default_factory=PollPolicy)
    seed: int = 1

    def __post_init__(self) -> None:
        if not 2 <= self.copies <= self.nodes:
            raise ValueError("copies must be at least 2 and at most the number of nodes")
        if not 0.0 <= self.hostile < 1.0:
            raise ValueError("hostile must be in [0, 1)")


@dataclass
class SimulationReport:
    params: SimulationParams
    polls: int = 0
    damage_events: int = 0
    detected: int = 0
    repaired: int = 0
    inconclusive: int = 0
    repairs_refused: int = 0
    bad_content_accepted: int = 0
    aus_lost: int = 0
    aus_damaged_at_end: int = 0
    days_to_detect: list[float] = field(default_factory=list)
    days_to_repair: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def stats(xs: list[float]) -> dict[str, float | None]:
            if not xs:
                return {"mean": None, "median": None, "p95": None, "max": None}
            ordered = sorted(xs)
            return {
                "mean": round(statistics.fmean(xs), 1),
                "median": round(statistics.median(xs), 1),
                "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
                "max": round(ordered[-1], 1),
            }

        p = self.params
        return {
            "params": {
                "nodes": p.nodes,
                "aus": p.aus,
                "copies": p.copies,
                "years": p.years,
                "damage_rate": p.damage_rate,
                "hostile": p.hostile,
                "node_losses": p.node_losses,
                "poll_interval_days": p.poll_interval_days,
                "quorum": p.policy.quorum,
                "vote_margin": p.policy.vote_margin,
                "invitations": p.policy.invitations,
                "seed": p.seed,
            },
            "polls": self.polls,
            "damage_events": self.damage_events,
            "detected": self.detected,
            "repaired": self.repaired,
            "inconclusive_polls": self.inconclusive,
            "repairs_refused": self.repairs_refused,
            "bad_content_accepted": self.bad_content_accepted,
            "aus_lost": self.aus_lost,
            "aus_damaged_at_end": self.aus_damaged_at_end,
            "days_to_detect": stats(self.days_to_detect),
            "days_to_repair": stats(self.days_to_repair),
        }


GOOD = 0  # a copy's content: 0 is the original; any other number is a distinct corruption; -1 is missing
MISSING = -1


class _Network:
    def __init__(self, p: SimulationParams) -> None:
        self.p = p
        self.rng = random.Random(p.seed)  # noqa: S311 - a model, not cryptography
        self.hostile = set(self.rng.sample(range(p.nodes), round(p.hostile * p.nodes)))
        self.holders = [self._place(au) for au in range(p.aus)]
        self.state: dict[tuple[int, int], int] = {(n, au): GOOD for au in range(p.aus) for n in self.holders[au]}
        self.damaged_at: dict[tuple[int, int], float] = {}
        self.detected: set[tuple[int, int]] = set()
        self.next_corruption = 1
        self.report = SimulationReport(p)
        self.events: list[tuple[float, int, str, tuple[int, ...]]] = []
        self.seq = 0

    def _place(self, au: int) -> list[int]:
        start = au % self.p.nodes
        return [(start + i) % self.p.nodes for i in range(self.p.copies)]

    def push(self, t: float, kind: str, *args: int) -> None:
        self.seq += 1
        heapq.heappush(self.events, (t, self.seq, kind, args))

    def content(self, node: int, au: int) -> bytes | None:
        value = self.state[(node, au)]
        return None if value == MISSING else b"au-%d-content-%d" % (au, value)

    def damage(self, t: float, node: int, au: int, value: int | None = None) -> None:
        if self.state[(node, au)] == GOOD:
            self.damaged_at[(node, au)] = t
            self.report.damage_events += 1
        if value is None:
            value = self.next_corruption
            self.next_corruption += 1
        self.state[(node, au)] = value

    def poll(self, t: float, poller: int, au: int) -> None:
        p, rng = self.p, self.rng
        self.report.polls += 1
        others = [n for n in self.holders[au] if n != poller]
        voters = rng.sample(others, min(p.policy.invitations, len(others)))
        poller_nonce = rng.randbytes(8)
        mine: dict[str, dict[BlockKey, str | None]] = {}
        votes: dict[str, dict[BlockKey, str | None]] = {}
        nonces: dict[str, bytes] = {}
        own = self.content(poller, au)
        for v in voters:
            name = str(v)
            nonces[name] = rng.randbytes(8)
            mine[name] = {KEY: vote_hash(poller_nonce, nonces[name], own)}
            if v in self.hostile:
                votes[name] = {KEY: rng.randbytes(16).hex()}  # a false vote
            else:
                votes[name] = {KEY: vote_hash(poller_nonce, nonces[name], self.content(v, au))}
        block = tally(mine, votes, p.policy).blocks[KEY]
        copy = (poller, au)
        if block.outcome is Outcome.INCONCLUSIVE:
            self.report.inconclusive += 1
            return
        if block.outcome is Outcome.AGREE:
            # Voters in the minority learn their copy may be damaged and poll it soon (symmetric polls).
            for name in block.disagreeing:
                if int(name) not in self.hostile:
                    self.push(t + rng.uniform(0, 1), "early-poll", int(name), au)
            return
        if copy in self.damaged_at and copy not in self.detected:
            self.detected.add(copy)
            self.report.detected += 1
            self.report.days_to_detect.append(t - self.damaged_at[copy])
        for name in rng.sample(list(block.disagreeing), len(block.disagreeing)):
            source = int(name)
            served = (b"forged-%d" % rng.getrandbits(32)) if source in self.hostile else self.content(source, au)
            repaired = {v: vote_hash(poller_nonce, nonces[v], served) for v in votes}
            if not repair_accepted(repaired, votes, KEY, p.policy):
                self.report.repairs_refused += 1
                continue
            new_value = GOOD if served == b"au-%d-content-%d" % (au, GOOD) else None
            if new_value is None:
                self.report.bad_content_accepted += 1
                self.state[copy] = self.next_corruption
                self.next_corruption += 1
            else:
                self.state[copy] = GOOD
                if copy in self.damaged_at:
                    self.report.repaired += 1
                    self.report.days_to_repair.append(t - self.damaged_at.pop(copy))
                    self.detected.discard(copy)
            return

    def run(self, progress: Callable[[float], None] | None = None) -> SimulationReport:
        p, rng = self.p, self.rng
        horizon = p.years * YEAR
        # Damage: one Poisson process over the honest nodes' copies, each event hitting one at random (a hostile
        # node's own storage does not matter: it never tells the truth about it).
        honest_copies = [c for c in self.state if c[0] not in self.hostile]
        total_rate = p.damage_rate * len(honest_copies) / YEAR
        t = rng.expovariate(total_rate) if total_rate > 0 else horizon
        while t < horizon:
            self.push(t, "damage", *rng.choice(honest_copies))
            t += rng.expovariate(total_rate)
        for node in rng.sample(range(p.nodes), min(p.node_losses, p.nodes)):
            self.push(rng.uniform(0, horizon), "loss", node)
        for node, au in honest_copies:
            self.push(rng.uniform(0, p.poll_interval_days), "poll", node, au)
        last_report = 0.0
        while self.events:
            t, _, kind, args = heapq.heappop(self.events)
            if t > horizon:
                break
            if kind == "damage":
                self.damage(t, *args)
            elif kind == "loss":
                for au in range(p.aus):
                    if (args[0], au) in self.state:
                        self.damage(t, args[0], au, MISSING)
            elif kind == "poll":  # the node's scheduled poll of the AU, which schedules the next one
                self.poll(t, *args)
                self.push(t + p.poll_interval_days * rng.uniform(0.9, 1.1), "poll", *args)
            elif kind == "early-poll":  # a voter that found itself in the minority checks its copy now
                self.poll(t, *args)
            if progress and t - last_report > 30:
                progress(t / horizon)
                last_report = t
        for au in range(p.aus):
            good = [n for n in self.holders[au] if self.state[(n, au)] == GOOD and n not in self.hostile]
            if not good:
                self.report.aus_lost += 1
            elif len(good) < len([n for n in self.holders[au] if n not in self.hostile]):
                self.report.aus_damaged_at_end += 1
        return self.report


def simulate(params: SimulationParams, progress: Callable[[float], None] | None = None) -> SimulationReport:
    return _Network(params).run(progress)
