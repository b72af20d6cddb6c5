"""An OCFL 1.1 storage root on a local filesystem: the first implementation of
:class:`~strongroom.store.base.ObjectStore` (registered as ``ocfl-local``).

Every new version, whether committed from a deposit (``commit_version``) or installed from another node's copy
(``install_version``), goes through one write sequence, :meth:`OcflStore._write_version`:

1. under the object's lock, a work directory ``staging/commit-<hash>-<token>/`` is made, naming the object from the
   moment it appears (made under another name with the object's id inside, then renamed: :meth:`OcflStore.recover`,
   run by any process that opens the node, removes a work directory that names no object);
2. the version's content is written into it, each file hashed while it is written and checked against the
   digests it must have; then the version's ``inventory.json`` and sidecar; then every file and directory of the
   version is fsynced, many at once (fault point ``version-staged``);
3. a new object is renamed into place whole; for an existing object the version directory is renamed in
   (``version-renamed``), then the root inventory (``inventory-replaced``) and its sidecar are replaced;
4. the work directory is removed (``committed``).

An object this node no longer holds is removed by :meth:`OcflStore.remove_object`: under its lock, once its
readers are done, its directory (with the storage hierarchy's directories that hold nothing else) is renamed whole
out of the storage root into ``staging/release-<hash>-<token>/``: one atomic step, so the root holds the whole object
or none of it and never an empty directory (fault points ``release-staged`` and ``release-renamed``); then the work
directory is removed.

``commit_version`` first reads the staged files once into a scratch table (:mod:`strongroom.store.versionfiles`) in a
work directory of its own, ``staging/commit-<hash>-<token>-files/`` (naming the object, so :meth:`OcflStore.recover`
removes it after a crash like the others); the content is copied and the new inventory written, streamed, from that
table, so that a version of tens of thousands of files is never held as Python objects.

A crash leaves a work directory behind; :meth:`OcflStore.recover` reads it and rolls the object forward (the
version directory is complete, since it was renamed in only once whole) or back, so an object is always exactly
at one version. The storage root holds nothing but what OCFL allows; scratch space lives outside it. ``fault`` is
called with each step's name, so tests can crash a write at every point.

Must not import: the catalog, the search index, services, faces.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import functools
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from strongroom.errors import ContentMissing, ObjectBusy, StorageError
from strongroom.space import disk_full, is_full
from strongroom.store.base import (
    ALGORITHMS,
    CommitResult,
    Fetch,
    ObjectListing,
    PathList,
    StagedFile,
    StoredFile,
    stage_file,
)
from strongroom.store.hashing import copy_and_hash, fsync_dir, fsync_tree, write_chunks
from strongroom.store.heads import HeadIndex, Parse
from strongroom.store.locks import Held, ObjectLocks
from strongroom.store.paths import check_logical_paths, hash_and_id_path, object_hash
from strongroom.store.versionfiles import Rows, VersionFiles, merged, write_inventory

ROOT_NAMASTE = "0=ocfl_1.1"
OBJECT_NAMASTE = "0=ocfl_object_1.1"
INVENTORY = "inventory.json"
INVENTORY_TYPE = "https://ocfl.io/1.1/spec/#inventory"
NASCENT = ".nascent-"  # a work directory being made (see OcflStore._make_work); recovery lists it only when stale
NASCENT_STALE = 3600.0  # seconds: one lives for a tiny file's write, so one this old was left by a crash
LAYOUT = "0003-hash-and-id-n-tuple-storage-layout"

__all__ = ["ALGORITHMS", "CommitResult", "OcflStore", "StagedFile", "StoredFile", "read_inventory", "stage_file"]


def other_algorithm(algorithm: str) -> str:
    return "sha256" if algorithm == "sha512" else "sha512"


def _json_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _write_durable(path: Path, data: bytes) -> None:
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _sidecar_bytes(inventory_bytes: bytes, algorithm: str) -> bytes:
    return _sidecar(hashlib.new(algorithm, inventory_bytes).hexdigest())


def _sidecar(digest: str) -> bytes:
    return f"{digest}  {INVENTORY}\n".encode()


def _dump_durable(path: Path, data: dict[str, Any], algorithm: str) -> str:
    """Write ``data`` (whose large members may be :class:`Rows`) to ``path`` as :func:`_json_bytes` encodes it,
    streamed (never held whole as a string and as bytes besides the dict), fsynced; return the digest of those
    bytes."""
    with path.open("wb") as fh:
        written = write_inventory(data, fh, (algorithm,))
        fh.flush()
        os.fsync(fh.fileno())
    return written.digests[algorithm]


def _copy_durable(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)
    with target.open("rb+") as fh:
        os.fsync(fh.fileno())


def _invert(state: dict[str, list[str]]) -> dict[str, str]:
    return {lp: digest for digest, lps in state.items() for lp in lps}


@dataclass
class NewVersion:
    """The next version of an object, planned the same way by every backend: its inventory (the existing one,
    copied, or a new one), the digest algorithms, and the state before and after."""

    object_id: str
    inventory: dict[str, Any]
    alg: str
    other: str
    old_state: dict[str, list[str]]
    new_state: dict[str, list[str]]
    number: int
    unchanged: bool

    @property
    def vname(self) -> str:
        return f"v{self.number}"


def plan_version(
    object_id: str, existing: dict[str, Any] | None, files: Iterable[StagedFile], default_algorithm: str
) -> NewVersion:
    alg = existing["digestAlgorithm"] if existing else default_algorithm
    other = other_algorithm(alg)
    new_state: dict[str, list[str]] = {}
    for f in files:
        new_state.setdefault(f.digest(alg), []).append(f.logical_path)
    new_state = {d: sorted(lps) for d, lps in sorted(new_state.items())}
    old_state: dict[str, list[str]] = existing["versions"][existing["head"]]["state"] if existing else {}
    if existing and old_state == new_state:
        return NewVersion(object_id, existing, alg, other, old_state, new_state, int(existing["head"][1:]), True)
    inventory = (
        copy.deepcopy(existing)
        if existing
        else {
            "id": object_id,
            "type": INVENTORY_TYPE,
            "digestAlgorithm": alg,
            "manifest": {},
            "versions": {},
            "fixity": {other: {}},
        }
    )
    number = int(existing["head"][1:]) + 1 if existing else 1
    return NewVersion(object_id, inventory, alg, other, old_state, new_state, number, False)


def version_inventory(
    plan: NewVersion, *, created: dt.datetime, message: str, user_name: str, user_address: str | None
) -> bytes:
    """The inventory with the new version as its head, once its content is in place."""
    return _json_bytes(
        head_inventory(plan, created=created, message=message, user_name=user_name, user_address=user_address)
    )


def version_entry(
    created: dt.datetime, message: str, user_name: str, user_address: str | None, state: Any
) -> dict[str, Any]:
    """A version's block of an inventory: when, why, by whom, and its state (a dict, or :class:`Rows` streamed)."""
    user: dict[str, str] = {"name": user_name}
    if user_address:
        user["address"] = user_address
    return {
        "created": created.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "message": message,
        "user": user,
        "state": state,
    }


