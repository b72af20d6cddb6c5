"""Helpers the store's tests share: an S3 server's handle, and files staged and committed in one call."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from strongroom.store.base import StagedFile, stage_file
from strongroom.store.ocfl import OcflStore
from strongroom.store.paths import object_hash
from strongroom.store.s3 import S3Store
from strongroom.store.s3io import make_client

OID = "strongroom:au/issn:2536-0035/2024"
REGION = "us-east-1"
Store = OcflStore | S3Store


@dataclass
class S3Server:
    endpoint: str

    @cached_property
    def shared_client(self) -> Any:
        return make_client(self.endpoint, REGION)  # boto3 clients are thread-safe, and slow to make

    def client(self) -> Any:
        return self.shared_client

    def bucket(self) -> str:
        name = "sr-" + uuid.uuid4().hex[:16]
        self.client().create_bucket(Bucket=name)
        return name


def staged(tmp_path: Path, contents: dict[str, bytes]) -> list[StagedFile]:
    out = []
    for logical, data in sorted(contents.items()):
        src = tmp_path / "src" / object_hash(logical + str(len(data)) + data[:16].hex())[:16]
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_bytes(data)
        out.append(stage_file(logical, src))
    return out


def commit(store: Store, tmp_path: Path, contents: dict[str, bytes], oid: str = OID) -> int:
    return store.commit_version(oid, staged(tmp_path, contents), message="m", user_name="tester").version


def read(store: Store, logical: str, version: int | None = None, oid: str = OID) -> bytes:
    with store.open_file(oid, logical, version) as fh:
        return fh.read()
