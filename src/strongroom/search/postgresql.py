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

from strongroom.search.base import FACETS, SearchDocument, fold
from strongroom.search.sql import SqlIndex

TABLE = "searchindex_documents"


class PostgresIndex(SqlIndex):
    name = "postgresql"
    table = TABLE
    key = "item_id"
    released_true = "TRUE"

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("the postgresql search engine needs a PostgreSQL catalog")
        super().__init__(engine)
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
        with self.writing() as conn:
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
            with self.writing() as conn:
                conn.execute(text(f"DELETE FROM {TABLE} WHERE item_id = ANY(:ids)"), {"ids": list(ids)})

    def match(self, groups: list[tuple[str, ...]]) -> tuple[str, str, dict[str, Any]]:
        # plainto_tsquery reads its text as plain words (never tsquery syntax) and ANDs them; phraseto_tsquery
        # wants them in order, side by side.
        singles = [g[0] for g in groups if len(g) == 1]
        params: dict[str, Any] = {}
        parts = []
        if singles:
            parts.append("plainto_tsquery('simple', :words)")
            params["words"] = fold(" ".join(singles))
        for n, group in enumerate(g for g in groups if len(g) > 1):
            parts.append(f"phraseto_tsquery('simple', :p{n})")
            params[f"p{n}"] = fold(" ".join(group))
        query = "(" + " && ".join(parts) + ")"
        return f"document @@ {query}", f"ts_rank(document, {query}) DESC", params