def head_inventory(
    plan: NewVersion, *, created: dt.datetime, message: str, user_name: str, user_address: str | None
) -> dict[str, Any]:
    """The plan's inventory, its new version made the head (for a backend that writes it out itself)."""
    plan.inventory["versions"][plan.vname] = version_entry(created, message, user_name, user_address, plan.new_state)
    plan.inventory["head"] = plan.vname
    return plan.inventory


def commit_result(plan: NewVersion, files: int, counts: Sequence[int]) -> CommitResult:
    old_paths, new_paths = _invert(plan.old_state), _invert(plan.new_state)
    return CommitResult(
        plan.object_id,
        plan.number,
        False,
        files,
        counts[0],
        counts[1],
        added=PathList(sorted(set(new_paths) - set(old_paths))),
        removed=PathList(sorted(set(old_paths) - set(new_paths))),
        modified=PathList(sorted(p for p in set(new_paths) & set(old_paths) if new_paths[p] != old_paths[p])),
    )


class _Window(io.RawIOBase):
    """A read-only view of ``length`` bytes of an open file from its current position (a byte range)."""

    def __init__(self, fh: BinaryIO, length: int) -> None:
        self._fh = fh
        self._left = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        if self._left <= 0 or not len(view):
            return 0
        n = self._fh.readinto(view[: min(len(view), self._left)])  # type: ignore[attr-defined]
        n = n or 0
        self._left -= n
        return int(n)

    def close(self) -> None:
        self._fh.close()
        super().close()


def _open_range(path: str | Path, start: int, length: int | None) -> BinaryIO:
    fh = open(path, "rb")  # noqa: SIM115 (the caller closes it, directly or through the window on it)
    if start:
        fh.seek(start)
    if length is None:
        return fh
    return io.BufferedReader(_Window(fh, max(0, length)))


