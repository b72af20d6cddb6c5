"""A search engine opened on first use: most commands open a node but never search (``strongroom items`` without a
query, ``au status``, a deposit with nothing queued), and an engine outside the catalog's database costs a library
import and an open at every start (Tantivy: its extension module, its index files, a reader). The registry hands a
:class:`LazyIndex` out only for an index it has found current on disk (the cheap check in
:mod:`strongroom.search.registry`), so a node still learns at open whether its engine is new and fills it then.

Must not import: any engine's library, the catalog, services, faces.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from strongroom.search.base import SearchDocument, SearchHits, SearchIndex, SearchQuery


class LazyIndex:
    """The :class:`~strongroom.search.base.SearchIndex` made by ``open_engine``, opened by the first call that needs
    it. ``created`` is False until then (the registry checked the index on disk); should the engine still find its
    storage new when it opens (another process replaced it meanwhile), ``when_new`` (set by the node) fills it
    before the call goes on. ``lock_wait``, for an engine that has one, is kept until the engine opens."""

    def __init__(self, name: str, open_engine: Callable[[], SearchIndex]) -> None:
        self.name = name
        self.created = False
        self.when_new: Callable[[], object] | None = None
        self._open_engine = open_engine
        self._engine: SearchIndex | None = None
        self._lock_wait: float | None = None
        self._opening = threading.RLock()  # re-entrant: ``when_new`` writes through this same index

    @property
    def opened(self) -> bool:
        return self._engine is not None

    def engine(self) -> SearchIndex:
        """The engine, opened now if it was not yet."""
        engine = self._engine
        if engine is not None:
            return engine
        with self._opening:
            if self._engine is None:
                engine = self._open_engine()
                if hasattr(engine, "lock_wait"):
                    setattr(engine, "lock_wait", self._lock_wait)  # noqa: B010 - not in the protocol
                self._engine = engine
                if engine.created and not self.created:
                    self.created = True
                    if self.when_new is not None:
                        self.when_new()
            return self._engine

    @property
    def lock_wait(self) -> float | None:
        return self._lock_wait

    @lock_wait.setter
    def lock_wait(self, seconds: float | None) -> None:
        self._lock_wait = seconds
        if self._engine is not None and hasattr(self._engine, "lock_wait"):
            setattr(self._engine, "lock_wait", seconds)  # noqa: B010 - not in the protocol

    def replace(self, documents: Sequence[SearchDocument]) -> None:
        self.engine().replace(documents)

    def remove(self, ids: Sequence[int]) -> None:
        self.engine().remove(ids)

    def batches(self) -> AbstractContextManager[None]:
        return self.engine().batches()

    def search(self, query: SearchQuery) -> SearchHits:
        return self.engine().search(query)

    def count(self) -> int:
        return self.engine().count()

    def clear(self) -> None:
        self.engine().clear()

    def rebuild(self, batches: Iterable[Sequence[SearchDocument]]) -> int:
        return self.engine().rebuild(batches)

    def __getattr__(self, name: str) -> Any:
        """What an engine offers beyond the protocol (settings a test or a benchmark turns), from the engine."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.engine(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _OWN or hasattr(type(self), name):  # the proxy's own (and what it defines, such as lock_wait)
            object.__setattr__(self, name, value)
        else:  # an engine's own setting
            setattr(self.engine(), name, value)


_OWN = frozenset({"name", "created", "when_new", "_open_engine", "_engine", "_lock_wait", "_opening"})
