"""A new version's files in a scratch SQLite file, and its inventory written from there, never held as dicts.

An OCFL inventory names every file of an object: the new version's state (digest -> logical paths), and, for the
content it adds, the manifest (digest -> content path) and the fixity block (the other digest -> content paths).
A deposit of tens of thousands of files would hold each of those as Python objects (about 1 KB a file) and its
staged files besides. Here the staged files are read once into a table of a scratch file (:class:`VersionFiles`),
by logical path and by digest; the store then copies the content a row at a time, and the inventory is written by
:func:`write_inventory`, byte for byte what ``json.dumps(inventory, indent=2, sort_keys=True, ensure_ascii=False)``
and a newline give, with the new version's state, manifest and fixity entries read from the table in digest order
and merged with the existing inventory's. An object's existing inventory (its earlier versions) is still read
whole.

Must not import: the catalog, the search index, services, faces.
"""

from __future__ import annotations

import heapq
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from strongroom.store.base import PathList, StagedFile
from strongroom.store.hashing import Digests, write_text
from strongroom.store.paths import invalid_paths, path_problems

BATCH = 1000

_SCHEMA = """
CREATE TABLE files (
    logical TEXT PRIMARY KEY, digest TEXT NOT NULL, other TEXT NOT NULL, size INTEGER NOT NULL, source TEXT,
    copied INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX by_digest ON files (digest, logical);
"""
# TEXT is ordered by its UTF-8 bytes in SQLite, which is Python's order of str (by code point): ORDER BY gives what
# sorted() and json.dumps(sort_keys=True) give.


class VersionFiles:
    """The staged files of one new version, in ``path`` (a scratch file removed by the caller)."""

    def __init__(self, path: Path, files: Iterable[StagedFile], alg: str, other: str) -> None:
        self.db = sqlite3.connect(path)
        self.db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
        self.alg, self.other = alg, other
        self.count = 0
        self.duplicates = False
        insert = "INSERT OR IGNORE INTO files (logical, digest, other, size, source) VALUES (?, ?, ?, ?, ?)"
        for f in files:
            cursor = self.db.execute(
                insert,
                (
                    f.logical_path,
                    f.digest(alg),
                    f.digest(other),
                    f.size,
                    None if f.source is None else str(f.source),
                ),
            )
            self.count += 1
            self.duplicates |= cursor.rowcount == 0
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    def _pages(self, sql: str, first: tuple[str, ...]) -> Iterator[tuple[Any, ...]]:
        """Rows of ``sql`` (``WHERE (keys) > (?...) ORDER BY keys LIMIT ?``, its leading columns the keys), a page
        at a time, so that no statement stays open while the table is updated."""
        after = first
        while True:
            page = self.db.execute(sql, (*after, BATCH)).fetchall()
            if not page:
                return
            yield from page
            after = tuple(page[-1][: len(first)])

    def check_paths(self) -> None:
        """What :func:`~strongroom.store.paths.check_logical_paths` checks, reading the paths from the table: raise
        StorageError naming every bad path."""
        problems: list[str] = []
        if self.duplicates:
            problems.append("duplicate logical paths")
        for (p,) in self._pages("SELECT logical FROM files WHERE logical > ? ORDER BY logical LIMIT ?", ("",)):
            problems += path_problems(p, self._holds)
        if self._holds(""):
            problems.insert(int(self.duplicates), "'': must be a relative '/'-separated path")
        if problems:
            raise invalid_paths(problems)

    def _holds(self, logical: str) -> bool:
        return self.db.execute("SELECT 1 FROM files WHERE logical = ?", (logical,)).fetchone() is not None

    def state(self) -> Iterator[tuple[str, list[str]]]:
        """The version's state: each digest (in order) with its logical paths (in order)."""
        digest: str | None = None
        paths: list[str] = []
        for d, logical in self._pages(
            "SELECT digest, logical FROM files WHERE (digest, logical) > (?, ?) ORDER BY digest, logical LIMIT ?",
            ("", ""),
        ):
            if d != digest:
                if digest is not None:
                    yield digest, paths
                digest, paths = d, []
            paths.append(logical)
        if digest is not None:
            yield digest, paths

    def same_state(self, old: dict[str, list[str]]) -> bool:
        """Whether the version's state is ``old`` (as ``old == new_state`` compares them)."""
        n = 0
        for digest, paths in self.state():
            if old.get(digest) != paths:
                return False
            n += 1
        return n == len(old)

    def to_copy(self, manifest: dict[str, list[str]]) -> Iterator[StagedFile]:
        """By logical path, the files whose bytes the object lacks: the first path of each digest not in
        ``manifest``; each is marked copied as it is handed out (the caller copies it before asking for the
        next)."""
        for logical, digest, other, size, source in self._pages(
            "SELECT logical, digest, other, size, source FROM files AS f WHERE logical > ?"
            " AND logical = (SELECT min(logical) FROM files AS g WHERE g.digest = f.digest) ORDER BY logical LIMIT ?",
            ("",),
        ):
            if digest in manifest:
                continue
            sha512, sha256 = (digest, other) if self.alg == "sha512" else (other, digest)
            yield StagedFile(logical, None if source is None else Path(source), size, sha512, sha256)
            self.db.execute("UPDATE files SET copied = 1 WHERE logical = ?", (logical,))

    def manifest(self, vname: str) -> Iterator[tuple[str, list[str]]]:
        """The manifest entries of the content copied, by digest."""
        for digest, logical in self._pages(
            "SELECT digest, logical FROM files WHERE copied AND (digest, logical) > (?, ?)"
            " ORDER BY digest, logical LIMIT ?",
            ("", ""),
        ):
            yield digest, [f"{vname}/content/{logical}"]

    def fixity(self, vname: str) -> Iterator[tuple[str, list[str]]]:
        """The fixity entries (the other algorithm) of the content copied, by digest, paths in the order copied."""
        digest: str | None = None
        paths: list[str] = []
        for d, logical in self._pages(
            "SELECT other, logical FROM files WHERE copied AND (other, logical) > (?, ?) ORDER BY other, logical"
            " LIMIT ?",
            ("", ""),
        ):
            if d != digest:
                if digest is not None:
                    yield digest, paths
                digest, paths = d, []
            paths.append(f"{vname}/content/{logical}")
        if digest is not None:
            yield digest, paths

    def paths(self) -> Iterator[tuple[str, str]]:
        """(logical path, digest), by logical path."""
        yield from self._pages("SELECT logical, digest FROM files WHERE logical > ? ORDER BY logical LIMIT ?", ("",))

    def changes(self, old: dict[str, list[str]]) -> tuple[PathList, PathList, PathList]:
        """The paths added, removed and modified from the state ``old``, each sorted (kept on disk past a few
        thousand: a first version's added paths are all of them)."""
        old_paths = sorted((lp, digest) for digest, lps in old.items() for lp in lps)
        removed: list[str] = []
        modified: list[str] = []

        def added() -> Iterator[str]:
            i = 0
            for logical, digest in self.paths():
                while i < len(old_paths) and old_paths[i][0] < logical:
                    removed.append(old_paths[i][0])
                    i += 1
                if i < len(old_paths) and old_paths[i][0] == logical:
                    if old_paths[i][1] != digest:
                        modified.append(logical)
                    i += 1
                else:
                    yield logical
            removed.extend(lp for lp, _ in old_paths[i:])

        new = PathList(added())  # read whole here, filling removed and modified on the way
        return new, PathList(removed), PathList(modified)


