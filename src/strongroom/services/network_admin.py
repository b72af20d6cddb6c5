"""The network administrators' tasks: away from any node, making the administrative key pair, printing its public
key again, and checking and signing a network configuration with it; on a node, for the console, a draft of the
next configuration, what it would change (members, policy, where the AUs' copies go) and installing one signed
away from the node. The check before signing is one function (:func:`check`) for the command line and the
console."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from strongroom.catalog.models import ArchivalUnit
from strongroom.catalog.repo import Catalog
from strongroom.domain.model import EventOutcome, EventType
from strongroom.domain.placement import holders
from strongroom.domain.text import N_
from strongroom.errors import ConfigError
from strongroom.formats.canonical import canonical_json
from strongroom.keys import new_private_key, public_key_text
from strongroom.network.config import NetworkConfig, NetworkPolicy, policy_problems, sign_config
from strongroom.services.membership import Membership


def keygen(out_path: Path) -> str:
    """Write a new administrative private key to ``out_path`` (mode 0600, never overwriting); its public key."""
    hint = f"an administrative key is never overwritten; print its public key with: network admin-key --key {out_path}"
    return public_key_text(new_private_key(out_path, hint=hint))


def _admin_key(key_file: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except ValueError as exc:
        raise ConfigError(f"{key_file} is not a private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{key_file} is not an Ed25519 private key")
    return key


def public_key(key_file: Path) -> str:
    """The public key (``ed25519:...``) of the administrative private key in ``key_file``: what nodes pin."""
    return public_key_text(_admin_key(key_file).public_key())


def sign(config_file: Path, key_file: Path, out_path: Path) -> NetworkConfig:
    """Check ``config_file`` (name, serial, members, policy) and write it signed by ``key_file`` to ``out_path``;
    a policy that can never work (:func:`~strongroom.network.config.policy_problems`) is refused."""
    key = _admin_key(key_file)
    try:
        data = json.loads(config_file.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"{config_file}: not JSON: {exc}") from None
    config = check(data, str(config_file))
    out_path.write_text(json.dumps(sign_config(config, key), indent=2, sort_keys=True), encoding="utf-8")
    return config


class SignRefused(ConfigError):
    """A well-formed configuration whose policy can never work; ``problems``: every (problem, fix)."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        super().__init__(
            f"{source}: refused to sign: " + "; ".join(problem for problem, _ in problems),
            hint="; ".join(fix for _, fix in problems),
        )
        self.problems = problems


def check(data: Any, source: str) -> NetworkConfig:
    """The configuration in ``data`` as ``network sign`` checks it before signing (and the console before it
    produces one): well formed (ConfigError otherwise), with a policy that can work (:class:`SignRefused`
    naming every problem and its fix: a policy that can never work is refused before it reaches any node)."""
    config = NetworkConfig.from_dict(data)
    problems = policy_problems(config.policy)
    if problems:
        raise SignRefused(source, problems)
    return config


def problems_of(data: Any) -> tuple[NetworkConfig | None, list[tuple[str, str]]]:
    """:func:`check` as a list: the configuration (None when it is refused) and every (problem, fix)."""
    try:
        return check(data, "the draft"), []
    except SignRefused as exc:
        return None, exc.problems
    except ConfigError as exc:
        return None, [(exc.message, exc.hint or N_("correct it and preview again"))]


def unsigned_bytes(config: NetworkConfig) -> bytes:
    """The exact bytes ``network sign`` signs for ``config`` (its canonical JSON)."""
    return canonical_json(config.to_dict())


# ---- the console: a draft of the next configuration, what it would change, and installing a signed one ---------

MEMBER_FIELDS = ("id", "url", "public_key", "institution", "country", "certificate")
POLICY_FIELDS: tuple[tuple[str, type], ...] = tuple(
    (f.name, type(getattr(NetworkPolicy(), f.name))) for f in fields(NetworkPolicy)
)


PASTE_AS_PRINTED = N_("paste the entry exactly as 'strongroom network member --url ...' prints it")


def _not_an_entry(missing: list[str], unknown: list[str]) -> str:
    """Why a pasted entry is not one ``network member`` prints (a whole message for each case, to translate)."""
    lacks, fields_ = ", ".join(missing), ", ".join(unknown)
    if missing and unknown:
        return N_(
            "a pasted member entry is not one 'network member' prints: it lacks %(missing)s: unknown fields "
            "%(unknown)s",
            missing=lacks,
            unknown=fields_,
        )
    if missing:
        return N_("a pasted member entry is not one 'network member' prints: it lacks %(missing)s", missing=lacks)
    if unknown:
        return N_(
            "a pasted member entry is not one 'network member' prints: unknown fields %(unknown)s", unknown=fields_
        )
    return N_("a pasted member entry is not one 'network member' prints")


