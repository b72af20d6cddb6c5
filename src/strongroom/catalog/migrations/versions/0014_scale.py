"""A catalog that stays fast at size: each AU keeps how many items it holds (``item_count``), so counts per title,
publisher and archive add up AUs instead of scanning every item, and its volumes and issues (``volumes``, ``issues``),
so title pages, the sitemap and the holdings reports never group items; indexes for what the portal and OAI-PMH ask
(released AUs by release time, a title's AUs, a publisher's titles) and for ``strongroom events --au`` newest
first. The count is filled from the items already catalogued.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from alembic import op

from strongroom.domain.volumes import issue_coverage, volume_counts

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN (constant defaults), so SQLite never rebuilds a table that items refer to
    op.add_column("archival_units", sa.Column("item_count", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("archival_units", sa.Column("volumes", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    op.add_column("archival_units", sa.Column("issues", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    _fill_counts()
    op.create_index("ix_archival_units_released_at", "archival_units", ["released_at"])
    op.create_index("ix_archival_units_title_id", "archival_units", ["title_id"])
    op.create_index("ix_titles_publisher_id", "titles", ["publisher_id"])
    op.create_index("ix_events_object_key_time", "events", ["object_key", "time", "id"])


def downgrade() -> None:
    op.drop_index("ix_events_object_key_time", table_name="events")
    op.drop_index("ix_titles_publisher_id", table_name="titles")
    op.drop_index("ix_archival_units_title_id", table_name="archival_units")
    op.drop_index("ix_archival_units_released_at", table_name="archival_units")
    op.drop_column("archival_units", "issues")
    op.drop_column("archival_units", "volumes")
    op.drop_column("archival_units", "item_count")


def _fill_counts() -> None:
    """Each AU's counts from the items already catalogued (one grouped pass over the items)."""
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT au_id, volume, year, count(*) FROM items GROUP BY au_id, volume, year"))
    per_au: dict[int, list[tuple[str | None, int | None, int]]] = {}
    for au_id, volume, year, n in rows:
        per_au.setdefault(int(au_id), []).append((str(volume) if volume else None, year, int(n)))
    issues: dict[int, list[tuple[str | None, str | None, dt.date | str | None, int | None]]] = {}
    for au_id, volume, issue, first_date, first_year in bind.execute(
        sa.text(
            "SELECT au_id, volume, issue, min(publication_date), min(year) FROM items GROUP BY au_id, volume, issue"
        )
    ):
        issues.setdefault(int(au_id), []).append((volume, issue, first_date, first_year))
    au_ids = [int(r[0]) for r in bind.execute(sa.text("SELECT id FROM archival_units"))]
    update = sa.text("UPDATE archival_units SET item_count = :n, volumes = :v, issues = :i WHERE id = :id")
    for au_id in au_ids:
        groups = per_au.get(au_id, [])
        volumes = volume_counts(groups)
        covered = issue_coverage(issues.get(au_id, []))
        bind.execute(
            update,
            {"n": sum(g[2] for g in groups), "v": json.dumps(volumes), "i": json.dumps(covered), "id": au_id},
        )
