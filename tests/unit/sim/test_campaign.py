"""The outbound campaign simulator: progressive's closed form, no abandons, determinism, windows."""

from __future__ import annotations

import pytest

from ccapp.sim.campaign import (
    CampaignScenario,
    CampaignSimulation,
    max_window_rate,
    progressive_occupancy,
    run_campaign,
)
from ccapp.sim.distributions import InvalidScenario


def test_progressive_closed_form_for_the_benchmark_shift() -> None:
    occupancies = [progressive_occupancy(CampaignScenario(agents=10, p_live=p)) for p in (0.2, 0.3, 0.4)]
    assert occupancies == pytest.approx([0.676, 0.765, 0.819], abs=0.001)


def test_progressive_matches_its_closed_form_and_never_abandons() -> None:
    scenario = CampaignScenario(agents=12, p_live=0.3, pacer="progressive", hours=3.0, seed=4)
    result = run_campaign(scenario)
    assert result.occupancy == pytest.approx(progressive_occupancy(scenario), abs=0.02)
    assert result.abandoned == 0
    assert result.max_window_abandon == 0.0
    assert result.live_answers > 400


def test_a_seed_replays_exactly_and_another_seed_differs() -> None:
    scenario = CampaignScenario(agents=6, p_live=0.3, hours=0.5)
    assert run_campaign(scenario) == run_campaign(scenario)
    assert run_campaign(CampaignScenario(agents=6, p_live=0.3, hours=0.5, seed=2)) != run_campaign(scenario)


def test_predictive_keeps_agents_busier_than_progressive_within_the_abandon_target() -> None:
    progressive = run_campaign(CampaignScenario(agents=10, p_live=0.3, pacer="progressive", hours=2.0))
    predictive = run_campaign(CampaignScenario(agents=10, p_live=0.3, pacer="ccapp", hours=2.0))
    assert predictive.occupancy > progressive.occupancy + 0.03
    assert predictive.max_window_abandon <= 0.03


def test_the_answer_probability_can_change_mid_run() -> None:
    steady = run_campaign(CampaignScenario(agents=5, p_live=0.1, pacer="progressive", hours=0.5))
    changed = run_campaign(
        CampaignScenario(agents=5, p_live=0.1, pacer="progressive", hours=0.5, p_live_change=(0.0, 0.9))
    )
    assert changed.live_answers > 2 * steady.live_answers


@pytest.mark.slow
@pytest.mark.parametrize(("before", "after"), [(0.2, 0.4), (0.4, 0.2)])
def test_a_list_that_changes_its_answer_rate_mid_shift_keeps_the_window_under_target(
    before: float, after: float
) -> None:
    result = run_campaign(CampaignScenario(agents=10, p_live=before, p_live_change=(4 * 3600.0, after)))
    assert result.max_window_abandon <= 0.03
    assert result.occupancy > 0.8


@pytest.mark.slow
def test_every_rolling_24_h_window_of_a_56_h_run_stays_under_target() -> None:
    result = run_campaign(CampaignScenario(agents=10, p_live=0.2, hours=56.0))
    assert result.max_window_abandon <= 0.03


def test_the_tapered_baseline_runs_through_the_same_loop() -> None:
    result = run_campaign(CampaignScenario(agents=10, p_live=0.3, pacer="tapered", hours=0.5))
    assert result.dials > 0
    assert result.live_answers > 0


def test_the_pacer_is_asked_every_second_and_on_every_event() -> None:
    simulation = CampaignSimulation(CampaignScenario(agents=5, p_live=0.3, pacer="progressive", hours=0.5))
    result = simulation.run()
    assert result.pacer_calls > 1800


def test_a_run_shorter_than_the_window_is_one_window() -> None:
    answers = [(10.0, True), (20.0, False), (30.0, False), (40.0, False)]
    assert max_window_rate(answers, window_s=100.0, end_s=50.0) == 0.25


def test_the_worst_rolling_window_is_found() -> None:
    # window 10 s over 40 s: the worst is (8, 18], one abandon in four answers
    answers = [(float(t), False) for t in range(1, 9)] + [(12.0, True)]
    answers += [(float(t), False) for t in (14, 16, 18, 20, 25, 33)]
    assert max_window_rate(answers, window_s=10.0, end_s=40.0) == pytest.approx(0.25)
    assert max_window_rate([], window_s=10.0, end_s=40.0) == 0.0


def test_bad_scenarios_are_refused() -> None:
    with pytest.raises(InvalidScenario, match="agents"):
        CampaignScenario(agents=0, p_live=0.3)
    with pytest.raises(InvalidScenario, match="p_live"):
        CampaignScenario(agents=5, p_live=1.5)
    with pytest.raises(InvalidScenario, match="new p_live"):
        CampaignScenario(agents=5, p_live=0.3, p_live_change=(60.0, 0.0))
    with pytest.raises(InvalidScenario, match="pacer"):
        CampaignScenario(agents=5, p_live=0.3, pacer="ratio")
    with pytest.raises(InvalidScenario, match="warm-up"):
        CampaignScenario(agents=5, p_live=0.3, hours=0.1)
