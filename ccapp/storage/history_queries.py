"""A queue's past calls for forecasting (`ccapp staffing --from-history`): when each offered call
entered the queue and, if an agent handled it, its handle time.

Portable SQL (SQLite and PostgreSQL): one indexed range scan of ``queue_calls``. The calls are put
into intervals of the local day by `ccapp.kpi.forecast`, in Python, because the local time of a UTC
timestamp (daylight saving included) has no portable SQL form.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ccapp.storage.kpi_queries import HANDLE_S, HANDLED, queue_calls

#: (entered_at, handle_s): handle_s = talk + hold + wrap-up of a handled entry, None otherwise
PastCall = tuple[datetime, float | None]


async def queue_history(
    conn: AsyncConnection, queue: str, start: datetime, end: datetime, short_abandon_s: float
) -> list[PastCall]:
    """The entries of ``queue`` that entered in ``[start, end)``, oldest first, short abandons left
    out (offered = entries − short abandons, DESIGN §5).

    An entry is *handled* as in the KPI reports: connected to an agent with its talk time known.
    Its handle time is ``talk_s + hold_s + wrap_s``, a missing hold or wrap-up counting as 0.
    """
    q = queue_calls.c
    short = and_(q.outcome == "abandoned", q.wait_s < short_abandon_s)
    stmt = (
        select(q.entered_at, HANDLE_S.label("handle_s"), HANDLED.label("handled"))
        .where(q.queue == queue, q.entered_at >= start, q.entered_at < end)
        .where(or_(not_(short), q.wait_s.is_(None), q.outcome.is_(None)))
        .order_by(q.entered_at)
    )
    rows = (await conn.execute(stmt)).all()
    return [(row.entered_at, float(row.handle_s) if row.handled else None) for row in rows]
