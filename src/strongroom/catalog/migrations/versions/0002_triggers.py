"""Triggers: board members with their keys, triggers with scope, reason, evidence and state, signed votes, and
the release of AUs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from strongroom.catalog.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "board_members",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("public_key", sa.String(100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "triggers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(20), nullable=False, unique=True),
        sa.Column("scope_kind", sa.String(20), nullable=False),
        sa.Column("scope_ref", sa.String(400), nullable=False),
        sa.Column("au_keys", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("proposed_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime()),
        sa.Column("released_at", UTCDateTime()),
        sa.Column("licence", sa.String(500)),
    )
    op.create_table(
        "trigger_votes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("trigger_id", sa.Integer(), sa.ForeignKey("triggers.id"), nullable=False),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("board_members.id"), nullable=False),
        sa.Column("choice", sa.String(10), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.String(40), nullable=False),
        sa.Column("signature", sa.String(200), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("trigger_id", "member_id"),
    )
    with op.batch_alter_table("archival_units") as batch:
        batch.add_column(sa.Column("released_at", UTCDateTime()))
        batch.add_column(sa.Column("release_licence", sa.String(500)))


def downgrade() -> None:
    with op.batch_alter_table("archival_units") as batch:
        batch.drop_column("release_licence")
        batch.drop_column("released_at")
    for table in ("trigger_votes", "triggers", "board_members"):
        op.drop_table(table)
