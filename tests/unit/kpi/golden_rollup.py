"""Reports the queue roll-ups can serve over the golden data set: each must equal the raw report."""

from __future__ import annotations

from ccapp.kpi.definitions import DEFAULT_KPIS, Dimension, Interval
from tests.unit.kpi.golden import NEW_YORK, WIDE, request
from tests.unit.kpi.golden_intervals import NIGHT

QUEUE_KPIS = ("offered", "answered", "abandoned", "short_abandons", "service_level", "sl2", "asa_s")
ROLLUP_REQUESTS = [
    request((Dimension.QUEUE,), Interval.DAY, kpis=DEFAULT_KPIS),
    request((Dimension.QUEUE,), Interval.HOUR, kpis=DEFAULT_KPIS),
    request((Dimension.QUEUE,), Interval.MIN15, kpis=QUEUE_KPIS),
    request((), None, kpis=(*QUEUE_KPIS, "aht_s", "callback_rate", "contact_resolution", "fcr")),
    request((), Interval.DAY, zone=NEW_YORK, period=WIDE, kpis=DEFAULT_KPIS),
    request((), Interval.WEEK, period=WIDE, kpis=DEFAULT_KPIS),
    request((), Interval.MONTH, period=WIDE, kpis=DEFAULT_KPIS),
    request((Dimension.QUEUE,), Interval.DAY, kpis=DEFAULT_KPIS, where={"queue": "sales"}),
    request((Dimension.QUEUE,), Interval.HOUR, zone=NEW_YORK, period=NIGHT, kpis=QUEUE_KPIS),
]
