"""An OCFL 1.1 storage root in an S3-compatible bucket, under a prefix: the second implementation of
:class:`~strongroom.store.base.ObjectStore` (registered as ``ocfl-s3``).

The keys are the files of an OCFL storage root on disk, with the same storage layout as the local store
(``0003-hash-and-id-n-tuple-storage-layout``), so a tool that reads OCFL from S3 (ocfl-java's S3 storage, say) or
a copy synced to a disk reads it as it is::

    PREFIX/0=ocfl_1.1, PREFIX/ocfl_layout.json, PREFIX/extensions/0003-.../config.json
    PREFIX/a1b/2c3/d4e/<encoded id>/0=ocfl_object_1.1, inventory.json(.sha512), vN/inventory.json(.sha512),
    vN/content/...

S3 has no rename, so a version cannot appear whole in one step as on disk. The root ``inventory.json`` is the
commit point instead; :meth:`S3Store._write_version` writes, under the object's lock:

1. every new content file of ``vN`` (multipart above 16 MB, streamed and hashed as it goes up, its digests and
   size checked before going on; fault point ``content-uploaded``);
2. ``vN/inventory.json`` and its sidecar (``version-written``);
3. for a new object its declaration ``0=ocfl_object_1.1``; then the root ``inventory.json``: from here the object
   is at ``vN`` (``inventory-replaced``); then the root sidecar (``committed``).

Before step 1 a marker naming the object is made durable in ``staging/s3-writes/``. A write that fails before the
commit point deletes what it uploaded; one that dies leaves the marker, and :meth:`S3Store.recover` reads the root
inventory: files of versions after its head are orphans of an interrupted commit and are deleted; a root sidecar
that lags its inventory (a crash between the two) is rewritten; an object with no root inventory was never
committed and is deleted whole. An object is therefore always exactly at one version.

There are no locks in S3: the node's own file locks in its staging area serialise its processes (writers of one
object; readers against the publish step). Two nodes must never share a bucket prefix.

Every PUT of known bytes carries Content-MD5, and boto3 adds a CRC32 checksum to each upload and part, so the server
refuses bytes damaged in transit; the size is compared after each upload. The fixity audit reads objects through
the same protocol as on disk (:mod:`strongroom.store.fixity`), by ranged GETs.

Must not import: the catalog, the search index, services, faces.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import json
import os
import re
import secrets
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from strongroom.errors import ContentMissing, ObjectBusy, StorageError
from strongroom.store.base import (
    ALGORITHMS,
    CommitResult,
    Fetch,
    ObjectListing,
    StagedFile,
    StoredFile,
    in_path_order,
)
from strongroom.store.hashing import write_chunks
from strongroom.store.heads import HeadIndex, Parse
from strongroom.store.listing import Listing
from strongroom.store.locks import Held, ObjectLocks
from strongroom.store.ocfl import (
    INVENTORY,
    LAYOUT,
    OBJECT_NAMASTE,
    ROOT_NAMASTE,
    _invert,
    _json_bytes,
    _sidecar_bytes,
    _version,
    check_inventory,
    commit_result,
    offered_version,
    other_algorithm,
    plan_version,
    version_inventory,
)
from strongroom.store.paths import check_logical_paths, hash_and_id_path, object_hash
from strongroom.store.s3io import (
    S3_ERRORS,
    TRANSFER,
    HashingSource,
    content_md5,
    error_code,
    is_missing,
    reader,
    storage_error,
)

_VERSION_DIR = re.compile(r"v(\d+)")


def _version_of(rel: str) -> int:
    """The version a path inside an object belongs to (0: the object's root files)."""
    m = _VERSION_DIR.fullmatch(rel.split("/", 1)[0])
    return int(m.group(1)) if m and "/" in rel else 0


class S3Store:
    """OCFL objects in ``bucket`` under ``prefix`` (no leading or trailing '/'; empty: the bucket's root).
    ``staging`` is a local directory of the node: locks, markers of writes in flight, and repair scratch files."""

    def __init__(self, client: Any, bucket: str, prefix: str, staging: Path, digest_algorithm: str = "sha512") -> None:
        if digest_algorithm not in ALGORITHMS:
            raise StorageError(f"unsupported digest algorithm {digest_algorithm!r}", hint="use sha512 or sha256")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.staging = staging
        self.digest_algorithm = digest_algorithm
        self.locks = ObjectLocks(staging)
        self.transfer = TRANSFER
        # Called with a step name at each point a crash could interrupt a write; tests use it to inject one.
        self.fault: Callable[[str], None] = lambda step: None
        self._inventories: dict[str, tuple[tuple[str, ...], dict[str, Any], frozenset[str]]] = {}
        self._held: Held[tuple[dict[str, Any], frozenset[str]]] = Held()
        self._heads = HeadIndex()

    @property
    def publish_wait(self) -> float:
        """Seconds a writer waits for readers of the object before it gives up."""
        return self.locks.publish_wait

    @publish_wait.setter
    def publish_wait(self, seconds: float) -> None:
        self.locks.publish_wait = seconds

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    # ---- keys and plain S3 --------------------------------------------------------------------------------

    def key(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def object_key(self, object_id: str) -> str:
        """The object root's key (no trailing '/'); for tests and tools, as ``object_path`` on disk."""
        return self.key(hash_and_id_path(object_id))

    def _list(self, prefix: str) -> Iterator[tuple[str, int, str]]:
        """(key below ``prefix``, size, ETag) of every key under ``prefix``, in key order."""
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                for item in page.get("Contents", []):
                    yield item["Key"][len(prefix) :], int(item["Size"]), str(item.get("ETag", ""))
        except S3_ERRORS as exc:
            raise storage_error(exc, f"cannot list {self.where}") from None

    def _get(self, key: str) -> bytes:
        """A whole small key (an inventory, a sidecar); ContentMissing if absent."""
        try:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except S3_ERRORS as exc:
            if is_missing(exc):
                raise ContentMissing(f"{key} is not in {self.bucket}") from None
            raise storage_error(exc, f"cannot read {key} in {self.bucket}") from None

    def _put(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentMD5=content_md5(data))
        except S3_ERRORS as exc:
            raise storage_error(exc, f"cannot write {key} in {self.bucket}") from None

    def _delete(self, keys: Sequence[str]) -> None:
        for i in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys a request
            batch = [{"Key": k} for k in keys[i : i + 1000]]
            try:
                answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            except S3_ERRORS as exc:
                raise storage_error(exc, "cannot delete keys in " + self.where) from None
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise StorageError(f"cannot delete {first.get('Key')} from {self.bucket}: {first.get('Message')}")

    def _upload(
        self, key: str, source: BinaryIO | Iterable[bytes], algorithms: Sequence[str], on_bytes: Any = None
    ) -> tuple[int, dict[str, str]]:
        """Stream ``source`` to ``key``, hashing it on the way; the stored size is checked against the bytes sent."""
        body = HashingSource(source, algorithms, on_bytes)
        try:
            self.client.upload_fileobj(body, self.bucket, key, Config=self.transfer)
            stored = int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except S3_ERRORS as exc:
            raise storage_error(exc, f"cannot write {key} in {self.bucket}") from None
        if stored != body.size:
            raise StorageError(f"{key} in {self.bucket} holds {stored} bytes after sending {body.size}")
        return body.size, body.digests()

    # ---- the storage root ---------------------------------------------------------------------------------

    @classmethod
    def create(cls, client: Any, bucket: str, prefix: str, staging: Path, digest_algorithm: str = "sha512") -> S3Store:
        store = cls(client, bucket, prefix, staging, digest_algorithm)
        root = store.key("")
        if next(store._list(root), None) is not None:
            raise StorageError(
                f"{store.where} is not empty", hint="an OCFL storage root needs an empty prefix (storage.s3_prefix)"
            )
        staging.mkdir(parents=True, exist_ok=True)
        config = {"extensionName": LAYOUT, "digestAlgorithm": "sha256", "tupleSize": 3, "numberOfTuples": 3}
        store._put(store.key(f"extensions/{LAYOUT}/config.json"), _json_bytes(config))
        layout = {
            "extension": LAYOUT,
            "description": "sha256 of the object id in three tuples of three "
            "characters, then the percent-encoded object id, as the object root",
        }
        store._put(store.key("ocfl_layout.json"), _json_bytes(layout))
        store._put(store.key(ROOT_NAMASTE), b"ocfl_1.1\n")  # last: the declaration marks a finished root
        return store

    @classmethod
    def open(cls, client: Any, bucket: str, prefix: str, staging: Path, digest_algorithm: str = "sha512") -> S3Store:
        store = cls(client, bucket, prefix, staging, digest_algorithm)
        try:
            namaste = store._get(store.key(ROOT_NAMASTE))
        except ContentMissing:
            namaste = b""
        if namaste != b"ocfl_1.1\n":
            raise StorageError(
                f"{store.where} is not an OCFL 1.1 storage root (no valid {ROOT_NAMASTE})",
                hint="check storage.s3_bucket and storage.s3_prefix, or create the root with strongroom init",
            )
        try:
            layout = json.loads(store._get(store.key("ocfl_layout.json")))
        except (StorageError, ValueError) as exc:
            raise StorageError(f"{store.where}/ocfl_layout.json cannot be read: {exc}") from None
        if layout.get("extension") != LAYOUT:
            raise StorageError(
                f"{store.where} uses storage layout {layout.get('extension')!r}; Strongroom reads {LAYOUT}"
            )
        staging.mkdir(parents=True, exist_ok=True)
        return store

    def exists(self, object_id: str) -> bool:
        """An object exists once its root inventory does (the commit point of its first version)."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=f"{self.object_key(object_id)}/{INVENTORY}")
            return True
        except S3_ERRORS as exc:
            if is_missing(exc):
                return False
            raise storage_error(exc, f"cannot read {self.where}") from None

    def iter_object_ids(self) -> Iterator[str]:
        suffix = f"/{OBJECT_NAMASTE}"
        for rel, _size, _etag in self._list(self.key("")):
            if rel.endswith(suffix) and not rel.startswith("extensions/"):
                with contextlib.suppress(StorageError, ValueError, KeyError, TypeError):
                    yield str(json.loads(self._get(self.key(f"{rel[: -len(suffix)]}/{INVENTORY}")))["id"])

    def heads(self) -> Iterator[tuple[str, int]]:
        """(id, head version) of every object, in the order of :meth:`iter_object_ids`, from the one LIST that
        finds them: an object's signature is its root inventory sidecar's ETag, which changes whenever the
        sidecar's content does, so only inventories not seen with that ETag are read (see
        :class:`~strongroom.store.heads.HeadIndex`)."""
        return self._heads.heads(self._head_roots())

    def _head_roots(self) -> Iterator[tuple[str | None, Parse]]:
        suffix = f"/{OBJECT_NAMASTE}"
        sidecars = {f"{INVENTORY}.{alg}" for alg in ALGORITHMS}
        root: str | None = None
        has_inventory, signature = False, None
        for rel, _size, etag in [*self._list(self.key("")), ("", 0, "")]:  # a last key that closes the last root
            if root is not None and not rel.startswith(f"{root}/"):
                if has_inventory:
                    yield signature, functools.partial(self._parse_root, root)
                root = None
            if rel.endswith(suffix) and not rel.startswith("extensions/"):
                root, has_inventory, signature = rel[: -len(suffix)], False, None
            elif root is not None:
                name = rel[len(root) + 1 :]
                if name == INVENTORY:
                    has_inventory = True
                elif name in sidecars and signature is None:
                    signature = f"{root}\n{etag.strip(chr(34))}"

    def _parse_root(self, root: str) -> tuple[str, dict[str, Any]]:
        """A root inventory checked against its sidecar, and the signature (root and ETag) of the sidecar read."""
        used: list[str] = []

        def sidecar(alg: str) -> str:
            key = self.key(f"{root}/{INVENTORY}.{alg}")
            try:
                answer = self.client.get_object(Bucket=self.bucket, Key=key)
                data = bytes(answer["Body"].read())
            except S3_ERRORS as exc:
                raise storage_error(exc, f"cannot read {key} in {self.bucket}") from None
            used.append(f"{root}\n{str(answer.get('ETag', '')).strip(chr(34))}")
            return data.decode("utf-8")

        inv = check_inventory(self._get(self.key(f"{root}/{INVENTORY}")), sidecar, f"{self.where}/{root}/{INVENTORY}")
        return used[-1], inv

    # ---- reading --------------------------------------------------------------------------------------------

    def inventory(self, object_id: str) -> dict[str, Any]:
        """The root inventory, checked against its sidecar; kept while the two keys' ETags stay the same (one LIST
        tells them both)."""
        return self._root(object_id)[0]

    def _root(self, object_id: str) -> tuple[dict[str, Any], frozenset[str]]:
        """The root inventory and every path inside the object a peer may ask for: checked once per hold while a
        reader holds the object still (see :class:`~strongroom.store.locks.Held`), else on every call."""
        return self._held.read(object_id, lambda: self._check_root(object_id))

    def _check_root(self, object_id: str) -> tuple[dict[str, Any], frozenset[str]]:
        obj = self.object_key(object_id)
        tags = tuple(f"{rel}={etag}" for rel, _size, etag in self._list(f"{obj}/{INVENTORY}"))
        if not any(t.startswith("=") for t in tags):  # the inventory itself lists as '' below its own key
            raise StorageError(f"no OCFL object {object_id!r} in {self.where}")
        hit = self._inventories.get(object_id)
        if hit is not None and hit[0] == tags:
            return hit[1], hit[2]
        name = f"{self.where}/{hash_and_id_path(object_id)}/{INVENTORY}"
        inv = check_inventory(
            self._get(f"{obj}/{INVENTORY}"),
            lambda alg: self._get(f"{obj}/{INVENTORY}.{alg}").decode("utf-8"),
            name,
        )
        alg = inv["digestAlgorithm"]
        allowed = {cp for cps in inv["manifest"].values() for cp in cps}
        for vname in inv["versions"]:
            allowed |= {f"{vname}/{INVENTORY}", f"{vname}/{INVENTORY}.{alg}"}
        allowed |= {INVENTORY, f"{INVENTORY}.{alg}"}
        if len(self._inventories) > 256:
            self._inventories.clear()
        self._inventories[object_id] = (tags, inv, frozenset(allowed))
        return inv, frozenset(allowed)

    def let_go(self, object_id: str) -> None:
        self._inventories.pop(object_id, None)

    def listing(self, object_id: str) -> contextlib.AbstractContextManager[ObjectListing]:
        """The object's versions and files, from its inventory read whole (as every read here does)."""
        return contextlib.nullcontext(Listing(self, object_id))

    def head_version(self, object_id: str) -> int:
        return int(self.inventory(object_id)["head"][1:])

    def state(self, object_id: str, version: int | None = None) -> dict[str, str]:
        return _invert(_version(self.inventory(object_id), object_id, version)["state"])

    def versions(self, object_id: str) -> list[dict[str, Any]]:
        inv = self.inventory(object_id)
        return [
            {
                "version": int(v[1:]),
                **{k: inv["versions"][v][k] for k in ("created", "message", "user") if k in inv["versions"][v]},
            }
            for v in sorted(inv["versions"], key=lambda v: int(v[1:]))
        ]

    def _sizes(self, object_id: str) -> dict[str, int]:
        return {rel: size for rel, size, _etag in self._list(f"{self.object_key(object_id)}/")}

    def files(self, object_id: str, version: int | None = None) -> list[StoredFile]:
        inv = self.inventory(object_id)
        alg = inv["digestAlgorithm"]
        other = other_algorithm(alg)
        other_by_content = {cp: d for d, cps in inv.get("fixity", {}).get(other, {}).items() for cp in cps}
        sizes = self._sizes(object_id)
        out: list[StoredFile] = []
        for digest, logical_paths in _version(inv, object_id, version)["state"].items():
            content_path = inv["manifest"][digest][0]
            if content_path not in sizes:
                raise StorageError(
                    f"cannot read {content_path!r} of {object_id!r}: not in {self.where}",
                    hint="run strongroom audit to see what is damaged",
                )
            second = other_by_content.get(content_path, "")
            sha512, sha256 = (digest, second) if alg == "sha512" else (second, digest)
            out.extend(StoredFile(lp, content_path, sha512, sha256, sizes[content_path]) for lp in logical_paths)
        return sorted(out, key=lambda f: f.logical_path)

    def content_path(self, object_id: str, logical_path: str, version: int | None = None) -> str:
        inv = self.inventory(object_id)
        digest = _invert(_version(inv, object_id, version)["state"]).get(logical_path)
        if digest is None:
            raise StorageError(f"object {object_id!r} has no file {logical_path!r} in that version")
        return str(inv["manifest"][digest][0])

    def _open_range(self, object_id: str, content_path: str, start: int, length: int | None) -> BinaryIO:
        """A ranged GET as a seekable stream of the window; ContentMissing if the key is absent."""
        key = f"{self.object_key(object_id)}/{content_path}"
        if length is not None and length <= 0:
            return io.BytesIO(b"")

        def get(first: int, last: int | None) -> Any:
            span = {} if first == 0 and last is None else {"Range": f"bytes={first}-{'' if last is None else last}"}
            try:
                return self.client.get_object(Bucket=self.bucket, Key=key, **span)
            except S3_ERRORS as exc:
                if is_missing(exc):
                    raise ContentMissing(f"{content_path!r} of {object_id!r} is not in storage") from None
                if error_code(exc) == "InvalidRange":
                    return None  # starts at or after the end (or the file is empty)
                raise storage_error(exc, f"cannot read {content_path!r} of {object_id!r}") from None

        answer = get(start, None if length is None else start + length - 1)
        if answer is None:
            try:
                self.client.head_object(Bucket=self.bucket, Key=key)
            except S3_ERRORS as exc:
                if is_missing(exc):
                    raise ContentMissing(f"{content_path!r} of {object_id!r} is not in storage") from None
                raise storage_error(exc, f"cannot read {content_path!r} of {object_id!r}") from None
            return io.BytesIO(b"")
        total = int(str(answer.get("ContentRange", "")).rpartition("/")[2] or answer["ContentLength"])
        end = total if length is None else min(total, start + length)
        return reader(lambda a, b: get(a, b)["Body"], start, max(0, end - start), answer["Body"])

    def open_file(
        self,
        object_id: str,
        logical_path: str,
        version: int | None = None,
        *,
        start: int = 0,
        length: int | None = None,
    ) -> BinaryIO:
        cp = self.content_path(object_id, logical_path, version)
        try:
            return self._open_range(object_id, cp, start, length)
        except ContentMissing:
            raise StorageError(
                f"cannot read {logical_path!r} of {object_id!r}: not in storage",
                hint="run strongroom audit to see what is damaged",
            ) from None

    def _check_peer_path(self, object_id: str, content_path: str) -> None:
        if content_path not in self._root(object_id)[1]:
            raise StorageError(f"{content_path!r} is not a file of object {object_id!r}")

    def open_content(self, object_id: str, content_path: str, *, start: int = 0, length: int | None = None) -> BinaryIO:
        self._check_peer_path(object_id, content_path)
        return self._open_range(object_id, content_path, start, length)

    def content_size(self, object_id: str, content_path: str) -> int:
        self._check_peer_path(object_id, content_path)
        try:
            answer = self.client.head_object(Bucket=self.bucket, Key=f"{self.object_key(object_id)}/{content_path}")
        except S3_ERRORS as exc:
            raise storage_error(exc, f"cannot read {content_path!r} of {object_id!r}") from None
        return int(answer["ContentLength"])

    def reading(self, object_id: str) -> contextlib.AbstractContextManager[None]:
        return self.locks.reading(object_id, self._held)

    def stored(self, object_id: str) -> Iterator[tuple[str, int]]:
        yield from self._sizes(object_id).items()

    def stored_bytes(self, object_id: str) -> int:
        sizes = self._sizes(object_id)
        return sum(sizes.get(cp, 0) for cps in self.inventory(object_id)["manifest"].values() for cp in cps)

    def current_files(self, object_id: str) -> list[StagedFile]:
        out = []
        for f in self.files(object_id):
            if not (f.sha512 and f.sha256):
                raise StorageError(f"object {object_id}: {f.logical_path} lacks a sha512 or sha256 digest")
            out.append(StagedFile(f.logical_path, None, f.size, f.sha512, f.sha256))
        return out

    # ---- writing --------------------------------------------------------------------------------------------

    def _existing(self, object_id: str) -> dict[str, Any] | None:
        return self.inventory(object_id) if self.exists(object_id) else None

    @contextlib.contextmanager
    def _marker(self, kind: str, object_id: str) -> Iterator[Path]:
        """A durable note, in the node's staging area, that ``object_id`` is being written: what recovery reads."""
        folder = self.staging / "s3-writes"
        folder.mkdir(parents=True, exist_ok=True)
        marker = folder / f"{kind}-{object_hash(object_id)[:16]}-{secrets.token_hex(4)}"
        with marker.open("w", encoding="utf-8") as fh:
            fh.write(object_id)
            fh.flush()
            os.fsync(fh.fileno())
        yield marker

    def _write_version(self, object_id: str, vname: str, *, new_object: bool, populate: Callable[[str], bytes]) -> None:
        """The one write sequence of a new version (see the module's docstring). ``populate(version_prefix)``
        uploads and verifies the version's content files and returns the inventory bytes. Called with the
        object's lock held."""
        obj = self.object_key(object_id)
        with self._marker("commit", object_id) as marker:
            self._recover_object(object_id)  # orphans of an earlier write that died: not part of this one
            try:
                inv_bytes = populate(f"{obj}/{vname}/")
                alg = json.loads(inv_bytes)["digestAlgorithm"]
                sidecar = _sidecar_bytes(inv_bytes, alg)
                self.fault("content-uploaded")
                self._put(f"{obj}/{vname}/{INVENTORY}", inv_bytes)
                self._put(f"{obj}/{vname}/{INVENTORY}.{alg}", sidecar)
                self.fault("version-written")
            except Exception:
                # Nothing names these files yet: take them out again (if that fails too, recovery will).
                written = f"{obj}/" if new_object else f"{obj}/{vname}/"
                with contextlib.suppress(Exception):
                    self._delete([written + rel for rel, _size, _etag in self._list(written)])
                    marker.unlink()
                raise
            try:
                with self.locks.publishing(object_id):
                    if new_object:
                        self._put(f"{obj}/{OBJECT_NAMASTE}", b"ocfl_object_1.1\n")
                    self._put(f"{obj}/{INVENTORY}", inv_bytes)  # the commit point
                    self.fault("inventory-replaced")
                    self._put(f"{obj}/{INVENTORY}.{alg}", sidecar)
                self._inventories.pop(object_id, None)
                self.fault("committed")
            except Exception:
                # The root inventory may or may not have been written (a PUT that timed out may have landed):
                # recovery reads which, and finishes or undoes the version. If the store cannot be reached now,
                # the marker stays for the next start.
                with contextlib.suppress(Exception):
                    with self.locks.publishing(object_id):
                        self._recover_object(object_id)
                    marker.unlink()
                raise
            marker.unlink()

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
        check_logical_paths(f.logical_path for f in files)
        created = created or dt.datetime.now(dt.UTC).replace(microsecond=0)
        with self.locks.writing(object_id):
            existing = self._existing(object_id)
            plan = plan_version(object_id, existing, files, self.digest_algorithm)
            if plan.unchanged:
                return CommitResult(object_id, plan.number, True, len(files))
            counts = [0, 0]

            def populate(version_prefix: str) -> bytes:
                counts[:] = self._upload_new_content(
                    files, plan.inventory, version_prefix, plan.vname, plan.alg, plan.other, on_bytes
                )
                return version_inventory(
                    plan, created=created, message=message, user_name=user_name, user_address=user_address
                )

            self._write_version(object_id, plan.vname, new_object=existing is None, populate=populate)
        return commit_result(plan, len(files), counts)

    def _upload_new_content(
        self,
        files: Collection[StagedFile],
        inventory: dict[str, Any],
        version_prefix: str,
        vname: str,
        alg: str,
        other: str,
        on_bytes: Callable[[int], None] | None,
    ) -> tuple[int, int]:
        """Upload the files whose digest the object lacks, re-hashing each as it streams; returns (count, bytes)."""
        count = size = 0
        manifest: dict[str, list[str]] = inventory["manifest"]
        fixity: dict[str, list[str]] = inventory.setdefault("fixity", {}).setdefault(other, {})
        for f in in_path_order(files):  # a StagedFiles is read from disk in order, never sorted and held
            if f.digest(alg) in manifest:
                continue  # already stored (in an earlier version, or under another logical path now)
            if f.source is None:
                raise StorageError(
                    f"{f.logical_path!r} is to be carried forward, but object {inventory['id']!r} does not hold its "
                    "bytes; nothing was committed"
                )
            try:
                with f.source.open("rb") as src:
                    sent, digests = self._upload(
                        f"{version_prefix}content/{f.logical_path}", src, (alg, other), on_bytes
                    )
            except OSError as exc:
                raise StorageError(f"cannot read {f.source} for {f.logical_path!r}: {exc.strerror or exc}") from None
            if digests[alg] != f.digest(alg) or digests[other] != f.digest(other) or sent != f.size:
                raise StorageError(
                    f"{f.logical_path!r} changed while being stored (its digest no longer matches); nothing was "
                    "committed",
                    hint="make sure nothing modifies the package during a deposit, then retry",
                )
            content_path = f"{vname}/content/{f.logical_path}"
            manifest[f.digest(alg)] = [content_path]
            fixity.setdefault(f.digest(other), []).append(content_path)
            count += 1
            size += sent
        return count, size

    # ---- replication and repair -----------------------------------------------------------------------------

    def install_version(self, object_id: str, version_inventory: bytes, fetch: Fetch) -> int:
        offered = offered_version(object_id, version_inventory)
        alg, vname, number, manifest = offered.algorithm, offered.vname, offered.number, offered.manifest
        other, expected, other_expected = other_algorithm(alg), offered.expected, offered.other_expected
        new_paths = offered.new_paths
        with self.locks.writing(object_id):
            existing = self._existing(object_id)
            have = int(existing["head"][1:]) if existing else 0
            if number != have + 1:
                raise StorageError(f"{object_id!r}: cannot install {vname} on top of v{have}")
            if existing and any(
                existing["manifest"].get(d) != cps for d, cps in manifest.items() if d in existing["manifest"]
            ):
                raise StorageError(f"{object_id!r}: the offered {vname} rewrites content of earlier versions")
            obj = self.object_key(object_id)

            def populate(version_prefix: str) -> bytes:
                for cp in new_paths:
                    _sent, got = self._upload(f"{obj}/{cp}", fetch(cp), (alg, other))
                    if got[alg] != expected[cp] or (cp in other_expected and got[other] != other_expected[cp]):
                        raise StorageError(
                            f"{object_id!r}: {cp} from the other copy does not match its inventory "
                            "digest; nothing was installed"
                        )
                return version_inventory

            self._write_version(object_id, vname, new_object=existing is None, populate=populate)
        return number

    def replace_content(self, object_id: str, content_path: str, chunks: Iterable[bytes]) -> None:
        """The repaired bytes are spooled to the staging area and checked first: a PUT replaces a key whole, but
        only bytes known to be right may replace it."""
        with self.locks.writing(object_id):
            inv = self.inventory(object_id)
            alg = inv["digestAlgorithm"]
            digest = next((d for d, cps in inv["manifest"].items() if content_path in cps), None)
            if digest is None:
                raise StorageError(f"{content_path!r} is not in the manifest of {object_id!r}")
            self.staging.mkdir(parents=True, exist_ok=True)
            tmp = self.staging / f"tmp-repair-{secrets.token_hex(6)}"
            try:
                written = write_chunks(chunks, tmp, (alg,))
                if written.digests[alg] != digest:
                    raise StorageError(f"the repair of {content_path!r} does not match the inventory; not applied")
                with self.locks.publishing(object_id), tmp.open("rb") as src:
                    _sent, got = self._upload(f"{self.object_key(object_id)}/{content_path}", src, (alg,))
                if got[alg] != digest:  # the spooled file changed under us: put nothing wrong in place
                    raise StorageError(f"the repair of {content_path!r} changed while being stored")
            finally:
                tmp.unlink(missing_ok=True)

    def remove_object(self, object_id: str) -> None:
        """The root inventory goes first: from then on the object does not exist; the rest follows (a crash leaves a
        marker, and recovery deletes what is left)."""
        obj = self.object_key(object_id)
        with self.locks.writing(object_id):
            if not self.exists(object_id):
                raise StorageError(f"no OCFL object {object_id!r} in {self.where}")
            with self._marker("release", object_id) as marker:
                self.fault("release-staged")
                with self.locks.publishing(object_id):  # no audit, export or vote is reading it
                    self._delete([f"{obj}/{INVENTORY}"])
                    self._inventories.pop(object_id, None)
                    self.fault("release-renamed")
                    self._delete([f"{obj}/{rel}" for rel, _s, _e in self._list(f"{obj}/")])
                marker.unlink()

    # ---- recovery -------------------------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Finish or undo writes a crash interrupted (those whose marker is still in the staging area). Idempotent."""
        actions: list[str] = []
        folder = self.staging / "s3-writes"
        if not folder.is_dir():
            return actions
        for marker in sorted(folder.iterdir()):
            try:
                object_id = marker.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                object_id = ""
            if object_id:
                try:
                    with self.locks.writing(object_id), self.locks.publishing(object_id):
                        actions += self._recover_object(object_id)
                except ObjectBusy:
                    continue  # a live write: not ours to touch
            marker.unlink(missing_ok=True)
            actions.append(f"removed the marker of an interrupted write ({marker.name})")
        return actions

    def _recover_object(self, object_id: str) -> list[str]:
        """Bring one object to exactly the version its root inventory names. Called with its locks held."""
        obj = self.object_key(object_id)
        present = [rel for rel, _size, _etag in self._list(f"{obj}/")]
        if not present:
            return []
        if INVENTORY not in present:
            # Never committed (a first version cut short) or a removal cut short: nothing names these files.
            self._delete([f"{obj}/{rel}" for rel in present])
            self._inventories.pop(object_id, None)
            return [f"{object_id}: removed {len(present)} files of an object that was never committed"]
        root_bytes = self._get(f"{obj}/{INVENTORY}")
        try:
            root_inv = json.loads(root_bytes)
            head = int(root_inv["head"][1:])
            alg = str(root_inv["digestAlgorithm"])
        except (ValueError, KeyError, TypeError):
            return [f"{object_id}: the root inventory cannot be read; left for the audit to report"]
        actions = []
        orphans = [rel for rel in present if _version_of(rel) > head]
        if orphans:
            self._delete([f"{obj}/{rel}" for rel in orphans])
            versions = sorted({rel.split("/", 1)[0] for rel in orphans})
            actions.append(f"{object_id}: removed {len(orphans)} files of interrupted {', '.join(versions)}")
        sidecar = f"{INVENTORY}.{alg}"
        want = _sidecar_bytes(root_bytes, alg)
        have = self._get(f"{obj}/{sidecar}") if sidecar in present else b""
        if have != want:
            with contextlib.suppress(ContentMissing):
                if self._get(f"{obj}/{root_inv['head']}/{INVENTORY}") == root_bytes:
                    self._put(f"{obj}/{sidecar}", want)
                    actions.append(f"{object_id}: rewrote the root inventory sidecar")
        self._inventories.pop(object_id, None)
        return actions
