"""Calling windows: parsing, weekdays, DST transitions in New York and London, next_open."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ccapp.dialer.windows import CallingWindows, local_day_bounds, resolve_local
from ccapp.errors import ConfigError

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
WEEKDAYS = CallingWindows.parse({"mon-fri": ["09:00-20:00"], "sat": ["10:00-14:00"]})


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int, fold: int = 0) -> datetime:
    """The UTC instant of a local wall time (``fold=1``: the second occurrence in a repeated hour)."""
    return datetime(year, month, day, hour, minute, tzinfo=zone, fold=fold).astimezone(UTC)


def test_weekday_ranges_lists_and_single_days_are_parsed() -> None:
    windows = CallingWindows.parse({"mon-wed": ["09:00-12:00"], "thu,fri": ["13:00-14:00"], "sun": []})
    assert [str(w) for w in windows.days[0]] == ["09:00-12:00"]
    assert [str(w) for w in windows.days[3]] == ["13:00-14:00"]
    assert windows.days[5] == () and windows.days[6] == ()


def test_a_wrapping_day_range_covers_the_weekend() -> None:
    windows = CallingWindows.parse({"fri-mon": ["10:00-11:00"]})
    assert [bool(day) for day in windows.days] == [True, False, False, False, True, True, True]


def test_overlapping_windows_of_a_day_are_merged() -> None:
    windows = CallingWindows.parse({"mon": ["09:00-12:00", "11:00-13:00", "15:00-24:00"]})
    assert [str(w) for w in windows.days[0]] == ["09:00-13:00", "15:00-24:00"]


def test_a_window_across_midnight_is_refused_with_a_hint_to_split_it() -> None:
    with pytest.raises(ConfigError) as caught:
        CallingWindows.parse({"fri": ["22:00-02:00"]})
    assert "calling_windows.fri" in str(caught.value)
    assert "split" in str(caught.value)


def test_every_bad_entry_is_reported_with_its_key() -> None:
    with pytest.raises(ConfigError) as caught:
        CallingWindows.parse({"funday": ["09:00-10:00"], "mon": ["9-10", "25:00-26:00", "10:00-10:00"]})
    assert len(caught.value.problems) == 4
    assert any("funday" in problem for problem in caught.value.problems)


def test_no_window_at_all_is_refused() -> None:
    with pytest.raises(ConfigError):
        CallingWindows.parse({})


def test_open_on_a_weekday_in_the_leads_zone_not_in_utc() -> None:
    monday_8_30_new_york = local(NEW_YORK, 2026, 6, 15, 8, 30)
    assert not WEEKDAYS.open_at(monday_8_30_new_york, NEW_YORK)
    assert WEEKDAYS.open_at(monday_8_30_new_york, LONDON)
    assert WEEKDAYS.open_at(local(NEW_YORK, 2026, 6, 15, 9, 0), NEW_YORK)


def test_the_window_end_is_exclusive() -> None:
    assert WEEKDAYS.open_at(local(NEW_YORK, 2026, 6, 15, 19, 59), NEW_YORK)
    assert not WEEKDAYS.open_at(local(NEW_YORK, 2026, 6, 15, 20, 0), NEW_YORK)


def test_saturday_and_sunday_follow_their_own_windows() -> None:
    assert WEEKDAYS.open_at(local(LONDON, 2026, 6, 20, 13, 0), LONDON)
    assert not WEEKDAYS.open_at(local(LONDON, 2026, 6, 20, 15, 0), LONDON)
    assert not WEEKDAYS.open_at(local(LONDON, 2026, 6, 21, 12, 0), LONDON)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        WEEKDAYS.open_at(datetime(2026, 6, 15, 12, 0), NEW_YORK)


def test_new_york_window_starting_in_the_spring_gap_opens_at_three() -> None:
    windows = CallingWindows.parse({"sun": ["02:30-04:00"]})  # 2026-03-08: 02:00 EST -> 03:00 EDT
    assert windows.intervals(date(2026, 3, 8), NEW_YORK) == [(utc(2026, 3, 8, 7, 0), utc(2026, 3, 8, 8, 0))]
    assert not windows.open_at(utc(2026, 3, 8, 6, 59), NEW_YORK)
    assert windows.open_at(utc(2026, 3, 8, 7, 0), NEW_YORK)
    assert windows.next_open(utc(2026, 3, 8, 5, 0), NEW_YORK) == utc(2026, 3, 8, 7, 0)


def test_a_window_wholly_inside_the_spring_gap_does_not_open_that_day() -> None:
    windows = CallingWindows.parse({"sun": ["02:10-02:50"]})
    assert windows.intervals(date(2026, 3, 8), NEW_YORK) == []
    assert windows.next_open(utc(2026, 3, 8, 5, 0), NEW_YORK) == local(NEW_YORK, 2026, 3, 15, 2, 10)


def test_new_york_fall_back_edges_use_the_first_occurrence() -> None:
    # 2026-11-01: 01:00-02:00 happens twice (EDT, then EST).
    windows = CallingWindows.parse({"sun": ["00:00-01:30", "08:00-09:00"]})
    first_0130 = local(NEW_YORK, 2026, 11, 1, 1, 30, fold=0)
    second_0115 = local(NEW_YORK, 2026, 11, 1, 1, 15, fold=1)
    assert first_0130 == utc(2026, 11, 1, 5, 30)
    assert windows.open_at(first_0130 - timedelta(minutes=1), NEW_YORK)
    assert not windows.open_at(first_0130, NEW_YORK)
    assert not windows.open_at(second_0115, NEW_YORK)  # the repeated hour does not reopen the window
    assert windows.next_open(second_0115, NEW_YORK) == local(NEW_YORK, 2026, 11, 1, 8, 0)


def test_a_window_starting_in_the_repeated_hour_opens_at_its_first_occurrence() -> None:
    windows = CallingWindows.parse({"sun": ["01:30-03:00"]})
    assert windows.intervals(date(2026, 11, 1), NEW_YORK) == [
        (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 8, 0))
    ]


def test_london_spring_forward_moves_a_start_in_the_gap_to_two() -> None:
    windows = CallingWindows.parse({"sun": ["01:15-03:00"]})  # 2026-03-29: 01:00 GMT -> 02:00 BST
    assert windows.intervals(date(2026, 3, 29), LONDON) == [(utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 2, 0))]


def test_london_fall_back_window_closes_at_the_first_one_thirty() -> None:
    windows = CallingWindows.parse({"sun": ["00:30-01:30"]})  # 2026-10-25: 02:00 BST -> 01:00 GMT
    assert windows.open_at(utc(2026, 10, 25, 0, 15), LONDON)  # 01:15 BST
    assert not windows.open_at(utc(2026, 10, 25, 1, 15), LONDON)  # 01:15 GMT, the repeat
    assert windows.intervals(date(2026, 10, 25), LONDON) == [
        (utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 0, 30))
    ]


def test_a_nine_to_five_window_keeps_its_local_hours_across_both_transitions() -> None:
    windows = CallingWindows.parse({"mon-sun": ["09:00-17:00"]})
    assert windows.next_open(utc(2026, 3, 28, 20, 0), LONDON) == utc(2026, 3, 29, 8, 0)  # BST
    assert windows.next_open(utc(2026, 10, 24, 20, 0), LONDON) == utc(2026, 10, 25, 9, 0)  # GMT
    assert windows.next_open(utc(2026, 3, 7, 23, 0), NEW_YORK) == utc(2026, 3, 8, 13, 0)  # EDT
    assert windows.next_open(utc(2026, 10, 31, 23, 0), NEW_YORK) == utc(2026, 11, 1, 14, 0)  # EST


def test_next_open_skips_the_weekend_to_monday_morning() -> None:
    friday_evening = local(NEW_YORK, 2026, 6, 19, 20, 0)
    windows = CallingWindows.parse({"mon-fri": ["09:00-20:00"]})
    assert windows.next_open(friday_evening, NEW_YORK) == local(NEW_YORK, 2026, 6, 22, 9, 0)


def test_next_open_inside_a_window_is_now() -> None:
    now = local(NEW_YORK, 2026, 6, 15, 12, 0)
    assert WEEKDAYS.next_open(now, NEW_YORK) == now


def test_next_open_finds_a_window_a_week_away_and_none_when_there_is_none() -> None:
    weekly = CallingWindows.parse({"mon": ["09:00-10:00"]})
    just_after = local(LONDON, 2026, 6, 15, 10, 0)
    assert weekly.next_open(just_after, LONDON) == local(LONDON, 2026, 6, 22, 9, 0)
    never = CallingWindows(((),) * 7)
    assert never.next_open(just_after, LONDON) is None
    assert not never.open_at(just_after, LONDON)


def test_a_window_ending_at_24_00_runs_to_local_midnight() -> None:
    windows = CallingWindows.parse({"fri": ["22:00-24:00"], "sat": ["00:00-02:00"]})
    assert windows.open_at(local(NEW_YORK, 2026, 6, 19, 23, 59), NEW_YORK)
    assert windows.open_at(local(NEW_YORK, 2026, 6, 20, 0, 0), NEW_YORK)
    assert not windows.open_at(local(NEW_YORK, 2026, 6, 20, 2, 0), NEW_YORK)


def test_resolve_local_refuses_aware_times() -> None:
    with pytest.raises(ValueError, match="naive"):
        resolve_local(datetime(2026, 1, 1, tzinfo=UTC), LONDON)


def test_local_day_bounds_are_23_and_25_hours_long_on_transition_days() -> None:
    start, end = local_day_bounds(utc(2026, 3, 8, 12, 0), NEW_YORK)
    assert (start, end - start) == (utc(2026, 3, 8, 5, 0), timedelta(hours=23))
    start, end = local_day_bounds(utc(2026, 10, 25, 12, 0), LONDON)
    assert (start, end - start) == (utc(2026, 10, 24, 23, 0), timedelta(hours=25))
