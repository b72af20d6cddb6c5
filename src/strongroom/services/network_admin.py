"""The network administrators' tasks, done away from any node: making the administrative key pair, and checking
and signing a network configuration with it."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.errors import ConfigError
from strongroom.keys import new_private_key, public_key_text
from strongroom.network.config import NetworkConfig, sign_config


def keygen(out_path: Path) -> str:
    """Write a new administrative private key to ``out_path`` (mode 0600, never overwriting); its public key."""
    return public_key_text(new_private_key(out_path, hint="an administrative key is never overwritten"))


def sign(config_file: Path, key_file: Path, out_path: Path) -> NetworkConfig:
    """Check ``config_file`` (name, serial, members, policy) and write it signed by ``key_file`` to ``out_path``."""
    try:
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except ValueError as exc:
        raise ConfigError(f"{key_file} is not a private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{key_file} is not an Ed25519 private key")
    try:
        config = NetworkConfig.from_dict(json.loads(config_file.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise ConfigError(f"{config_file}: not JSON: {exc}") from None
    out_path.write_text(json.dumps(sign_config(config, key), indent=2, sort_keys=True), encoding="utf-8")
    return config