class MemberState(StrEnum):
    CURRENT = "current"
    NEW = "new"
    CHANGED = "changed"
    RETIRED = "retired"


@dataclass
class DraftMember:
    entry: dict[str, str]  # MEMBER_FIELDS, as typed
    retire: bool = False


@dataclass
class Draft:
    """The next configuration as the administrator typed it (it lives in the console's form, never on the node):
    every value kept as text, so a draft with mistakes is shown back as it was typed."""

    name: str
    serial: str
    members: list[DraftMember]
    policy: dict[str, str]
    add: str = ""  # pasted member entries not taken into the draft (they had a problem)
    problems: list[tuple[str, str]] = field(default_factory=list)  # reading the draft: (problem, fix)

    @classmethod
    def of(cls, config: NetworkConfig | None) -> Draft:
        """A draft of the next configuration after ``config`` (its serial raised); an empty one without it."""
        if config is None:
            return cls("", "1", [], {name: str(getattr(NetworkPolicy(), name)) for name, _ in POLICY_FIELDS})
        return cls(
            config.name,
            str(config.serial + 1),
            [DraftMember({k: str(getattr(m, k)) for k in MEMBER_FIELDS}) for m in config.members],
            {name: str(getattr(config.policy, name)) for name, _ in POLICY_FIELDS},
        )

    @classmethod
    def read(cls, form: Mapping[str, str]) -> Draft:
        """A draft from the console's form fields (``name``, ``serial``, ``m<i>.<field>`` and ``m<i>.retire`` for
        ``members`` rows, ``policy.<field>``, and ``add``: member entries pasted as ``network member`` prints
        them; an entry whose id is already a member's replaces that member's entry)."""
        count = form.get("members", "0")
        rows = int(count) if count.isdigit() else 0
        members = [
            DraftMember(
                {k: form.get(f"m{i}.{k}", "").strip() for k in MEMBER_FIELDS}, form.get(f"m{i}.retire", "") != ""
            )
            for i in range(min(rows, 1000))
        ]
        draft = cls(
            form.get("name", "").strip(),
            form.get("serial", "").strip(),
            [m for m in members if m.entry["id"]],
            {name: form.get(f"policy.{name}", "").strip() for name, _ in POLICY_FIELDS},
        )
        draft.take(form.get("add", ""))
        return draft

    def take(self, pasted: str) -> None:
        """Add the member entries in ``pasted`` (JSON objects, one after another or in a list) to the draft; on a
        problem nothing is taken and the text stays to be corrected."""
        text = pasted.strip()
        entries: list[Any] = []
        decoder = json.JSONDecoder()
        at = 0
        try:
            while at < len(text):
                value, at = decoder.raw_decode(text, at)
                entries.extend(value if isinstance(value, list) else [value])
                while at < len(text) and text[at] in " \t\r\n,":
                    at += 1
        except ValueError as exc:
            self.add = pasted
            self.problems.append((N_("the pasted member entry is not JSON: %(error)s", error=exc), PASTE_AS_PRINTED))
            return
        found: list[dict[str, str]] = []
        for entry in entries:
            missing = [k for k in MEMBER_FIELDS[:5] if not isinstance(entry, dict) or not entry.get(k)]
            unknown = sorted(set(entry) - set(MEMBER_FIELDS)) if isinstance(entry, dict) else []
            if missing or unknown or not all(isinstance(v, str) for v in entry.values()):
                self.add = pasted
                self.problems.append((_not_an_entry(missing, unknown), PASTE_AS_PRINTED))
                return
            found.append({k: str(entry.get(k, "")) for k in MEMBER_FIELDS})
        for entry in found:
            row = next((m for m in self.members if m.entry["id"] == entry["id"]), None)
            if row is None:
                self.members.append(DraftMember(entry))
            else:  # a member's new entry (a new url, key or certificate)
                row.entry, row.retire = entry, False

    def data(self) -> dict[str, Any]:
        """The configuration this draft makes, as ``network sign`` reads it; problems reading numbers are added to
        :attr:`problems` (and the value is passed on as typed, for the check to refuse)."""
        policy: dict[str, Any] = {}
        for name, kind in POLICY_FIELDS:
            value = self.policy.get(name, "")
            try:
                policy[name] = kind(value)
            except ValueError:
                policy[name] = value
                if kind is int:
                    problem = N_("policy %(name)s: %(value)s is not a whole number", name=name, value=repr(value))
                else:
                    problem = N_("policy %(name)s: %(value)s is not a number", name=name, value=repr(value))
                self.problems.append((problem, N_("type a number for %(name)s", name=name)))
        serial: Any = self.serial
        if self.serial.isdigit():
            serial = int(self.serial)
        else:
            self.problems.append(
                (
                    N_("serial %(serial)s is not a whole number", serial=repr(self.serial)),
                    N_("raise the serial by one"),
                )
            )
        return {
            "name": self.name,
            "serial": serial,
            "members": [
                {k: v for k, v in m.entry.items() if v or k != "certificate"} for m in self.members if not m.retire
            ],
            "policy": policy,
        }


