"""Full-text search over items: SQLite FTS5 on the embedded default, PostgreSQL full text otherwise.

Both take the user's words as plain terms (never as query syntax), so a crafted query cannot raise an error or
reach beyond the items table.
"""

from __future__ import annotations

import re

from sqlalchemy import Float, Integer, Select, column, func, select, text
from sqlalchemy.orm import Session

from strongroom.catalog.models import Item

_TERM = re.compile(r"\w[\w.\-/]*", re.UNICODE)


def terms(query: str) -> list[str]:
    """The words of a query, stripped of anything a search engine would read as syntax."""
    return _TERM.findall(query)[:32]


def sync_fts(session: Session, item: Item, old_text: str | None) -> None:
    """Keep the SQLite FTS5 shadow index in step with one item (no-op on PostgreSQL)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    if old_text is not None:
        session.execute(
            text("INSERT INTO items_fts(items_fts, rowid, search_text) VALUES('delete', :id, :t)"),
            {"id": item.id, "t": old_text},
        )
    session.execute(
        text("INSERT INTO items_fts(rowid, search_text) VALUES(:id, :t)"),
        {"id": item.id, "t": item.search_text},
    )


def delete_fts(session: Session, item_id: int, old_text: str) -> None:
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            text("INSERT INTO items_fts(items_fts, rowid, search_text) VALUES('delete', :id, :t)"),
            {"id": item_id, "t": old_text},
        )


def search_statement(session: Session, query: str) -> Select[Item] | None:
    """A ranked select of items matching every term of ``query``; None when the query has no words."""
    words = terms(query)
    if not words:
        return None
    if session.get_bind().dialect.name == "sqlite":
        # Each term is quoted as an FTS5 string (doubling any quote), so it is matched, never parsed.
        match = " ".join('"' + w.replace('"', '""') + '"' for w in words)
        ranked = text("SELECT rowid AS rid, bm25(items_fts) AS rank FROM items_fts WHERE items_fts MATCH :m")
        sub = ranked.bindparams(m=match).columns(column("rid", Integer), column("rank", Float)).subquery()
        return select(Item).join(sub, Item.id == sub.c.rid).order_by(sub.c.rank, Item.id)
    tsq = func.plainto_tsquery("simple", " ".join(words))
    vec = func.to_tsvector("simple", Item.search_text)
    return select(Item).where(vec.op("@@")(tsq)).order_by(func.ts_rank(vec, tsq).desc(), Item.id)
