"""The board's decision rule, by example (CLOCKSS' 75% and no more than two against) and by property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.domain.trigger import DecisionRule, TriggerState, VoteChoice, can_move, decide

F, A, X = VoteChoice.FOR, VoteChoice.AGAINST, VoteChoice.ABSTAIN
RULE = DecisionRule(min_share_in_favour=0.75, max_against=2, quorum=5)


@pytest.mark.parametrize(
    ("votes", "board", "closed", "state"),
    [
        ([F] * 8, 8, False, TriggerState.APPROVED),
        ([F] * 6 + [A] * 2, 8, False, TriggerState.APPROVED),  # 75% exactly, two against
        ([F] * 9 + [A] * 3, 12, False, TriggerState.REJECTED),  # 75%, but three against
        ([F] * 5 + [A] * 2, 8, False, TriggerState.VOTING),  # one more against would reject
        ([F] * 5 + [A] * 2, 8, True, TriggerState.REJECTED),  # closed at 71%
        ([F] * 4, 10, False, TriggerState.VOTING),  # below quorum
        ([F] * 4, 10, True, TriggerState.REJECTED),  # closed without a quorum
        ([F] * 4 + [X], 10, True, TriggerState.APPROVED),  # abstention counts for the quorum, not the share
        ([A] * 3, 10, False, TriggerState.REJECTED),
        ([F, A], 3, False, TriggerState.REJECTED),  # 75% is out of reach
    ],
)
def test_examples(votes: list[VoteChoice], board: int, closed: bool, state: TriggerState) -> None:
    assert decide(votes, board, RULE, closed=closed).state is state


@given(st.lists(st.sampled_from(list(VoteChoice)), max_size=15), st.integers(0, 15), st.data())
def test_a_final_outcome_never_changes_with_more_votes(
    votes: list[VoteChoice], extra_board: int, data: st.DataObject
) -> None:
    board = len(votes) + extra_board
    first = decide(votes, board, RULE)
    if first.state is TriggerState.VOTING:
        return
    more = data.draw(st.lists(st.sampled_from(list(VoteChoice)), max_size=extra_board))
    assert decide(votes + more, board, RULE).state is first.state


@given(st.lists(st.sampled_from(list(VoteChoice)), max_size=15))
def test_approval_always_satisfies_the_rule(votes: list[VoteChoice]) -> None:
    if decide(votes, len(votes), RULE).state is TriggerState.APPROVED:
        n_for, n_against = votes.count(F), votes.count(A)
        assert n_against <= 2 and n_for / (n_for + n_against) >= 0.75 and len(votes) >= RULE.quorum


def test_transitions() -> None:
    assert can_move(TriggerState.PROPOSED, TriggerState.VOTING)
    assert can_move(TriggerState.APPROVED, TriggerState.RELEASED)
    assert not can_move(TriggerState.VOTING, TriggerState.RELEASED)
    assert not can_move(TriggerState.RELEASED, TriggerState.WITHDRAWN)
    assert not can_move(TriggerState.REJECTED, TriggerState.VOTING)
