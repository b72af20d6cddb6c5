"""Search engines by name: ``search.engine`` in the settings chooses one (empty: the catalog database's own,
``sqlite-fts5`` or ``postgresql``). A new engine is one module implementing
:class:`~strongroom.search.base.SearchIndex` and one entry here."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from strongroom.errors import ConfigError
from strongroom.search.base import SearchIndex
from strongroom.search.postgresql import PostgresIndex
from strongroom.search.sqlite import SqliteFts5Index

ENGINES: dict[str, Callable[[Engine], SearchIndex]] = {
    "sqlite-fts5": SqliteFts5Index,
    "postgresql": PostgresIndex,
}
DEFAULT_FOR_DATABASE = {"sqlite": "sqlite-fts5", "postgresql": "postgresql"}


def open_search(name: str, catalog_engine: Engine) -> SearchIndex:
    """The engine called ``name`` (or the catalog database's own when ``name`` is empty)."""
    chosen = name or DEFAULT_FOR_DATABASE.get(catalog_engine.dialect.name, "")
    make = ENGINES.get(chosen)
    if make is None:
        raise ConfigError(
            f"search.engine {chosen!r} is not a search engine",
            hint=f"use one of: {', '.join(sorted(ENGINES))} (or leave it empty for the catalog database's own)",
        )
    try:
        return make(catalog_engine)
    except ValueError as exc:
        raise ConfigError(f"search.engine {chosen!r}: {exc}", hint="leave search.engine empty") from None
