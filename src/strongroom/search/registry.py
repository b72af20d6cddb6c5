"""Search engines by name: ``search.engine`` in the settings chooses one. Empty means ``tantivy``, an index in the
node's home (docs/decisions/0011-tantivy-by-default.md); ``sqlite-fts5`` and ``postgresql``, the catalog
database's own full text, are chosen by name. A new engine is one module implementing
:class:`~strongroom.search.base.SearchIndex` and one entry here; each is made from the catalog's database engine and
the node's home.

An engine outside the catalog's database whose index is found current on disk is opened on first use
(:class:`~strongroom.search.lazy.LazyIndex`): a command that never searches never imports Tantivy. One that is new
or of another schema is opened at once, so the node knows to fill it.

Where there is no home (a catalog opened without its node), there is nowhere to keep an index: an empty name then
means the catalog database's own engine, which needs nothing but the database, and ``tantivy`` by name is refused.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from strongroom.errors import ConfigError
from strongroom.search.base import SearchIndex
from strongroom.search.lazy import LazyIndex
from strongroom.search.postgresql import PostgresIndex
from strongroom.search.sqlite import SqliteFts5Index
from strongroom.search.tantivy_layout import MAX_SHARDS, stored_shards

TANTIVY_DIR = Path("search") / "tantivy"  # in the node's home
LAST_ENGINE = Path("search") / "engine"  # in the node's home: the name of the engine its search queue last fed


def _tantivy(catalog_engine: Engine, home: Path | None, shards: int) -> SearchIndex:
    if home is None:
        raise ValueError("the tantivy search engine keeps its index in a node's home, and none was given")
    directory = home / TANTIVY_DIR
    if _tantivy_current(directory, shards):
        return LazyIndex("tantivy", lambda: _open_tantivy(directory, shards))
    return _open_tantivy(directory, shards)


def _open_tantivy(directory: Path, shards: int) -> SearchIndex:
    from strongroom.search.tantivy_index import TantivyIndex  # imported only when a node uses its index

    return TantivyIndex(directory, shards)


def _tantivy_current(directory: Path, shards: int) -> bool:
    """What ``TantivyIndex`` finds when it opens (a whole index of its schema version, in ``shards`` shards),
    checked without importing Tantivy. False when unsure: the engine then opens now."""
    version = tantivy_schema_version()
    return version is not None and stored_shards(directory, version) == shards


@functools.cache
def tantivy_schema_version() -> str | None:
    """``SCHEMA_VERSION`` of :mod:`strongroom.search.tantivy_index`, read from its source as text (importing it
    imports Tantivy); None when the source cannot be read (then every start opens the index)."""
    spec = importlib.util.find_spec("strongroom.search.tantivy_index")
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return None
    try:
        source = Path(spec.origin).read_text(encoding="utf-8")
    except OSError:
        return None
    found = re.search(r'^SCHEMA_VERSION = "([^"\n]*)"', source, re.MULTILINE)
    return found.group(1) if found else None


# Each made from the catalog's database engine, the node's home and ``search.shards`` (used by tantivy only).
ENGINES: dict[str, Callable[[Engine, Path | None, int], SearchIndex]] = {
    "sqlite-fts5": lambda catalog_engine, home, shards: SqliteFts5Index(catalog_engine),
    "postgresql": lambda catalog_engine, home, shards: PostgresIndex(catalog_engine),
    "tantivy": _tantivy,
}
DEFAULT = "tantivy"
DATABASE_OWN = {"sqlite": "sqlite-fts5", "postgresql": "postgresql"}  # the engines inside each catalog database


def default_engine(catalog_engine: Engine, home: Path | None) -> str:
    """The engine an empty ``search.engine`` means: Tantivy for a node, the catalog database's own without a home."""
    return DEFAULT if home is not None else DATABASE_OWN.get(catalog_engine.dialect.name, "")


def open_search(name: str, catalog_engine: Engine, home: Path | None = None, shards: int = 1) -> SearchIndex:
    """The engine called ``name`` (or :func:`default_engine` when ``name`` is empty), for the node at ``home``; a
    Tantivy index in ``shards`` shards (``search.shards``)."""
    chosen = name or default_engine(catalog_engine, home)
    make = ENGINES.get(chosen)
    if make is None:
        raise ConfigError(
            f"search.engine {chosen!r} is not a search engine",
            hint=f"use one of: {', '.join(sorted(ENGINES))} (or leave it empty for {DEFAULT})",
        )
    if not 1 <= shards <= MAX_SHARDS:
        raise ConfigError(
            f"search.shards must be from 1 to {MAX_SHARDS}, not {shards}",
            hint="set it to the number of cores a search may use (1, the default, for an archive under a million)",
        )
    try:
        index = make(catalog_engine, home, shards)
    except ValueError as exc:
        own = DATABASE_OWN.get(catalog_engine.dialect.name)
        raise ConfigError(
            f"search.engine {chosen!r}: {exc}", hint=f"leave search.engine empty, or set it to {own or DEFAULT}"
        ) from None
    if home is not None:
        _note_engine(index, home / LAST_ENGINE)
    return index


def _note_engine(index: SearchIndex, path: Path) -> None:
    """An engine chosen again after another one ran (``sqlite-fts5`` after months on ``tantivy``) missed every change
    made meanwhile: it counts as new, so the node fills it from the catalog. (A node made before this file was kept
    has none: its engines say themselves whether they are new.) The name is written before the node queues every
    item for the engine: a crash in the milliseconds between would leave it unfilled until ``strongroom reindex
    --search``."""
    last = path.read_text(encoding="utf-8").strip() if path.is_file() else None
    if last == index.name:
        return
    if last is not None:
        index.created = True
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    temporary.write_text(index.name + "\n", encoding="utf-8")
    temporary.replace(path)
