"""Forecasting a queue's calls and handle time per interval of the week from its history. Pure.

The method is a *seasonal mean per weekday and interval*:

- the history is whole local days ``[first, last]`` in one time zone; the day is cut into intervals
  of ``period_s`` (which divides 24 h), and every past call falls in one (weekday, interval) by the
  local time it entered the queue;
- forecast calls of (weekday, interval) = calls in it over the history / number of that weekday in
  the history (4 weeks: the mean of the 4 Mondays' 08:00–08:30, an interval with no call counting 0);
- AHT of (weekday, interval) = the mean handle time of the handled calls in it over the history when
  there are at least ``min_aht_calls`` of them, otherwise the overall AHT of the whole history (a mean
  of 3 calls is mostly noise).

Short abandons are not in the history (they are not offered calls); abandoned calls count as
arrivals but have no handle time. On the day daylight saving time ends, the repeated hour's calls
fall in the same intervals (that day's 02:00 interval holds two hours of calls); the day it begins
has one interval fewer, counted as an interval with no call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

DAY_S = 86_400
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: fewer handled calls than this in an interval's history: use the overall AHT
MIN_AHT_CALLS = 10


@dataclass(frozen=True, slots=True)
class IntervalForecast:
    """The forecast of one interval of the week (local time)."""

    weekday: int  # 0 = Monday
    start: time  # local start of the interval
    calls: float  # mean calls per occurrence
    aht_s: float | None  # None: no handled call in the whole history
    aht_source: Literal["interval", "overall"]
    history_calls: int  # calls in it over the whole history
    history_handled: int

    @property
    def label(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {self.start:%H:%M}"


@dataclass(frozen=True, slots=True)
class Forecast:
    """Every interval of a typical week, Monday 00:00 first, with what it was made from."""

    first_day: date
    last_day: date  # inclusive
    zone: str
    period_s: int
    days_per_weekday: tuple[int, ...]  # how many of each weekday the history holds
    calls: int  # calls in the history
    overall_aht_s: float | None
    intervals: tuple[IntervalForecast, ...]

    def on(self, weekday: int) -> tuple[IntervalForecast, ...]:
        """The intervals of one weekday."""
        return tuple(i for i in self.intervals if i.weekday == weekday)


def check_period(period_s: float) -> int:
    """The interval length in whole seconds; ValueError unless it divides a day (15m, 30m, 1h…)."""
    if period_s <= 0 or period_s != int(period_s) or DAY_S % int(period_s):
        raise ValueError(f"the interval must divide 24 h evenly (15m, 30m, 1h…), not {period_s:g} s")
    return int(period_s)


def history_bounds(first_day: date, last_day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of the local days ``first_day`` … ``last_day`` (aware datetimes)."""
    start = datetime.combine(first_day, time(), zone)
    end = datetime.combine(last_day + timedelta(days=1), time(), zone)
    return start, end


def forecast(
    calls: Iterable[tuple[datetime, float | None]],
    *,
    first_day: date,
    last_day: date,
    zone: ZoneInfo,
    period_s: float,
    min_aht_calls: int = MIN_AHT_CALLS,
) -> Forecast:
    """The seasonal-mean forecast (module docstring) of ``calls``: (entered_at, handle_s or None).

    Calls outside the local days ``first_day`` … ``last_day`` are ignored.
    """
    period = check_period(period_s)
    if last_day < first_day:
        raise ValueError("the history ends before it starts")
    per_day = DAY_S // period
    counts = [0] * (7 * per_day)
    handled = [0] * (7 * per_day)
    handle_sum = [0.0] * (7 * per_day)
    total = 0
    for entered_at, handle_s in calls:
        local = entered_at.astimezone(zone)
        if not first_day <= local.date() <= last_day:
            continue
        seconds = local.hour * 3600 + local.minute * 60 + local.second
        slot = local.weekday() * per_day + seconds // period
        counts[slot] += 1
        total += 1
        if handle_s is not None:
            handled[slot] += 1
            handle_sum[slot] += handle_s
    days = [0] * 7
    day = first_day
    while day <= last_day:
        days[day.weekday()] += 1
        day += timedelta(days=1)
    all_handled = sum(handled)
    overall = sum(handle_sum) / all_handled if all_handled else None
    intervals = []
    for slot in range(7 * per_day):
        weekday, index = divmod(slot, per_day)
        own = handled[slot] >= max(1, min_aht_calls)
        seconds = index * period
        intervals.append(
            IntervalForecast(
                weekday=weekday,
                start=time(seconds // 3600, seconds % 3600 // 60, seconds % 60),
                calls=counts[slot] / days[weekday] if days[weekday] else 0.0,
                aht_s=handle_sum[slot] / handled[slot] if own else overall,
                aht_source="interval" if own else "overall",
                history_calls=counts[slot],
                history_handled=handled[slot],
            )
        )
    return Forecast(
        first_day=first_day,
        last_day=last_day,
        zone=zone.key,
        period_s=period,
        days_per_weekday=tuple(days),
        calls=total,
        overall_aht_s=overall,
        intervals=tuple(intervals),
    )
