"""Pacing: progressive never overdials, predictive reads the floor, the history and the budget."""

from __future__ import annotations

import math
import random
import time

import pytest

from ccapp.dialer.pacing import AbandonBudget, Floor, PacingHistory, PacingStats, Prior, lines_to_dial

BUDGET = AbandonBudget(target=0.03, live_answers=1000, abandoned=20)


def _history(p: float = 0.2, seed: int = 1) -> PacingStats:
    """An hour of the benchmark's traffic: live answers after U(4, 20) s, log-normal handle times."""
    rng = random.Random(seed)
    history = PacingHistory()
    t = 0.0
    for i in range(4000):
        t += 0.9
        if rng.random() < p:
            history.dial_ended(t, outcome="live", after_s=rng.uniform(4, 20))
        else:
            history.dial_ended(t, outcome=rng.choice(["no_answer", "busy", "machine"]), after_s=25.0)
        if i % 4 == 0:
            history.handled(t, rng.lognormvariate(math.log(180.0) - 0.3466, 0.8326))
    return history.stats(t)


STATS = _history()


def _floor(ready: int, on_call: int = 0, in_flight: int = 0, seed: int = 2) -> Floor:
    rng = random.Random(seed)
    return Floor(
        ready=ready,
        on_call_s=tuple(rng.uniform(0, 300) for _ in range(on_call)),
        in_flight_s=tuple(rng.uniform(0, 20) for _ in range(in_flight)),
    )


def test_the_history_learns_the_answer_probability_and_the_handle_time() -> None:
    assert STATS.p_live == pytest.approx(0.2, abs=0.02)
    assert STATS.handle_mean_s == pytest.approx(180.0, rel=0.1)
    assert STATS.handle_cv == pytest.approx(1.0, rel=0.15)
    assert 4.0 <= STATS.answer_quantiles[0] < STATS.answer_quantiles[-1] <= 20.0


def test_a_fresh_history_falls_back_on_its_prior() -> None:
    stats = PacingHistory(prior=Prior(p_live=0.4)).stats(0.0)
    assert stats.p_live == pytest.approx(0.4)
    assert stats.handle_mean_s == pytest.approx(180.0)
    assert stats.dials == 0


def test_an_unknown_outcome_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown dial outcome"):
        PacingHistory().dial_ended(0.0, outcome="fax", after_s=3.0)


@pytest.mark.parametrize(
    ("ready", "in_flight", "waiting", "expected"), [(5, 0, 0, 5), (5, 3, 0, 2), (5, 3, 1, 1), (2, 4, 0, 0)]
)
def test_progressive_dials_one_line_per_free_agent_and_never_more(
    ready: int, in_flight: int, waiting: int, expected: int
) -> None:
    floor = Floor(ready=ready, in_flight_s=(1.0,) * in_flight, live_waiting=waiting, on_call_s=(30.0,) * 4)
    n = lines_to_dial("progressive", STATS, floor, BUDGET)
    assert n == expected
    assert in_flight + waiting + n <= max(ready, in_flight + waiting)


def test_progressive_counts_reserved_agents_as_free() -> None:
    assert (
        lines_to_dial("progressive", STATS, Floor(ready=1, reserved=2, in_flight_s=(1.0, 1.0)), BUDGET) == 1
    )


def test_predictive_dials_nothing_without_agents() -> None:
    assert lines_to_dial("predictive", STATS, Floor(ready=0), BUDGET) == 0
    assert lines_to_dial("predictive", STATS, Floor(ready=0, in_flight_s=(3.0,)), BUDGET) == 0


def test_predictive_dials_only_progressive_safe_lines_once_the_budget_is_spent() -> None:
    spent = AbandonBudget(target=0.03, live_answers=1000, abandoned=30)
    assert spent.exhausted
    assert lines_to_dial("predictive", STATS, _floor(ready=4, on_call=20, in_flight=1), spent) == 3
    assert lines_to_dial("predictive", STATS, _floor(ready=0, on_call=20, in_flight=5), spent) == 0


def test_a_zero_target_dials_progressively() -> None:
    zero = AbandonBudget(target=0.0, live_answers=0, abandoned=0)
    assert lines_to_dial("predictive", STATS, _floor(ready=4, on_call=20, in_flight=1), zero) == 3


