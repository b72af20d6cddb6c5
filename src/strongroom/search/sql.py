"""What the two engines that live in the catalog's SQL database share: one table of documents with the facet fields
beside each, searched with a full-text match and filtered, counted and faceted with plain SQL. Each engine says only
how a match is written and ranked, and how documents are stored.

Must not import: the catalog, services, faces.
"""

# ruff: noqa: S608 - SQL is built only from the engines' constants (table, key, facet names); every value is bound

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from strongroom.errors import SearchIndexFull
from strongroom.search.base import FACETS, SearchDocument, SearchHits, SearchQuery, phrases
from strongroom.space import database_full

FACET_LIMIT = 50


class SqlIndex:
    """Search, count and clear over ``table`` (its key column ``key``); subclasses give the match."""

    name: str
    table: str
    key: str
    released_true: str  # how the released column reads as true in this dialect

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def match(self, groups: list[tuple[str, ...]]) -> tuple[str, str, dict[str, Any]]:
        """(WHERE condition of a full-text match of every group, a word or a phrase (:func:`phrases`), ORDER BY of
        its ranking, their parameters)."""
        raise NotImplementedError

    def search(self, query: SearchQuery) -> SearchHits:
        groups = phrases(query.text)
        if not groups:
            return SearchHits([], 0)
        matched, order, params = self.match(groups)
        where = [matched]
        if query.released_only:
            where.append(f"released = {self.released_true}")
        for n, (name, value) in enumerate(sorted(query.filters.items())):
            where.append(f"{name} = :f{n}")  # names are checked against FACETS by SearchQuery
            params[f"f{n}"] = str(value)
        condition = " AND ".join(where)
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT {self.key} FROM {self.table} WHERE {condition} ORDER BY {order}, {self.key} "
                    "LIMIT :limit OFFSET :offset"
                ),
                {**params, "limit": query.limit, "offset": query.offset},
            )
            ids = [int(r[0]) for r in rows]
            total = int(conn.execute(text(f"SELECT count(*) FROM {self.table} WHERE {condition}"), params).scalar_one())
            facets = {
                name: [
                    (str(value), int(n))
                    for value, n in conn.execute(
                        text(
                            f"SELECT {name}, count(*) FROM {self.table} WHERE {condition} AND {name} IS NOT NULL "
                            f"GROUP BY {name} ORDER BY count(*) DESC, {name} LIMIT {FACET_LIMIT}"
                        ),
                        params,
                    )
                ]
                for name in query.facets
                if name in FACETS
            }
        return SearchHits(ids, total, facets)

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {self.table}")).scalar_one())

    def clear(self) -> None:
        with self.writing() as conn:
            conn.execute(text(f"DELETE FROM {self.table}"))

    def replace(self, documents: Sequence[SearchDocument]) -> None:
        raise NotImplementedError

    def rebuild(self, batches: Iterable[Sequence[SearchDocument]]) -> int:
        """Emptied, then written batch by batch (one transaction for all would hold the catalog's database)."""
        self.clear()
        written = 0
        for batch in batches:
            self.replace(batch)
            written += len(batch)
        return written

    @contextlib.contextmanager
    def batches(self) -> Iterator[None]:
        """Each write is its own transaction already: nothing is kept between them."""
        yield

    @contextlib.contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction; a full disk is reported as such (the catalog's queue keeps what was not written)."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except DBAPIError as exc:
            if not database_full(exc):
                raise
            raise SearchIndexFull(
                f"the {self.name} search index has no room left in the catalog's database; the documents not yet "
                "written stay queued",
                hint="free space on that disk, then run the command again (or strongroom reindex --search)",
            ) from None
