"""The ``sqlite-fts5`` search engine: an FTS5 table in the node's SQLite catalog database (diacritics folded by
FTS5's unicode61 tokenizer, ranked by bm25). The embedded default: no server, nothing to install.

Must not import: the catalog, services, faces.
"""

# ruff: noqa: S608 - SQL is built only from this module's constants (table, facet names); every value is bound

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, text

from strongroom.search.base import FACETS, SearchDocument
from strongroom.search.sql import SqlIndex

TABLE = "searchindex_fts"
_COLUMNS = ("released", *FACETS)


def _match(groups: list[tuple[str, ...]]) -> str:
    # Each word or phrase is quoted as an FTS5 string (doubling any quote), so it is matched, never parsed.
    return " ".join('"' + " ".join(g).replace('"', '""') + '"' for g in groups)


class SqliteFts5Index(SqlIndex):
    name = "sqlite-fts5"
    table = TABLE
    key = "rowid"
    released_true = "1"

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name != "sqlite":
            raise ValueError("the sqlite-fts5 search engine needs a SQLite catalog")
        super().__init__(engine)
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
        with self.writing() as conn:
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

    def match(self, groups: list[tuple[str, ...]]) -> tuple[str, str, dict[str, Any]]:
        return f"{TABLE} MATCH :match", "rank", {"match": _match(groups)}

    def remove(self, ids: Sequence[int]) -> None:
        if ids:
            with self.writing() as conn:
                self._delete(conn, list(ids))
