"""The storage seam: what the rest of Strongroom may ask of an archival object store, and nothing more.

An object store keeps OCFL objects (one per archival unit) and hands out their inventories, their files as
streams and their sizes; it writes a new version atomically (``commit_version`` from staged files,
``install_version`` from another copy's bytes), replaces a damaged content file with verified bytes
(``replace_content``), and takes a whole object out when this node no longer holds it (``remove_object``).
Callers never see where or how bytes are kept: no filesystem path leaves the store, so a backend on an
S3-compatible object store is one new module registered in :mod:`strongroom.store.registry`.

Reads are streams (``open_file``/``open_content``, with an optional byte range); writes take streams or
iterables of chunks and hash them while writing, so nothing is read into memory whole and nothing is read twice.

Must not import: the catalog, the search index, services, faces.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol, overload

from strongroom.store.hashing import hash_file

ALGORITHMS = ("sha512", "sha256")


@dataclass(frozen=True, slots=True)  # slots: a version may hold tens of thousands
class StagedFile:
    """A file of a version to be written: the digests its bytes must have, and where they are now.

    ``source`` is a local scratch file, or ``None`` for bytes the object already holds (a file carried from its
    current version into the next: the store finds them by digest and copies nothing)."""

    logical_path: str
    source: Path | None
    size: int
    sha512: str
    sha256: str

    def digest(self, algorithm: str) -> str:
        return self.sha512 if algorithm == "sha512" else self.sha256


class StagedFiles(Collection[StagedFile]):
    """The staged files of a version too many to hold at once: read again (from disk) at each pass, each pass
    yielding them in logical path order, so that a store never sorts or keeps them (``in_path_order``)."""

    def __contains__(self, item: object) -> bool:
        return isinstance(item, StagedFile) and any(f == item for f in self)


def in_path_order(files: Collection[StagedFile]) -> Iterable[StagedFile]:
    """``files`` by logical path: as they come from :class:`StagedFiles`, sorted (as a new list) from any other."""
    if isinstance(files, StagedFiles):
        return files
    return sorted(files, key=_logical_path)


def _logical_path(f: StagedFile) -> str:
    return f.logical_path


def stage_file(logical_path: str, source: Path) -> StagedFile:
    """A StagedFile for a local scratch file, hashing it (both digests in one read)."""
    d = hash_file(source, ALGORITHMS)
    return StagedFile(logical_path, source, d.size, d.digests["sha512"], d.digests["sha256"])


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One file of an object's version, as its inventory describes it (digests are '' where none is recorded)."""

    logical_path: str
    content_path: str
    sha512: str
    sha256: str
    size: int

    @property
    def version(self) -> int:
        """The version whose content directory holds the bytes (where they were first stored)."""
        return int(self.content_path.split("/", 1)[0][1:])


class PathList(Sequence[str]):
    """Paths kept in a spooled temporary file, not as one string object each: a commit's added, removed and modified
    paths (every path of an object's first version: tens of thousands in a large deposit) are held so until they
    are printed, and a deposit's memory does not grow with them. Up to ``IN_MEMORY`` bytes they stay in memory; past
    it they are on disk, deleted when the list goes. Read in order, as often as wanted; equal to a list or tuple of
    the same paths in the same order."""

    IN_MEMORY = 64 * 1024

    def __init__(self, paths: Iterable[str] = ()) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=self.IN_MEMORY)  # noqa: SIM115 (lives with the list)
        count = 0
        for path in paths:  # one JSON string a line: a path may hold any character, a newline too
            self._file.write(json.dumps(path, ensure_ascii=False).encode() + b"\n")
            count += 1
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[str]:
        position = 0
        for _ in range(self._count):  # each iterator keeps its own place: two may be read at once
            self._file.seek(position)
            line = self._file.readline()
            position += len(line)
            yield json.loads(line)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return list(self)[index]
        if not -self._count <= index < self._count:
            raise IndexError("path list index out of range")
        return next(itertools.islice(self, index % self._count, None))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, list | tuple | PathList):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = list(itertools.islice(self, 3))
        return f"PathList({shown!r}{' ...' if self._count > 3 else ''}, {self._count} paths)"


@dataclass(frozen=True)
class CommitResult:
    object_id: str
    version: int
    unchanged: bool
    files: int
    new_content_files: int = 0
    new_bytes: int = 0
    added: Sequence[str] = ()
    removed: Sequence[str] = ()
    modified: Sequence[str] = ()


# A source of one content file's bytes, in chunks (for install_version: the other copy's bytes as they arrive).
Fetch = Callable[[str], Iterable[bytes]]


