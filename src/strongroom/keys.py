"""The node's Ed25519 identity key: created once by ``init``, private key readable by its owner only."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from strongroom.errors import ConfigError

PRIVATE_KEY_FILE = "node.key"
PUBLIC_KEY_FILE = "node.pub"


def create_keypair(keys_dir: Path) -> Ed25519PublicKey:
    """Generate and store a key pair; refuses to overwrite an existing private key."""
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_path = keys_dir / PRIVATE_KEY_FILE
    if private_path.exists():
        raise ConfigError(f"{private_path} already exists", hint="a node keeps its identity; remove it only on purpose")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # O_EXCL + mode 0600 at creation: the key is never readable by others, not even for an instant.
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public = key.public_key()
    (keys_dir / PUBLIC_KEY_FILE).write_text(public_key_text(public) + "\n", encoding="ascii")
    return public


def public_key_text(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + base64.b64encode(raw).decode("ascii")


def load_private_key(keys_dir: Path) -> Ed25519PrivateKey:
    path = keys_dir / PRIVATE_KEY_FILE
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise ConfigError(f"the node's private key {path} is missing") from None
    except ValueError as exc:
        raise ConfigError(f"the node's private key {path} cannot be read: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path} is not an Ed25519 private key")
    return key
