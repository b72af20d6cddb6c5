"""The initial catalog: publishers, titles, archival units and their versions, items, files, events,
and full-text search over items (SQLite FTS5 table, or a PostgreSQL GIN index on a tsvector).

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from strongroom.catalog.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "publishers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("country", sa.String(2)),
        sa.Column("platform", sa.String(100)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "titles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("publisher_id", sa.Integer(), sa.ForeignKey("publishers.id")),
        sa.Column("name", sa.String(1000), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("issn_print", sa.String(9), index=True),
        sa.Column("issn_online", sa.String(9), index=True),
        sa.Column("issn_l", sa.String(9)),
        sa.Column("isbn", sa.String(13)),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("licence", sa.String(500)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "archival_units",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
        sa.Column("title_id", sa.Integer(), sa.ForeignKey("titles.id"), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("object_id", sa.String(400), nullable=False, unique=True),
        sa.Column("head_version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "au_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("au_id", sa.Integer(), sa.ForeignKey("archival_units.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("agent", sa.String(300), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("new_files", sa.Integer(), nullable=False),
        sa.Column("new_bytes", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("au_id", "number"),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("au_id", sa.Integer(), sa.ForeignKey("archival_units.id"), nullable=False, index=True),
        sa.Column("item_key", sa.String(500), nullable=False),
        sa.Column("doi", sa.String(300), index=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("publication_date", sa.Date()),
        sa.Column("year", sa.Integer()),
        sa.Column("volume", sa.String(50)),
        sa.Column("issue", sa.String(50)),
        sa.Column("pages", sa.String(50)),
        sa.Column("abstract", sa.Text()),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(20)),
        sa.Column("licence", sa.String(500)),
        sa.Column("item_type", sa.String(40), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.UniqueConstraint("au_id", "item_key"),
    )
    op.create_table(
        "files",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("au_id", sa.Integer(), sa.ForeignKey("archival_units.id"), nullable=False, index=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("items.id"), index=True),
        sa.Column("logical_path", sa.String(1000), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha512", sa.String(128), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, index=True),
        sa.Column("media_type", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("au_id", "logical_path"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("type", sa.String(40), nullable=False, index=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("agent", sa.String(300), nullable=False),
        sa.Column("time", UTCDateTime(), nullable=False, index=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("object_type", sa.String(40), nullable=False),
        sa.Column("object_key", sa.String(400), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_events_object", "events", ["object_type", "object_key"])

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        # An external-content FTS5 table over items.search_text; rows are kept in step by the catalog.
        op.execute(
            "CREATE VIRTUAL TABLE items_fts USING fts5("
            "search_text, content='items', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
        )
    elif dialect == "postgresql":
        op.execute("CREATE INDEX ix_items_search ON items USING GIN (to_tsvector('simple', search_text))")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TABLE IF EXISTS items_fts")
    for table in ("events", "files", "items", "au_versions", "archival_units", "titles", "publishers"):
        op.drop_table(table)
