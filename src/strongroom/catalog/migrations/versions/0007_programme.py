"""The access programme: enrolled titles and usage events for COUNTER reports.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from strongroom.catalog.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enrolments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title_id", sa.Integer(), sa.ForeignKey("titles.id"), nullable=False, unique=True),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("enrolled_at", UTCDateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "usage_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.Column("institution", sa.String(20), nullable=True),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("item_public_id", sa.String(16), nullable=False),
        sa.Column("title_key", sa.String(200), nullable=False),
        sa.Column("publisher_key", sa.String(200), nullable=False),
        sa.Column("metric", sa.String(40), nullable=False),
        sa.Column("access", sa.String(20), nullable=False),
        sa.Column("session", sa.String(64), nullable=False),
    )
    op.create_index("ix_usage_events_time", "usage_events", ["time"])
    op.create_index("ix_usage_events_institution", "usage_events", ["institution"])
    op.create_index("ix_usage_events_publisher_key", "usage_events", ["publisher_key"])


def downgrade() -> None:
    op.drop_table("usage_events")
    op.drop_table("enrolments")
