"""The journal of writes in flight in the catalog (``write_intents``), for a node whose catalog is PostgreSQL: its
workers may run on several machines, each with a home of its own, and an intent kept in one machine's home is seen
by no other (:mod:`strongroom.services.journal_postgres`). One row per write in flight; its writer holds an advisory
lock keyed by the token while it lives. The table is created on SQLite too, unused there (a SQLite node keeps its
journal in ``HOME/journal/``), so that both backends have one schema.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from strongroom.catalog.tables import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "write_intents",
        sa.Column("token", sa.String(32), primary_key=True),
        sa.Column("object_id", sa.String(400), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("write_intents")
