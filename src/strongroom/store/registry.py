"""Object-store backends by name: ``storage.backend`` in the settings chooses one. A new backend (an
S3-compatible object store, say) is one module implementing :class:`~strongroom.store.base.ObjectStore` and one
entry here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from strongroom.errors import ConfigError
from strongroom.settings import Settings
from strongroom.store.base import ObjectStore
from strongroom.store.ocfl import OcflStore


@dataclass(frozen=True)
class Backend:
    create: Callable[[Settings], ObjectStore]  # a new, empty storage root (``strongroom init``)
    open: Callable[[Settings], ObjectStore]


BACKENDS: dict[str, Backend] = {
    "ocfl-local": Backend(
        create=lambda s: OcflStore.create(s.resolved_storage_root(), s.resolved_staging(), s.digest_algorithm),
        open=lambda s: OcflStore.open(s.resolved_storage_root(), s.resolved_staging(), s.digest_algorithm),
    ),
}


def _backend(settings: Settings) -> Backend:
    backend = BACKENDS.get(settings.storage_backend)
    if backend is None:
        raise ConfigError(
            f"{settings.settings_file}: storage.backend {settings.storage_backend!r} is not a storage backend",
            hint=f"use one of: {', '.join(sorted(BACKENDS))}",
        )
    return backend


def create_store(settings: Settings) -> ObjectStore:
    return _backend(settings).create(settings)


def open_store(settings: Settings) -> ObjectStore:
    return _backend(settings).open(settings)
