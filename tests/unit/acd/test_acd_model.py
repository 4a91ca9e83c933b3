"""Agent and queue definitions are checked when they are built."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccapp.acd.errors import InvalidAcdConfig
from ccapp.acd.model import Agent, AgentState, QueueConfig, RelaxationStep, Strategy, WaitingCall


def test_an_agent_starts_logged_out_with_one_call_at_most() -> None:
    a = Agent("a1", "Ann", "Local/1001@agents", skills={"sales": 5}, queues=frozenset({"sales"}))
    assert (a.state, a.max_calls, a.calls_today, a.not_ready_reason) == (AgentState.LOGGED_OUT, 1, 0, None)


@pytest.mark.parametrize("level", [0, 6, 2.5, True])
def test_skill_levels_are_integers_from_1_to_5(level: object) -> None:
    with pytest.raises(InvalidAcdConfig, match="level"):
        Agent("a1", "Ann", "PJSIP/1001", skills={"sales": level})  # type: ignore[dict-item]
    with pytest.raises(InvalidAcdConfig, match="level"):
        QueueConfig("q", {"sales": level})  # type: ignore[dict-item]


def test_an_agent_needs_an_id_and_an_endpoint_and_takes_one_call() -> None:
    with pytest.raises(InvalidAcdConfig, match="endpoint"):
        Agent("a1", "Ann", "")
    with pytest.raises(InvalidAcdConfig, match="empty id"):
        Agent("", "Ann", "PJSIP/1")
    with pytest.raises(InvalidAcdConfig, match="max_calls"):
        Agent("a1", "Ann", "PJSIP/1", max_calls=2)


def test_the_default_strategy_is_longest_idle_and_strings_are_accepted() -> None:
    assert QueueConfig("q").strategy is Strategy.LONGEST_IDLE
    assert QueueConfig("q", strategy="ring_all").strategy is Strategy.RING_ALL  # type: ignore[arg-type]
    with pytest.raises(InvalidAcdConfig, match="unknown strategy"):
        QueueConfig("q", strategy="random")  # type: ignore[arg-type]


def test_relaxation_steps_must_loosen_over_time() -> None:
    QueueConfig("q", relaxation=(RelaxationStep(10, 1), RelaxationStep(20, 1, frozenset({"x"}))))
    with pytest.raises(InvalidAcdConfig, match="at least as loose"):
        QueueConfig("q", relaxation=(RelaxationStep(20, 1), RelaxationStep(10, 2)))
    with pytest.raises(InvalidAcdConfig, match="at least as loose"):
        QueueConfig("q", relaxation=(RelaxationStep(10, 2), RelaxationStep(20, 1)))
    with pytest.raises(InvalidAcdConfig, match="at least as loose"):
        QueueConfig("q", relaxation=(RelaxationStep(10, 0, frozenset({"x"})), RelaxationStep(20, 1)))
    with pytest.raises(InvalidAcdConfig, match="after_s"):
        RelaxationStep(0)


@pytest.mark.parametrize(
    ("field", "value"), [("wrap_up_s", -1), ("ring_timeout_s", -1), ("max_wait_s", 0), ("max_length", 0)]
)
def test_queue_limits_are_checked(field: str, value: float) -> None:
    with pytest.raises(InvalidAcdConfig, match=field):
        QueueConfig("q", **{field: value})  # type: ignore[arg-type]


def test_a_calls_own_skills_merge_with_its_queues_taking_the_higher_level() -> None:
    queue = QueueConfig("q", {"sales": 2, "english": 3})
    assert queue.requirement({"english": 1, "sales": 4, "vip": 1}, 0) == (
        ("english", 3),
        ("sales", 4),
        ("vip", 1),
    )


def test_calls_line_up_by_priority_then_entry_time() -> None:
    t0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
    t1 = datetime(2026, 1, 5, 9, 1, tzinfo=UTC)
    calls = [WaitingCall("b", "q", t1), WaitingCall("a", "q", t0), WaitingCall("v", "q", t1, priority=2)]
    assert [c.call_id for c in sorted(calls, key=WaitingCall.order_key)] == ["v", "a", "b"]
