"""Safe extraction of ZIP and tar archives, and safety checks of directory packages.

Every member is inspected before anything is written (paths that escape, links and special files, duplicate
names, entry count, declared sizes); extraction then counts the bytes actually written, never trusting the
sizes an archive declares, and stops as soon as a limit is passed. On any rejection everything written is
removed. ``__MACOSX/`` entries and ``.DS_Store`` files (operating-system litter) are skipped.
"""

from __future__ import annotations

import gzip
import os
import shutil
import sqlite3
import stat
import tarfile
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from strongroom.errors import Finding, PackageRejected
from strongroom.walk import walk_entries

CHUNK = 1 << 20
JUNK_PREFIXES = ("__MACOSX/",)
JUNK_NAMES = (".DS_Store",)


@dataclass(frozen=True)
class ArchiveLimits:
    max_total_bytes: int = 2 * 1024**3
    max_entries: int = 20_000
    max_ratio: float = 200.0
    max_file_bytes: int = 1024**3


@dataclass(frozen=True)
class _Member:
    name: str
    is_dir: bool
    size: int
    problem: Finding | None = None


def _path_problem(name: str) -> str | None:
    if not name or "\0" in name:
        return "empty name or NUL byte"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if "\\" in name:
        return "backslash in path (Windows-style path)"
    parts = name.rstrip("/").split("/")
    if any(part == ".." for part in parts):
        return "'..' leads outside the package"
    if any(part in ("", ".") for part in parts):
        return "empty or '.' path segment"
    return None


NOT_UTF8 = "the name is not UTF-8 text; rename it with UTF-8 (or re-create the package with UTF-8 names)"


def is_text(name: str) -> bool:
    """Whether ``name`` is text: a name that was not UTF-8 on disk or in a tar comes to Python with lone surrogates
    (``surrogateescape``), which neither the catalog, the package spool nor a JSON record can hold."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(name: str) -> str:
    """``name`` as a person can read it in a finding: bytes that are not UTF-8 shown as U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _is_junk(name: str) -> bool:
    return name.startswith(JUNK_PREFIXES) or PurePosixPath(name).name in JUNK_NAMES


def _zip_members(zf: zipfile.ZipFile) -> list[_Member]:
    members = []
    for info in zf.infolist():
        mode = info.external_attr >> 16
        problem = None
        if stat.S_ISLNK(mode):
            problem = Finding("P002", info.filename, "symbolic link")
        elif mode and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)) and stat.S_IFMT(mode):
            problem = Finding("P002", info.filename, "special file")
        members.append(_Member(info.filename, info.is_dir(), info.file_size, problem))
    return members


def _tar_members(tf: tarfile.TarFile) -> list[_Member]:
    members = []
    for info in tf.getmembers():
        problem = None
        if info.issym() or info.islnk():
            problem = Finding("P002", info.name, f"{'symbolic' if info.issym() else 'hard'} link to {info.linkname}")
        elif not (info.isfile() or info.isdir()):
            problem = Finding("P002", info.name, "device, FIFO or other special file")
        members.append(_Member(info.name, info.isdir(), info.size, problem))
    return members


def _inspect(members: list[_Member], compressed: int, limits: ArchiveLimits) -> list[Finding]:
    findings: list[Finding] = []
    files = [m for m in members if not _is_junk(m.name)]
    if len(files) > limits.max_entries:
        findings.append(Finding("P005", "", f"{len(files)} entries; the limit is {limits.max_entries}"))
    seen: dict[str, str] = {}
    parents: set[str] = set()
    declared = 0
    for m in files:
        if m.problem:
            findings.append(m.problem)
        if not is_text(m.name):
            findings.append(Finding("P007", shown(m.name), NOT_UTF8))
            continue
        problem = _path_problem(m.name)
        if problem:
            findings.append(Finding("P001", m.name, problem))
            continue
        if m.is_dir:
            continue
        key = path_key(m.name)
        if key in seen:
            findings.append(Finding("P006", m.name, f"{_same(m.name, seen[key])} {seen[key]}"))
        seen[key] = m.name
        parents.update("/".join(key.split("/")[:i]) for i in range(1, key.count("/") + 1))
        if m.size > limits.max_file_bytes:
            findings.append(
                Finding("P003", m.name, f"declares {m.size} bytes; one file may have {limits.max_file_bytes}")
            )
        declared += m.size
    for key in sorted(parents & set(seen)):
        findings.append(Finding("P006", seen[key], "is both a file and a folder of other entries"))
    if declared > limits.max_total_bytes:
        findings.append(Finding("P003", "", f"declares {declared} bytes in all; the limit is {limits.max_total_bytes}"))
    if compressed and declared / compressed > limits.max_ratio:
        findings.append(
            Finding(
                "P003", "", f"expands {declared / compressed:.0f} times its size; the limit is {limits.max_ratio:g}"
            )
        )
    return findings


