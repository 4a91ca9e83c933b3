"""Retry policy: delays per result, max attempts, callbacks, calling windows and the local daily cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ccapp.dialer.retry import DEFAULT_DELAYS, AttemptResult, DailyCap, RetryPolicy
from ccapp.dialer.windows import CallingWindows

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
WINDOWS = CallingWindows.parse({"mon-fri": ["09:00-20:00"], "sat": ["10:00-14:00"]})


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone).astimezone(UTC)


MONDAY_NOON = local(NEW_YORK, 2026, 6, 15, 12, 0)


@pytest.mark.parametrize(
    ("result", "delay"),
    [
        (AttemptResult.BUSY, timedelta(minutes=10)),
        (AttemptResult.NO_ANSWER, timedelta(hours=1)),
        (AttemptResult.MACHINE, timedelta(hours=3)),
        (AttemptResult.FAILED, timedelta(minutes=30)),
        (AttemptResult.CONGESTION, timedelta(minutes=5)),
        (AttemptResult.CALLBACK_REQUESTED, timedelta(hours=1)),
    ],
)
def test_each_result_waits_its_own_delay(result: AttemptResult, delay: timedelta) -> None:
    policy = RetryPolicy(max_attempts=5)
    assert policy.next_attempt(result, 1, MONDAY_NOON) == MONDAY_NOON + delay


def test_abandoned_calls_wait_a_day_by_default() -> None:
    policy = RetryPolicy(max_attempts=5)
    assert policy.next_attempt("abandoned", 1, MONDAY_NOON) == MONDAY_NOON + timedelta(hours=24)


def test_campaign_delays_override_the_defaults() -> None:
    policy = RetryPolicy(max_attempts=5, delays={**DEFAULT_DELAYS, AttemptResult.BUSY: timedelta(minutes=2)})
    assert policy.next_attempt("busy", 1, MONDAY_NOON) == MONDAY_NOON + timedelta(minutes=2)


@pytest.mark.parametrize("result", ["right_party", "wrong_number", "do_not_call", "invalid_number"])
def test_final_results_are_never_retried(result: str) -> None:
    policy = RetryPolicy(max_attempts=5)
    assert policy.is_final(result)
    assert policy.next_attempt(result, 1, MONDAY_NOON) is None


def test_no_retry_after_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.next_attempt("no_answer", 2, MONDAY_NOON) is not None
    assert policy.next_attempt("no_answer", 3, MONDAY_NOON) is None


def test_an_unknown_result_is_refused() -> None:
    with pytest.raises(ValueError, match="maybe"):
        RetryPolicy(max_attempts=3).next_attempt("maybe", 1, MONDAY_NOON)


def test_a_result_without_a_delay_is_refused() -> None:
    policy = RetryPolicy(max_attempts=3, delays={AttemptResult.BUSY: timedelta(minutes=1)})
    with pytest.raises(ValueError, match="no retry delay"):
        policy.next_attempt("machine", 1, MONDAY_NOON)


def test_final_results_cannot_carry_a_delay_and_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="final"):
        RetryPolicy(max_attempts=3, delays={AttemptResult.RIGHT_PARTY: timedelta(hours=1)})
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="daily cap"):
        DailyCap(0)


def test_the_agents_callback_time_is_honoured() -> None:
    policy = RetryPolicy(max_attempts=5, windows=WINDOWS)
    callback = local(NEW_YORK, 2026, 6, 16, 15, 30)
    assert policy.next_attempt("callback_requested", 1, MONDAY_NOON, callback, zone=NEW_YORK) == callback


def test_a_callback_outside_the_window_is_pushed_to_the_next_opening() -> None:
    policy = RetryPolicy(max_attempts=5, windows=WINDOWS)
    saturday_evening = local(NEW_YORK, 2026, 6, 20, 18, 0)
    pushed = policy.next_attempt("callback_requested", 1, MONDAY_NOON, saturday_evening, zone=NEW_YORK)
    assert pushed == local(NEW_YORK, 2026, 6, 22, 9, 0)


def test_a_callback_in_the_past_is_dialled_now() -> None:
    policy = RetryPolicy(max_attempts=5)
    earlier = MONDAY_NOON - timedelta(hours=1)
    assert policy.next_attempt("callback_requested", 1, MONDAY_NOON, earlier) == MONDAY_NOON


def test_a_callback_is_honoured_after_max_attempts_unless_configured_otherwise() -> None:
    later = MONDAY_NOON + timedelta(hours=2)
    assert RetryPolicy(max_attempts=2).next_attempt("callback_requested", 2, MONDAY_NOON, later) == later
    strict = RetryPolicy(max_attempts=2, callbacks_bypass_max_attempts=False)
    assert strict.next_attempt("callback_requested", 2, MONDAY_NOON, later) is None


def test_a_retry_falling_after_hours_moves_to_the_next_window() -> None:
    policy = RetryPolicy(max_attempts=5, windows=WINDOWS)
    friday_evening = local(NEW_YORK, 2026, 6, 19, 19, 30)
    assert policy.next_attempt("no_answer", 1, friday_evening, zone=NEW_YORK) == local(
        NEW_YORK, 2026, 6, 20, 10, 0
    )


def test_no_window_means_no_retry() -> None:
    policy = RetryPolicy(max_attempts=5, windows=CallingWindows(((),) * 7))
    assert policy.next_attempt("busy", 1, MONDAY_NOON, zone=NEW_YORK) is None


def test_the_daily_cap_counts_only_dials_of_the_leads_local_day() -> None:
    cap = DailyCap(2)
    # 23:30 and 00:30 New York time fall on different local days but on the same UTC day.
    late_sunday = local(NEW_YORK, 2026, 6, 14, 23, 30)
    early_monday = local(NEW_YORK, 2026, 6, 15, 0, 30)
    dials = [local(NEW_YORK, 2026, 6, 14, 10, 0), late_sunday]
    assert not cap.allows(dials, late_sunday + timedelta(minutes=10), NEW_YORK)
    assert cap.dialled_today(dials, early_monday, NEW_YORK) == 0
    assert cap.allows(dials, early_monday, NEW_YORK)


def test_the_daily_cap_uses_local_not_utc_midnight() -> None:
    cap = DailyCap(1)
    dial = local(LONDON, 2026, 6, 15, 0, 30)  # 23:30 UTC on the 14th
    assert not cap.allows([dial], local(LONDON, 2026, 6, 15, 9, 0), LONDON)
    assert cap.allows([dial], local(LONDON, 2026, 6, 15, 9, 0), ZoneInfo("UTC"))


def test_a_capped_number_is_retried_at_the_next_local_days_window() -> None:
    policy = RetryPolicy(max_attempts=10, windows=WINDOWS, daily_cap=DailyCap(3))
    dials = [local(NEW_YORK, 2026, 6, 15, hour, 0) for hour in (9, 10, 11)]
    assert policy.next_attempt("busy", 3, MONDAY_NOON, zone=NEW_YORK, dialled_at=dials) == local(
        NEW_YORK, 2026, 6, 16, 9, 0
    )


def test_a_retry_crossing_local_midnight_gets_a_fresh_count() -> None:
    always = CallingWindows.parse({"mon-sun": ["00:00-24:00"]})
    policy = RetryPolicy(max_attempts=10, windows=always, daily_cap=DailyCap(1))
    dialled = local(LONDON, 2026, 6, 15, 23, 50)
    retry = policy.next_attempt("busy", 1, dialled, zone=LONDON, dialled_at=[dialled])
    assert retry == local(LONDON, 2026, 6, 16, 0, 0)
    assert policy.next_attempt("congestion", 1, dialled, zone=LONDON, dialled_at=[dialled]) == retry


def test_the_cap_at_a_dst_day_pushes_to_the_next_local_midnight() -> None:
    policy = RetryPolicy(max_attempts=10, daily_cap=DailyCap(1))
    dialled = local(NEW_YORK, 2026, 3, 8, 12, 0)  # a 23-hour day
    retry = policy.next_attempt("busy", 1, dialled, zone=NEW_YORK, dialled_at=[dialled])
    assert retry == datetime(2026, 3, 9, 4, 0, tzinfo=UTC)  # midnight EDT