@dataclass(frozen=True)
class Move:
    """An AU whose holders change: the members that are to fetch a copy and those whose copy is released."""

    au_key: str
    object_id: str
    before: tuple[str, ...]
    after: tuple[str, ...]

    @property
    def gains(self) -> tuple[str, ...]:
        return tuple(n for n in self.after if n not in self.before)

    @property
    def losses(self) -> tuple[str, ...]:
        return tuple(n for n in self.before if n not in self.after)


@dataclass
class Preview:
    """What a draft would change against the configuration held (None: this node has joined no network)."""

    draft: Draft
    config: NetworkConfig | None  # the draft's configuration (None when it is refused)
    problems: list[tuple[str, str]]  # every problem, with its fix; none: it may be produced
    states: dict[str, MemberState]
    changed: dict[str, list[tuple[str, str, str]]]  # member id -> (field, old, new)
    policy: list[tuple[str, str, str]]  # (field, old, new)
    aus: int
    moves: list[Move]
    warnings: list[str] = field(default_factory=list)

    def count(self, state: MemberState) -> int:
        return sum(1 for s in self.states.values() if s is state)

    def copies(self) -> tuple[Counter[str], Counter[str]]:
        """Copies each member is to fetch, and copies each is to release."""
        return Counter(n for m in self.moves for n in m.gains), Counter(n for m in self.moves for n in m.losses)

    def to_dict(self) -> dict[str, Any]:
        gains, losses = self.copies()
        return {
            "ok": not self.problems,
            "problems": [{"problem": p, "fix": f} for p, f in self.problems],
            "warnings": self.warnings,
            "members": {k: str(v) for k, v in self.states.items()},
            "changed": {k: [{"field": f, "old": o, "new": n} for f, o, n in v] for k, v in self.changed.items()},
            "policy": [{"field": f, "old": o, "new": n} for f, o, n in self.policy],
            "aus": self.aus,
            "replaced": [
                {"au": m.au_key, "object_id": m.object_id, "before": list(m.before), "after": list(m.after)}
                for m in self.moves
            ],
            "fetch": dict(sorted(gains.items())),
            "release": dict(sorted(losses.items())),
        }


def _placed(object_id: str, config: NetworkConfig | None) -> tuple[str, ...]:
    if config is None:
        return ()
    p = config.policy
    return tuple(holders(object_id, [(m.id, m.country) for m in config.members], p.target_copies, p.min_countries))


