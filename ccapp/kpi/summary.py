"""One queue's KPIs over a period as a flat dict: the ACD tests' and tools' short form of a report.

It is `ccapp.kpi.engine.build_report` filtered to the queue, so the definitions are the engine's
(DESIGN.md section 5); only the shape differs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ccapp.kpi.definitions import ReportRequest, Thresholds
from ccapp.kpi.engine import build_report
from ccapp.storage.db import Database

#: DESIGN.md section 5 defaults: service-level threshold T and short-abandon threshold S, seconds.
SL_THRESHOLD_S = 20.0
SHORT_ABANDON_S = 5.0

_COUNTS = ("offered", "answered", "abandoned", "short_abandons")
_RATIOS = ("service_level", "sl2", "asa_s", "abandon_rate", "aht_s")


async def queue_summary(
    db: Database | AsyncConnection,
    queue: str,
    start: datetime,
    end: datetime,
    sl_threshold_s: float = SL_THRESHOLD_S,
    short_abandon_s: float = SHORT_ABANDON_S,
) -> dict[str, Any]:
    """KPIs of ``queue`` over the entries that *entered* it in ``[start, end)``.

    ``entries`` (an overflow to another queue is an entry of each queue), ``short_abandons``,
    ``offered``, ``answered``, ``abandoned``, ``answered_within_t``, ``handled``, ``service_level``,
    ``sl2``, ``asa_s``, ``abandon_rate`` and ``aht_s`` (talk + hold + wrap-up of handled entries);
    ratios and means are None when their denominator is 0.
    """
    request = ReportRequest(
        start=start,
        end=end,
        kpis=(*_COUNTS, *_RATIOS),
        thresholds=Thresholds(sl_threshold_s=sl_threshold_s, short_abandon_s=short_abandon_s),
        where={"queue": queue},
    )
    total = (await build_report(db, request)).total
    kpis, measures = total.kpis, total.measures
    counts = {name: int(kpis[name] or 0) for name in _COUNTS}
    return {
        "queue": queue,
        "entries": int(measures.get("entries", 0)),
        **counts,
        "answered_within_t": int(measures.get("answered_within_t", 0)),
        "handled": int(measures.get("handled", 0)),
        **{name: kpis[name] for name in _RATIOS},
    }
