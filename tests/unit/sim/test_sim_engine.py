"""The event loop on small scenarios: states through ccapp's choke point, shifts, skills, leaving."""

from __future__ import annotations

import itertools
import logging
from datetime import timedelta

import pytest

from ccapp.acd.model import QueueConfig, RelaxationStep, Strategy
from ccapp.sim import (
    AgentSpec,
    ArrivalSpec,
    CallRecord,
    Empirical,
    Exponential,
    Outcome,
    RateProfile,
    Scenario,
    run_scenario,
)


def scenario(
    *,
    agents: tuple[AgentSpec, ...] = (AgentSpec("a1", frozenset({"q"})),),
    queue: QueueConfig | None = None,
    calls_per_hour: float = 60.0,
    handle: float = 30.0,
    patience: tuple[float, ...] | None = None,
    duration_s: float = 3600.0,
    seed: int = 3,
    skills: dict[str, int] | None = None,
) -> Scenario:
    return Scenario(
        queues=(queue or QueueConfig("q", wrap_up_s=5.0),),
        agents=agents,
        arrivals=(
            ArrivalSpec(
                "q",
                RateProfile.constant(calls_per_hour),
                Empirical((handle,)),
                Empirical(patience) if patience is not None else None,
                skills=skills or {},
            ),
        ),
        duration_s=duration_s,
        seed=seed,
    )


def test_an_agent_goes_through_every_state_by_the_acd_choke_point(caplog: pytest.LogCaptureFixture) -> None:
    sc = scenario(agents=(AgentSpec("a1", frozenset({"q"}), shift_end_s=3000.0),), calls_per_hour=20.0)
    with caplog.at_level(logging.DEBUG, logger="ccapp.acd.states"):
        result = run_scenario(sc)
    moves = [r.getMessage().split(": ", 1)[1].split(" (")[0] for r in caplog.records]
    assert moves[:6] == [
        "logged_out → ready",
        "ready → reserved",
        "reserved → ringing",
        "ringing → on_call",
        "on_call → wrap_up",
        "wrap_up → ready",
    ]
    assert moves[-1].endswith("→ logged_out")
    answered = [r for r in result.records if r.outcome is Outcome.ANSWERED]
    assert moves.count("ringing → on_call") == len(answered) > 0


def test_one_agent_takes_calls_in_arrival_order_one_at_a_time_with_wrap_up() -> None:
    result = run_scenario(scenario(calls_per_hour=150.0, handle=30.0))
    answered = [r for r in result.records if r.outcome is Outcome.ANSWERED]
    assert len(answered) == len(result.records) > 100
    assert [r.entered_at for r in answered] == sorted(r.entered_at for r in answered)
    for before, after in itertools.pairwise(answered):
        free_at = before.left_at + timedelta(seconds=before.talk_s + before.wrap_s)
        assert after.left_at == max(free_at, after.entered_at)
    for record in answered:
        assert (record.agent_id, record.talk_s, record.wrap_s) == ("a1", 30.0, 5.0)
        assert record.wait_s == pytest.approx((record.left_at - record.entered_at).total_seconds(), abs=1e-5)


def test_the_same_seed_replays_the_same_day_and_another_seed_does_not() -> None:
    first = run_scenario(scenario(seed=11)).records
    assert run_scenario(scenario(seed=11)).records == first
    assert run_scenario(scenario(seed=12)).records != first


def test_agents_work_their_shifts_only() -> None:
    early = AgentSpec("early", frozenset({"q"}), shift_end_s=1800.0)
    late = AgentSpec("late", frozenset({"q"}), shift_start_s=1800.0)
    result = run_scenario(scenario(agents=(early, late), calls_per_hour=120.0))
    by_agent: dict[str | None, list[CallRecord]] = {}
    for record in result.records:
        by_agent.setdefault(record.agent_id, []).append(record)
    change = result.records[0].entered_at.replace(hour=0, minute=30, second=0, microsecond=0)
    assert by_agent["early"] and by_agent["late"]
    # the early agent answers nothing after its shift (it finishes the call it is on, then leaves)
    assert all(r.left_at <= change for r in by_agent["early"])
    assert all(r.left_at >= change for r in by_agent["late"])


def test_calls_nobody_can_take_are_closed_at_the_end_of_the_run() -> None:
    result = run_scenario(scenario(agents=(), calls_per_hour=30.0))
    assert result.records and {r.outcome for r in result.records} == {Outcome.CLOSED}
    assert result.summary.answered == 0
    assert result.summary.service_level == 0.0
    assert result.summary.occupancy is None


def test_calls_go_only_to_agents_with_the_required_skills() -> None:
    agents = (
        AgentSpec("en", frozenset({"q"}), skills={"en": 5}),
        AgentSpec("es", frozenset({"q"}), skills={"es": 3}),
    )
    result = run_scenario(scenario(agents=agents, calls_per_hour=60.0, skills={"es": 2}))
    assert {r.agent_id for r in result.records} == {"es"}


