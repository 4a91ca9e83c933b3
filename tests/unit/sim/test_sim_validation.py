"""The simulator against queueing theory: M/M/c (Erlang C) and M/M/c+M (Erlang A).

The reference figures are computed here, independently of ccapp's staffing code: Erlang C through
the Erlang B recursion, Erlang A from the stationary distribution of its birth–death chain.
Runs are seeded, so they replay exactly; the call counts are chosen so that two standard deviations
of the estimate (measured over 16 seeds, see docs/simulator.md) fit in the tolerance. The fast
variants use fewer calls and a tolerance of about three of their standard deviations.
"""

from __future__ import annotations

import math

import pytest

from ccapp.acd.model import QueueConfig
from ccapp.sim import AgentSpec, ArrivalSpec, Exponential, RateProfile, Scenario, Summary, run_scenario

AHT = 180.0
T = 20.0


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of ``c`` servers offered ``a`` erlangs, by the stable recursion."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """P(wait > 0) in M/M/c with offered load ``a`` erlangs."""
    b = erlang_b(c, a)
    return c * b / (c - a * (1.0 - b))


def mmc_service_level(c: int, a: float, aht: float, t: float) -> float:
    return 1.0 - erlang_c(c, a) * math.exp(-(c - a) * t / aht)


def mmc_asa(c: int, a: float, aht: float) -> float:
    return erlang_c(c, a) * aht / (c - a)


def erlang_a_abandonment(c: int, lam: float, mu: float, theta: float) -> float:
    """P(abandon) in M/M/c+M: θ·E[queue length]/λ over the chain's stationary distribution.

    State n (calls in the system) is left at rate min(n, c)·μ + max(0, n − c)·θ; the chain is cut
    where the probabilities no longer matter.
    """
    weights = [1.0]
    n = 0
    while True:
        n += 1
        weights.append(weights[-1] * lam / (min(n, c) * mu + max(0, n - c) * theta))
        if n > c and weights[-1] < 1e-16 * sum(weights):
            break
        if max(weights) > 1e200:  # keep the floats finite: rescale
            weights = [w / 1e200 for w in weights]
    total = sum(weights)
    queue_length = sum(max(0, k - c) * w for k, w in enumerate(weights)) / total
    return theta * queue_length / lam


def test_reference_formulas_match_the_published_example() -> None:
    # 100 calls per 30 min, AHT 180 s, 14 agents: P(wait) ≈ 17.4 %, SL(20 s) ≈ 88.8 %, ASA ≈ 7.8 s
    assert erlang_c(14, 10.0) == pytest.approx(0.1741, abs=5e-4)
    assert mmc_service_level(14, 10.0, AHT, T) == pytest.approx(0.888, abs=1e-3)
    assert mmc_asa(14, 10.0, AHT) == pytest.approx(7.8, abs=0.05)
    # callers who hang up at once (θ → ∞) abandon exactly the calls that find every agent busy:
    # the loss system, Erlang B
    assert erlang_a_abandonment(14, 10.0, 1.0, 1e6) == pytest.approx(erlang_b(14, 10.0), rel=1e-4)


def simulate(c: int, calls_per_hour: float, calls: int, *, patience_s: float | None = None) -> Summary:
    """A single queue, ``c`` agents always on, exponential handle times, no wrap-up."""
    duration = calls / calls_per_hour * 3600.0
    scenario = Scenario(
        queues=(QueueConfig("q", wrap_up_s=0.0),),
        agents=tuple(AgentSpec(f"a{i}", frozenset({"q"})) for i in range(c)),
        arrivals=(
            ArrivalSpec(
                "q",
                RateProfile.constant(calls_per_hour),
                Exponential(AHT),
                Exponential(patience_s) if patience_s is not None else None,
            ),
        ),
        duration_s=duration,
        warmup_s=0.02 * duration,
        seed=7,
        keep_records=False,
    )
    return run_scenario(scenario).summary


# (agents, calls per hour): offered load = calls per hour × 180 s / 3600
MMC_CASES = [(14, 200.0), (5, 80.0), (50, 900.0)]  # A = 10, 4, 45 erlangs


def check_erlang_c(c: int, calls_per_hour: float, calls: int, sl_tol: float, asa_rel: float) -> None:
    a = calls_per_hour * AHT / 3600.0
    got = simulate(c, calls_per_hour, calls)
    assert got.offered == pytest.approx(0.98 * calls, rel=0.02)
    assert got.answered == got.offered  # nobody hangs up, nobody is left
    assert got.service_level is not None and got.asa_s is not None and got.p_wait is not None
    assert got.occupancy is not None
    assert got.service_level == pytest.approx(mmc_service_level(c, a, AHT, T), abs=sl_tol)
    assert got.asa_s == pytest.approx(mmc_asa(c, a, AHT), rel=asa_rel)
    assert got.p_wait == pytest.approx(erlang_c(c, a), abs=2 * sl_tol)
    assert got.occupancy == pytest.approx(a / c, abs=0.02)


@pytest.mark.parametrize(
    ("c", "calls_per_hour", "sl_tol", "asa_rel"),
    # about three standard deviations at 20,000 calls
    [(14, 200.0, 0.04, 0.5), (5, 80.0, 0.05, 0.2), (50, 900.0, 0.15, 0.9)],
)
def test_mmc_roughly_reproduces_erlang_c(
    c: int, calls_per_hour: float, sl_tol: float, asa_rel: float
) -> None:
    check_erlang_c(c, calls_per_hour, 20_000, sl_tol, asa_rel)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("c", "calls_per_hour", "calls"),
    # enough calls for two standard deviations of the ASA within 5 %
    [(14, 200.0, 1_000_000), (5, 80.0, 200_000), (50, 900.0, 3_500_000)],
)
def test_mmc_reproduces_erlang_c_within_1_point_and_5_percent(
    c: int, calls_per_hour: float, calls: int
) -> None:
    check_erlang_c(c, calls_per_hour, calls, 0.01, 0.05)


# (agents, calls per hour, mean patience s)
ERLANG_A_CASES = [(14, 200.0, 120.0), (5, 80.0, 60.0), (50, 900.0, 180.0), (10, 220.0, 90.0)]


@pytest.mark.parametrize(("c", "calls_per_hour", "patience_s"), ERLANG_A_CASES)
def test_mmc_with_patience_reproduces_erlang_a_abandonment(
    c: int, calls_per_hour: float, patience_s: float
) -> None:
    # 40,000 calls: two standard deviations of the abandon rate are under 1 point (0.9 at worst)
    got = simulate(c, calls_per_hour, 40_000, patience_s=patience_s)
    expected = erlang_a_abandonment(c, calls_per_hour / 3600.0, 1.0 / AHT, 1.0 / patience_s)
    assert got.abandon_rate == pytest.approx(expected, abs=0.01)
    assert got.answered + got.abandoned == got.offered
