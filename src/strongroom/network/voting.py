"""Hashing a copy for a poll: every block of every file of a version, with the poller's nonce and one or more
voters' nonces, each block read once however many nonces it is hashed with."""

from __future__ import annotations

from collections.abc import Mapping

from strongroom.domain.poll import BlockKey, vote_hash
from strongroom.store.ocfl import OcflStore


def copy_hashes(
    store: OcflStore,
    object_id: str,
    version: int,
    poller_nonce: bytes,
    voter_nonces: Mapping[str, bytes],
    block_size: int,
) -> dict[str, dict[BlockKey, str | None]]:
    """voter -> (path, block) -> hash, over the given version's state. A file that cannot be read yields no
    blocks (it votes as absent), so damage shows up as disagreement, never as an error."""
    out: dict[str, dict[BlockKey, str | None]] = {v: {} for v in voter_nonces}
    obj = store.object_path(object_id)
    for logical in sorted(store.state(object_id, version)):
        content_path = store.content_path_for(object_id, logical, version)
        try:
            with (obj / content_path).open("rb") as fh:
                index = 0
                while True:
                    block = fh.read(block_size)
                    if not block and index > 0:
                        break
                    for voter, nonce in voter_nonces.items():
                        out[voter][(logical, index)] = vote_hash(poller_nonce, nonce, block)
                    index += 1
                    if len(block) < block_size:
                        break
        except OSError:
            continue
    return out
