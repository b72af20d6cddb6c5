"""An S3 API server for the store's tests: moto in server mode on a loopback port, spoken to over real HTTP by the
same boto3 client a node uses. One server per test session (per xdist worker); each test gets its own bucket."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from store_support import REGION, S3Server

from strongroom.store.ocfl import OcflStore
from strongroom.store.s3 import S3Store
from tests_support import free_port


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    empty = tmp_path_factory.mktemp("aws") / "none"
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(empty),  # never the developer's own AWS configuration
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


StoreMaker = Callable[..., Any]


@pytest.fixture(params=["ocfl-local", "ocfl-s3"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> StoreMaker:
    """Makes empty storage roots on the backend under test: ``make_store(name, digest_algorithm=...)``."""

    def make(name: str = "root", digest_algorithm: str = "sha512") -> OcflStore | S3Store:
        staging = tmp_path / f"{name}-staging"
        if backend == "ocfl-local":
            return OcflStore.create(tmp_path / name, staging, digest_algorithm)
        server: S3Server = request.getfixturevalue("s3_server")
        return S3Store.create(server.client(), server.bucket(), f"nodes/{name}", staging, digest_algorithm)

    return make
