"""Fixity audit of one OCFL object in any :class:`~strongroom.store.base.ObjectStore`: every inventory against its
sidecar, every content file read once (as a stream) and checked against the inventory's digest (and, when asked,
the fixity block's too, computed in that same pass), every stray file noticed.

Results are three-valued and then some: each file is *ok*, *damaged*, *missing*, *unreadable* or *unexpected*,
and a file that could not be read is never *ok*. Several files are hashed at once on a thread pool (hashlib
releases the GIL), so an audit uses every core: the largest files are handed out first, so that one large file
does not come last and leave the other cores idle while it is hashed alone; small files go to the workers in
batches (see :func:`batches`), and each worker reads into one buffer of its own, reused for every file. The object
is held still for the whole audit, so the store checks its root inventory against the sidecar once, not once for
every file opened (:class:`~strongroom.store.locks.Held`).
"""

from __future__ import annotations

import datetime as dt
import os
import queue
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from strongroom.errors import ContentMissing, Finding, StorageError
from strongroom.store.base import ObjectStore
from strongroom.store.hashing import CHUNK, advise_sequential, hash_stream
from strongroom.store.ocfl import INVENTORY, OBJECT_NAMASTE, check_inventory, other_algorithm


class FileStatus(StrEnum):
    OK = "ok"
    DAMAGED = "damaged"
    MISSING = "missing"
    UNREADABLE = "unreadable"
    UNEXPECTED = "unexpected"


@dataclass(frozen=True)
class FileCheck:
    content_path: str
    logical_paths: tuple[str, ...]
    status: FileStatus
    expected: dict[str, str]
    found: dict[str, str]
    size: int | None
    checked_at: dt.datetime
    code: str = ""
    message: str = ""


@dataclass(frozen=True)
class HeadEntry:
    sha512: str
    sha256: str
    size: int | None


@dataclass
class ObjectAudit:
    object_id: str
    checks: list[FileCheck] = field(default_factory=list)
    inventory_findings: list[Finding] = field(default_factory=list)
    head: int = 0
    states: dict[int, dict[str, HeadEntry]] = field(default_factory=dict)  # version -> logical path -> entry
    digests: tuple[str, ...] = ()  # the algorithms every file was checked with (the inventory's first)

    @property
    def head_state(self) -> dict[str, HeadEntry]:
        return self.states.get(self.head, {})


def _check_one(
    store: ObjectStore,
    object_id: str,
    content_path: str,
    logical: tuple[str, ...],
    expected: dict[str, str],
    buffers: queue.SimpleQueue[bytearray] | None = None,
) -> FileCheck:
    now = dt.datetime.now(dt.UTC)
    algorithms = tuple(expected)
    buffer = buffers.get() if buffers is not None else None
    try:
        with store.open_content(object_id, content_path) as fh:
            advise_sequential(fh)
            got = hash_stream(fh, algorithms, buffer=buffer)
    except ContentMissing:
        return FileCheck(
            content_path,
            logical,
            FileStatus.MISSING,
            expected,
            {},
            None,
            now,
            "A002",
            "named in the inventory but not in storage",
        )
    except (OSError, StorageError) as exc:
        reason = exc.message if isinstance(exc, StorageError) else (exc.strerror or str(exc))
        return FileCheck(
            content_path,
            logical,
            FileStatus.UNREADABLE,
            expected,
            {},
            None,
            now,
            "A003",
            f"could not be read: {reason}",
        )
    finally:
        if buffers is not None and buffer is not None:
            buffers.put(buffer)
    bad = [a for a in algorithms if got.digests[a] != expected[a]]
    if bad:
        return FileCheck(
            content_path,
            logical,
            FileStatus.DAMAGED,
            expected,
            got.digests,
            got.size,
            now,
            "A001",
            f"{', '.join(bad)} differs from the inventory ({got.size} bytes read)",
        )
    return FileCheck(content_path, logical, FileStatus.OK, expected, got.digests, got.size, now)


def _read_all(store: ObjectStore, object_id: str, path: str) -> bytes:
    with store.open_content(object_id, path) as fh:
        return fh.read()


def _sidecar_reader(store: ObjectStore, object_id: str, vname: str) -> Callable[[str], str]:
    """Reads a version's inventory sidecar for a digest algorithm."""
    return lambda algorithm: _read_all(store, object_id, f"{vname}/{INVENTORY}.{algorithm}").decode("utf-8")


