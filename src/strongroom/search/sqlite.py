"""The ``sqlite-fts5`` search engine: an FTS5 table in the node's SQLite catalog database (diacritics folded by
FTS5's unicode61 tokenizer, ranked by bm25). The embedded default: no server, nothing to install.

Must not import: the catalog, services, faces.
"""

# ruff: noqa: S608 - SQL is built only from this module's constants (table, facet names); every value is bound

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, text

from strongroom.search.base import FACETS, SearchDocument, SearchHits, SearchQuery, terms

TABLE = "searchindex_fts"
_COLUMNS = ("released", *FACETS)
_FACET_LIMIT = 50


def _match(words: list[str]) -> str:
    # Each word is quoted as an FTS5 string (doubling any quote), so it is matched, never parsed.
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


class SqliteFts5Index:
    name = "sqlite-fts5"

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name != "sqlite":
            raise ValueError("the sqlite-fts5 search engine needs a SQLite catalog")
        self.engine = engine
        with engine.begin() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": TABLE}
            ).first()
            if not exists:
                unindexed = ", ".join(f"{c} UNINDEXED" for c in _COLUMNS)
                conn.execute(
                    text(
                        f"CREATE VIRTUAL TABLE {TABLE} USING fts5(body, {unindexed}, "
                        "tokenize='unicode61 remove_diacritics 2')"
                    )
                )
        self.created = not exists

    def _delete(self, conn: Connection, ids: Sequence[int]) -> None:
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join(str(int(i)) for i in chunk)
            conn.execute(text(f"DELETE FROM {TABLE} WHERE rowid IN ({marks})"))

    def replace(self, documents: Sequence[SearchDocument]) -> None:
        if not documents:
            return
        with self.engine.begin() as conn:
            self._delete(conn, [d.id for d in documents])
            conn.execute(
                text(
                    f"INSERT INTO {TABLE} (rowid, body, released, {', '.join(FACETS)}) "
                    f"VALUES (:id, :body, :released, {', '.join(':' + f for f in FACETS)})"
                ),
                [
                    {"id": d.id, "body": d.text, "released": int(d.released), **{f: d.facet(f) for f in FACETS}}
                    for d in documents
                ],
            )

    def remove(self, ids: Sequence[int]) -> None:
        if ids:
            with self.engine.begin() as conn:
                self._delete(conn, list(ids))

    def search(self, query: SearchQuery) -> SearchHits:
        words = terms(query.text)
        if not words:
            return SearchHits([], 0)
        where = [f"{TABLE} MATCH :match"]
        params: dict[str, Any] = {"match": _match(words)}
        if query.released_only:
            where.append("released = 1")
        for n, (name, value) in enumerate(sorted(query.filters.items())):
            where.append(f"{name} = :f{n}")  # names are checked against FACETS by SearchQuery
            params[f"f{n}"] = str(value)
        condition = " AND ".join(where)
        with self.engine.connect() as conn:
            ids = [
                int(r[0])
                for r in conn.execute(
                    text(
                        f"SELECT rowid FROM {TABLE} WHERE {condition} ORDER BY rank, rowid LIMIT :limit OFFSET :offset"
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
