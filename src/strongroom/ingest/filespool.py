"""The files and items of a package being deposited, kept in a SQLite file of its work directory, not in memory.

A package of tens of thousands of articles names a file record (its path, where it is, its size, its sha512 and
sha256, its media type, role and item) for every file, and an item record (key, DOI, files) for every article:
about 1.3 KB a file as Python objects. They are written here as the package is read and read back, in the orders
the deposit needs them (files by logical path for the deposit record and the OCFL version, items by key for the
record), a row at a time: memory holds none of them whole. The bag's manifest digests, looked up as each file is
hashed, are kept here too.

The file is private to the deposit's work directory and removed with it; it is written without a journal or fsync
(a crash leaves nothing to resume: the deposit starts again).

Must not import: the catalog, services, faces.
"""

from __future__ import annotations

import heapq
import json
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path, PurePosixPath
from typing import Any

from strongroom.domain.model import ArticleMeta, FileRole
from strongroom.store.base import StagedFile, StagedFiles

BATCH = 1000  # rows written or read per statement

_SCHEMA = """
CREATE TABLE IF NOT EXISTS expected (
    rel TEXT NOT NULL, alg TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (rel, alg)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files (
    rel TEXT PRIMARY KEY, source TEXT NOT NULL, size INTEGER NOT NULL, sha512 TEXT NOT NULL, sha256 TEXT NOT NULL,
    media_type TEXT NOT NULL, role TEXT NOT NULL, item_key TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS files_by_item ON files (item_key, rel);
CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY, doi TEXT, metadata_file TEXT, files TEXT NOT NULL, url TEXT, meta_at INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS paths (rel TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS articles (
    rel TEXT PRIMARY KEY, folder TEXT NOT NULL, stem TEXT NOT NULL, key TEXT NOT NULL, doi TEXT,
    meta_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS articles_by_stem ON articles (folder, stem, rel);
CREATE TABLE IF NOT EXISTS claims (ord INTEGER PRIMARY KEY, key TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS claims_by_key ON claims (key, ord);
"""
# SQLite orders TEXT by its UTF-8 bytes (BINARY collation), which is the order of Python's str comparison (by code
# point): ORDER BY rel and ORDER BY key give what ``sorted`` gives, and min(rel) what ``min`` gives.
# ``paths`` holds a package's paths as read (a bag's payload, a directory's files), to be gone through in order;
# ``articles`` its JATS articles (``folder`` is ``str(PurePosixPath(rel).parent)``, ``key`` the item key: the DOI,
# else the path); ``claims`` each item's key with where it was found, in the items' order, for the duplicate check.


@dataclass(frozen=True, slots=True)  # slots: a package may hold tens of thousands
class PackageFile:
    relpath: str  # '/'-separated path within the payload
    source: Path
    size: int
    sha512: str
    sha256: str
    media_type: str
    role: FileRole = FileRole.OTHER
    item_key: str | None = None


@dataclass(slots=True)
class ParsedItem:
    key: str
    doi: str | None
    meta: ArticleMeta | None  # while the package is read; in the opened package, spooled (``Package.meta``)
    metadata_file: str | None
    files: list[str] = field(default_factory=list)
    url: str | None = None
    meta_at: int | None = None  # where the article spool holds the article's metadata


