"""Names in the order a French, Spanish or Portuguese reader expects (:mod:`strongroom.domain.names`): titles and
publishers get a stored ``sort_key``, the name folded (accents dropped, case folded, "ß" as "ss") by Python, filled
here for the rows already there, a batch at a time; the listings' indexes of revisions 0017 and 0019 on the lowered
name are replaced by indexes on (sort_key, id), so that a page of titles or publishers is still a seek in an index.
The key is compared as bytes on both backends (PostgreSQL: the "C" collation), as Python compares it.

On SQLite the column is added NOT NULL with an empty default, which SQLite needs to add such a column to a table
holding rows (making an existing column NOT NULL would copy the table, which its foreign keys forbid inside the
migration's transaction); every insert gives a key (``catalog.tables``), so the default is never used.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from strongroom.domain.names import sort_key

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

TABLES = ("titles", "publishers")
BATCH = 1000
SORT_KEY = sa.String().with_variant(sa.String(collation="C"), "postgresql")


def _fill(conn: sa.Connection, name: str) -> None:
    """Each row's key from its name, in Python (no database folds names as domain.names does), by id."""
    table = sa.table(name, sa.column("id", sa.Integer()), sa.column("name", sa.String()), sa.column("sort_key"))
    update = table.update().where(table.c.id == sa.bindparam("row")).values(sort_key=sa.bindparam("key"))
    last = 0
    while rows := conn.execute(
        sa.select(table.c.id, table.c.name).where(table.c.id > last).order_by(table.c.id).limit(BATCH)
    ).all():
        conn.execute(update, [{"row": row_id, "key": sort_key(row_name)} for row_id, row_name in rows])
        last = rows[-1][0]


def upgrade() -> None:
    conn = op.get_bind()
    postgres = conn.dialect.name == "postgresql"
    for table in TABLES:
        op.drop_index(f"ix_{table}_sort_name", table_name=table)
        if postgres:
            op.add_column(table, sa.Column("sort_key", SORT_KEY, nullable=True))
        else:
            op.add_column(table, sa.Column("sort_key", SORT_KEY, nullable=False, server_default=""))
        _fill(conn, table)
        if postgres:
            op.alter_column(table, "sort_key", nullable=False, existing_type=SORT_KEY)
        op.create_index(f"ix_{table}_sort_key", table, ["sort_key", "id"])


def downgrade() -> None:
    name = 'lower(name COLLATE "C")' if op.get_bind().dialect.name == "postgresql" else "lower(name)"
    for table in TABLES:
        op.drop_index(f"ix_{table}_sort_key", table_name=table)
        op.drop_column(table, "sort_key")  # SQLite 3.35+ drops a column in place (a copy would break foreign keys)
        op.create_index(f"ix_{table}_sort_name", table, [sa.text(name), "id"])
