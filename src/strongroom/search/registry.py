"""Search engines by name: ``search.engine`` in the settings chooses one (empty: the catalog database's own,
``sqlite-fts5`` or ``postgresql``; ``tantivy`` keeps an index in the node's home). A new engine is one module
implementing :class:`~strongroom.search.base.SearchIndex` and one entry here; each is made from the catalog's
database engine and the node's home (None where there is no node: such engines refuse)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from strongroom.errors import ConfigError
from strongroom.search.base import SearchIndex
from strongroom.search.postgresql import PostgresIndex
from strongroom.search.sqlite import SqliteFts5Index

TANTIVY_DIR = Path("search") / "tantivy"  # in the node's home


def _tantivy(catalog_engine: Engine, home: Path | None) -> SearchIndex:
    if home is None:
        raise ValueError("the tantivy search engine keeps its index in a node's home, and none was given")
    from strongroom.search.tantivy_index import TantivyIndex  # imported only by the nodes that use it

    return TantivyIndex(home / TANTIVY_DIR)


ENGINES: dict[str, Callable[[Engine, Path | None], SearchIndex]] = {
    "sqlite-fts5": lambda catalog_engine, home: SqliteFts5Index(catalog_engine),
    "postgresql": lambda catalog_engine, home: PostgresIndex(catalog_engine),
    "tantivy": _tantivy,
}
DEFAULT_FOR_DATABASE = {"sqlite": "sqlite-fts5", "postgresql": "postgresql"}


def open_search(name: str, catalog_engine: Engine, home: Path | None = None) -> SearchIndex:
    """The engine called ``name`` (or the catalog database's own when ``name`` is empty), for the node at ``home``."""
    chosen = name or DEFAULT_FOR_DATABASE.get(catalog_engine.dialect.name, "")
    make = ENGINES.get(chosen)
    if make is None:
        raise ConfigError(
            f"search.engine {chosen!r} is not a search engine",
            hint=f"use one of: {', '.join(sorted(ENGINES))} (or leave it empty for the catalog database's own)",
        )
    try:
        return make(catalog_engine, home)
    except ValueError as exc:
        raise ConfigError(f"search.engine {chosen!r}: {exc}", hint="leave search.engine empty") from None
