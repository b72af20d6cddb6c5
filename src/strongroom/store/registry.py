"""Object-store backends by name: ``storage.backend`` in the settings chooses one. A new backend is one module
implementing :class:`~strongroom.store.base.ObjectStore` and one entry here. The S3 backend's module (and boto3) is
imported only by a node that uses it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from strongroom.errors import ConfigError
from strongroom.settings import Settings
from strongroom.store.base import ObjectStore
from strongroom.store.locks import ObjectLocks
from strongroom.store.ocfl import OcflStore


@dataclass(frozen=True)
class Backend:
    create: Callable[[Settings], ObjectStore]  # a new, empty storage root (``strongroom init``)
    open: Callable[[Settings], ObjectStore]


def _s3(settings: Settings, *, create: bool) -> ObjectStore:
    from strongroom.store.s3 import S3Store
    from strongroom.store.s3io import make_client

    s3 = settings.s3
    client = make_client(s3.endpoint, s3.region)
    make = S3Store.create if create else S3Store.open
    return make(client, s3.bucket, s3.prefix, settings.resolved_staging(), settings.digest_algorithm)


BACKENDS: dict[str, Backend] = {
    "ocfl-local": Backend(
        create=lambda s: OcflStore.create(s.resolved_storage_root(), s.resolved_staging(), s.digest_algorithm),
        open=lambda s: OcflStore.open(s.resolved_storage_root(), s.resolved_staging(), s.digest_algorithm),
    ),
    "ocfl-s3": Backend(create=lambda s: _s3(s, create=True), open=lambda s: _s3(s, create=False)),
}


def _backend(settings: Settings) -> Backend:
    backend = BACKENDS.get(settings.storage_backend)
    if backend is None:
        raise ConfigError(
            f"{settings.settings_file}: storage.backend {settings.storage_backend!r} is not a storage backend",
            hint=f"use one of: {', '.join(sorted(BACKENDS))}",
        )
    return backend


def _across_machines(store: ObjectStore, settings: Settings) -> ObjectStore:
    """A node whose catalog is PostgreSQL may have workers on several machines: its object locks are taken in the
    catalog's database too (:mod:`strongroom.store.pglocks`), so that they exclude every machine's processes."""
    conninfo = settings.postgres_conninfo()
    locks = getattr(store, "locks", None)
    if conninfo is not None and isinstance(locks, ObjectLocks):
        from strongroom.store.pglocks import PostgresObjectLocks

        locks.across = PostgresObjectLocks(conninfo)
    return store


def create_store(settings: Settings) -> ObjectStore:
    return _across_machines(_backend(settings).create(settings), settings)


def open_store(settings: Settings) -> ObjectStore:
    return _across_machines(_backend(settings).open(settings), settings)
