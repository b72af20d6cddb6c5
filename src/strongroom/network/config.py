"""The network configuration: member nodes and policy, signed by the network's administrative key.

A node trusts exactly one administrative public key (pinned when it joins) and accepts a configuration only
when that key's Ed25519 signature over the configuration's canonical JSON verifies and its serial number is not
older than the one it holds (an old configuration replayed cannot re-admit a retired node).
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.domain.identifiers import normalise_country
from strongroom.domain.poll import PollPolicy
from strongroom.domain.text import N_
from strongroom.errors import ConfigError, InvalidIdentifier
from strongroom.formats.canonical import canonical_json
from strongroom.keys import public_key_from_text


@dataclass(frozen=True)
class Member:
    id: str
    url: str
    public_key: str
    institution: str
    country: str
    certificate: str = ""  # the node's self-signed TLS certificate (base64 DER), needed for an https url

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v or k != "certificate"}


@dataclass(frozen=True)
class NetworkPolicy:
    target_copies: int = 5
    min_countries: int = 3
    quorum: int = 3  # a poller's voters are the other holders: at most target_copies - 1 (see policy_problems)
    vote_margin: float = 0.75
    invitations: int = 10
    poll_interval_days: float = 70.0
    block_size: int = 16 * 1024 * 1024
    max_requests_per_minute: int = 600
    min_seconds_between_polls: float = 3600.0  # a voter votes on one AU for one poller at most this often
    trigger_share_in_favour: float = 0.75  # the board's decision rule for triggers (CLOCKSS' by default)
    trigger_max_against: int = 2
    trigger_quorum: int = 3
    max_concurrent_polls: int = 5  # polls a node runs at once (LOCKSS 2.x)
    max_concurrent_votes: int = 60  # votes a node computes at once for its peers (LOCKSS)
    max_poll_seconds: float = 3 * 3600.0  # votes not in by then are not counted, repairs not begun wait

    def poll_policy(self) -> PollPolicy:
        return PollPolicy(self.quorum, self.vote_margin, self.invitations, self.block_size)


@dataclass(frozen=True)
class NetworkConfig:
    name: str
    serial: int
    members: tuple[Member, ...]
    policy: NetworkPolicy = field(default_factory=NetworkPolicy)

    def member(self, node_id: str) -> Member | None:
        return next((m for m in self.members if m.id == node_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "serial": self.serial,
            "members": [m.to_dict() for m in self.members],
            "policy": asdict(self.policy),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkConfig:
        try:
            members = []
            for raw in data["members"]:
                member = Member(**raw)
                public_key_from_text(member.public_key)
                try:
                    country = normalise_country(member.country)
                except InvalidIdentifier as exc:
                    raise ConfigError(N_("member %(id)s: %(problem)s", id=member.id, problem=exc.message)) from None
                if member.certificate:
                    from strongroom.network.tls import check_certificate  # X.509 only for members with one

                    try:
                        check_certificate(member.certificate, member.public_key)
                    except ConfigError as exc:
                        raise ConfigError(
                            N_("member %(id)s: %(problem)s", id=member.id, problem=exc.message), hint=exc.hint
                        ) from None
                members.append(
                    Member(
                        member.id,
                        member.url.rstrip("/"),
                        member.public_key,
                        member.institution,
                        country,
                        member.certificate,
                    )
                )
            ids = [m.id for m in members]
            if len(set(ids)) != len(ids):
                raise ConfigError(N_("the network configuration lists a node id twice"))
            policy = NetworkPolicy(**data.get("policy", {}))
            policy.poll_policy()  # checks quorum and margin
            return cls(str(data["name"]), int(data["serial"]), tuple(members), policy)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(N_("malformed network configuration: %(error)s", error=exc)) from None


def policy_problems(policy: NetworkPolicy) -> list[tuple[str, str]]:
    """What in a policy can never work, as (problem, fix) pairs: a quorum the other holders of an AU can never
    reach, or a poll schedule the voters' own rate limit would refuse."""
    problems: list[tuple[str, str]] = []
    voters = min(policy.target_copies - 1, policy.invitations)
    if policy.quorum > voters:
        # whole messages for each case (a translation cannot be pieced together)
        numbers = {"quorum": policy.quorum, "voters": voters, "copies": policy.target_copies}
        if policy.invitations < policy.target_copies - 1:
            problem = N_(
                "quorum %(quorum)s can never be reached: a poller's voters are the other holders of the AU, "
                "at most %(voters)s (target_copies %(copies)s - 1, invitations %(invitations)s), so every poll "
                "would end inconclusive",
                invitations=policy.invitations,
                **numbers,
            )
        else:
            problem = N_(
                "quorum %(quorum)s can never be reached: a poller's voters are the other holders of the AU, "
                "at most %(voters)s (target_copies %(copies)s - 1), so every poll would end inconclusive",
                **numbers,
            )
        if policy.invitations < policy.quorum:
            fix = N_(
                "set quorum to at most %(voters)s, or raise target_copies to at least %(copies)s and invitations "
                "to at least %(quorum)s",
                voters=voters,
                copies=policy.quorum + 1,
                quorum=policy.quorum,
            )
        else:
            fix = N_(
                "set quorum to at most %(voters)s, or raise target_copies to at least %(copies)s",
                voters=voters,
                copies=policy.quorum + 1,
            )
        problems.append((problem, fix))
    interval = policy.poll_interval_days * 86400
    if interval < policy.min_seconds_between_polls:
        days, least = format(policy.poll_interval_days, "g"), format(policy.min_seconds_between_polls, "g")
        problems.append(
            (
                N_(
                    "poll_interval_days %(days)s (%(seconds)s s) is shorter than min_seconds_between_polls "
                    "%(least)s: voters would refuse polls (429)",
                    days=days,
                    seconds=format(interval, ".0f"),
                    least=least,
                ),
                N_(
                    "set poll_interval_days to at least %(days)s, or lower min_seconds_between_polls",
                    days=format(policy.min_seconds_between_polls / 86400, "g"),
                ),
            )
        )
    if policy.max_concurrent_polls < 1 or policy.max_concurrent_votes < 1 or policy.max_poll_seconds <= 0:
        problems.append(
            (
                N_("max_concurrent_polls, max_concurrent_votes and max_poll_seconds must be positive"),
                N_("set them to at least 1 (LOCKSS: 5 polls, 60 votes)"),
            )
        )
    return problems