class OcflStore:
    """A local OCFL storage root. ``object_path`` is for tests and tools that must reach the disk; the rest of
    Strongroom uses the :class:`~strongroom.store.base.ObjectStore` methods only."""

    def __init__(self, root: Path, staging: Path, digest_algorithm: str = "sha512") -> None:
        if digest_algorithm not in ALGORITHMS:
            raise StorageError(f"unsupported digest algorithm {digest_algorithm!r}", hint="use sha512 or sha256")
        self.root = root
        self.staging = staging
        self.digest_algorithm = digest_algorithm
        # Called with a step name at each point a crash could interrupt a write; tests use it to inject one.
        self.fault: Callable[[str], None] = lambda step: None
        self.locks = ObjectLocks(staging)
        self._inventories: dict[str, tuple[tuple[tuple[int, int, int], ...], dict[str, Any], frozenset[str]]] = {}
        self._held: Held[tuple[dict[str, Any], frozenset[str]]] = Held()
        self._heads = HeadIndex()

    # ---- the storage root ---------------------------------------------------------------------------------

    @classmethod
    def create(cls, root: Path, staging: Path, digest_algorithm: str = "sha512") -> OcflStore:
        if root.exists() and any(root.iterdir()):
            raise StorageError(f"{root} exists and is not empty", hint="an OCFL storage root needs an empty directory")
        root.mkdir(parents=True, exist_ok=True)
        staging.mkdir(parents=True, exist_ok=True)
        ext = root / "extensions" / LAYOUT
        ext.mkdir(parents=True)
        config = {"extensionName": LAYOUT, "digestAlgorithm": "sha256", "tupleSize": 3, "numberOfTuples": 3}
        _write_durable(ext / "config.json", _json_bytes(config))
        layout = {
            "extension": LAYOUT,
            "description": "sha256 of the object id in three tuples of three "
            "characters, then the percent-encoded object id, as the object root",
        }
        _write_durable(root / "ocfl_layout.json", _json_bytes(layout))
        _write_durable(root / ROOT_NAMASTE, b"ocfl_1.1\n")  # last: the declaration marks a finished root
        fsync_dir(root)
        return cls(root, staging, digest_algorithm)

    @classmethod
    def open(cls, root: Path, staging: Path, digest_algorithm: str = "sha512") -> OcflStore:
        namaste = root / ROOT_NAMASTE
        if not namaste.is_file() or namaste.read_bytes() != b"ocfl_1.1\n":
            raise StorageError(
                f"{root} is not an OCFL 1.1 storage root (no valid {ROOT_NAMASTE})",
                hint="check storage.root in strongroom.toml",
            )
        try:
            layout = json.loads((root / "ocfl_layout.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StorageError(f"{root}/ocfl_layout.json cannot be read: {exc}") from None
        if layout.get("extension") != LAYOUT:
            raise StorageError(f"{root} uses storage layout {layout.get('extension')!r}; Strongroom reads {LAYOUT}")
        staging.mkdir(parents=True, exist_ok=True)
        return cls(root, staging, digest_algorithm)

    def object_path(self, object_id: str) -> Path:
        return self.root / hash_and_id_path(object_id)

    def exists(self, object_id: str) -> bool:
        return (self.object_path(object_id) / OBJECT_NAMASTE).is_file()

    def _object_roots(self) -> Iterator[tuple[str, list[str]]]:
        """Each object's directory and the names of its files, in path order (the storage root's extensions left
        out): the one walk of the root that listing objects and their heads share."""
        root = os.fspath(self.root)  # plain strings: a Path made for each of a million directories costs seconds
        for dirpath, dirnames, filenames in os.walk(root):
            if OBJECT_NAMASTE in filenames:
                dirnames.clear()
                yield dirpath, filenames
            elif dirpath == root:
                dirnames[:] = sorted(d for d in dirnames if d != "extensions")
            else:
                dirnames.sort()

    def iter_object_ids(self) -> Iterator[str]:
        for dirpath, _filenames in self._object_roots():
            with contextlib.suppress(OSError, ValueError, KeyError):
                yield str(json.loads(Path(dirpath, INVENTORY).read_text(encoding="utf-8"))["id"])

    def heads(self) -> Iterator[tuple[str, int]]:
        """(id, head version) of every object, in the order of :meth:`iter_object_ids`: each root inventory's
        sidecar is read (its digest is the signature :class:`~strongroom.store.heads.HeadIndex` remembers heads
        by) and only inventories not seen with that digest are parsed."""
        return self._heads.heads(self._head_roots())

    def _head_roots(self) -> Iterator[tuple[str | None, Parse]]:
        for dirpath, filenames in self._object_roots():
            if INVENTORY not in filenames:
                continue  # as iter_object_ids: not an object a peer can be told of
            signature = None
            for alg in ALGORITHMS:
                if f"{INVENTORY}.{alg}" in filenames:
                    with (
                        contextlib.suppress(OSError, UnicodeDecodeError, IndexError),
                        open(f"{dirpath}/{INVENTORY}.{alg}", encoding="utf-8") as fh,
                    ):
                        signature = _signature(fh.read())
                    break
            yield signature, functools.partial(_parse_root, Path(dirpath))

    # ---- reading --------------------------------------------------------------------------------------------

    def inventory(self, object_id: str) -> dict[str, Any]:
        """The object's root inventory, after checking it against its sidecar digest. Read-only: it is parsed
        once and kept until the inventory or its sidecar changes on disk (their size, time and inode tell)."""
        return self._root(object_id)[0]

    def _root(self, object_id: str) -> tuple[dict[str, Any], frozenset[str]]:
        """The root inventory and every path inside the object a peer may ask for: checked once per hold while a
        reader holds the object still (see :class:`~strongroom.store.locks.Held`), else on every call."""
        return self._held.read(object_id, lambda: self._check_root(object_id))

    def _check_root(self, object_id: str) -> tuple[dict[str, Any], frozenset[str]]:
        obj = self.object_path(object_id)
        if not (obj / OBJECT_NAMASTE).is_file():
            raise StorageError(f"no OCFL object {object_id!r} in {self.root}")
        try:
            stats = tuple(
                (st.st_mtime_ns, st.st_size, st.st_ino)
                for st in (os.stat(obj / INVENTORY), *(os.stat(p) for p in sorted(obj.glob(f"{INVENTORY}.*"))))
            )
        except OSError:
            stats = ()
        hit = self._inventories.get(object_id)
        if hit is not None and stats and hit[0] == stats:
            return hit[1], hit[2]
        inv = read_inventory(obj)
        alg = inv["digestAlgorithm"]
        allowed = {cp for cps in inv["manifest"].values() for cp in cps}
        for vname in inv["versions"]:
            allowed |= {f"{vname}/{INVENTORY}", f"{vname}/{INVENTORY}.{alg}"}
        allowed |= {INVENTORY, f"{INVENTORY}.{alg}"}
        if stats:
            if len(self._inventories) > 256:
                self._inventories.clear()
            self._inventories[object_id] = (stats, inv, frozenset(allowed))
        return inv, frozenset(allowed)

    def listing(self, object_id: str) -> contextlib.AbstractContextManager[ObjectListing]:
        """The object's versions and files, its inventory read in pieces rather than whole (see
        :mod:`strongroom.store.listing`): for a reader that goes through them once, as cataloguing does."""
        from strongroom.store.listing import spooled  # only cataloguing needs it: commands start without it

        obj = str(self.object_path(object_id))
        return spooled(
            self,
            object_id,
            lambda: open(f"{obj}/{INVENTORY}", "rb"),
            lambda alg: Path(f"{obj}/{INVENTORY}.{alg}").read_text(encoding="utf-8"),
            lambda content_path: _open_range(f"{obj}/{content_path}", 0, None),
            lambda content_path: os.stat(f"{obj}/{content_path}").st_size,
        )

    def let_go(self, object_id: str) -> None:
        """Drop the object's parsed inventory from the cache (about 1 KB a file: a deposit of tens of thousands
        of files catalogued once need not keep it for the rest of the process)."""
        self._inventories.pop(object_id, None)

    def head_version(self, object_id: str) -> int:
        return int(self.inventory(object_id)["head"][1:])

    def state(self, object_id: str, version: int | None = None) -> dict[str, str]:
        """Logical path -> digest for a version (default: head)."""
        inv = self.inventory(object_id)
        return _invert(_version(inv, object_id, version)["state"])

    def versions(self, object_id: str) -> list[dict[str, Any]]:
        inv = self.inventory(object_id)
        return [
            {
                "version": int(v[1:]),
                **{k: inv["versions"][v][k] for k in ("created", "message", "user") if k in inv["versions"][v]},
            }
            for v in sorted(inv["versions"], key=lambda v: int(v[1:]))
        ]

    def files(self, object_id: str, version: int | None = None) -> list[StoredFile]:
        inv = self.inventory(object_id)
        alg = inv["digestAlgorithm"]
        other = other_algorithm(alg)
        other_by_content = {cp: d for d, cps in inv.get("fixity", {}).get(other, {}).items() for cp in cps}
        obj = self.object_path(object_id)
        out: list[StoredFile] = []
        for digest, logical_paths in _version(inv, object_id, version)["state"].items():
            content_path = inv["manifest"][digest][0]
            try:
                size = (obj / content_path).stat().st_size
            except OSError as exc:
                raise StorageError(
                    f"cannot read {content_path!r} of {object_id!r}: {exc.strerror or exc}",
                    hint="run strongroom audit to see what is damaged",
                ) from None
            second = other_by_content.get(content_path, "")
            sha512, sha256 = (digest, second) if alg == "sha512" else (second, digest)
            out.extend(StoredFile(lp, content_path, sha512, sha256, size) for lp in logical_paths)
        return sorted(out, key=lambda f: f.logical_path)

    def content_path(self, object_id: str, logical_path: str, version: int | None = None) -> str:
        inv = self.inventory(object_id)
        v = _version(inv, object_id, version)
        digest = _invert(v["state"]).get(logical_path)
        if digest is None:
            raise StorageError(f"object {object_id!r} has no file {logical_path!r} in that version")
        return str(inv["manifest"][digest][0])

    def open_file(
        self,
        object_id: str,
        logical_path: str,
        version: int | None = None,
        *,
        start: int = 0,
        length: int | None = None,
    ) -> BinaryIO:
        path = self.object_path(object_id) / self.content_path(object_id, logical_path, version)
        try:
            return _open_range(path, start, length)
        except OSError as exc:
            raise StorageError(
                f"cannot read {logical_path!r} of {object_id!r}: {exc.strerror or exc}",
                hint="run strongroom audit to see what is damaged",
            ) from None

    def _peer_path(self, object_id: str, content_path: str) -> str:
        """Where a file a peer (or the audit) may read is; a string, not a Path: an audit asks for thousands."""
        if content_path not in self._root(object_id)[1]:
            raise StorageError(f"{content_path!r} is not a file of object {object_id!r}")
        return f"{self.object_path(object_id)}/{content_path}"

    def open_content(self, object_id: str, content_path: str, *, start: int = 0, length: int | None = None) -> BinaryIO:
        path = self._peer_path(object_id, content_path)
        try:
            return _open_range(path, start, length)
        except FileNotFoundError:
            raise ContentMissing(f"{content_path!r} of {object_id!r} is not in storage") from None
        except OSError as exc:
            raise StorageError(f"cannot read {content_path!r} of {object_id!r}: {exc.strerror or exc}") from None

    def content_size(self, object_id: str, content_path: str) -> int:
        try:
            return os.stat(self._peer_path(object_id, content_path)).st_size
        except OSError as exc:
            raise StorageError(f"cannot read {content_path!r} of {object_id!r}: {exc.strerror or exc}") from None

    def stored(self, object_id: str) -> Iterator[tuple[str, int]]:
        # Paths as strings, not Path objects: an AU of many small files lists thousands, and making and relating a
        # Path for each cost more than its stat.
        obj = str(self.object_path(object_id))
        for dirpath, _dirs, names in os.walk(obj):
            prefix = dirpath[len(obj) + 1 :]
            for name in names:
                with contextlib.suppress(OSError):
                    yield f"{prefix}/{name}" if prefix else name, os.stat(os.path.join(dirpath, name)).st_size

    def stored_bytes(self, object_id: str) -> int:
        obj = str(self.object_path(object_id))
        total = 0
        for cps in self.inventory(object_id)["manifest"].values():
            for cp in cps:
                with contextlib.suppress(OSError):
                    total += os.stat(f"{obj}/{cp}").st_size
        return total

    def current_files(self, object_id: str) -> list[StagedFile]:
        out = []
        for f in self.files(object_id):
            if not (f.sha512 and f.sha256):
                raise StorageError(f"object {object_id}: {f.logical_path} lacks a sha512 or sha256 digest")
            out.append(StagedFile(f.logical_path, None, f.size, f.sha512, f.sha256))
        return out

    # ---- writing --------------------------------------------------------------------------------------------

    # Locks are files in the staging area (see :mod:`strongroom.store.locks`), shared with the S3 backend.

    def _lock(self, object_id: str) -> contextlib.AbstractContextManager[None]:
        """The one writer of the object (ObjectBusy for a second one)."""
        return self.locks.writing(object_id)

    def reading(self, object_id: str) -> contextlib.AbstractContextManager[None]:
        """Hold the object still while it is read whole (an audit, an export, a vote): a writer's publish step
        (renaming a version in, replacing the root inventory, replacing a repaired file) waits until it ends."""
        return self.locks.reading(object_id, self._held)

    def _publishing(self, object_id: str) -> contextlib.AbstractContextManager[None]:
        """The brief step that changes what readers see; it waits for readers to finish (``publish_wait`` s)."""
        return self.locks.publishing(object_id)

    @property
    def publish_wait(self) -> float:
        """Seconds a writer waits for readers of the object before it gives up."""
        return self.locks.publish_wait

    @publish_wait.setter
    def publish_wait(self, seconds: float) -> None:
        self.locks.publish_wait = seconds

    def _existing(self, object_id: str) -> dict[str, Any] | None:
        obj = self.object_path(object_id)
        return read_inventory(obj) if (obj / OBJECT_NAMASTE).is_file() else None

    def _write_version(
        self, object_id: str, vname: str, *, new_object: bool, populate: Callable[[Path], tuple[str, str]]
    ) -> None:
        """The one write sequence of a new version (see the module's docstring). ``populate(version_dir)`` writes
        and verifies the version's content files, then writes the version's inventory durably to
        ``version_dir/inventory.json`` and returns its digest algorithm and digest; it need not fsync the content
        files, which are all made durable (with every directory) before the version is published. Called with the
        object's lock held."""
        obj = self.object_path(object_id)
        work = self.staging / f"commit-{object_hash(object_id)[:16]}-{secrets.token_hex(4)}"
        publishing = False
        try:
            self._make_work(work, object_id)
            obj_work = work / "object"
            version_dir = obj_work / vname
            (version_dir / "content").mkdir(parents=True)
            alg, digest = populate(version_dir)
            sidecar = _sidecar(digest)
            _write_durable(version_dir / f"{INVENTORY}.{alg}", sidecar)
            # Every content file (populate may leave their fsyncs to this step) and every directory is made durable
            # here, before anything is renamed into the storage root: many fsyncs in flight share journal commits.
            fsync_tree(version_dir)
            self.fault("version-staged")
            with self._publishing(object_id):
                publishing = True
                self._publish(obj, obj_work, version_dir, vname, sidecar, alg, work, new_object=new_object)
            self.fault("committed")
        except OSError as exc:
            if not is_full(exc):
                raise
            kept = (
                f"{vname} of {object_id} is in place and is completed at the next start, once there is room"
                if publishing
                else "nothing half-written was kept"
            )
            raise disk_full("the storage root and its staging area", self.staging, stored=kept) from None
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _publish(
        self,
        obj: Path,
        obj_work: Path,
        version_dir: Path,
        vname: str,
        sidecar: bytes,
        alg: str,
        work: Path,
        *,
        new_object: bool,
    ) -> None:
        """Put the staged version in place; the root inventory is a copy of the version's (copied file to file)."""
        if new_object:
            _write_durable(obj_work / OBJECT_NAMASTE, b"ocfl_object_1.1\n")
            _copy_durable(version_dir / INVENTORY, obj_work / INVENTORY)
            _write_durable(obj_work / f"{INVENTORY}.{alg}", sidecar)
            fsync_dir(obj_work)
            obj.parent.mkdir(parents=True, exist_ok=True)
            os.rename(obj_work, obj)
            fsync_dir(obj.parent)
        else:
            os.rename(version_dir, obj / vname)
            fsync_dir(obj)
            self.fault("version-renamed")
            tmp = work / f"tmp-{INVENTORY}"
            _copy_durable(obj / vname / INVENTORY, tmp)
            os.replace(tmp, obj / INVENTORY)
            fsync_dir(obj)
            self.fault("inventory-replaced")
            self._replace(obj / f"{INVENTORY}.{alg}", sidecar, work)

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
        """A new version whose state is ``files``. They are read once, into a scratch table (``VersionFiles``) in
        a work directory of the staging area that :meth:`recover` removes after a crash; the content is copied and
        the inventory written from there (the existing inventory is read whole)."""
        created = created or dt.datetime.now(dt.UTC).replace(microsecond=0)
        with self._lock(object_id):
            scratch = self.staging / f"commit-{object_hash(object_id)[:16]}-{secrets.token_hex(4)}-files"
            try:
                self._make_work(scratch, object_id)
                existing = self._existing(object_id)
                alg = existing["digestAlgorithm"] if existing else self.digest_algorithm
                table = VersionFiles(scratch / "files.sqlite", files, alg, other_algorithm(alg))
                try:
                    table.check_paths()
                    return self._commit_table(
                        object_id,
                        existing,
                        table,
                        created=created,
                        message=message,
                        user_name=user_name,
                        user_address=user_address,
                        on_bytes=on_bytes,
                    )
                finally:
                    table.close()
            finally:
                shutil.rmtree(scratch, ignore_errors=True)

    def _commit_table(
        self,
        object_id: str,
        existing: dict[str, Any] | None,
        table: VersionFiles,
        *,
        created: dt.datetime,
        message: str,
        user_name: str,
        user_address: str | None,
        on_bytes: Callable[[int], None] | None,
    ) -> CommitResult:
        old_state: dict[str, list[str]] = existing["versions"][existing["head"]]["state"] if existing else {}
        if existing and table.same_state(old_state):
            return CommitResult(object_id, int(existing["head"][1:]), True, table.count)
        number = int(existing["head"][1:]) + 1 if existing else 1
        vname = f"v{number}"
        alg, other = table.alg, table.other
        inventory: dict[str, Any] = (
            dict(existing)
            if existing
            else {"id": object_id, "type": INVENTORY_TYPE, "digestAlgorithm": alg, "manifest": {}, "versions": {}}
        )
        counts = [0, 0]

        def populate(version_dir: Path) -> tuple[str, str]:
            manifest: dict[str, list[str]] = inventory["manifest"]
            counts[:] = self._copy_new_content(
                table.to_copy(manifest), inventory, version_dir, vname, alg, other, on_bytes
            )
            fixity = dict(inventory.get("fixity") or {})
            fixity[other] = merged(fixity.get(other, {}), table.fixity(vname))
            versions = dict(inventory["versions"])
            versions[vname] = version_entry(created, message, user_name, user_address, Rows(table.state))
            written = {
                **inventory,
                "manifest": merged(manifest, table.manifest(vname)),
                "fixity": fixity,
                "versions": versions,
                "head": vname,
            }
            return alg, _dump_durable(version_dir / INVENTORY, written, alg)

        self._write_version(object_id, vname, new_object=existing is None, populate=populate)
        added, removed, modified = table.changes(old_state)
        return CommitResult(
            object_id, number, False, table.count, counts[0], counts[1], added=added, removed=removed, modified=modified
        )

    def _copy_new_content(
        self,
        files: Iterable[StagedFile],
        inventory: dict[str, Any],
        version_dir: Path,
        vname: str,
        alg: str,
        other: str,
        on_bytes: Callable[[int], None] | None = None,
    ) -> tuple[int, int]:
        """Copy ``files`` (by logical path: those whose digest the object lacks), re-hashing each; returns (count,
        bytes)."""
        count = size = 0
        for f in files:
            if f.source is None:
                raise StorageError(
                    f"{f.logical_path!r} is to be carried forward, but object {inventory['id']!r} does not hold its "
                    "bytes; nothing was committed"
                )
            dest = version_dir / "content" / f.logical_path
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                with f.source.open("rb") as src:
                    got = copy_and_hash(src, dest, (alg, other), on_bytes, sync=False)  # see fsync_tree
            except OSError as exc:
                if is_full(exc):
                    raise  # a write failed, not the read: reported as the disk that is full
                raise StorageError(f"cannot read {f.source} for {f.logical_path!r}: {exc.strerror or exc}") from None
            if got.digests[alg] != f.digest(alg) or got.digests[other] != f.digest(other) or got.size != f.size:
                raise StorageError(
                    f"{f.logical_path!r} changed while being stored (its digest no longer matches); nothing was "
                    "committed",
                    hint="make sure nothing modifies the package during a deposit, then retry",
                )
            count += 1
            size += got.size
        return count, size

    def _replace(self, target: Path, data: bytes, work: Path) -> None:
        tmp = work / f"tmp-{target.name}"
        _write_durable(tmp, data)
        os.replace(tmp, target)
        fsync_dir(target.parent)

    # ---- replication and repair -----------------------------------------------------------------------------

    def install_version(self, object_id: str, version_inventory: bytes, fetch: Fetch) -> int:
        offered = offered_version(object_id, version_inventory)
        alg, vname, number, manifest = offered.algorithm, offered.vname, offered.number, offered.manifest
        other, expected, other_expected = other_algorithm(alg), offered.expected, offered.other_expected
        new_paths = offered.new_paths
        with self._lock(object_id):
            existing = self._existing(object_id)
            have = int(existing["head"][1:]) if existing else 0
            if number != have + 1:
                raise StorageError(f"{object_id!r}: cannot install {vname} on top of v{have}")
            if existing and any(
                existing["manifest"].get(d) != cps for d, cps in manifest.items() if d in existing["manifest"]
            ):
                raise StorageError(f"{object_id!r}: the offered {vname} rewrites content of earlier versions")

            def populate(version_dir: Path) -> tuple[str, str]:
                for cp in new_paths:
                    dest = version_dir.parent / cp
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    got = write_chunks(fetch(cp), dest, (alg, other))
                    if got.digests[alg] != expected[cp] or (
                        cp in other_expected and got.digests[other] != other_expected[cp]
                    ):
                        raise StorageError(
                            f"{object_id!r}: {cp} from the other copy does not match its inventory "
                            "digest; nothing was installed"
                        )
                _write_durable(version_dir / INVENTORY, version_inventory)
                return alg, hashlib.new(alg, version_inventory).hexdigest()

            self._write_version(object_id, vname, new_object=existing is None, populate=populate)
        return number

    def replace_content(self, object_id: str, content_path: str, chunks: Iterable[bytes]) -> None:
        with self._lock(object_id):
            inv = self.inventory(object_id)
            alg = inv["digestAlgorithm"]
            digest = next((d for d, cps in inv["manifest"].items() if content_path in cps), None)
            if digest is None:
                raise StorageError(f"{content_path!r} is not in the manifest of {object_id!r}")
            tmp = self.staging / f"tmp-repair-{secrets.token_hex(6)}"
            try:
                try:
                    written = write_chunks(chunks, tmp, (alg,))
                except OSError as exc:
                    if is_full(exc):
                        raise disk_full("the storage root and its staging area", self.staging) from None
                    raise
                if written.digests[alg] != digest:
                    raise StorageError(f"the repair of {content_path!r} does not match the inventory; not applied")
                target = self.object_path(object_id) / content_path
                with self._publishing(object_id):
                    if target.is_dir():
                        shutil.rmtree(target)  # a directory squatting on a file's name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(tmp, target)
                    fsync_dir(target.parent)
            finally:
                tmp.unlink(missing_ok=True)

    def remove_object(self, object_id: str) -> None:
        obj = self.object_path(object_id)
        with self._lock(object_id):
            if not (obj / OBJECT_NAMASTE).is_file():
                raise StorageError(f"no OCFL object {object_id!r} in {self.root}")
            work = self.staging / f"release-{object_hash(object_id)[:16]}-{secrets.token_hex(4)}"
            self._make_work(work, object_id)
            self.fault("release-staged")
            with self._publishing(object_id):  # no audit, export or vote is reading it
                # The highest directory that holds nothing but this object goes, in one rename: OCFL allows no
                # empty directory in the storage hierarchy, so none is left even for a moment.
                top = obj
                while top.parent != self.root and len(list(top.parent.iterdir())) == 1:
                    top = top.parent
                os.rename(top, work / "object")
                fsync_dir(top.parent)
                fsync_dir(work)
            self._inventories.pop(object_id, None)
            self.fault("release-renamed")
            shutil.rmtree(work)

    def _make_work(self, work: Path, object_id: str) -> None:
        """Make the work directory ``work`` of a write to ``object_id`` (the caller holds the object's lock), naming
        the object from the moment it appears: it is made under a name :meth:`recover` does not list, its id written
        durably inside, then renamed to ``work``. Made in place, it would be empty for an instant, and a recovery
        listing it then (any process opening the node) would take it for a crashed one's and remove it, failing the
        live write."""
        nascent = self.staging / f"{NASCENT}{work.name}"
        nascent.mkdir()
        try:
            _write_durable(nascent / "object-id", object_id.encode("utf-8"))
            os.rename(nascent, work)
        except BaseException:
            shutil.rmtree(nascent, ignore_errors=True)
            raise
        fsync_dir(self.staging)

    # ---- recovery -------------------------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Finish or undo commits a crash interrupted, and remove stale scratch files. Idempotent."""
        actions: list[str] = []
        if not self.staging.is_dir():
            return actions
        for work in sorted(self.staging.glob("commit-*")):
            try:
                object_id: str | None = (work / "object-id").read_text(encoding="utf-8")
            except FileNotFoundError:
                if not work.exists():
                    continue  # a live commit's, removed by it once listed: nothing to recover
                object_id = None
            if object_id is not None:
                try:
                    with self._lock(object_id), self._publishing(object_id):
                        actions += self._recover_object(object_id)
                except ObjectBusy:
                    continue  # a live commit: not ours to touch
            shutil.rmtree(work, ignore_errors=True)
            actions.append(f"removed interrupted commit work directory {work.name}")
        for work in sorted(self.staging.glob("release-*")):
            # The object left the root in one rename, so it is either whole in the root (the removal never began:
            # it stays) or whole here (the removal finished but for cleaning up).
            id_file = work / "object-id"
            if id_file.is_file():
                try:
                    with self._lock(id_file.read_text(encoding="utf-8")):
                        pass
                except ObjectBusy:
                    continue  # a live removal: not ours to touch
            shutil.rmtree(work, ignore_errors=True)
            actions.append(f"removed interrupted release work directory {work.name}")
        for nascent in sorted(self.staging.glob(f"{NASCENT}*")):
            # Being made by a live write for an instant, or left by a crash before it was used: nothing in it but
            # the object's id, so one only waits until it is certainly not a live one's.
            try:
                stale = time.time() - nascent.stat().st_mtime > NASCENT_STALE
            except FileNotFoundError:
                continue
            if stale:
                shutil.rmtree(nascent, ignore_errors=True)
                actions.append(f"removed unused work directory {nascent.name}")
        return actions

    def _recover_object(self, object_id: str) -> list[str]:
        obj = self.object_path(object_id)
        if not (obj / OBJECT_NAMASTE).is_file():
            return []  # a new object is renamed into place whole, so an absent one was never started
        actions = []
        while True:
            root_bytes = (obj / INVENTORY).read_bytes()
            root_inv = json.loads(root_bytes)
            alg = root_inv["digestAlgorithm"]
            nxt = obj / f"v{int(root_inv['head'][1:]) + 1}"
            if not nxt.is_dir():
                break
            try:
                inv = read_inventory(nxt)
                complete = inv.get("head") == nxt.name and inv["id"] == object_id
            except StorageError:
                complete = False
            if not complete:
                shutil.rmtree(nxt)
                actions.append(f"{object_id}: removed incomplete {nxt.name}")
                break
            self._install_root_inventory(obj, nxt, alg)
            actions.append(f"{object_id}: finished committing {nxt.name}")
        sidecar = obj / f"{INVENTORY}.{alg}"
        if not sidecar.is_file() or sidecar.read_bytes() != _sidecar_bytes(root_bytes, alg):
            head_dir = obj / root_inv["head"]
            if (head_dir / INVENTORY).read_bytes() == root_bytes:
                self._replace_plain(sidecar, _sidecar_bytes(root_bytes, alg))
                actions.append(f"{object_id}: rewrote the root inventory sidecar")
        return actions

    def _install_root_inventory(self, obj: Path, version_dir: Path, alg: str) -> None:
        inv_bytes = (version_dir / INVENTORY).read_bytes()
        self._replace_plain(obj / INVENTORY, inv_bytes)
        self._replace_plain(obj / f"{INVENTORY}.{alg}", _sidecar_bytes(inv_bytes, alg))

    def _replace_plain(self, target: Path, data: bytes) -> None:
        tmp = self.staging / f"tmp-{secrets.token_hex(6)}"
        _write_durable(tmp, data)
        os.replace(tmp, target)
        fsync_dir(target.parent)


@dataclass(frozen=True)
class OfferedVersion:
    """A version another copy offers (its inventory, as a peer sends it for replication), read and checked: what
    :meth:`ObjectStore.install_version` needs, each piece of the shape OCFL gives it."""

    vname: str
    number: int
    algorithm: str
    manifest: dict[str, list[str]]
    expected: dict[str, str]  # each content path's digest
    other_expected: dict[str, str]  # the other algorithm's digest, where the inventory's fixity block gives one
    new_paths: list[str]  # the content paths of this version: checked, to be fetched


def _digest_map(value: Any) -> dict[str, list[str]] | None:
    """``value`` when it is a map of digests to lists of content paths (a manifest, a fixity block), else None."""
    if not isinstance(value, dict):
        return None
    for digest, paths in value.items():
        if not isinstance(digest, str) or not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            return None
    return value


def offered_version(object_id: str, data: bytes) -> OfferedVersion:
    """The version whose inventory is ``data``, offered for ``object_id`` by another copy; StorageError naming what
    is wrong when it is not JSON, not an inventory of this object, or not of the shape OCFL gives it (whatever the
    sender: a peer's bytes are checked here before a file is fetched or a path made)."""
    try:
        inv = json.loads(data)
    except (ValueError, RecursionError):
        raise StorageError(f"the inventory offered for {object_id!r} is not JSON") from None
    if not isinstance(inv, dict) or inv.get("id") != object_id or inv.get("type") != INVENTORY_TYPE:
        raise StorageError(f"the inventory offered is not for {object_id!r}")
    alg = inv.get("digestAlgorithm")
    if alg not in ALGORITHMS:
        raise StorageError(f"the inventory offered for {object_id!r} has no usable digest algorithm")
    head, manifest = str(inv.get("head")), _digest_map(inv.get("manifest"))
    fixity = inv.get("fixity", {})
    other = other_algorithm(str(alg))
    others = _digest_map(fixity.get(other, {})) if isinstance(fixity, dict) else None
    numbered = re.fullmatch(r"v[0-9]{1,9}", head) is not None and int(head[1:]) >= 1
    if not numbered or manifest is None or others is None:
        raise StorageError(f"the inventory offered for {object_id!r} is malformed")
    expected = {cp: d for d, cps in manifest.items() for cp in cps}
    other_expected = {cp: d for d, cps in others.items() for cp in cps}
    new_paths = check_logical_paths(cp for cp in expected if cp.startswith(f"{head}/"))
    return OfferedVersion(head, int(head[1:]), str(alg), manifest, expected, other_expected, new_paths)


def _version(inv: dict[str, Any], object_id: str, version: int | None) -> dict[str, Any]:
    vname = f"v{version}" if version else inv["head"]
    if vname not in inv["versions"]:
        raise StorageError(f"object {object_id!r} has no version {vname}")
    return dict(inv["versions"][vname])


def read_inventory(directory: Path) -> dict[str, Any]:
    """Read ``directory/inventory.json`` and check it against its sidecar; StorageError if either is bad."""
    path = directory / INVENTORY
    # The bytes are handed over with no name kept here, so that check_inventory can let them go before it parses.
    return check_inventory(
        _read_bytes(path),
        lambda alg: (directory / f"{INVENTORY}.{alg}").read_text(encoding="utf-8"),
        str(path),
        own=True,
    )


def _signature(sidecar: str) -> str:
    """What a sidecar says of its inventory: the digest (the file name after it is not part of it)."""
    return sidecar.split()[0].lower()


def _parse_root(directory: Path) -> tuple[str, dict[str, Any]]:
    """A root inventory checked against its sidecar, and the signature of the sidecar the check used."""
    used: list[str] = []

    def sidecar(alg: str) -> str:
        used.append(_signature((directory / f"{INVENTORY}.{alg}").read_text(encoding="utf-8")))
        return used[-1]

    inv = check_inventory(_read_bytes(directory / INVENTORY), sidecar, str(directory / INVENTORY), own=True)
    return used[-1], inv


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise StorageError(f"{path} cannot be read: {exc}", hint="restore it from another copy") from None


def check_inventory(data: bytes, read_sidecar: Callable[[str], str], name: str, *, own: bool = False) -> dict[str, Any]:
    """An inventory's JSON, after checking its bytes against the sidecar ``read_sidecar(algorithm)`` returns. With
    ``own`` (the caller keeps no other reference to ``data``), the bytes are hashed with both algorithms first and
    let go before the text is parsed, so that a large inventory is never held as bytes, text and objects at once;
    the result and the errors are the same."""
    digests = {alg: hashlib.new(alg, data).hexdigest() for alg in ALGORITHMS} if own else None
    try:
        if own:
            text = data.decode(json.detect_encoding(data), "surrogatepass")  # what json.loads does with bytes
            del data
            inv = json.loads(text)
            del text
        else:
            inv = json.loads(data)
    except ValueError as exc:
        raise StorageError(f"{name} cannot be read: {exc}", hint="restore it from another copy") from None
    alg = inv.get("digestAlgorithm") if isinstance(inv, dict) else None
    if alg not in ALGORITHMS:
        raise StorageError(f"{name} has no usable digestAlgorithm")
    try:
        recorded = read_sidecar(str(alg)).split()[0]
    except (OSError, IndexError, UnicodeDecodeError, StorageError):
        raise StorageError(f"the sidecar of {name} is missing or unreadable") from None
    found = digests[str(alg)] if digests is not None else hashlib.new(str(alg), data).hexdigest()
    if found != recorded.lower():
        raise StorageError(f"{name} does not match its sidecar digest", hint="restore the inventory from another copy")
    return dict(inv)
