"""This node's place in a network: the signed configuration it has joined (verified against the administrative
key it pinned), who holds which AU, the node's own key, and the checks every peer request must pass."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.domain.identifiers import normalise_country
from strongroom.domain.placement import holders
from strongroom.domain.text import N_
from strongroom.domain.trigger import DecisionRule
from strongroom.errors import ConfigError, InvalidIdentifier
from strongroom.keys import load_private_key, public_key_text
from strongroom.network.auth import Verifier
from strongroom.network.client import PeerClient
from strongroom.network.config import Member, NetworkConfig, verify_config
from strongroom.network.nonces import FileNonces

if TYPE_CHECKING:  # TLS (cryptography's X.509) only for a node with https members; httpx only for the type
    import httpx

    from strongroom.network.tls import TrustedPeers


class Membership:
    def __init__(
        self, home: Path, node_id: str, admin_key: str, keys_dir: Path, pin_admin_key: Callable[[str], None]
    ) -> None:
        self.node_id = node_id
        self.admin_key = admin_key
        self.keys_dir = keys_dir
        self.network_file = home / "network.json"
        self.nonce_file = home / "peer-nonces"  # nonces of accepted peer requests, kept across restarts
        self._pin = pin_admin_key  # records the administrative key in the node's settings on the first join
        self._config: tuple[int, NetworkConfig] | None = None
        self._verifier: Verifier | None = None

    @property
    def joined(self) -> bool:
        return self.network_file.exists()

    def config(self) -> NetworkConfig:
        """The signed network configuration, verified against the pinned administrative key (cached by mtime)."""
        try:
            mtime = self.network_file.stat().st_mtime_ns
        except FileNotFoundError:
            raise ConfigError(
                N_("this node has not joined a network"),
                hint=N_("strongroom network join SIGNED-CONFIG --admin-key ed25519:..."),
            ) from None
        if self._config is None or self._config[0] != mtime:
            document = json.loads(self.network_file.read_text(encoding="utf-8"))
            self._config = (mtime, verify_config(document, self.admin_key))
        return self._config[1]

    def join(self, document: dict[str, Any], admin_key: str) -> NetworkConfig:
        """Install a signed configuration; the first join pins the administrative key."""
        pinned = self.admin_key or admin_key
        if not pinned:
            raise ConfigError(
                N_("this node trusts no administrative key yet, so the first join needs one"),
                hint=N_(
                    "strongroom network join SIGNED-CONFIG --admin-key ed25519:... (the administrators print it "
                    "with: strongroom network admin-key --key admin.key)"
                ),
            )
        if self.admin_key and admin_key and admin_key != self.admin_key:
            raise ConfigError(
                N_("this node already trusts another administrative key"),
                hint=N_("a node's trust anchor is changed only by editing network.admin_key on purpose"),
            )
        held = self.config().serial if self.joined else None
        config = verify_config(document, pinned, held_serial=held)
        if config.member(self.node_id) is None:
            raise ConfigError(
                N_("the configuration does not list this node (%(node)s)", node=self.node_id),
                hint=N_("send the administrators this node's id and public key (keys/node.pub)"),
            )
        if not self.admin_key:
            self._pin(pinned)
            self.admin_key = pinned
        tmp = self.network_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.network_file)
        self._config = None
        return config

    def holders(self, object_id: str) -> list[str]:
        """The members assigned to hold ``object_id`` (rendezvous placement over the signed members)."""
        config = self.config()
        return holders(
            object_id,
            [(m.id, m.country) for m in config.members],
            config.policy.target_copies,
            config.policy.min_countries,
        )

    def decision_rule(self) -> DecisionRule:
        """The board's rule for triggers: the network's, or CLOCKSS' default when not in a network."""
        if not self.joined:
            return DecisionRule()
        p = self.config().policy
        return DecisionRule(p.trigger_share_in_favour, p.trigger_max_against, p.trigger_quorum)

    def private_key(self) -> Ed25519PrivateKey:
        return load_private_key(self.keys_dir)

    def verifier(self) -> Verifier:
        if self._verifier is None:
            self._verifier = Verifier(config=self.config, node_id=self.node_id, nonces=FileNonces(self.nonce_file))
        return self._verifier

    def entry(self, url: str, institution: str, country: str) -> dict[str, str]:
        """This node's member entry for the administrators to add to the configuration: id, url, public key,
        institution, country, and for an https url the node's TLS certificate (derived from its key)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"not a node URL: {url!r}", hint="the URL peers reach this node at, e.g. https://host.example:8470"
            )
        if not institution or not country:
            raise ConfigError(
                "a member entry names the node's institution and country",
                hint="pass --institution and --country (or set them with strongroom init)",
            )
        try:
            country = normalise_country(country)
        except InvalidIdentifier as exc:
            raise ConfigError(exc.message) from None
        key = self.private_key()
        member = Member(self.node_id, url.rstrip("/"), public_key_text(key.public_key()), institution, country)
        if url.startswith("https://"):
            from strongroom.network.tls import certificate_text, node_certificate

            member = replace(member, certificate=certificate_text(node_certificate(key, self.node_id)))
        return member.to_dict()

    def uses_tls(self) -> bool:
        return self.joined and any(m.url.startswith("https://") for m in self.config().members)

    def trusted_peers(self, *, server: bool) -> TrustedPeers:
        """This node's TLS identity (its certificate, derived from its key) and the members' certificates it trusts."""
        from strongroom.network.tls import TrustedPeers

        return TrustedPeers(
            self.keys_dir,
            self.private_key(),
            self.node_id,
            lambda: [m.certificate for m in self.config().members],
            server=server,
        )

    def client(self, transport: httpx.BaseTransport | None = None) -> PeerClient:
        """A client that signs this node's requests to its peers (``transport``: tests' in-memory network); mutual
        TLS to members listed at https URLs."""
        tls = self.trusted_peers(server=False) if self.uses_tls() else None
        return PeerClient(self.node_id, self.private_key(), transport=transport, tls=tls)
