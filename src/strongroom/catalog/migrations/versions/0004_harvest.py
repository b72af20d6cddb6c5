"""Harvest configurations (the plan and settings each harvested title is collected with), and where the
publisher showed each harvested item.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from strongroom.catalog.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("items", sa.Column("url", sa.String(2000), nullable=True))
    op.create_table(
        "harvest_configs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title_key", sa.String(200), nullable=False, unique=True),
        sa.Column("title_name", sa.String(1000), nullable=False),
        sa.Column("publisher", sa.String(500), nullable=False),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("plan", sa.String(40), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("every_days", sa.Integer(), nullable=True),
        sa.Column("closed_aus", sa.JSON(), nullable=False),
        sa.Column("last_run", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("harvest_configs")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("url")
