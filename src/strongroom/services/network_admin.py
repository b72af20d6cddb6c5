"""The network administrators' tasks, done away from any node: making the administrative key pair, printing its
public key again, and checking and signing a network configuration with it."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.errors import ConfigError
from strongroom.keys import new_private_key, public_key_text
from strongroom.network.config import NetworkConfig, policy_problems, sign_config


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
        config = NetworkConfig.from_dict(json.loads(config_file.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise ConfigError(f"{config_file}: not JSON: {exc}") from None
    problems = policy_problems(config.policy)
    if problems:  # a policy that can never work is refused before it reaches any node
        raise ConfigError(
            f"{config_file}: refused to sign: " + "; ".join(problem for problem, _ in problems),
            hint="; ".join(fix for _, fix in problems),
        )
    out_path.write_text(json.dumps(sign_config(config, key), indent=2, sort_keys=True), encoding="utf-8")
    return config
