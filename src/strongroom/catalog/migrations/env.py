"""Alembic environment: runs on the connection the catalog hands over (no URL or globals read here),
or, for `alembic revision --autogenerate` by a developer, on ``sqlalchemy.url`` from alembic.ini."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from strongroom.catalog.models import all_models, include_name

config = context.config
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(
        connection=connection, target_metadata=all_models(), render_as_batch=True, include_name=include_name
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = engine_from_config(config.get_section(config.config_ini_section) or {}, poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(
            connection=conn, target_metadata=all_models(), render_as_batch=True, include_name=include_name
        )
        with context.begin_transaction():
            context.run_migrations()
