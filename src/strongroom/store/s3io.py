"""Plain S3 for :mod:`strongroom.store.s3`: the client (credentials from the standard AWS chain, never from
Strongroom's settings), ranged reads as seekable streams, and uploads hashed while they stream.

Only the S3 API every S3-compatible server has is used (GET/HEAD/PUT/DELETE object, ListObjectsV2,
DeleteObjects, multipart upload), so Ceph RGW, MinIO and cloud object stores all serve it.

Must not import: the catalog, the search index, services, faces.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from strongroom.errors import StorageError

MB = 1024 * 1024
# Files above 16 MB go up in 8 MB parts; at most four parts are held in memory at once, whatever the file's size.
TRANSFER = TransferConfig(multipart_threshold=16 * MB, multipart_chunksize=8 * MB, max_concurrency=4)
TRANSFER.max_in_memory_upload_chunks = 4
MISSING = ("NoSuchKey", "404", "NotFound")


def make_client(endpoint: str, region: str) -> Any:
    """An S3 client for ``endpoint`` (empty: the provider's own, from the AWS configuration). Path-style addressing
    with an explicit endpoint, as MinIO and Ceph RGW expect."""
    config = Config(
        s3={"addressing_style": "path" if endpoint else "auto"},
        retries={"max_attempts": 5, "mode": "standard"},
        max_pool_connections=32,  # an audit reads many files at once
    )
    session = boto3.session.Session()
    return session.client("s3", endpoint_url=endpoint or None, region_name=region or None, config=config)


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def is_missing(exc: BaseException) -> bool:
    return error_code(exc) in MISSING


def storage_error(exc: BaseException, what: str) -> StorageError:
    """A StorageError for an S3 failure, naming what was being done and, where it can be told, the fix."""
    if isinstance(exc, NoCredentialsError):
        return StorageError(
            f"{what}: no S3 credentials",
            hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, ~/.aws/credentials) for the node's "
            "user; credentials never go in strongroom.toml",
        )
    code = error_code(exc)
    if code == "NoSuchBucket":
        return StorageError(f"{what}: the bucket does not exist", hint="create it, or check storage.s3_bucket")
    if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return StorageError(f"{what}: the S3 server refused the request ({code})", hint="check the node's credentials")
    return StorageError(f"{what}: {exc}")


S3_ERRORS: tuple[type[BaseException], ...] = (ClientError, BotoCoreError)


class RangeReader(io.RawIOBase):
    """A window ``[start, start + size)`` of an S3 object as a seekable stream. The body of one ranged GET is read
    as long as reads follow each other; a seek drops it, and the next read asks for the rest from there."""

    def __init__(self, opener: Callable[[int, int], Any], start: int, size: int, body: Any) -> None:
        self._open = opener  # (first byte, last byte) -> a streaming body
        self._start = start
        self._size = size
        self._pos = 0
        self._body = body

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        pos = max(0, base + offset)
        if pos != self._pos:
            self._drop()
            self._pos = pos
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._size - self._pos)
        if want <= 0:
            return 0
        if self._body is None:
            self._body = self._open(self._start + self._pos, self._start + self._size - 1)
        data = self._body.read(want)
        if not data:
            raise StorageError(f"the S3 server ended a read {self._size - self._pos} bytes early")
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _drop(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._drop()
        super().close()


def reader(opener: Callable[[int, int], Any], start: int, size: int, body: Any) -> BinaryIO:
    return io.BufferedReader(RangeReader(opener, start, size, body), buffer_size=1024 * 1024)


class HashingSource:
    """Bytes for an upload, from a file or from chunks as they arrive, hashed (every algorithm, one pass) while the
    upload reads them. Deliberately not seekable: the uploader then reads it once, in order, a part at a time."""

    def __init__(
        self,
        source: BinaryIO | Iterable[bytes],
        algorithms: Sequence[str],
        on_bytes: Callable[[int], None] | None = None,
    ) -> None:
        self._file = source if hasattr(source, "read") else None
        self._chunks: Iterator[bytes] | None = None if self._file is not None else iter(source)
        self._left = b""
        self._hashers = [hashlib.new(a) for a in algorithms]
        self._algorithms = tuple(algorithms)
        self._on_bytes = on_bytes
        self.size = 0

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self._file is not None:
            data = bytes(self._file.read(n))
        else:
            parts = [self._left]
            have = len(self._left)
            assert self._chunks is not None
            while n < 0 or have < n:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                parts.append(chunk)
                have += len(chunk)
            joined = b"".join(parts)
            data, self._left = (joined, b"") if n < 0 else (joined[:n], joined[n:])
        for h in self._hashers:
            h.update(data)
        self.size += len(data)
        if self._on_bytes and data:
            self._on_bytes(len(data))
        return data

    def digests(self) -> dict[str, str]:
        return {a: h.hexdigest() for a, h in zip(self._algorithms, self._hashers, strict=True)}


def content_md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
