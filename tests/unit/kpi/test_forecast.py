"""The seasonal-mean forecast of `ccapp.kpi.forecast`, on hand-built histories."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from ccapp.kpi.forecast import check_period, forecast, history_bounds

PARIS = ZoneInfo("Europe/Paris")
MON1, SUN2 = date(2026, 11, 2), date(2026, 11, 15)  # two whole weeks, Monday to Sunday


def at(day: date, hh: int, mm: int, zone: ZoneInfo = PARIS) -> datetime:
    return datetime.combine(day, time(hh, mm), zone).astimezone(UTC)


def history() -> list[tuple[datetime, float | None]]:
    mon2, tue1 = date(2026, 11, 9), date(2026, 11, 3)
    return [
        # Monday 08:00–08:30: 3 calls in week 1 (one abandoned: no handle time), 1 in week 2
        (at(MON1, 8, 0), 100.0),
        (at(MON1, 8, 10), None),
        (at(MON1, 8, 29), 200.0),
        (at(mon2, 8, 15), 300.0),
        # Tuesday 09:00–09:30 of week 1: one call with a long handle time
        (at(tue1, 9, 5), 1000.0),
        # outside the history: ignored
        (at(date(2026, 11, 16), 8, 0), 5.0),
        (at(date(2026, 11, 1), 8, 0), 5.0),
    ]


def test_calls_are_the_mean_over_the_same_weekday_and_interval() -> None:
    fc = forecast(history(), first_day=MON1, last_day=SUN2, zone=PARIS, period_s=1800, min_aht_calls=3)
    assert len(fc.intervals) == 7 * 48
    assert fc.days_per_weekday == (2, 2, 2, 2, 2, 2, 2)
    assert fc.calls == 5
    monday_8 = fc.on(0)[16]
    assert monday_8.label == "Mon 08:00"
    assert monday_8.calls == 2.0  # (3 + 1) / 2 Mondays
    assert (monday_8.history_calls, monday_8.history_handled) == (4, 3)
    tuesday_9 = fc.on(1)[18]
    assert (tuesday_9.label, tuesday_9.calls) == ("Tue 09:00", 0.5)
    assert fc.on(0)[17].calls == 0.0 and fc.on(0)[17].history_calls == 0


def test_aht_is_the_intervals_own_mean_with_enough_calls_else_the_overall_one() -> None:
    fc = forecast(history(), first_day=MON1, last_day=SUN2, zone=PARIS, period_s=1800, min_aht_calls=3)
    assert fc.overall_aht_s == 400.0  # (100 + 200 + 300 + 1000) / 4 handled
    monday_8, tuesday_9 = fc.on(0)[16], fc.on(1)[18]
    assert (monday_8.aht_s, monday_8.aht_source) == (200.0, "interval")
    assert (tuesday_9.aht_s, tuesday_9.aht_source) == (400.0, "overall")
    stricter = forecast(history(), first_day=MON1, last_day=SUN2, zone=PARIS, period_s=1800, min_aht_calls=4)
    assert (stricter.on(0)[16].aht_s, stricter.on(0)[16].aht_source) == (400.0, "overall")


def test_intervals_are_local_time_in_the_zone() -> None:
    calls = [(datetime(2026, 11, 2, 7, 15, tzinfo=UTC), 60.0)]  # 08:15 in Paris (UTC+1 in November)
    paris = forecast(calls, first_day=MON1, last_day=SUN2, zone=PARIS, period_s=3600)
    utc = forecast(calls, first_day=MON1, last_day=SUN2, zone=ZoneInfo("UTC"), period_s=3600)
    assert paris.on(0)[8].calls == 0.5 and utc.on(0)[7].calls == 0.5


def test_a_history_of_ten_days_divides_by_how_many_of_each_weekday_it_holds() -> None:
    calls = [
        (at(MON1, 10, 0), 60.0),
        (at(date(2026, 11, 9), 10, 0), 60.0),
        (at(date(2026, 11, 4), 10, 0), 60.0),
    ]
    fc = forecast(calls, first_day=MON1, last_day=date(2026, 11, 11), zone=PARIS, period_s=3600)
    assert fc.days_per_weekday == (2, 2, 2, 1, 1, 1, 1)
    assert fc.on(0)[10].calls == 1.0  # 2 calls / 2 Mondays
    assert fc.on(2)[10].calls == 0.5  # 1 call / 2 Wednesdays


def test_a_history_without_handled_calls_has_no_aht() -> None:
    fc = forecast([(at(MON1, 8, 0), None)], first_day=MON1, last_day=SUN2, zone=PARIS, period_s=900)
    assert fc.overall_aht_s is None and fc.on(0)[32].aht_s is None and fc.on(0)[32].calls == 0.5


@pytest.mark.parametrize("seconds", [420, 0, -900, 1800.5, 7 * 3600])
def test_an_interval_that_does_not_divide_the_day_is_refused(seconds: float) -> None:
    with pytest.raises(ValueError, match="divide 24 h"):
        check_period(seconds)


def test_history_bounds_are_local_midnights() -> None:
    start, end = history_bounds(MON1, SUN2, PARIS)
    assert start == datetime(2026, 11, 1, 23, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 15, 23, 0, tzinfo=UTC)
