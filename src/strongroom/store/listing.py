"""An object's versions and files as its inventory lists them, for a reader that goes through them once in order.

Cataloguing a deposit needs every file of the head version, sorted by logical path, with both digests; parsed
whole, the inventory of an AU of tens of thousands of files costs about 1 KB a file while it is held.
:class:`SpooledListing` reads the inventory a member at a time (``formats.record_stream``'s reader: the standard
library's own JSON decoder on a window of text) into a private temporary SQLite database, which SQLite keeps on
disk beyond its small page cache and deletes when it is closed (or when the process dies), and hands out the files
from there, one at a time, in the order of their paths. Its bytes are checked against the sidecar before anything
is handed out.

Whatever that reader does not take (a member named twice, a value of an unexpected shape, a sidecar that does not
match) has the inventory read whole instead (:class:`Listing`, the store's own methods), so that the result, or the
error, is exactly the one the store gives.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import sqlite3
from collections.abc import Callable, Iterator
from typing import IO, Any, BinaryIO

from strongroom.errors import StorageError
from strongroom.formats.record_stream import NotStreamable, json_members, json_value
from strongroom.store.base import ALGORITHMS, ObjectStore, StoredFile

BATCH = 1000  # rows inserted at a time
_SCHEMA = (
    "CREATE TABLE manifest (digest TEXT PRIMARY KEY, content_path TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE state (version INTEGER, logical_path TEXT, digest TEXT NOT NULL, "
    "PRIMARY KEY (version, logical_path)) WITHOUT ROWID",
)


class Listing:
    """An object's versions and files, read through the store (its inventory parsed whole, as the store keeps it)."""

    def __init__(self, store: ObjectStore, object_id: str) -> None:
        self.store = store
        self.object_id = object_id
        self.head = store.head_version(object_id)
        self.versions = {v.pop("version"): v for v in store.versions(object_id)}  # created, message, user

    def files(self, version: int | None = None) -> Iterator[StoredFile]:
        """A version's files (default: the head), sorted by logical path."""
        yield from self.store.files(self.object_id, version)

    def new_content(self, version: int) -> tuple[int, int]:
        """How many content files, and bytes, were first stored in ``version``."""
        new = {f.content_path: f.size for f in self.files(version) if f.content_path.startswith(f"v{version}/")}
        return len(new), sum(new.values())

    def has(self, logical_path: str) -> bool:
        """Whether the head version holds ``logical_path``."""
        return logical_path in self.store.state(self.object_id)

    def open_file(self, logical_path: str, version: int | None = None) -> BinaryIO:
        return self.store.open_file(self.object_id, logical_path, version)

    def close(self) -> None:
        """Let go what was read (nothing here)."""


