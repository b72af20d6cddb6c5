"""The ``postgresql`` search engine: a table of precomputed ``tsvector`` documents in the node's PostgreSQL
catalog database, with a GIN index, ranked by ``ts_rank``. Words are folded (case and diacritics) in Python before
they are indexed and before they are searched, so 'etude' finds 'Étude' here as it does on SQLite, with no
database extension.

Must not import: the catalog, services, faces.
"""

# ruff: noqa: S608 - SQL is built only from this module's constants (table, facet names); every value is bound

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, text

from strongroom.search.base import FACETS, SearchDocument, SearchHits, SearchQuery, fold, terms

TABLE = "searchindex_documents"
_FACET_LIMIT = 50


class PostgresIndex:
    name = "postgresql"

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("the postgresql search engine needs a PostgreSQL catalog")
        self.engine = engine
        with engine.begin() as conn:
            exists = conn.execute(text("SELECT to_regclass(:t)"), {"t": TABLE}).scalar() is not None
            if not exists:
                facet_columns = ", ".join(f"{name} TEXT" for name in FACETS)
                conn.execute(
                    text(
                        f"CREATE TABLE IF NOT EXISTS {TABLE} (item_id INTEGER PRIMARY KEY, "
                        f"document TSVECTOR NOT NULL, released BOOLEAN NOT NULL, {facet_columns})"
                    )
                )
                conn.execute(text(f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_document ON {TABLE} USING GIN (document)"))
        self.created = not exists

    def replace(self, documents: Sequence[SearchDocument]) -> None:
        if not documents:
            return
        names = ", ".join(FACETS)
        values = ", ".join(f":{f}" for f in FACETS)
        updates = ", ".join(f"{f} = EXCLUDED.{f}" for f in ("document", "released", *FACETS))
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    f"INSERT INTO {TABLE} (item_id, document, released, {names}) "
                    f"VALUES (:id, to_tsvector('simple', :body), :released, {values}) "
                    f"ON CONFLICT (item_id) DO UPDATE SET {updates}"
                ),
                [
                    {"id": d.id, "body": fold(d.text), "released": d.released, **{f: d.facet(f) for f in FACETS}}
                    for d in documents
                ],
            )

    def remove(self, ids: Sequence[int]) -> None:
        if ids:
            with self.engine.begin() as conn:
                conn.execute(text(f"DELETE FROM {TABLE} WHERE item_id = ANY(:ids)"), {"ids": list(ids)})

    def search(self, query: SearchQuery) -> SearchHits:
        words = terms(query.text)
        if not words:
            return SearchHits([], 0)
        # plainto_tsquery reads its text as plain words (never tsquery syntax) and ANDs them.
        where = ["document @@ plainto_tsquery('simple', :words)"]
        params: dict[str, Any] = {"words": fold(" ".join(words))}
        if query.released_only:
            where.append("released")
        for n, (name, value) in enumerate(sorted(query.filters.items())):
            where.append(f"{name} = :f{n}")  # names are checked against FACETS by SearchQuery
            params[f"f{n}"] = str(value)
        condition = " AND ".join(where)
        with self.engine.connect() as conn:
            ids = [
                int(r[0])
                for r in conn.execute(
                    text(
                        f"SELECT item_id FROM {TABLE} WHERE {condition} "
                        "ORDER BY ts_rank(document, plainto_tsquery('simple', :words)) DESC, item_id "
                        "LIMIT :limit OFFSET :offset"
                    ),
                    {**params, "limit": query.limit, "offset": query.offset},
                )
            ]
            total = int(conn.execute(text(f"SELECT count(*) FROM {TABLE} WHERE {condition}"), params).scalar_one())
            facets = {
                name: [
                    (str(value), int(n))
                    for value, n in conn.execute(
                        text(
                            f"SELECT {name}, count(*) FROM {TABLE} WHERE {condition} AND {name} IS NOT NULL "
                            f"GROUP BY {name} ORDER BY count(*) DESC, {name} LIMIT {_FACET_LIMIT}"
                        ),
                        params,
                    )
                ]
                for name in query.facets
            }
        return SearchHits(ids, total, facets)

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar_one())

    def clear(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(f"DELETE FROM {TABLE}"))
