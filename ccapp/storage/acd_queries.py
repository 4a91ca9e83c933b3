"""Read helpers over the ACD tables and the queue KPIs of DESIGN.md section 5, the same on SQLite and
PostgreSQL.

Rows come back as plain dicts keyed by column name (times timezone-aware UTC). Every function takes
either the `Database` (it opens its own connection or transaction) or an open ``AsyncConnection``
(it runs inside the caller's transaction, which the caller commits).

`queue_summary` aggregates in SQL with portable ``CASE`` sums; time differences are not portable
SQL, so the wrap-up times it needs are fetched as timestamps and subtracted in Python.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, case, exists, func, or_, select, update
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

#: DESIGN.md section 5 defaults: service-level threshold T and short-abandon threshold S, seconds.
SL_THRESHOLD_S = 20.0
SHORT_ABANDON_S = 5.0
WRAP_UP = "wrap_up"
ANSWERED = "answered"
ABANDONED = "abandoned"


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


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _sum(condition: ColumnElement[bool], value: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, value), else_=0.0)), 0.0)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


async def queue_summary(
    db: Source,
    queue: str,
    start: datetime,
    end: datetime,
    sl_threshold_s: float = SL_THRESHOLD_S,
    short_abandon_s: float = SHORT_ABANDON_S,
) -> dict[str, Any]:
    """KPIs of ``queue`` over the entries that *entered* it in ``[start, end)`` (DESIGN.md section 5).

    - ``entries``: queue entries (an overflow to another queue is an entry of each queue);
    - ``short_abandons``: abandoned after waiting less than S (``short_abandon_s``);
    - ``offered`` = entries − short abandons; ``abandoned``: abandoned after waiting S or more;
    - ``answered``: left the queue because an agent answered; ``answered_within_t``: of those, waited
      T (``sl_threshold_s``) or less, like app_queue's ``holdtime <= servicelevel``;
    - ``service_level`` = answered within T / offered; ``sl2`` is app_queue's SL2 for comparison:
      (answered within T + abandoned within T) / (answered + all abandoned);
    - ``asa_s`` = mean wait of answered entries; ``abandon_rate`` = abandoned / offered;
    - ``handled``: entries connected to an agent (answered, or a callback that reached the caller)
      whose talk is over (talk time known); ``aht_s`` = mean of talk + hold + wrap-up over them
      (talk and hold of every agent who had the entry, e.g. across an attended transfer). Wrap-up
      is the time from a ``wrap_up`` state row for that call (of the connected agent, or of any
      agent working it for this queue) to that agent's next state row; one still running counts 0.

    Ratios and means are None when their denominator is 0.
    """
    q = queue_calls
    answered = q.c.outcome == ANSWERED
    abandoned = q.c.outcome == ABANDONED
    short = and_(abandoned, q.c.wait_s < short_abandon_s)
    within_t = q.c.wait_s <= sl_threshold_s
    handled = and_(q.c.connected_at.is_not(None), q.c.talk_s.is_not(None))
    in_period = and_(q.c.queue == queue, q.c.entered_at >= start, q.c.entered_at < end)
    totals = select(
        func.count().label("entries"),
        _count(answered).label("answered"),
        _count(and_(answered, within_t)).label("answered_within_t"),
        _count(abandoned).label("all_abandoned"),
        _count(short).label("short_abandons"),
        _count(and_(abandoned, within_t)).label("abandoned_within_t"),
        _count(and_(answered, q.c.wait_s.is_not(None))).label("answered_timed"),
        _sum(and_(answered, q.c.wait_s.is_not(None)), q.c.wait_s).label("answered_wait_s"),
        _count(handled).label("handled"),
        _sum(handled, q.c.talk_s + func.coalesce(q.c.hold_s, 0.0)).label("handled_s"),
    ).where(in_period)
    async with _connect(db) as conn:
        t = (await conn.execute(totals)).mappings().one()
        wrap_s = await _wrap_up_seconds(conn, and_(in_period, handled))

    entries, short_abandons = int(t["entries"]), int(t["short_abandons"])
    answered_n, all_abandoned = int(t["answered"]), int(t["all_abandoned"])
    offered = entries - short_abandons
    abandoned_n = all_abandoned - short_abandons
    handled_n = int(t["handled"])
    return {
        "queue": queue,
        "entries": entries,
        "offered": offered,
        "answered": answered_n,
        "abandoned": abandoned_n,
        "short_abandons": short_abandons,
        "answered_within_t": int(t["answered_within_t"]),
        "handled": handled_n,
        "service_level": _ratio(int(t["answered_within_t"]), offered),
        "sl2": _ratio(int(t["answered_within_t"]) + int(t["abandoned_within_t"]), answered_n + all_abandoned),
        "asa_s": _ratio(float(t["answered_wait_s"]), int(t["answered_timed"])),
        "abandon_rate": _ratio(abandoned_n, offered),
        "aht_s": _ratio(float(t["handled_s"]) + wrap_s, handled_n),
    }


async def _wrap_up_seconds(conn: AsyncConnection, handled_entries: ColumnElement[bool]) -> float:
    """Total wrap-up time agents spent on the calls of ``handled_entries`` (queue_calls rows)."""
    s = agent_states.alias("s")
    n = agent_states.alias("n")
    q = queue_calls
    # The agent's next state row; equal timestamps are ordered by insertion.
    next_at = (
        select(func.min(n.c.at))
        .where(n.c.agent_id == s.c.agent_id, or_(n.c.at > s.c.at, and_(n.c.at == s.c.at, n.c.id > s.c.id)))
        .scalar_subquery()
    )
    # The connected agent's wrap-up, and that of agents the call was transferred to in the queue.
    of_handled_call = exists().where(
        q.c.call_id == s.c.call_id, or_(q.c.agent_id == s.c.agent_id, q.c.queue == s.c.queue), handled_entries
    )
    stmt = select(s.c.at, next_at.label("next_at")).where(s.c.to_state == WRAP_UP, of_handled_call)
    total = 0.0
    for at, ended in (await conn.execute(stmt)).all():
        if ended is not None:
            total += (ended - at).total_seconds()
    return total
