"""Each title's summary (``title_summaries``), so that the sitemap and KBART cost their output, not the archive's
AUs: the latest release and the distinct volume keys of its released AUs holding items, whether every AU of it is
released, and its KBART coverage runs under the one-copy rule (services.title_summaries). Filled from the AUs.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from strongroom.catalog.models import UTCDateTime
from strongroom.services.title_summaries import rebuild

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "title_summaries",
        sa.Column("title_id", sa.Integer(), sa.ForeignKey("titles.id"), primary_key=True),
        sa.Column("last_released", UTCDateTime(), nullable=True),
        sa.Column("volumes", sa.JSON(), nullable=False),
        sa.Column("volume_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("released", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("coverage", sa.JSON(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False, server_default="0"),
    )
    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("title_summaries")