class _Budget:
    def __init__(self, compressed: int, limits: ArchiveLimits) -> None:
        self.written = 0
        self.compressed = max(compressed, 1)
        self.limits = limits

    def add(self, name: str, file_bytes: int, n: int) -> None:
        self.written += n
        if file_bytes > self.limits.max_file_bytes:
            raise PackageRejected("archive rejected", [Finding("P003", name, "expands beyond the single-file limit")])
        if self.written > self.limits.max_total_bytes or self.written / self.compressed > self.limits.max_ratio:
            raise PackageRejected(
                "archive rejected",
                [Finding("P003", name, f"expanded to {self.written} bytes from {self.compressed}: beyond the limits")],
            )


def _target(dest: Path, name: str) -> Path:
    target = (dest / name).resolve()
    if not target.is_relative_to(dest):
        raise PackageRejected("archive rejected", [Finding("P001", name, "resolves outside the package")])
    return target


def _copy(src: IO[bytes], target: Path, name: str, budget: _Budget) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with target.open("xb") as out:
        while chunk := src.read(CHUNK):
            size += len(chunk)
            budget.add(name, size, len(chunk))
            out.write(chunk)


@contextmanager
def _cleanup_on_error(dest: Path) -> Iterator[None]:
    try:
        yield
    except BaseException:
        for child in dest.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
        raise


def _kind(archive: Path) -> str:
    with archive.open("rb") as fh:
        head = fh.read(512)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "tar.gz"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return "unknown"


def extract_archive(archive: Path, dest: Path, limits: ArchiveLimits | None = None) -> list[str]:
    """Extract ``archive`` into the empty directory ``dest``; returns the relative paths written."""
    limits = limits or ArchiveLimits()
    dest = dest.resolve()
    compressed = archive.stat().st_size
    kind = _kind(archive)
    written: list[str] = []
    with _cleanup_on_error(dest):
        try:
            if kind == "zip":
                with zipfile.ZipFile(archive) as zf:
                    findings = _inspect(_zip_members(zf), compressed, limits)
                    if findings:
                        raise _rejected(archive, findings)
                    budget = _Budget(compressed, limits)
                    for info in zf.infolist():
                        if info.is_dir() or _is_junk(info.filename):
                            continue
                        with zf.open(info) as src:
                            _copy(src, _target(dest, info.filename), info.filename, budget)
                        written.append(info.filename)
            elif kind in ("tar.gz", "tar"):
                with tarfile.open(archive, "r:gz" if kind == "tar.gz" else "r:") as tf:
                    findings = _inspect(_tar_members(tf), compressed, limits)
                    if findings:
                        raise _rejected(archive, findings)
                    budget = _Budget(compressed, limits)
                    for member in tf.getmembers():
                        if not member.isfile() or _is_junk(member.name):
                            continue
                        stream = tf.extractfile(member)
                        if stream is None:
                            continue
                        with stream:
                            _copy(stream, _target(dest, member.name), member.name, budget)
                        written.append(member.name)
            else:
                raise _rejected(archive, [Finding("P010", archive.name, "not a ZIP or tar archive")])
        except PackageRejected as exc:
            raise _rejected(archive, list(exc.findings)) from None
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            # Disk errors (other OSErrors) are not the package's fault and propagate as they are.
            raise _rejected(archive, [Finding("P004", archive.name, f"truncated or corrupt: {exc}")]) from None
    return written


def _rejected(archive: Path, findings: list[Finding]) -> PackageRejected:
    codes = ", ".join(sorted({f.code for f in findings}))
    return PackageRejected(
        f"archive {archive.name} rejected ({codes}); nothing was stored",
        findings,
        hint="see docs/findings.md for each code",
    )


def path_key(name: str) -> str:
    """What makes two paths the same file somewhere: on case-insensitive filesystems (Windows, macOS) and after
    Unicode normalisation (NFC 'é' and NFD 'e + ´' look identical and are one name on macOS)."""
    return unicodedata.normalize("NFC", name.rstrip("/")).casefold()


