"""Names ordered one way everywhere (:mod:`strongroom.domain.names`): on PostgreSQL the listings' name indexes of
revision 0017 are made again on ``lower(name COLLATE "C")`` (its result keeps the "C" collation), the expression
``catalog.names.sort_name`` gives there (A-Z lowered, bytes compared, whatever the database's locale), so that a
page of titles or publishers is still a seek in an index. SQLite's ``lower(name)`` is already that order and its
indexes stay.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

INDEXES = (("ix_titles_sort_name", "titles"), ("ix_publishers_sort_name", "publishers"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [sa.text('lower(name COLLATE "C")'), "id"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [sa.text("lower(name)"), "id"])
