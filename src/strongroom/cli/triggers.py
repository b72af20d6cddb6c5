"""``strongroom board`` and ``strongroom trigger``: the board's decision to release dark content."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from strongroom.cli.common import home_option, json_option, open_node, out, plural, print_json
from strongroom.domain.licences import accepted_licences, open_licence
from strongroom.domain.trigger import ScopeKind, TriggerReason, VoteChoice
from strongroom.services.triggers import keygen as board_keygen_service
from strongroom.services.triggers import load_member_key, member_public_key, now_text, sign_ballot


@click.group(name="board")
def board_group() -> None:
    """The board members who vote on triggers, each with their own signing key."""


@board_group.command(name="keygen")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the member's private key (mode 0600; it stays with the member).",
)
@click.option("--show", is_flag=True, help="Print the public key of the key already in --out; write nothing.")
@click.option("--replace", is_flag=True, help="Replace the key already in --out with a new one.")
def board_keygen(out_path: Path, show: bool, replace: bool) -> None:
    """A board member's key pair; prints the public key to register with `board add`.

    A key already in --out is never overwritten without --replace (exit 3, naming its public key); --show prints
    its public key again."""
    if show and replace:
        raise click.UsageError("--show prints the existing key and --replace makes a new one: give one of them")
    out().print(member_public_key(out_path) if show else board_keygen_service(out_path, replace=replace))


@board_group.command(name="add")
@click.argument("name")
@click.option("--public-key", required=True, help="The member's public key (ed25519:...).")
@home_option
def board_add(name: str, public_key: str, home: Path | None) -> None:
    """Register a board member and the key their ballots must be signed with."""
    with open_node(home) as node:
        node.triggers.add_member(name, public_key)
    out().print(f"Registered board member {name}.")


@click.group(name="trigger")
def trigger_group() -> None:
    """Propose, vote on and release triggers: the board's decision to open dark content to everyone."""


@trigger_group.command(name="propose")
@click.option("--title", "title_key", default=None, help="Every AU of this title (its key, see `titles`).")
@click.option("--au", "au_keys", multiple=True, help="These AUs (repeat for a range).")
@click.option("--publisher", "publisher_key", default=None, help="Every AU of this publisher's titles.")
@click.option("--reason", type=click.Choice([r.value for r in TriggerReason]), required=True)
@click.option("--evidence", multiple=True, help="A URL, note or file name (repeat for more).")
@click.option(
    "--from-monitor", is_flag=True, help="Attach the monitor's evidence for --title (it must be a trigger candidate)."
)
@click.option("--explanation", default="", help="Required with --reason other.")
@click.option("--by", "proposed_by", default="operator", show_default=True, help="Who proposes it.")
@home_option
@json_option
def trigger_propose(
    title_key: str | None,
    au_keys: tuple[str, ...],
    publisher_key: str | None,
    reason: str,
    evidence: tuple[str, ...],
    from_monitor: bool,
    explanation: str,
    proposed_by: str,
    home: Path | None,
    as_json: bool,
) -> None:
    """Propose releasing a title, some AUs or a publisher's whole list, with the reason and evidence."""
    scopes = [
        (ScopeKind.TITLE, [title_key] if title_key else []),
        (ScopeKind.AUS, list(au_keys)),
        (ScopeKind.PUBLISHER, [publisher_key] if publisher_key else []),
    ]
    chosen = [(k, refs) for k, refs in scopes if refs]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one scope: --title, --au (repeatable) or --publisher")
    kind, refs = chosen[0]
    if from_monitor and kind is not ScopeKind.TITLE:
        raise click.UsageError("--from-monitor goes with --title: the monitor watches titles")
    with open_node(home) as node:
        found = list(evidence) + (node.monitor().evidence_for(refs[0]) if from_monitor else [])
        trigger = node.triggers.propose(kind, refs, TriggerReason(reason), found, proposed_by, explanation)
    if as_json:
        print_json(_trigger_dict(trigger))
        return
    out().print(
        f"Proposed {trigger.key}: {reason}, {plural(len(trigger.au_keys), 'AU')}. The board votes with: "
        f"strongroom trigger vote {trigger.key} --member NAME --key MEMBER.key --for|--against|--abstain"
    )


@trigger_group.command(name="vote")
@click.argument("key")
@click.option("--member", required=True, help="The board member voting.")
@click.option(
    "--key",
    "key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The member's private key; the ballot is signed with it.",
)
@click.option("--for", "choice", flag_value="for", help="Vote in favour.")
@click.option("--against", "choice", flag_value="against", help="Vote against.")
@click.option("--abstain", "choice", flag_value="abstain", help="Abstain (counts towards the quorum only).")
@click.option("--statement", default="", help="A note kept with the vote.")
@home_option
@json_option
def trigger_vote(
    key: str, member: str, key_file: Path, choice: str | None, statement: str, home: Path | None, as_json: bool
) -> None:
    """Cast a signed ballot on trigger KEY."""
    if choice is None:
        raise click.UsageError("say how you vote: --for, --against or --abstain")
    private = load_member_key(key_file)
    with open_node(home) as node:
        signed_at = now_text(node.clock.now())
        signature = sign_ballot(private, key, member, VoteChoice(choice), signed_at)
        trigger = node.triggers.vote(key, member, VoteChoice(choice), signed_at, signature, statement)
    if as_json:
        print_json(_trigger_dict(trigger))
        return
    out().print(f"{member} voted {choice} on {key}; the trigger is {trigger.state}: {trigger.decision}")