def preview(held: NetworkConfig | None, draft: Draft, aus: Sequence[tuple[str, str]]) -> Preview:
    """What ``draft`` changes against ``held``: members added, changed and retired, the policy's changed fields,
    and for each of ``aus`` ((key, object id) pairs) placed elsewhere, where its copies go (domain/placement on
    the old and the new configuration); checked as ``network sign`` checks it."""
    pasted = len(draft.problems)
    data = draft.data()
    typed = len(draft.problems) == pasted  # numbers that are not numbers: nothing more to check
    config, problems = problems_of(data) if typed else (None, [])
    problems = draft.problems + problems
    if draft.problems:
        config = None  # nothing is produced from a draft with a problem
    old = {m.id: m.to_dict() for m in held.members} if held else {}
    states: dict[str, MemberState] = {}
    changed: dict[str, list[tuple[str, str, str]]] = {}
    for row in draft.members:
        entry = {k: v for k, v in row.entry.items() if v or k != "certificate"}
        mid = entry["id"]
        if row.retire:
            states[mid] = MemberState.RETIRED if mid in old else MemberState.NEW
            if mid not in old:
                continue
        elif mid not in old:
            states[mid] = MemberState.NEW
        else:
            diff = [(k, old[mid].get(k, ""), entry.get(k, "")) for k in MEMBER_FIELDS]
            diff = [d for d in diff if d[1] != d[2]]
            states[mid] = MemberState.CHANGED if diff else MemberState.CURRENT
            if diff:
                changed[mid] = diff
    for mid in old:
        states.setdefault(mid, MemberState.RETIRED)  # a row removed from the form retires the member too
    policy = []
    if held is not None:
        for name, _ in POLICY_FIELDS:
            before, after = getattr(held.policy, name), data["policy"].get(name)
            if config is not None:
                after = getattr(config.policy, name)
            if before != after:  # by value: 0 and 0.0 are the same
                policy.append((name, str(before), str(after)))
    moves = []
    if config is not None:
        for key, object_id in aus:
            was, will = _placed(object_id, held), _placed(object_id, config)
            if set(was) != set(will):
                moves.append(Move(key, object_id, was, will))
    warnings: list[str] = []
    if held is not None and config is not None:
        if config.serial <= held.serial:
            warnings.append(
                N_(
                    "serial %(serial)s is not above the one held (%(held)s): raise it, or nodes that hold serial "
                    "%(held)s may keep theirs",
                    serial=config.serial,
                    held=held.serial,
                )
            )
        if config.name != held.name:
            warnings.append(
                N_("the network's name changes from %(old)s to %(new)s", old=repr(held.name), new=repr(config.name))
            )
    return Preview(draft, config, problems, states, changed, policy, len(aus), moves, warnings)


class NetworkAdministration:
    """The network administrators' tasks on a node, for the console: the configuration held, what a draft would
    change, and installing a configuration signed away from the node (the administrative private key never
    reaches it). Each action is an event naming the person."""

    def __init__(self, membership: Membership, catalog: Catalog) -> None:
        self.membership = membership
        self.catalog = catalog

    def held(self) -> NetworkConfig | None:
        return self.membership.config() if self.membership.joined else None

    @property
    def admin_key(self) -> str:
        """The administrative public key this node trusts ('' before its first join)."""
        return self.membership.admin_key

    def aus(self) -> list[tuple[str, str]]:
        """The catalog's AUs, (key, object id), two columns a row."""
        with self.catalog.session() as s:
            rows = s.execute(select(ArchivalUnit.key, ArchivalUnit.object_id).order_by(ArchivalUnit.key))
            return [(key, object_id) for key, object_id in rows]

    def preview(self, draft: Draft) -> Preview:
        return preview(self.held(), draft, self.aus())

    def produce(self, draft: Draft, by: str) -> tuple[Preview, bytes | None]:
        """The draft's preview and, when it has no problem, the unsigned configuration (an event says who
        produced which serial, and the sha256 of its bytes)."""
        seen = self.preview(draft)
        if seen.problems or seen.config is None:
            return seen, None
        body = unsigned_bytes(seen.config)
        self._record(
            EventOutcome.SUCCESS,
            seen.config.name,
            f"unsigned configuration serial {seen.config.serial} produced for signing",
            {"serial": seen.config.serial, "sha256": hashlib.sha256(body).hexdigest()},
            by,
        )
        return seen, body

    def install(self, document: Any, by: str) -> NetworkConfig:
        """Install a signed configuration as ``network join`` does (verified with the pinned administrative key,
        not older than the one held, listing this node); refused with ConfigError, nothing changed. Both outcomes
        are events naming ``by``."""
        held = self.held()
        try:
            if not isinstance(document, dict):
                raise ConfigError(N_("not a signed network configuration (not a JSON object)"))
            config = self.membership.join(document, "")
        except ConfigError as exc:
            self._record(
                EventOutcome.FAILURE,
                held.name if held else "network",
                f"signed configuration refused: {exc.message}",
                {"held_serial": held.serial if held else None},
                by,
            )
            raise
        self._record(
            EventOutcome.SUCCESS,
            config.name,
            f"signed configuration serial {config.serial} installed ({len(config.members)} members)",
            {"serial": config.serial, "held_serial": held.serial if held else None},
            by,
        )
        return config

    def _record(self, outcome: EventOutcome, name: str, detail: str, data: dict[str, Any], by: str) -> None:
        with self.catalog.session() as s:
            self.catalog.record_event(
                s,
                EventType.CONSOLE,
                outcome,
                agent=by,
                object_type="network",
                object_key=name,
                detail=detail,
                data=data,
            )