class _Hashing(io.RawIOBase):
    """A stream's bytes, hashed with every algorithm an inventory may use as they are read."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self.hashes = {alg: hashlib.new(alg) for alg in ALGORITHMS}

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._fh.read(len(buffer))
        for h in self.hashes.values():
            h.update(data)
        buffer[: len(data)] = data
        return len(data)


class SpooledListing(Listing):
    """The listing of an OCFL object on a file system, its inventory read in pieces into a temporary database."""

    def __init__(
        self,
        object_id: str,
        inventory: IO[bytes],
        read_sidecar: Callable[[str], str],
        open_content: Callable[[str], BinaryIO],
        size: Callable[[str], int],
    ) -> None:
        """Read ``inventory``, check it against ``read_sidecar(algorithm)``; raise NotStreamable if it is not read
        here. ``open_content`` and ``size`` open and measure a content path."""
        self.object_id = object_id
        self._open_content = open_content
        self._size = size
        self._db = sqlite3.connect("")  # private, on disk past its cache, deleted on close
        try:
            for statement in _SCHEMA:
                self._db.execute(statement)
            hashing = _Hashing(inventory)
            top = self._read(io.BufferedReader(hashing))
            alg = top.get("digestAlgorithm")
            head = top.get("head")
            if alg not in ALGORITHMS or not isinstance(head, str) or not head.startswith("v"):
                raise NotStreamable
            try:
                recorded = read_sidecar(alg).split()[0].lower()
            except (OSError, IndexError, UnicodeDecodeError):
                raise NotStreamable from None
            if hashing.hashes[alg].hexdigest() != recorded:
                raise NotStreamable  # read whole, it raises the store's own error
            self.alg = alg
            self.head = int(head[1:])
            if self.head not in self.versions:
                raise NotStreamable
        except BaseException:
            self._db.close()
            raise

    def _read(self, fh: IO[bytes]) -> dict[str, Any]:
        """Spool the inventory's manifest, fixity and states; return its other members (the versions' own are kept
        in ``versions``)."""
        top: dict[str, Any] = {}
        self.versions: dict[int, dict[str, Any]] = {}
        seen: set[str] = set()
        for key, at in json_members(fh):
            if key in seen:
                raise NotStreamable  # json keeps the last of a member named twice, and so must we
            seen.add(key)
            if key == "manifest":
                self._insert("manifest", ((digest, cps[0]) for digest, cps in _lists(at)))
            elif key == "fixity":
                for alg, entries in json_members(at):
                    if alg in ALGORITHMS:  # the other algorithm's, whichever it is: known once the top is read
                        self._insert(f"fixity_{alg}", _pairs(entries), create=True)
                    else:
                        json_value(entries)
            elif key == "versions":
                for vname, entry in json_members(at):
                    number = _number(vname)
                    if number in self.versions:
                        raise NotStreamable
                    self.versions[number] = self._version(number, entry)
            else:
                top[key] = json_value(at)
        return top

    def _version(self, number: int, at: Any) -> dict[str, Any]:
        kept: dict[str, Any] = {}
        seen: set[str] = set()
        for key, value in json_members(at):
            if key in seen:
                raise NotStreamable
            seen.add(key)
            if key == "state":
                rows = ((number, lp, digest) for digest, lps in _lists(value) for lp in lps)
                self._insert("state", rows)
            else:
                kept[key] = json_value(value)
        return kept

    def _insert(self, table: str, rows: Iterator[tuple[Any, ...]], *, create: bool = False) -> None:
        if create:
            try:
                self._db.execute(
                    f"CREATE TABLE {table} (content_path TEXT PRIMARY KEY, digest TEXT NOT NULL) WITHOUT ROWID"
                )
            except sqlite3.OperationalError:
                raise NotStreamable from None  # an algorithm named twice
        width = 3 if table == "state" else 2
        marks = ", ".join("?" * width)
        batch: list[tuple[Any, ...]] = []
        try:
            for row in rows:
                batch.append(row)
                if len(batch) >= BATCH:
                    self._db.executemany(f"INSERT INTO {table} VALUES ({marks})", batch)  # noqa: S608 - our names
                    batch.clear()
            self._db.executemany(f"INSERT INTO {table} VALUES ({marks})", batch)  # noqa: S608
        except sqlite3.IntegrityError:
            raise NotStreamable from None  # a key named twice: json keeps the last, and so must we

    def files(self, version: int | None = None) -> Iterator[StoredFile]:
        number = self.head if version is None else version
        if number not in self.versions:
            raise StorageError(f"object {self.object_id!r} has no version v{number}")
        other = "sha256" if self.alg == "sha512" else "sha512"
        exists = self._db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (f"fixity_{other}",)).fetchone()
        fixity = f"LEFT JOIN fixity_{other} f ON f.content_path = m.content_path" if exists else ""
        second = "f.digest" if exists else "NULL"
        rows = self._db.execute(
            f"SELECT s.logical_path, m.content_path, s.digest, {second} FROM state s "  # noqa: S608 - our names
            f"LEFT JOIN manifest m ON m.digest = s.digest {fixity} WHERE s.version = ? ORDER BY s.logical_path",
            (number,),
        )
        for logical_path, content_path, digest, other_digest in rows:
            if content_path is None:
                raise StorageError(f"object {self.object_id!r}: the digest of {logical_path!r} is not in its manifest")
            size = self._stat(content_path)
            pair = (digest, other_digest or "")
            sha512, sha256 = pair if self.alg == "sha512" else pair[::-1]
            yield StoredFile(logical_path, content_path, sha512, sha256, size)

    def new_content(self, version: int) -> tuple[int, int]:
        rows = self._db.execute(
            "SELECT DISTINCT m.content_path FROM state s JOIN manifest m ON m.digest = s.digest "
            "WHERE s.version = ? AND substr(m.content_path, 1, ?) = ?",
            (version, len(f"v{version}/"), f"v{version}/"),
        )
        count = size = 0
        for (content_path,) in rows:
            count += 1
            size += self._stat(content_path)
        return count, size

    def _stat(self, content_path: str) -> int:
        try:
            return self._size(content_path)
        except OSError as exc:
            raise StorageError(
                f"cannot read {content_path!r} of {self.object_id!r}: {exc.strerror or exc}",
                hint="run strongroom audit to see what is damaged",
            ) from None

    def _content_path(self, logical_path: str, version: int | None) -> str | None:
        row = self._db.execute(
            "SELECT m.content_path FROM state s JOIN manifest m ON m.digest = s.digest "
            "WHERE s.version = ? AND s.logical_path = ?",
            (self.head if version is None else version, logical_path),
        ).fetchone()
        return None if row is None else str(row[0])

    def has(self, logical_path: str) -> bool:
        return self._content_path(logical_path, None) is not None

    def open_file(self, logical_path: str, version: int | None = None) -> BinaryIO:
        content_path = self._content_path(logical_path, version)
        if content_path is None:
            raise StorageError(f"object {self.object_id!r} has no file {logical_path!r} in that version")
        try:
            return self._open_content(content_path)
        except OSError as exc:
            raise StorageError(
                f"cannot read {logical_path!r} of {self.object_id!r}: {exc.strerror or exc}",
                hint="run strongroom audit to see what is damaged",
            ) from None

    def close(self) -> None:
        self._db.close()


def _number(vname: str) -> int:
    if not vname.startswith("v") or not vname[1:].isdigit():
        raise NotStreamable
    return int(vname[1:])


def _lists(at: Any) -> Iterator[tuple[str, list[str]]]:
    """The members of a digest -> list of paths object, each checked to be that."""
    for key, value in json_members(at):
        paths = json_value(value)
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
            raise NotStreamable
        yield key, paths


def _pairs(at: Any) -> Iterator[tuple[str, str]]:
    """(content path, digest) for each path of a digest -> list of paths object."""
    for digest, paths in _lists(at):
        for path in paths:
            yield path, digest


@contextlib.contextmanager
def spooled(
    store: ObjectStore,
    object_id: str,
    open_inventory: Callable[[], IO[bytes]],
    read_sidecar: Callable[[str], str],
    open_content: Callable[[str], BinaryIO],
    size: Callable[[str], int],
) -> Iterator[Listing]:
    """The object's listing, its inventory read in pieces; read whole through ``store`` when it is not read here."""
    listing: Listing
    try:
        with open_inventory() as fh:
            listing = SpooledListing(object_id, fh, read_sidecar, open_content, size)
    except (NotStreamable, OSError):
        listing = Listing(store, object_id)
    try:
        yield listing
    finally:
        listing.close()