def test_a_call_is_routed_the_moment_it_reaches_a_relaxation_step() -> None:
    # the queue wants Spanish level 3; after 10 s of waiting level 2 will do, and the agent has 2
    queue = QueueConfig("q", skills={"es": 3}, relaxation=(RelaxationStep(10.0, lower_levels_by=1),))
    agents = (AgentSpec("a1", frozenset({"q"}), skills={"es": 2}),)
    result = run_scenario(scenario(agents=agents, queue=queue, calls_per_hour=20.0))
    assert result.records and {r.outcome for r in result.records} == {Outcome.ANSWERED}
    assert min(r.wait_s for r in result.records) == pytest.approx(10.0)


def test_impatient_callers_abandon_and_leave_the_router() -> None:
    result = run_scenario(scenario(agents=(), patience=(4.0,)))
    assert {r.outcome for r in result.records} == {Outcome.ABANDONED}
    assert all(r.wait_s == pytest.approx(4.0) for r in result.records)
    summary = result.summary
    assert summary.abandoned == summary.offered == len(result.records)
    assert summary.abandon_rate == 1.0


def test_short_abandons_are_not_offered() -> None:
    sc = scenario(agents=(), patience=(2.0, 8.0))
    sc = Scenario(sc.queues, sc.agents, sc.arrivals, sc.duration_s, seed=sc.seed, short_abandon_s=5.0)
    result = run_scenario(sc)
    long_ones = sum(1 for r in result.records if r.wait_s >= 5.0)
    assert 0 < long_ones < len(result.records)
    assert result.summary.offered == result.summary.abandoned == long_ones


def test_calls_past_the_queue_max_wait_overflow() -> None:
    queue = QueueConfig("q", wrap_up_s=0.0, max_wait_s=30.0)
    result = run_scenario(scenario(queue=queue, calls_per_hour=300.0, handle=60.0))
    overflowed = [r for r in result.records if r.outcome is Outcome.OVERFLOWED]
    assert overflowed and all(r.wait_s == pytest.approx(30.0) for r in overflowed)
    assert all(r.wait_s <= 30.0 + 1e-6 for r in result.records)
    assert result.summary.overflowed == len(overflowed)


def test_ring_all_gives_the_call_to_one_agent_and_frees_the_others() -> None:
    queue = QueueConfig("q", strategy=Strategy.RING_ALL, wrap_up_s=0.0)
    agents = tuple(AgentSpec(f"a{i}", frozenset({"q"})) for i in range(3))
    result = run_scenario(scenario(agents=agents, queue=queue, calls_per_hour=200.0, handle=40.0))
    assert {r.outcome for r in result.records} == {Outcome.ANSWERED}
    assert len({r.agent_id for r in result.records}) == 3


def test_occupancy_counts_talk_and_wrap_up_against_ready_time() -> None:
    # 60 calls an hour of 30 s + 5 s wrap-up on one agent: busy 35 s a minute
    result = run_scenario(scenario(calls_per_hour=60.0, duration_s=20 * 3600.0))
    assert result.summary.occupancy == pytest.approx(35.0 / 60.0, abs=0.03)
    assert result.summary.aht_s == 35.0


def test_a_warm_up_keeps_early_calls_out_of_the_figures() -> None:
    sc = scenario(calls_per_hour=60.0)
    warm = Scenario(sc.queues, sc.agents, sc.arrivals, sc.duration_s, warmup_s=1800.0, seed=sc.seed)
    result = run_scenario(warm)
    measured = [r for r in result.records if r.measured]
    assert 0 < len(measured) < len(result.records)
    assert result.summary.offered == len(measured)
    assert all(r.wait_s >= 0 for r in result.records)


def test_summaries_only_when_records_are_not_kept() -> None:
    sc = scenario(calls_per_hour=100.0)
    lean = Scenario(sc.queues, sc.agents, sc.arrivals, sc.duration_s, seed=sc.seed, keep_records=False)
    full, light = run_scenario(sc), run_scenario(lean)
    assert light.records == ()
    assert light.summary == full.summary
    assert (
        light.by_queue["q"]
        == full.by_queue["q"]
        == full.summary.__class__.of(full.records, service_level_s=20.0)
    )


def test_a_daily_profile_shapes_the_arrivals() -> None:
    profile = RateProfile(((0.0, 0.0), (8 * 3600.0, 600.0), (9 * 3600.0, 0.0)))
    sc = Scenario(
        queues=(QueueConfig("q", wrap_up_s=0.0),),
        agents=tuple(AgentSpec(f"a{i}", frozenset({"q"})) for i in range(5)),
        arrivals=(ArrivalSpec("q", profile, Exponential(20.0)),),
        duration_s=2 * 86_400.0,
    )
    records = run_scenario(sc).records
    hours = {r.entered_at.hour for r in records}
    assert hours == {8}
    assert {r.entered_at.day for r in records} == {5, 6}
    assert len(records) == pytest.approx(1200, rel=0.1)
