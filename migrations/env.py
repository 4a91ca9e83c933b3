"""Alembic environment for ccapp, async-aware.

Two ways in:
- ``ccapp.storage.migrate.upgrade(url)`` opens the connection itself and hands it over in
  ``config.attributes["connection"]`` (no ini file, no URL in config, works inside a running loop);
- the ``alembic`` CLI: the URL comes from ``CCAPP_DATABASE_URL``, else ``sqlalchemy.url`` in
  ``alembic.ini``, and this file runs the async engine itself.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from ccapp.storage.migrate import run_on_url
from ccapp.storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    """Run the pending migrations on an open (sync-facade) connection."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode recreates tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """Emit SQL instead of running it (``alembic upgrade head --sql``)."""
    context.configure(
        url=os.environ.get("CCAPP_DATABASE_URL") or config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    if config.config_file_name is not None:
        fileConfig(config.config_file_name)
    url = os.environ.get("CCAPP_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set CCAPP_DATABASE_URL or sqlalchemy.url in alembic.ini")
    asyncio.run(run_on_url(url, run_migrations))


if context.is_offline_mode():
    run_offline()
else:
    run_online()
