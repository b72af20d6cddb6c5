"""An OCFL 1.1 storage root: objects are created and versioned atomically, and read back as streams.

Writing a version (``commit_version``):

1. a work directory ``staging/commit-<hash>-<token>/`` is made, naming the object, under the object's lock;
2. new content (digests not yet in the object) is copied into it while being re-hashed, then the version's
   ``inventory.json`` and sidecar are written and everything is fsynced;
3. a new object is renamed into place whole; for an existing object the version directory is renamed in and
   then the root inventory and its sidecar are replaced (``os.replace``);
4. the work directory is removed.

A crash leaves a work directory behind; :meth:`OcflStore.recover` reads it and rolls the object forward (the
version directory is complete, since it was renamed in only once whole) or back, so an object is always
exactly at one version. The storage root holds nothing but what OCFL allows; scratch space lives outside it.

Must not import: the catalog, services, faces.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import fcntl
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from strongroom.errors import ObjectBusy, StorageError
from strongroom.store.hashing import copy_and_hash, fsync_dir, hash_file
from strongroom.store.paths import check_logical_paths, hash_and_id_path, object_hash

ROOT_NAMASTE = "0=ocfl_1.1"
OBJECT_NAMASTE = "0=ocfl_object_1.1"
INVENTORY = "inventory.json"
INVENTORY_TYPE = "https://ocfl.io/1.1/spec/#inventory"
LAYOUT = "0003-hash-and-id-n-tuple-storage-layout"
ALGORITHMS = ("sha512", "sha256")


@dataclass(frozen=True)
class StagedFile:
    """A file ready to be stored: where its bytes are now, and the digests they must have."""

    logical_path: str
    source: Path
    size: int
    sha512: str
    sha256: str

    def digest(self, algorithm: str) -> str:
        return self.sha512 if algorithm == "sha512" else self.sha256


@dataclass(frozen=True)
class CommitResult:
    object_id: str
    version: int
    unchanged: bool
    files: int
    new_content_files: int = 0
    new_bytes: int = 0
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)


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
    import hashlib

    return f"{hashlib.new(algorithm, inventory_bytes).hexdigest()}  {INVENTORY}\n".encode()


def _invert(state: dict[str, list[str]]) -> dict[str, str]:
    return {lp: digest for digest, lps in state.items() for lp in lps}


class OcflStore:
    def __init__(self, root: Path, staging: Path, digest_algorithm: str = "sha512") -> None:
        if digest_algorithm not in ALGORITHMS:
            raise StorageError(f"unsupported digest algorithm {digest_algorithm!r}", hint="use sha512 or sha256")
        self.root = root
        self.staging = staging
        self.digest_algorithm = digest_algorithm
        # Called with a step name at each point a crash could interrupt a commit; tests use it to inject one.
        self.fault: Callable[[str], None] = lambda step: None

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

    def iter_object_ids(self) -> Iterator[str]:
        for dirpath, dirnames, filenames in os.walk(self.root):
            if OBJECT_NAMASTE in filenames:
                dirnames.clear()
                with contextlib.suppress(OSError, ValueError, KeyError):
                    yield str(json.loads((Path(dirpath) / INVENTORY).read_text(encoding="utf-8"))["id"])
            elif Path(dirpath) == self.root:
                dirnames[:] = sorted(d for d in dirnames if d != "extensions")
            else:
                dirnames.sort()

    # ---- reading --------------------------------------------------------------------------------------------

    def inventory(self, object_id: str) -> dict[str, Any]:
        """The object's root inventory, after checking it against its sidecar digest."""
        obj = self.object_path(object_id)
        if not (obj / OBJECT_NAMASTE).is_file():
            raise StorageError(f"no OCFL object {object_id!r} in {self.root}")
        return read_inventory(obj)

    def head_version(self, object_id: str) -> int:
        return int(self.inventory(object_id)["head"][1:])

    def state(self, object_id: str, version: int | None = None) -> dict[str, str]:
        """Logical path -> digest for a version (default: head)."""
        inv = self.inventory(object_id)
        vname = f"v{version}" if version else inv["head"]
        if vname not in inv["versions"]:
            raise StorageError(f"object {object_id!r} has no version {vname}")
        return _invert(inv["versions"][vname]["state"])

    def versions(self, object_id: str) -> list[dict[str, Any]]:
        inv = self.inventory(object_id)
        return [
            {
                "version": int(v[1:]),
                **{k: inv["versions"][v][k] for k in ("created", "message", "user") if k in inv["versions"][v]},
            }
            for v in sorted(inv["versions"], key=lambda v: int(v[1:]))
        ]

    def content_path_for(self, object_id: str, logical_path: str, version: int | None = None) -> str:
        inv = self.inventory(object_id)
        vname = f"v{version}" if version else inv["head"]
        digest = _invert(inv["versions"][vname]["state"]).get(logical_path)
        if digest is None:
            raise StorageError(f"object {object_id!r} {vname} has no file {logical_path!r}")
        return str(inv["manifest"][digest][0])

    def open_file(self, object_id: str, logical_path: str, version: int | None = None) -> BinaryIO:
        path = self.object_path(object_id) / self.content_path_for(object_id, logical_path, version)
        try:
            return path.open("rb")
        except OSError as exc:
            raise StorageError(
                f"cannot read {logical_path!r} of {object_id!r}: {exc.strerror or exc}",
                hint="run strongroom audit to see what is damaged",
            ) from None

    def stored_bytes(self, object_id: str) -> int:
        obj = self.object_path(object_id)
        total = 0
        for cps in self.inventory(object_id)["manifest"].values():
            for cp in cps:
                with contextlib.suppress(OSError):
                    total += (obj / cp).stat().st_size
        return total

    # ---- writing --------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self, object_id: str) -> Iterator[None]:
        locks = self.staging / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        with (locks / f"{object_hash(object_id)}.lock").open("a") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ObjectBusy(
                    f"object {object_id!r} is being written by another process",
                    hint="wait for the other deposit to finish, then try again",
                ) from None
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def commit_version(
        self,
        object_id: str,
        files: Sequence[StagedFile],
        *,
        message: str,
        user_name: str,
        user_address: str | None = None,
        created: dt.datetime | None = None,
        on_bytes: Callable[[int], None] | None = None,
    ) -> CommitResult:
        check_logical_paths(f.logical_path for f in files)
        created = created or dt.datetime.now(dt.UTC).replace(microsecond=0)
        with self._lock(object_id):
            obj = self.object_path(object_id)
            existing = read_inventory(obj) if (obj / OBJECT_NAMASTE).is_file() else None
            alg = existing["digestAlgorithm"] if existing else self.digest_algorithm
            other = other_algorithm(alg)
            new_state: dict[str, list[str]] = {}
            for f in files:
                new_state.setdefault(f.digest(alg), []).append(f.logical_path)
            new_state = {d: sorted(lps) for d, lps in sorted(new_state.items())}
            old_state: dict[str, list[str]] = existing["versions"][existing["head"]]["state"] if existing else {}
            if existing and old_state == new_state:
                return CommitResult(object_id, int(existing["head"][1:]), True, len(files))
            number = int(existing["head"][1:]) + 1 if existing else 1
            vname = f"v{number}"
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
            work = self.staging / f"commit-{object_hash(object_id)[:16]}-{secrets.token_hex(4)}"
            work.mkdir()
            try:
                (work / "object-id").write_text(object_id, encoding="utf-8")
                fsync_dir(self.staging)
                obj_work = work / "object"
                version_dir = obj_work / vname
                (version_dir / "content").mkdir(parents=True)
                new_files, new_bytes = self._copy_new_content(
                    files, inventory, version_dir, vname, alg, other, on_bytes
                )
                user: dict[str, str] = {"name": user_name}
                if user_address:
                    user["address"] = user_address
                inventory["versions"][vname] = {
                    "created": created.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
                    "message": message,
                    "user": user,
                    "state": new_state,
                }
                inventory["head"] = vname
                inv_bytes = _json_bytes(inventory)
                sidecar = _sidecar_bytes(inv_bytes, alg)
                _write_durable(version_dir / INVENTORY, inv_bytes)
                _write_durable(version_dir / f"{INVENTORY}.{alg}", sidecar)
                fsync_dir(version_dir)
                self.fault("version-staged")
                if existing is None:
                    _write_durable(obj_work / OBJECT_NAMASTE, b"ocfl_object_1.1\n")
                    _write_durable(obj_work / INVENTORY, inv_bytes)
                    _write_durable(obj_work / f"{INVENTORY}.{alg}", sidecar)
                    fsync_dir(obj_work)
                    obj.parent.mkdir(parents=True, exist_ok=True)
                    os.rename(obj_work, obj)
                    fsync_dir(obj.parent)
                else:
                    os.rename(version_dir, obj / vname)
                    fsync_dir(obj)
                    self.fault("version-renamed")
                    self._replace(obj / INVENTORY, inv_bytes, work)
                    self.fault("inventory-replaced")
                    self._replace(obj / f"{INVENTORY}.{alg}", sidecar, work)
                self.fault("committed")
            finally:
                shutil.rmtree(work, ignore_errors=True)
        old_paths, new_paths = _invert(old_state), _invert(new_state)
        return CommitResult(
            object_id,
            number,
            False,
            len(files),
            new_files,
            new_bytes,
            added=sorted(set(new_paths) - set(old_paths)),
            removed=sorted(set(old_paths) - set(new_paths)),
            modified=sorted(p for p in set(new_paths) & set(old_paths) if new_paths[p] != old_paths[p]),
        )

    def _copy_new_content(
        self,
        files: Sequence[StagedFile],
        inventory: dict[str, Any],
        version_dir: Path,
        vname: str,
        alg: str,
        other: str,
        on_bytes: Callable[[int], None] | None = None,
    ) -> tuple[int, int]:
        """Copy files whose digest the object lacks, re-hashing each; returns (count, bytes)."""
        count = size = 0
        manifest: dict[str, list[str]] = inventory["manifest"]
        fixity: dict[str, list[str]] = inventory.setdefault("fixity", {}).setdefault(other, {})
        for f in sorted(files, key=lambda f: f.logical_path):
            if f.digest(alg) in manifest:
                continue  # already stored (in an earlier version, or under another logical path now)
            dest = version_dir / "content" / f.logical_path
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                with f.source.open("rb") as src:
                    got = copy_and_hash(src, dest, (alg, other), on_bytes)
            except OSError as exc:
                raise StorageError(f"cannot read {f.source} for {f.logical_path!r}: {exc.strerror or exc}") from None
            if got.digests[alg] != f.digest(alg) or got.digests[other] != f.digest(other) or got.size != f.size:
                raise StorageError(
                    f"{f.logical_path!r} changed while being stored (its digest no longer matches); nothing was "
                    "committed",
                    hint="make sure nothing modifies the package during a deposit, then retry",
                )
            content_path = f"{vname}/content/{f.logical_path}"
            manifest[f.digest(alg)] = [content_path]
            fixity.setdefault(f.digest(other), []).append(content_path)
            count += 1
            size += got.size
        for dirpath, _dirs, _files in os.walk(version_dir, topdown=False):
            fsync_dir(Path(dirpath))
        return count, size

    def _replace(self, target: Path, data: bytes, work: Path) -> None:
        tmp = work / f"tmp-{target.name}"
        _write_durable(tmp, data)
        os.replace(tmp, target)
        fsync_dir(target.parent)

    # ---- replication and repair -----------------------------------------------------------------------------

    def install_version(self, object_id: str, version_inventory: bytes, fetch: Callable[[str, Path], None]) -> int:
        """Add the next version of ``object_id`` from another copy: ``version_inventory`` is that version's
        inventory.json (as the peer holds it); ``fetch(content_path, dest)`` writes one content file. Every
        file is verified against the inventory's digests before the version is renamed in. Returns the
        version number installed."""
        try:
            inv = json.loads(version_inventory)
        except ValueError:
            raise StorageError(f"the inventory offered for {object_id!r} is not JSON") from None
        if inv.get("id") != object_id or inv.get("type") != INVENTORY_TYPE:
            raise StorageError(f"the inventory offered is not for {object_id!r}")
        alg = inv.get("digestAlgorithm")
        if alg not in ALGORITHMS:
            raise StorageError(f"the inventory offered for {object_id!r} has no usable digest algorithm")
        vname = inv["head"]
        number = int(vname[1:])
        with self._lock(object_id):
            obj = self.object_path(object_id)
            existing = read_inventory(obj) if (obj / OBJECT_NAMASTE).is_file() else None
            have = int(existing["head"][1:]) if existing else 0
            if number != have + 1:
                raise StorageError(f"{object_id!r}: cannot install {vname} on top of v{have}")
            if existing and any(
                existing["manifest"].get(d) != cps for d, cps in inv["manifest"].items() if d in existing["manifest"]
            ):
                raise StorageError(f"{object_id!r}: the offered {vname} rewrites content of earlier versions")
            other = other_algorithm(alg)
            expected = {cp: d for d, cps in inv["manifest"].items() for cp in cps}
            other_expected = {cp: d for d, cps in inv.get("fixity", {}).get(other, {}).items() for cp in cps}
            work = self.staging / f"commit-{object_hash(object_id)[:16]}-{secrets.token_hex(4)}"
            work.mkdir()
            try:
                (work / "object-id").write_text(object_id, encoding="utf-8")
                obj_work = work / "object"
                version_dir = obj_work / vname
                (version_dir / "content").mkdir(parents=True)
                for cp, digest in sorted(expected.items()):
                    if not cp.startswith(f"{vname}/"):
                        continue
                    check_logical_paths([cp])
                    dest = obj_work / cp
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    fetch(cp, dest)
                    got = hash_file(dest, (alg, other))
                    if got.digests[alg] != digest or (
                        cp in other_expected and got.digests[other] != other_expected[cp]
                    ):
                        raise StorageError(
                            f"{object_id!r}: {cp} from the other copy does not match its inventory "
                            "digest; nothing was installed"
                        )
                sidecar = _sidecar_bytes(version_inventory, alg)
                _write_durable(version_dir / INVENTORY, version_inventory)
                _write_durable(version_dir / f"{INVENTORY}.{alg}", sidecar)
                for dirpath, _dirs, _files in os.walk(version_dir, topdown=False):
                    fsync_dir(Path(dirpath))
                if existing is None:
                    _write_durable(obj_work / OBJECT_NAMASTE, b"ocfl_object_1.1\n")
                    _write_durable(obj_work / INVENTORY, version_inventory)
                    _write_durable(obj_work / f"{INVENTORY}.{alg}", sidecar)
                    obj.parent.mkdir(parents=True, exist_ok=True)
                    os.rename(obj_work, obj)
                    fsync_dir(obj.parent)
                else:
                    os.rename(version_dir, obj / vname)
                    fsync_dir(obj)
                    self._replace(obj / INVENTORY, version_inventory, work)
                    self._replace(obj / f"{INVENTORY}.{alg}", sidecar, work)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        return number

    def read_object_file(self, object_id: str, relpath: str) -> Path:
        """The path of a file a peer may ask for: a content file in the manifest, or a version's inventory
        and sidecar. Anything else (and any path trick) is StorageError."""
        inv = self.inventory(object_id)
        alg = inv["digestAlgorithm"]
        allowed = {cp for cps in inv["manifest"].values() for cp in cps}
        for vname in inv["versions"]:
            allowed |= {f"{vname}/{INVENTORY}", f"{vname}/{INVENTORY}.{alg}"}
        allowed |= {INVENTORY, f"{INVENTORY}.{alg}"}
        if relpath not in allowed:
            raise StorageError(f"{relpath!r} is not a file of object {object_id!r}")
        return self.object_path(object_id) / relpath

    def replace_content(self, object_id: str, content_path: str, source: Path) -> None:
        """Restore a damaged or missing content file from verified bytes: the new bytes must have the
        inventory's digest, and replace the old atomically."""
        with self._lock(object_id):
            inv = self.inventory(object_id)
            alg = inv["digestAlgorithm"]
            digest = next((d for d, cps in inv["manifest"].items() if content_path in cps), None)
            if digest is None:
                raise StorageError(f"{content_path!r} is not in the manifest of {object_id!r}")
            if hash_file(source, (alg,)).digests[alg] != digest:
                raise StorageError(f"the repair of {content_path!r} does not match the inventory; not applied")
            target = self.object_path(object_id) / content_path
            if target.is_dir():
                shutil.rmtree(target)  # a directory squatting on a file's name
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.staging / f"tmp-repair-{secrets.token_hex(6)}"
            shutil.copyfile(source, tmp)
            with tmp.open("rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
            fsync_dir(target.parent)

    # ---- recovery -------------------------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Finish or undo commits a crash interrupted, and remove stale scratch files. Idempotent."""
        actions: list[str] = []
        if not self.staging.is_dir():
            return actions
        for work in sorted(self.staging.glob("commit-*")):
            id_file = work / "object-id"
            object_id = id_file.read_text(encoding="utf-8") if id_file.is_file() else None
            if object_id is not None:
                try:
                    with self._lock(object_id):
                        actions += self._recover_object(object_id)
                except ObjectBusy:
                    continue  # a live commit: not ours to touch
            shutil.rmtree(work, ignore_errors=True)
            actions.append(f"removed interrupted commit work directory {work.name}")
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


def read_inventory(directory: Path) -> dict[str, Any]:
    """Read ``directory/inventory.json`` and check it against its sidecar; StorageError if either is bad."""
    path = directory / INVENTORY
    try:
        data = path.read_bytes()
        inv = json.loads(data)
    except (OSError, ValueError) as exc:
        raise StorageError(f"{path} cannot be read: {exc}", hint="restore it from another copy") from None
    alg = inv.get("digestAlgorithm") if isinstance(inv, dict) else None
    if alg not in ALGORITHMS:
        raise StorageError(f"{path} has no usable digestAlgorithm")
    sidecar = directory / f"{INVENTORY}.{alg}"
    try:
        recorded = sidecar.read_text(encoding="utf-8").split()[0]
    except (OSError, IndexError, UnicodeDecodeError):
        raise StorageError(f"{sidecar} is missing or unreadable") from None
    if _sidecar_bytes(data, alg).split()[0].decode() != recorded.lower():
        raise StorageError(f"{path} does not match its sidecar digest", hint="restore the inventory from another copy")
    return dict(inv)


def stage_file(logical_path: str, source: Path) -> StagedFile:
    """A StagedFile for a file on disk, hashing it (both digests in one read)."""
    d = hash_file(source, ALGORITHMS)
    return StagedFile(logical_path, source, d.size, d.digests["sha512"], d.digests["sha256"])
