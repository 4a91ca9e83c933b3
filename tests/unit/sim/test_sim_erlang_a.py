"""The simulator against every Erlang A figure: P(wait), abandon rate, service level and ASA.

`test_sim_validation.py` checks the abandon rate against an independent birth–death computation;
here the reference is `ccapp.kpi.erlang.erlang_a` (itself checked against independent computations in
tests/unit/kpi/test_erlang.py), so the simulator and the staffing formulas vouch for each other.

Tolerances come from the spread of the figures over independent runs (benchmarks/sim_vs_erlang.py:
20 seeds × 100,000 calls per case). The standard deviation of one 100,000-call run was, for
A1 / A2 / A3: SL 0.24 / 0.30 / 0.58 points, P(wait) 0.32 / 0.34 / 0.53 points, abandon rate
0.11 / 0.19 / 0.26 points, ASA 3.7 / 1.9 / 1.9 %. The slow tests run 400,000 calls (standard
deviations halved), so SL and P(wait) within 1 point, abandon rate within 0.5 point and ASA within 5 %
are all more than two standard deviations. Abandons break the long busy periods that make Erlang C
waits converge so slowly, which is why far fewer calls suffice than for Erlang C. The fast variants
run 40,000 calls with about three standard deviations: SL and P(wait) 3 points, abandon 1 point,
ASA 20 %.
"""

from __future__ import annotations

import pytest

from ccapp.acd.model import QueueConfig
from ccapp.kpi import erlang
from ccapp.sim import AgentSpec, ArrivalSpec, Exponential, RateProfile, Scenario, Summary, run_scenario

AHT = 180.0
T = 20.0

# name: (agents, calls per hour, mean patience s)
CASES = {
    "A1": (14, 200.0, 120.0),  # the published example's load (A = 10) with 2-minute patience
    "A2": (5, 80.0, 60.0),  # a small group (A = 4), impatient callers
    "A3": (10, 220.0, 90.0),  # overloaded (A = 11 > 10 agents): stable only through abandons
}


def simulate(c: int, calls_per_hour: float, patience_s: float, calls: int) -> Summary:
    duration = calls / calls_per_hour * 3600.0
    scenario = Scenario(
        queues=(QueueConfig("q", wrap_up_s=0.0),),
        agents=tuple(AgentSpec(f"a{i}", frozenset({"q"})) for i in range(c)),
        arrivals=(
            ArrivalSpec("q", RateProfile.constant(calls_per_hour), Exponential(AHT), Exponential(patience_s)),
        ),
        duration_s=duration,
        warmup_s=0.02 * duration,
        seed=7,
        service_level_s=T,
        keep_records=False,
    )
    return run_scenario(scenario).summary


def check(case: str, calls: int, points: float, abandon_points: float, asa_rel: float) -> None:
    c, calls_per_hour, patience_s = CASES[case]
    expected = erlang.erlang_a(c, calls_per_hour * AHT / 3600.0, AHT, patience_s, T)
    got = simulate(c, calls_per_hour, patience_s, calls)
    assert got.answered + got.abandoned == got.offered  # every call answered or abandoned
    assert got.service_level == pytest.approx(expected.service_level, abs=points / 100)
    assert got.p_wait == pytest.approx(expected.p_wait, abs=points / 100)
    assert got.abandon_rate == pytest.approx(expected.p_abandon, abs=abandon_points / 100)
    assert got.asa_s == pytest.approx(expected.asa_s, rel=asa_rel)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_simulator_roughly_reproduces_every_erlang_a_figure(case: str) -> None:
    check(case, 40_000, points=3.0, abandon_points=1.0, asa_rel=0.2)


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_simulator_reproduces_erlang_a_within_1_point_and_5_percent(case: str) -> None:
    check(case, 400_000, points=1.0, abandon_points=0.5, asa_rel=0.05)
