"""Read helpers over the ACD tables, the same on SQLite and PostgreSQL (the KPIs are `ccapp.kpi`'s).

Rows come back as plain dicts keyed by column name (times timezone-aware UTC). Every function takes
either the `Database` (it opens its own connection or transaction) or an open ``AsyncConnection``
(it runs inside the caller's transaction, which the caller commits).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ccapp.storage.db import Database
from ccapp.storage.models import Base

queue_calls: Table = Base.metadata.tables["queue_calls"]
agent_states: Table = Base.metadata.tables["agent_states"]
transfers: Table = Base.metadata.tables["transfers"]
recordings: Table = Base.metadata.tables["recordings"]
dispositions: Table = Base.metadata.tables["dispositions"]

#: Where a query runs: the database (own connection) or the caller's open connection.
Source = Database | AsyncConnection


@asynccontextmanager
async def _connect(source: Source, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
    if isinstance(source, AsyncConnection):
        yield source
    elif write:
        async with source.engine.begin() as conn:
            yield conn
    else:
        async with source.engine.connect() as conn:
            yield conn


async def _rows(source: Source, stmt: Select[Any]) -> list[dict[str, Any]]:
    async with _connect(source) as conn:
        result = await conn.execute(stmt)
        return [dict(row) for row in result.mappings()]


def _where(stmt: Select[Any], *conditions: ColumnElement[bool] | None) -> Select[Any]:
    kept = [c for c in conditions if c is not None]
    return stmt.where(*kept) if kept else stmt


async def queue_call_rows(
    db: Source, call_id: str | None = None, queue: str | None = None
) -> list[dict[str, Any]]:
    """`queue_calls` rows (of one call and/or one queue), by entry time, call and entry number."""
    stmt = select(*queue_calls.c).order_by(
        queue_calls.c.entered_at.asc().nulls_last(), queue_calls.c.call_id, queue_calls.c.entry
    )
    return await _rows(
        db,
        _where(
            stmt,
            None if call_id is None else queue_calls.c.call_id == call_id,
            None if queue is None else queue_calls.c.queue == queue,
        ),
    )


async def agent_state_rows(db: Source, agent_id: str | None = None) -> list[dict[str, Any]]:
    """Agent state changes (of one agent), oldest first (``id`` left out: it is storage detail)."""
    stmt = select(*(c for c in agent_states.c if c.name != "id")).order_by(
        agent_states.c.at, agent_states.c.id
    )
    return await _rows(db, _where(stmt, None if agent_id is None else agent_states.c.agent_id == agent_id))


async def transfer_rows(db: Source, call_id: str | None = None) -> list[dict[str, Any]]:
    """Transfers (of one call), oldest first."""
    stmt = select(*transfers.c).order_by(transfers.c.at, transfers.c.call_id, transfers.c.seq)
    return await _rows(db, _where(stmt, None if call_id is None else transfers.c.call_id == call_id))


async def disposition_rows(db: Source, call_id: str | None = None) -> list[dict[str, Any]]:
    """Dispositions (of one call), oldest first."""
    stmt = select(*dispositions.c).order_by(dispositions.c.at, dispositions.c.call_id, dispositions.c.seq)
    return await _rows(db, _where(stmt, None if call_id is None else dispositions.c.call_id == call_id))


async def recording_row(db: Source, recording_id: str) -> dict[str, Any] | None:
    """The `recordings` row of ``recording_id``, or None."""
    rows = await _rows(db, select(*recordings.c).where(recordings.c.recording_id == recording_id))
    return rows[0] if rows else None


async def recording_rows(db: Source, call_id: str | None = None) -> list[dict[str, Any]]:
    """Recordings (of one call), by start time (unstarted ones last)."""
    order = (recordings.c.started_at.asc().nulls_last(), recordings.c.recording_id)
    stmt = select(*recordings.c).order_by(*order)
    return await _rows(db, _where(stmt, None if call_id is None else recordings.c.call_id == call_id))


async def expired_recordings(db: Source, before: datetime) -> list[dict[str, Any]]:
    """Recordings not yet deleted that started before ``before`` (the retention purge's work list)."""
    stmt = (
        select(*recordings.c)
        .where(recordings.c.deleted_at.is_(None), recordings.c.started_at < before)
        .order_by(recordings.c.started_at, recordings.c.recording_id)
    )
    return await _rows(db, stmt)


async def mark_recording_deleted(db: Source, recording_id: str, at: datetime) -> bool:
    """Record that the file of ``recording_id`` was deleted at ``at``; False if unknown or already so.

    The first deletion time is kept, so a purge that runs twice does not move it.
    """
    stmt = (
        update(recordings)
        .where(recordings.c.recording_id == recording_id, recordings.c.deleted_at.is_(None))
        .values(deleted_at=at)
    )
    async with _connect(db, write=True) as conn:
        return bool((await conn.execute(stmt)).rowcount)
