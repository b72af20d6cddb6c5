"""The search seam: the catalog keeps a queue of items whose search documents must be written; the search
engines keep their own tables (made by the engines themselves). The old built-in structures go: the SQLite FTS5
table over ``items.search_text``, the PostgreSQL expression index, and the column itself. Every existing item is
queued, so the chosen engine is filled when the node next opens.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_queue",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), nullable=False),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TABLE IF EXISTS items_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_items_search")
    op.execute("ALTER TABLE items DROP COLUMN search_text")  # SQLite 3.35+ drops a plain column in place
    op.execute("INSERT INTO search_queue (item_id) SELECT id FROM items ORDER BY id")


def downgrade() -> None:
    op.add_column("items", sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    op.drop_table("search_queue")
