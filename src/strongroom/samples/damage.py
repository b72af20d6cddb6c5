"""Damage on purpose, for the demo and tests: one bit of a stored PDF flipped on the disk of a local storage root,
as a failing disk would."""

from __future__ import annotations

from strongroom.errors import StorageError
from strongroom.store.base import ObjectStore
from strongroom.store.ocfl import OcflStore


def flip_one_bit(store: ObjectStore, object_id: str) -> str:
    """Flip one bit in the middle of the object's first PDF; returns its content path."""
    if not isinstance(store, OcflStore):
        raise StorageError("damage can be simulated only on a local storage root")
    inventory = store.inventory(object_id)
    pdfs = sorted(cp for cps in inventory["manifest"].values() for cp in cps if cp.endswith(".pdf"))
    target = store.object_path(object_id) / pdfs[0]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    return str(pdfs[0])
