"""Institutions of the access programme and their IP ranges.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from strongroom.catalog.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "institutions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(20), nullable=False, unique=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("director", sa.JSON(), nullable=False),
        sa.Column("librarian", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("group_at_validation", sa.String(10), nullable=True),
        sa.Column("trial_until", sa.Date(), nullable=True),
        sa.Column("paid_through", sa.Date(), nullable=True),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_institutions_country", "institutions", ["country"])
    op.create_table(
        "ip_ranges",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("institution_id", sa.Integer(), sa.ForeignKey("institutions.id"), nullable=False),
        sa.Column("cidr", sa.String(50), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("first", sa.String(32), nullable=False),
        sa.Column("last", sa.String(32), nullable=False),
    )
    op.create_index("ix_ip_ranges_institution_id", "ip_ranges", ["institution_id"])
    op.create_index("ix_ip_ranges_first", "ip_ranges", ["first"])


def downgrade() -> None:
    op.drop_table("ip_ranges")
    op.drop_table("institutions")