@trigger_group.command(name="sign")
@click.argument("key")
@click.option("--member", required=True, help="The board member signing (their registered name).")
@click.option(
    "--key",
    "key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The member's private key; it is read here and never sent anywhere.",
)
@click.option("--choice", type=click.Choice([c.value for c in VoteChoice]), required=True, help="How you vote.")
@json_option
def trigger_sign(key: str, member: str, key_file: Path, choice: str, as_json: bool) -> None:
    """Sign a ballot on trigger KEY without a node, on the member's own machine: prints ``signed_at`` and the
    signature to paste into the console's ballot form (/console/board/KEY)."""
    private = load_member_key(key_file)
    signed_at = now_text(dt.datetime.now(dt.UTC))
    signature = sign_ballot(private, key, member, VoteChoice(choice), signed_at)
    if as_json:
        print_json({"trigger": key, "member": member, "choice": choice, "signed_at": signed_at, "signature": signature})
        return
    click.echo(f"signed_at: {signed_at}")
    click.echo(f"signature: {signature}")


@trigger_group.command(name="close")
@click.argument("key")
@home_option
def trigger_close(key: str, home: Path | None) -> None:
    """End the vote on KEY: members who have not voted are left out."""
    with open_node(home) as node:
        trigger = node.triggers.close(key)
    out().print(f"{key} is {trigger.state}: {trigger.decision}")


def _licence(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A release licence named by URL or short name, as its canonical URL; anything else is a usage error."""
    if value is None:
        return None
    canonical = open_licence(value)
    if canonical is None:
        raise click.BadParameter(
            f"{value!r} is not an open licence the board may release under; give one of {accepted_licences()}"
        )
    return canonical


@trigger_group.command(name="release")
@click.argument("key")
@click.option(
    "--licence",
    default=None,
    callback=_licence,
    help="A Creative Commons licence by URL or short name (CC-BY-4.0, CC-BY-SA-4.0, CC0-1.0, ...); default CC BY 4.0.",
)
@click.option("--by", "who", default="operator", show_default=True)
@home_option
def trigger_release(key: str, licence: str | None, who: str, home: Path | None) -> None:
    """Release an approved trigger's content to everyone under an open licence."""
    with open_node(home) as node:
        trigger = node.triggers.release(key, who, licence)
    out().print(f"Released {plural(len(trigger.au_keys), 'AU')} under {trigger.licence}.")


@trigger_group.command(name="withdraw")
@click.argument("key")
@click.option("--why", required=True, help="Why the trigger is withdrawn.")
@click.option("--by", "who", default="operator", show_default=True)
@home_option
def trigger_withdraw(key: str, why: str, who: str, home: Path | None) -> None:
    """Withdraw a trigger that has not been released."""
    with open_node(home) as node:
        node.triggers.withdraw(key, who, why)
    out().print(f"Withdrew {key}.")


def _trigger_dict(t: Any) -> dict[str, Any]:
    return {
        "key": t.key,
        "state": t.state,
        "scope": {"kind": t.scope_kind, "ref": t.scope_ref},
        "aus": t.au_keys,
        "reason": t.reason,
        "explanation": t.explanation,
        "evidence": t.evidence,
        "decision": t.decision,
        "proposed_by": t.proposed_by,
        "created_at": t.created_at,
        "decided_at": t.decided_at,
        "released_at": t.released_at,
        "licence": t.licence,
        "votes": [
            {
                "member": v.member.name if "member" in v.__dict__ else v.member_id,
                "choice": v.choice,
                "signed_at": v.signed_at,
                "signature": v.signature,
            }
            for v in t.votes
        ],
    }


@trigger_group.command(name="list")
@home_option
@json_option
def trigger_list(home: Path | None, as_json: bool) -> None:
    """Every trigger with its scope, reason, state and votes."""
    with open_node(home) as node:
        rows = node.triggers.list()
    if as_json:
        print_json([_trigger_dict(t) for t in rows])
        return
    table = Table("Trigger", "Reason", "Scope", "AUs", "State", "Votes", "Decision", title=plural(len(rows), "trigger"))
    for t in rows:
        votes = ", ".join(f"{v.member.name}:{v.choice}" for v in t.votes)
        table.add_row(
            t.key,
            t.reason,
            f"{t.scope_kind} {t.scope_ref}",
            str(len(t.au_keys)),
            t.state,
            votes or "—",
            t.decision or "—",
        )
    out().print(table)