@dataclass(frozen=True)
class Rows:
    """A JSON object too large to hold: its members, already in key order, made by ``rows()`` as it is written."""

    rows: Callable[[], Iterable[tuple[str, Any]]]


def merged(old: dict[str, list[str]], new: Iterable[tuple[str, list[str]]]) -> Rows:
    """``old`` with the members ``new`` (in key order) added: a key in both has its lists joined, old first."""

    def rows() -> Iterator[tuple[str, list[str]]]:
        pending: tuple[str, list[str]] | None = None
        for key, value in heapq.merge(sorted(old.items()), new, key=_first):
            if pending is not None and pending[0] == key:
                pending = (key, pending[1] + value)
                continue
            if pending is not None:
                yield pending
            pending = (key, value)
        if pending is not None:
            yield pending

    return Rows(rows)


def _first(row: tuple[str, Any]) -> str:
    return row[0]


_ENCODER = json.JSONEncoder(indent=2, sort_keys=True, ensure_ascii=False)


def _nested(text: str, level: int) -> str:
    """JSON encoded at the top level (indent 2), indented as a value ``level`` deep (JSON text holds no newline but
    those of its indentation: a newline in a string is escaped)."""
    return text.replace("\n", "\n" + "  " * level) if level else text


def json_pieces(value: Any, level: int = 0) -> Iterator[str]:
    """The text of ``json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)`` at depth ``level``, piece by
    piece; a :class:`Rows` (anywhere in it) is written as the object of its members."""
    if isinstance(value, Rows):
        members: Iterable[tuple[str, Any]] = value.rows()
    elif isinstance(value, dict) and _holds_rows(value):
        members = sorted(value.items(), key=_first)
    else:
        yield _nested(_ENCODER.encode(value), level)
        return
    inner = "\n" + "  " * (level + 1)
    empty = True
    for key, member in members:
        yield ("{" if empty else ",") + inner + _ENCODER.encode(key) + ": "
        yield from json_pieces(member, level + 1)
        empty = False
    yield "{}" if empty else "\n" + "  " * level + "}"


def _holds_rows(value: Any) -> bool:
    if isinstance(value, Rows):
        return True
    if isinstance(value, dict):
        return any(_holds_rows(v) for v in value.values())
    return False


def write_inventory(inventory: dict[str, Any], fh: BinaryIO, algorithms: tuple[str, ...]) -> Digests:
    """Write ``inventory`` (whose large members may be :class:`Rows`) as ``json.dumps(..., indent=2,
    sort_keys=True, ensure_ascii=False) + "\\n"`` encodes it, hashed as it is written."""
    return write_text(_with_newline(json_pieces(inventory)), fh, algorithms)


def _with_newline(pieces: Iterator[str]) -> Iterator[str]:
    yield from pieces
    yield "\n"