def _expected_files(inv: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Content path -> {algorithm: digest} from the manifest and the fixity block."""
    alg = inv["digestAlgorithm"]
    out: dict[str, dict[str, str]] = {}
    for digest, cps in inv["manifest"].items():
        for cp in cps:
            out[cp] = {alg: digest}
    for other, table in inv.get("fixity", {}).items():
        if other in ("sha512", "sha256") and other != alg:
            for digest, cps in table.items():
                for cp in cps:
                    if cp in out:
                        out[cp][other] = digest
    return out


def _logical_names(inv: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    names: dict[str, set[str]] = {}
    for version in inv["versions"].values():
        for digest, lps in version["state"].items():
            for cp in inv["manifest"].get(digest, []):
                names.setdefault(cp, set()).update(lps)
    return {cp: tuple(sorted(v)) for cp, v in names.items()}


def schedule(expected: dict[str, dict[str, str]], sizes: dict[str, int]) -> list[tuple[str, dict[str, str]]]:
    """The order files are handed to the workers: largest first (by their size in storage; a file not there, 0),
    then by content path. Handed out by path, a large file that comes last is hashed by one core while the others
    wait; largest first, the small files fill in at the end, when every core is still busy."""
    return sorted(expected.items(), key=lambda item: (-sizes.get(item[0], 0), item[0]))


BATCH_BYTES = 4 << 20  # small files are handed to a thread together, up to this many bytes ...
BATCH_FILES = 64  # ... or this many files


def batches(
    order: list[tuple[str, dict[str, str]]], sizes: dict[str, int]
) -> Iterator[list[tuple[str, dict[str, str]]]]:
    """The scheduled files in runs of consecutive ones, each handed to a thread as one task: a large file alone,
    small ones together (up to ``BATCH_BYTES`` or ``BATCH_FILES``). Handed out one by one, the thousands of files of
    an AU of small files each cost a task, a future and a wake-up of the thread that waits for them, more than
    hashing a file of a few kilobytes does."""
    batch: list[tuple[str, dict[str, str]]] = []
    size = 0
    for item in order:
        batch.append(item)
        size += sizes.get(item[0], 0)
        if size >= BATCH_BYTES or len(batch) >= BATCH_FILES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def audit_object(
    store: ObjectStore,
    object_id: str,
    *,
    on_file: Callable[[int], None] | None = None,
    workers: int | None = None,
    all_digests: bool = False,
) -> ObjectAudit:
    """Audit one object, held still while it is read (a write in progress waits for the audit to finish). Each
    file is checked against the inventory's digest; with ``all_digests``, against the fixity block's as well (a
    second digest in the same read: sha256 costs half again as much processor time as sha512 alone)."""
    with store.reading(object_id):
        return _audit(store, object_id, on_file, workers, all_digests)


def _audit(
    store: ObjectStore,
    object_id: str,
    on_file: Callable[[int], None] | None,
    workers: int | None,
    all_digests: bool,
) -> ObjectAudit:
    result = ObjectAudit(object_id)
    try:
        inv = store.inventory(object_id)
    except StorageError as exc:
        result.inventory_findings.append(Finding("A005", INVENTORY, exc.message))
        return result
    alg = inv["digestAlgorithm"]
    stored = dict(store.stored(object_id))
    head_copy = f"{inv['head']}/{INVENTORY}"
    if head_copy in stored:
        try:
            if _read_all(store, object_id, INVENTORY) != _read_all(store, object_id, head_copy):
                result.inventory_findings.append(
                    Finding("A010", INVENTORY, f"differs from {head_copy}, its head version's copy (OCFL E064)")
                )
        except (OSError, StorageError) as exc:
            result.inventory_findings.append(Finding("A005", head_copy, f"cannot be read: {exc}"))
    allowed = {OBJECT_NAMASTE, INVENTORY, f"{INVENTORY}.{alg}"}
    for vname in inv["versions"]:
        names = (f"{vname}/{INVENTORY}", f"{vname}/{INVENTORY}.{alg}")
        allowed |= set(names)
        if names[0] in stored:
            try:
                check_inventory(
                    _read_all(store, object_id, names[0]), _sidecar_reader(store, object_id, vname), names[0]
                )
            except StorageError as exc:
                result.inventory_findings.append(Finding("A005", names[0], exc.message))
    expected = _expected_files(inv)
    names_of = _logical_names(inv)
    other = other_algorithm(alg)
    checked = (alg, other) if all_digests and inv.get("fixity", {}).get(other) else (alg,)
    result.digests = checked
    threads = workers or os.cpu_count() or 2
    buffers: queue.SimpleQueue[bytearray] = queue.SimpleQueue()  # one per worker, reused from file to file
    for _ in range(threads):
        buffers.put(bytearray(CHUNK))
    checks: dict[str, FileCheck] = {}

    def check_batch(batch: list[tuple[str, dict[str, str]]]) -> list[FileCheck]:
        return [
            _check_one(store, object_id, cp, names_of.get(cp, ()), {a: want[a] for a in checked if a in want}, buffers)
            for cp, want in batch
        ]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(check_batch, batch) for batch in batches(schedule(expected, stored), stored)]
        for fut in as_completed(futures):  # progress as files finish, whatever their order
            for check in fut.result():
                checks[check.content_path] = check
                if on_file:
                    on_file(check.size or 0)
    result.checks.extend(checks[cp] for cp in sorted(checks))  # reported by content path, as they are listed
    for rel, size in sorted(stored.items()):
        if rel not in allowed and rel not in expected:
            result.checks.append(
                FileCheck(
                    rel,
                    (),
                    FileStatus.UNEXPECTED,
                    {},
                    {},
                    size,
                    dt.datetime.now(dt.UTC),
                    "A004",
                    "not named in any inventory",
                )
            )
    sizes = {c.content_path: c.size for c in result.checks}
    result.head = int(inv["head"][1:])
    for vname, version in inv["versions"].items():
        state = result.states.setdefault(int(vname[1:]), {})
        for digest, lps in version["state"].items():
            cp = inv["manifest"][digest][0]
            other_digest = expected.get(cp, {}).get(other, "")
            sha512, sha256 = (digest, other_digest) if alg == "sha512" else (other_digest, digest)
            for lp in lps:
                state[lp] = HeadEntry(sha512, sha256, sizes.get(cp))
    return result
