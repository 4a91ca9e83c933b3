"""`Database`: the one owner of ccapp's SQLAlchemy `AsyncEngine`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

log = logging.getLogger(__name__)


def insert_for(dialect: str) -> Callable[[Table], Any]:
    """The dialect's ``insert`` construct (it has ``on_conflict_do_*``): upserts on both backends."""
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise ValueError(f"unsupported database dialect: {dialect}")


#: Seconds to wait for PostgreSQL to accept a connection; a down database must fail fast so the
#: journal falls back to its outbox instead of stalling behind a TCP timeout.
PG_CONNECT_TIMEOUT = 3.0
#: Milliseconds SQLite waits on a lock held by another connection before reporting "busy".
SQLITE_BUSY_TIMEOUT_MS = 5000


def sqlite_path(url: str | URL) -> Path | None:
    """The file behind an SQLite URL, or None for other backends and in-memory databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (reports, health) run while the journal writes; busy_timeout turns short
    # lock contention into a wait instead of an error; foreign keys match PostgreSQL's behaviour.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


class Database:
    """Owns the engine for one database URL (``sqlite+aiosqlite:///…`` or ``postgresql+asyncpg://…``)."""

    def __init__(self, url: str | URL, *, echo: bool = False) -> None:
        self.url = make_url(url)
        kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": True}
        if self.dialect == "postgresql":
            kwargs["connect_args"] = {"timeout": PG_CONNECT_TIMEOUT}
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _set_sqlite_pragmas)

    @property
    def dialect(self) -> str:
        """Backend name: ``sqlite`` or ``postgresql``."""
        return self.url.get_backend_name()

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    async def ping(self) -> bool:
        """True when a trivial query succeeds within `PG_CONNECT_TIMEOUT` seconds; never raises."""
        try:
            async with asyncio.timeout(PG_CONNECT_TIMEOUT), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not usable now", which is the answer
            log.debug("database ping failed: %s", exc)
            return False
        return True

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
