"""PKP Preservation Network deposits: the OJS journals that registered through the SWORD service document, and the
deposits they sent (one OJS issue each), with the processing state the plugin reads and what to retry when. Accounts
may now belong to a publisher (its staff, who see the publisher pages) instead of an institution.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from strongroom.catalog.models import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pkppn_journals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("title", sa.String(1000), nullable=False, server_default=""),
        sa.Column("journal_url", sa.String(2000), nullable=False, server_default=""),
        sa.Column("issn", sa.String(9)),
        sa.Column("publisher_name", sa.String(500), nullable=False, server_default=""),
        sa.Column("publisher_url", sa.String(2000), nullable=False, server_default=""),
        sa.Column("email", sa.String(500), nullable=False, server_default=""),
        sa.Column("language", sa.String(10), nullable=False, server_default="en"),
        sa.Column("status", sa.String(20), nullable=False, server_default="new"),
        sa.Column("status_note", sa.Text, nullable=False, server_default=""),
        sa.Column("ojs_version", sa.String(40)),
        sa.Column("terms_accepted", sa.Boolean),
        sa.Column("handshake_at", UTCDateTime()),
        sa.Column("handshake_error", sa.Text, nullable=False, server_default=""),
        sa.Column("title_key", sa.String(200)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "pkppn_deposits",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("journal_id", sa.Integer, sa.ForeignKey("pkppn_journals.id"), nullable=False, index=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("size_kb", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("checksum_type", sa.String(10), nullable=False),
        sa.Column("checksum_value", sa.String(128), nullable=False),
        sa.Column("volume", sa.String(40), nullable=False, server_default=""),
        sa.Column("issue", sa.String(40), nullable=False, server_default=""),
        sa.Column("pubdate", sa.String(40), nullable=False, server_default=""),
        sa.Column("ojs_version", sa.String(40), nullable=False, server_default=""),
        sa.Column("licence", sa.JSON, nullable=False),
        sa.Column("state", sa.String(30), nullable=False, index=True),
        sa.Column("error", sa.JSON),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime()),
        sa.Column("au_key", sa.String(300)),
        sa.Column("au_version", sa.Integer),
        sa.Column("received_count", sa.Integer, nullable=False, server_default="1"),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deposited_at", UTCDateTime()),
        sa.Column("preserved_at", UTCDateTime()),
        sa.Column("lease_until", UTCDateTime()),
    )
    with op.batch_alter_table("accounts") as batch:
        batch.alter_column("institution_id", existing_type=sa.Integer, nullable=True)
        batch.add_column(sa.Column("publisher_id", sa.Integer, nullable=True))
        batch.create_foreign_key("fk_accounts_publisher_id", "publishers", ["publisher_id"], ["id"])
        batch.create_index("ix_accounts_publisher_id", ["publisher_id"])


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_index("ix_accounts_publisher_id")
        batch.drop_constraint("fk_accounts_publisher_id", type_="foreignkey")
        batch.drop_column("publisher_id")
        batch.alter_column("institution_id", existing_type=sa.Integer, nullable=False)
    op.drop_table("pkppn_deposits")
    op.drop_table("pkppn_journals")
