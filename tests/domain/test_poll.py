"""The poll's tally and repair rules, by example and by property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.domain.poll import (
    BlockKey,
    Outcome,
    PeerFinding,
    PollPolicy,
    VoteBinding,
    blocks_digest,
    blocks_of,
    decide,
    repair_accepted,
    tally,
    vote_hash,
    vote_seconds,
    vote_statement,
)

KEY: BlockKey = ("article.pdf", 0)
POLICY = PollPolicy(quorum=5, vote_margin=0.75)
GOOD, BAD = b"original block", b"original blocK"


def run_poll(
    poller_block: bytes | None, voter_blocks: dict[str, bytes | None], hostile: set[str] = frozenset()
) -> tuple[dict[str, dict[BlockKey, str | None]], dict[str, dict[BlockKey, str | None]], bytes, dict[str, bytes]]:
    pn = b"poller-nonce"
    nonces = {v: f"nonce-{v}".encode() for v in voter_blocks}
    mine = {v: {KEY: vote_hash(pn, nonces[v], poller_block)} for v in voter_blocks}
    votes = {v: {KEY: ("f" * 64 if v in hostile else vote_hash(pn, nonces[v], b))} for v, b in voter_blocks.items()}
    return mine, votes, pn, nonces


def test_intact_copy_agrees() -> None:
    mine, votes, *_ = run_poll(GOOD, {str(i): GOOD for i in range(6)})
    block = tally(mine, votes, POLICY).blocks[KEY]
    assert block.outcome is Outcome.AGREE and block.voters == 6


def test_damaged_copy_is_repaired_only_with_the_majority_content() -> None:
    mine, votes, pn, nonces = run_poll(BAD, {str(i): GOOD for i in range(6)})
    block = tally(mine, votes, POLICY).blocks[KEY]
    assert block.outcome is Outcome.DISAGREE and block.poller_has and block.majority_has
    good = {v: vote_hash(pn, nonces[v], GOOD) for v in votes}
    forged = {v: vote_hash(pn, nonces[v], b"forged") for v in votes}
    assert repair_accepted(good, votes, KEY, POLICY)
    assert not repair_accepted(forged, votes, KEY, POLICY)


def test_missing_and_extra_blocks() -> None:
    mine, votes, *_ = run_poll(None, {str(i): GOOD for i in range(5)})
    block = tally(mine, votes, POLICY).blocks[KEY]
    assert block.outcome is Outcome.DISAGREE and not block.poller_has and block.majority_has
    mine, votes, *_ = run_poll(GOOD, {str(i): None for i in range(5)})
    block = tally(mine, votes, POLICY).blocks[KEY]
    assert block.outcome is Outcome.DISAGREE and block.poller_has and block.majority_has is False


def test_too_few_voters_is_inconclusive_and_changes_nothing() -> None:
    mine, votes, *_ = run_poll(BAD, {str(i): GOOD for i in range(4)})
    assert tally(mine, votes, POLICY).outcome is Outcome.INCONCLUSIVE


def test_blocks() -> None:
    assert list(blocks_of(0, 10)) == [0]
    assert list(blocks_of(10, 10)) == [0]
    assert list(blocks_of(11, 10)) == [0, 1]


def test_policy_is_checked() -> None:
    with pytest.raises(ValueError, match="vote_margin"):
        PollPolicy(vote_margin=0.5)


@given(st.integers(0, 30), st.integers(0, 30), st.integers(1, 10), st.floats(0.51, 1.0))
def test_outcomes_are_exclusive_and_need_a_quorum(agree: int, disagree: int, quorum: int, margin: float) -> None:
    outcome = decide(agree, disagree, PollPolicy(quorum=quorum, vote_margin=margin))
    if agree + disagree < quorum:
        assert outcome is Outcome.INCONCLUSIVE
    if outcome is Outcome.AGREE:
        assert agree >= margin * (agree + disagree)
    if outcome is Outcome.DISAGREE:
        assert disagree >= margin * (agree + disagree) and disagree > agree


@given(st.integers(5, 20), st.data())
def test_a_hostile_minority_cannot_force_a_repair_of_an_intact_copy(voters: int, data: st.DataObject) -> None:
    """With fewer than a margin of hostile voters, an intact poller is never told to repair."""
    hostile_count = data.draw(st.integers(0, voters))
    names = [str(i) for i in range(voters)]
    hostile = set(names[:hostile_count])
    mine, votes, *_ = run_poll(GOOD, dict.fromkeys(names, GOOD), hostile)
    outcome = tally(mine, votes, POLICY).blocks[KEY].outcome
    if hostile_count < POLICY.vote_margin * voters:
        assert outcome is not Outcome.DISAGREE


@given(st.integers(5, 20), st.integers(0, 20), st.binary(min_size=1, max_size=32))
def test_no_forged_repair_is_ever_accepted_while_honest_voters_hold_a_landslide(
    voters: int, hostile_count: int, forged: bytes
) -> None:
    hostile_count = min(hostile_count, voters)
    names = [str(i) for i in range(voters)]
    hostile = set(names[:hostile_count])
    _mine, votes, pn, nonces = run_poll(BAD, dict.fromkeys(names, GOOD), hostile)
    if forged == GOOD:
        return
    repaired = {v: vote_hash(pn, nonces[v], forged) for v in votes}
    honest = voters - hostile_count
    if honest > (1 - POLICY.vote_margin) * voters:
        assert not repair_accepted(repaired, votes, KEY, POLICY)


binding_fields = st.tuples(st.text(max_size=8), st.text(max_size=8), st.text(max_size=8), st.integers(1, 9))


@given(binding_fields, binding_fields)
def test_a_vote_hash_is_bound_to_its_poll_poller_and_voter(
    a: tuple[str, str, str, int], b: tuple[str, str, str, int]
) -> None:
    """The same block and nonces hash alike only for the same poll, poller, voter and version: a holder's vote made
    for one poller and voter matches nothing another node would have to produce."""
    pn, vn = b"poller-nonce", b"voter-nonce"
    first = VoteBinding(a[0], a[1], a[2], "au", a[3])
    second = VoteBinding(b[0], b[1], b[2], "au", b[3])
    same = vote_hash(pn, vn, GOOD, first) == vote_hash(pn, vn, GOOD, second)
    assert same == (a == b)
    assert (vote_statement(first, pn, vn, "d") == vote_statement(second, pn, vn, "d")) == (a == b)


def test_a_statement_covers_the_hashes() -> None:
    assert blocks_digest({"a": ["1", None]}) != blocks_digest({"a": ["1", "2"]})
    assert blocks_digest({"a": ["1"], "b": []}) != blocks_digest({"ab": ["1"]})


def test_only_a_damaged_copy_is_not_a_suspect() -> None:
    assert [f for f in PeerFinding if not f.suspect] == [PeerFinding.DAMAGED]


def test_a_vote_is_waited_for_in_proportion_to_the_au_within_the_poll_limit() -> None:
    assert vote_seconds(0, 3600) == 60
    assert vote_seconds(50_000_000_000, 100_000) == 60 + 4000
    assert vote_seconds(10**15, 3600) == 3600
