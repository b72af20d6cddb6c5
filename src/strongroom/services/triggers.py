"""The trigger workflow: the board proposes releasing dark content, votes with signed ballots, and on approval
the content of the scope is released under an open licence. Every step is an event naming who and when.

A ballot is the canonical JSON ``{"choice", "member", "signed_at", "trigger"}`` signed with the member's Ed25519
key (``ballot_bytes``); the node keeps the signature, so every vote can be checked again later.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from strongroom.catalog.models import ArchivalUnit, BoardMember, Publisher, Title, Trigger, TriggerVote
from strongroom.catalog.repo import Catalog
from strongroom.domain.licences import DEFAULT_LICENCE, accepted_licences, open_licence
from strongroom.domain.model import EventOutcome, EventType
from strongroom.domain.trigger import (
    Decision,
    DecisionRule,
    ScopeKind,
    TriggerReason,
    TriggerState,
    VoteChoice,
    can_move,
    decide,
)
from strongroom.errors import NotFound, TriggerError
from strongroom.formats.canonical import canonical_json
from strongroom.keys import new_private_key, public_key_from_text, public_key_text
from strongroom.services import title_summaries


def release_licence(licence: str | None) -> str:
    """The canonical URL of a release licence (CC BY 4.0 when none is named); anything but an open licence the
    board may choose is refused."""
    if licence is None or not licence.strip():
        return DEFAULT_LICENCE
    canonical = open_licence(licence)
    if canonical is None:
        raise TriggerError(
            f"{licence!r} is not an open licence the board may release under",
            hint=f"name a Creative Commons licence: {accepted_licences()}",
        )
    return canonical


def keygen(out_path: Path, *, replace: bool = False) -> str:
    """A board member's key pair: the private key written to ``out_path`` (it stays with the member); the public
    key to register with ``board add``. A key already there is kept (the refusal names its public key) unless
    ``replace``; a replacing key is written beside it and renamed over it, so the file is never half written."""
    if not out_path.exists():
        return public_key_text(new_private_key(out_path))
    public = member_public_key(out_path)  # refuses a file that is not a key: it is not ours to overwrite
    if not replace:
        raise TriggerError(
            f"{out_path} already holds a board member's key (public key {public}); nothing was changed",
            hint=f"print its public key with: strongroom board keygen --out {out_path} --show; or make a new key "
            "in its place with --replace (before it is registered: ballots are checked against the registered key)",
        )
    fresh = out_path.with_name(f".{out_path.name}.new")
    fresh.unlink(missing_ok=True)  # left by a replacement that was interrupted
    key = new_private_key(fresh)
    fresh.replace(out_path)
    return public_key_text(key)


def member_public_key(path: Path) -> str:
    """The public key of the board member's private key in ``path``, to register or to check."""
    if not path.exists():
        raise NotFound(f"no key at {path}", hint=f"make one with: strongroom board keygen --out {path}")
    return public_key_text(load_member_key(path).public_key())


