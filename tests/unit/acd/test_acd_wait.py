"""The expected wait of a caller comes from their position, the agents working and recent handle times."""

from __future__ import annotations

import math
from typing import Any

import pytest

from ccapp.acd.errors import AcdError, InvalidAcdConfig
from ccapp.acd.wait import WaitEstimator, announced_wait

HOUR = 3600.0


def estimator(recent_waits: int = 20) -> WaitEstimator:
    return WaitEstimator(default_handle_s=180.0, half_life_s=HOUR, prior_calls=3.0, recent_waits=recent_waits)


def test_without_history_the_mean_handle_time_is_the_default() -> None:
    waits = estimator()
    assert waits.mean_handle("sales", now=0.0) == 180.0


def test_the_kth_caller_waits_k_releases_of_mean_handle_over_busy_agents() -> None:
    waits = estimator()
    waits.set_staffing("sales", ready=0, busy=4)
    # releases every 180 / 4 = 45 s on average
    assert waits.expected_wait("sales", 1, now=0.0) == pytest.approx(45.0)
    assert waits.expected_wait("sales", 3, now=0.0) == pytest.approx(135.0)


def test_ready_agents_take_the_first_positions_at_once() -> None:
    waits = estimator()
    waits.set_staffing("sales", ready=2, busy=3)
    assert waits.expected_wait("sales", 1, now=0.0) == 0.0
    assert waits.expected_wait("sales", 2, now=0.0) == 0.0
    # position 4 needs 4 - 2 = 2 releases among 3 busy agents: 2 × 180 / 3
    assert waits.expected_wait("sales", 4, now=0.0) == pytest.approx(120.0)


def test_with_nobody_staffed_there_is_no_estimate() -> None:
    waits = estimator()
    assert waits.expected_wait("sales", 1, now=0.0) is None
    waits.set_staffing("sales", ready=1, busy=0)
    assert waits.expected_wait("sales", 1, now=0.0) == 0.0
    assert waits.expected_wait("sales", 2, now=0.0) is None


def test_handle_times_blend_with_the_default_worth_prior_calls() -> None:
    waits = estimator()
    waits.record_handle("sales", 300.0, now=100.0)
    # (300 + 3 × 180) / (1 + 3)
    assert waits.mean_handle("sales", now=100.0) == pytest.approx(210.0)
    waits.record_handle("sales", 100.0, now=100.0)
    # (300 + 100 + 540) / 5
    assert waits.mean_handle("sales", now=100.0) == pytest.approx(188.0)


def test_older_handle_times_count_half_per_half_life() -> None:
    waits = estimator()
    waits.record_handle("sales", 60.0, now=0.0)
    waits.record_handle("sales", 360.0, now=HOUR)
    # 60 s now weighs 1/2: (0.5 × 60 + 360 + 540) / (0.5 + 1 + 3)
    assert waits.mean_handle("sales", now=HOUR) == pytest.approx(930.0 / 4.5)


def test_after_a_long_quiet_spell_the_default_takes_over_again() -> None:
    waits = estimator()
    for _ in range(100):
        waits.record_handle("sales", 600.0, now=0.0)
    assert waits.mean_handle("sales", now=0.0) == pytest.approx((60000 + 540) / 103)
    assert waits.mean_handle("sales", now=24 * HOUR) == pytest.approx(180.0, abs=1.0)


def test_the_estimate_follows_the_recent_handle_time() -> None:
    waits = estimator()
    waits.set_staffing("sales", ready=0, busy=2)
    for _ in range(1000):
        waits.record_handle("sales", 240.0, now=10.0)
    # mean handle ≈ 240 (the prior's 3 calls are drowned): position 2 waits 2 × 240 / 2
    assert waits.expected_wait("sales", 2, now=10.0) == pytest.approx(240.0, rel=0.01)


def test_a_handle_time_arriving_out_of_order_counts_as_now() -> None:
    waits = estimator()
    waits.record_handle("sales", 200.0, now=HOUR)
    waits.record_handle("sales", 100.0, now=0.0)
    assert waits.mean_handle("sales", now=HOUR) == pytest.approx((200 + 100 + 540) / 5)


def test_queues_are_estimated_apart() -> None:
    waits = estimator()
    waits.record_handle("support", 420.0, now=0.0)
    waits.set_staffing("support", ready=0, busy=1)
    assert waits.mean_handle("sales", now=0.0) == 180.0
    assert waits.expected_wait("sales", 1, now=0.0) is None
    assert waits.expected_wait("support", 1, now=0.0) == pytest.approx((420 + 540) / 4)
    waits.forget("support")
    assert waits.mean_handle("support", now=0.0) == 180.0


def test_naive_baseline_is_position_times_mean_handle() -> None:
    waits = estimator()
    waits.set_staffing("sales", ready=0, busy=10)
    assert waits.naive_wait("sales", 3, now=0.0) == pytest.approx(540.0)


def test_recent_wait_baseline_is_the_mean_of_the_last_answered_waits() -> None:
    waits = estimator(recent_waits=3)
    assert waits.recent_wait("sales") is None
    for waited in (10.0, 20.0, 30.0, 100.0):
        waits.record_wait("sales", waited)
    assert waits.recent_wait("sales") == pytest.approx(50.0)  # 20, 30, 100: the 10 fell out


@pytest.mark.parametrize(
    ("seconds", "announced"),
    [
        (None, None),
        (math.nan, None),
        (0.0, 0),
        (14.9, 0),
        (15.0, 30),
        (44.9, 30),
        (45.0, 60),
        (100.0, 90),
        (119.0, 120),
        (150.0, 180),
        (209.0, 180),
        (599.0, 600),
        (740.0, 600),
        (760.0, 900),
        (3600.0, 3600),
        (3601.0, None),
    ],
)
def test_announced_wait_rounds_to_half_minutes_then_minutes_then_five(
    seconds: float | None, announced: int | None
) -> None:
    assert announced_wait(seconds) == announced


def test_announced_wait_cap_is_configurable() -> None:
    assert announced_wait(700.0, cap_s=600.0) is None


@pytest.mark.parametrize(
    "kwargs",
    [{"default_handle_s": 0.0}, {"half_life_s": -1.0}, {"prior_calls": 0.0}, {"recent_waits": 0}],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidAcdConfig):
        WaitEstimator(**kwargs)


def test_bad_feeds_and_positions_are_refused() -> None:
    waits = estimator()
    with pytest.raises(AcdError):
        waits.record_handle("sales", -1.0, now=0.0)
    with pytest.raises(AcdError):
        waits.set_staffing("sales", ready=-1, busy=0)
    with pytest.raises(AcdError):
        waits.expected_wait("sales", 0, now=0.0)
    with pytest.raises(AcdError):
        waits.naive_wait("sales", 0, now=0.0)
