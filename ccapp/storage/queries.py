"""Read helpers for reports, the API and tests. They return plain dicts keyed by column name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from ccapp.storage.db import Database
from ccapp.storage.models import CallEventRow, CallRow, LegRow


async def _rows(db: Database, stmt: Select[Any]) -> list[dict[str, Any]]:
    async with db.engine.connect() as conn:
        result = await conn.execute(stmt)
        return [dict(row) for row in result.mappings()]


async def get_call(db: Database, call_id: str) -> dict[str, Any] | None:
    """The ``calls`` row of ``call_id``, or None."""
    rows = await _rows(db, select(*CallRow.__table__.c).where(CallRow.call_id == call_id))
    return rows[0] if rows else None


async def list_legs(db: Database, call_id: str) -> list[dict[str, Any]]:
    """The legs of a call, in the order they were added."""
    stmt = (
        select(*LegRow.__table__.c)
        .where(LegRow.call_id == call_id)
        .order_by(LegRow.created_at.asc().nulls_last(), LegRow.leg_id)
    )
    return await _rows(db, stmt)


async def list_events(db: Database, call_id: str) -> list[dict[str, Any]]:
    """The journal of a call, by sequence number (``id`` left out: it is storage detail)."""
    table = CallEventRow.__table__
    stmt = (
        select(*(c for c in table.c if c.name != "id"))
        .where(CallEventRow.call_id == call_id)
        .order_by(CallEventRow.seq)
    )
    return await _rows(db, stmt)


async def count_calls(db: Database) -> int:
    """How many calls are stored."""
    async with db.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(CallRow))).scalar_one())


async def count_events(db: Database) -> int:
    """How many journal events are stored."""
    async with db.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(CallEventRow))).scalar_one())


async def recent_calls(db: Database, limit: int = 50) -> list[dict[str, Any]]:
    """The latest ``limit`` calls, newest start first (calls without a start last)."""
    stmt = (
        select(*CallRow.__table__.c)
        .order_by(CallRow.started_at.desc().nulls_last(), CallRow.call_id)
        .limit(limit)
    )
    return await _rows(db, stmt)
