"""Triggers, as pure rules: the reasons the board may release dark content, the states a trigger moves
through, and the decision rule that turns the board's votes into approval or rejection.

CLOCKSS' rule is the default: at least 75% of the votes cast in favour, no more than two against, and a quorum
of the board voting. The rule is network configuration, never a constant.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TriggerReason(StrEnum):
    PUBLISHER_CEASED = "publisher-ceased"
    TITLE_DISCONTINUED = "title-discontinued"
    BACK_ISSUES_WITHDRAWN = "back-issues-withdrawn"
    PLATFORM_FAILURE = "platform-failure"  # catastrophic and sustained failure of the publisher's platform
    OTHER = "other"  # needs an explanation


class TriggerState(StrEnum):
    PROPOSED = "proposed"
    VOTING = "voting"
    APPROVED = "approved"
    REJECTED = "rejected"
    RELEASED = "released"
    WITHDRAWN = "withdrawn"


class VoteChoice(StrEnum):
    FOR = "for"
    AGAINST = "against"
    ABSTAIN = "abstain"


class ScopeKind(StrEnum):
    TITLE = "title"
    AUS = "aus"
    PUBLISHER = "publisher"


# Which state may follow which: anything else is refused.
TRANSITIONS: dict[TriggerState, frozenset[TriggerState]] = {
    TriggerState.PROPOSED: frozenset({TriggerState.VOTING, TriggerState.WITHDRAWN}),
    TriggerState.VOTING: frozenset({TriggerState.APPROVED, TriggerState.REJECTED, TriggerState.WITHDRAWN}),
    TriggerState.APPROVED: frozenset({TriggerState.RELEASED, TriggerState.WITHDRAWN}),
    TriggerState.REJECTED: frozenset(),
    TriggerState.RELEASED: frozenset(),
    TriggerState.WITHDRAWN: frozenset(),
}


def can_move(current: TriggerState, to: TriggerState) -> bool:
    return to in TRANSITIONS[current]


@dataclass(frozen=True)
class DecisionRule:
    min_share_in_favour: float = 0.75
    max_against: int = 2
    quorum: int = 3  # board members who must have voted (abstentions count towards it)

    def __post_init__(self) -> None:
        if not 0.5 <= self.min_share_in_favour <= 1.0:
            raise ValueError("min_share_in_favour must be between 0.5 and 1.0")
        if self.max_against < 0 or self.quorum < 1:
            raise ValueError("max_against must be >= 0 and quorum >= 1")


@dataclass(frozen=True)
class Decision:
    state: TriggerState  # VOTING while undecided, else APPROVED or REJECTED
    explanation: str


def decide(votes: list[VoteChoice], board_size: int, rule: DecisionRule, *, closed: bool = False) -> Decision:
    """Apply the rule to the votes cast so far by a board of ``board_size`` members.

    The outcome is final only when no remaining vote could change it: rejected as soon as approval has become
    impossible, approved once the quorum has voted and even all remaining members voting against could not
    undo it. When the vote is ``closed`` (by the operator, after the quorum), members who did not vote are
    left out and the rule is applied to the votes cast.
    """
    n_for = votes.count(VoteChoice.FOR)
    n_against = votes.count(VoteChoice.AGAINST)
    remaining = 0 if closed else max(0, board_size - len(votes))
    tally = f"{n_for} for, {n_against} against, {votes.count(VoteChoice.ABSTAIN)} abstaining of {board_size}"

    def holds(f: int, a: int) -> bool:
        return a <= rule.max_against and f > 0 and f / (f + a) >= rule.min_share_in_favour

    if n_against > rule.max_against:
        return Decision(TriggerState.REJECTED, f"{tally}: more than {rule.max_against} against")
    if closed and n_for + n_against and not holds(n_for, n_against):
        share = n_for / (n_for + n_against)
        return Decision(
            TriggerState.REJECTED, f"{tally}: closed at {share:.0%} in favour; {rule.min_share_in_favour:.0%} is needed"
        )
    if not holds(n_for + remaining, n_against):
        return Decision(
            TriggerState.REJECTED, f"{tally}: {rule.min_share_in_favour:.0%} in favour can no longer be reached"
        )
    if len(votes) < rule.quorum:
        if closed:
            return Decision(TriggerState.REJECTED, f"{tally}: closed without a quorum of {rule.quorum}")
        return Decision(TriggerState.VOTING, f"{tally}: waiting for a quorum of {rule.quorum}")
    if holds(n_for, n_against + remaining):
        share = n_for / (n_for + n_against)
        return Decision(
            TriggerState.APPROVED, f"{tally}: {share:.0%} in favour, no more than {rule.max_against} against"
        )
    return Decision(TriggerState.VOTING, f"{tally}: the remaining votes can still change the outcome")
