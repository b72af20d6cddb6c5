"""How the ``tantivy`` engine's index lies on disk, read without importing Tantivy (the registry decides from it
whether a node's index is current, and so whether to open it only on first use).

The index's directory holds ``strongroom-schema`` (the schema version, written last when an index is made) and,
when it is kept in more than one shard, ``strongroom-shards`` (their count) and one Tantivy index per shard in
``shard-0``, ``shard-1`` ...; an index of one shard is a Tantivy index in the directory itself. A Tantivy index is
whole once its ``meta.json`` is written (what ``tantivy.Index.exists`` checks).

Must not import: tantivy, the catalog, services, faces.
"""

from __future__ import annotations

from pathlib import Path

SCHEMA_FILE = "strongroom-schema"
SHARDS_FILE = "strongroom-shards"  # how many shards, when more than one
MAX_SHARDS = 64


def shard_paths(directory: Path, shards: int) -> list[Path]:
    """Where each shard's Tantivy index is: the directory itself for one, ``shard-0`` ... inside it for more."""
    return [directory] if shards == 1 else [directory / f"shard-{i}" for i in range(shards)]


def stored_shards(directory: Path, schema_version: str) -> int | None:
    """How many shards the index at ``directory`` has, if it is a whole index of ``schema_version``; None
    otherwise (none there, another schema's, one being made, or a count file that is not one)."""
    version = directory / SCHEMA_FILE
    if not version.is_file() or version.read_text() != schema_version:
        return None
    count = directory / SHARDS_FILE
    try:
        shards = int(count.read_text()) if count.is_file() else 1
    except ValueError:
        return None
    if not 1 <= shards <= MAX_SHARDS:
        return None
    return shards if all((p / "meta.json").is_file() for p in shard_paths(directory, shards)) else None
