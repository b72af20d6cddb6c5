"""Ed25519 keys: the node's identity key (created once by ``init``, private key readable by its owner only) and
the text form every public key is written in."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from strongroom.errors import ConfigError

PRIVATE_KEY_FILE = "node.key"
PUBLIC_KEY_FILE = "node.pub"
KEY_PREFIX = "ed25519:"


def new_private_key(path: Path, *, hint: str = "a key is never overwritten") -> Ed25519PublicKey:
    """Generate an Ed25519 key pair, write the private key to ``path`` (never overwriting one), return the public
    key. O_EXCL and mode 0600 at creation: the key is never readable by others, not even for an instant."""
    if path.exists():
        raise ConfigError(f"{path} already exists", hint=hint)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"{path} already exists", hint=hint) from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return key.public_key()


def create_keypair(keys_dir: Path) -> Ed25519PublicKey:
    """Generate and store the node's key pair; refuses to overwrite an existing private key."""
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    public = new_private_key(keys_dir / PRIVATE_KEY_FILE, hint="a node keeps its identity; remove it only on purpose")
    (keys_dir / PUBLIC_KEY_FILE).write_text(public_key_text(public) + "\n", encoding="ascii")
    return public


def read_private_key(path: Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file (a node's ``keys/node.key`` or a backup of it)."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist") from None
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path} cannot be read as a private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path} is not an Ed25519 private key")
    return key


def restore_keypair(keys_dir: Path, key: Ed25519PrivateKey) -> Ed25519PublicKey:
    """Store a node key restored from a backup (a wiped node keeps its identity); never overwrites a key."""
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = keys_dir / PRIVATE_KEY_FILE
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(
            f"{path} already exists", hint="a node keeps its identity; remove it only on purpose"
        ) from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    (keys_dir / PUBLIC_KEY_FILE).write_text(public_key_text(key.public_key()) + "\n", encoding="ascii")
    return key.public_key()


def public_key_text(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KEY_PREFIX + base64.b64encode(raw).decode("ascii")


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """An ``ed25519:<base64>`` public key (as configurations, ballots and ``keys/node.pub`` write them)."""
    if not text.startswith(KEY_PREFIX):
        raise ConfigError(f"not an Ed25519 public key: {text[:40]!r}", hint="keys look like ed25519:<base64>")
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text[len(KEY_PREFIX) :], validate=True))
    except ValueError as exc:
        raise ConfigError(f"malformed Ed25519 public key: {exc}") from None


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
