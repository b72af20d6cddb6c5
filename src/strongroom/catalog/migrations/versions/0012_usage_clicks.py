"""COUNTER 5.1 usage log: each use keeps who clicked and the URL (digests), so that double-clicks are filtered per
URL as the Code of Practice says; ``session`` becomes the COUNTER user-session (with the date and hour) for the
Unique_ metrics. Uses logged before keep empty values: they were filtered already.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("usage_events", sa.Column("visitor", sa.String(64), nullable=False, server_default=""))
    op.add_column("usage_events", sa.Column("url", sa.String(64), nullable=False, server_default=""))
    op.create_index("ix_usage_events_visitor_url", "usage_events", ["visitor", "url"])


def downgrade() -> None:
    op.drop_index("ix_usage_events_visitor_url", "usage_events")
    op.drop_column("usage_events", "url")
    op.drop_column("usage_events", "visitor")
