"""Run the Alembic migrations programmatically (``ccapp db upgrade``, tests, start-up).

The migration scripts live in the repository's top-level ``migrations/`` folder (see its README):
found next to the ``ccapp`` package, or wherever ``CCAPP_MIGRATIONS_DIR`` points.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

import ccapp
from ccapp.errors import StorageError
from ccapp.storage.db import Database, sqlite_path

MIGRATIONS_ENV = "CCAPP_MIGRATIONS_DIR"


def migrations_dir() -> Path:
    """The folder holding ``env.py`` and ``versions/``; raises `StorageError` when none is found."""
    candidates: list[Path] = []
    override = os.environ.get(MIGRATIONS_ENV)
    if override:
        candidates.append(Path(override))
    # A checkout or a Docker image that copies the repository: migrations/ sits beside ccapp/.
    candidates.append(Path(ccapp.__file__).resolve().parents[1] / "migrations")
    candidates.append(Path.cwd() / "migrations")
    for candidate in candidates:
        if (candidate / "env.py").is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise StorageError(f"Alembic migrations not found (tried {tried}); set {MIGRATIONS_ENV}")


def alembic_config(script_location: Path | None = None) -> Config:
    """An in-memory Alembic config (no ini file; the URL never goes through configparser)."""
    config = Config()
    config.set_main_option("script_location", str(script_location or migrations_dir()))
    return config


async def run_on_url(url: str, fn: Callable[[Connection], None]) -> None:
    """Open ``url`` (creating an SQLite file's folder) and run ``fn`` in one transaction."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(fn)
    finally:
        await db.dispose()


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision``; raises `StorageError` on failure."""
    config = alembic_config()

    def _upgrade(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    try:
        await run_on_url(url, _upgrade)
    except (SQLAlchemyError, CommandError, OSError) as exc:
        raise StorageError(f"database upgrade failed: {exc}") from exc


async def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at (None when never migrated)."""
    found: list[str | None] = []

    def _read(connection: Connection) -> None:
        found.append(MigrationContext.configure(connection).get_current_revision())

    try:
        await run_on_url(url, _read)
    except (SQLAlchemyError, OSError) as exc:
        raise StorageError(f"cannot read the database revision: {exc}") from exc
    return found[0]
