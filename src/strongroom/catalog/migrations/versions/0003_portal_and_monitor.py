"""Public ids for items (stable URLs for landing pages and OAI-PMH), the trigger that released an AU, and the
publisher monitor's watches and checks.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from strongroom.catalog.models import UTCDateTime
from strongroom.domain.identifiers import public_id

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild): SQLite cannot rebuild ``items`` while ``files`` refers to it.
    op.add_column("items", sa.Column("public_id", sa.String(16), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT i.id, a.key, i.item_key FROM items i JOIN archival_units a ON a.id = i.au_id")
    ).all()
    for row_id, au_key, item_key in rows:
        bind.execute(
            sa.text("UPDATE items SET public_id = :p WHERE id = :i"), {"p": public_id(au_key, item_key), "i": row_id}
        )
    op.create_index("ix_items_public_id", "items", ["public_id"], unique=True)
    op.add_column("archival_units", sa.Column("release_trigger", sa.String(20), nullable=True))
    op.create_table(
        "title_watches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title_id", sa.Integer(), sa.ForeignKey("titles.id"), nullable=False, unique=True),
        sa.Column("landing_url", sa.String(1000), nullable=True),
        sa.Column("oai_url", sa.String(1000), nullable=True),
        sa.Column("check_dois", sa.Boolean(), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "monitor_checks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title_id", sa.Integer(), sa.ForeignKey("titles.id"), nullable=False),
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("target", sa.String(1000), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_monitor_checks_title_time", "monitor_checks", ["title_id", "time"])


def downgrade() -> None:
    op.drop_index("ix_monitor_checks_title_time", "monitor_checks")
    op.drop_table("monitor_checks")
    op.drop_table("title_watches")
    with op.batch_alter_table("archival_units") as batch:
        batch.drop_column("release_trigger")
    op.drop_index("ix_items_public_id", "items")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("public_id")
