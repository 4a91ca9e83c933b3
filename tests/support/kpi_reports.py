"""Hand-built KPI reports for the renderer, CLI, API and screenshot tests (no database)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ccapp.kpi.definitions import (
    DEFAULT_KPIS,
    Dimension,
    Interval,
    Report,
    ReportRequest,
    ReportRow,
    Thresholds,
    add,
    compute,
)

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2026, 11, 1, tzinfo=PARIS)


def measures(entries: int, answered_within_t: int, abandoned: int, handled: int = 0) -> dict[str, float]:
    """Queue measures with ``entries`` calls, ``answered_within_t`` of them in time, ``abandoned``
    after S, the rest answered late; ASA 10 s, AHT 180 s."""
    answered = entries - abandoned
    handled = handled or answered
    return {
        "entries": float(entries),
        "short_abandons": 0.0,
        "answered": float(answered),
        "answered_within_t": float(answered_within_t),
        "all_abandoned": float(abandoned),
        "abandoned_within_t": 0.0,
        "answered_timed": float(answered),
        "answered_wait_s": 10.0 * answered,
        "handled": float(handled),
        "handle_s": 180.0 * handled,
    }


def report(
    request: ReportRequest, groups: Mapping[tuple[str | None, ...], Mapping[str, float]], source: str = "raw"
) -> Report:
    """A report of ``request`` whose rows have the keys and measures of ``groups`` (key values in
    the request's dimension order, then the interval's ISO start)."""
    names = [str(d) for d in request.dimensions] + (["interval"] if request.interval else [])
    rows = []
    total: dict[str, float] = {}
    for key, values in groups.items():
        rows.append(
            ReportRow(dict(zip(names, key, strict=True)), dict(values), compute(values, request.kpis))
        )
        add(total, values)
    total_row = ReportRow({}, total, compute(total, request.kpis))
    return Report(request, rows, total_row, "rollup" if source == "rollup" else "raw", 0.042)


def by_queue(queues: Mapping[str, Mapping[str, float]] | None = None, source: str = "raw") -> Report:
    """A week in Paris by queue."""
    request = ReportRequest(
        START, START + timedelta(days=7), "Europe/Paris", (Dimension.QUEUE,), None, DEFAULT_KPIS, Thresholds()
    )
    groups = queues if queues is not None else {"sales": measures(100, 80, 5), "support": measures(40, 20, 8)}
    return report(request, {(name,): values for name, values in groups.items()}, source)


def by_hour(hours: int = 8) -> Report:
    """A day in Paris by hour, with service level and abandonment."""
    request = ReportRequest(
        START,
        START + timedelta(days=1),
        "Europe/Paris",
        (),
        Interval.HOUR,
        ("offered", "service_level", "abandon_rate", "aht_s"),
    )
    groups = {
        ((START + timedelta(hours=8 + h)).isoformat(),): measures(20 + h, 10 + h, 1 + h % 3)
        for h in range(hours)
    }
    return report(request, groups)


def by_agent(agents: Mapping[str, tuple[float, float, float]]) -> Report:
    """A by-agent report; each agent has (handling_s, ready_s, logged_in_s)."""
    request = ReportRequest(
        START,
        START + timedelta(days=1),
        "Europe/Paris",
        (Dimension.AGENT,),
        None,
        ("occupancy", "utilization"),
    )
    groups = {
        (agent,): {"handling_s": handling, "ready_s": ready, "logged_in_s": logged_in}
        for agent, (handling, ready, logged_in) in agents.items()
    }
    return report(request, groups)


HISTOGRAM = [(0.0, 30.0, 2), (30.0, 60.0, 5), (60.0, 120.0, 14), (120.0, 300.0, 30), (300.0, None, 6)]
