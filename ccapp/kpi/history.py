"""`ccapp staffing --from-history queue=NAME`: agents per interval of a typical week (or of the day
after the history), from the queue's past calls.

The past calls come from SQL (`ccapp.storage.history_queries`), the forecast is the seasonal mean of
`ccapp.kpi.forecast`, and each interval is staffed by `ccapp.kpi.staffing.plan` — the very numbers
``ccapp staffing --calls … --aht …`` prints for that interval's forecast.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ccapp.kpi.forecast import (
    MIN_AHT_CALLS,
    WEEKDAYS,
    Forecast,
    IntervalForecast,
    check_period,
    forecast,
    history_bounds,
)
from ccapp.kpi.staffing import (
    OptionError,
    StaffingPlan,
    StaffingRequest,
    parse_duration,
    parse_shrinkage,
    parse_target,
    plan,
)

if TYPE_CHECKING:
    from ccapp.storage.history_queries import PastCall

DEFAULT_WEEKS = 4
DEFAULT_PER = "30m"
DEFAULT_TARGET = "80/20"
DEFAULT_SHORT_ABANDON_S = 5.0  # DESIGN §5's S when no ccapp.yaml says otherwise
_QUEUE = re.compile(r"^\s*(?:queue\s*=\s*)?([^=\s][^=]*?)\s*$")


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    queue: str
    first_day: date
    last_day: date  # inclusive
    zone: ZoneInfo
    period_s: int
    target_sl: Fraction
    target_s: float
    patience_s: float | None
    shrinkage: Fraction
    next_day: bool  # only the day after the history, else the whole typical week


@dataclass(frozen=True, slots=True)
class IntervalPlan:
    """One interval's forecast and, when it has calls and an AHT, its staffing plan."""

    interval: IntervalForecast
    plan: StaffingPlan | None