def test_predictive_dials_more_lines_than_ready_agents_when_answers_are_rare() -> None:
    n = lines_to_dial("predictive", STATS, _floor(ready=5, on_call=45), BUDGET)
    assert n > 5


def test_predictive_is_monotone_in_ready_agents() -> None:
    counts = [
        lines_to_dial("predictive", STATS, _floor(ready=r, on_call=50 - r, in_flight=10), BUDGET)
        for r in range(0, 20)
    ]
    assert counts == sorted(counts)
    assert counts[-1] > counts[0]


def test_predictive_dials_fewer_lines_when_more_are_already_in_flight() -> None:
    counts = [
        lines_to_dial("predictive", STATS, _floor(ready=5, on_call=45, in_flight=k), BUDGET)
        for k in range(0, 40, 5)
    ]
    assert counts == sorted(counts, reverse=True)


def test_predictive_uses_the_residual_handle_time_of_the_calls_in_progress() -> None:
    """With CV 1 log-normal handle times a call at 170 s is nearer its end than one at 5 s."""
    fresh = Floor(ready=0, on_call_s=(5.0,) * 50, in_flight_s=(2.0,) * 3)
    ending = Floor(ready=0, on_call_s=(170.0,) * 50, in_flight_s=(2.0,) * 3)
    assert lines_to_dial("predictive", STATS, ending, BUDGET) > lines_to_dial(
        "predictive", STATS, fresh, BUDGET
    )


def test_wrap_ups_about_to_end_count_as_agents_soon_free() -> None:
    busy = Floor(ready=0, on_call_s=(5.0,) * 20)
    wrapping = Floor(ready=0, on_call_s=(5.0,) * 20, wrapping_left_s=(1.0, 1.0, 1.0))
    assert lines_to_dial("predictive", STATS, wrapping, BUDGET) > lines_to_dial(
        "predictive", STATS, busy, BUDGET
    )


def test_a_window_running_hot_tightens_the_pacing_and_a_cold_one_loosens_it() -> None:
    floor = _floor(ready=3, on_call=47, in_flight=8)
    cold = AbandonBudget(target=0.03, live_answers=5000, abandoned=20)
    hot = AbandonBudget(target=0.03, live_answers=5000, abandoned=145)
    assert cold.theta() > BUDGET.theta() > hot.theta()
    assert lines_to_dial("predictive", STATS, floor, cold) >= lines_to_dial("predictive", STATS, floor, hot)


def test_the_same_inputs_give_the_same_answer() -> None:
    floor = _floor(ready=3, on_call=47, in_flight=8)
    assert lines_to_dial("predictive", STATS, floor, BUDGET) == lines_to_dial(
        "predictive", STATS, floor, BUDGET
    )
    assert _history(seed=5) == _history(seed=5)


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown pacing mode"):
        lines_to_dial("ratio", STATS, Floor(ready=1), BUDGET)


def test_a_decision_for_a_hundred_agents_takes_well_under_a_millisecond() -> None:
    floor = _floor(ready=4, on_call=96, in_flight=45)
    cold = AbandonBudget(target=0.03, live_answers=5000, abandoned=10)  # dials many lines at once
    best = float("inf")
    for _ in range(5):  # the best batch: a busy machine only slows the others
        start = time.perf_counter()
        for _ in range(40):
            lines_to_dial("predictive", STATS, floor, BUDGET)
            lines_to_dial("predictive", STATS, floor, cold)
        best = min(best, (time.perf_counter() - start) / 80)
    assert best < 1e-3


def test_lines_just_dialled_are_not_dialled_again_at_the_same_instant() -> None:
    for ready in (3, 10, 30):
        floor = _floor(ready=ready, on_call=60 - ready, in_flight=12)
        n = lines_to_dial("predictive", STATS, floor, BUDGET)
        dialled = Floor(ready=ready, on_call_s=floor.on_call_s, in_flight_s=(*floor.in_flight_s, *[0.0] * n))
        assert n > 0
        assert lines_to_dial("predictive", STATS, dialled, BUDGET) <= 1