def schedule_problems(policy: NetworkPolicy, poll_every: float | None) -> list[str]:
    """Why a node's poll schedule (``serve --poll-every``) conflicts with the network's policy, if it does."""
    if poll_every is not None and poll_every < policy.min_seconds_between_polls:
        return [
            f"--poll-every {poll_every:g} s is shorter than the network's min_seconds_between_polls "
            f"{policy.min_seconds_between_polls:g} s: voters will refuse most polls (429) and each such poll "
            f"will alarm; use --poll-every {policy.min_seconds_between_polls:g} or more"
        ]
    interval = policy.poll_interval_days * 86400
    if poll_every is not None and poll_every > interval:
        return [
            f"--poll-every {poll_every:g} s is longer than the network's poll interval ({interval:g} s, "
            f"poll_interval_days {policy.poll_interval_days:g}): this node's AUs will not be audited in time and "
            f"each will alarm; use --poll-every {interval:g} or less"
        ]
    return []


def sign_config(config: NetworkConfig, admin_key: Ed25519PrivateKey) -> dict[str, Any]:
    body = config.to_dict()
    signature = admin_key.sign(canonical_json(body))
    return {"config": body, "signature": base64.b64encode(signature).decode("ascii")}


def verify_config(document: dict[str, Any], admin_public_key: str, *, held_serial: int | None = None) -> NetworkConfig:
    """The configuration in a signed document, or ConfigError saying why it is refused."""
    if not isinstance(document, dict) or "config" not in document:
        raise ConfigError(N_("not a signed network configuration (no 'config')"))
    if not document.get("signature"):
        raise ConfigError(
            N_("the network configuration is unsigned"),
            hint=N_("ask the network's administrators for a signed copy; nodes never accept an unsigned one"),
        )
    try:
        signature = base64.b64decode(document["signature"], validate=True)
        public_key_from_text(admin_public_key).verify(signature, canonical_json(document["config"]))
    except (InvalidSignature, ValueError):
        raise ConfigError(
            N_("the network configuration's signature does not verify with the administrative key this node trusts"),
            hint=N_("it was altered, or signed by another key"),
        ) from None
    config = NetworkConfig.from_dict(document["config"])
    if held_serial is not None and config.serial < held_serial:
        raise ConfigError(
            N_(
                "configuration serial %(serial)s is older than the one held (%(held)s)",
                serial=config.serial,
                held=held_serial,
            ),
            hint=N_("an old configuration cannot replace a newer one"),
        )
    return config