class PackageSpool:
    """The SQLite file of one package: its manifest digests, its files (by path as read; a prefix such as ``data/``
    is taken off when they are read back) and its items."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db: sqlite3.Connection | None = sqlite3.connect(path)
        self._db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
        self.prefix = ""
        self.count = 0
        self.total_bytes = 0

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise ValueError("the package spool is closed")
        return self._db

    # ---- the bag's manifests -----------------------------------------------------------------------------

    def expect(self, rel: str, alg: str, digest: str) -> str | None:
        """Record that a manifest of ``alg`` gives ``rel`` the digest ``digest``; the digest recorded before when
        that manifest named ``rel`` already (and then nothing is written), else None. Committed by
        :meth:`expected_all`."""
        cur = self.db.execute("INSERT INTO expected VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (rel, alg, digest))
        if cur.rowcount:
            return None
        row = self.db.execute("SELECT digest FROM expected WHERE rel = ? AND alg = ?", (rel, alg)).fetchone()
        return str(row[0])

    def expected_all(self) -> None:
        """The manifests' lines are all recorded (:meth:`expect`)."""
        self.db.commit()

    def expected(self, rel: str, algorithms: Collection[str]) -> dict[str, str]:
        """The digests of ``rel`` the manifests of ``algorithms`` give, by algorithm."""
        rows = self.db.execute("SELECT alg, digest FROM expected WHERE rel = ?", (rel,))
        return {alg: digest for alg, digest in rows if alg in algorithms}

    # ---- files ------------------------------------------------------------------------------------------

    def add_file(self, f: PackageFile) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (f.relpath, str(f.source), f.size, f.sha512, f.sha256, f.media_type, str(f.role), f.item_key),
        )
        self.count += 1
        self.total_bytes += f.size

    def has(self, rel: str) -> bool:
        return self.db.execute("SELECT 1 FROM files WHERE rel = ?", (rel,)).fetchone() is not None

    def drop(self, rels: Collection[str]) -> None:
        """Take the files at ``rels`` (as read) out of the package."""
        for rel in rels:
            row = self.db.execute("DELETE FROM files WHERE rel = ? RETURNING size", (rel,)).fetchone()
            if row is not None:
                self.count -= 1
                self.total_bytes -= row[0]
        self.db.commit()

    def _pages(self, sql: str) -> Iterator[tuple[Any, ...]]:
        return _pages(self.db, sql)

    def assign(
        self, owner: Callable[[str], str | None], is_metadata: Callable[[str], bool], support: Collection[str]
    ) -> None:
        """Each file's item (``owner(rel)``, by path as read) and role: metadata if it is an item's metadata file, a
        full text or a supplement by its media type, other if it is in ``support``."""
        updates: list[tuple[str, str | None, str]] = []
        for rel, media_type in self._pages("SELECT rel, media_type FROM files WHERE rel > ? ORDER BY rel LIMIT ?"):
            role = FileRole.OTHER if rel in support else _role(rel, media_type, is_metadata)
            updates.append((str(role), owner(rel), rel))
            if len(updates) >= BATCH:
                self.db.executemany("UPDATE files SET role = ?, item_key = ? WHERE rel = ?", updates)
                updates.clear()
        self.db.executemany("UPDATE files SET role = ?, item_key = ? WHERE rel = ?", updates)
        self.db.commit()

    def files(self) -> Iterator[PackageFile]:
        """The package's files by path (the prefix taken off), one at a time."""
        cut = len(self.prefix)
        for rel, source, size, sha512, sha256, media_type, role, item_key in self._pages(
            "SELECT rel, source, size, sha512, sha256, media_type, role, item_key FROM files WHERE rel > ? ORDER BY rel"
            " LIMIT ?"
        ):
            yield PackageFile(rel[cut:], Path(source), size, sha512, sha256, media_type, FileRole(role), item_key)

    def set_role(self, relpaths: Iterable[str], role: FileRole) -> None:
        """Give the files at ``relpaths`` (payload paths, the prefix taken off) ``role``."""
        self.db.executemany(
            "UPDATE files SET role = ? WHERE rel = ?", ((str(role), self.prefix + rel) for rel in relpaths)
        )
        self.db.commit()

    # ---- items ------------------------------------------------------------------------------------------

    def add_items(self, items: Iterable[ParsedItem]) -> None:
        """Write ``items``, ``BATCH`` at a time (so that ``items`` may be a generator reading this spool)."""
        it = iter(items)
        while page := list(islice(it, BATCH)):
            self.db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)", [_item_row(i) for i in page])
        self.db.commit()

    def item_files(self, key: str) -> list[str]:
        """The paths (as read) of the files ``assign`` gave to item ``key``, in order."""
        return [rel for (rel,) in self.db.execute("SELECT rel FROM files WHERE item_key = ? ORDER BY rel", (key,))]

    def item_count(self) -> int:
        (n,) = self.db.execute("SELECT count(*) FROM items").fetchone()
        return int(n)

    def items(self) -> Iterator[ParsedItem]:
        """The package's items by key, one at a time."""
        for key, doi, metadata_file, files, url, meta_at in self._pages(
            "SELECT key, doi, metadata_file, files, url, meta_at FROM items WHERE key > ? ORDER BY key LIMIT ?"
        ):
            yield ParsedItem(key, doi, None, metadata_file, json.loads(files), url, meta_at)

    # ---- paths as read ---------------------------------------------------------------------------------

    def add_paths(self, rels: Iterable[str]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO paths VALUES (?)", ((rel,) for rel in rels))
        self.db.commit()

    def paths(self) -> Iterator[str]:
        """The paths ``add_paths`` was given, in order, a page at a time."""
        for (rel,) in self._pages("SELECT rel FROM paths WHERE rel > ? ORDER BY rel LIMIT ?"):
            yield rel

    def folder_paths(self, folder: str) -> list[str]:
        """The paths ``add_paths`` was given under the top-level folder ``folder``, in order (one article's files)."""
        # Every path that starts with "folder/" sorts from "folder/" up to, not including, "folder0" ('0' follows '/').
        rows = self.db.execute("SELECT rel FROM paths WHERE rel >= ? AND rel < ? ORDER BY rel", _below(folder))
        return [rel for (rel,) in rows]

    def has_folder(self, folder: str) -> bool:
        """Whether a path ``add_paths`` was given lies under the top-level folder ``folder`` (a name with '/' in it,
        or none, is no top-level folder)."""
        if not folder or "/" in folder:
            return False
        row = self.db.execute("SELECT 1 FROM paths WHERE rel >= ? AND rel < ? LIMIT 1", _below(folder)).fetchone()
        return row is not None

    def top_folders(self) -> Iterator[str]:
        """The top-level folders of the paths ``add_paths`` was given, in the order of their paths ('a-b' before 'a',
        whose paths start 'a/'), a look-up each (not a set of them)."""
        after = ""
        while True:
            row = self.db.execute(
                "SELECT rel FROM paths WHERE rel >= ? AND instr(rel, '/') > 0 ORDER BY rel LIMIT 1", (after,)
            ).fetchone()
            if row is None:
                return
            folder = str(row[0]).split("/", 1)[0]
            yield folder
            after = _below(folder)[1]

    def drop_paths(self, rels: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM paths WHERE rel = ?", ((rel,) for rel in rels))
        self.db.commit()

    def unlisted_paths(self, prefix: str) -> Iterator[str]:
        """The paths under ``prefix`` (as read) the manifests do not list, in order."""
        yield from self._prefixed("SELECT rel FROM paths WHERE {} AND rel NOT IN (SELECT rel FROM expected)", prefix)

    def missing_paths(self, prefix: str) -> Iterator[str]:
        """The paths under ``prefix`` the manifests list but ``add_paths`` was not given, in order."""
        yield from self._prefixed(
            "SELECT DISTINCT rel FROM expected WHERE {} AND rel NOT IN (SELECT rel FROM paths)", prefix
        )

    def listed_outside(self, prefix: str) -> Iterator[str]:
        """The paths the manifests list that are not under ``prefix`` (a bag's tag files), in order."""
        yield from self._prefixed("SELECT DISTINCT rel FROM expected WHERE NOT {}", prefix)

    def _prefixed(self, sql: str, prefix: str) -> Iterator[str]:
        # substr, not LIKE: LIKE ignores the case of ASCII letters and gives '_' and '%' a meaning.
        query = sql.format("substr(rel, 1, ?) = ?") + " ORDER BY rel"
        for (rel,) in self.db.execute(query, (len(prefix), prefix)):
            yield rel

    # ---- JATS articles and the files they own -----------------------------------------------------------

    def add_article(self, rel: str, doi: str | None, meta_at: int) -> None:
        """The JATS article at ``rel`` (as read), its DOI and place in the article spool; its item's key is its DOI,
        else its path."""
        path = PurePosixPath(rel)
        self.db.execute(
            "INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?, ?)",
            (rel, str(path.parent), path.stem, doi or rel, doi, meta_at),
        )

    def article(self, rel: str) -> tuple[str | None, int] | None:
        """The DOI and article spool place of the JATS article at ``rel``, or None if ``rel`` is not one."""
        row = self.db.execute("SELECT doi, meta_at FROM articles WHERE rel = ?", (rel,)).fetchone()
        return None if row is None else (row[0], row[1])

    def article_count(self) -> int:
        (n,) = self.db.execute("SELECT count(*) FROM articles").fetchone()
        return int(n)

    def articles(self) -> Iterator[tuple[str, str, str | None, int]]:
        """Each JATS article's path, key, DOI and article spool place, by path, a page at a time."""
        yield from self._pages("SELECT rel, key, doi, meta_at FROM articles WHERE rel > ? ORDER BY rel LIMIT ?")

    def owner(self, rel: str) -> str | None:
        """The key of the JATS article that file ``rel`` belongs to, or None: an article owns itself; otherwise,
        from the file's folder up, the first folder that holds articles decides: its only article owns the file, or,
        where several share it, the one whose stem is the longest that starts the file's name (of two articles with
        one stem, the first by path); no such stem, no owner."""
        row = self.db.execute("SELECT key FROM articles WHERE rel = ?", (rel,)).fetchone()
        if row is not None:
            return str(row[0])
        path = PurePosixPath(rel)
        for parent in [path.parent, *path.parent.parents]:
            folder = str(parent)
            count, _first, key = self.db.execute(
                "SELECT count(*), min(rel), key FROM articles WHERE folder = ?", (folder,)
            ).fetchone()  # SQLite takes the bare column (key) from the row min() chose
            if count == 1:
                return str(key)
            if count:
                return self._by_stem(folder, path.name)
        return None

    def _by_stem(self, folder: str, name: str) -> str | None:
        # The name's prefixes looked up in the folder's index of stems: one indexed probe a prefix, not a comparison
        # with every article of the folder; the longest stem found wins.
        prefixes = json.dumps([name[:n] for n in range(1, len(name) + 1)], ensure_ascii=False)
        row = self.db.execute(
            "SELECT min(rel), key FROM articles WHERE folder = ? AND stem IN (SELECT value FROM json_each(?))"
            " GROUP BY stem ORDER BY length(stem) DESC LIMIT 1",
            (folder, prefixes),
        ).fetchone()
        return None if row is None else str(row[1])

    def is_article(self, rel: str) -> bool:
        return self.db.execute("SELECT 1 FROM articles WHERE rel = ?", (rel,)).fetchone() is not None

    # ---- item keys --------------------------------------------------------------------------------------

    def claim(self, claims: Iterable[tuple[str, str]]) -> None:
        """Items' keys, each with where it was found (``(key, where)``), in the items' order."""
        self.db.executemany("INSERT INTO claims (key, at) VALUES (?, ?)", claims)
        self.db.commit()

    def claim_articles(self) -> None:
        """Each JATS article's key, found at its path, in the order of the paths (its item's order)."""
        self.db.execute("INSERT INTO claims (key, at) SELECT key, rel FROM articles ORDER BY rel")
        self.db.commit()

    def duplicate_claims(self) -> Iterator[tuple[str, str, str]]:
        """Each claim of a key claimed before (``(where, key, where it was claimed last before)``), in order."""
        yield from self.db.execute(
            "SELECT at, key, prior FROM (SELECT c.ord, c.at, c.key, (SELECT p.at FROM claims p WHERE p.key = c.key"
            " AND p.ord < c.ord ORDER BY p.ord DESC LIMIT 1) AS prior FROM claims c) WHERE prior IS NOT NULL"
            " ORDER BY ord"
        ).fetchall()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _item_row(i: ParsedItem) -> tuple[str, str | None, str | None, str, str | None, int | None]:
    return i.key, i.doi, i.metadata_file, json.dumps(i.files, ensure_ascii=False), i.url, i.meta_at


def _role(rel: str, media_type: str, is_metadata: Callable[[str], bool]) -> FileRole:
    if is_metadata(rel):
        return FileRole.METADATA
    if media_type in ("application/pdf", "text/html", "application/xhtml+xml"):
        return FileRole.FULLTEXT
    return FileRole.SUPPLEMENT


class PackageFiles(Collection[PackageFile]):
    """A package's files by path, read from its spool at each pass (``len`` and ``total_bytes`` are kept)."""

    def __init__(self, spool: PackageSpool) -> None:
        self.spool = spool

    def __iter__(self) -> Iterator[PackageFile]:
        return self.spool.files()

    def __len__(self) -> int:
        return self.spool.count

    def __contains__(self, item: object) -> bool:
        return isinstance(item, PackageFile) and any(f == item for f in self)

    @property
    def total_bytes(self) -> int:
        return self.spool.total_bytes


class PackageItems(Collection[ParsedItem]):
    """A package's items by key, read from its spool at each pass."""

    def __init__(self, spool: PackageSpool) -> None:
        self.spool = spool
        self._count = spool.item_count()

    def __iter__(self) -> Iterator[ParsedItem]:
        return self.spool.items()

    def __len__(self) -> int:
        return self._count

    def __contains__(self, item: object) -> bool:
        return isinstance(item, ParsedItem) and any(i == item for i in self)


class SpooledStaged(StagedFiles):
    """A package's files as the staged files of a new version (``prefix`` before each path: ``payload/``), followed,
    in logical path order, by ``extra`` files (the deposit record), read from a connection of its own at each pass
    so that the package may be closed first."""

    def __init__(self, spool: PackageSpool, prefix: str, extra: Sequence[StagedFile] = ()) -> None:
        spool.db.commit()
        self.path, self.cut, self.prefix = spool.path, len(spool.prefix), prefix
        self.count = spool.count
        self.extra = list(extra)

    def append(self, f: StagedFile) -> None:
        self.extra.append(f)

    def __len__(self) -> int:
        return self.count + len(self.extra)

    def _spooled(self) -> Iterator[StagedFile]:
        db = sqlite3.connect(self.path)
        try:
            for rel, source, size, sha512, sha256 in _pages(
                db, "SELECT rel, source, size, sha512, sha256 FROM files WHERE rel > ? ORDER BY rel LIMIT ?"
            ):
                yield StagedFile(self.prefix + rel[self.cut :], Path(source), size, sha512, sha256)
        finally:
            db.close()

    def __iter__(self) -> Iterator[StagedFile]:
        extra = sorted(self.extra, key=_logical)
        return heapq.merge(self._spooled(), extra, key=_logical)


def _below(folder: str) -> tuple[str, str]:
    """The range of paths under ``folder``: from ``folder/`` up to, not including, ``folder0``."""
    return folder + "/", folder + "0"


def _pages(db: sqlite3.Connection, sql: str) -> Iterator[tuple[Any, ...]]:
    """The rows of ``sql`` (a SELECT whose first column is its key, ``WHERE key > ? ORDER BY key LIMIT ?``), read
    ``BATCH`` at a time: no statement stays open between pages, so rows may be updated between them. Keys (paths,
    item keys) are never empty, so the first page is those after ''."""
    after = ""
    while True:
        page = db.execute(sql, (after, BATCH)).fetchall()
        if not page:
            return
        yield from page
        after = page[-1][0]


def _logical(f: StagedFile) -> str:
    return f.logical_path
