"""The access decision over the full matrix: every item state × every institution state and group, with trial,
payment and lapse, and a reason (and a next step when denied) every time."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from strongroom.domain.access import Decision, InstitutionStatus, ItemState, Reader, decide

TODAY = dt.date(2026, 6, 1)
BOTH = frozenset({"A", "B"})


def reader(
    status: InstitutionStatus | None, group: str, *, trial: int | None = None, paid: int | None = None
) -> Reader:
    return Reader(
        institution=None if status is None else "Muhimbili University",
        status=status,
        group=group,
        trial_until=TODAY + dt.timedelta(days=trial) if trial is not None else None,
        paid_through=TODAY + dt.timedelta(days=paid) if paid is not None else None,
    )


STATUSES = [None, *InstitutionStatus]
GROUPS = ["A", "B", "none"]


@pytest.mark.parametrize(("state", "status", "group"), list(itertools.product(ItemState, STATUSES, GROUPS)))
def test_the_whole_matrix_has_a_reason(state: ItemState, status: InstitutionStatus | None, group: str) -> None:
    result = decide(state, BOTH, reader(status, group, trial=10), TODAY)
    assert isinstance(result, Decision) and result.reason
    if not result.allow:
        assert result.next_step  # a denied reader is told what to do
    if state is ItemState.RELEASED:
        assert result.allow
    elif state is ItemState.DARK:
        assert not result.allow  # dark stays dark, whoever asks
    else:
        assert result.allow == (status is InstitutionStatus.VALIDATED and group in ("A", "B"))


@pytest.mark.parametrize(
    ("trial", "paid", "allow", "words"),
    [
        (0, None, True, "trial until 2026-06-01"),  # the last day of the trial still opens
        (-1, None, False, "lapsed on 2026-05-31"),
        (-1, 0, True, "paid through 2026-06-01"),
        (-200, -1, False, "lapsed on 2026-05-31"),
        (None, None, False, "neither a trial nor a paid subscription"),
    ],
)
def test_group_b_trial_and_payment(trial: int | None, paid: int | None, allow: bool, words: str) -> None:
    result = decide(ItemState.ENROLLED, BOTH, reader(InstitutionStatus.VALIDATED, "B", trial=trial, paid=paid), TODAY)
    assert result.allow is allow and words in result.reason


def test_group_a_needs_no_payment_and_enrolment_is_per_group() -> None:
    validated_a = reader(InstitutionStatus.VALIDATED, "A")
    assert decide(ItemState.ENROLLED, BOTH, validated_a, TODAY).allow
    only_b = decide(ItemState.ENROLLED, frozenset({"B"}), validated_a, TODAY)
    assert not only_b.allow and "enrolled this title for group B only" in only_b.reason
    anonymous = decide(ItemState.ENROLLED, BOTH, Reader(), TODAY)
    assert not anonymous.allow and "sign in" in anonymous.next_step