def _day(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise OptionError(option, f"{text!r} is not a date like 2026-11-02") from None


def parse_history_request(
    options: dict[str, Any], *, now: datetime, default_zone: str = "UTC"
) -> HistoryRequest:
    """The request from the command line's strings; OptionError names the first bad option.

    The history is whole local days: ``--from`` … the day before ``--to`` (default: today in the
    zone, at ``now``), or the ``--weeks`` (default 4) weeks before ``--to``.
    """
    match = _QUEUE.match(str(options.get("from_history") or ""))
    if not match:
        raise OptionError("--from-history", "give the queue as queue=NAME, e.g. queue=sales")
    for option in ("calls", "aht"):
        if options.get(option) is not None:
            raise OptionError(f"--{option}", "not with --from-history (it comes from the history)")
    zone_name = options.get("tz") or default_zone
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise OptionError("--tz", f"{zone_name!r} is not an IANA time zone (e.g. Europe/Paris)") from None
    end = _day("--to", options["to"]) if options.get("to") else now.astimezone(zone).date()
    weeks_text = options.get("weeks")
    if options.get("from"):
        if weeks_text is not None:
            raise OptionError("--weeks", "give --weeks or --from, not both")
        first = _day("--from", options["from"])
    else:
        weeks = DEFAULT_WEEKS if weeks_text is None else _weeks(str(weeks_text))
        first = end - timedelta(weeks=weeks)
    if first >= end:
        raise OptionError("--from", f"the history must start before --to ({end.isoformat()})")
    per_s = parse_duration("--per", options.get("per") or DEFAULT_PER)
    try:
        period = check_period(per_s)
    except ValueError as exc:
        raise OptionError("--per", str(exc)) from None
    target_sl, target_s = parse_target(options.get("target") or DEFAULT_TARGET)
    patience = options.get("patience")
    patience_s = None if patience is None else parse_duration("--patience", patience)
    if patience_s is not None and patience_s <= 0:
        raise OptionError("--patience", "must be longer than 0 s")
    shrinkage = options.get("shrinkage")
    return HistoryRequest(
        queue=match[1],
        first_day=first,
        last_day=end - timedelta(days=1),
        zone=zone,
        period_s=period,
        target_sl=target_sl,
        target_s=target_s,
        patience_s=patience_s,
        shrinkage=Fraction(0) if shrinkage is None else parse_shrinkage(shrinkage),
        next_day=bool(options.get("next_day")),
    )


def _weeks(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise OptionError("--weeks", f"{text!r} is not a whole number of weeks ≥ 1")
    return int(text)


def staff(request: HistoryRequest, fc: Forecast) -> list[IntervalPlan]:
    """Each interval (of the day after the history with ``next_day``) with its staffing plan."""
    intervals = fc.on((request.last_day + timedelta(days=1)).weekday()) if request.next_day else fc.intervals
    plans = []
    for interval in intervals:
        result = None
        if interval.calls > 0 and interval.aht_s is not None:
            result = plan(
                StaffingRequest(
                    calls=interval.calls,
                    period_s=float(request.period_s),
                    aht_s=interval.aht_s,
                    target_sl=request.target_sl,
                    target_s=request.target_s,
                    patience_s=request.patience_s,
                    shrinkage=request.shrinkage,
                )
            )
        plans.append(IntervalPlan(interval, result))
    return plans


def _history_text(request: HistoryRequest) -> str:
    return f"{request.first_day.isoformat()} … {request.last_day.isoformat()} ({request.zone.key})"


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def _secs(value: float) -> str:
    return "—" if math.isinf(value) else f"{value:.1f}"


def format_table(request: HistoryRequest, fc: Forecast, plans: list[IntervalPlan]) -> str:
    """The intervals with calls; an AHT marked * is the overall AHT (too few calls in the interval)."""
    overall = "—" if fc.overall_aht_s is None else f"{fc.overall_aht_s:.1f} s"
    lines = [
        f"queue {request.queue}: {fc.calls} calls in {_history_text(request)}, overall AHT {overall}",
        f"per {request.period_s // 60} min, target {float(request.target_sl) * 100:g} % within "
        f"{request.target_s:g} s, shrinkage {float(request.shrinkage) * 100:g} %"
        + ("" if request.patience_s is None else f", mean patience {request.patience_s:g} s"),
        "forecast: mean of the same weekday and interval over the history; AHT per interval, * = overall "
        f"(fewer than {MIN_AHT_CALLS} handled calls in it)",
        "",
    ]
    header = ["interval", "calls", "AHT s", "agents", "scheduled", "SL", "ASA s"]
    if request.patience_s is not None:
        header += ["A agents", "A scheduled", "A SL", "A ASA s", "A abandon"]
    table = [header]
    for item in plans:
        p, i = item.plan, item.interval
        if p is None:
            continue
        c = p.row(p.agents)
        aht = f"{i.aht_s:.1f}{'*' if i.aht_source == 'overall' else ''}"
        cells = [i.label, f"{i.calls:.2f}", aht, str(p.agents), str(c.scheduled)]
        cells += [_pct(c.service_level), _secs(c.asa_s)]
        if p.agents_a is not None:
            a_row = p.row(p.agents_a)
            a = a_row.a
            cells += [str(p.agents_a), str(a_row.scheduled)]
            cells += ["—"] * 3 if a is None else [_pct(a.service_level), _secs(a.asa_s), _pct(a.p_abandon)]
        table.append(cells)
    if len(table) == 1:
        lines.append("no interval has calls to staff")
        return "\n".join(lines)
    widths = [max(len(r[k]) for r in table) for k in range(len(header))]
    for row in table:
        cells = [
            c.ljust(w) if k == 0 else c.rjust(w) for k, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells))
    hours = request.period_s / 3600
    scheduled = sum(p.plan.row(p.plan.agents).scheduled for p in plans if p.plan is not None)
    lines += ["", f"scheduled agent-hours (Erlang C): {scheduled * hours:g}"]
    return "\n".join(lines)


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else value


def to_json(request: HistoryRequest, fc: Forecast, plans: list[IntervalPlan]) -> str:
    """Every interval (with no calls too), shares as fractions, times in seconds, ∞ as null."""

    def interval(item: IntervalPlan) -> dict[str, Any]:
        i, p = item.interval, item.plan
        out: dict[str, Any] = {
            "weekday": WEEKDAYS[i.weekday],
            "start": i.start.strftime("%H:%M"),
            "forecast_calls": i.calls,
            "aht_s": i.aht_s,
            "aht_source": i.aht_source,
            "history_calls": i.history_calls,
            "history_handled": i.history_handled,
            "erlang_c": None,
            "erlang_a": None,
        }
        if p is not None:
            c = p.row(p.agents)
            out["erlang_c"] = {
                "agents": p.agents,
                "scheduled": c.scheduled,
                "service_level": c.service_level,
                "asa_s": _finite(c.asa_s),
                "p_wait": c.p_wait,
                "occupancy": c.occupancy,
            }
            if p.agents_a is not None:
                a_row = p.row(p.agents_a)
                a = a_row.a
                out["erlang_a"] = {
                    "agents": p.agents_a,
                    "scheduled": a_row.scheduled,
                    "service_level": None if a is None else a.service_level,
                    "asa_s": None if a is None else _finite(a.asa_s),
                    "p_wait": None if a is None else a.p_wait,
                    "p_abandon": None if a is None else a.p_abandon,
                }
        return out

    doc = {
        "queue": request.queue,
        "zone": request.zone.key,
        "history": {"from": fc.first_day.isoformat(), "to": fc.last_day.isoformat(), "calls": fc.calls},
        "days_per_weekday": dict(zip(WEEKDAYS, fc.days_per_weekday, strict=True)),
        "period_s": request.period_s,
        "target_service_level": float(request.target_sl),
        "target_s": request.target_s,
        "patience_s": request.patience_s,
        "shrinkage": float(request.shrinkage),
        "day": (request.last_day + timedelta(days=1)).isoformat() if request.next_day else None,
        "method": "seasonal mean per weekday and interval; AHT per interval, overall when it has few calls",
        "overall_aht_s": fc.overall_aht_s,
        "intervals": [interval(item) for item in plans],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


async def _read(url: str, request: HistoryRequest, short_abandon_s: float) -> list[PastCall]:
    from ccapp.storage import Database
    from ccapp.storage.history_queries import queue_history

    start, end = history_bounds(request.first_day, request.last_day, request.zone)
    database = Database(url)
    try:
        async with database.engine.connect() as conn:
            return await queue_history(conn, request.queue, start, end, short_abandon_s)
    finally:
        await database.dispose()


def history_command(
    options: dict[str, Any],
    db_url: str,
    out: TextIO,
    err: TextIO,
    *,
    default_zone: str = "UTC",
    short_abandon_s: float = DEFAULT_SHORT_ABANDON_S,
    now: datetime | None = None,
) -> int:
    """Run ``ccapp staffing --from-history``: 0 with the plan, 2 on a bad option or no calls, 1 when
    the database cannot be read."""
    from sqlalchemy.exc import SQLAlchemyError

    fmt = options.get("format") or "table"
    try:
        if fmt not in ("table", "json"):
            raise OptionError("--format", f"{fmt!r} is not table or json")
        request = parse_history_request(options, now=now or datetime.now(UTC), default_zone=default_zone)
    except OptionError as exc:
        print(f"error: {exc}", file=err)
        return 2
    try:
        calls = asyncio.run(_read(db_url, request, short_abandon_s))
    except (SQLAlchemyError, OSError) as exc:
        print(f"error: cannot read the history: {exc}", file=err)
        return 1
    if not calls:
        print(f"error: no calls for queue {request.queue!r} in {_history_text(request)}", file=err)
        return 2
    fc = forecast(
        calls,
        first_day=request.first_day,
        last_day=request.last_day,
        zone=request.zone,
        period_s=request.period_s,
    )
    plans = staff(request, fc)
    print(to_json(request, fc, plans) if fmt == "json" else format_table(request, fc, plans), file=out)
    return 0
