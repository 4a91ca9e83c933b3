"""Scenario checks and the summary's definitions on hand-built call records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ccapp.acd.model import QueueConfig
from ccapp.sim import (
    AgentSpec,
    ArrivalSpec,
    CallRecord,
    Exponential,
    InvalidScenario,
    Outcome,
    RateProfile,
    Scenario,
    Summary,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def record(wait: float, outcome: Outcome, *, measured: bool = True, talk: float = 100.0) -> CallRecord:
    answered = outcome is Outcome.ANSWERED
    return CallRecord(
        call_id=f"c{wait}{outcome}",
        queue="q",
        entered_at=T0,
        left_at=T0 + timedelta(seconds=wait),
        outcome=outcome,
        wait_s=wait,
        agent_id="a1" if answered else None,
        talk_s=talk if answered else 0.0,
        wrap_s=10.0 if answered else 0.0,
        measured=measured,
    )


def test_summary_follows_the_kpi_definitions() -> None:
    records = [
        record(0.0, Outcome.ANSWERED),
        record(20.0, Outcome.ANSWERED, talk=200.0),  # within T: ≤ 20 s counts
        record(50.0, Outcome.ANSWERED),
        record(3.0, Outcome.ABANDONED),  # short abandon: not offered
        record(40.0, Outcome.ABANDONED),
        record(60.0, Outcome.OVERFLOWED),
        record(0.0, Outcome.ANSWERED, measured=False),  # warm-up
    ]
    s = Summary.of(records, service_level_s=20.0, short_abandon_s=5.0)
    assert (s.offered, s.answered, s.abandoned, s.overflowed, s.answered_within_t) == (5, 3, 1, 1, 2)
    assert s.service_level == pytest.approx(2 / 5)
    assert s.asa_s == pytest.approx(70.0 / 3)
    assert s.abandon_rate == pytest.approx(1 / 5)
    assert s.p_wait == pytest.approx(5 / 6)
    assert s.aht_s == pytest.approx((110.0 + 210.0 + 110.0) / 3)


def test_summary_of_nothing_has_no_ratios() -> None:
    s = Summary.of([], service_level_s=20.0)
    assert s.offered == 0
    assert (s.service_level, s.asa_s, s.abandon_rate, s.p_wait, s.aht_s) == (None,) * 5


def _scenario(**changes: object) -> Scenario:
    base: dict[str, object] = {
        "queues": (QueueConfig("q"),),
        "agents": (AgentSpec("a1", frozenset({"q"})),),
        "arrivals": (ArrivalSpec("q", RateProfile.constant(10.0), Exponential(60.0)),),
        "duration_s": 3600.0,
    }
    base.update(changes)
    return Scenario(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"queues": (QueueConfig("q"), QueueConfig("q"))}, "same name"),
        ({"agents": (AgentSpec("a", frozenset({"q"})), AgentSpec("a", frozenset({"q"})))}, "same id"),
        ({"agents": (AgentSpec("a", frozenset({"nope"})),)}, "unknown queues"),
        ({"arrivals": (ArrivalSpec("nope", RateProfile.constant(1.0), Exponential(1.0)),)}, "unknown queue"),
        ({"duration_s": 0.0}, "duration_s"),
        ({"warmup_s": 3600.0}, "warmup_s"),
        ({"start": datetime(2026, 1, 5)}, "timezone"),
    ],
)
def test_a_scenario_that_cannot_run_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidScenario, match=message):
        _scenario(**changes)


def test_an_agent_shift_must_end_after_it_starts() -> None:
    with pytest.raises(InvalidScenario, match="shift ends before it starts"):
        AgentSpec("a", frozenset({"q"}), shift_start_s=100.0, shift_end_s=50.0)