def _same(name: str, other: str) -> str:
    if name == other:
        return "appears twice, as"
    if unicodedata.normalize("NFC", name) == unicodedata.normalize("NFC", other):
        return "is the same name in another Unicode normalisation as"
    return "differs only in case from"


def names_under(root: Path, below: str = "") -> Iterator[tuple[str, str]]:
    """Every name of a file-system entry that is not a folder under ``root`` (or its folder ``below``), as the file
    system lists them, a folder at a time (links to folders are not followed): its '/'-separated path relative to
    ``root``, and its full path. Read as it goes (see :func:`walk_entries`): nothing holds every name."""
    for rel, entry, is_folder in walk_entries(root, below):
        if not is_folder:
            yield rel, entry.path


class _SameNames:
    """The names of each folder, by what makes two names one elsewhere (:func:`path_key`), in a private temporary
    SQLite database (in memory while small, on disk past its cache), not a dictionary: a folder of 100,000 article
    folders side by side is compared without holding its names. Names are stored as bytes, so that a name that is
    not UTF-8 (a lone surrogate, as Python decodes one) is compared like any other.

    Given ``scratch`` (a deposit's work folder), the database is a file there, deleted when closed, so that a large
    package's names spill under the node's own home, not the system's temporary folder; nothing in it need survive a
    crash, so it keeps no journal and is never synced."""

    def __init__(self, scratch: Path | None = None) -> None:
        self.file: str | None = None
        if scratch is not None:
            fd, self.file = tempfile.mkstemp(prefix="names-", suffix=".sqlite", dir=scratch)
            os.close(fd)
        self.db = sqlite3.connect(self.file or "")
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute("CREATE TABLE names (folder BLOB, key BLOB, name BLOB)")
        self.rows: list[tuple[bytes, bytes, bytes]] = []

    def add(self, folder: str, name: str) -> None:
        self.rows.append((_bytes(folder), _bytes(path_key(name)), _bytes(name)))
        if len(self.rows) >= 1000:
            self._flush()

    def _flush(self) -> None:
        self.db.executemany("INSERT INTO names VALUES (?, ?, ?)", self.rows)
        self.rows.clear()

    def pairs(self) -> Iterator[tuple[str, str]]:
        """Each name that is one name elsewhere with an earlier one of its folder, and that earlier one (the name
        listed just before it with the same key), as paths relative to the root, in the order they were added."""
        self._flush()
        rows = self.db.execute(
            "SELECT folder, name, earlier FROM (SELECT rowid AS n, folder, name, lag(name) OVER"
            " (PARTITION BY folder, key ORDER BY rowid) AS earlier FROM names) WHERE earlier IS NOT NULL ORDER BY n"
        )
        for folder, name, earlier in rows:
            prefix = _text(folder) + "/" if folder else ""
            yield prefix + _text(name), prefix + _text(earlier)

    def close(self) -> None:
        self.db.close()
        if self.file is not None:
            Path(self.file).unlink(missing_ok=True)


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


def check_tree(root: Path, scratch: Path | None = None) -> list[Finding]:
    """Findings for a directory package: links and special files (never followed), unsafe names, and names that
    would be the same file elsewhere (case or Unicode normalisation).

    Names are compared a folder at a time: two paths are one file elsewhere only if, at the first folder where they
    part, their two names there are one name elsewhere, so that pair is what is reported (once, not again for each
    file under two such folders). The walk reads each folder as it goes and the names are compared in a temporary
    database (:class:`_SameNames`, a file in ``scratch`` if given): nothing holds every name of a folder, nor every
    path of the package."""
    findings: list[Finding] = []
    names = _SameNames(scratch)
    try:
        for rel, entry, _is_folder in walk_entries(root):
            mode = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(mode.st_mode):
                findings.append(Finding("P002", shown(rel), f"symbolic link to {shown(os.readlink(entry.path))}"))
            elif not (stat.S_ISREG(mode.st_mode) or stat.S_ISDIR(mode.st_mode)):
                findings.append(Finding("P002", shown(rel), "device, FIFO, socket or other special file"))
            elif stat.S_ISREG(mode.st_mode) and mode.st_nlink > 1:
                findings.append(Finding("P002", shown(rel), "hard link (the same file appears under several names)"))
            if not is_text(entry.name):
                findings.append(Finding("P007", shown(rel), NOT_UTF8))
            names.add(rel.rpartition("/")[0], entry.name)
        for rel, other in names.pairs():
            findings.append(Finding("P006", shown(rel), f"{_same(rel, other)} {shown(other)}"))
    finally:
        names.close()
    return findings