class ObjectListing(Protocol):
    """An object's versions and files, for a reader that goes through them once (see ``store.listing``)."""

    object_id: str
    head: int
    versions: dict[int, dict[str, Any]]  # each version's created, message and user, by number

    def files(self, version: int | None = None) -> Iterator[StoredFile]:
        """A version's files (default: the head), sorted by logical path, one at a time."""
        ...

    def new_content(self, version: int) -> tuple[int, int]:
        """How many content files, and bytes, were first stored in ``version``."""
        ...

    def has(self, logical_path: str) -> bool:
        """Whether the head version holds ``logical_path``."""
        ...

    def open_file(self, logical_path: str, version: int | None = None) -> BinaryIO: ...


class ObjectStore(Protocol):
    """An OCFL storage root, wherever it lives."""

    digest_algorithm: str

    # ---- reading ----------------------------------------------------------------------------------------

    def exists(self, object_id: str) -> bool: ...

    def iter_object_ids(self) -> Iterator[str]:
        """Every object in the storage root, found by walking the storage itself (not any catalog)."""
        ...

    def heads(self) -> Iterator[tuple[str, int]]:
        """(id, head version) of every object, as :meth:`iter_object_ids` then :meth:`head_version` would tell
        them, without parsing an inventory that has not changed since it was last read (see ``store.heads``)."""
        ...

    def inventory(self, object_id: str) -> dict[str, Any]:
        """The object's root inventory, checked against its sidecar digest (StorageError when it does not match)."""
        ...

    def let_go(self, object_id: str) -> None:
        """Drop what the store keeps of the object's inventory between reads (a large object read once, as a
        deposit's cataloguing does, is not worth its memory afterwards); the next read parses it again."""
        ...

    def listing(self, object_id: str) -> AbstractContextManager[ObjectListing]:
        """The object's versions and files for a reader that goes through them once (see ``store.listing``)."""
        ...

    def head_version(self, object_id: str) -> int: ...

    def state(self, object_id: str, version: int | None = None) -> dict[str, str]:
        """Logical path -> digest of a version (default: the head)."""
        ...

    def versions(self, object_id: str) -> list[dict[str, Any]]: ...

    def files(self, object_id: str, version: int | None = None) -> list[StoredFile]:
        """A version's files, sorted by logical path, with both digests and their sizes in storage."""
        ...

    def content_path(self, object_id: str, logical_path: str, version: int | None = None) -> str:
        """Where inside the object a logical file's bytes are (``v3/content/...``): what peers ask for."""
        ...

    def open_file(
        self,
        object_id: str,
        logical_path: str,
        version: int | None = None,
        *,
        start: int = 0,
        length: int | None = None,
    ) -> BinaryIO:
        """A logical file of a version as a stream (from ``start``, at most ``length`` bytes)."""
        ...

    def open_content(self, object_id: str, content_path: str, *, start: int = 0, length: int | None = None) -> BinaryIO:
        """A file of the object by its path inside it, as a peer asks for it: a content file named in the
        manifest, or an inventory or its sidecar. Anything else (and any path trick) is StorageError."""
        ...

    def content_size(self, object_id: str, content_path: str) -> int: ...

    def reading(self, object_id: str) -> AbstractContextManager[None]:
        """Hold the object still while the caller reads it whole (an audit, an export, a vote): no new version or
        repair becomes visible in the meantime, so the caller never sees half of a change."""
        ...

    def stored(self, object_id: str) -> Iterator[tuple[str, int]]:
        """Every file actually present in the object, (path inside the object, size): what an audit compares
        with the inventories to find files nothing names."""
        ...

    def stored_bytes(self, object_id: str) -> int: ...

    def current_files(self, object_id: str) -> list[StagedFile]:
        """The head version's files as staged files that carry their bytes forward (nothing is copied)."""
        ...

    # ---- writing ----------------------------------------------------------------------------------------

    def commit_version(
        self,
        object_id: str,
        files: Collection[StagedFile],
        *,
        message: str,
        user_name: str,
        user_address: str | None = None,
        created: dt.datetime | None = None,
        on_bytes: Callable[[int], None] | None = None,
    ) -> CommitResult:
        """A new version whose state is exactly ``files`` (unchanged if it equals the head's state). ``files`` is
        passed over more than once; :class:`StagedFiles` (read from disk at each pass) is never held whole."""
        ...

    def install_version(self, object_id: str, version_inventory: bytes, fetch: Fetch) -> int:
        """The next version of ``object_id`` from another copy: ``version_inventory`` is that version's
        inventory.json as the other copy holds it, ``fetch(content_path)`` yields one content file's bytes. Every
        file is hashed while it is written and must match the inventory before the version is installed."""
        ...

    def replace_content(self, object_id: str, content_path: str, chunks: Iterable[bytes]) -> None:
        """Restore a damaged or missing content file: the bytes must have the inventory's digest; they replace
        the old file atomically, or nothing changes."""
        ...

    def remove_object(self, object_id: str) -> None:
        """Take an object out of the store whole (a copy the network no longer assigns to this node): it is
        entirely in the storage root until one atomic step takes it out, so a crash never leaves part of it."""
        ...

    def recover(self) -> list[str]:
        """Finish or undo writes a crash interrupted; returns what was done. Idempotent."""
        ...
