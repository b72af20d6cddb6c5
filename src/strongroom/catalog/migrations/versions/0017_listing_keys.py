"""Listings walked by key (decision 0009): titles and publishers a page at a time by name, after the last (lowered
name, id) shown, and events of one type newest first, after the last (time, id) shown; each page is then a seek in
an index, as fast deep in the list as at its start (``strongroom titles``, ``publishers``, ``events --type``, the
portal's /titles/ and /publishers/).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_titles_sort_name", "titles", [sa.text("lower(name)"), "id"])
    op.create_index("ix_publishers_sort_name", "publishers", [sa.text("lower(name)"), "id"])
    op.create_index("ix_events_type_time", "events", ["type", "time", "id"])


def downgrade() -> None:
    op.drop_index("ix_events_type_time", table_name="events")
    op.drop_index("ix_publishers_sort_name", table_name="publishers")
    op.drop_index("ix_titles_sort_name", table_name="titles")
