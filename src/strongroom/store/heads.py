"""Every object's id and head version, for the list a member answers its peers, at the cost of a look at each
root inventory's sidecar rather than a parse of the inventory.

An object's root inventory names its head version, but it is O(files) JSON and "head" sorts after the O(files)
"fixity" member, so reading the head means parsing the whole. The sidecar beside it holds the inventory's own
digest: whatever bytes carry that digest name one id and one head, forever. So :class:`HeadIndex` remembers
(id, head) under a *signature* of the sidecar that changes whenever the sidecar's content does (on disk, the
digest itself, read from the ~150-byte sidecar; on S3, the sidecar key's ETag, which the LIST that finds the
objects already returns), and parses only the inventories whose signature it has not seen.

Why the digest and not the sidecar's (inode, mtime, size): a stat tells that a file was *probably* not replaced,
the digest tells *what* the inventory is. A new version replaces the inventory and then its sidecar; until the
sidecar is replaced the version is not published, and the old digest rightly answers the old head. A repaired
inventory is restored to the bytes its sidecar names, so its answer does not change. A parse is always checked
against the sidecar it read (:func:`~strongroom.store.ocfl.check_inventory`) and remembered under the signature
of *that* sidecar, never under the one the walk saw first, so a version published between the two is never filed
under the older signature. A partial read of the inventory (up to "head") would not do: its digest covers every
byte, so the head it found could not be checked, and a damaged inventory would be believed.

The index is process-local: a restart parses every inventory once. (A persisted one would be safe for the same
reason, the signature being the content's digest, but is not needed yet.) It keeps the signatures the last
complete walk saw and forgets the rest, so removed objects and old versions do not pile up.

Must not import: the catalog, the search index, services, faces.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from strongroom.errors import StorageError

# A parse of one object's root inventory, checked against its sidecar: (the signature of the sidecar the check
# used, the inventory).
Parse = Callable[[], tuple[str, dict[str, Any]]]

ATTEMPTS = 3  # a version published between reading the sidecar and the inventory: read both again


class HeadIndex:
    """(object id, head version) by sidecar signature; see the module docstring for why that is never stale."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()
        self.parsed = 0  # inventories parsed since the index was made (for tests and benchmarks)

    def heads(self, roots: Iterable[tuple[str | None, Parse]]) -> Iterator[tuple[str, int]]:
        """(id, head) of each object root the walk ``roots`` yields as (its sidecar's signature, or None when it
        has none or it cannot be read, and how to parse its inventory). After a complete walk only what it saw is
        kept."""
        seen: dict[str, tuple[str, int]] = {}
        for signature, parse in roots:
            hit = self._known.get(signature) if signature is not None else None
            if signature is None or hit is None:
                signature, hit = self._parse(parse)
            seen[signature] = hit
            yield hit
        with self._lock:
            self._known = seen

    def _parse(self, parse: Parse) -> tuple[str, tuple[str, int]]:
        for attempt in range(ATTEMPTS):
            try:
                signature, inv = parse()
                break
            except StorageError:
                if attempt == ATTEMPTS - 1:
                    raise
        self.parsed += 1
        entry = (str(inv["id"]), int(str(inv["head"])[1:]))
        with self._lock:
            self._known[signature] = entry
        return signature, entry
