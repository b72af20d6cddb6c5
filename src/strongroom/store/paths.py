"""Logical paths and object locations: the rules that keep every path inside its object."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable

from strongroom.errors import StorageError


def check_logical_paths(paths: Iterable[str]) -> list[str]:
    """Validate OCFL logical paths: relative, '/'-separated, no empty, '.' or '..' segment, no file that is
    also a directory of another path. Returns them sorted; raises StorageError naming every bad path."""
    problems: list[str] = []
    clean = sorted(paths)
    seen = set(clean)
    if len(seen) != len(clean):
        problems.append("duplicate logical paths")
    for p in clean:
        problems += path_problems(p, seen.__contains__)
    if problems:
        raise invalid_paths(problems)
    return clean


def path_problems(p: str, is_path: Callable[[str], bool]) -> list[str]:
    """What is wrong with the logical path ``p`` of a version whose paths ``is_path`` tells (the rules of
    :func:`check_logical_paths`, one path at a time, for a store that keeps a version's paths elsewhere than in a
    set)."""
    if not p or p.startswith("/") or "\\" in p or "\0" in p:
        return [f"{p!r}: must be a relative '/'-separated path"]
    problems: list[str] = []
    parts = p.split("/")
    if any(seg in ("", ".", "..") for seg in parts):
        problems.append(f"{p!r}: empty, '.' or '..' segment")
    for i in range(1, len(parts)):
        parent = "/".join(parts[:i])
        if is_path(parent):
            problems.append(f"{p!r}: {parent!r} is both a file and a directory")
    return problems


def invalid_paths(problems: list[str]) -> StorageError:
    return StorageError("invalid logical paths: " + "; ".join(problems))


def object_hash(object_id: str) -> str:
    return hashlib.sha256(object_id.encode("utf-8")).hexdigest()


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def encapsulation_name(object_id: str) -> str:
    """The object id percent-encoded (UTF-8 bytes, lower-case hex) except A-Z a-z 0-9 - _; if longer than
    100 characters, its first 100 and '-' and the id's sha256."""
    name = "".join(c if c in _UNRESERVED else "".join(f"%{b:02x}" for b in c.encode("utf-8")) for c in object_id)
    return name if len(name) <= 100 else f"{name[:100]}-{object_hash(object_id)}"


@functools.lru_cache(maxsize=4096)
def hash_and_id_path(object_id: str, tuple_size: int = 3, tuples: int = 3) -> str:
    """The object root under the storage root, per OCFL extension 0003-hash-and-id-n-tuple-storage-layout
    (sha256 of the id, 3 tuples of 3 characters, then the encoded id): uniform paths that still show the id.
    Remembered for the last few thousand ids: every file an audit opens asks for its object's root again, and the
    id's encoding, char by char, cost more than reading a small file."""
    digest = object_hash(object_id)
    parts = [digest[i * tuple_size : (i + 1) * tuple_size] for i in range(tuples)]
    return "/".join([*parts, encapsulation_name(object_id)])