def load_member_key(path: Path) -> Ed25519PrivateKey:
    """A board member's private key, to sign a ballot with."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise TriggerError(f"{path} cannot be read as a private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise TriggerError(f"{path} is not an Ed25519 private key")
    return key


def ballot_bytes(trigger_key: str, member: str, choice: VoteChoice, signed_at: str) -> bytes:
    return canonical_json({"choice": str(choice), "member": member, "signed_at": signed_at, "trigger": trigger_key})


def sign_ballot(key: Ed25519PrivateKey, trigger_key: str, member: str, choice: VoteChoice, signed_at: str) -> str:
    return base64.b64encode(key.sign(ballot_bytes(trigger_key, member, choice, signed_at))).decode()


@dataclass
class Workflow:
    catalog: Catalog
    agent: str
    rule: DecisionRule
    # Writes the release record into an AU's preserved object (the node supplies it; see services/release.py).
    record_release: Callable[[str, dict[str, Any]], object] | None = None

    def _event(
        self,
        s: Session,
        type: EventType,
        outcome: EventOutcome,
        key: str,
        detail: str,
        who: str,
        data: dict[str, object] | None = None,
    ) -> None:
        self.catalog.record_event(
            s, type, outcome, agent=who, object_type="trigger", object_key=key, detail=detail, data=dict(data or {})
        )

    def _get(self, s: Session, key: str) -> Trigger:
        trigger = s.scalar(select(Trigger).where(Trigger.key == key).options(selectinload(Trigger.votes)))
        if trigger is None:
            raise NotFound(f"no trigger {key!r}", hint="list them with: strongroom trigger list")
        return trigger

    def _move(self, s: Session, trigger: Trigger, to: TriggerState, who: str, detail: str) -> None:
        current = TriggerState(trigger.state)
        if not can_move(current, to):
            raise TriggerError(f"trigger {trigger.key} is {current}; it cannot become {to}")
        trigger.state = str(to)
        self._event(
            s,
            EventType.TRIGGER,
            EventOutcome.SUCCESS,
            trigger.key,
            f"{current} -> {to}: {detail}",
            who,
            {"state": str(to)},
        )

    def add_member(self, name: str, public_key: str) -> BoardMember:
        public_key_from_text(public_key)
        with self.catalog.session() as s:
            if s.scalar(select(BoardMember).where(BoardMember.name == name)):
                raise TriggerError(f"board member {name!r} is already registered")
            member = BoardMember(name=name, public_key=public_key, active=True, added_at=self.catalog.clock.now())
            s.add(member)
            self._event(
                s,
                EventType.TRIGGER,
                EventOutcome.SUCCESS,
                "board",
                f"board member {name} registered",
                self.agent,
                {"member": name, "public_key": public_key},
            )
            return member

    def _scope(self, s: Session, kind: ScopeKind, refs: list[str]) -> list[str]:
        if kind is ScopeKind.AUS:
            found = set(s.scalars(select(ArchivalUnit.key).where(ArchivalUnit.key.in_(refs))))
            missing = sorted(set(refs) - found)
            if missing:
                raise NotFound(f"no archival unit {', '.join(missing)}", hint="list them with: strongroom aus")
            return sorted(found)
        if kind is ScopeKind.TITLE:
            stmt = select(ArchivalUnit.key).join(Title).where(Title.key == refs[0])
        else:
            stmt = select(ArchivalUnit.key).join(Title).join(Publisher).where(Publisher.key == refs[0])
        keys = sorted(s.scalars(stmt))
        if not keys:
            raise NotFound(
                f"no archival units for {kind} {refs[0]!r}",
                hint="see strongroom titles / strongroom publishers for the keys",
            )
        return keys

    def propose(
        self,
        kind: ScopeKind,
        refs: list[str],
        reason: TriggerReason,
        evidence: list[str],
        proposed_by: str,
        explanation: str = "",
    ) -> Trigger:
        if reason is TriggerReason.OTHER and not explanation.strip():
            raise TriggerError("a trigger for reason 'other' needs an explanation", hint="pass --explanation")
        if not evidence:
            raise TriggerError("a trigger needs evidence", hint="pass --evidence (a URL, a note or a file name)")
        with self.catalog.session() as s:
            au_keys = self._scope(s, kind, refs)
            count = s.scalar(select(func.count(Trigger.id))) or 0
            trigger = Trigger(
                key=f"T-{count + 1:04d}",
                scope_kind=str(kind),
                scope_ref=",".join(refs),
                au_keys=au_keys,
                reason=str(reason),
                explanation=explanation,
                evidence=evidence,
                state=str(TriggerState.PROPOSED),
                decision="",
                proposed_by=proposed_by,
                created_at=self.catalog.clock.now(),
            )
            s.add(trigger)
            self._event(
                s,
                EventType.TRIGGER,
                EventOutcome.SUCCESS,
                trigger.key,
                f"proposed by {proposed_by}: {reason}, {len(au_keys)} AU(s)",
                proposed_by,
                {"state": "proposed", "aus": au_keys, "evidence": evidence},
            )
            key = trigger.key
        return self.show(key)

    def vote(
        self,
        key: str,
        member_name: str,
        choice: VoteChoice,
        signed_at: str,
        signature: str,
        statement: str = "",
        *,
        actor: str | None = None,
    ) -> Trigger:
        """Record ``member_name``'s signed ballot; the event names ``actor`` (who sent it: the console's person)
        when given, else the member."""
        with self.catalog.session() as s:
            trigger = self._get(s, key)
            member = s.scalar(select(BoardMember).where(BoardMember.name == member_name, BoardMember.active))
            if member is None:
                raise TriggerError(f"{member_name!r} is not an active board member")
            try:
                public_key_from_text(member.public_key).verify(
                    base64.b64decode(signature, validate=True), ballot_bytes(key, member_name, choice, signed_at)
                )
            except (InvalidSignature, ValueError):
                raise TriggerError(f"the ballot of {member_name} on {key} is not signed with their key") from None
            if trigger.state not in (TriggerState.PROPOSED, TriggerState.VOTING):
                raise TriggerError(f"trigger {key} is {trigger.state}; votes are closed")
            if any(v.member_id == member.id for v in trigger.votes):
                raise TriggerError(f"{member_name} has already voted on {key}")
            if trigger.state == TriggerState.PROPOSED:
                self._move(s, trigger, TriggerState.VOTING, member_name, "first ballot")
            trigger.votes.append(
                TriggerVote(
                    member_id=member.id,
                    choice=str(choice),
                    statement=statement,
                    signed_at=signed_at,
                    signature=signature,
                    recorded_at=self.catalog.clock.now(),
                )
            )
            self._event(
                s,
                EventType.TRIGGER,
                EventOutcome.SUCCESS,
                key,
                f"{member_name} voted {choice} (signed)",
                actor or member_name,
                {"vote": str(choice), "signature": signature, "signed_at": signed_at, "member": member_name},
            )
            self._settle(s, trigger, closed=False)
        return self.show(key)

    def _settle(self, s: Session, trigger: Trigger, *, closed: bool) -> None:
        board = s.scalar(select(func.count(BoardMember.id)).where(BoardMember.active)) or 0
        decision = decide([VoteChoice(v.choice) for v in trigger.votes], board, self.rule, closed=closed)
        trigger.decision = decision.explanation
        if decision.state is not TriggerState.VOTING:
            trigger.decided_at = self.catalog.clock.now()
            self._move(s, trigger, decision.state, self.agent, decision.explanation)

    def close(self, key: str, who: str | None = None) -> Trigger:
        """End the vote: members who have not voted are left out and the rule decides on the votes cast. ``who``
        ended it (an event names them; by default the node)."""
        with self.catalog.session() as s:
            trigger = self._get(s, key)
            if trigger.state != TriggerState.VOTING:
                raise TriggerError(f"trigger {key} is {trigger.state}, not voting")
            self._event(s, EventType.TRIGGER, EventOutcome.SUCCESS, key, "vote ended", who or self.agent)
            self._settle(s, trigger, closed=True)
        return self.show(key)

    def withdraw(self, key: str, who: str, why: str) -> Trigger:
        with self.catalog.session() as s:
            trigger = self._get(s, key)
            self._move(s, trigger, TriggerState.WITHDRAWN, who, why)
        return self.show(key)

    def release(self, key: str, who: str, licence: str | None = None) -> Trigger:
        """Release an approved trigger's AUs under ``licence`` (default CC BY 4.0; a Creative Commons licence by
        its URL or short name, see :mod:`strongroom.domain.licences`, recorded as its canonical URL).

        The release record (with the signed ballots) is written into each AU's object first, then the catalog
        moves the trigger to released; a crash in between leaves the trigger approved, and releasing it again
        finishes the work (an AU that already carries the same record is not versioned twice)."""
        licence = release_licence(licence)  # refused before anything is written
        with self.catalog.session() as s:
            trigger = self._get(s, key)
            if not can_move(TriggerState(trigger.state), TriggerState.RELEASED):
                raise TriggerError(f"trigger {key} is {trigger.state}; only an approved trigger can be released")
            now = trigger.released_at or self.catalog.clock.now()
            trigger.released_at = now  # remembered, so a release finished after a crash keeps its time
            record = {
                "trigger": key,
                "reason": trigger.reason,
                "explanation": trigger.explanation,
                "evidence": list(trigger.evidence or []),
                "scope": f"{trigger.scope_kind} {trigger.scope_ref}",
                "proposed_by": trigger.proposed_by,
                "decision": trigger.decision,
                "licence": licence,
                "released_at": now_text(now),
                "released_by": who,
                "ballots": [
                    {
                        "member": v.member.name,
                        "public_key": v.member.public_key,
                        "choice": v.choice,
                        "signed_at": v.signed_at,
                        "signature": v.signature,
                        "statement": v.statement,
                    }
                    for v in s.scalars(select(TriggerVote).where(TriggerVote.trigger_id == trigger.id))
                ],
            }
            au_keys = list(trigger.au_keys)
        if self.record_release is not None:
            for au_key in au_keys:
                self.record_release(au_key, record)
        with self.catalog.session() as s:
            trigger = self._get(s, key)
            self._move(s, trigger, TriggerState.RELEASED, who, f"released under {licence}")
            trigger.licence = licence
            titles: set[int] = set()
            for au in s.scalars(select(ArchivalUnit).where(ArchivalUnit.key.in_(au_keys))):
                au.released_at, au.release_licence, au.release_trigger = trigger.released_at, licence, key
                titles.add(au.title_id)
                self.catalog.record_event(
                    s,
                    EventType.RELEASE,
                    EventOutcome.SUCCESS,
                    agent=who,
                    object_type="au",
                    object_key=au.key,
                    detail=f"released by {key} under {licence}",
                    data={"trigger": key, "licence": licence},
                )
            title_summaries.refresh(s, titles)  # what the sitemap and KBART read of the titles released
        return self.show(key)

    def list(self) -> list[Trigger]:
        with self.catalog.session() as s:
            return list(
                s.scalars(
                    select(Trigger)
                    .options(selectinload(Trigger.votes).selectinload(TriggerVote.member))
                    .order_by(Trigger.id)
                )
            )

    def show(self, key: str) -> Trigger:
        with self.catalog.session() as s:
            trigger = s.scalar(
                select(Trigger)
                .where(Trigger.key == key)
                .options(selectinload(Trigger.votes).selectinload(TriggerVote.member))
            )
            if trigger is None:
                raise NotFound(f"no trigger {key!r}", hint="list them with: strongroom trigger list")
            return trigger


@dataclass(frozen=True)
class Ballot:
    member: str
    public_key: str
    choice: str
    signed_at: str
    signature: str
    statement: str


@dataclass(frozen=True)
class TriggerSummary:
    """What a page shows of a trigger: its scope, the titles concerned, the ballots, and the tally of the decision
    rule as the workflow computes it (:func:`strongroom.domain.trigger.decide`, the votes cast so far)."""

    key: str
    state: TriggerState
    scope_kind: str
    scope_ref: str
    au_keys: list[str]
    titles: list[tuple[str, str]]  # (key, name) of the titles the AUs belong to
    reason: TriggerReason
    explanation: str
    evidence: list[str]
    proposed_by: str
    created_at: dt.datetime
    decided_at: dt.datetime | None
    released_at: dt.datetime | None
    licence: str | None
    decision: str  # the recorded explanation of the decision
    ballots: list[Ballot]
    board_size: int
    rule: DecisionRule
    tally: Decision  # the rule applied now to the ballots cast

    def count(self, choice: VoteChoice) -> int:
        return sum(1 for b in self.ballots if b.choice == choice)

    def voted(self, member: str) -> Ballot | None:
        return next((b for b in self.ballots if b.member == member), None)


def summarise(workflow: Workflow, key: str) -> TriggerSummary:
    """One trigger as pages show it (refuses an unknown key with :class:`NotFound`)."""
    with workflow.catalog.session() as s:
        trigger = workflow._get(s, key)
        board = s.scalar(select(func.count(BoardMember.id)).where(BoardMember.active)) or 0
        titles = list(
            s.execute(
                select(Title.key, Title.name)
                .where(
                    Title.id.in_(select(ArchivalUnit.title_id).where(ArchivalUnit.key.in_(list(trigger.au_keys or []))))
                )
                .order_by(Title.sort_key, Title.id)  # as listings order names (domain.names)
            ).tuples()
        )
        ballots = [
            Ballot(v.member.name, v.member.public_key, v.choice, v.signed_at, v.signature, v.statement)
            for v in s.scalars(
                select(TriggerVote)
                .where(TriggerVote.trigger_id == trigger.id)
                .options(selectinload(TriggerVote.member))
                .order_by(TriggerVote.id)
            )
        ]
        return TriggerSummary(
            key=trigger.key,
            state=TriggerState(trigger.state),
            scope_kind=trigger.scope_kind,
            scope_ref=trigger.scope_ref,
            au_keys=list(trigger.au_keys or []),
            titles=[(k, n) for k, n in titles],
            reason=TriggerReason(trigger.reason),
            explanation=trigger.explanation,
            evidence=list(trigger.evidence or []),
            proposed_by=trigger.proposed_by,
            created_at=trigger.created_at,
            decided_at=trigger.decided_at,
            released_at=trigger.released_at,
            licence=trigger.licence,
            decision=trigger.decision,
            ballots=ballots,
            board_size=board,
            rule=workflow.rule,
            tally=decide([VoteChoice(b.choice) for b in ballots], board, workflow.rule),
        )


def now_text(clock_now: dt.datetime) -> str:
    return clock_now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def summaries(workflow: Workflow) -> list[TriggerSummary]:
    """Every trigger as pages show it, oldest first."""
    return [summarise(workflow, t.key) for t in workflow.list()]
