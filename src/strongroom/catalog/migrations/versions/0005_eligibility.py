"""Country eligibility: indicator imports and values, official lists, and manual overrides.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from strongroom.catalog.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "indicator_imports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("source", sa.String(1000), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.Column("values", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
    )
    op.create_table(
        "indicator_values",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("indicator_imports.id"), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("indicator", sa.String(40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
    )
    op.create_index("ix_indicator_values_lookup", "indicator_values", ["country", "indicator", "year"])
    op.create_table(
        "official_lists",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(1000), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.Column("entries", sa.JSON(), nullable=False),
    )
    op.create_table(
        "eligibility_overrides",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("group", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_eligibility_overrides_country", "eligibility_overrides", ["country"])


def downgrade() -> None:
    op.drop_index("ix_eligibility_overrides_country", "eligibility_overrides")
    op.drop_table("eligibility_overrides")
    op.drop_table("official_lists")
    op.drop_index("ix_indicator_values_lookup", "indicator_values")
    op.drop_table("indicator_values")
    op.drop_table("indicator_imports")
