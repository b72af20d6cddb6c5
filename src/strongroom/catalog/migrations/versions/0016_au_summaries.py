"""What an AU keeps about itself, so that the console's node page and ``network status`` never scan files or
events: its last fixity audit (``last_audit_at``, indexed for a scheduler's "audited before", and
``last_audit_ok``), the files and bytes of its head version (``stored_files``, ``stored_bytes``), and its polls
(``last_poll_at``, ``last_poll_outcome``, ``last_conclusive_poll_at``, ``poll_alarms``: domain.poll_summary).
All are filled from the files and events already recorded.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from strongroom.catalog.models import UTCDateTime
from strongroom.domain.poll_summary import PollSummary, after

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

POLL = "poll"  # EventType.POLL as recorded (EventType.FIXITY_CHECK, "fixity check", is written out below)


def upgrade() -> None:
    # plain ADD COLUMN (constant defaults), so SQLite never rebuilds a table that items refer to
    op.add_column("archival_units", sa.Column("last_audit_at", UTCDateTime(), nullable=True))
    op.add_column("archival_units", sa.Column("last_audit_ok", sa.Boolean(), nullable=True))
    op.add_column("archival_units", sa.Column("stored_files", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("archival_units", sa.Column("stored_bytes", sa.BigInteger(), nullable=False, server_default="0"))
    op.add_column("archival_units", sa.Column("last_poll_at", UTCDateTime(), nullable=True))
    op.add_column("archival_units", sa.Column("last_poll_outcome", sa.String(20), nullable=True))
    op.add_column("archival_units", sa.Column("last_conclusive_poll_at", UTCDateTime(), nullable=True))
    op.add_column("archival_units", sa.Column("poll_alarms", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    _fill_stored()
    _fill_audits()
    _fill_polls()
    op.create_index("ix_archival_units_last_audit_at", "archival_units", ["last_audit_at"])


def downgrade() -> None:
    op.drop_index("ix_archival_units_last_audit_at", table_name="archival_units")
    for column in (
        "poll_alarms",
        "last_conclusive_poll_at",
        "last_poll_outcome",
        "last_poll_at",
        "stored_bytes",
        "stored_files",
        "last_audit_ok",
        "last_audit_at",
    ):
        op.drop_column("archival_units", column)


def _fill_stored() -> None:
    """The files table holds each AU's head version: its rows are what the AU stores."""
    op.execute(
        "UPDATE archival_units SET "
        "stored_files = (SELECT count(*) FROM files WHERE files.au_id = archival_units.id), "
        "stored_bytes = (SELECT coalesce(sum(files.size), 0) FROM files WHERE files.au_id = archival_units.id)"
    )


def _fill_audits() -> None:
    """Each AU's newest fixity check (events by AU key and time: the index ix_events_object_key_time)."""
    op.execute(
        "UPDATE archival_units SET "
        "last_audit_at = (SELECT events.time FROM events WHERE events.object_key = archival_units.key "
        "AND events.type = 'fixity check' ORDER BY events.time DESC, events.id DESC LIMIT 1), "
        "last_audit_ok = (SELECT events.outcome = 'success' FROM events WHERE events.object_key = archival_units.key "
        "AND events.type = 'fixity check' ORDER BY events.time DESC, events.id DESC LIMIT 1)"
    )


def _fill_polls() -> None:
    """Each AU's poll summary, folded from its poll events oldest first (one pass over the poll events)."""
    bind = op.get_bind()
    aus = sa.table(
        "archival_units",
        sa.column("key", sa.String()),
        sa.column("last_poll_at", UTCDateTime()),
        sa.column("last_poll_outcome", sa.String()),
        sa.column("last_conclusive_poll_at", UTCDateTime()),
        sa.column("poll_alarms", sa.JSON()),
    )
    events = sa.table(
        "events",
        sa.column("id", sa.Integer()),
        sa.column("type", sa.String()),
        sa.column("outcome", sa.String()),
        sa.column("time", UTCDateTime()),
        sa.column("detail", sa.Text()),
        sa.column("object_key", sa.String()),
        sa.column("data", sa.JSON()),
    )
    keys = set(bind.execute(sa.select(aus.c.key)).scalars())
    summaries: dict[str, PollSummary] = {}
    rows = bind.execute(
        sa.select(events.c.object_key, events.c.time, events.c.outcome, events.c.detail, events.c.data)
        .where(events.c.type == POLL)
        .order_by(events.c.time, events.c.id)
    )
    for key, time, outcome, detail, data in rows:
        if key in keys:
            summaries[key] = after(summaries.get(key, PollSummary()), time, outcome, detail or "", _dict(data))
    update = (
        sa.update(aus)
        .where(aus.c.key == sa.bindparam("k"))
        .values(
            last_poll_at=sa.bindparam("at"),
            last_poll_outcome=sa.bindparam("outcome"),
            last_conclusive_poll_at=sa.bindparam("conclusive"),
            poll_alarms=sa.bindparam("alarms"),
        )
    )
    params = [
        {
            "k": key,
            "at": s.last_poll_at,
            "outcome": s.last_poll_outcome,
            "conclusive": s.last_conclusive_at,
            "alarms": s.alarms,
        }
        for key, s in summaries.items()
    ]
    if params:
        bind.execute(update, params)


def _dict(data: Any) -> dict[str, Any]:
    return data if isinstance(data, dict) else {}
