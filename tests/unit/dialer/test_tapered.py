"""The ADAPT_TAPERED baseline: VICIdial-style line counting and a dial level that adapts and tapers."""

from __future__ import annotations

import pytest

from ccapp.dialer.pacing import AbandonBudget, Floor
from ccapp.dialer.tapered import TaperedPacer, TaperedSettings

CLEAN = AbandonBudget(target=0.03, live_answers=500, abandoned=0)


def test_level_one_is_progressive_dialling() -> None:
    pacer = TaperedPacer()
    floor = Floor(ready=4, on_call_s=(10.0,) * 6, in_flight_s=(1.0,))
    assert pacer.lines_to_dial(0.0, floor, CLEAN) == 3


def test_lines_are_counted_per_agent_ready_or_on_a_call() -> None:
    pacer = TaperedPacer(TaperedSettings(start_level=2.0))
    floor = Floor(ready=2, on_call_s=(10.0,) * 8, in_flight_s=(1.0,) * 5, live_waiting=1)
    assert pacer.lines_to_dial(0.0, floor, CLEAN) == 2 * 10 - 5 - 8 - 1


def test_no_agents_no_lines() -> None:
    assert TaperedPacer(TaperedSettings(start_level=3.0)).lines_to_dial(0.0, Floor(ready=0), CLEAN) == 0


def test_idle_agents_raise_the_level_every_period_up_to_the_maximum() -> None:
    pacer = TaperedPacer(TaperedSettings(max_level=1.5, up=0.5))
    idle = Floor(ready=5, on_call_s=(10.0,) * 5)
    levels = []
    for t in range(0, 300):
        pacer.lines_to_dial(float(t), idle, CLEAN)
        levels.append(pacer.level)
    assert levels == sorted(levels)
    assert levels[-1] == pytest.approx(1.5)


def test_drops_over_the_allowed_rate_lower_the_level_to_the_minimum() -> None:
    pacer = TaperedPacer(TaperedSettings(start_level=2.5))
    dropping = AbandonBudget(target=0.03, live_answers=500, abandoned=100)
    for t in range(0, 600):
        pacer.lines_to_dial(float(t), Floor(ready=1, on_call_s=(10.0,) * 9), dropping)
    assert pacer.level == pytest.approx(1.0)


def test_the_allowed_drop_rate_tapers_from_the_overshoot_to_the_target_over_the_shift() -> None:
    pacer = TaperedPacer(TaperedSettings(shift_s=8 * 3600.0, overshoot=1.0), shift_start=100.0)
    assert pacer.allowed_drop(100.0, 0.03) == pytest.approx(0.06)
    assert pacer.allowed_drop(100.0 + 4 * 3600.0, 0.03) == pytest.approx(0.045)
    assert pacer.allowed_drop(100.0 + 9 * 3600.0, 0.03) == pytest.approx(0.03)


def test_a_drop_rate_allowed_early_in_the_shift_lowers_the_level_late() -> None:
    budget = AbandonBudget(target=0.03, live_answers=1000, abandoned=40)  # 4 %
    floor = Floor(ready=3, on_call_s=(10.0,) * 7)
    early, late = (
        TaperedPacer(TaperedSettings(start_level=2.0)),
        TaperedPacer(TaperedSettings(start_level=2.0)),
    )
    for t in range(0, 60):
        early.lines_to_dial(float(t), floor, budget)
        late.lines_to_dial(7 * 3600.0 + t, floor, budget)
    assert early.level > 2.0 > late.level


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="min_level"):
        TaperedSettings(start_level=4.0, max_level=3.0)
    with pytest.raises(ValueError, match="intensity"):
        TaperedSettings(intensity=50.0)
